"""Tiled inference, network shapes and determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from hybrid.enhance.infer import enhance_planes
from hybrid.enhance.jpeg_input import condition_vector, load_planes
from hybrid.enhance.nets import COND_DIM, EnhanceNet, block_phase
from tests.helpers.jpeg import pillow_jpeg
from tests.helpers.nets import perturbed


def _random_net(seed: int = 0) -> EnhanceNet:
    torch.manual_seed(seed)
    return perturbed(EnhanceNet(channels=8, blocks=2))


def test_block_phase_one_hot():
    p = block_phase(6, 10)
    assert p.shape == (1, 8, 6, 10)
    assert torch.all(p.sum(1) == 2)
    assert p[0, 1, 5, 0] == 1 and p[0, 4 + 2, 0, 6] == 1


def test_network_shapes_and_identity_at_init():
    net = EnhanceNet(channels=16, blocks=3)
    x = torch.rand(2, 3, 32, 48) * 255
    out = net(x, torch.zeros(2, COND_DIM))
    assert out.shape == x.shape
    assert torch.count_nonzero(out) == 0  # zero-initialized tail: starts as the identity


@pytest.mark.parametrize("sub", [0, 1, 2])
def test_tiled_equals_untiled(sub):
    img = data.astronaut()[:150, :203]
    planes = load_planes(pillow_jpeg(img, quality=25, subsampling=sub))
    net = _random_net()
    whole = enhance_planes(net, planes, tile=1024)
    tiled = enhance_planes(net, planes, tile=48, overlap=32)
    assert whole.shape == (150, 203, 3) and whole.dtype == np.float32
    assert np.abs(whole - tiled).max() < 1e-3
    assert np.abs(whole - planes.pixels / 255.0).max() > 1e-3  # the network did something


def test_greyscale_and_odd_sizes():
    img = data.camera()[:33, :17]
    planes = load_planes(pillow_jpeg(img, quality=40))
    assert planes.grey and planes.pixels.shape == (33, 17, 3)
    out = enhance_planes(_random_net(1), planes)
    assert out.shape == (33, 17, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_condition_vector_reflects_tables_and_sampling():
    img = data.astronaut()[:64, :64]
    a = condition_vector(load_planes(pillow_jpeg(img, quality=10, subsampling=2)))
    b = condition_vector(load_planes(pillow_jpeg(img, quality=90, subsampling=0)))
    assert a.shape == (COND_DIM,) and a.dtype == np.float32
    assert a[:64].mean() > b[:64].mean()
    assert a[128] == 1 and a[129] == 1 and b[128] == 0 and b[129] == 0


def test_cpu_inference_is_deterministic():
    planes = load_planes(pillow_jpeg(data.chelsea()[:96, :128], quality=15))
    net = _random_net(2)
    assert np.array_equal(enhance_planes(net, planes), enhance_planes(net, planes))


def test_self_ensemble_tiles_exactly_and_differs():
    planes = load_planes(pillow_jpeg(data.astronaut()[:100, :131], quality=20, subsampling=2))
    net = _random_net(3)
    one = enhance_planes(net, planes, flips=1)
    four = enhance_planes(net, planes, flips=4)
    four_tiled = enhance_planes(net, planes, flips=4, tile=48, overlap=32)
    assert np.abs(four - four_tiled).max() < 1e-3
    assert np.abs(one - four).max() > 1e-3
    with pytest.raises(ValueError):
        enhance_planes(net, planes, flips=3)


def test_near_lossless_files_keep_only_part_of_the_change():
    from hybrid.enhance.infer import residual_strength

    def table(quality: int) -> np.ndarray:
        return load_planes(pillow_jpeg(data.astronaut()[:32, :32], quality=quality)).qtables[0]

    assert residual_strength(table(88)) == 1.0 and residual_strength(table(50)) == 1.0
    assert residual_strength(table(93)) == 0.0 and residual_strength(table(100)) == 0.0
    assert 0.0 < residual_strength(table(92)) < residual_strength(table(91))
    assert residual_strength(table(91)) < residual_strength(table(90)) < 1.0
    net = _random_net(3)
    for quality, expected in ((100, 0.0), (91, residual_strength(table(91))), (80, 1.0)):
        planes = load_planes(pillow_jpeg(data.astronaut()[:96, :112], quality=quality))
        plain = planes.pixels[:, :, :3] / 255.0
        full = enhance_planes(net, planes, taper=False)
        kept = enhance_planes(net, planes)
        inside = (full > 0) & (full < 1)  # away from the clip, the change is scaled exactly
        np.testing.assert_allclose(
            (kept - plain)[inside], expected * (full - plain)[inside], atol=2e-5
        )
        assert np.abs(full - plain).max() > 1e-2
        if expected == 0.0:
            np.testing.assert_array_equal(kept, np.clip(plain.astype(np.float32), 0, 1))
