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
