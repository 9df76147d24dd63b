"""Quantization consistency: keep an image's DCT coefficients inside the intervals the file proves.

A JPEG stores ``k = round(F / Q)`` per coefficient, so the true coefficient lay in
``[(k - 1/2) Q, (k + 1/2) Q]``. Projecting an enhanced plane onto that box (per 8x8 block, at
the component's own sampling) can only bring it closer to the original in the DCT domain. The
projection is differentiable almost everywhere (a clamp), so it is used inside training too.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def dct_basis(dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """(8, 8) orthonormal DCT-II matrix C (T.81 A.3.3): ``F = C @ f @ C.T`` per block."""
    u = torch.arange(8, dtype=torch.float64)[:, None]
    x = torch.arange(8, dtype=torch.float64)[None, :]
    c = torch.cos((2 * x + 1) * u * math.pi / 16) * 0.5
    c[0] /= math.sqrt(2.0)
    return c.to(dtype=dtype, device=device)


def to_blocks(plane: torch.Tensor) -> torch.Tensor:
    """(B, H, W) with H, W multiples of 8 -> (B, H/8, W/8, 8, 8)."""
    b, h, w = plane.shape
    return plane.view(b, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)


def from_blocks(blocks: torch.Tensor) -> torch.Tensor:
    """(B, BH, BW, 8, 8) -> (B, BH*8, BW*8)."""
    b, bh, bw, _, _ = blocks.shape
    return blocks.permute(0, 1, 3, 2, 4).reshape(b, bh * 8, bw * 8)


def project_plane(plane: torch.Tensor, coeffs: torch.Tensor, qtable: torch.Tensor) -> torch.Tensor:
    """Project one component plane onto its quantization intervals.

    Args:
        plane: float (B, H, W), samples on the 0..255 scale (not level-shifted).
        coeffs: float or int (B, BH, BW, 8, 8) quantized coefficients, natural order, with
            BH >= ceil(H/8), BW >= ceil(W/8) (extra blocks are ignored).
        qtable: (B, 8, 8) or (8, 8) quantization table, natural order.

    Returns:
        float (B, H, W): the plane whose blockwise DCT lies inside ``[(k-1/2)Q, (k+1/2)Q]``.
    """
    b, h, w = plane.shape
    bh, bw = -(-h // 8), -(-w // 8)
    padded = F.pad(plane[:, None], (0, bw * 8 - w, 0, bh * 8 - h), mode="replicate")[:, 0]
    c = dct_basis(plane.dtype, plane.device)
    spectrum = c @ (to_blocks(padded) - 128.0) @ c.t()
    k = coeffs[:, :bh, :bw].to(plane.dtype)
    q = qtable.to(plane.dtype)
    if q.dim() == 3:
        q = q[:, None, None]
    clamped = torch.maximum(torch.minimum(spectrum, (k + 0.5) * q), (k - 0.5) * q)
    delta = from_blocks(c.t() @ (clamped - spectrum) @ c)
    return plane + delta[:, :h, :w]


def project_ycc(
    ycc: torch.Tensor,
    coeffs: list[torch.Tensor],
    qtables: list[torch.Tensor],
    chroma_factors: tuple[int, int],
) -> torch.Tensor:
    """Project a full-resolution YCbCr image onto the intervals of all its components.

    Chroma is taken to its coded resolution by box averaging (as the encoder did), projected
    there, and the correction is brought back with centred bilinear upsampling.

    Args:
        ycc: float (B, 3, H, W) YCbCr on the 0..255 scale, or (B, 1, H, W) greyscale.
        coeffs: per component (B, BH, BW, 8, 8) quantized coefficients.
        qtables: per component (B, 8, 8) or (8, 8) tables.
        chroma_factors: (fy, fx) chroma subsampling factors (1, 1 for 4:4:4).

    Returns:
        float tensor shaped like ``ycc``.
    """
    out = [project_plane(ycc[:, 0], coeffs[0], qtables[0])]
    fy, fx = chroma_factors
    h, w = ycc.shape[-2:]
    for ci in range(1, ycc.shape[1]):
        plane = ycc[:, ci]
        if (fy, fx) == (1, 1):
            out.append(project_plane(plane, coeffs[ci], qtables[ci]))
            continue
        ph, pw = -(-h // fy) * fy, -(-w // fx) * fx
        padded = F.pad(plane[:, None], (0, pw - w, 0, ph - h), mode="replicate")
        coded = F.avg_pool2d(padded, (fy, fx))[:, 0]
        delta = project_plane(coded, coeffs[ci], qtables[ci]) - coded
        up = F.interpolate(
            delta[:, None], scale_factor=(fy, fx), mode="bilinear", align_corners=False
        )
        out.append(plane + up[:, 0, :h, :w])
    return torch.stack(out, 1)
