"""Screen-like images drawn with Pillow: a text page and a UI mock-up, for the content
classifier's tests and the browser's model choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

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
