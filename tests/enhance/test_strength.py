"""The per-file enhancement strength (issue 17): the encoder's fit (hybrid.enhance.strength)
and the decoder applying a recorded strength (hybrid.enhance.taper.kept_share) in the torch
and onnx backends."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from skimage import data

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.codec.metadata import HybridMetadata, find_metadata, replace_metadata
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL
from hybrid.enhance.strength import blend, fit_strength
from hybrid.enhance.taper import kept_share, residual_strength
from hybrid.pipeline.pixels import enhanced_array
from hybrid.pipeline.requests import DecodeRequest


def _images(seed: int, shape=(40, 56, 3)):
    """(original uint8, plain float 0..1 as an 8-bit decode) with a few levels of error."""
    rng = np.random.default_rng(seed)
    original = rng.integers(20, 236, shape).astype(np.uint8)
    plain = np.clip(original + rng.normal(0, 6, shape).round(), 0, 255) / 255.0
    return original, plain.astype(np.float32)


def _mse8(image: np.ndarray, original: np.ndarray) -> float:
    return float(np.mean((np.round(image * 255.0) - original.astype(np.float64)) ** 2))


def test_a_network_that_hurts_gets_strength_0():
    original, plain = _images(0)
    harmful = np.clip(plain + (plain - original / 255.0), 0, 1)  # away from the original
    fit = fit_strength(plain, harmful, original)
    assert fit.code == 0 and fit.strength == 0.0 and fit.optimum == 0.0
    assert fit.mse_blend == fit.mse_plain == pytest.approx(_mse8(plain, original))
    assert fit.gain_db == 0.0


def test_identical_enhancement_changes_nothing():
    original, plain = _images(1)
    fit = fit_strength(plain, plain.copy(), original)
    assert (fit.code, fit.optimum, fit.gain_db) == (0, 0.0, 0.0)
    np.testing.assert_array_equal(blend(plain, plain, fit.strength), plain)


def test_the_fit_finds_the_least_squares_share():
    original, plain = _images(2)
    truth = original / 255.0
    # the network goes twice as far as it should: half of its change is right
    overshoot = plain + 2.0 * (truth - plain)
    fit = fit_strength(plain, overshoot, original)
    assert fit.optimum == pytest.approx(0.5, abs=1e-6)
    assert fit.code in (127, 128) and fit.mse_blend < 0.1 * fit.mse_plain
    # a network that is right: the full change, the original back
    exact = fit_strength(plain, truth.astype(np.float32), original)
    assert exact.code == 255 and exact.mse_blend == 0.0 and math.isinf(exact.gain_db)


@pytest.mark.parametrize("seed", range(12))
def test_quantized_strength_is_never_worse_than_plain(seed):
    """Tiny and noisy true shares, where rounding s to 1/255 and the pixels to 8 bits could
    cost more than the blend gains: the 8-bit blend is still no worse than the plain decode,
    and the code is the best of its neighbours."""
    original, plain = _images(100 + seed, (24, 32, 3))
    rng = np.random.default_rng(seed)
    truth = original / 255.0
    share = [0.0005, 0.002, 0.004, 0.01, 0.3, 0.9][seed % 6]
    noise = rng.normal(0, 0.02 if seed % 2 else 0.002, plain.shape)
    enhanced = np.clip(plain + (truth - plain) / share * 0.5 + noise, 0, 1).astype(np.float32)
    fit = fit_strength(plain, enhanced, original)
    assert 0 <= fit.code <= 255 and fit.strength == fit.code / 255
    assert fit.mse_blend <= fit.mse_plain == pytest.approx(_mse8(plain, original))
    assert fit.mse_blend == pytest.approx(_mse8(blend(plain, enhanced, fit.strength), original))
    for code in {math.floor(fit.optimum * 255), math.ceil(fit.optimum * 255)}:
        assert fit.mse_blend <= _mse8(blend(plain, enhanced, code / 255), original) + 1e-9


def test_greyscale_original_and_bad_shapes():
    original, plain = _images(3, (16, 24, 1))
    darker = plain * 0.5
    assert fit_strength(plain, darker, original[:, :, 0]) == fit_strength(plain, darker, original)
    with pytest.raises(ValueError):
        fit_strength(plain, plain[:8], original)
    with pytest.raises(ValueError):
        fit_strength(plain, plain, original[:8])


def test_kept_share_uses_the_record_only_for_its_model():
    table = np.full((8, 8), 5, dtype=np.uint16)  # near-lossless: the taper keeps 0
    meta = HybridMetadata(
        mode="enhance",
        original_width=8,
        original_height=8,
        model_id="enhance-fast-v4",
        checksum=1,
        strength=0.6,
    )
    assert kept_share(table, meta, "enhance-fast-v4").strength == meta.strength
    assert kept_share(table, meta, "enhance-fast-v4").source == "recorded"
    for other in (replace(meta, strength=None), None):
        assert kept_share(table, other, "enhance-fast-v4").source == "taper"
    for model in ("enhance-quality-v4", None):  # the user's model, a weights file
        share = kept_share(table, meta, model)
        assert (share.strength, share.source) == (residual_strength(table), "taper") == (0, "taper")


def _recorded(strength: float, model: str = DEFAULT_ENHANCE_MODEL) -> bytes:
    """A hybrid q40 file of a photo whose record carries ``strength`` for ``model``."""
    plain = hybrid.encode(data.astronaut()[96:208, 160:304], quality=40)
    meta = replace(find_metadata(plain), model_id=model, strength=strength)
    return replace_metadata(plain, meta)


def test_the_decode_applies_the_recorded_strength_torch_and_onnx_alike():
    pytest.importorskip("onnxruntime")
    data_ = _recorded(0.4)
    header = parse_info(data_)
    assert find_metadata(data_).strength == 102 / 255
    plain = hybrid.decode_array(data_, enhance=False)
    outputs = {}
    for backend in ("torch", "onnx"):
        request = DecodeRequest(enhance=True, backend=backend, precision="fp32", threads=1)
        full = enhanced_array(data_, header, request, strength=1.0)
        kept = hybrid.decode_array(data_, enhance=True, backend=backend, precision="fp32")
        np.testing.assert_allclose(kept, plain + (102 / 255) * (full - plain), atol=2e-6)
        assert np.abs(full - plain).max() > 0.05  # the network does change the file
        outputs[backend] = kept
        image = hybrid.decode(data_, enhance=True, backend=backend, precision="fp32")
        assert image.info["hybrid_strength"] == 102 / 255
        assert image.info["hybrid_strength_source"] == "recorded"
        assert image.info["hybrid_model"] == DEFAULT_ENHANCE_MODEL
    assert np.abs(outputs["torch"] - outputs["onnx"]).max() < 1e-3
    # strength 0: the plain decode itself
    zero = _recorded(0.0)
    for backend in ("torch", "onnx"):
        out = hybrid.decode_array(zero, enhance=True, backend=backend)
        np.testing.assert_array_equal(out, hybrid.decode_array(zero, enhance=False))


def test_another_model_keeps_the_taper():
    data_ = _recorded(0.0)
    image = hybrid.decode(data_, enhance=True, model="enhance-quality-v4")
    assert image.info["hybrid_strength"] == 1.0  # q40: the fade-out keeps everything
    assert image.info["hybrid_strength_source"] == "taper"
    assert np.asarray(image).tolist() != np.asarray(hybrid.decode(data_)).tolist()
    # a record for another model than the one chosen
    other = hybrid.decode(_recorded(0.0, "enhance-quality-v4"), enhance=True, content="photo")
    assert other.info["hybrid_strength_source"] == "taper"


def test_kept_share_fades_out_at_the_models_own_knots():
    table = np.full((8, 8), 20, dtype=np.uint16)  # mean step 20
    assert kept_share(table, None, "m").strength == 1.0  # past the default (9, 13)
    share = kept_share(table, None, "m", (10.0, 50.0))
    assert (share.strength, share.source) == (pytest.approx(0.25), "taper")
    assert residual_strength(table, (20.0, 30.0)) == 0.0
    assert residual_strength(table, (0.0, 40.0)) == pytest.approx(0.5)


@pytest.mark.parametrize("knots", [[5, 3], [1], [-1, 4], [2, "x"], [2, float("inf")], [True, 4]])
def test_malformed_fade_out_knots_are_refused(knots):
    from hybrid.enhance.onnx_registry import OnnxEntry
    from hybrid.enhance.registry import ModelEntry
    from hybrid.errors import WeightsError

    with pytest.raises(WeightsError, match="fade_out"):
        ModelEntry(id="x", file="x.safetensors", sha256="0" * 64, architecture="EnhanceNet",
                   kwargs={}, parameters=1, inference={"fade_out": knots})  # fmt: skip
    with pytest.raises(WeightsError, match="fade_out"):
        OnnxEntry(id="x", source_sha256="0" * 64, architecture="EnhanceNet", receptive_radius=1,
                  size_multiple=8, variants={}, inference={"fade_out": knots})  # fmt: skip


def _one_model_registry(directory, model: str, inference: dict) -> None:
    """The released ``model`` alone (safetensors and ONNX files linked), its inference
    settings updated with ``inference`` in both manifests, in ``directory``."""
    import json
    import os
    from pathlib import Path

    source = Path(__file__).resolve().parents[2] / "weights"  # the released ones
    for name in ("manifest.json", "onnx.json"):
        body = json.loads((source / name).read_text())
        body["models"] = [m for m in body["models"] if m["id"] == model]
        for entry in body["models"]:
            entry["inference"] = {**entry["inference"], **inference}
            files = [v["file"] for v in entry["variants"].values()] if "variants" in entry else []
            for file in files + ([entry["file"]] if "file" in entry else []):
                os.symlink(source / file, directory / file)
        (directory / name).write_text(json.dumps(body))


def test_the_decode_fades_out_at_the_models_own_knots_torch_and_onnx_alike(
    empty_registry, monkeypatch
):
    """A manifest entry's ``inference.fade_out`` sets the share a file without a recorded
    strength keeps, in both backends (the ONNX one reads onnx.json's copy)."""
    pytest.importorskip("onnxruntime")
    from hybrid.enhance.registry import fade_out_steps
    from hybrid.enhance.taper import TAPER_STEPS

    jpeg = hybrid.encode(data.astronaut()[96:208, 160:304], quality=40)
    info = parse_info(jpeg)
    step = float(np.mean(info.quant_tables[info.components[0].quant_index]))
    knots = [step - 10.0, step + 30.0]  # a quarter of the change kept
    _one_model_registry(empty_registry, DEFAULT_ENHANCE_MODEL, {"fade_out": knots})
    assert fade_out_steps(DEFAULT_ENHANCE_MODEL) == tuple(knots)
    assert fade_out_steps(None) == fade_out_steps("no-such-model") == TAPER_STEPS
    plain = hybrid.decode_array(jpeg, enhance=False)
    for backend in ("torch", "onnx"):
        image = hybrid.decode(jpeg, enhance=True, backend=backend, precision="fp32")
        assert image.info["hybrid_strength"] == pytest.approx(0.25)
        assert image.info["hybrid_strength_source"] == "taper"
        kept = hybrid.decode_array(jpeg, enhance=True, backend=backend, precision="fp32")
        request = DecodeRequest(enhance=True, backend=backend, precision="fp32", threads=1)
        full = enhanced_array(jpeg, info, request, strength=1.0)
        np.testing.assert_allclose(kept, plain + 0.25 * (full - plain), atol=2e-6)


@pytest.mark.parametrize("share", [-0.1, 1.5, "x", True, float("nan"), [0.5]])
def test_a_malformed_super_resolution_share_is_refused(share):
    from hybrid.enhance.onnx_registry import OnnxEntry
    from hybrid.enhance.registry import ModelEntry
    from hybrid.errors import WeightsError

    with pytest.raises(WeightsError, match="inference.strength"):
        ModelEntry(id="x", file="x.safetensors", sha256="0" * 64, architecture="SRNet",
                   kwargs={}, parameters=1, task="sr", inference={"strength": share})  # fmt: skip
    with pytest.raises(WeightsError, match="inference.strength"):
        OnnxEntry(id="x", source_sha256="0" * 64, architecture="SRNet", receptive_radius=1,
                  size_multiple=8, variants={}, inference={"strength": share})  # fmt: skip


def test_a_super_resolution_models_own_share_torch_and_onnx_alike(empty_registry):
    """A file that records no strength for the super-resolution model that decodes it (here
    an ordinary JPEG upscaled x2) keeps the share of the network's change over the bicubic
    upscale that the model's manifest entry gives (``inference.strength``), in both
    backends (the ONNX one reads onnx.json's copy)."""
    pytest.importorskip("onnxruntime")
    from hybrid.enhance.registry import sr_default_strength
    from hybrid.pipeline.upscale import bicubic_base, sr_model_strength, super_resolved

    _one_model_registry(empty_registry, "sr-fast-v1", {"strength": 0.25})
    assert sr_default_strength("sr-fast-v1") == 0.25
    assert sr_model_strength("sr-fast-v1", "onnx") == 0.25
    assert sr_default_strength("no-such-model") is None
    jpeg = hybrid.encode(data.astronaut()[96:208, 160:304], quality=40)
    info = parse_info(jpeg)
    size = (2 * info.width, 2 * info.height)
    base = bicubic_base(jpeg, info, size)
    for backend in ("torch", "onnx"):
        image = hybrid.decode(jpeg, enhance=True, scale=2, backend=backend, precision="fp32")
        assert image.info["hybrid_model"] == "sr-fast-v1"
        assert image.info["hybrid_strength"] == 0.25
        assert image.info["hybrid_strength_source"] == "model default"
        kept = hybrid.decode_array(jpeg, enhance=True, scale=2, backend=backend, precision="fp32")
        request = DecodeRequest(enhance=True, backend=backend, precision="fp32", threads=1)
        full = super_resolved(jpeg, info, request, size, "sr-fast-v1")
        np.testing.assert_allclose(kept, np.clip(base + 0.25 * (full - base), 0, 1), atol=2e-6)
        assert np.abs(kept - full).mean() > 1e-3
