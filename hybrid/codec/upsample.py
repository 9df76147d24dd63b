"""libjpeg-turbo's chroma upsampling for decoding (``jdsample.c``), bit-exactly.

"Fancy" (triangle) upsampling, libjpeg-turbo's default: each output sample is 3/4 of the
nearer input sample and 1/4 of the farther one, with libjpeg's alternating rounding biases;
the image edges repeat the last real sample (``jdmainct.c`` context rows, ``jdsample.c``
first/last column). As in ``jinit_upsampler``, a 2x horizontal factor on a component at most
2 samples wide is upsampled by replication instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _along(axis: int, index: slice) -> Any:
    """``index`` applied along ``axis`` (0 or 1) of a 2-D array."""
    return index if axis == 0 else (slice(None), index)


def _pairs(x: np.ndarray, axis: int, biases: tuple[int, int] = (0, 0)) -> np.ndarray:
    """int16 (h, w) ``x`` doubled along ``axis`` (0 or 1): sample ``2i`` is
    ``3 x[i] + x[i - 1] + biases[0]``, sample ``2i + 1`` is ``3 x[i] + x[i + 1] + biases[1]``,
    the edge sample standing in for the missing neighbour (the un-normalised triangle filter
    with libjpeg's alternating rounding biases; callers shift)."""
    h, w = x.shape
    out = np.empty((2 * h, w) if axis == 0 else (h, 2 * w), dtype=np.int16)
    triple = np.multiply(x, 3, dtype=np.int16)
    triple += biases[1]
    even, odd = out[_along(axis, slice(0, None, 2))], out[_along(axis, slice(1, None, 2))]
    rest, first = _along(axis, slice(1, None)), _along(axis, slice(None, 1))
    but_last, last = _along(axis, slice(None, -1)), _along(axis, slice(-1, None))
    np.add(triple[rest], x[but_last], out=even[rest])  # the sample before
    np.add(triple[first], x[first], out=even[first])  # (the edge repeated)
    np.add(triple[but_last], x[rest], out=odd[but_last])  # the sample after
    np.add(triple[last], x[last], out=odd[last])
    if biases[0] != biases[1]:
        even += biases[0] - biases[1]
    return out


def _shifted(pairs: np.ndarray, shift: int) -> np.ndarray:
    """uint8 ``pairs >> shift`` (``pairs`` is overwritten)."""
    pairs >>= shift
    return pairs.astype(np.uint8)


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
    if fx == 2 and plane.shape[1] <= 2:  # jdsample.c: no fancy h2 upsampling of narrow planes
        return np.repeat(np.repeat(plane, fy, axis=0), 2, axis=1)
    x = plane.astype(np.int16)  # every sum below stays under 2**12
    if fx == 1:  # h1v2_fancy_upsample
        return _shifted(_pairs(x, 0, (1, 2)), 2)
    if fy == 1:  # h2v1_fancy_upsample
        return _shifted(_pairs(x, 1, (1, 2)), 2)
    # h2v2_fancy_upsample: vertical column sums (3 * nearer + farther), then horizontally
    return _shifted(_pairs(_pairs(x, 0), 1, (8, 7)), 4)
