"""The numpy metrics used by rate control agree with the torch ones used for training."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hybrid.bench import metrics, npmetrics


def jpeg_pair(quality: int, grey: bool = False) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    image = data.astronaut()[:200, :184]
    if grey:
        image = image[:, :, 0].copy()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return image, np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


@pytest.mark.parametrize(("quality", "grey"), [(10, False), (80, True)])
def test_ms_ssim_matches_the_torch_definition(quality, grey):
    a, b = jpeg_pair(quality, grey)
    value = npmetrics.ms_ssim(a, b)
    assert value == pytest.approx(metrics.ms_ssim(a, b), abs=1e-12)
    assert 0.5 < value < 1.0
    assert npmetrics.ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_psnr_matches():
    a, b = jpeg_pair(50)
    assert npmetrics.psnr(a, b) == pytest.approx(metrics.psnr(a, b), abs=1e-12)
    assert npmetrics.psnr(a, a) == float("inf")


def test_ms_ssim_size_floor():
    with pytest.raises(ValueError, match="176"):
        npmetrics.ms_ssim(np.zeros((100, 200)), np.zeros((100, 200)))
