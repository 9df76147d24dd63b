"""Training's differentiable quality terms: MS-SSIM (torch) agrees with hybrid.metrics
(numpy), which measures everything else; the butteraugli-like distance behaves as libjxl's tool."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from hybrid import metrics
from tests.helpers.butteraugli import need_butteraugli
from training.losses import butteraugli_proxy, ms_ssim_torch


def jpeg_pair(quality: int, grey: bool = False) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    image = data.astronaut()[:200, :184]
    if grey:
        image = image[:, :, 0].copy()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return image, np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


def torch_ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """``ms_ssim_torch`` of two (H, W, C) or (H, W) images on the 0..255 scale, in float64."""
    ta = torch.from_numpy(np.asarray(a, np.float64))
    tb = torch.from_numpy(np.asarray(b, np.float64))
    if ta.dim() == 2:
        ta, tb = ta[..., None], tb[..., None]
    ta, tb = ta.permute(2, 0, 1)[None], tb.permute(2, 0, 1)[None]
    return float(ms_ssim_torch(ta, tb, data_range=255.0)[0])


@pytest.mark.parametrize(("quality", "grey"), [(10, False), (80, True)])
def test_ms_ssim_matches_the_numpy_definition(quality, grey):
    a, b = jpeg_pair(quality, grey)
    value = metrics.ms_ssim(a, b)
    assert value == pytest.approx(torch_ms_ssim(a, b), abs=1e-12)
    assert 0.5 < value < 1.0
    assert torch_ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_ms_ssim_torch_is_differentiable_and_has_a_size_floor():
    a, b = jpeg_pair(30)
    x = torch.from_numpy(b.astype(np.float32) / 255).permute(2, 0, 1)[None].requires_grad_()
    y = torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]
    (1 - ms_ssim_torch(x, y)).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="176"):
        ms_ssim_torch(torch.zeros(1, 1, 100, 200), torch.zeros(1, 1, 100, 200))
    with pytest.raises(ValueError, match="176"):
        metrics.ms_ssim(np.zeros((100, 200)), np.zeros((100, 200)))


def as_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float64 in 0..1."""
    return torch.from_numpy(np.asarray(image, np.float64) / 255.0).permute(2, 0, 1)[None]


def proxy(a: np.ndarray, b: np.ndarray) -> float:
    return float(butteraugli_proxy(as_tensor(b), as_tensor(a))[0])


def test_butteraugli_proxy_is_zero_for_equal_images_and_differentiable():
    image, decoded = jpeg_pair(20)
    assert proxy(image, image) < 1e-5
    pred = as_tensor(decoded).requires_grad_(True)
    value = butteraugli_proxy(pred, as_tensor(image))
    assert value.shape == (1,) and float(value) > 1e-3
    value.sum().backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def detail_scaled(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` with its detail above a Gaussian blur (sigma 1.56, the proxy's first band)
    scaled by ``factor``, as float 0..255."""
    from scipy.ndimage import gaussian_filter

    base = gaussian_filter(image.astype(np.float64), (1.56, 1.56, 0))
    return np.clip(base + factor * (image - base), 0, 255)


@pytest.mark.parametrize(("factor", "costs"), [(0.1, True), (0.7, False), (1.8, True)])
def test_butteraugli_proxy_charges_detail_outside_its_kept_range(factor, costs):
    """The asymmetric term (butteraugli's high-frequency asymmetry) adds to the squared
    error where a prediction keeps under 40 % of the reference's fine detail or overshoots
    it, and next to nothing where the detail is kept at 70 %. (Masking by the local detail
    keeps the term small in textured regions, as in butteraugli.)"""
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[100:260, 120:280])
    pred = as_tensor(detail_scaled(image, factor))
    with_term, without = (
        float(butteraugli_proxy(pred, as_tensor(image), asymmetry=w)[0]) for w in (4.0, 0.0)
    )
    assert (with_term / without > 1.04) is costs


def test_butteraugli_proxy_orders_jpeg_qualities_as_butteraugli_does():
    need_butteraugli()
    from hybrid.perceptual import butteraugli

    image = jpeg_pair(10)[0]
    decodes = [jpeg_pair(q)[1] for q in (8, 25, 60, 92)]
    tool = [butteraugli(image, d).pnorm3 for d in decodes]
    ours = [proxy(image, d) for d in decodes]
    assert np.argsort(tool).tolist() == np.argsort(ours).tolist() == [3, 2, 1, 0]


def test_butteraugli_proxy_scores_a_batch_image_by_image():
    image, decoded = jpeg_pair(30)
    pair = torch.cat([as_tensor(decoded), as_tensor(image)])
    both = butteraugli_proxy(pair, torch.cat([as_tensor(image)] * 2))
    assert both[0] == pytest.approx(proxy(image, decoded), rel=1e-9) and both[1] < 1e-5
