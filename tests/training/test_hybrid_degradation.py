"""Training crops coded by hybrid's own encoder (``DegradationConfig.p_hybrid``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

import hybrid
import training.data as training_data
from hybrid.enhance.jpeg_input import load_planes
from training.data import HYBRID_MODES, DegradationConfig, degrade_hybrid, make_batch

#: Sampling factors (h, v) of the luma component per chroma mode (chroma is 1x1).
LUMA_SAMPLING = {"4:2:0": (2, 2), "4:4:4": (1, 1), "4:2:2": (2, 1)}


def _only(mode: str) -> tuple[float, ...]:
    return tuple(float(m == mode) for m in HYBRID_MODES)


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[160:208, 180:228])


@pytest.mark.parametrize("encoder_mode", list(HYBRID_MODES))
@pytest.mark.parametrize("chroma", ["4:2:0", "4:4:4"])
def test_hybrid_crops_are_hybrid_files_in_the_requested_mode(crop, encoder_mode, chroma):
    cfg = DegradationConfig(crop=48, p_hybrid=1.0, hybrid_mode_weights=_only(encoder_mode))
    planes, quality, used, jpeg = degrade_hybrid(
        crop, np.random.default_rng([3, 7]), cfg, chroma, False
    )
    header = hybrid.info(jpeg)
    assert used == encoder_mode
    assert header.hybrid_metadata is not None
    assert header.process == (
        "progressive" if encoder_mode in ("best", "progressive", "perceptual") else "baseline"
    )
    assert (header.components[0].h_samp, header.components[0].v_samp) == LUMA_SAMPLING[chroma]
    assert 5 <= quality <= 95
    # The very file hybrid.encode writes with the mode's options, and its training pair is
    # what load_planes reads from it.
    assert jpeg == hybrid.encode(
        crop, quality=quality, subsampling=chroma, **HYBRID_MODES[encoder_mode]
    )
    assert np.array_equal(planes.pixels, load_planes(jpeg).pixels)
    assert planes.chroma_factors == {"4:2:0": (2, 2), "4:4:4": (1, 1)}[chroma]


def test_grey_hybrid_crops_are_single_component(crop):
    cfg = DegradationConfig(crop=48, p_hybrid=1.0)
    planes, _, _, jpeg = degrade_hybrid(crop, np.random.default_rng(0), cfg, "4:2:0", True)
    assert len(hybrid.info(jpeg).components) == 1 and planes.grey


def test_hybrid_qualities_and_modes_cover_the_ranges():
    """Qualities span 5..95 with extra weight on 60..95 (about 0.5 + 0.5 * 36/91 = 0.70 of
    the crops); every mode of the default weights (0.4/0.2/0.2/0.2/0) is drawn, best most
    often, and the perceptual tune, weighted 0 by default, never."""
    cfg = DegradationConfig(crop=16, p_hybrid=1.0)
    flat = np.full((16, 16, 3), 128, np.uint8)
    rng = np.random.default_rng(11)
    draws = [degrade_hybrid(flat, rng, cfg, "4:2:0", False)[1:3] for _ in range(300)]
    qualities = np.array([q for q, _ in draws])
    modes = [m for _, m in draws]
    assert qualities.min() < 15 and qualities.max() > 90
    assert 5 <= qualities.min() and qualities.max() <= 95
    assert 0.62 < np.mean(qualities >= 60) < 0.78
    counts = {m: modes.count(m) for m in HYBRID_MODES}
    assert counts.pop("perceptual") == 0
    assert min(counts.values()) > 30 and counts["best"] == max(counts.values())


def test_a_zero_weighted_mode_leaves_the_draws_of_the_others_unchanged():
    """Runs recorded before the perceptual tune joined :data:`HYBRID_MODES` (four weights)
    draw the same modes and qualities with its weight at 0."""
    flat = np.full((16, 16, 3), 128, np.uint8)
    four = np.array([0.4, 0.2, 0.2, 0.2])
    draws = []
    rng = np.random.default_rng(5)
    cfg = DegradationConfig(crop=16, p_hybrid=1.0)
    for _ in range(40):
        draws.append(degrade_hybrid(flat, rng, cfg, "4:2:0", False)[1:3])
    rng = np.random.default_rng(5)
    names = list(HYBRID_MODES)[:4]
    for quality, mode in draws:
        assert mode == names[int(rng.choice(4, p=four / four.sum()))]
        low = cfg.hybrid_focus_low if rng.random() < cfg.p_hybrid_focus else cfg.hybrid_quality_low
        assert quality == int(rng.integers(low, cfg.hybrid_quality_high + 1))


def test_batches_with_hybrid_crops_are_pure_functions_of_seed_and_iteration(monkeypatch):
    """p_hybrid=1: every crop of the batch is a hybrid file, the batch's plain decode is that
    file's, and the same (seed, iteration) gives the same files and batch."""
    written: list[tuple[str, bytes]] = []

    def spy(*args):
        out = degrade_hybrid(*args)
        written.append((out[2], out[3]))
        return out

    monkeypatch.setattr(training_data, "degrade_hybrid", spy)
    imgs = [data.astronaut()[:96, :96]]
    cfg = DegradationConfig(crop=32, p_hybrid=1.0, p_grey=0.0)
    a = make_batch(imgs, 4, 9, 4, cfg)
    first, written[:] = list(written), []
    b = make_batch(imgs, 4, 9, 4, cfg)
    assert written == first and len(first) == 4
    assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["clean"], b["clean"])
    for i, (mode, jpeg) in enumerate(first):
        header = hybrid.info(jpeg)
        assert header.hybrid_metadata is not None
        assert (header.process == "progressive") == (mode in ("best", "progressive"))
        pixels = torch.from_numpy(load_planes(jpeg).pixels.astype(np.float32)).permute(2, 0, 1)
        assert torch.equal(a["rgb"][i], pixels)
    written[:] = []
    make_batch(imgs, 4, 10, 4, cfg)
    assert written != first


def test_no_hybrid_share_leaves_batches_unchanged():
    """p_hybrid=0 draws no random number for it: the hybrid settings change nothing."""
    imgs = [data.astronaut()[:64, :64]]
    plain = make_batch(imgs, 2, 3, 3, DegradationConfig(crop=32))
    other = make_batch(
        imgs,
        2,
        3,
        3,
        DegradationConfig(crop=32, hybrid_mode_weights=(0, 0, 0, 1, 0), p_hybrid_focus=1.0),
    )
    assert torch.equal(plain["rgb"], other["rgb"]) and torch.equal(plain["cond"], other["cond"])
    mixed = make_batch(imgs, 2, 3, 3, DegradationConfig(crop=32, p_hybrid=0.5))
    assert not torch.equal(plain["rgb"], mixed["rgb"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_hybrid": 1.5}, "p_hybrid"),
        ({"hybrid_mode_weights": (1.0, 0.0, 0.0)}, "hybrid_mode_weights"),
        ({"hybrid_mode_weights": (1.0, 0.0, 0.0, 0.0)}, "hybrid_mode_weights"),
        ({"hybrid_mode_weights": (0.0,) * 5}, "hybrid_mode_weights"),
        ({"hybrid_focus_low": 99}, "hybrid qualities"),
    ],
)
def test_bad_hybrid_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DegradationConfig(**kwargs)
