"""The photo / screen classifier (issue 18): screen-like images drawn here are called screen,
validation photographs photo, at low and high quality, from Pillow's and hybrid's encoders;
the features do not depend on the image's size; greyscale files work; the generated
parameters match the features. The full accuracy and cost are in
docs/content_classifier_results.md (scripts/fit_content.py)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hybrid
from hybrid.enhance import content_params
from hybrid.enhance.content import (
    CONTENT_CLASSES,
    FEATURE_NAMES,
    ContentGuess,
    classify_content,
    content_features,
    screen_probability,
)
from hybrid.enhance.jpeg_input import load_planes
from tests.helpers.screens import text_page, ui_boxes

VAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "val"
PHOTOS = ("101085.png", "108070.png", "196073.png", "12084.png")


def val_photo(name: str) -> np.ndarray:
    if not VAL.is_dir():
        if os.environ.get("CI"):
            raise AssertionError(f"validation images missing: {VAL}")
        pytest.skip(f"no validation images at {VAL}")
    with Image.open(VAL / name) as image:
        return np.asarray(image.convert("RGB"))


def jpeg(pixels: np.ndarray, quality: int, *, grey: bool = False, subsampling: int = 2) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(pixels)
    if grey:
        im.convert("L").save(buf, "JPEG", quality=quality)
    else:
        im.save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


@pytest.mark.parametrize("quality", [30, 75])
@pytest.mark.parametrize("draw", [text_page, ui_boxes])
def test_screen_like_images_are_screens(draw, quality):
    guess = classify_content(load_planes(jpeg(draw(), quality)))
    assert guess == ContentGuess("screen", guess.screen_probability)
    assert guess.screen_probability > 0.9


@pytest.mark.parametrize("quality", [30, 75])
@pytest.mark.parametrize("name", PHOTOS)
def test_validation_photos_are_photos(name, quality):
    guess = classify_content(load_planes(jpeg(val_photo(name), quality)))
    assert guess.label == "photo"
    assert guess.screen_probability < 0.1


def test_hybrid_encoder_files():
    """hybrid's own files (PSNR-tuned tables, trellis, progressive with best=True)."""
    page = classify_content(load_planes(hybrid.encode(text_page(), quality=30, best=True)))
    photo = classify_content(load_planes(hybrid.encode(val_photo(PHOTOS[0]), quality=30)))
    assert (page.label, photo.label) == ("screen", "photo")


@pytest.mark.parametrize("quality", [20, 75])
def test_greyscale_files(quality):
    page = load_planes(jpeg(text_page(), quality, grey=True))
    photo = load_planes(jpeg(val_photo(PHOTOS[1]), quality, grey=True))
    assert page.grey and photo.grey
    assert classify_content(page).label == "screen"
    assert classify_content(photo).label == "photo"


@pytest.mark.parametrize("kind", ["screen", "photo"])
def test_features_do_not_depend_on_size(kind):
    """An image and its 2x2 tiling (4x the pixels, other sample positions) agree closely."""
    pixels = text_page(size=(480, 320)) if kind == "screen" else val_photo(PHOTOS[2])
    pixels = pixels[: pixels.shape[0] // 16 * 16, : pixels.shape[1] // 16 * 16]  # whole MCUs
    one = content_features(load_planes(jpeg(pixels, 50)))
    four = content_features(load_planes(jpeg(np.tile(pixels, (2, 2, 1)), 50)))
    tolerance = np.array([0.03, 0.03, 0.03, 0.08, 0.04, 0.04, 0.05])
    assert np.all(np.abs(one - four) <= tolerance), (one, four)
    assert abs(screen_probability(one) - screen_probability(four)) < 0.05


def test_features_are_finite_for_tiny_and_flat_images():
    for pixels in (
        np.full((8, 8, 3), 200, np.uint8),  # one flat block: no AC, no neighbours
        np.full((16, 300, 3), 30, np.uint8),
        np.random.default_rng(0).integers(0, 256, (8, 24, 3), dtype=np.uint8),
    ):
        planes = load_planes(jpeg(pixels, 75, subsampling=0))
        features = content_features(planes)
        assert features.shape == (len(FEATURE_NAMES),) and features.dtype == np.float64
        assert np.all(np.isfinite(features))
        assert classify_content(planes).label in CONTENT_CLASSES


def test_params_match_the_features():
    n = len(FEATURE_NAMES)
    assert content_params.FEATURE_NAMES == FEATURE_NAMES
    for values in (content_params.FEATURE_MEAN, content_params.FEATURE_SCALE):
        assert len(values) == n and all(np.isfinite(values))
    assert len(content_params.WEIGHTS) == n and all(np.isfinite(content_params.WEIGHTS))
    assert all(s > 0 for s in content_params.FEATURE_SCALE)
    assert np.isfinite(content_params.BIAS) and 0.0 < content_params.THRESHOLD < 1.0
    assert "GENERATED" in (content_params.__doc__ or "")
    assert "scripts/fit_content.py" in (content_params.__doc__ or "")


def test_content_guess_is_checked():
    assert CONTENT_CLASSES == ("photo", "screen")
    with pytest.raises(ValueError, match="label"):
        ContentGuess("text", 0.5)
    with pytest.raises(ValueError, match="screen_probability"):
        ContentGuess("photo", 1.5)
