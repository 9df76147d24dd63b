"""Image-quality metrics: PSNR (RGB and Y) and MS-SSIM (Wang, Simoncelli & Bovik 2003).

MS-SSIM follows the reference definition: 11x11 Gaussian window (sigma 1.5), K1=0.01,
K2=0.03, five scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2x2 average
pooling between scales, contrast-structure terms at every scale and luminance at the last.
The filtering uses kornia, so the function is differentiable and doubles as a training loss.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from hybrid.codec.tables import JFIF_RGB_TO_YCBCR

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB between two arrays of equal shape on the same scale (inf when equal)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def luma(rgb: np.ndarray) -> np.ndarray:
    """JFIF Y of uint8/float (H, W, 3) RGB, float64 on the input scale."""
    return np.asarray(rgb, np.float64) @ JFIF_RGB_TO_YCBCR[0]


def psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of the JFIF luma of two RGB images (greyscale inputs are used as they are)."""
    ya = luma(a) if np.ndim(a) == 3 else a
    yb = luma(b) if np.ndim(b) == 3 else b
    return psnr(ya, yb)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, data_range: float):
    import kornia

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    blur = lambda t: kornia.filters.gaussian_blur2d(t, (11, 11), (1.5, 1.5), border_type="reflect")  # noqa: E731
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
    """MS-SSIM of (B, C, H, W) tensors, averaged over channels -> (B,). Needs H, W >= 176."""
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


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM of two uint8/float (H, W, 3) or (H, W) images on the 0..255 scale."""
    ta = torch.from_numpy(np.asarray(a, np.float64))
    tb = torch.from_numpy(np.asarray(b, np.float64))
    if ta.dim() == 2:
        ta, tb = ta[..., None], tb[..., None]
    ta, tb = ta.permute(2, 0, 1)[None], tb.permute(2, 0, 1)[None]
    return float(ms_ssim_torch(ta, tb, data_range=255.0)[0])
