"""The enhancement strength an encoder records (issue 17): how much of the network's change
brings one file's enhanced decode closest to the original.

The encoder has the original, so it can measure what the network does to the file: the
PSNR-optimal blend ``p + s (e - p)`` of the plain decode ``p`` and the enhanced decode ``e``
toward the original ``r`` has

    s* = clip(<e - p, r - p> / <e - p, e - p>, 0, 1)

over all pixels and channels (the least-squares fit of ``r - p`` by ``e - p``). ``s = 0`` is
the plain decode, so the fitted blend is never worse than it. The record stores ``s`` in
1/255 steps (:data:`hybrid.codec.metadata.STRENGTH_LEVELS`); of the steps next to ``s*``
(and 0) the fit keeps the one whose 8-bit decode is closest to the original, so the
rounding of ``s`` and of the output pixels cannot make the file worse than its plain decode
either. The decoder applies it in place of the near-lossless fade-out
(:func:`hybrid.enhance.taper.kept_share`). numpy only; the decodes are the caller's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hybrid.codec.metadata import STRENGTH_LEVELS

__all__ = ["StrengthFit", "blend", "fit_strength"]

#: Rows per band: the fit's float temporaries stay a few MB whatever the image size.
_BAND = 256


@dataclass(frozen=True)
class StrengthFit:
    """One file's fitted strength.

    Attributes:
        code: the record's byte, 0..255 (0: the plain decode).
        optimum: ``s*`` before quantization, 0..1.
        mse_plain, mse_blend: mean squared error (0..255 scale, all channels) of the 8-bit
            plain decode and of the 8-bit blend at :attr:`strength` against the original;
            ``mse_blend <= mse_plain`` always.
    """

    code: int
    optimum: float
    mse_plain: float
    mse_blend: float

    @property
    def strength(self) -> float:
        """The share kept, ``code / 255``, as the record stores and the decoder applies it."""
        return self.code / STRENGTH_LEVELS

    @property
    def gain_db(self) -> float:
        """PSNR of the blend minus PSNR of the plain decode (dB, >= 0; inf for a blend that
        equals the original where the plain decode does not)."""
        if self.mse_blend == self.mse_plain:
            return 0.0
        if self.mse_blend == 0.0:
            return math.inf
        return 10.0 * math.log10(self.mse_plain / self.mse_blend)


def blend(plain: np.ndarray, enhanced: np.ndarray, strength: float) -> np.ndarray:
    """``plain + strength * (enhanced - plain)``: float32, the shape of ``plain``, on the
    scale of the inputs (a blend of two images in [0, 1] stays in [0, 1])."""
    p = np.asarray(plain, dtype=np.float32)
    return p + np.float32(strength) * (np.asarray(enhanced, dtype=np.float32) - p)


def _as_8bit(image: np.ndarray) -> np.ndarray:
    """A [0, 1] float image as the 8-bit decode rounds it (hybrid.pipeline.pixels), float64."""
    scaled = np.multiply(image, 255.0, dtype=np.float32)
    return np.clip(np.round(scaled), 0, 255).astype(np.float64)


def fit_strength(plain: np.ndarray, enhanced: np.ndarray, original: np.ndarray) -> StrengthFit:
    """The PSNR-optimal strength for one file, quantized to the record's 1/255 steps.

    Args:
        plain: float (H, W, C) plain decode on the 0..1 scale (C = 3, or 1 for greyscale),
            as :func:`hybrid.decode_array` gives it (an 8-bit decode divided by 255).
        enhanced: float (H, W, C) enhanced decode on the 0..1 scale with the network's full
            change (no fade-out: strength 1), before rounding; same shape as ``plain``.
        original: uint8 (H, W, C) or, for greyscale, (H, W) image the file was encoded from
            (0..255).

    Returns:
        The :class:`StrengthFit`: ``s* = clip(<e - p, r - p> / <e - p, e - p>, 0, 1)``
        (0 when ``enhanced`` equals ``plain``), then of the codes ``floor(255 s*)``,
        ``ceil(255 s*)`` and 0 the one whose rounded 8-bit blend has the least squared
        error against ``original`` (ties: the smaller code), so ``mse_blend <= mse_plain``.

    Raises:
        ValueError: the shapes do not match.
    """
    plain = np.asarray(plain)
    enhanced = np.asarray(enhanced)
    if plain.shape != enhanced.shape or plain.ndim != 3:
        raise ValueError(
            f"plain and enhanced must be the same (H, W, C) shape, got {plain.shape} "
            f"and {enhanced.shape}"
        )
    original = np.asarray(original)
    if original.size != plain.size or original.shape[:2] != plain.shape[:2]:
        raise ValueError(f"original {original.shape} does not match the decodes {plain.shape}")
    original = original.reshape(plain.shape)
    height = plain.shape[0]

    def bands():
        for y in range(0, height, _BAND):
            p = plain[y : y + _BAND].astype(np.float64)
            e = enhanced[y : y + _BAND].astype(np.float64)
            r = original[y : y + _BAND].astype(np.float64)
            yield y, p, e, r

    num = den = 0.0
    for _, p, e, r in bands():
        d = e - p
        num += float(np.vdot(d, r / 255.0 - p))
        den += float(np.vdot(d, d))
    optimum = min(max(num / den, 0.0), 1.0) if den > 0.0 else 0.0
    codes = sorted({0, math.floor(optimum * STRENGTH_LEVELS), math.ceil(optimum * STRENGTH_LEVELS)})
    errors = dict.fromkeys(codes, 0.0)
    for y, _, _, r in bands():
        p, e = plain[y : y + _BAND], enhanced[y : y + _BAND]
        for code in codes:
            out = _as_8bit(blend(p, e, code / STRENGTH_LEVELS))
            errors[code] += float(np.sum(np.square(out - r)))
    code = min(codes, key=lambda c: (errors[c], c))
    n = float(plain.size)
    return StrengthFit(code, optimum, errors[0] / n, errors[code] / n)
