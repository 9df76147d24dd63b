"""Quality floors of the released networks (tier 4): on a small fixed set each must beat the
plain decode by a margin derived from its own manifest metrics, so the manifest cannot drift
from the weights; and the default model must not make hybrid's own ``--best`` files worse
(issue 17). The full numbers are in BENCHMARKS.md (scripts/bench_enhance.py,
scripts/bench_own_files.py)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hybrid
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, load_manifest
from hybrid.metrics import psnr
from tests.helpers.images import screen_crops

VAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "val"
IMAGES = ("101085.png", "108070.png", "196073.png")  # among the hardest in the val set


def crops() -> list[np.ndarray]:
    if not VAL.is_dir():
        if os.environ.get("CI"):
            raise AssertionError(f"validation images missing: {VAL}")
        pytest.skip(f"no validation images at {VAL}")
    out = []
    for name in IMAGES:
        with Image.open(VAL / name) as image:
            out.append(np.asarray(image.convert("RGB"))[:192, :256].copy())
    return out


def gains(data: list[bytes], clean: list[np.ndarray], model: str) -> list[float]:
    out = []
    for jpeg, original in zip(data, clean, strict=True):
        plain = np.asarray(hybrid.decode(jpeg))
        enhanced = np.asarray(hybrid.decode(jpeg, enhance=True, model=model, threads=2))
        out.append(psnr(enhanced, original) - psnr(plain, original))
    return out


def libjpeg(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


ENHANCERS = sorted(
    entry.id
    for entry in load_manifest().values()
    if entry.task == "enhance"
    and entry.content == "photo"
    and "psnr_rgb_gain_db_libjpeg_turbo_420" in entry.metrics
)
SCREEN_ENHANCERS = sorted(
    entry.id
    for entry in load_manifest().values()
    if entry.task == "enhance" and entry.content == "screen"
)


@pytest.mark.parametrize("model", ENHANCERS)
def test_every_released_enhancer_keeps_half_its_recorded_gain(model):
    """libjpeg-turbo 4:2:0 at quality 30: the mean gain on three hard crops is at least half
    the manifest's all-val mean (they run 0.6-0.9x of it), and no crop gets worse."""
    recorded = load_manifest()[model].metrics["psnr_rgb_gain_db_libjpeg_turbo_420"]["30"]
    clean = crops()
    measured = gains([libjpeg(c, 30) for c in clean], clean, model)
    assert min(measured) > 0.0, measured
    assert np.mean(measured) >= 0.5 * recorded, (measured, recorded)


#: The models trained on hybrid's own files too (issue 17): the default, the quality tier and
#: the perceptual tunes' decoders.
OWN_FILE_MODELS = (
    DEFAULT_ENHANCE_MODEL,
    "enhance-quality-v5",
    "enhance-perceptual-v3",
    "enhance-perceptual-v4",
)


@pytest.mark.parametrize("model", OWN_FILE_MODELS)
@pytest.mark.parametrize("quality", [30, 75, 90, 94])
def test_own_file_models_do_not_harm_hybrids_best_files(quality, model):
    clean = crops()
    data = [hybrid.encode(c, quality=quality, best=True) for c in clean]
    measured = gains(data, clean, model)
    assert np.mean(measured) > 0.0, measured
    assert min(measured) > -0.1, measured


def test_a_screen_model_is_released():
    assert SCREEN_ENHANCERS, "no enhancement model with content 'screen' in the manifest"


@pytest.mark.parametrize("model", SCREEN_ENHANCERS)
def test_every_screen_enhancer_keeps_half_its_recorded_gain_and_beats_the_photo_model(model):
    """Three drawn screen crops (text, menu bar, code, button) at libjpeg-turbo quality 30:
    the mean gain is at least half the manifest's mean on the screenshot val set, no crop
    gets worse, and the screen model beats the default photo model by at least 1 dB."""
    recorded = load_manifest()[model].metrics["psnr_rgb_gain_db_libjpeg_turbo_420"]["30"]
    clean = screen_crops()
    data = [libjpeg(c, 30) for c in clean]
    measured = gains(data, clean, model)
    photo = gains(data, clean, DEFAULT_ENHANCE_MODEL)
    assert min(measured) > 0.0, measured
    assert np.mean(measured) >= 0.5 * recorded, (measured, recorded)
    assert np.mean(measured) - np.mean(photo) >= 1.0, (measured, photo)


#: The models with fade-out knots of their own (scripts/fit_fade_out.py, issue 17).
FADING = sorted(entry.id for entry in load_manifest().values() if "fade_out" in entry.inference)


@pytest.mark.parametrize("model", FADING)
def test_a_models_own_fade_out_spares_the_file_that_set_it(model):
    """The val file that decided a model's knots (its worst at the default knots, recorded
    in the manifest's metrics) is not made worse than 0.1 dB at the model's knots, and is
    at the default's: the knots, not luck, keep it."""
    from hybrid.codec.headers import parse_info
    from hybrid.enhance import enhance_jpeg
    from hybrid.enhance.taper import residual_strength
    from scripts.bench_own_files import encode  # as scripts/fit_fade_out.py codes the file

    worst = load_manifest()[model].metrics["fade_out"]["worst"]
    if not VAL.is_dir():
        crops()  # fails in CI, skips elsewhere
    with Image.open(VAL / worst["image"]) as image:
        clean = np.asarray(image.convert("RGB"))
    jpeg = encode(clean, worst["mode"], worst["quality"])
    info = parse_info(jpeg)
    luma = info.quant_tables[info.components[0].quant_index]
    plain = psnr(np.asarray(hybrid.decode(jpeg)), clean)
    kept = np.asarray(hybrid.decode(jpeg, enhance=True, model=model, threads=2))
    assert psnr(kept, clean) - plain == pytest.approx(worst["gain_db"], abs=0.01)
    assert psnr(kept, clean) - plain >= -0.1
    default = enhance_jpeg(jpeg, model=model, strength=residual_strength(luma), threads=2)
    default8 = np.clip(np.round(default * np.float32(255.0)), 0, 255)
    assert psnr(default8, clean) - plain < -0.1
