"""Pixels from quantized coefficients, bit-exactly as libjpeg-turbo (and so Pillow) decodes.

libjpeg-turbo's default decode is the accurate integer IDCT (:mod:`hybrid.codec.idct`),
fancy chroma upsampling (:mod:`hybrid.codec.upsample`) and its fixed-point YCbCr -> RGB
(:func:`hybrid.codec.color.ycbcr_to_rgb_libjpeg`). With the coefficients libjpeg has already
decoded (e.g. by :func:`hybrid.codec.reader.libjpeg_read_dct`) this gives the pixels Pillow
shows without a second pass of libjpeg over the file.

Chroma upsampling and the colour conversion run over bands of :data:`BAND_PIXELS` output
pixels, as libjpeg runs them over MCU rows: their integer working arrays for a whole 12 MP
image (100-400 MB) would be fresh memory pages on every call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybrid.codec.color import ycbcr_to_rgb_libjpeg
from hybrid.codec.idct import idct_islow
from hybrid.codec.upsample import fancy_upsample

#: Output pixels per band of the upsampling and colour conversion.
BAND_PIXELS = 1 << 16


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _upsampled_rows(plane: np.ndarray, fy: int, fx: int, top: int, bottom: int) -> np.ndarray:
    """Rows ``top:bottom`` (``top`` even) of :func:`fancy_upsample` ``(plane, fy, fx)``,
    computed from the input rows they need and one row of context each side."""
    if fy == 1:
        return fancy_upsample(plane[top:bottom], 1, fx)
    first = max(0, top // 2 - 1)
    last = min(plane.shape[0], _ceil_div(bottom, 2) + 1)
    rows = fancy_upsample(plane[first:last], 2, fx)
    return rows[top - 2 * first : bottom - 2 * first]


def decode_pixels(
    coeffs: Sequence[np.ndarray],
    qtables: Sequence[np.ndarray],
    sampling: Sequence[tuple[int, int]],
    height: int,
    width: int,
) -> np.ndarray:
    """The image libjpeg-turbo decodes from these coefficients (``JCS_RGB`` or greyscale).

    Args:
        coeffs: per component int16 (BH, BW, 8, 8) quantized coefficients, natural order, at
            least ``ceil(component_size / 8)`` blocks each way.
        qtables: per component (8, 8) quantization table, natural order.
        sampling: per component (v_samp, h_samp); 1 (greyscale) or 3 (YCbCr) components.
            Chroma must be sampled at 1/1 or 1/2 of luma each way, luma at the maximum.
        height, width: the image size.

    Returns:
        uint8 (H, W) for one component, (H, W, 3) RGB for three.

    Raises:
        ValueError: a component layout this module does not reproduce.
    """
    if len(coeffs) == 1:
        return idct_islow(coeffs[0], qtables[0])[:height, :width]
    if len(coeffs) != 3:
        raise ValueError(f"1 or 3 components, not {len(coeffs)}")
    max_v = max(v for v, _ in sampling)
    max_h = max(h for _, h in sampling)
    if tuple(sampling[0]) != (max_v, max_h):
        raise ValueError(f"luma is not the most finely sampled component: {list(sampling)}")
    planes, factors = [], []
    for blocks, table, (v, h) in zip(coeffs, qtables, sampling, strict=True):
        fy, fx = max_v // v, max_h // h
        if fy * v != max_v or fx * h != max_h or fy > 2 or fx > 2:
            raise ValueError(f"unsupported sampling factors {list(sampling)}")
        rows, cols = _ceil_div(height * v, max_v), _ceil_div(width * h, max_h)
        planes.append(idct_islow(blocks, table)[:rows, :cols])
        factors.append((fy, fx))
    out = np.empty((height, width, 3), dtype=np.uint8)
    band = max(2, (BAND_PIXELS // max(1, width)) & ~1)
    for top in range(0, height, band):
        bottom = min(height, top + band)
        full = [
            _upsampled_rows(plane, fy, fx, top, bottom)[:, :width]
            for plane, (fy, fx) in zip(planes, factors, strict=True)
        ]
        out[top:bottom] = ycbcr_to_rgb_libjpeg(*full)
    return out
