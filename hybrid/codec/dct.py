"""8x8 block split and the orthonormal 2-D DCT of T.81 A.3.3.

T.81's FDCT ``S(v,u) = 1/4 C(u) C(v) sum s(y,x) cos((2x+1)u pi/16) cos((2y+1)v pi/16)`` with
``C(0) = 1/sqrt(2)`` is exactly the orthonormal type-II DCT, so ``scipy.fft.dctn(...,
norm="ortho")`` computes it. The level shift (subtract 128 from 8-bit samples, T.81 A.3.1) is
the caller's job: these functions are the pure transform.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

BLOCK = 8


def blockify(plane: np.ndarray) -> np.ndarray:
    """Split a plane into 8x8 blocks.

    Args:
        plane: array (H, W), H and W multiples of 8.

    Returns:
        array (H/8, W/8, 8, 8) of the same dtype (a copy); ``[by, bx]`` is the block whose top
        left sample is ``plane[8*by, 8*bx]``.
    """
    h, w = plane.shape
    if h % BLOCK or w % BLOCK:
        raise ValueError(f"blockify needs a plane whose sides are multiples of 8, got {h}x{w}")
    return np.ascontiguousarray(
        plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    )


def unblockify(blocks: np.ndarray) -> np.ndarray:
    """Inverse of :func:`blockify`: (BY, BX, 8, 8) -> (8*BY, 8*BX)."""
    by, bx = blocks.shape[:2]
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3).reshape(by * BLOCK, bx * BLOCK))


def forward_dct(blocks: np.ndarray) -> np.ndarray:
    """T.81 A.3.3 forward DCT of level-shifted samples on the last two axes.

    Args:
        blocks: float array (..., 8, 8) of samples already shifted to -128..127.

    Returns:
        array (..., 8, 8) of DCT coefficients in natural order; float32 for float32 input,
        else float64. The DC term is 8 times the block mean.
    """
    blocks = np.asarray(blocks)
    if not np.issubdtype(blocks.dtype, np.floating):
        blocks = blocks.astype(np.float64)
    return scipy.fft.dctn(blocks, type=2, axes=(-2, -1), norm="ortho")


def inverse_dct(coeffs: np.ndarray) -> np.ndarray:
    """T.81 A.3.3 inverse DCT on the last two axes (no level shift, no rounding).

    Args:
        coeffs: float array (..., 8, 8) of dequantized coefficients, natural order.

    Returns:
        array (..., 8, 8) of level-shifted samples (add 128 for 8-bit samples).
    """
    coeffs = np.asarray(coeffs)
    if not np.issubdtype(coeffs.dtype, np.floating):
        coeffs = coeffs.astype(np.float64)
    return scipy.fft.idctn(coeffs, type=2, axes=(-2, -1), norm="ortho")
