"""Small test images written to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def tiny_photos(directory: Path, count: int = 2) -> Path:
    """``count`` 176x192 RGB crops of skimage's astronaut (MS-SSIM needs 176 pixels)."""
    from skimage import data

    directory.mkdir(parents=True, exist_ok=True)
    image = data.astronaut()
    corners = [(40, 150), (250, 260), (10, 300)]
    for i in range(count):
        y, x = corners[i]
        crop = np.ascontiguousarray(image[y : y + 176, x : x + 192])
        Image.fromarray(crop).save(directory / f"photo{i}.png")
    return directory


def screen_crops(count: int = 3, size: tuple[int, int] = (256, 192)) -> list[np.ndarray]:
    """``count`` uint8 (H, W, 3) screen-like images drawn with Pillow's bundled font: a menu
    bar, lines of text, a code block and a button, on light, dark and sepia themes."""
    from PIL import ImageDraw, ImageFont

    rng = np.random.default_rng(18)
    words = "the quick brown fox jumps over lazy dog decode encode quality table scan".split()
    themes = [
        ((255, 255, 255), (31, 35, 40), (9, 105, 218)),
        ((13, 17, 23), (230, 237, 243), (47, 129, 247)),
        ((253, 246, 227), (88, 110, 117), (203, 75, 22)),
    ]
    out = []
    for k in range(count):
        bg, fg, accent = themes[k % len(themes)]
        image = Image.new("RGB", size, bg)
        draw = ImageDraw.Draw(image)
        sans = ImageFont.load_default(11 + 2 * k)
        mono = ImageFont.load_default(10)
        draw.rectangle([0, 0, size[0], 18], fill=accent)
        draw.text((6, 3), "File  Edit  View  Help", fill=(255, 255, 255), font=sans)
        y = 24
        while y < size[1] - 40:
            draw.text((8, y), " ".join(rng.choice(words, 6)), fill=fg, font=sans)
            y += 16 + 2 * k
        panel = tuple(int(0.9 * c + 20) for c in bg)
        draw.rectangle([8, y, size[0] - 8, size[1] - 6], fill=panel)
        draw.text((12, y + 4), "x = encode(img, q=30)", fill=accent, font=mono)
        draw.rounded_rectangle([size[0] - 70, 24, size[0] - 10, 42], 4, fill=accent)
        draw.text((size[0] - 62, 27), "Save", fill=(255, 255, 255), font=sans)
        out.append(np.asarray(image))
    return out
