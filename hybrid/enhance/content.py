"""Photo or screen? A cheap classifier of what a JPEG holds (issue 18).

Screens (screenshots, text, UI, charts) and photographs leave different traces in the
quantized coefficients and in the plain decode, which the enhanced decode has already read
(:class:`~hybrid.enhance.jpeg_input.JpegPlanes`): screens are mostly flat blocks of a few
background values with identical DC next to each other, broken by busy blocks full of strong
high frequencies (glyph edges), and a few pixel values cover much of the image; photographs
have texture and gradients almost everywhere. :func:`content_features` measures those traces
as shares and means (independent of the image's size) on a spread sample of blocks and
pixels, and :func:`classify_content` weighs them with a logistic regression whose parameters
live in :mod:`hybrid.enhance.content_params` (written by ``scripts/fit_content.py``). The
cost is about 0.1-0.2 ms per image whatever its size; accuracy and cost are measured in
docs/content_classifier_results.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hybrid.codec.metadata import CONTENT_CODES
from hybrid.enhance import content_params
from hybrid.enhance.jpeg_input import JpegPlanes

#: The classes, in the APP11 record's order: ``("photo", "screen")``.
CONTENT_CLASSES: tuple[str, ...] = tuple(CONTENT_CODES)

#: At most this many luma blocks are read (spread over the image) ...
MAX_SAMPLED_BLOCKS = 1024
#: ... this many pairs of horizontally adjacent luma DC coefficients ...
MAX_SAMPLED_DC_PAIRS = 1024
#: ... and this many pixels of the plain decode.
MAX_SAMPLED_PIXELS = 2048


@dataclass(frozen=True)
class ContentGuess:
    """What :func:`classify_content` decided.

    Attributes:
        label: one of :data:`CONTENT_CLASSES`.
        screen_probability: the model's probability (0..1) that the image is a screen.
    """

    label: str
    screen_probability: float

    def __post_init__(self) -> None:
        if self.label not in CONTENT_CLASSES:
            raise ValueError(f"label must be one of {CONTENT_CLASSES}, got {self.label!r}")
        if not 0.0 <= self.screen_probability <= 1.0:
            raise ValueError(f"screen_probability must be in [0, 1], got {self.screen_probability}")


def content_features(planes: JpegPlanes) -> np.ndarray:
    """float64 (F,) features of ``planes`` for :func:`classify_content`, in the order of
    :data:`FEATURE_NAMES`; all are shares or means, so an image and its 2x2 tiling give
    close values.

    Only a subsample is read (see :data:`MAX_SAMPLED_BLOCKS`, :data:`MAX_SAMPLED_DC_PAIRS`,
    :data:`MAX_SAMPLED_PIXELS`), so the cost hardly grows with the image; chroma is not read
    (it did not help the fit), so greyscale files need nothing special.
    """
    luma = planes.coeffs[0]
    blocks = _sample(luma, MAX_SAMPLED_BLOCKS).reshape(-1, 64)
    # Counts and sums over coefficients as float32 matrix products: far faster than
    # reductions along an axis of 64 for a few hundred blocks.
    ac_count = (blocks != 0).astype(np.float32) @ _AC_MASK
    energy = np.abs(blocks).astype(np.float32) @ _energy_weights(planes.qtables[0])
    busy = energy[ac_count > 0]  # (N, 2): |dequantized| sum over all AC, over high AC
    if len(busy):
        high_share = float(np.mean(busy[:, 1] / busy[:, 0]))
        log_energy = float(np.log1p(busy[:, 0].mean()))
    else:
        high_share, log_energy = 0.0, 0.0
    histogram = np.bincount(ac_count.astype(np.int64), minlength=64) / len(blocks)
    return np.array(
        [
            histogram[1:3].sum(),
            histogram[3:7].sum(),
            high_share,
            log_energy,
            _dc_repeat_share(luma),
            _top_colour_share(planes.pixels),
            _top_dc_share(blocks[:, 0]),
        ],
        dtype=np.float64,
    )


def classify_content(planes: JpegPlanes) -> ContentGuess:
    """Photo or screen, from the features of :func:`content_features` and the logistic
    regression in :mod:`hybrid.enhance.content_params`."""
    probability = screen_probability(content_features(planes))
    label = CONTENT_CLASSES[1] if probability >= content_params.THRESHOLD else CONTENT_CLASSES[0]
    return ContentGuess(label=label, screen_probability=probability)


def screen_probability(features: np.ndarray) -> float:
    """The logistic model's screen probability (0..1) for ``features`` float64 (F,)."""
    mean = np.asarray(content_params.FEATURE_MEAN)
    scale = np.asarray(content_params.FEATURE_SCALE)
    logit = float((features - mean) / scale @ np.asarray(content_params.WEIGHTS))
    logit += content_params.BIAS
    return float(0.5 * (1.0 + np.tanh(0.5 * logit)))  # the logistic function, overflow-free


#: Names of the :func:`content_features` entries, in order.
FEATURE_NAMES = (
    "few_ac_share",  # share of sampled luma blocks with 1-2 nonzero AC coefficients
    "some_ac_share",  # ... with 3-6
    "high_freq_share",  # mean share of |dequantized AC| at u+v >= 6, over blocks with any AC
    "log_ac_energy",  # log1p of the mean sum of |dequantized AC|, over blocks with any AC
    "dc_repeat_share",  # share of horizontally adjacent luma blocks with identical DC
    "top_colour_share",  # share of sampled pixels in the 4 most frequent RGB values
    "dc_mode_share",  # share of sampled luma blocks whose DC is one of the 2 most frequent
)

#: Diagonal u + v of each natural-order coefficient (0: DC); >= HIGH_DIAGONAL counts as high.
_DIAGONAL = np.add.outer(np.arange(8), np.arange(8)).reshape(64)
HIGH_DIAGONAL = 6
_AC_MASK = (_DIAGONAL > 0).astype(np.float32)
#: Steps of the R2 sequence: powers of the inverse of the plastic number (:func:`_sample_index`).
_PLASTIC = 1.324717957244746
_R2 = (1.0 / _PLASTIC, 1.0 / _PLASTIC**2)
_PACK_RGB = np.array([65536.0, 256.0, 1.0], dtype=np.float32)


@functools.lru_cache(maxsize=32)
def _sample_index(h: int, w: int, n: int, stride: int) -> np.ndarray:
    """Read-only intp (N,): raster indices ``row * stride + col`` of positions in an h x w
    grid. Every position when ``n >= h * w``; else ``n`` points of the R2 low-discrepancy
    sequence (Roberts 2018), evenly spread with every point on its own row and column, so
    that no period of the image (lines of text, table rows) aliases with them as it can
    with a regular grid."""
    if n >= h * w:
        rows, cols = np.divmod(np.arange(h * w), w)
    else:
        k = np.arange(n) + 0.5
        rows = (k * _R2[0] % 1.0 * h).astype(np.intp)
        cols = (k * _R2[1] % 1.0 * w).astype(np.intp)
    index = np.sort(rows * stride + cols)  # memory order
    index.flags.writeable = False
    return index


def _sample(array: np.ndarray, n: int) -> np.ndarray:
    """At most ``n`` entries (N, ...) of ``array`` (H, W, ...) at spread positions."""
    h, w = array.shape[:2]
    return np.take(array.reshape(h * w, *array.shape[2:]), _sample_index(h, w, n, w), axis=0)


def _energy_weights(qtable: np.ndarray) -> np.ndarray:
    """float32 (64, 2): the dequantization steps of all AC and of the high AC coefficients."""
    q = qtable.reshape(64).astype(np.float32)
    return np.stack([q * (_DIAGONAL > 0), q * (_DIAGONAL >= HIGH_DIAGONAL)], axis=1)


def _dc_repeat_share(coeffs: np.ndarray) -> float:
    """Share of about :data:`MAX_SAMPLED_DC_PAIRS` horizontally (vertically, for one block
    column) adjacent block pairs of ``coeffs`` int16 (BH, BW, 8, 8) with the same DC; 0 for a
    single block."""
    dc = coeffs[:, :, 0, 0]
    if dc.shape[1] == 1:
        dc = dc.T
    if dc.shape[1] == 1:
        return 0.0
    h, w = dc.shape
    left = _sample_index(h, w - 1, MAX_SAMPLED_DC_PAIRS, w)
    flat = dc.reshape(-1)
    return float(np.mean(np.take(flat, left) == np.take(flat, left + 1)))


def _top_values_share(values: np.ndarray, top: int) -> float:
    """Share of ``values`` (N,) (N >= 1) equal to one of the ``top`` most frequent."""
    _, counts = np.unique(values, return_counts=True)
    return float(np.sort(counts)[-top:].sum() / values.size)


def _top_dc_share(dc: np.ndarray) -> float:
    """Share of ``dc`` int16 (N,) (N >= 1) quantized DC values equal to one of the 2 most
    frequent (by a bincount over their range: int16, in practice a few hundred values)."""
    counts = np.bincount(dc.astype(np.intp) - int(dc.min()))
    if counts.size <= 2:
        return 1.0
    return float(np.partition(counts, -2)[-2:].sum() / dc.size)


def _top_colour_share(pixels: np.ndarray) -> float:
    """Share of :data:`MAX_SAMPLED_PIXELS` (at most) spread pixels of ``pixels`` uint8
    (H, W, 3) that have one of the 4 most frequent RGB values."""
    # One number per colour: 65536 R + 256 G + B, exact in float32 (< 2**24).
    packed = _sample(pixels, MAX_SAMPLED_PIXELS).astype(np.float32) @ _PACK_RGB
    return _top_values_share(packed, 4)
