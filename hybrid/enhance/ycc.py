"""JFIF (T.871) full-range YCbCr <-> RGB for torch tensors on the 0..255 scale.

Not kornia's ``rgb_to_ycbcr``: the quantization-consistency step must work in exactly the
colour space the JPEG file was coded in.
"""

from __future__ import annotations

import torch

from hybrid.codec.tables import JFIF_RGB_TO_YCBCR, JFIF_YCBCR_TO_RGB

_OFFSET = (0.0, 128.0, 128.0)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB 0..255 float -> (B, 3, H, W) YCbCr 0..255 (Cb, Cr centred on 128)."""
    m = torch.as_tensor(JFIF_RGB_TO_YCBCR, dtype=rgb.dtype, device=rgb.device)
    off = torch.as_tensor(_OFFSET, dtype=rgb.dtype, device=rgb.device)
    return torch.einsum("ij,bjhw->bihw", m, rgb) + off[None, :, None, None]


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) YCbCr 0..255 -> (B, 3, H, W) RGB 0..255 float (not clipped)."""
    m = torch.as_tensor(JFIF_YCBCR_TO_RGB, dtype=ycc.dtype, device=ycc.device)
    off = torch.as_tensor(_OFFSET, dtype=ycc.dtype, device=ycc.device)
    return torch.einsum("ij,bjhw->bihw", m, ycc - off[None, :, None, None])
