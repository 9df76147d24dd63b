"""Quality floors of the released super-resolution networks (tier 4, issue 14): on a small
fixed set each must beat the bicubic upscale of the plain decode by a margin derived from its
own manifest metrics, so the manifest cannot drift from the weights. The set is made as
``psnr_rgb_gain_db_over_bicubic_libjpeg_turbo_420`` is measured (training.loop's
``make_sr_val_set`` and ``validate_sr``): a clean crop whose sides are multiples of
``8 * scale``, downscaled with hybrid's encoder filter, coded by Pillow/libjpeg-turbo 4:2:0
at quality 30, then decoded back to the crop's size. The full numbers are in BENCHMARKS.md
(scripts/bench_sr.py)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hybrid
from hybrid.enhance.registry import ModelEntry, load_manifest
from hybrid.metrics import psnr
from hybrid.resample import downscale

VAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "val"
# One portrait and two landscape crops; at quality 30 the released models gain 0.9-1.0x their
# all-val mean on them (the val set's crops range from under 0.1 to nearly 3 dB).
IMAGES = ("101085.png", "109053.png", "182053.png")
METRIC = "psnr_rgb_gain_db_over_bicubic_libjpeg_turbo_420"
QUALITY = 30

SR_MODELS = sorted(entry.id for entry in load_manifest().values() if entry.task == "sr")


def crops(scale: float) -> list[np.ndarray]:
    """192x256 top-left crops of :data:`IMAGES`, trimmed to multiples of ``8 * scale`` per
    side so the downscaled image is exactly ``1/scale`` the size (192x240 at x1.5)."""
    if not VAL.is_dir():
        if os.environ.get("CI"):
            raise AssertionError(f"validation images missing: {VAL}")
        pytest.skip(f"no validation images at {VAL}")
    step = round(8 * scale)
    out = []
    for name in IMAGES:
        with Image.open(VAL / name) as image:
            pixels = np.asarray(image.convert("RGB"))[:192, :256]
        h, w = pixels.shape[0] // step * step, pixels.shape[1] // step * step
        out.append(pixels[:h, :w].copy())
    return out


def downscaled_jpeg(clean: np.ndarray, scale: float) -> bytes:
    size = (round(clean.shape[1] / scale), round(clean.shape[0] / scale))
    buffer = io.BytesIO()
    Image.fromarray(downscale(clean, size)).save(
        buffer, format="JPEG", quality=QUALITY, subsampling=2, optimize=True
    )
    return buffer.getvalue()


def trained_scale(entry: ModelEntry) -> float:
    """The downscale factor the model was measured at: ``inference.trained_scale`` (x1.5
    models run an x2 network resized by the decoder), else its native factor."""
    return entry.inference.get("trained_scale", entry.inference.get("scale", 2))


def recorded_gain(entry: ModelEntry, manifest: dict[str, ModelEntry]) -> float:
    """The entry's recorded quality-30 gain; an entry without numbers whose note says
    "see <other id>" (a self-ensembled variant of the same weights) takes the other's."""
    if METRIC in entry.metrics:
        return entry.metrics[METRIC][str(QUALITY)]
    match = re.search(r"\bsee (\S+)", entry.metrics.get("note", ""))
    other = match and manifest.get(match.group(1).rstrip(".,;"))
    assert other and METRIC in other.metrics, f"{entry.id}: no {METRIC} recorded or referenced"
    assert trained_scale(other) == trained_scale(entry), (entry.id, other.id)
    return other.metrics[METRIC][str(QUALITY)]


def sr_gains(model: str, scale: float) -> list[float]:
    out = []
    for clean in crops(scale):
        jpeg = downscaled_jpeg(clean, scale)
        bicubic = np.asarray(hybrid.decode(jpeg, scale=scale))
        sr = np.asarray(hybrid.decode(jpeg, enhance=True, scale=scale, sr_model=model, threads=2))
        assert sr.shape == bicubic.shape == clean.shape, (sr.shape, clean.shape)
        out.append(psnr(sr, clean) - psnr(bicubic, clean))
    return out


def test_super_resolution_models_are_released():
    assert SR_MODELS, "no super-resolution (task 'sr') model in the manifest"


@pytest.mark.parametrize("model", SR_MODELS)
def test_every_released_sr_model_keeps_half_its_recorded_gain(model):
    """Libjpeg-turbo 4:2:0 at quality 30 of the downscaled crop: the mean gain over bicubic
    on three hard crops is at least half the manifest's all-val mean, and no crop is worse
    than bicubic."""
    manifest = load_manifest()
    entry = manifest[model]
    recorded = recorded_gain(entry, manifest)
    measured = sr_gains(model, trained_scale(entry))
    assert min(measured) > 0.0, measured
    assert np.mean(measured) >= 0.5 * recorded, (measured, recorded)


#: The super-resolution models with a share of their own for files that record none for
#: them (scripts/fit_sr_strength.py, issue 17).
SHARING = sorted(
    entry.id
    for entry in load_manifest().values()
    if entry.task == "sr" and "strength" in entry.inference
)


@pytest.mark.parametrize("model", SHARING)
def test_a_sr_models_own_share_spares_the_file_that_set_it(model):
    """The val file that the model's full output hurts most (recorded in its manifest's
    ``metrics.sr_strength``), coded as scripts/fit_sr_strength.py codes it: at the share the
    decoder keeps for files that record none for the model, its gain over the bicubic
    upscale is the recorded one and no worse than -0.1 dB."""
    from hybrid.codec.headers import parse_info
    from hybrid.pipeline.requests import DecodeRequest
    from hybrid.pipeline.upscale import bicubic_base, sr_blend, sr_model_strength, super_resolved
    from scripts.bench_own_files import encode
    from scripts.fit_sr_strength import MODE_BY_SCALE
    from scripts.fit_sr_strength import trained_scale as fit_scale

    fitted = load_manifest()[model].metrics["sr_strength"]
    worst = fitted["worst"]
    if not VAL.is_dir():
        crops(2.0)  # fails in CI, skips elsewhere
    with Image.open(VAL / worst["image"]) as image:
        clean = np.asarray(image.convert("RGB"))
    jpeg = encode(clean, MODE_BY_SCALE[fit_scale(model)], worst["quality"])
    header = parse_info(jpeg)
    size = (clean.shape[1], clean.shape[0])
    share = sr_model_strength(model)
    assert share == fitted["share"]
    base = bicubic_base(jpeg, header, size)
    full = super_resolved(jpeg, header, DecodeRequest(enhance=True, threads=2), size, model)

    def gain(pixels: np.ndarray) -> float:
        return psnr(np.round(pixels * 255), clean) - psnr(np.round(base * 255), clean)

    kept = gain(sr_blend(base, full, share))
    assert kept == pytest.approx(worst["gain_db"], abs=0.01) and kept >= -0.1
    assert gain(np.clip(full, 0, 1)) == pytest.approx(worst["gain_db_at_full_strength"], abs=0.01)
