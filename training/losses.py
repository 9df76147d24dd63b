"""Differentiable image-quality terms for training: MS-SSIM (the structural loss) and a
butteraugli-like distance (the perceptual loss).

MS-SSIM:

The definition is :mod:`hybrid.metrics`'s (Wang, Simoncelli & Bovik 2003: 11x11 Gaussian
window, sigma 1.5, K1=0.01, K2=0.03, five scales with weights ``MS_SSIM_WEIGHTS``, 2x2
average pooling, contrast-structure at every scale and luminance at the last, the 5-pixel
border the "valid" reference never sees dropped); tests/training/test_losses.py holds the
two equal to 1e-12. Measuring uses :mod:`hybrid.metrics` (numpy, ~70x faster on CPU); this
twin exists only because a loss needs gradients.

The butteraugli-like distance (:func:`butteraugli_proxy`) is not butteraugli: libjxl's
``butteraugli_main`` (:mod:`hybrid.perceptual`) measures, and has no gradients. The proxy
keeps the parts of it that decide how an enhancement network is judged: an opsin (XYB)
colour space, frequency bands, masking by the local detail of both images, an asymmetric
penalty on high-frequency detail kept at under 40 % of the reference's or overshot
(butteraugli's ``hf_asymmetry``: such detail costs more than its squared error), and a
3-norm over the image. Its constants were chosen on decodes of val images against the tool
(docs/decisions.md, "A butteraugli-like training loss").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hybrid.metrics import MS_SSIM_WEIGHTS

from .butteraugli import srgb_to_linear

#: Linear sRGB -> LMS-like opsin mixing and bias of JPEG XL's XYB (libjxl ``opsin_params``).
OPSIN_MIX = (
    (0.3, 0.622, 0.078),
    (0.23, 0.692, 0.078),
    (0.24342268924547819, 0.20476744424496821, 0.55180986650955360),
)
OPSIN_BIAS = 0.0037930732552754493
#: Gaussian sigmas (pixels) that split an image into butteraugli's bands: ultra-high, high,
#: medium and low frequencies (libjxl's ``kSigmaHf``, ``kSigmaLf``-like separations).
BAND_SIGMAS = (1.56, 3.22, 7.15)
#: :func:`butteraugli_proxy`'s default masking by local detail and asymmetric penalty on
#: lost or overshot luma detail (the constants of the recorded runs up to
#: enhance-perceptual-v2; enhance-perceptual-v3 trained with 100 and 16, which agree better
#: with libjxl's tool: BENCHMARKS.md, "The proxy's constants against the tool").
PROXY_MASKING = 250.0
PROXY_ASYMMETRY = 4.0


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


def _blur(t: torch.Tensor, sigma: float) -> torch.Tensor:
    import kornia

    k = 2 * round(3 * sigma) + 1
    return kornia.filters.gaussian_blur2d(t, (k, k), (sigma, sigma), border_type="reflect")


def xyb(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """JPEG XL's XYB of (B, 3, H, W) sRGB in 0..1 -> X, Y, B each (B, 1, H, W): linear light,
    opsin mixing, cube root; X is the red-green opponent, Y the luminance-like channel."""
    linear = srgb_to_linear(rgb)
    mix = torch.tensor(OPSIN_MIX, dtype=rgb.dtype, device=rgb.device)
    lms = torch.einsum("ij,bjhw->bihw", mix, linear) + OPSIN_BIAS
    cone = lms.clamp(min=1e-6) ** (1.0 / 3.0) - OPSIN_BIAS ** (1.0 / 3.0)
    l_, m_ = cone[:, 0:1], cone[:, 1:2]
    return (l_ - m_) / 2, (l_ + m_) / 2, cone[:, 2:3]


def _bands(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    b1, b2, b3 = (_blur(t, s) for s in BAND_SIGMAS)
    return t - b1, b1 - b2, b2 - b3, b3


def _asymmetric(ref: torch.Tensor, pred: torch.Tensor, weight: float) -> torch.Tensor:
    """Squared error plus ``weight`` x the squared distance of ``pred`` (along ``ref``'s sign)
    from [0.4 |ref|, |ref|]: detail kept at under 40 % of the reference's, or overshot."""
    size = ref.abs()
    along = pred * torch.sign(ref)
    outside = F.relu(0.4 * size - along) + F.relu(along - size)
    return (ref - pred) ** 2 + weight * outside**2


def butteraugli_proxy(
    pred: torch.Tensor,
    ref: torch.Tensor,
    *,
    asymmetry: float = PROXY_ASYMMETRY,
    masking: float = PROXY_MASKING,
    chroma: float = 10.0,
    norm: float = 3.0,
) -> torch.Tensor:
    """A differentiable butteraugli-like distance of (B, 3, H, W) sRGB images in 0..1 -> (B,).

    Per pixel, the luma (Y) ultra-high and high bands' errors with the asymmetric penalty
    (``asymmetry``), the medium band's squared error and the X channel's (x ``chroma``) are
    divided by ``(1 + masking x local detail of both images)^2`` and blurred; the low band
    of Y, X and B adds unmasked. The distance is the ``norm``-norm of the square root over
    the pixels. 0 for equal images; not butteraugli's scale (module docstring).
    """
    xp, yp, bp = xyb(pred)
    xr, yr, br = xyb(ref)
    yr_u, yr_h, yr_m, yr_l = _bands(yr)
    yp_u, yp_h, yp_m, yp_l = _bands(yp)
    xr_u, xr_h, xr_m, xr_l = _bands(xr)
    xp_u, xp_h, xp_m, xp_l = _bands(xp)
    detail = (
        _asymmetric(yr_u, yp_u, asymmetry)
        + _asymmetric(yr_h, yp_h, asymmetry)
        + 0.6 * (yr_m - yp_m) ** 2
        + chroma * ((xr_h - xp_h) ** 2 + (xr_m - xp_m) ** 2 + 0.5 * (xr_u - xp_u) ** 2)
    )
    activity = _blur(yr_u.abs() + yr_h.abs() + yp_u.abs() + yp_h.abs(), 2.7)
    mask = (1.0 + masking * activity) ** -2
    low = 0.3 * (
        (yr_l - yp_l) ** 2
        + chroma * (xr_l - xp_l) ** 2
        + 0.1 * (_blur(br, BAND_SIGMAS[1]) - _blur(bp, BAND_SIGMAS[1])) ** 2
    )
    distance = torch.sqrt(_blur(detail * mask, 1.0) + low + 1e-12)
    return distance.flatten(1).pow(norm).mean(1).pow(1.0 / norm)
