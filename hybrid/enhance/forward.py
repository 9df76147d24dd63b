"""One enhancement step on tensors, shared by inference and training."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from hybrid.enhance.consistency import project_ycc
from hybrid.enhance.precision import network_call
from hybrid.enhance.ycc import rgb_to_ycbcr, ycbcr_to_rgb


def mirror_average(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, flips: int
) -> torch.Tensor:
    """Geometric self-ensemble: the mean of ``fn`` over ``flips`` (1, 2 or 4) mirrorings of
    ``x`` (identity, horizontal, vertical, both), each output mirrored back.

    ``fn`` must map (B, C, H, W) to (B, C', s*H, s*W) for some integer s, so mirroring its
    output undoes the mirroring of its input. Raises ValueError for another ``flips``.
    """
    if flips not in (1, 2, 4):
        raise ValueError(f"flips must be 1, 2 or 4, got {flips}")
    total = fn(x)
    for dims in ([-1], [-2], [-2, -1])[: flips - 1]:
        total = total + fn(x.flip(dims)).flip(dims)
    return total / flips


def enhance_tensor(
    net: nn.Module,
    rgb: torch.Tensor,
    cond: torch.Tensor,
    coeffs: list[torch.Tensor] | None,
    qtables: list[torch.Tensor] | None,
    chroma_factors: tuple[int, int],
    grey: bool = False,
    flips: int = 1,
    precision: str = "fp32",
) -> torch.Tensor:
    """Enhance a batch of decoded JPEG images.

    Args:
        net: an :class:`hybrid.enhance.nets.EnhanceNet`.
        rgb: float (B, 3, H, W) plain decode, 0..255, H and W multiples of 8 (block grid at the
            origin; greyscale replicated to 3 channels).
        cond: float (B, COND_DIM) conditioning vectors.
        coeffs, qtables: per component (B, BH, BW, 8, 8) coefficients and (B, 8, 8) tables for
            the quantization-consistency projection; None skips it.
        chroma_factors: (fy, fx) chroma subsampling of the file.
        grey: single-component file: only luma is enhanced and projected.
        flips: 1, 2 or 4: average the network's residual over this many mirrorings (identity,
            horizontal, vertical, both) -- geometric self-ensemble. Mirroring an image whose
            sides are multiples of 8 maps the 8x8 block grid and every quantization step onto
            themselves, so the conditioning stays valid.
        precision: ``fp32``, ``bf16`` or ``auto`` (:mod:`hybrid.enhance.precision`, on
            ``rgb``'s device): the arithmetic of the network call only; colour transforms and
            projection stay float32. Default fp32, so a caller that already wraps ``net``
            (training's autocast) gets exactly its own choice.

    Returns:
        float (B, 3, H, W) enhanced RGB on the 0..255 scale (not clipped).
    """
    run = network_call(net, precision, rgb.device)
    ycc = rgb_to_ycbcr(rgb)
    out = ycc + mirror_average(lambda x: run(x, cond), ycc, flips)
    if grey:
        luma = out[:, :1]
        if coeffs is not None and qtables is not None:
            luma = project_ycc(luma, coeffs[:1], qtables[:1], (1, 1))
        return luma.expand(-1, 3, -1, -1)
    if coeffs is not None and qtables is not None:
        out = project_ycc(out, coeffs, qtables, chroma_factors)
    return ycbcr_to_rgb(out)
