"""The numpy twins of the enhancement step's tensor code agree with the torch versions."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from hybrid.enhance import consistency, forward, numpy_ops, ycc
from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.taper import residual_strength


def _planes(quality: int, subsampling: int, grey: bool = False):
    img = data.astronaut()[:120, 40:200]  # 120 x 160: whole 4:2:0 MCUs not needed
    im = Image.fromarray(img).convert("L" if grey else "RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return load_planes(buf.getvalue())


def test_colour_conversion_matches_torch():
    rgb = np.random.default_rng(0).uniform(0, 255, (3, 24, 40)).astype(np.float32)
    ours = numpy_ops.rgb_to_ycbcr(rgb)
    theirs = ycc.rgb_to_ycbcr(torch.from_numpy(rgb)[None])[0].numpy()
    assert ours.dtype == np.float32 and np.abs(ours - theirs).max() < 1e-4
    back = numpy_ops.ycbcr_to_rgb(ours)
    assert np.abs(back - ycc.ycbcr_to_rgb(torch.from_numpy(ours)[None])[0].numpy()).max() < 1e-4
    assert np.abs(back - rgb).max() < 1e-3


def test_dct_basis_matches_torch():
    assert np.array_equal(numpy_ops.dct_basis(), consistency.dct_basis().numpy())


@pytest.mark.parametrize(("subsampling", "grey"), [(2, False), (1, False), (0, False), (0, True)])
def test_projection_matches_torch(subsampling, grey):
    """4:2:0, 4:2:2, 4:4:4 and greyscale, on a noisy image that the projection moves."""
    planes = _planes(30, subsampling, grey)
    rgb = planes.pixels.transpose(2, 0, 1).astype(np.float32)
    noisy = numpy_ops.rgb_to_ycbcr(rgb)
    noisy = noisy + np.random.default_rng(1).normal(0, 6, noisy.shape).astype(np.float32)
    if grey:
        noisy = noisy[:1]
    coeffs = list(planes.coeffs)
    qt = [q.astype(np.float32) for q in planes.qtables]
    ours = numpy_ops.project_ycc(noisy, coeffs, qt, planes.chroma_factors)
    theirs = consistency.project_ycc(
        torch.from_numpy(noisy)[None],
        [torch.from_numpy(c.astype(np.float32))[None] for c in coeffs],
        [torch.from_numpy(q) for q in qt],
        planes.chroma_factors,
    )[0].numpy()
    assert ours.shape == noisy.shape and ours.dtype == np.float32
    assert np.abs(ours - noisy).max() > 1.0  # the projection did something
    assert np.abs(ours - theirs).max() < 2e-3


def test_upsampling_matches_torch_bilinear():
    a = np.random.default_rng(2).normal(size=(5, 7)).astype(np.float32)
    up = numpy_ops._upsample_axis(numpy_ops._upsample_axis(a, 2, 0), 2, 1)
    ref = torch.nn.functional.interpolate(
        torch.from_numpy(a)[None, None], scale_factor=(2, 2), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    assert np.abs(up - ref).max() < 1e-6


@pytest.mark.parametrize("flips", [1, 2, 4])
def test_enhance_window_matches_enhance_tensor(flips):
    """The whole step (colour, network, self-ensemble, projection) with a stand-in network
    that is not mirror-symmetric."""
    planes = _planes(20, 2)
    weight = torch.linspace(-0.2, 0.3, 9).view(1, 1, 3, 3).repeat(3, 1, 1, 1)

    def net(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return (
            torch.nn.functional.conv2d(x - 128.0, weight, padding=1, groups=3)
            + cond[:, :3, None, None]
        )

    rgb = planes.pixels.transpose(2, 0, 1).astype(np.float32)
    cond = np.linspace(0, 1, 131, dtype=np.float32)
    coeffs = list(planes.coeffs)
    qt = [q.astype(np.float32) for q in planes.qtables]

    def run(x: np.ndarray, c: np.ndarray) -> np.ndarray:
        return net(torch.from_numpy(x), torch.from_numpy(c)).numpy()

    ours = numpy_ops.enhance_window(run, rgb, cond, coeffs, qt, planes.chroma_factors, False, flips)
    theirs = forward.enhance_tensor(
        net,
        torch.from_numpy(rgb)[None],
        torch.from_numpy(cond)[None],
        [torch.from_numpy(c.astype(np.float32))[None] for c in coeffs],
        [torch.from_numpy(q) for q in qt],
        planes.chroma_factors,
        False,
        flips,
    )[0].numpy()
    assert np.abs(ours - theirs).max() < 2e-3


def test_mirror_average_rejects_other_counts():
    with pytest.raises(ValueError, match="flips"):
        numpy_ops.mirror_average(lambda x: x, np.zeros((3, 8, 8), np.float32), 3)


def test_taper_is_the_inference_modules():
    from hybrid.enhance import infer

    assert infer.residual_strength is residual_strength
