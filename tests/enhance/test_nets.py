"""Network internals: the quarter-resolution branch, the folded inference path, receptive
radii."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from hybrid.enhance.infer import enhance_planes
from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.nets import COND_DIM, EnhanceNet, SRNet
from hybrid.enhance.registry import architecture_of_config
from tests.helpers.jpeg import pillow_jpeg
from tests.helpers.nets import perturbed
from training.loop import TrainConfig, build_network, load_init_weights


def _low_net(seed: int = 0, **kwargs) -> EnhanceNet:
    torch.manual_seed(seed)
    return perturbed(EnhanceNet(channels=8, blocks=3, low_blocks=2, low_channels=12, **kwargs))


def test_branch_added_to_trained_weights_keeps_their_function():
    torch.manual_seed(0)
    base = perturbed(EnhanceNet(channels=8, blocks=3))
    grown = EnhanceNet(channels=8, blocks=3, low_blocks=2, low_channels=12).eval()
    load_init_weights(grown, base.state_dict(), "base")
    x, cond = torch.rand(1, 3, 48, 64) * 255, torch.rand(1, COND_DIM)
    with torch.inference_mode():
        assert torch.equal(grown(x, cond), base(x, cond))
        perturbed(grown)
        assert (grown(x, cond) - base(x, cond)).abs().max() > 1e-2  # the branch is live


def test_init_weights_of_another_shape_are_refused():
    net = EnhanceNet(channels=8, blocks=3)
    with pytest.raises(ValueError, match="does not fit"):
        load_init_weights(net, EnhanceNet(channels=8, blocks=2).state_dict(), "small.pt")
    with pytest.raises(ValueError, match="unexpected"):
        load_init_weights(net, EnhanceNet(8, 3, low_blocks=1).state_dict(), "grown.pt")


@pytest.mark.parametrize("net_kind", ["plain", "low"])
def test_folded_inference_path_matches_the_training_path(net_kind):
    """Inference on one image folds FiLM into conv1 and works in place; training (autograd,
    batches) runs the plain formulation. Both must be the same function."""
    torch.manual_seed(1)
    net = _low_net(1) if net_kind == "low" else perturbed(EnhanceNet(channels=8, blocks=3))
    x, cond = torch.rand(1, 3, 64, 48) * 255, torch.rand(1, COND_DIM)
    reference = net(x, cond).detach()  # autograd on: the plain path
    with torch.inference_mode():
        folded = net(x, cond)
    assert (reference - folded).abs().max() < 1e-3
    assert reference.abs().max() > 1.0
    with torch.inference_mode():  # a batch keeps the plain path and agrees per image
        batch = net(torch.cat([x, x.flip(-1)]), cond.expand(2, -1))
    assert (batch[:1] - folded).abs().max() < 1e-3


@pytest.mark.parametrize(
    "make",
    [
        lambda: EnhanceNet(channels=4, blocks=2),
        lambda: EnhanceNet(channels=4, blocks=3, low_blocks=2, low_channels=4),
        lambda: SRNet(channels=4, blocks=2, scale=2),
    ],
    ids=["enhance", "enhance-low", "sr"],
)
def test_stated_receptive_radius_bounds_the_real_one(make):
    """A change at one pixel must not reach outputs farther than ``receptive_radius``."""
    # built here, after the seed: built at collection, the initial weights depended on what
    # the modules collected before had drawn from torch's generator
    torch.manual_seed(2)
    net = perturbed(make())
    size, c = 160, 80
    x = torch.rand(1, 3, size, size) * (1.0 if isinstance(net, SRNet) else 255.0)
    y = x.clone()
    y[0, :, c, c] += 0.5 * x.max()
    cond = torch.rand(1, COND_DIM)
    with torch.inference_mode():
        diff = (net(y, cond) - net(x, cond)).abs().amax((0, 1))
    factor = diff.shape[-1] // size
    rows, cols = torch.nonzero(diff > 1e-6, as_tuple=True)
    reach = max((rows - c * factor).abs().max(), (cols - c * factor).abs().max()) / factor
    assert 0 < reach <= net.receptive_radius
    assert reach > net.receptive_radius / 2  # the stated bound is not vacuous


@pytest.mark.parametrize("sub", [0, 2])
def test_branch_network_tiles_exactly_with_its_default_overlap(sub):
    img = data.astronaut()[:170, :215]
    planes = load_planes(pillow_jpeg(img, quality=20, subsampling=sub))
    net = _low_net(3)
    whole = enhance_planes(net, planes, tile=1024)
    tiled = enhance_planes(net, planes, tile=48)
    assert np.abs(whole - tiled).max() < 1e-3
    assert np.abs(whole - planes.pixels / 255.0).max() > 1e-3


def test_training_config_builds_and_names_the_branch():
    cfg = TrainConfig(channels=8, blocks=3, low_blocks=2, low_channels=12)
    net = build_network(cfg)
    assert net.low_blocks == 2 and net.low_up.out_channels == 4 * 8
    assert architecture_of_config(
        {"channels": 8, "blocks": 3, "low_blocks": 2, "low_channels": 12}
    ) == ("EnhanceNet", {"channels": 8, "blocks": 3, "low_blocks": 2, "low_channels": 12})
    assert architecture_of_config({"channels": 8, "blocks": 3}) == (
        "EnhanceNet",
        {"channels": 8, "blocks": 3},
    )
    with pytest.raises(ValueError):
        EnhanceNet(8, 3, low_blocks=-1)
