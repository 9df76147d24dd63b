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
from PIL import Image, ImageDraw, ImageFont

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

VAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "val"
PHOTOS = ("101085.png", "108070.png", "196073.png", "12084.png")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WORDS = "the quick brown fox jumps over lazy dog decode encode quality table block scan".split()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(FONT), size) if FONT.is_file() else ImageFont.load_default(size)


def text_page(seed: int = 0, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """uint8 (H, W, 3): lines of dark text on a light background, a title bar, a code box."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", size, (250, 250, 247))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, size[0], 36), fill=(40, 60, 110))
    draw.text((12, 8), "Documentation", fill=(255, 255, 255), font=_font(18))
    y = 50
    while y < size[1] - 20:
        if rng.random() < 0.15:  # a code block
            draw.rectangle((20, y, size[0] - 20, y + 46), fill=(235, 236, 240))
            draw.text((30, y + 6), "x = hybrid.decode(path)", fill=(160, 30, 30), font=_font(14))
            y += 56
            continue
        line = " ".join(rng.choice(WORDS, size=9))
        draw.text((20, y), line, fill=(20, 20, 20), font=_font(int(rng.integers(12, 17))))
        y += 22
    return np.asarray(im)


def ui_boxes(seed: int = 1, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """uint8 (H, W, 3): a UI mock-up: sidebar, buttons, input boxes, labels, a bar chart."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 150, size[1]), fill=(33, 37, 41))
    for i in range(8):
        draw.text((16, 20 + 34 * i), f"Menu item {i}", fill=(220, 220, 220), font=_font(14))
    for i in range(5):
        x, y = 180, 30 + 60 * i
        draw.text((x, y), f"Field {i}:", fill=(30, 30, 30), font=_font(14))
        draw.rectangle((x + 90, y - 4, x + 330, y + 22), outline=(160, 160, 160), width=1)
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        draw.rounded_rectangle((x + 350, y - 4, x + 430, y + 24), radius=5, fill=colour)
        draw.text((x + 362, y), "Save", fill=(255, 255, 255), font=_font(14))
    for i, h in enumerate(rng.integers(20, 140, 8)):
        draw.rectangle((190 + 50 * i, 460 - h, 220 + 50 * i, 460), fill=(66, 133, 244))
    return np.asarray(im)


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
