"""Quantization tables (IJG quality scaling, PSNR-tuned tables) and scalar quantization.

``scale_quant_table`` reproduces libjpeg's ``jpeg_quality_scaling`` and
``jpeg_add_quant_table`` (jcparam.c) exactly, so quality ``q`` here gives byte-identical DQT
tables to ``cjpeg -quality q`` and Pillow's ``quality=q``.

``psnr_quant_tables`` are the tables of the best (PSNR) mode, see its docstring.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hybrid.codec.tables import STD_CHROMA_QUANT, STD_LUMA_QUANT

#: Largest AC magnitude a baseline/progressive 8-bit JPEG can code (size category 10).
MAX_AC = 1023
#: Largest DC magnitude of 8-bit data (size category 11).
MAX_DC = 2047


def quality_scale(quality: int) -> int:
    """libjpeg's ``jpeg_quality_scaling``: IJG quality 1..100 -> percentage scale factor,
    with libjpeg's integer division (``5000 // q`` below 50, else ``200 - 2q``). The exact
    rule for a whole quality: the tables of :func:`scale_quant_table` and every encoder that
    says "quality q"."""
    quality = min(max(int(quality), 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def ijg_scale_factor(quality: float) -> float:
    """The same rule as :func:`quality_scale` without its integer division: the continuous
    percentage scale factor ``S`` of a (fractional) quality, ``5000 / q`` below 50, else
    ``200 - 2q``.

    The two differ below quality 50 wherever ``q`` does not divide 5000 (q = 30: 166.67
    against libjpeg's 166), on purpose: this one is the axis rate control searches on (one
    smooth, invertible knob between whole qualities, :func:`ijg_quality`), the model the
    quality estimate fits a custom table to, and the scale of training's random tables; the
    tables of a whole quality are always :func:`quality_scale`'s.
    """
    return 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality


def ijg_quality(factor: float) -> float:
    """The inverse of :func:`ijg_scale_factor`: the (fractional, unclamped) quality whose
    continuous scale factor is ``factor`` (percent, > 0)."""
    return 5000.0 / factor if factor > 100.0 else (200.0 - factor) / 2.0


def scale_quant_table(base: np.ndarray, quality: int, force_baseline: bool = True) -> np.ndarray:
    """Scale a base table to an IJG quality, exactly as libjpeg does.

    Args:
        base: uint16 array (8, 8), natural order (e.g. T.81 Annex K table K.1 or K.2).
        quality: IJG quality 1..100 (values outside are clamped, like libjpeg).
        force_baseline: clamp entries to 1..255 (8-bit DQT); else to 1..32767.

    Returns:
        uint16 array (8, 8), natural order: ``(base * scale + 50) // 100`` clamped.
    """
    scaled = (np.asarray(base, dtype=np.int64) * quality_scale(quality) + 50) // 100
    return np.clip(scaled, 1, 255 if force_baseline else 32767).astype(np.uint16)


def default_quant_tables(quality: int, force_baseline: bool = True) -> tuple[np.ndarray, ...]:
    """(luma, chroma) uint16 (8, 8) tables: Annex K K.1 and K.2 scaled to ``quality``."""
    return (
        scale_quant_table(STD_LUMA_QUANT, quality, force_baseline),
        scale_quant_table(STD_CHROMA_QUANT, quality, force_baseline),
    )


@lru_cache(maxsize=1)
def ijg_table_bytes() -> tuple[tuple[int, bytes, bytes], ...]:
    """Every (quality, luma, chroma) :func:`default_quant_tables` gives, quality 100 down to
    1, each with ``force_baseline`` True then False; the tables as the bytes of uint16
    (8, 8) natural-order arrays, so that a file's tables match by one comparison each
    (computed once: scaling them per file was most of a small file's header parse)."""
    candidates = []
    for quality in range(100, 0, -1):
        for force_baseline in (True, False):
            luma, chroma = default_quant_tables(quality, force_baseline)
            candidates.append((quality, luma.tobytes(), chroma.tobytes()))
    return tuple(candidates)


@lru_cache(maxsize=1)
def ijg_tables_by_luma() -> dict[bytes, tuple[tuple[int, bytes, bytes], ...]]:
    """:func:`ijg_table_bytes` grouped by the luma table's bytes, each group in that order:
    a file's luma table finds its few candidates by one dict look-up instead of a
    comparison with all 200 (most of a small file's header parse)."""
    groups: dict[bytes, list[tuple[int, bytes, bytes]]] = {}
    for candidate in ijg_table_bytes():
        groups.setdefault(candidate[1], []).append(candidate)
    return {luma: tuple(group) for luma, group in groups.items()}


#: N. Robidoux's table for ImageMagick, mozjpeg's default (``quant_tbl_master_idx`` 3,
#: jcparam.c), natural order, quality 50. mozjpeg uses it for luma and chroma alike.
ROBIDOUX_QUANT = np.array(
    [
        [16, 16, 16, 18, 25, 37, 56, 85],
        [16, 17, 20, 27, 34, 40, 53, 75],
        [16, 20, 24, 31, 43, 62, 91, 135],
        [18, 27, 31, 40, 53, 74, 106, 156],
        [25, 34, 43, 53, 69, 94, 131, 189],
        [37, 40, 62, 74, 94, 124, 169, 238],
        [56, 53, 91, 106, 131, 169, 226, 311],
        [85, 75, 135, 156, 189, 238, 311, 418],
    ],
    dtype=np.uint16,
)

#: Shape of the PSNR tables: 16 * (ROBIDOUX_QUANT / 16) ** PSNR_TABLE_EXPONENT, a flatter
#: version of Robidoux's table (exponent 0: flat, 1: his).
PSNR_TABLE_EXPONENT = 0.45
#: DC step of the PSNR tables relative to that shape.
PSNR_TABLE_DC = 0.7
#: Chroma steps relative to luma steps (RGB error weighs 4:2:0 chroma about 4x, see
#: :mod:`hybrid.codec.distortion`).
PSNR_TABLE_CHROMA = 0.55
#: PSNR tables at quality q use the scale ``a * (s / 100) ** b`` with ``s`` libjpeg's
#: percentage for q, so that they land near the PSNR of the Annex K tables at q.
PSNR_SCALE_FACTOR = 1.43
PSNR_SCALE_EXPONENT = 0.72
#: Chroma steps relative to luma steps in the perceptual tunes: butteraugli and MS-SSIM
#: weigh chroma error less than PSNR-RGB does; 0.9 gave -2.8 % butteraugli BD-rate on the
#: plain decode and -2.7 points with enhance-fast-v4 (docs/decisions.md, "Tunes").
PERCEPTUAL_TABLE_CHROMA = 0.9
#: ... and in the perceptual tune's files (``--tune perceptual``, for any decoder and for the
#: enhanced decode), whose network restores chroma from the luma it is given
#: (docs/decisions.md, "The perceptual tune's settings for the enhanced decode" and "The
#: default-mode perceptual tune re-searched with its decoder"); ``--tune ssim`` keeps 0.9.
PERCEPTUAL_ENHANCED_TABLE_CHROMA = 1.2
#: Chroma share of each table set of the best mode's family (:func:`robidoux_family_at`),
#: by :attr:`hybrid.codec.options.EncodeOptions.tables` name.
FAMILY_CHROMA: dict[str, float] = {
    "psnr": PSNR_TABLE_CHROMA,
    "perceptual": PERCEPTUAL_TABLE_CHROMA,
    "perceptual-enhanced": PERCEPTUAL_ENHANCED_TABLE_CHROMA,
}


def psnr_quant_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(luma, chroma) uint16 (8, 8) tables of the best (PSNR) mode for IJG quality 1..100.

    The shape is tuned, together with the trellis, for BD-rate in PSNR-RGB at 0.15..1 bpp
    on train crops of ../shared/data (4:2:0): Robidoux's table (4.7 % better than the Annex K
    luma table used for both components) flattened by the exponent 0.45 (0.4..0.5 equally
    good; 1.0 costs 3 %), DC at 0.7 of the shape (1.0 costs 0.2 % per image, 1.4 % on the mean
    curve), chroma at 0.55 of luma (1.0 costs 1.2..1.6 %).

    The scale follows the quality so that the best mode's PSNR at quality q is about that of
    the default encoder at q, at a smaller size: ``a * s ** b`` is a fit of the equal-PSNR
    scales on the same crops (b = 0.75..0.79), with the exponent lowered to 0.72 to narrow a
    shortfall at low qualities. On the validation set the mean PSNR is then -0.43..+0.28 dB
    from libjpeg-turbo's at qualities 10..90, at 0.71..0.78 of its size (BENCHMARKS.md).

    Returns:
        (luma, chroma): ``round(scale * shape)`` clamped to 1..255 (8-bit DQT, baseline
        compatible), natural order.
    """
    return psnr_tables_at(float(quality_scale(quality)))


def ijg_tables_at(factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The Annex K (luma, chroma) tables at a continuous scale factor ``factor`` (percent,
    :func:`ijg_scale_factor`), by libjpeg's rounding ``floor((base * S + 50) / 100)``
    clamped to 1..255 (8-bit DQT): :func:`default_quant_tables` between whole qualities, as
    rate control refines a size.

    Returns:
        (luma, chroma) uint16 (8, 8) tables in natural order.
    """
    luma, chroma = (
        np.clip(np.floor((base.astype(np.float64) * factor + 50.0) / 100.0), 1, 255).astype(
            np.uint16
        )
        for base in (STD_LUMA_QUANT, STD_CHROMA_QUANT)
    )
    return luma, chroma


def psnr_tables_at(factor: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`psnr_quant_tables` at a continuous libjpeg scale factor ``factor`` (percent,
    :func:`ijg_scale_factor`), as rate control uses it.

    Returns:
        (luma, chroma) uint16 (8, 8) tables in natural order, entries 1..255.
    """
    return robidoux_family_at(factor, PSNR_TABLE_CHROMA)


def perceptual_tables_at(factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The perceptual tunes' tables (``--tune ssim|perceptual``) at a continuous libjpeg
    scale factor ``factor``: the PSNR tables' luma, chroma at
    :data:`PERCEPTUAL_TABLE_CHROMA` of luma instead of 0.55.

    Returns:
        (luma, chroma) uint16 (8, 8) tables in natural order, entries 1..255.
    """
    return robidoux_family_at(factor, PERCEPTUAL_TABLE_CHROMA)


def perceptual_quant_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(luma, chroma) uint16 (8, 8) tables of the perceptual tunes for IJG quality 1..100
    (:func:`perceptual_tables_at` at libjpeg's percentage for ``quality``)."""
    return perceptual_tables_at(float(quality_scale(quality)))


def family_tables_at(tables: str, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The (luma, chroma) uint16 (8, 8) tables, natural order, of the best mode's table set
    ``tables`` (a :data:`FAMILY_CHROMA` name) at the continuous libjpeg scale factor
    ``factor`` (percent), as rate control refines a size.

    Raises:
        KeyError: ``tables`` is not a set of the family.
    """
    return robidoux_family_at(factor, FAMILY_CHROMA[tables])


def family_quant_tables(tables: str, quality: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`family_tables_at` at libjpeg's percentage for IJG ``quality`` 1..100."""
    return family_tables_at(tables, float(quality_scale(quality)))


def robidoux_family_at(factor: float, chroma: float) -> tuple[np.ndarray, np.ndarray]:
    """Tables of the best mode's family at libjpeg scale factor ``factor`` (percent):
    ``round(scale * shape)`` with shape ``16 * (ROBIDOUX_QUANT / 16) ** 0.45`` (DC at
    :data:`PSNR_TABLE_DC`), scale ``PSNR_SCALE_FACTOR * (factor / 100) **
    PSNR_SCALE_EXPONENT``, and chroma steps ``chroma`` times the luma ones.

    Returns:
        (luma, chroma) uint16 (8, 8) tables in natural order, entries clamped to 1..255.
    """
    scale = PSNR_SCALE_FACTOR * (max(float(factor), 0.0) / 100.0) ** PSNR_SCALE_EXPONENT
    shape = 16.0 * (ROBIDOUX_QUANT / 16.0) ** PSNR_TABLE_EXPONENT
    shape[0, 0] *= PSNR_TABLE_DC
    luma = np.clip(np.round(scale * shape), 1, 255).astype(np.uint16)
    chroma_table = np.clip(np.round(scale * chroma * shape), 1, 255).astype(np.uint16)
    return luma, chroma_table


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round to nearest integer, halves away from zero (libjpeg's integer quantizer)."""
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def quantize(coeffs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Divide DCT coefficients by the table and round half away from zero.

    Args:
        coeffs: float array (..., 8, 8) of orthonormal DCT coefficients, natural order.
        table: array (8, 8) of quantizer steps 1..65535, natural order.

    Returns:
        int16 array (..., 8, 8), natural order; AC clamped to +-1023 and DC to +-2047 (the
        largest magnitudes 8-bit JPEG can code).
    """
    q = round_half_away(np.asarray(coeffs) / np.asarray(table, dtype=np.float32))
    limit = np.full((8, 8), MAX_AC, dtype=np.float32)
    limit[0, 0] = MAX_DC
    return np.clip(q, -limit, limit).astype(np.int16)


def dequantize(qcoeffs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Multiply quantized coefficients by the table: int (..., 8, 8) -> float32 (..., 8, 8)."""
    return np.asarray(qcoeffs, dtype=np.float32) * np.asarray(table, dtype=np.float32)


def estimate_ijg_quality(table: np.ndarray, chroma: bool = False) -> tuple[float, bool]:
    """Best-fitting IJG quality of a quantization table.

    Tries every quality 1..100 (with and without the baseline clamp) for an exact match of the
    scaled Annex K table; otherwise fits a continuous quality by least squares on
    ``log(table)`` against the unrounded scaling model.

    Args:
        table: array (8, 8), natural order.
        chroma: compare against Annex K table K.2 (chrominance) instead of K.1.

    Returns:
        (quality, exact): quality in 1..100 (an integer value when exact) and whether the table
        equals libjpeg's scaled table for that quality.
    """
    table = np.asarray(table, dtype=np.int64)
    base = STD_CHROMA_QUANT if chroma else STD_LUMA_QUANT
    for force_baseline in (True, False):
        for quality in range(100, 0, -1):
            if np.array_equal(scale_quant_table(base, quality, force_baseline), table):
                return float(quality), True
    qualities = np.linspace(1.0, 100.0, 991)
    scales = np.array([ijg_scale_factor(float(q)) for q in qualities])
    model = np.clip(base.astype(np.float64)[None] * scales[:, None, None] / 100.0, 1.0, 32767.0)
    log_table = np.log(np.clip(table, 1, None).astype(np.float64))
    errors = ((np.log(model) - log_table[None]) ** 2).sum(axis=(1, 2))
    return float(np.round(qualities[int(np.argmin(errors))], 1)), False
