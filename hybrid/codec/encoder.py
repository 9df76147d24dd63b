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

import numpy as np

from hybrid.codec.color import rgb_to_ycbcr
from hybrid.codec.dct import blockify, forward_dct
from hybrid.codec.frame import Component, Frame
from hybrid.codec.options import LUMA_SAMPLING, EncodeOptions
from hybrid.codec.quant import default_quant_tables, quantize
from hybrid.codec.rdo import quantize_trellis, std_ac_code_lengths
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


def choose_subsampling(rgb: np.ndarray) -> str:
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


def _component_coeffs(
    plane: np.ndarray,
    table: np.ndarray,
    real_size: tuple[int, int],
    rdo: bool,
    chroma: bool,
) -> np.ndarray:
    """Level shift, DCT and quantize a padded plane; then replace padding blocks by dummies."""
    coeffs = forward_dct(blockify(plane - np.float32(128.0)))
    if rdo:
        q = quantize_trellis(coeffs, table, std_ac_code_lengths(chroma))
    else:
        q = quantize(coeffs, table)
    real_by, real_bx = (-(-real_size[0] // 8), -(-real_size[1] // 8))
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
        options: quality or explicit tables, subsampling, rdo.

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

    components = []
    for index, plane in enumerate(planes):
        chroma = index > 0
        if chroma:
            plane = downsample(plane, v_samp, h_samp)
        comp_h = -(-height // (v_samp if chroma else 1))
        comp_w = -(-width // (h_samp if chroma else 1))
        quant_index = min(int(chroma), len(tables) - 1)
        coeffs = _component_coeffs(
            np.ascontiguousarray(plane), tables[quant_index], (comp_h, comp_w), options.rdo, chroma
        )
        samp = (1, 1) if chroma else (h_samp, v_samp)
        components.append(Component(index + 1, samp[0], samp[1], quant_index, coeffs))

    quant_tables = {i: np.array(t, dtype=np.uint16) for i, t in enumerate(tables)}
    return Frame(width, height, tuple(components), quant_tables)
