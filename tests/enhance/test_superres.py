"""The super-resolution network (SRNet) and its tiled inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.nets import ARCHITECTURES, COND_DIM, SRNet
from hybrid.enhance.superres import tile_overlap, upscale_planes
from tests.helpers.jpeg import pillow_jpeg
from tests.helpers.nets import perturbed


def _random_sr_net(seed: int = 0, channels: int = 8, blocks: int = 2) -> SRNet:
    """An SRNet whose tail and conditioning are not zero, so it differs from bicubic."""
    torch.manual_seed(seed)
    return perturbed(SRNet(channels=channels, blocks=blocks))


def _bicubic(x: torch.Tensor, scale: int = 2) -> torch.Tensor:
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def test_registered_and_validates_scale():
    assert ARCHITECTURES["SRNet"] is SRNet
    for bad in (1, 5, 2.0, True):
        with pytest.raises(ValueError, match="scale"):
            SRNet(8, 1, scale=bad)


@pytest.mark.parametrize(("h", "w"), [(16, 24), (13, 21), (1, 1), (9, 40)])
def test_shapes_and_untrained_equals_bicubic(h, w):
    torch.manual_seed(1)
    net = SRNet(channels=8, blocks=2)
    x = torch.rand(2, 3, h, w)
    cond = torch.rand(2, COND_DIM)
    out = net(x, cond)
    assert out.shape == (2, 3, 2 * h, 2 * w) and out.dtype == torch.float32
    assert torch.equal(out, _bicubic(x))  # zero tail and FiLM: exactly bicubic at init


def test_other_scales_and_greyscale_replicated_input():
    net = _random_sr_net(2)
    grey = torch.rand(1, 1, 11, 19).expand(-1, 3, -1, -1)
    out = net(grey, torch.zeros(1, COND_DIM))
    assert out.shape == (1, 3, 22, 38)
    assert (out - _bicubic(grey)).abs().max() > 1e-3  # the randomised network does something
    x3 = SRNet(8, 1, scale=3)(torch.rand(1, 3, 10, 7), torch.zeros(1, COND_DIM))
    assert x3.shape == (1, 3, 30, 21)


def test_cond_changes_the_output():
    net = _random_sr_net(3)
    x = torch.rand(1, 3, 16, 16)
    a = net(x, torch.zeros(1, COND_DIM))
    b = net(x, torch.ones(1, COND_DIM))
    assert (a - b).abs().max() > 1e-4


@pytest.mark.parametrize("sub", [0, 2])
def test_tiled_equals_untiled(sub):
    img = data.astronaut()[:150, :203]
    planes = load_planes(pillow_jpeg(img, quality=25, subsampling=sub))
    net = _random_sr_net()
    overlap = tile_overlap(net)
    assert overlap > net.receptive_radius and overlap % 16 == 0
    # float32 throughout: the whole-image run is compared with a direct float32 call below
    whole = upscale_planes(net, planes, 2, tile=1024, precision="fp32")
    tiled = upscale_planes(net, planes, 2, tile=48, precision="fp32")
    assert whole.shape == (300, 406, 3) and whole.dtype == np.float32
    assert np.abs(whole - tiled).max() < 1e-3
    # and the whole-image path is the network on the plain decode, clipped
    rgb = torch.from_numpy(planes.pixels.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    from hybrid.enhance.jpeg_input import condition_vector

    with torch.no_grad():
        direct = net(rgb, torch.from_numpy(condition_vector(planes))[None]).clamp(0, 1)
    assert np.abs(direct[0].permute(1, 2, 0).numpy() - whole).max() < 1e-5
    bicubic = _bicubic(rgb).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert np.abs(whole - bicubic).max() > 1e-2  # not a trivially equal pair


def test_short_overlap_is_visible():
    """The default overlap is needed: with none, tiles differ from the whole image."""
    planes = load_planes(pillow_jpeg(data.astronaut()[:96, :96], quality=30))
    net = _random_sr_net(4)
    whole = upscale_planes(net, planes, 2, tile=1024)
    assert np.abs(whole - upscale_planes(net, planes, 2, tile=32, overlap=0)).max() > 1e-3


def test_flip_self_ensemble_is_tiled_consistently_and_averages_mirrorings():
    img = data.astronaut()[:100, :120]
    planes = load_planes(pillow_jpeg(img, quality=30))
    net = _random_sr_net(5)
    four = upscale_planes(net, planes, 2, tile=1024, flips=4)
    assert np.abs(four - upscale_planes(net, planes, 2, tile=48, flips=4)).max() < 1e-3
    assert np.abs(four - upscale_planes(net, planes, 2, tile=1024)).max() > 1e-3
    # On a whole, 16-aligned image the ensemble is the mean of the four mirrored outputs.
    aligned = load_planes(pillow_jpeg(img[:96, :112], quality=30))
    from hybrid.enhance.jpeg_input import condition_vector

    rgb = torch.from_numpy(aligned.pixels.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    cond = torch.from_numpy(condition_vector(aligned))[None]
    with torch.no_grad():
        outs = [net(rgb, cond)] + [net(rgb.flip(d), cond).flip(d) for d in ([-1], [-2], [-2, -1])]
    mean = torch.stack(outs).mean(0).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    ensemble = upscale_planes(net, aligned, 2, tile=1024, flips=4, precision="fp32")
    assert np.abs(mean - ensemble).max() < 1e-5  # float32, as the direct calls
    with pytest.raises(ValueError, match="flips"):
        upscale_planes(net, aligned, 2, flips=3)
