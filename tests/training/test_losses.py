"""Training's differentiable MS-SSIM (torch) agrees with hybrid.metrics (numpy), which
measures everything else."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from hybrid import metrics
from training.losses import ms_ssim_torch


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
