"""Resizing pixels for the downscaled mode: the encoder's anti-aliasing downscale and the
decoder's classical upscale (the fallback when no super-resolution network is installed).
The sizes themselves (``MAX_SCALE``, ``coded_size``, ``scaled_size``) are
:mod:`hybrid.codec.geometry`'s.

Filters were chosen by measurement on the first 10 images of ``shared/data/val`` (RGB PSNR
of downscale -> upscale to the original size, mean dB; Pillow 11):

=========  =======  =======  =======  =====================================
downscale  x1.5     x2       x3       (upscaled with bicubic)
=========  =======  =======  =======  =====================================
Lanczos    31.57    28.82    26.33    chosen
bicubic    31.14    28.58    26.18
Hamming    30.90    28.46    26.10
box/area   30.08    27.79    26.06    (x2 box is exact 2x2 averaging)
bilinear   30.04    27.92    25.78
=========  =======  =======  =======  =====================================

Lanczos also wins after JPEG coding of the small image (x2, quality 75: 27.32 dB against box
26.66). Pillow's ``reducing_gap`` made no measurable difference at these factors, so the
exact (unreduced) filter is used. For upscaling, Lanczos beats bicubic by 0.3-0.6 dB on
uncompressed small images but not on JPEG-coded ones (x2 at quality 30: bicubic 25.58,
Lanczos 25.55; quality 60: 26.70 / 26.73; quality 90: 28.16 / 28.36), and the downscaled mode
only pays at low rates, so the upscale is Pillow's bicubic (as viewers and browsers use).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def downscale(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased (Lanczos) downscale.

    Args:
        pixels: uint8 (H, W) or (H, W, 3).
        size: (width, height) of the result.

    Returns:
        uint8 array (height, width) or (height, width, 3).
    """
    from PIL import Image

    if (pixels.shape[1], pixels.shape[0]) == tuple(size):
        return pixels
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def upscale_image(image: Any, size: tuple[int, int]) -> Any:
    """Bicubic resize of a ``PIL.Image.Image`` (any mode Pillow resizes) to ``size`` (w, h)."""
    from PIL import Image

    if image.size == tuple(size):
        return image
    return image.resize(size, Image.Resampling.BICUBIC)


def upscale_array(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float32 (H, W, C) array in [0, 1], keeping float precision.

    Each channel is resized as a Pillow ``F`` (32-bit float) image, so more than 8 bits
    survive (e.g. for 16-bit PNG output); bicubic overshoot is clipped to [0, 1].

    Returns:
        float32 (height, width, C) for ``size`` = (width, height).
    """
    from PIL import Image

    array = np.asarray(array, dtype=np.float32)
    if (array.shape[1], array.shape[0]) == tuple(size):
        return array
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(array[:, :, c])).resize(
                size, Image.Resampling.BICUBIC
            )
        )
        for c in range(array.shape[2])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0).astype(np.float32)
