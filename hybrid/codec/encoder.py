"""Pixels -> quantized coefficients: the first half of the encoder.

``image_to_frame`` runs colour conversion, edge-replication padding to whole MCUs, centred
chroma downsampling, level shift, DCT and (optionally trellis) quantization, and returns a
:class:`~hybrid.codec.frame.Frame` for the entropy coder.

Padding follows libjpeg: the image is edge-replicated to whole MCUs before downsampling, so
every block that overlaps the component (the first ``ceil(component_size / 8)`` block rows and
columns) is computed from replicated samples exactly as libjpeg computes it. Blocks beyond that,
which only fill the last MCU, are libjpeg's "dummy blocks": AC zero and DC copied from the
block to their left (right edge) or above (bottom edge); they cost almost nothing and decoders
crop them. ``jpeglib.read_dct`` returns only the real blocks, which match ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hybrid.codec.color import rgb_to_ycbcr
from hybrid.codec.dct import blockify, forward_dct
from hybrid.codec.distortion import (
    GREY_LAMBDA_SCALE,
    RGB_LAMBDA_SCALE,
    activity_lambdas,
    component_weights,
    image_lambda,
)
from hybrid.codec.frame import Component, Frame
from hybrid.codec.options import LUMA_SAMPLING, EncodeOptions
from hybrid.codec.quant import FAMILY_CHROMA, default_quant_tables, family_quant_tables, quantize
from hybrid.codec.rdo import quantize_trellis, std_ac_code_lengths, std_dc_code_lengths
from hybrid.codec.rdo_dc import coding_order, quantize_dc_trellis
from hybrid.codec.sampling import downsample, pad_plane, upsample
from hybrid.errors import InputError, UnsupportedImageError

MAX_DIMENSION = 65535

#: ``choose_subsampling`` picks 4:4:4 when the share of pixels whose colour a 4:2:0 round trip
#: moves by more than ``SMEAR_THRESHOLD`` (RGB Euclidean distance, 0..255 scale) exceeds
#: ``SMEAR_FRACTION``. Measured shares above 64: at most 0.0001 on eleven skimage.data photos
#: and graphics (rocket, hubble_deep_field highest), 0.05..0.19 on full pages of coloured text,
#: 0.0021 on a single red-on-blue text line across a 1600x1200 image, 0 on black-on-white text.
SMEAR_THRESHOLD = 64.0
SMEAR_FRACTION = 0.0005


def prepare_pixels(image: np.ndarray) -> np.ndarray:
    """Validate an image and bring it to the encoder's layout.

    Args:
        image: numpy uint8 array (H, W), (H, W, 1) or (H, W, 3) (RGB), 1 <= H, W <= 65535.

    Returns:
        C-contiguous uint8 array (H, W) for greyscale or (H, W, 3) for RGB.

    Raises:
        InputError: not a numpy array, or an empty image.
        UnsupportedImageError: a dtype other than uint8, a shape other than the above, or a
            side longer than 65535 pixels (the JPEG limit).
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a numpy array image, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise UnsupportedImageError(f"only 8-bit (uint8) images are supported, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise UnsupportedImageError(
            f"expected an image of shape (H, W), (H, W, 1) or (H, W, 3), got {image.shape}"
        )
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise InputError(f"the image is empty ({height}x{width} pixels)")
    if height > MAX_DIMENSION or width > MAX_DIMENSION:
        raise UnsupportedImageError(
            f"JPEG images are at most 65535 pixels a side, got {width}x{height}"
        )
    return np.ascontiguousarray(image)


def chroma_smear(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel RGB error (float32 (H, W)) that a 4:2:0 round trip alone causes.

    Luma is kept exact; chroma is downsampled 2x2 (as the encoder does) and fancy-upsampled back.
    """
    ycc = rgb_to_ycbcr(rgb)
    h, w = ycc.shape[:2]
    moved = ycc.copy()
    for c in (1, 2):
        moved[..., c] = upsample(downsample(ycc[..., c], 2, 2), 2, 2, h, w)
    # Only chroma changed, so the RGB error is the chroma error through the inverse matrix.
    d_cb = moved[..., 1] - ycc[..., 1]
    d_cr = moved[..., 2] - ycc[..., 2]
    d_r = 1.402 * d_cr
    d_g = -0.344136286 * d_cb - 0.714136286 * d_cr
    d_b = 1.772 * d_cb
    return np.sqrt(d_r**2 + d_g**2 + d_b**2)


def choose_subsampling(rgb: np.ndarray) -> Literal["4:4:4", "4:2:0"]:
    """The ``"auto"`` rule: ``"4:4:4"`` where 4:2:0 would visibly smear colour, else ``"4:2:0"``.

    Saturated colour edges that luma does not follow (coloured text, line art, UI) lose most
    in a 4:2:0 round trip; photographs rarely have many such pixels. The rule compares the
    share of pixels moved by more than ``SMEAR_THRESHOLD`` against ``SMEAR_FRACTION``.

    Args:
        rgb: uint8 array (H, W, 3).
    """
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 2:
        return "4:4:4"
    smeared = float((chroma_smear(rgb) > SMEAR_THRESHOLD).mean())
    return "4:4:4" if smeared > SMEAR_FRACTION else "4:2:0"


@dataclass(frozen=True)
class _Rdo:
    """Trellis settings of one component.

    ``lam``: the image's multiplier; ``activity``: exponent of the per-block adaptation of
    the AC multiplier (:func:`~hybrid.codec.distortion.activity_lambdas`); ``weights``: (8, 8)
    distortion weights; ``ac_lengths``, ``dc_lengths``: rate model (None: optimal for plain
    rounding); ``dc_samp``: (v, h) blocks per MCU of an interleaved DC scan, or None for a
    non-interleaved one.
    """

    lam: float
    activity: float
    weights: np.ndarray
    ac_lengths: np.ndarray
    dc_lengths: np.ndarray | None
    dc_samp: tuple[int, int] | None


def _component_coeffs(
    plane: np.ndarray,
    table: np.ndarray,
    real_size: tuple[int, int],
    rdo: _Rdo | None,
) -> np.ndarray:
    """Level shift, DCT and quantize a padded plane; then replace padding blocks by dummies."""
    coeffs = forward_dct(blockify(plane - np.float32(128.0)))
    real_by, real_bx = (-(-real_size[0] // 8), -(-real_size[1] // 8))
    if rdo is not None:
        lambdas = activity_lambdas(coeffs, table, rdo.lam, rdo.activity)
        q = quantize_trellis(coeffs, table, rdo.ac_lengths, lambdas=lambdas, weights=rdo.weights)
        if rdo.dc_samp is None:  # non-interleaved DC scan: the real blocks in raster order
            grid = coeffs[:real_by, :real_bx, 0, 0]
            order = coding_order(real_by, real_bx)
        else:
            grid = coeffs[:, :, 0, 0]
            order = coding_order(grid.shape[0], grid.shape[1], *rdo.dc_samp)
        dc = quantize_dc_trellis(
            grid.reshape(-1)[order], float(table[0, 0]), rdo.lam, float(rdo.weights[0, 0]),
            rdo.dc_lengths,
        )  # fmt: skip
        chosen = np.empty(grid.size, dtype=np.int16)
        chosen[order.reshape(-1)] = dc.reshape(-1)
        q[: grid.shape[0], : grid.shape[1], 0, 0] = chosen.reshape(grid.shape)
    else:
        q = quantize(coeffs, table)
    if real_bx < q.shape[1]:
        q[:, real_bx:] = 0
        q[:, real_bx:, 0, 0] = q[:, real_bx - 1 : real_bx, 0, 0]
    if real_by < q.shape[0]:
        q[real_by:] = 0
        q[real_by:, :, 0, 0] = q[real_by - 1 : real_by, :, 0, 0]
    return q


def image_to_frame(pixels: np.ndarray, options: EncodeOptions) -> Frame:
    """Encode pixels to quantized DCT coefficients.

    Args:
        pixels: uint8 array (H, W), (H, W, 1) or (H, W, 3) RGB (validated by
            :func:`prepare_pixels`).
        options: quality and table set or explicit tables, subsampling, rdo (and, for the
            trellis's DC coding order, progressive and optimize_scans).

    Returns:
        A :class:`Frame`: greyscale has one component (id 1, 1x1, table 0); colour has
        Y, Cb, Cr (ids 1, 2, 3) with Y's sampling factors from ``LUMA_SAMPLING``, chroma 1x1,
        Y on table 0 and chroma on table 1 (or on table 0 when one table was given). Each
        component's ``coeffs`` is int16 (mcus_y * v_samp, mcus_x * h_samp, 8, 8).
    """
    pixels = prepare_pixels(pixels)
    height, width = pixels.shape[:2]
    grey = pixels.ndim == 2
    if options.quant_tables is not None:
        tables = tuple(options.quant_tables)
    elif options.tables in FAMILY_CHROMA:
        tables = family_quant_tables(options.tables, options.quality)
    else:
        tables = default_quant_tables(options.quality)
    if grey:
        tables = tables[:1]

    if grey:
        h_samp = v_samp = 1
    else:
        mode = options.subsampling
        if mode == "auto":
            mode = choose_subsampling(pixels)
        h_samp, v_samp = LUMA_SAMPLING[mode]
    mcu_h, mcu_w = 8 * v_samp, 8 * h_samp
    padded_h = -(-height // mcu_h) * mcu_h
    padded_w = -(-width // mcu_w) * mcu_w

    if grey:
        planes = [pad_plane(pixels, padded_h, padded_w).astype(np.float32)]
    else:
        ycc = rgb_to_ycbcr(pad_plane(pixels, padded_h, padded_w))
        planes = [ycc[..., 0], ycc[..., 1], ycc[..., 2]]

    # The DC scans of the frame: interleaved (MCU order) unless the scan search will code
    # luma DC on its own (every script of ``search_scripts`` does) or there is one component.
    interleaved_dc = not grey and not (options.progressive and options.optimize_scans)
    lam = options.rdo_lambda * image_lambda(
        tables[0], GREY_LAMBDA_SCALE if grey else RGB_LAMBDA_SCALE
    )
    components = []
    for index, plane in enumerate(planes):
        chroma = index > 0
        if chroma:
            plane = downsample(plane, v_samp, h_samp)
        comp_h = -(-height // (v_samp if chroma else 1))
        comp_w = -(-width // (h_samp if chroma else 1))
        quant_index = min(int(chroma), len(tables) - 1)
        rdo = None
        if options.rdo:
            rdo = _Rdo(
                lam=lam,
                activity=options.rdo_activity,
                weights=component_weights(
                    index, v_samp if chroma else 1, h_samp if chroma else 1, colour=not grey
                ),
                ac_lengths=std_ac_code_lengths(chroma),
                dc_lengths=None if options.optimize_huffman else std_dc_code_lengths(chroma),
                dc_samp=((1, 1) if chroma else (v_samp, h_samp)) if interleaved_dc else None,
            )
        coeffs = _component_coeffs(
            np.ascontiguousarray(plane), tables[quant_index], (comp_h, comp_w), rdo
        )
        samp = (1, 1) if chroma else (h_samp, v_samp)
        components.append(Component(index + 1, samp[0], samp[1], quant_index, coeffs))

    quant_tables = {i: np.array(t, dtype=np.uint16) for i, t in enumerate(tables)}
    return Frame(width, height, tuple(components), quant_tables)
