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


def _fix16(v: float) -> int:
    """``jdcolor.c``'s ``FIX(v)``: v in 16-bit fixed point."""
    return int(v * 65536 + 0.5)


# jdcolor.c build_ycc_rgb_table: R = Y + (FIX(1.402) Cr' + 1/2) >> 16,
# G = Y + (-FIX(0.34414) Cb' + 1/2 - FIX(0.71414) Cr') >> 16, B = Y + (FIX(1.772) Cb' + 1/2) >> 16
# with Cb' = Cb - 128, Cr' = Cr - 128 and 1/2 = 1 << 15; libjpeg looks the terms up in tables
# of these values, computed here instead (the same integers: no table, no index arrays).
_CR_R, _CB_B = _fix16(1.40200), _fix16(1.77200)
_CB_G, _CR_G = -_fix16(0.34414), -_fix16(0.71414)
_ONE_HALF = 1 << 15


def ycbcr_to_rgb_libjpeg(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """YCbCr -> RGB exactly as libjpeg's ``ycc_rgb_convert`` (``jdcolor.c``) makes it.

    Args:
        y, cb, cr: uint8 (H, W) planes at full size.

    Returns:
        uint8 (H, W, 3) RGB.
    """
    out = np.empty((*y.shape, 3), dtype=np.uint8)
    # Y + (term >> 16) == ((Y << 16) + term) >> 16: Y and the rounding half in one array
    base = y.astype(np.int32)
    base <<= 16
    base += _ONE_HALF
    blue = cb.astype(np.int32)
    blue -= 128
    red = cr.astype(np.int32)
    red -= 128
    for channel, terms in (
        (0, ((_CR_R, red),)),
        (1, ((_CB_G, blue), (_CR_G, red))),
        (2, ((_CB_B, blue),)),
    ):
        total = np.multiply(terms[0][1], terms[0][0])
        for factor, plane in terms[1:]:
            total += factor * plane
        total += base
        total >>= 16
        out[..., channel] = np.clip(total, 0, 255, out=total)
    return out
