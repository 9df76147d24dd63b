"""`hybrid train` end to end on tiny data, exact resume, export, and the torchrun path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from hybrid.enhance.registry import load_manifest, load_model
from tests.helpers.training import (
    TRAINING,
    tiny_train_args,
    tiny_train_config,
    tiny_training_folders,
)
from training.data import DegradationConfig, make_batch
from training.export import export_checkpoint
from training.loop import TrainConfig, perceptual_loss, pixel_loss, train

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return tiny_training_folders(tmp_path_factory.mktemp("data"), (64, 80))


def _cfg(root: Path, out: Path, iterations: int) -> TrainConfig:
    return tiny_train_config(root, out, iterations)


def test_batches_are_pure_functions_of_seed_and_iteration():
    imgs = [data.astronaut()[:64, :64]]
    cfg = DegradationConfig(crop=32)
    a, b = make_batch(imgs, 1, 5, 3, cfg), make_batch(imgs, 1, 5, 3, cfg)
    assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["clean"], b["clean"])
    assert not torch.equal(make_batch(imgs, 1, 6, 3, cfg)["rgb"], a["rgb"])


def test_worker_processes_make_the_same_batches(tiny_data, tmp_path):
    """--workers only moves batch making into other processes: same weights after 3 steps."""
    here = train(replace(_cfg(tiny_data, tmp_path / "here", 3), val_every=0), progress=False)
    pool = train(
        replace(_cfg(tiny_data, tmp_path / "pool", 3), val_every=0, workers=2), progress=False
    )
    a = torch.load(here, weights_only=True)["model"]
    b = torch.load(pool, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_mixed_precision_trains_on_cpu(tiny_data, tmp_path):
    """precision="bf16" runs the network under CPU autocast (other weights than fp32, still
    finite and reproducible); a bad value is refused."""

    def run(name: str, precision: str) -> dict:
        cfg = replace(_cfg(tiny_data, tmp_path / name, 3), val_every=0, precision=precision)
        return torch.load(train(cfg, progress=False), weights_only=True)["model"]

    fp32, bf16, again = run("fp32", "fp32"), run("bf16", "bf16"), run("bf16-again", "bf16")
    assert all(torch.isfinite(v).all() for v in bf16.values())
    assert all(torch.equal(bf16[k], again[k]) for k in bf16)
    assert not all(torch.equal(fp32[k], bf16[k]) for k in fp32)
    with pytest.raises(ValueError, match="precision"):
        replace(_cfg(tiny_data, tmp_path / "bad", 1), precision="fp16")


def test_time_budget_sets_the_horizon_after_the_warm_up(tiny_data, tmp_path):
    """--minutes: the horizon is fixed from the measured speed once the warm-up is done,
    recorded in the checkpoint, and kept when the run is resumed."""
    cfg = replace(_cfg(tiny_data, tmp_path / "timed", 1), warmup=25, val_every=0, minutes=0.05)
    path = train(cfg, progress=False)
    ckpt = torch.load(path, weights_only=True)
    horizon = json.loads(ckpt["config"])["iterations"]
    assert ckpt["iteration"] == horizon >= 25
    again = torch.load(train(cfg, progress=False), weights_only=True)
    assert again["iteration"] == horizon
    with pytest.raises(ValueError, match="minutes"):
        replace(cfg, minutes=0.0)


def test_pixel_losses_on_the_unit_scale():
    pred, target = torch.full((1, 3, 4, 4), 51.0), torch.zeros(1, 3, 4, 4)  # 51/255 = 0.2
    assert float(pixel_loss(pred, target, "l1")) == pytest.approx(0.2)
    assert float(pixel_loss(pred, target, "mse")) == pytest.approx(0.04)
    assert float(pixel_loss(pred, target, "charbonnier")) == pytest.approx(0.2, abs=1e-5)
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="l2")


def test_the_butteraugli_weight_adds_the_perceptual_loss(tiny_data, tmp_path):
    """butteraugli_weight > 0 trains on the pixel loss plus the weighted butteraugli-like
    distance (other weights than without it, still finite); a negative weight is refused."""

    def run(name: str, weight: float) -> dict:
        cfg = replace(_cfg(tiny_data, tmp_path / name, 3), val_every=0, butteraugli_weight=weight)
        return torch.load(train(cfg, progress=False), weights_only=True)["model"]

    plain, weighted = run("plain", 0.0), run("weighted", 10.0)
    assert all(torch.isfinite(v).all() for v in weighted.values())
    assert not all(torch.equal(plain[k], weighted[k]) for k in plain)
    pred, target = torch.full((1, 3, 32, 32), 51.0), torch.zeros(1, 3, 32, 32)
    assert float(perceptual_loss(target, target)) < 1e-5 < float(perceptual_loss(pred, target))
    with pytest.raises(ValueError, match="butteraugli_weight"):
        TrainConfig(butteraugli_weight=-1.0)
    # the proxy's masking and asymmetry reach the loss: a textured target with a blurred
    # prediction is penalised more with less masking and more asymmetry
    gen = torch.Generator().manual_seed(0)
    texture = torch.rand((1, 3, 32, 32), generator=gen) * 255
    blurred = torch.nn.functional.avg_pool2d(texture, 3, stride=1, padding=1)
    default = float(perceptual_loss(blurred, texture))
    tuned = float(perceptual_loss(blurred, texture, masking=100.0, asymmetry=16.0))
    assert tuned > default > 0
    with pytest.raises(ValueError, match="butteraugli_masking"):
        TrainConfig(butteraugli_masking=-1.0)


def test_the_libjxl_perceptual_loss_is_the_port_of_butteraugli(tiny_data, tmp_path):
    """butteraugli_loss="libjxl" trains on training.butteraugli's 3-norm (the port of
    libjxl's tool) instead of the proxy: other weights than with the proxy, finite; the
    loss of 0..255 images is the port's distance of the same images in 0..1."""
    from training.butteraugli import butteraugli_distance

    def run(name: str, kind: str) -> dict:
        cfg = replace(
            _cfg(tiny_data, tmp_path / name, 3),
            val_every=0,
            butteraugli_weight=0.5,
            butteraugli_loss=kind,
        )
        return torch.load(train(cfg, progress=False), weights_only=True)["model"]

    proxy, port = run("proxy", "proxy"), run("port", "libjxl")
    assert all(torch.isfinite(v).all() for v in port.values())
    assert not all(torch.equal(proxy[k], port[k]) for k in proxy)
    gen = torch.Generator().manual_seed(1)
    target = torch.rand((2, 3, 40, 48), generator=gen) * 255
    pred = (target + 20 * torch.randn((2, 3, 40, 48), generator=gen)).clamp(0, 255)
    expected = butteraugli_distance(pred / 255, target / 255).mean()
    got = perceptual_loss(pred, target, kind="libjxl")
    assert float(got) == pytest.approx(float(expected), rel=1e-6) and float(got) > 0
    assert float(perceptual_loss(target, target, kind="libjxl")) == 0.0
    with pytest.raises(ValueError, match="butteraugli_loss"):
        TrainConfig(butteraugli_loss="ssimulacra2")


def test_train_smoke_resume_and_export(tiny_data, tmp_path):
    full = train(_cfg(tiny_data, tmp_path / "full", 4), progress=False)
    first = train(_cfg(tiny_data, tmp_path / "split", 2), progress=False)
    # Continue the interrupted run to 4 iterations: the schedule must match the full run's.
    cfg = replace(_cfg(tiny_data, tmp_path / "split", 4))
    assert first.exists()
    resumed = train(cfg, progress=False)
    a = torch.load(full, weights_only=True)
    b = torch.load(resumed, weights_only=True)
    assert a["iteration"] == b["iteration"] == 4
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    rows = (tmp_path / "full" / "validation.csv").read_text().splitlines()
    assert rows[0].startswith("iteration") and len(rows) == 3
    assert (tmp_path / "full" / "validation.png").stat().st_size > 1000
    entry = export_checkpoint(full, "tiny-test", out_dir=tmp_path / "weights", metrics={"x": 1})
    assert entry.file == "tiny-test.safetensors"  # exports hold no pickle
    assert load_manifest(tmp_path / "weights")["tiny-test"].sha256 == entry.sha256
    assert load_model("tiny-test", tmp_path / "weights") is not None
    # --half: a float16 file half the size that loads into the float32 network, within
    # float16 rounding of the full-precision weights.
    export_checkpoint(full, "tiny-half", out_dir=tmp_path / "weights", half=True)
    names = ("tiny-test", "tiny-half")
    sizes = {i: (tmp_path / "weights" / f"{i}.safetensors").stat().st_size for i in names}
    assert sizes["tiny-half"] < 0.75 * sizes["tiny-test"]
    full_net = load_model("tiny-test", tmp_path / "weights")
    half_net = load_model("tiny-half", tmp_path / "weights")
    for (name, p32), p16 in zip(
        full_net.state_dict().items(), half_net.state_dict().values(), strict=True
    ):
        assert p16.dtype == torch.float32
        assert torch.allclose(p32, p16, rtol=1e-3, atol=1e-6), name


def test_train_cli_entry_point(tiny_data, tmp_path):
    out = tmp_path / "cli"
    modes = ["--hybrid-modes", "1", "0", "0", "0", "1"]  # best and the perceptual tune
    cmd = [*TRAINING, *tiny_train_args(tiny_data, out), "--p-hybrid", "0.5", *modes]
    res = subprocess.run(
        [*cmd, "--butteraugli-weight", "2", "--butteraugli-masking", "100"]
        + ["--butteraugli-loss", "libjxl"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert (out / "last.pt").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["degradation"]["p_hybrid"] == 0.5 and config["butteraugli_weight"] == 2.0
    assert (config["butteraugli_masking"], config["butteraugli_asymmetry"]) == (100.0, 4.0)
    assert config["butteraugli_loss"] == "libjxl"
    assert config["degradation"]["hybrid_mode_weights"] == [1.0, 0.0, 0.0, 0.0, 1.0]
    bad = subprocess.run(
        [*TRAINING, *tiny_train_args(tiny_data, out, crop=33), "--p-hybrid", "0.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = subprocess.run(
        [*TRAINING, "--data", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        missing.returncode == 2
        and "not found" in missing.stderr
        and "Traceback" not in missing.stderr
    )


def test_init_brings_its_size_and_can_grow_a_branch(tiny_data, tmp_path):
    """``--init`` takes the network size from the weights file; ``--low-blocks`` adds a
    quarter-resolution branch to weights without one, and the next ``--init`` from that run
    keeps the branch without being told."""
    base = train(_cfg(tiny_data, tmp_path / "base", 1), progress=False)
    common = [*TRAINING, *tiny_train_args(tiny_data, iterations=1, sized=False)]
    grown = tmp_path / "grown"
    res = subprocess.run(
        common
        + ["--out", str(grown), "--init", str(base), "--low-blocks", "1", "--low-channels", "8"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    saved = json.loads((grown / "config.json").read_text())
    assert (saved["channels"], saved["blocks"], saved["low_blocks"], saved["low_channels"]) == (
        8,
        1,
        1,
        8,
    )
    again = tmp_path / "again"
    res = subprocess.run(
        common + ["--out", str(again), "--init", str(grown / "last.pt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((again / "config.json").read_text())["low_blocks"] == 1
    entry = export_checkpoint(again / "last.pt", "tiny-low", out_dir=tmp_path / "weights")
    assert entry.kwargs == {"channels": 8, "blocks": 1, "low_blocks": 1, "low_channels": 8}
    assert load_model("tiny-low", tmp_path / "weights").low_blocks == 1
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    res = subprocess.run(
        common + ["--out", str(tmp_path / "junk"), "--init", str(junk)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        res.returncode == 2 and "cannot read --init" in res.stderr and "Traceback" not in res.stderr
    )
    res = subprocess.run(
        common + ["--out", str(tmp_path / "wide"), "--init", str(base), "--channels", "12"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "does not fit" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tiny_data, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--master_port", "29533", "-m", "training"]  # fmt: skip
    cmd = [*torchrun, *tiny_train_args(tiny_data, out, iterations=3)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["iteration"] == 3
    assert json.loads(ckpt["config"])["channels"] == 8
    assert all(np.isfinite(v.numpy()).all() for v in ckpt["model"].values())
    # --minutes under torchrun: both ranks stop at rank 0's horizon (else DDP would hang),
    # with batches from worker processes.
    timed = tmp_path / "ddp-timed"
    timed_cmd = [*torchrun, *tiny_train_args(tiny_data, timed, iterations=None)]
    res = subprocess.run(
        timed_cmd + ["--minutes", "0.1", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(timed / "last.pt", weights_only=True)
    assert ckpt["iteration"] == json.loads(ckpt["config"])["iterations"] >= 200
