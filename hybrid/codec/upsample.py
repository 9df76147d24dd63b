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


def _pairs(x: np.ndarray, axis: int) -> np.ndarray:
    """int16 (h, w) ``x`` doubled along ``axis`` (0 or 1): sample ``2i`` is
    ``3 x[i] + x[i - 1]``, sample ``2i + 1`` is ``3 x[i] + x[i + 1]``, the edge sample standing
    in for the missing neighbour (the un-normalised triangle filter; callers add the bias and
    shift)."""
    h, w = x.shape
    out = np.empty((2 * h, w) if axis == 0 else (h, 2 * w), dtype=np.int16)
    first: Any
    last: Any
    before: Any
    after: Any
    if axis == 0:
        even, odd = out[0::2], out[1::2]
        first, last, before, after = (0,), (-1,), np.s_[1:], np.s_[:-1]
        head, tail = x[:-1], x[1:]
    else:
        even, odd = out[:, 0::2], out[:, 1::2]
        first, last, before, after = np.s_[:, 0], np.s_[:, -1], np.s_[:, 1:], np.s_[:, :-1]
        head, tail = x[:, :-1], x[:, 1:]
    np.multiply(x, 3, out=even)
    odd[...] = even
    even[before] += head
    even[first] += x[first]
    odd[after] += tail
    odd[last] += x[last]
    return out


def _biased_shift(pairs: np.ndarray, axis: int, biases: tuple[int, int], shift: int) -> np.ndarray:
    """uint8 ``(pairs + bias) >> shift`` with ``biases[0]`` on the even samples along ``axis``
    and ``biases[1]`` on the odd ones (libjpeg's alternating rounding)."""
    index = [slice(None), slice(None)]
    for start, bias in enumerate(biases):
        index[axis] = slice(start, None, 2)
        pairs[tuple(index)] += bias
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
        return _biased_shift(_pairs(x, 0), 0, (1, 2), 2)
    if fy == 1:  # h2v1_fancy_upsample
        return _biased_shift(_pairs(x, 1), 1, (1, 2), 2)
    # h2v2_fancy_upsample: vertical column sums (3 * nearer + farther), then horizontally
    return _biased_shift(_pairs(_pairs(x, 0), 1), 1, (8, 7), 4)
