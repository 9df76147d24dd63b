"""Tier 2: our files decode in independent decoders, with recorded rate and quality limits.

Each configuration in ``cross_decoder_cases.CASES`` is encoded once (cached) and checked:

- size and quality against ``tests/data/cross_decoder_limits.json`` (bits per pixel at most
  the recorded ceiling, PSNR of the Pillow decode at least the recorded floor), recorded by
  ``python scripts/record_cross_decoder_limits.py``;
- Pillow, djpeg and imagecodecs (three builds of libjpeg-turbo) give identical pixels;
- IJG libjpeg 9e gives the same pixels (to 1 in a few samples) where its algorithms are
  libjpeg-turbo's;
- Thomas Richter's libjpeg (no shared code) agrees within IDCT rounding;
- headless Chromium agrees, all files decoded in one launch.

Tolerances were measured on Pillow-made and on our own files for every case (see the
constants below). Missing tools fail under CI=true and skip elsewhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import cross_decoder_cases as cases
from tests.helpers import decoders
from tests.helpers.cross_decoder_cases import CASES, Case

LIMITS_PATH = Path(__file__).parent / "data" / "cross_decoder_limits.json"

# Tolerances, measured over every case on Pillow-made files and on ours (worst value quoted).
#
# Richter's libjpeg vs libjpeg-turbo, both decoding to YCbCr (its RGB transform clamps
# differently, see decoders.py): 4:4:4 and grey within 1; 4:2:x at most 5 (chroma near strong
# edges, where the two clamp the chroma IDCT output at different points of upsampling), mean
# at most 0.19, at most 0.87% of samples off by more than 1 (4 of the 459 samples of a 17x9).
RICHTER_MAX_DIFF_FULL = 1
RICHTER_MAX_DIFF_SUBSAMPLED = 8
RICHTER_MAX_MEAN_DIFF = 0.3
RICHTER_MAX_SHARE_OFF_BY_MORE_THAN_1 = 0.02
# Richter RGB vs Pillow RGB, a sanity bound only: at most 0.41 on 1023x769 files; a 1x1 file
# with two channels one apart gives 0.67.
RICHTER_RGB_MAX_MEAN_DIFF = 1.0
# IJG 9e vs djpeg, both with box ("-nosmooth") upsampling: identical except 2 samples of one
# 4:2:2 1023x769 file, one apart in G (the two libraries' YCbCr->RGB paths for merged
# upsampling round differently there, with or without libjpeg-turbo's SIMD).
IJG_BOX_MAX_DIFF = 1
IJG_BOX_MAX_SHARE_DIFFERENT = 1e-4
# IJG 9e's default ("fancy") 4:2:x upsampling is a scaled IDCT, not libjpeg-turbo's triangle
# filter: up to 87 apart at colour edges, mean at most 2.89 (17x9 crops are nearly all edge).
# A sanity bound only.
IJG_FANCY_MAX_MEAN_DIFF = 4.0
# Chromium (Debian's build links the system libjpeg-turbo 2.1.5, the one djpeg uses) was
# bit-identical to Pillow on every case; 1 leaves room for a Skia/Blink rounding change.
CHROMIUM_MAX_DIFF = 1
CHROMIUM_MAX_MEAN_DIFF = 0.01


def _require(available: bool, what: str) -> None:
    """Skip when a decoder is missing, except under CI=true, where the suite must fail."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required when CI=true (installed by .ci/run)")
    pytest.skip(f"{what} is not installed")


def _module_available(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape, f"shape {a.shape} vs {b.shape}"
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@pytest.fixture(scope="module")
def limits() -> dict:
    if not LIMITS_PATH.exists():
        pytest.fail(
            f"{LIMITS_PATH} is missing; record it with: "
            "python scripts/record_cross_decoder_limits.py"
        )
    return json.loads(LIMITS_PATH.read_text())["cases"]


@pytest.fixture(scope="module")
def chromium_pixels() -> dict[str, np.ndarray | str]:
    """Every case decoded by Chromium in one launch (batched by size), keyed by case id."""
    _require(decoders.chromium_path() is not None, "chromium (Debian package chromium)")
    results: dict[str, np.ndarray | str] = {}
    encoded: dict[str, bytes] = {}
    for case in CASES:
        try:
            encoded[case.id] = cases.encode_case(case)
        except Exception as exc:  # reported by the case's own test, not by the whole batch
            results[case.id] = f"encoding failed: {exc!r}"
    decoded = decoders.decode_chromium_many(list(encoded.values()), on_error="return")
    results.update(zip(encoded, decoded, strict=True))
    return results


def _ids(case: Case) -> str:
    return case.id


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_rate_and_quality_within_recorded_limits(case: Case, limits: dict) -> None:
    data = cases.encode_case(case)
    entry = limits.get(case.id)
    if entry is None:
        pytest.fail(
            f"no recorded limits for {case.id} in {LIMITS_PATH.name}; "
            "record them with: python scripts/record_cross_decoder_limits.py"
        )
    bpp = cases.bits_per_pixel(data, case)
    quality = cases.psnr(cases.case_image(case), decoders.decode_pillow(data))
    assert bpp <= entry["bpp_max"], f"{bpp:.4f} bpp above the recorded ceiling {entry['bpp_max']}"
    assert quality >= entry["psnr_min"], (
        f"PSNR {quality:.3f} dB below the recorded floor {entry['psnr_min']}"
    )


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_libjpeg_turbo_builds_agree_exactly(case: Case) -> None:
    _require(decoders.djpeg_path() is not None, "djpeg (Debian package libjpeg-turbo-progs)")
    data = cases.encode_case(case)
    reference = decoders.decode_pillow(data)
    assert reference.shape == cases.case_image(case).shape
    np.testing.assert_array_equal(decoders.decode_djpeg(data), reference, err_msg="djpeg")
    np.testing.assert_array_equal(
        decoders.decode_imagecodecs(data), reference, err_msg="imagecodecs"
    )


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_ijg_libjpeg_9e(case: Case) -> None:
    _require(decoders.djpeg_path() is not None, "djpeg (Debian package libjpeg-turbo-progs)")
    data = cases.encode_case(case)
    # Box upsampling and the accurate integer IDCT are the same algorithms in both libraries.
    box = _diff(
        decoders.decode_ijg(data, fancy_upsampling=False),
        decoders.decode_djpeg(data, fancy_upsampling=False),
    )
    assert box.max() <= IJG_BOX_MAX_DIFF
    assert (box != 0).mean() <= IJG_BOX_MAX_SHARE_DIFFERENT
    fancy = _diff(decoders.decode_ijg(data), decoders.decode_pillow(data))
    if case.subsampling in ("4:4:4", "grey"):
        assert fancy.max() == 0, "no upsampling: IJG 9e and libjpeg-turbo must agree exactly"
    else:
        assert fancy.mean() <= IJG_FANCY_MAX_MEAN_DIFF


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_richter_libjpeg_agrees_within_rounding(case: Case) -> None:
    _require(_module_available("libjpeg"), "pylibjpeg-libjpeg (Richter's libjpeg)")
    data = cases.encode_case(case)
    if case.subsampling == "grey":
        diff = _diff(decoders.decode_richter(data), decoders.decode_pillow(data))
    else:
        diff = _diff(decoders.decode_richter_ycc(data), decoders.decode_pillow_ycc(data))
        rgb = _diff(decoders.decode_richter(data), decoders.decode_pillow(data))
        assert rgb.mean() <= RICHTER_RGB_MAX_MEAN_DIFF
    subsampled = case.subsampling in ("4:2:2", "4:2:0")
    assert diff.max() <= (RICHTER_MAX_DIFF_SUBSAMPLED if subsampled else RICHTER_MAX_DIFF_FULL)
    assert diff.mean() <= RICHTER_MAX_MEAN_DIFF
    assert (diff > 1).mean() <= RICHTER_MAX_SHARE_OFF_BY_MORE_THAN_1


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_chromium_agrees_within_rounding(case: Case, chromium_pixels: dict) -> None:
    pixels = chromium_pixels[case.id]
    if isinstance(pixels, str):
        pytest.fail(pixels)
    diff = _diff(pixels, decoders.decode_pillow(cases.encode_case(case)))
    assert diff.max() <= CHROMIUM_MAX_DIFF
    assert diff.mean() <= CHROMIUM_MAX_MEAN_DIFF
