"""ONNX export of released networks: reproducible bytes, within 1e-4 of torch, verified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("onnxruntime")

from hybrid.cli import cli  # noqa: E402
from hybrid.enhance.onnx_registry import load_onnx_manifest, read_onnx_bytes  # noqa: E402
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, weights_dir  # noqa: E402

TRAIN = Path(__file__).resolve().parents[3] / "shared" / "data" / "train"
needs_train = pytest.mark.skipif(not TRAIN.is_dir(), reason="needs ../shared/data/train")


def _outputs(path, net, sizes, scale) -> float:
    """Largest |ONNX - torch| output difference of the graph at ``path`` on random inputs."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(3)
    worst = 0.0
    for h, w in sizes:
        x = torch.rand(1, 3, h, w, generator=gen) * scale
        cond = torch.rand(1, 131, generator=gen) - 0.5
        with torch.no_grad():
            ref = net(x, cond).numpy()
        got = session.run(["y"], {"x": x.numpy(), "cond": cond.numpy()})[0]
        assert got.shape == ref.shape
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


@needs_train
def test_export_is_reproducible_and_matches_torch(tmp_path):
    """hybrid export-onnx twice gives the same bytes; the float32 graph is within 1e-4 of
    torch at sizes other than the traced one (dynamic H, W)."""
    from hybrid.enhance.registry import load_model

    runner = CliRunner()
    for out in ("a", "b"):
        result = runner.invoke(
            cli, ["export-onnx", DEFAULT_ENHANCE_MODEL, "--no-int8", "-o", str(tmp_path / out)]
        )
        assert result.exit_code == 0, result.output
    stem = DEFAULT_ENHANCE_MODEL
    a, b = (tmp_path / d / f"{stem}.fp32.onnx" for d in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    entry = load_onnx_manifest(tmp_path / "a")[DEFAULT_ENHANCE_MODEL]
    assert entry.variants["fp32"].max_abs_diff < 1e-4 and "int8" not in entry.variants
    net = load_model(DEFAULT_ENHANCE_MODEL)
    assert _outputs(a, net, [(40, 72), (136, 200)], 255.0) < 1e-4


@needs_train
def test_sr_export_is_reproducible_and_matches_torch(tmp_path):
    """SRNet exports too (H, W multiples of 16, the SR tiler's grid): twice the same bytes,
    float32 and int8; the float32 graph within 1e-5 of torch on the 0..1 scale (measured
    6e-7) at sizes other than the traced one."""
    from hybrid.enhance.onnx_export import CalibrationConfig, export_model
    from hybrid.enhance.registry import load_model

    cfg = CalibrationConfig(train_dir=TRAIN, crops=3, crop=64, seed=5)
    for out in ("a", "b"):
        entry = export_model("sr-fast-x1.5-v1", tmp_path / out, cfg)
    assert entry.architecture == "SRNet" and entry.size_multiple == 16
    assert entry.inference["scale"] == 2 and entry.receptive_radius == 32
    for variant in ("fp32", "int8"):
        a, b = (tmp_path / d / f"sr-fast-x1.5-v1.{variant}.onnx" for d in ("a", "b"))
        assert a.read_bytes() == b.read_bytes()
    assert entry.variants["fp32"].max_abs_diff < 1e-5
    assert entry.variants["int8"].mean_abs_diff < 0.01
    net = load_model("sr-fast-x1.5-v1")
    sizes = [(48, 80), (16, 16), (272, 144)]
    assert _outputs(tmp_path / "a" / "sr-fast-x1.5-v1.fp32.onnx", net, sizes, 1.0) < 1e-5


@needs_train
def test_int8_export_is_reproducible(tmp_path):
    from hybrid.enhance.onnx_export import CalibrationConfig, export_model

    cfg = CalibrationConfig(train_dir=TRAIN, crops=3, crop=64, seed=5)
    for out in ("a", "b"):
        export_model("enhance-fast-v1", tmp_path / out, cfg)
    a, b = (tmp_path / d / "enhance-fast-v1.int8.onnx" for d in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    item = load_onnx_manifest(tmp_path / "a")["enhance-fast-v1"].variants["int8"]
    assert item.mean_abs_diff < 2.0  # on the 0..255 residual


def test_committed_export_is_verified_and_current():
    """The shipped default-model export names the safetensors it came from, and its float32
    graph still matches that network."""
    from hybrid.enhance.registry import load_manifest, load_model

    entry = load_onnx_manifest()[DEFAULT_ENHANCE_MODEL]
    assert entry.source_sha256 == load_manifest()[DEFAULT_ENHANCE_MODEL].sha256
    assert set(entry.variants) == {"fp32", "int8"}
    read_onnx_bytes(DEFAULT_ENHANCE_MODEL, "int8")  # sha256 checked
    path = weights_dir() / entry.variants["fp32"].file
    assert _outputs(path, load_model(DEFAULT_ENHANCE_MODEL), [(64, 96)], 255.0) < 1e-4


def test_committed_sr_exports_are_verified_and_current():
    """Every released super-resolution model has a committed export (fp32 and int8, sha256
    checked) made from its current safetensors, and the float32 graph still matches it."""
    from hybrid.enhance.registry import load_manifest, load_model

    registry = load_manifest()
    entries = load_onnx_manifest()
    sr_ids = sorted(k for k, e in registry.items() if e.task == "sr")
    assert sr_ids == ["sr-fast-v1", "sr-fast-x1.5-v1", "sr-quality-v1", "sr-quality-x1.5-v1"]
    for model_id in sr_ids:
        entry = entries[model_id]
        assert entry.architecture == "SRNet" and entry.source_sha256 == registry[model_id].sha256
        assert entry.inference == registry[model_id].inference
        assert entry.variants["fp32"].max_abs_diff < 1e-5
        for variant in ("fp32", "int8"):
            read_onnx_bytes(model_id, variant)  # sha256 checked
    for model_id in ("sr-fast-v1", "sr-fast-x1.5-v1"):
        path = weights_dir() / entries[model_id].variants["fp32"].file
        assert _outputs(path, load_model(model_id), [(64, 96)], 1.0) < 1e-5


def test_committed_exports_carry_their_models_inference_settings():
    """onnx.json repeats each exported model's manifest inference settings (``flips``, its
    own fade-out knots): the ONNX backend and the browser read them there, so a release
    that changes them in the manifest must change them in onnx.json too."""
    from hybrid.enhance.registry import fade_out_steps, load_manifest

    registry = load_manifest()
    for model_id, entry in load_onnx_manifest().items():
        assert entry.source_sha256 == registry[model_id].sha256, model_id
        assert entry.inference == registry[model_id].inference, model_id
        assert entry.fade_out == fade_out_steps(model_id), model_id
