"""hybrid.metrics against hand-computed values and reference libraries."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from hybrid import metrics


def jpeg_pair(quality: int, shape: tuple[int, int] = (256, 320)) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[: shape[0], : shape[1]])
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return image, np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


# --- PSNR: values worked out by hand ----------------------------------------------------------


def test_psnr_hand_values():
    a = np.zeros((4, 4, 3), np.uint8)
    # Every sample off by 1: MSE 1, PSNR = 20 log10(255) = 48.1308 dB.
    assert metrics.psnr(a, a + 1) == pytest.approx(48.130803608679, abs=1e-9)
    # One sample of 48 off by 12: MSE 144 / 48 = 3, PSNR = 10 log10(65025 / 3) = 43.3596 dB.
    b = a.copy()
    b[1, 2, 0] = 12
    assert metrics.psnr(a, b) == pytest.approx(43.359591, abs=1e-6)
    # Peak 1.0 for float images: MSE 0.01 -> 20 dB.
    assert metrics.psnr(np.zeros(10), np.full(10, 0.1), peak=1.0) == pytest.approx(20.0)
    assert metrics.psnr(a, a) == math.inf


def test_psnr_y_hand_value():
    # Only red differs, by 10: JFIF luma differs by 0.299 * 10 = 2.99 everywhere,
    # MSE 8.9401, PSNR-Y = 10 log10(65025 / 8.9401) = 38.6174 dB.
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a.copy()
    b[..., 0] += 10
    assert metrics.psnr_y(a, b) == pytest.approx(10 * math.log10(65025 / 8.9401), abs=1e-9)
    assert metrics.psnr_y(a, b) == pytest.approx(38.6174, abs=1e-4)
    # Greyscale inputs are used as they are.
    assert metrics.psnr_y(a[..., 0], b[..., 0]) == pytest.approx(metrics.psnr(a[..., 0], b[..., 0]))


# --- SSIM / MS-SSIM -------------------------------------------------------------------------


@pytest.mark.parametrize("quality", [5, 40, 90])
def test_ssim_matches_scikit_image(quality):
    from skimage.metrics import structural_similarity

    a, b = jpeg_pair(quality, (200, 184))
    expected = structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
        channel_axis=2,
    )  # fmt: skip
    assert metrics.ssim(a, b) == pytest.approx(expected, abs=1e-10)
    single, _ = metrics.ssim_and_ms_ssim(a, b)
    assert single == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("quality", [5, 40, 90])
def test_ms_ssim_matches_pytorch_msssim(quality):
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    import torch

    # 256x320: even at every scale, where pytorch_msssim's padded pooling equals ours.
    a, b = jpeg_pair(quality)

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float64)).permute(2, 0, 1)[None]

    expected = float(pytorch_msssim.ms_ssim(tensor(a), tensor(b), data_range=255))
    # pytorch_msssim builds its Gaussian window in float32: agreement to ~1e-6.
    assert metrics.ms_ssim(a, b) == pytest.approx(expected, abs=1e-5)
    expected_ssim = float(pytorch_msssim.ssim(tensor(a), tensor(b), data_range=255))
    assert metrics.ssim(a, b) == pytest.approx(expected_ssim, abs=1e-5)


def test_ms_ssim_hand_value_for_a_brightness_shift():
    # y = x + c on a flat image: every contrast-structure term is exactly 1 and the
    # luminance term is (2 m (m + c) + C1) / (m^2 + (m + c)^2 + C1) at every pixel, so
    # SSIM equals it and MS-SSIM is it to the power of the last weight, 0.1333.
    m, c, c1 = 100.0, 10.0, (0.01 * 255) ** 2
    lum = (2 * m * (m + c) + c1) / (m * m + (m + c) ** 2 + c1)
    a = np.full((192, 200, 3), m)
    b = a + c
    assert metrics.ssim(a, b) == pytest.approx(lum, abs=1e-12)
    assert metrics.ms_ssim(a, b) == pytest.approx(lum**0.1333, abs=1e-12)
    assert lum == pytest.approx(0.995476, abs=1e-6)


def test_ssim_and_ms_ssim_bounds_and_errors():
    a, b = jpeg_pair(20, (180, 180))
    single, multi = metrics.ssim_and_ms_ssim(a, b)
    assert 0.5 < single < multi < 1.0  # coarse scales forgive JPEG's fine-scale errors
    assert metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        metrics.ssim(a, b[:-1])
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(a[:10], b[:10])
