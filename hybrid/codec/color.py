"""Colour conversion: JFIF full-range BT.601 RGB <-> YCbCr (ITU-T T.871 section 7).

The matrices are :data:`hybrid.codec.tables.JFIF_RGB_TO_YCBCR` and its inverse; chroma is
offset by +128 so every channel lives on the 0..255 scale. The forward transform is not rounded:
the encoder keeps float precision all the way to the DCT.
"""

from __future__ import annotations

import numpy as np

from hybrid.codec.tables import JFIF_RGB_TO_YCBCR, JFIF_YCBCR_TO_RGB

_CHROMA_OFFSET = np.array([0.0, 128.0, 128.0], dtype=np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """JFIF RGB -> YCbCr, unrounded.

    Args:
        rgb: array (..., 3), uint8 (or any real dtype) with values 0..255.

    Returns:
        float32 array (..., 3): Y in 0..255, Cb and Cr in 0..255 centred on 128.
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1] != 3:
        raise ValueError(f"rgb_to_ycbcr expects a last axis of 3 channels, got {rgb.shape}")
    matrix = JFIF_RGB_TO_YCBCR.T.astype(np.float32)
    return rgb.astype(np.float32) @ matrix + _CHROMA_OFFSET


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """JFIF YCbCr -> RGB as floats, neither rounded nor clipped.

    Args:
        ycc: array (..., 3) of Y, Cb, Cr on the 0..255 scale (Cb, Cr centred on 128).

    Returns:
        float32 array (..., 3) of R, G, B, nominally 0..255 but may leave that range.
    """
    ycc = np.asarray(ycc, dtype=np.float32)
    if ycc.shape[-1] != 3:
        raise ValueError(f"ycbcr_to_rgb expects a last axis of 3 channels, got {ycc.shape}")
    matrix = JFIF_YCBCR_TO_RGB.T.astype(np.float32)
    return (ycc - _CHROMA_OFFSET) @ matrix


def ycbcr_to_rgb_uint8(ycc: np.ndarray) -> np.ndarray:
    """JFIF YCbCr -> RGB rounded to nearest and clipped to 0..255.

    Args:
        ycc: array (..., 3) of Y, Cb, Cr on the 0..255 scale.

    Returns:
        uint8 array (..., 3).
    """
    return np.clip(np.rint(ycbcr_to_rgb(ycc)), 0, 255).astype(np.uint8)


def _libjpeg_ycc_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``jdcolor.c`` ``build_ycc_rgb_table``: 16-bit fixed point, indexed by Cb or Cr."""
    one_half = 1 << 15
    x = np.arange(256, dtype=np.int64) - 128

    def fix(v: float) -> int:
        return int(v * 65536 + 0.5)

    cr_r = (fix(1.40200) * x + one_half) >> 16
    cb_b = (fix(1.77200) * x + one_half) >> 16
    cr_g = -fix(0.71414) * x
    cb_g = -fix(0.34414) * x + one_half
    return cr_r, cb_b, cr_g, cb_g


_CR_R, _CB_B, _CR_G, _CB_G = _libjpeg_ycc_tables()
# int16 lookup tables: R and B offsets by Cr / Cb, the G offset by (Cb, Cr) flattened
_R_OFFSET = _CR_R.astype(np.int16)
_B_OFFSET = _CB_B.astype(np.int16)
_G_OFFSET = ((_CB_G[:, None] + _CR_G[None, :]) >> 16).astype(np.int16).reshape(-1)


def ycbcr_to_rgb_libjpeg(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """YCbCr -> RGB exactly as libjpeg's ``ycc_rgb_convert`` (``jdcolor.c``) makes it.

    Args:
        y, cb, cr: uint8 (H, W) planes at full size.

    Returns:
        uint8 (H, W, 3) RGB.
    """
    luma = y.astype(np.int16)
    out = np.empty((*y.shape, 3), dtype=np.uint8)
    pair = cb.astype(np.intp) << 8
    pair |= cr
    for channel, offset in (
        (0, np.take(_R_OFFSET, cr)),
        (1, np.take(_G_OFFSET, pair)),
        (2, np.take(_B_OFFSET, cb)),
    ):
        offset += luma
        out[..., channel] = np.clip(offset, 0, 255, out=offset)
    return out
