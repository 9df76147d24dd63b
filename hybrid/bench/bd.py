"""Bjøntegaard deltas (VCEG-M33): average rate and quality differences of two RD curves.

Both use piecewise cubic Hermite interpolation (``scipy.interpolate.PchipInterpolator``, as
in the JVET/AOM reports since VCEG-M33's cubic polynomial overshoots) and integrate the
interpolant exactly over the interval where the two curves overlap.

* :func:`bd_rate`: log-rate is interpolated as a function of the quality metric; the result is
  the mean relative rate change at equal quality, ``exp(mean(ln R_test - ln R_ref)) - 1``, in
  percent (negative: the test codec needs fewer bits).
* :func:`bd_metric`: the metric is interpolated as a function of log-rate; the result is the
  mean metric change at equal rate (dB for PSNR).

``rate_range=(lo, hi)`` restricts both to the reference's operating range between those rates
(e.g. 0.15..1.0 bpp): for BD-rate, the metric interval that the reference curve spans between
``lo`` and ``hi`` (read off the reference's interpolant), intersected with the test curve's
metric span; for BD-metric, the log-rate interval ``[ln lo, ln hi]`` intersected with both
curves' spans.

Points of a curve are sorted by rate; points that do not raise the metric over every
lower-rate point are dropped (an RD curve is monotone; a non-monotone point would make the
inverse interpolation ill-defined).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

__all__ = ["bd_metric", "bd_rate", "monotone_curve"]


def monotone_curve(
    rates: Sequence[float], metric: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Sort an RD curve by rate and keep the points whose metric strictly increases.

    Args:
        rates: positive rates (any unit, e.g. bits per pixel).
        metric: quality at each rate (higher is better), finite.

    Returns:
        (rates, metric) float64 arrays, rates increasing, metric strictly increasing.

    Raises:
        ValueError: mismatched lengths, a non-positive rate, a non-finite value, or fewer than
            two usable points.
    """
    r = np.asarray(rates, dtype=np.float64).ravel()
    m = np.asarray(metric, dtype=np.float64).ravel()
    if r.shape != m.shape:
        raise ValueError(f"rates and metric differ in length: {r.size} vs {m.size}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(m))):
        raise ValueError("rates and metric must be finite")
    if np.any(r <= 0):
        raise ValueError("rates must be positive")
    order = np.lexsort((m, r))
    r, m = r[order], m[order]
    keep = np.zeros(r.size, dtype=bool)
    best = -np.inf
    for i in range(r.size):
        if m[i] > best:
            keep[i] = True
            best = m[i]
    r, m = r[keep], m[keep]
    # Equal rates with rising metric: keep the best of each rate (the last one).
    last = np.append(r[1:] != r[:-1], True)
    r, m = r[last], m[last]
    if r.size < 2:
        raise ValueError("an RD curve needs at least two distinct monotone points")
    return r, m


def _mean_over(f: PchipInterpolator, lo: float, hi: float) -> float:
    return float(f.integrate(lo, hi) / (hi - lo))


def _interval(lo: float, hi: float, what: str) -> tuple[float, float]:
    if not hi > lo:
        raise ValueError(f"the two RD curves do not overlap in {what}")
    return lo, hi


def bd_rate(
    ref_rates: Sequence[float],
    ref_metric: Sequence[float],
    test_rates: Sequence[float],
    test_metric: Sequence[float],
    rate_range: tuple[float, float] | None = None,
) -> float:
    """Bjøntegaard delta rate of ``test`` against ``ref``, in percent.

    Args:
        ref_rates, ref_metric: the reference curve (rates > 0, e.g. bpp; metric e.g. PSNR dB).
        test_rates, test_metric: the tested curve, same units.
        rate_range: optional (lo, hi) rates of the reference bounding the comparison.

    Returns:
        Mean rate change at equal metric in percent: -10.0 means 10 % fewer bits.

    Raises:
        ValueError: bad curves, or no overlap (after the ``rate_range`` restriction).
    """
    rr, rm = monotone_curve(ref_rates, ref_metric)
    tr, tm = monotone_curve(test_rates, test_metric)
    ref = PchipInterpolator(rm, np.log(rr))
    test = PchipInterpolator(tm, np.log(tr))
    lo, hi = max(rm[0], tm[0]), min(rm[-1], tm[-1])
    if rate_range is not None:
        q_lo, q_hi = _metric_at_rates(rr, rm, rate_range)
        lo, hi = max(lo, q_lo), min(hi, q_hi)
    lo, hi = _interval(lo, hi, "quality")
    diff = _mean_over(test, lo, hi) - _mean_over(ref, lo, hi)
    return float((np.exp(diff) - 1.0) * 100.0)


def bd_metric(
    ref_rates: Sequence[float],
    ref_metric: Sequence[float],
    test_rates: Sequence[float],
    test_metric: Sequence[float],
    rate_range: tuple[float, float] | None = None,
) -> float:
    """Bjøntegaard delta metric (e.g. BD-PSNR in dB) of ``test`` against ``ref``.

    Args: as :func:`bd_rate`.

    Returns:
        Mean metric change at equal rate (positive: the test codec is better).
    """
    rr, rm = monotone_curve(ref_rates, ref_metric)
    tr, tm = monotone_curve(test_rates, test_metric)
    ref = PchipInterpolator(np.log(rr), rm)
    test = PchipInterpolator(np.log(tr), tm)
    lo = max(np.log(rr[0]), np.log(tr[0]))
    hi = min(np.log(rr[-1]), np.log(tr[-1]))
    if rate_range is not None:
        r_lo, r_hi = _check_range(rate_range)
        lo, hi = max(lo, np.log(r_lo)), min(hi, np.log(r_hi))
    lo, hi = _interval(float(lo), float(hi), "rate")
    return _mean_over(test, lo, hi) - _mean_over(ref, lo, hi)


def _check_range(rate_range: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in rate_range)
    if not 0 < lo < hi:
        raise ValueError(f"rate_range must be 0 < lo < hi, got {rate_range}")
    return lo, hi


def _metric_at_rates(
    rates: np.ndarray, metric: np.ndarray, rate_range: tuple[float, float]
) -> tuple[float, float]:
    """Metric interval the (monotone) reference curve spans between two rates.

    Rates outside the curve are clamped to its ends: the comparison cannot reach beyond the
    measured points anyway.
    """
    lo, hi = _check_range(rate_range)
    log_r = np.log(rates)
    curve = PchipInterpolator(log_r, metric)
    ends = np.clip(np.log([lo, hi]), log_r[0], log_r[-1])
    return float(curve(ends[0])), float(curve(ends[1]))
