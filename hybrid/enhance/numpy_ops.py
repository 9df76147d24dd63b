"""The enhancement step's pre- and post-processing in numpy, for the torch-free ONNX backend.

Each function is the numpy twin of a torch function the torch backend uses, tested against
it (tests/enhance/test_numpy_ops.py): JFIF colour conversion (:mod:`hybrid.enhance.ycc`),
the quantization-consistency projection (:mod:`hybrid.enhance.consistency`) and the
geometric self-ensemble (:func:`hybrid.enhance.forward.mirror_average`). Everything is
float32 as on the torch path. Importing this module does not import torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from hybrid.codec.tables import JFIF_RGB_TO_YCBCR, JFIF_YCBCR_TO_RGB

_OFFSET = np.array([0.0, 128.0, 128.0], dtype=np.float32)[:, None, None]


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """float32 (3, H, W) RGB 0..255 -> float32 (3, H, W) JFIF YCbCr 0..255 (T.871)."""
    m = JFIF_RGB_TO_YCBCR.astype(np.float32)
    return np.einsum("ij,jhw->ihw", m, rgb.astype(np.float32, copy=False)) + _OFFSET


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """float32 (3, H, W) JFIF YCbCr 0..255 -> float32 (3, H, W) RGB 0..255, not clipped."""
    m = JFIF_YCBCR_TO_RGB.astype(np.float32)
    return np.einsum("ij,jhw->ihw", m, ycc - _OFFSET)


@lru_cache(maxsize=1)
def dct_basis() -> np.ndarray:
    """float32 (8, 8) orthonormal DCT-II matrix C (T.81 A.3.3): ``F = C @ f @ C.T``."""
    u = np.arange(8, dtype=np.float64)[:, None]
    x = np.arange(8, dtype=np.float64)[None, :]
    c = np.cos((2 * x + 1) * u * math.pi / 16) * 0.5
    c[0] /= math.sqrt(2.0)
    c = c.astype(np.float32)
    c.setflags(write=False)
    return c


def to_blocks(plane: np.ndarray) -> np.ndarray:
    """(H, W) with H, W multiples of 8 -> (H/8, W/8, 8, 8) view."""
    h, w = plane.shape
    return plane.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)


def from_blocks(blocks: np.ndarray) -> np.ndarray:
    """(BH, BW, 8, 8) -> (BH*8, BW*8)."""
    bh, bw = blocks.shape[:2]
    return blocks.transpose(0, 2, 1, 3).reshape(bh * 8, bw * 8)


def project_plane(plane: np.ndarray, coeffs: np.ndarray, qtable: np.ndarray) -> np.ndarray:
    """Project one component plane onto its quantization intervals ``[(k-1/2)Q, (k+1/2)Q]``.

    Args:
        plane: float32 (H, W) samples on the 0..255 scale (not level-shifted).
        coeffs: int (BH, BW, 8, 8) quantized coefficients, natural order, BH >= ceil(H/8),
            BW >= ceil(W/8) (extra blocks are ignored).
        qtable: (8, 8) quantization table, natural order.

    Returns:
        float32 (H, W).
    """
    h, w = plane.shape
    bh, bw = -(-h // 8), -(-w // 8)
    padded = np.pad(plane, ((0, bh * 8 - h), (0, bw * 8 - w)), mode="edge")
    c = dct_basis()
    spectrum = c @ (to_blocks(padded) - np.float32(128.0)) @ c.T
    k = coeffs[:bh, :bw].astype(np.float32)
    q = qtable.astype(np.float32)
    clamped = np.maximum(np.minimum(spectrum, (k + 0.5) * q), (k - 0.5) * q)
    delta = from_blocks(c.T @ (clamped - spectrum) @ c)
    return plane + delta[:h, :w]


def _upsample_axis(a: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Centred linear upsampling of ``a`` by ``factor`` along ``axis`` (torch's bilinear
    ``align_corners=False``: source ``(i + 0.5) / factor - 0.5``, clamped at the edges)."""
    if factor == 1:
        return a
    n = a.shape[axis]
    src = np.maximum((np.arange(n * factor, dtype=np.float32) + 0.5) / factor - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = (src - i0).astype(np.float32)
    shape = [1] * a.ndim
    shape[axis] = -1
    lam = lam.reshape(shape)
    return np.take(a, i0, axis) * (1.0 - lam) + np.take(a, i1, axis) * lam


def project_ycc(
    ycc: np.ndarray,
    coeffs: list[np.ndarray],
    qtables: list[np.ndarray],
    chroma_factors: tuple[int, int],
) -> np.ndarray:
    """Project a full-resolution YCbCr image onto the intervals of all its components:
    chroma is box-averaged to its coded resolution, projected there, and the correction is
    brought back with centred bilinear upsampling (as :func:`consistency.project_ycc`).

    Args:
        ycc: float32 (3, H, W) YCbCr 0..255, or (1, H, W) greyscale.
        coeffs: per component int (BH, BW, 8, 8) quantized coefficients.
        qtables: per component (8, 8) tables.
        chroma_factors: (fy, fx), (1, 1) for 4:4:4.

    Returns:
        float32 array shaped like ``ycc``.
    """
    out = [project_plane(ycc[0], coeffs[0], qtables[0])]
    fy, fx = chroma_factors
    h, w = ycc.shape[-2:]
    for ci in range(1, ycc.shape[0]):
        plane = ycc[ci]
        if (fy, fx) == (1, 1):
            out.append(project_plane(plane, coeffs[ci], qtables[ci]))
            continue
        ph, pw = -(-h // fy) * fy, -(-w // fx) * fx
        padded = np.pad(plane, ((0, ph - h), (0, pw - w)), mode="edge")
        coded = padded.reshape(ph // fy, fy, pw // fx, fx).mean(axis=(1, 3), dtype=np.float32)
        delta = project_plane(coded, coeffs[ci], qtables[ci]) - coded
        up = _upsample_axis(_upsample_axis(delta, fy, 0), fx, 1)
        out.append(plane + up[:h, :w])
    return np.stack(out, 0).astype(np.float32, copy=False)


def mirror_average(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, flips: int) -> np.ndarray:
    """Geometric self-ensemble: the mean of ``fn`` over ``flips`` (1, 2 or 4) mirrorings of
    ``x`` (identity, horizontal, vertical, both; the last two axes), each output mirrored
    back. ValueError for another ``flips``."""
    if flips not in (1, 2, 4):
        raise ValueError(f"flips must be 1, 2 or 4, got {flips}")
    total = fn(x)
    for axes in ((-1,), (-2,), (-2, -1))[: flips - 1]:
        total = total + np.flip(fn(np.ascontiguousarray(np.flip(x, axes))), axes)
    return total / np.float32(flips)


def enhance_window(
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    rgb: np.ndarray,
    cond: np.ndarray,
    coeffs: list[np.ndarray] | None,
    qtables: list[np.ndarray] | None,
    chroma_factors: tuple[int, int],
    grey: bool = False,
    flips: int = 1,
) -> np.ndarray:
    """One enhancement step on a window (numpy twin of
    :func:`hybrid.enhance.forward.enhance_tensor` for a batch of one).

    Args:
        run: the network, (1, 3, H, W) YCbCr 0..255 and (1, COND_DIM) -> (1, 3, H, W)
            residual, float32.
        rgb: float32 (3, H, W) plain decode 0..255, H and W multiples of 8 (block grid at
            the origin; greyscale replicated).
        cond: float32 (COND_DIM,) conditioning vector.
        coeffs, qtables: per component (BH, BW, 8, 8) coefficients and (8, 8) tables for
            the projection; None skips it.
        chroma_factors: (fy, fx) chroma subsampling of the file.
        grey: single-component file: only luma is enhanced and projected.
        flips: 1, 2 or 4 mirrorings averaged.

    Returns:
        float32 (3, H, W) enhanced RGB 0..255, not clipped.
    """
    ycc = rgb_to_ycbcr(rgb)
    cond_b = np.ascontiguousarray(cond[None], dtype=np.float32)
    residual = mirror_average(lambda x: run(x[None], cond_b)[0], ycc, flips)
    out = ycc + residual
    if grey:
        luma = out[:1]
        if coeffs is not None and qtables is not None:
            luma = project_ycc(luma, coeffs[:1], qtables[:1], (1, 1))
        return np.repeat(luma, 3, axis=0)
    if coeffs is not None and qtables is not None:
        out = project_ycc(out, coeffs, qtables, chroma_factors)
    return ycbcr_to_rgb(out)
