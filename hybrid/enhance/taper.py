"""The near-lossless fade-out: how much of the network's change an enhanced decode keeps
(torch-free: the torch and ONNX backends and the browser module share it)."""

from __future__ import annotations

import numpy as np

#: How much of the network's change is kept, by the file's mean luma quantizer step:
#: (steps, strengths) knots of a piecewise-linear taper, constant outside. Near-lossless
#: files (IJG quality >= 92, mean step < 10) are often re-compressions of JPEGs, whose plain
#: decode is already close to the source; there the full residual hurt (CBSD68, itself
#: decoded from JPEGs: -4.6 dB at q95, -0.5 at q94, +0.2 at q93), while a kept share of
#: about 0.5 at step 8.1 (q93) stays positive; from step 6 (q95) on, the plain decode is
#: returned (hybrid's own files still lost 0.06 dB at q95 with a share of 0.1). Measured in
#: docs/decisions.md.
TAPER_STEPS = (6.0, 10.0)
TAPER_STRENGTHS = (0.0, 1.0)


def residual_strength(luma_table: np.ndarray) -> float:
    """Share (0..1) of the enhancement kept for a file with this (8, 8) luma table."""
    step = float(np.mean(luma_table))
    return float(np.interp(step, TAPER_STEPS, TAPER_STRENGTHS))
