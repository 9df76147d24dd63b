"""The super-resolution task: training pairs, `hybrid train --task sr` with exact resume,
export to the registry, and a downscaled file decoded by the exported network."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from skimage import data

from hybrid.enhance.nets import COND_DIM, SRNet
from hybrid.enhance.registry import load_manifest, load_model, load_weights_file
from hybrid.metrics import psnr
from hybrid.resample import downscale
from tests.helpers.training import (
    TRAINING,
    tiny_train_args,
    tiny_train_config,
    tiny_training_folders,
)
from training.cli import export_command
from training.data import DegradationConfig, make_sr_batch
from training.loop import TrainConfig, resize_like_decoder, sr_val_crop, train


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return tiny_training_folders(tmp_path_factory.mktemp("srdata"), (70, 87))


def _cfg(root: Path, out: Path, iterations: int, **changes) -> TrainConfig:
    return tiny_train_config(root, out, iterations, task="sr", crop=16, **changes)


def test_config_validates_task_and_scale():
    with pytest.raises(ValueError, match="task"):
        TrainConfig(task="denoise")
    with pytest.raises(ValueError, match="scale"):
        TrainConfig(task="sr", scale=1)
    assert TrainConfig(task="sr", scale=1.5, crop=64).scale == 1.5


def test_sr_batches_at_a_non_integer_scale():
    imgs = [data.astronaut()[:96, :96]]
    cfg = DegradationConfig(crop=32, quality_low=90, quality_high=95, p_high_quality=0.0,
                            p_grey=0.0)  # fmt: skip
    batch = make_sr_batch(imgs, 1, 0, 2, cfg, scale=1.5)
    assert batch["input"].shape == (2, 3, 32, 32) and batch["target"].shape == (2, 3, 48, 48)
    hr = np.round(batch["target"][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    assert psnr(batch["input"][0].permute(1, 2, 0).numpy() * 255, downscale(hr, (32, 32))) > 30


def test_training_resize_is_the_decoders_resize():
    from hybrid.resample import upscale_array

    rng = np.random.default_rng(0)
    img = rng.random((64, 64, 3)).astype(np.float32)
    img = (img + np.roll(img, 1, 0) + np.roll(img, 1, 1)) / 3  # in [0, 1], some correlation
    ours = resize_like_decoder(torch.from_numpy(img).permute(2, 0, 1)[None], (48, 40))
    theirs = upscale_array(img, (40, 48))
    assert ours.shape == (1, 3, 48, 40)
    assert np.abs(ours[0].permute(1, 2, 0).numpy() - theirs).max() < 1e-4
    same = torch.ones(1, 3, 8, 8)
    assert resize_like_decoder(same, (8, 8)) is same


def test_train_sr_at_scale_one_and_a_half_exports_an_x2_network(tiny_data, tmp_path):
    cfg = _cfg(tiny_data, tmp_path / "r", 2, scale=1.5)
    ckpt = train(cfg, progress=False)
    rows = (tmp_path / "r" / "validation.csv").read_text().splitlines()
    assert len(rows) == 2 and all(abs(float(g)) < 3 for g in rows[-1].split(",")[2:])
    weights = tmp_path / "weights"
    result = CliRunner().invoke(export_command, [str(ckpt), "--id", "sr-x", "--out", str(weights)])
    assert result.exit_code == 0, result.output
    raw = json.loads((weights / "manifest.json").read_text())["models"][0]
    assert raw["inference"] == {"scale": 2, "trained_scale": 1.5}
    assert raw["kwargs"]["scale"] == 2 and raw["training"]["config"]["scale"] == 1.5


def test_sr_batches_are_pure_and_paired():
    imgs = [data.astronaut()[:96, :96], data.coffee()[:80, :100]]
    cfg = DegradationConfig(
        crop=32, quality_low=90, quality_high=95, p_high_quality=0.0, p_grey=0.0
    )
    a, b = make_sr_batch(imgs, 1, 5, 3, cfg), make_sr_batch(imgs, 1, 5, 3, cfg)
    assert a["input"].shape == (3, 3, 32, 32) and a["target"].shape == (3, 3, 64, 64)
    assert a["cond"].shape == (3, COND_DIM) and a["input"].dtype == torch.float32
    assert torch.equal(a["input"], b["input"]) and torch.equal(a["target"], b["target"])
    assert not torch.equal(make_sr_batch(imgs, 1, 6, 3, cfg)["target"], a["target"])
    assert 0.0 <= float(a["input"].min()) and float(a["target"].max()) <= 1.0
    assert all(90 <= int(q) <= 95 for q in a["quality"])
    for i in range(3):
        # the input is the (high-quality) JPEG of hybrid's downscale of the target
        hr = np.round(a["target"][i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        lr = a["input"][i].permute(1, 2, 0).numpy() * 255
        assert psnr(lr, downscale(hr, (32, 32))) > 30


def test_sr_val_crop_is_centred_and_whole_blocks():
    img = np.arange(70 * 87 * 3, dtype=np.uint8).reshape(70, 87, 3)
    crop = sr_val_crop(img, 2)
    assert crop.shape == (64, 80, 3) and np.array_equal(crop, img[3:67, 3:83])


def test_train_sr_smoke_resume_export_and_decode(tiny_data, tmp_path, monkeypatch):
    import hybrid
    import hybrid.enhance as enhance_pkg
    from hybrid.cli import cli
    from hybrid.enhance.superres import upscale_jpeg

    full = train(_cfg(tiny_data, tmp_path / "full", 4), progress=False)
    train(_cfg(tiny_data, tmp_path / "split", 2), progress=False)
    resumed = train(_cfg(tiny_data, tmp_path / "split", 4), progress=False)
    a, b = torch.load(full, weights_only=True), torch.load(resumed, weights_only=True)
    assert a["iteration"] == b["iteration"] == 4 and json.loads(a["config"])["task"] == "sr"
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert not torch.equal(a["model"]["tail.weight"], torch.zeros_like(a["model"]["tail.weight"]))
    rows = (tmp_path / "full" / "validation.csv").read_text().splitlines()
    assert rows[0] == "iteration,elapsed_s,gain_q10,gain_q50" and len(rows) == 3
    assert all(abs(float(g)) < 3 for g in rows[-1].split(",")[2:])  # near bicubic after 4 steps
    with pytest.raises(ValueError, match="'sr' run"):
        train(tiny_train_config(tiny_data, tmp_path / "full", 5), progress=False)
    assert isinstance(load_weights_file(full), SRNet)

    weights = tmp_path / "weights"
    result = CliRunner().invoke(
        export_command,
        [
            str(full),
            "--id",
            "sr-fast-v1",
            "--out",
            str(weights),
            "--val",
            str(tiny_data / "val"),
            "--val-images",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    raw = json.loads((weights / "manifest.json").read_text())["models"][0]
    assert (
        raw["task"] == "sr" and raw["inference"] == {"scale": 2} and raw["architecture"] == "SRNet"
    )
    assert raw["kwargs"] == {"channels": 8, "blocks": 1, "scale": 2}
    gains = raw["metrics"]["psnr_rgb_gain_db_over_bicubic_libjpeg_turbo_420"]
    assert sorted(gains, key=int) == ["10", "20", "30", "50", "75", "90"]
    assert load_manifest(weights)["sr-fast-v1"].parameters == sum(
        v.numel() for v in a["model"].values()
    )
    assert isinstance(load_model("sr-fast-v1", weights), SRNet)

    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(weights))
    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    original = data.astronaut()[100:177, 150:251]  # 101 x 77: odd sizes
    coded = hybrid.encode(original, scale=2, quality=60)  # names sr-fast-v1 by default
    out = upscale_jpeg(coded, (101, 77), model="sr-fast-v1", threads=1)
    assert out.shape == (77, 101, 3) and out.dtype == np.float32
    assert psnr(out * 255, original) > 22
    src, jpg, png = tmp_path / "in.png", tmp_path / "small.jpg", tmp_path / "big.png"
    Image.fromarray(original).save(src)
    runner = CliRunner()
    assert runner.invoke(cli, ["encode", str(src), "-o", str(jpg), "--scale", "2"]).exit_code == 0
    result = runner.invoke(cli, ["decode", str(jpg), "-o", str(png), "--enhance", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert Image.open(png).size == (101, 77)
    grey = hybrid.encode(original[..., 0], scale=2, quality=60)
    assert np.asarray(hybrid.decode(grey, enhance=True)).shape == (77, 101)


def test_train_cli_task_sr(tiny_data, tmp_path):
    out = tmp_path / "cli"
    cmd = [*TRAINING, *tiny_train_args(tiny_data, out, crop=16), "--task", "sr"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    cfg = json.loads(torch.load(out / "last.pt", weights_only=True)["config"])
    assert cfg["task"] == "sr" and cfg["scale"] == 2 and cfg["crop"] == 16
    # HR crops are 2 x 64 = 128 px: no 96 x 112 training image is large enough
    bad = subprocess.run(
        [*TRAINING, *tiny_train_args(tiny_data, out, crop=64), "--task", "sr"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "128 px" in bad.stderr and "Traceback" not in bad.stderr
