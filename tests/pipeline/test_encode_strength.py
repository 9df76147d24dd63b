"""Who fits a file's enhancement strength (issue 17): rate control with the enhanced decode in
the loop scores each candidate by its fitted blend (so the plain decode is considered) and
records the chosen file's strength and model; ``mode="enhance"`` encodes fit it on the final
file; plain-mode encodes record none."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import data

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.codec.metadata import find_metadata
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL
from hybrid.pipeline.pixels import enhanced_array
from hybrid.pipeline.requests import DecodeRequest
from tests.helpers.cli import run, save_png
from tests.helpers.registry import register


def _photo() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[96:208, 160:304])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def test_rate_control_records_the_strength_it_measured():
    pixels = _photo()
    data_, result = hybrid.encode_to_target(pixels, target_psnr=30.0, allow_downscale=False)
    meta = find_metadata(data_)
    assert meta.version == 4 and meta.model_id == DEFAULT_ENHANCE_MODEL
    assert result.strength == meta.strength and 0.0 < meta.strength <= 1.0
    assert result.decoder == "enhanced" and f"strength {meta.strength:.3f}" in result.line()
    image = hybrid.decode(data_, enhance=True)
    assert image.info["hybrid_strength_source"] == "recorded"
    assert result.value == pytest.approx(_psnr(np.asarray(image), pixels), abs=1e-6)
    assert result.value >= 30.0 > _psnr(np.asarray(hybrid.decode(data_)), pixels) - 3.0


def test_a_size_target_holds_with_the_strength_written():
    pixels = _photo()
    data_, result = hybrid.encode_to_target(pixels, target_size=2500, allow_downscale=False)
    assert len(data_) == result.bytes <= 2500
    assert find_metadata(data_).strength == result.strength is not None
    assert result.value == pytest.approx(
        _psnr(np.asarray(hybrid.decode(data_, enhance=True)), pixels), abs=1e-6
    )


def _register_harmful_enhancer(directory) -> None:
    """An EnhanceNet with large random weights as the default model: its change is noise
    (inside the quantization intervals, after the projection), which only hurts."""
    import torch

    from hybrid.enhance.nets import EnhanceNet

    kwargs = {"channels": 8, "blocks": 1}
    torch.manual_seed(17)
    net = EnhanceNet(**kwargs)
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0.0, 0.5)
    state = {"model": net.state_dict(), "architecture": "EnhanceNet", "kwargs": kwargs}
    entry = {"id": DEFAULT_ENHANCE_MODEL, "file": "enhance.pt", "architecture": "EnhanceNet",
             "kwargs": kwargs, "task": "enhance"}  # fmt: skip
    register(directory, [entry], {"enhance.pt": state})


def test_the_plain_decode_is_considered(tmp_path, monkeypatch):
    """A network that only hurts: the fitted strength is 0, so the file's enhanced decode is
    its plain decode, where rate control used to score the network's full change."""
    import hybrid.enhance as enhance_pkg

    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    _register_harmful_enhancer(tmp_path)
    pixels = _photo()
    data_, result = hybrid.encode_to_target(pixels, target_size=4000, allow_downscale=False)
    plain = np.asarray(hybrid.decode(data_))
    request = DecodeRequest(enhance=True)
    full = enhanced_array(data_, parse_info(data_), request, strength=1.0)  # the full change
    assert _psnr(np.round(full * 255), pixels) < _psnr(plain, pixels) - 0.5  # it does hurt
    assert result.strength == 0.0 and find_metadata(data_).strength == 0.0
    assert result.value == pytest.approx(_psnr(plain, pixels), abs=1e-6)
    np.testing.assert_array_equal(np.asarray(hybrid.decode(data_, enhance=True)), plain)


def test_enhance_mode_fits_the_final_file_and_plain_mode_records_nothing(tmp_path):
    pixels = _photo()
    plain = hybrid.encode(pixels, quality=90, best=True)
    assert find_metadata(plain).strength is None and find_metadata(plain).version <= 3
    enhanced = hybrid.encode(pixels, quality=90, best=True, mode="enhance")
    meta = find_metadata(enhanced)
    assert meta.mode == "enhance" and meta.model_id == DEFAULT_ENHANCE_MODEL
    assert meta.strength is not None
    # coded for the enhanced decode: the best mode's trellis keeps more coefficients there
    # (ENHANCED_TUNES); with the plain mode's options only the record would differ
    assert len(enhanced) > len(plain)
    from hybrid.codec.options import EncodeOptions
    from hybrid.downscaled import encode_frame_file, load_source

    same = encode_frame_file(load_source(pixels), EncodeOptions.best(90), mode="enhance")
    np.testing.assert_array_equal(np.asarray(hybrid.decode(plain)), np.asarray(hybrid.decode(same)))
    ours = _psnr(np.asarray(hybrid.decode(enhanced, enhance=True)), pixels)
    assert ours >= _psnr(np.asarray(hybrid.decode(enhanced)), pixels)
    # hybrid info shows it, as text and JSON
    path = tmp_path / "e.jpg"
    path.write_bytes(enhanced)
    assert (
        f"model {DEFAULT_ENHANCE_MODEL}, strength {meta.strength:.3f}" in run("info", path).stdout
    )
    record = json.loads(run("info", "--json", path).stdout)["hybrid_metadata"]
    assert record["strength"] == meta.strength and record["version"] == 4
    # the CLI's --mode enhance is the API's
    src = save_png(tmp_path / "p.png")
    out = tmp_path / "p.jpg"
    assert run("encode", src, "-o", out, "--mode", "enhance", "-q", "80").exit_code == 0
    assert find_metadata(out.read_bytes()).strength is not None


def test_enhance_mode_records_the_better_of_the_guessed_class_and_the_photo_model():
    from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS
    from hybrid.pipeline.encode import fit_file
    from tests.helpers.images import screen_crops

    screen = screen_crops(1)[0]
    meta = find_metadata(hybrid.encode(screen, quality=40, mode="enhance"))
    assert meta.model_id == DEFAULT_CONTENT_MODELS["screen"] and meta.strength > 0.5
    # sky and a coat, which the classifier calls a screen: both models are fitted
    grey = np.ascontiguousarray(data.camera()[:96, :136])
    file_ = hybrid.encode(grey, quality=30, mode="enhance")
    guessed = fit_file(hybrid.encode(grey, quality=30), grey)
    assert guessed.model == DEFAULT_CONTENT_MODELS["screen"]
    photo = fit_file(file_, grey, DEFAULT_ENHANCE_MODEL)
    better = photo if photo.fit.mse_blend < guessed.fit.mse_blend else guessed
    recorded = find_metadata(file_)
    assert (recorded.model_id, recorded.strength) == (better.model, better.fit.strength)


# --- downscaled files: the super-resolution network's share over the bicubic upscale ---------


def _sr_decodes(data_: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(bicubic base, full super-resolution output) of a downscaled file, float32 [0, 1]."""
    from hybrid.pipeline.upscale import bicubic_base, super_resolved, target_size

    header = parse_info(data_)
    size = target_size(header, None)
    request = DecodeRequest(enhance=True, check_damage=False)
    sr = super_resolved(data_, header, request, size, header.hybrid_metadata.model_id)
    return bicubic_base(data_, header, size), sr


def test_a_downscaled_file_records_its_sr_strength_and_decodes_with_it():
    from hybrid.pipeline.upscale import sr_blend

    pixels = _photo()
    data_ = hybrid.encode(pixels, quality=60, best=True, scale=2)
    meta = find_metadata(data_)
    assert meta.mode == "downscaled" and meta.version == 4
    assert meta.model_id == "sr-fast-v1" and 0.0 < meta.strength < 1.0
    base, sr = _sr_decodes(data_)
    decoded = hybrid.decode_array(data_, enhance=True)
    np.testing.assert_array_equal(decoded, sr_blend(base, sr, meta.strength))
    image = hybrid.decode(data_, enhance=True)
    assert image.info["hybrid_model"] == "sr-fast-v1"
    assert image.info["hybrid_strength"] == meta.strength
    assert image.info["hybrid_strength_source"] == "recorded"
    # the fitted decode is never worse than the classical upscale, and here better than both
    shown = _psnr(np.asarray(image), pixels)
    bicubic = _psnr(np.round(base * 255), pixels)
    assert shown >= bicubic and shown > _psnr(np.round(sr * 255), pixels)
    # another model (the caller's) does not take the strength fitted for sr-fast-v1: it
    # keeps its own share for such files (tests/enhance/test_strength.py)
    other = hybrid.decode_array(data_, enhance=True, sr_model="sr-fast-x1.5-v1")
    shown_other = hybrid.decode(data_, enhance=True, sr_model="sr-fast-x1.5-v1")
    assert shown_other.info.get("hybrid_strength_source") != "recorded"
    assert not np.array_equal(other, decoded)


def test_the_onnx_backends_apply_the_sr_strength():
    data_ = hybrid.encode(_photo(), quality=40, best=True, scale=2)
    assert find_metadata(data_).strength < 1.0
    torch_out = hybrid.decode_array(data_, enhance=True)
    onnx_out = hybrid.decode_array(data_, enhance=True, backend="onnx")
    assert np.abs(torch_out - onnx_out).max() < 2.5 / 255


def test_sr_strength_zero_is_the_bicubic_upscale_without_the_network(monkeypatch):
    from hybrid.pipeline.encode import record_strength
    from hybrid.pipeline.upscale import bicubic_base, target_size

    data_ = hybrid.encode(_photo(), quality=60, scale=2)
    zero = record_strength(data_, "sr-fast-v1", 0.0)
    import hybrid.enhance.superres as superres

    def refuse(*args, **kwargs):
        raise AssertionError("the network ran at strength 0")

    monkeypatch.setattr(superres, "upscale_jpeg", refuse)
    header = parse_info(zero)
    decoded = hybrid.decode_array(zero, enhance=True)
    np.testing.assert_array_equal(decoded, bicubic_base(zero, header, target_size(header, None)))


def test_rate_control_fits_and_records_the_strength_of_a_downscaled_choice():
    pixels = np.ascontiguousarray(data.astronaut()[64:256, 96:384])
    data_, result = hybrid.encode_to_target(pixels, target_size=1500, scale=2)
    meta = find_metadata(data_)
    assert result.mode == meta.mode == "downscaled" and len(data_) == result.bytes <= 1500
    assert result.strength == meta.strength is not None
    assert result.decoder == "super-resolution"
    shown = np.asarray(hybrid.decode(data_, enhance=True))
    assert result.value == pytest.approx(_psnr(shown, pixels), abs=1e-6)


def test_rate_control_codes_for_the_decoder_in_its_loop(monkeypatch, empty_registry):
    """With the enhanced decode in the loop every candidate is coded with the enhanced
    decode's trellis settings (EncodeRequest.enhanced_options); with no network installed
    (the plain decode in the loop) with the plain decode's."""
    import hybrid.ratecontrol as ratecontrol

    seen: list[float] = []
    real = ratecontrol.encode_frame_file

    def spy(source, options, **kwargs):
        seen.append(options.rdo_lambda)
        return real(source, options, **kwargs)

    monkeypatch.setattr(ratecontrol, "encode_frame_file", spy)
    hybrid.encode_to_target(_photo(), target_bpp=0.5, best=True, allow_downscale=False)
    assert seen and set(seen) == {1.0}  # empty registry: the plain decode
    monkeypatch.undo()
    monkeypatch.setattr(ratecontrol, "encode_frame_file", spy)
    seen.clear()
    hybrid.encode_to_target(_photo(), target_bpp=0.5, best=True, allow_downscale=False)
    assert seen and set(seen) == {0.6}


def test_cli_says_the_sr_strength_it_records_and_applies(tmp_path):
    src = save_png(tmp_path / "p.png")
    jpg = tmp_path / "p.jpg"
    result = run("encode", src, "-o", jpg, "--scale", "2", "-q", "50")
    assert result.exit_code == 0, result.output
    meta = find_metadata(jpg.read_bytes())
    assert f"mode downscaled, strength {meta.strength:.3f}" in result.output
    assert f"model sr-fast-v1, strength {meta.strength:.3f}" in run("info", jpg).stdout
    result = run("decode", jpg, "-o", tmp_path / "p-sr.png", "--enhance", "-v")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"hybrid: {jpg}: super-resolved with sr-fast-v1 (")
    assert f"strength {meta.strength:.3f} recorded)" in result.stderr
