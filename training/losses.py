"""MS-SSIM as a differentiable torch function, for training's structural loss.

The definition is :mod:`hybrid.metrics`'s (Wang, Simoncelli & Bovik 2003: 11x11 Gaussian
window, sigma 1.5, K1=0.01, K2=0.03, five scales with weights ``MS_SSIM_WEIGHTS``, 2x2
average pooling, contrast-structure at every scale and luminance at the last, the 5-pixel
border the "valid" reference never sees dropped); tests/training/test_losses.py holds the
two equal to 1e-12. Measuring uses :mod:`hybrid.metrics` (numpy, ~70x faster on CPU); this
twin exists only because a loss needs gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hybrid.metrics import MS_SSIM_WEIGHTS


def _ssim_terms(
    x: torch.Tensor, y: torch.Tensor, data_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    import kornia

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return kornia.filters.gaussian_blur2d(t, (11, 11), (1.5, 1.5), border_type="reflect")

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    # Drop the 5-pixel border the reference ("valid" convolution) never sees.
    crop = (slice(None), slice(None), slice(5, -5), slice(5, -5))
    return lum[crop].mean(dim=(-2, -1)), cs[crop].mean(dim=(-2, -1))


def ms_ssim_torch(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """MS-SSIM of (B, C, H, W) float tensors on the scale 0..``data_range``, averaged over
    channels -> (B,); differentiable. Needs H, W >= 176."""
    if min(x.shape[-2:]) < 176:
        raise ValueError("MS-SSIM needs images of at least 176x176 pixels (5 scales, 11x11 window)")
    w = torch.tensor(MS_SSIM_WEIGHTS, dtype=x.dtype, device=x.device)
    values = []
    for i in range(len(MS_SSIM_WEIGHTS)):
        lum, cs = _ssim_terms(x, y, data_range)
        values.append(F.relu(cs) if i < len(MS_SSIM_WEIGHTS) - 1 else F.relu(lum * cs))
        if i < len(MS_SSIM_WEIGHTS) - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stack = torch.stack(values, 0)  # (5, B, C)
    return torch.prod(stack ** w[:, None, None], 0).mean(-1)
