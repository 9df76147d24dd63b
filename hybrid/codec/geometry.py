"""Sizes in the downscaled mode: the scale factor's range and the coded and upscaled sizes it
implies.

A downscaled file codes the image at ``coded_size(original, scale)`` and records the
original size and the scale in its APP11 record (:mod:`hybrid.codec.metadata`). The rule is
written once, here, below everything that uses it: the record (``coded_size_of``), the header
parser that checks a record against its frame, the encoder (:mod:`hybrid.downscaled`), rate
control and the decoder's upscale. Resizing the pixels is :mod:`hybrid.resample`'s job.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hybrid.errors import InputError

#: Largest scale factor per axis: what the encoder's ``scale`` may downscale by, and what a
#: decode may upscale by (``scale``, or a downscaled file's record). It bounds the output
#: pixels a file can ask for at 16x its coded pixels: a 9.9 kB file recording a 64x upscale
#: of a 203x203 image took 67 s and 6 GB to decode to 13000x13000. Rate control tries at
#: most 4 (ratecontrol.DOWNSCALE_CANDIDATES), and past 4 the small image has too few pixels
#: left to be worth restoring.
MAX_SCALE = 4.0


def check_scale(scale: Any, name: str = "scale") -> float:
    """``scale`` as a float in [1, MAX_SCALE]; raises :class:`InputError` otherwise."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number >= 1, got {scale!r}")
    value = float(scale)
    if not math.isfinite(value) or not 1.0 <= value <= MAX_SCALE:
        raise InputError(f"{name} must be between 1 and {MAX_SCALE:g}, got {scale!r}")
    return value


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def coded_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Size of the coded (small) image: ``round(original / scale)``, at least 1 pixel."""
    return max(1, _round_half_up(width / scale)), max(1, _round_half_up(height / scale))


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Size after upscaling a ``width`` x ``height`` image by ``scale``, at least 1 pixel."""
    return max(1, _round_half_up(width * scale)), max(1, _round_half_up(height * scale))
