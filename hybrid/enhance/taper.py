"""How much of the network's change an enhanced decode keeps: the strength the file's record
carries for the model that decodes it (fitted by the encoder, :mod:`hybrid.enhance.strength`),
else the near-lossless fade-out by the mean luma quantizer step, at the decoding model's own
knots where its manifest entry carries them (``inference.fade_out``, measured per model by
``scripts/fit_fade_out.py``; issue 17) and at :data:`TAPER_STEPS` otherwise (torch-free: the
torch and ONNX backends and the browser module share it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybrid.codec.metadata import HybridMetadata

#: How much of the network's change is kept, by the file's mean luma quantizer step:
#: (steps, strengths) knots of a piecewise-linear taper, constant outside. Near-lossless
#: files are often re-compressions of JPEGs, whose plain decode is already close to the
#: source (CBSD68 is itself decoded from JPEGs). The knots were first (6, 10), set on
#: libjpeg-turbo files; issue 17 measured per image on all 68 val images with
#: enhance-fast-v4 (docs/decisions.md, "The near-lossless fade-out"): at (6, 10) one
#: libjpeg-turbo q92 image lost 0.40 dB and hybrid ``--best`` files lost up to 0.71 dB at
#: q92-95 (trellis files want less of the change at the same step). At (9, 13) no image of
#: either loses more than 0.1 dB at q80-95 (IJG q90, step 11.5: 0.62 of the change kept;
#: q92: 0.06; q93 up: none), for 0.04 dB of the mean gain at q90.
TAPER_STEPS = (9.0, 13.0)
TAPER_STRENGTHS = (0.0, 1.0)


def residual_strength(luma_table: np.ndarray, steps: tuple[float, float] = TAPER_STEPS) -> float:
    """Share (0..1) of the enhancement kept for a file with this (8, 8) luma table.

    Args:
        luma_table: the file's (8, 8) luma quantization table.
        steps: the knots ``(lo, hi)`` in mean quantizer steps: nothing kept at or below
            ``lo``, everything from ``hi``; a model's own
            (:func:`hybrid.enhance.registry.fade_out_steps`) or the default.
    """
    step = float(np.mean(luma_table))
    return float(np.interp(step, steps, TAPER_STRENGTHS))


@dataclass(frozen=True)
class KeptShare:
    """The share (0..1) of the network's change a decode keeps, and why: ``recorded`` (the
    file's record carries it for the model that decodes), ``taper`` (the fade-out by the
    mean quantizer step) or ``given`` (the caller's)."""

    strength: float
    source: str


def kept_share(
    luma_table: np.ndarray,
    meta: HybridMetadata | None,
    model: str | None,
    steps: tuple[float, float] = TAPER_STEPS,
) -> KeptShare:
    """The share an enhanced decode of a file keeps.

    Args:
        luma_table: the file's (8, 8) luma quantization table.
        meta: the file's checked record (``JpegInfo.hybrid_metadata``), or None.
        model: the registry id of the model that decodes it (None for a user weights file).
        steps: the fade-out knots of that model
            (:func:`hybrid.enhance.registry.fade_out_steps`).

    Returns:
        ``meta.strength`` when the record carries one and names ``model`` (the encoder
        fitted it for that network), else :func:`residual_strength` of ``luma_table`` at
        ``steps``: a different model (the user's choice) keeps its fade-out.
    """
    if meta is not None and meta.strength is not None and model and meta.model_id == model:
        return KeptShare(meta.strength, "recorded")
    return KeptShare(residual_strength(luma_table, steps), "taper")
