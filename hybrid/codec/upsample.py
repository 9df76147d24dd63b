"""libjpeg-turbo's chroma upsampling for decoding (``jdsample.c``), bit-exactly.

"Fancy" (triangle) upsampling, libjpeg-turbo's default: each output sample is 3/4 of the
nearer input sample and 1/4 of the farther one, with libjpeg's alternating rounding biases;
the image edges repeat the last real sample (``jdmainct.c`` context rows, ``jdsample.c``
first/last column). As in ``jinit_upsampler``, a 2x horizontal factor on a component at most
2 samples wide is upsampled by replication instead.
"""

from __future__ import annotations

import numpy as np


def _neighbours(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(previous, next) sample along ``axis``, the edge sample repeated."""
    n = x.shape[axis]
    before = np.take(x, np.r_[0, 0 : n - 1], axis=axis)
    after = np.take(x, np.r_[1:n, n - 1], axis=axis)
    return before, after


def _interleave(first: np.ndarray, second: np.ndarray, axis: int) -> np.ndarray:
    out = np.stack([first, second], axis=axis + 1)
    shape = list(first.shape)
    shape[axis] *= 2
    return out.reshape(shape)


def fancy_upsample(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Upsample a decoded chroma plane as libjpeg-turbo does with ``do_fancy_upsampling``.

    Args:
        plane: uint8 (h, w) component samples, cropped to the component's real size
            (``ceil(image_height * v / max_v)`` x ``ceil(image_width * h / max_h)``).
        fy, fx: vertical and horizontal factors, each 1 or 2.

    Returns:
        uint8 (h * fy, w * fx).
    """
    if (fy, fx) == (1, 1):
        return plane
    x = plane.astype(np.int32)
    if fx == 2 and x.shape[1] <= 2:  # jdsample.c: no fancy h2 upsampling of narrow planes
        return np.repeat(np.repeat(plane, fy, axis=0), 2, axis=1)
    if fx == 1:  # h1v2_fancy_upsample
        above, below = _neighbours(x, 0)
        return _interleave((3 * x + above + 1) >> 2, (3 * x + below + 2) >> 2, 0).astype(np.uint8)
    if fy == 1:  # h2v1_fancy_upsample
        left, right = _neighbours(x, 1)
        return _interleave((3 * x + left + 1) >> 2, (3 * x + right + 2) >> 2, 1).astype(np.uint8)
    # h2v2_fancy_upsample: vertical column sums (3 * nearer + farther), then horizontally
    above, below = _neighbours(x, 0)
    sums = _interleave(3 * x + above, 3 * x + below, 0)
    left, right = _neighbours(sums, 1)
    return _interleave((3 * sums + left + 8) >> 4, (3 * sums + right + 7) >> 4, 1).astype(np.uint8)
