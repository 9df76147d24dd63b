"""Bjøntegaard deltas against values computed by hand on synthetic curves."""

import numpy as np
import pytest

from hybrid.bench.bd import bd_metric, bd_rate, monotone_curve

# A curved, realistic reference: PSNR-like metric against bpp.
REF_RATES = np.array([0.12, 0.2, 0.31, 0.45, 0.7, 1.1, 1.8])
REF_PSNR = np.array([26.0, 27.9, 29.6, 31.0, 32.8, 34.9, 37.5])


def test_rates_times_0_9_is_exactly_minus_10_percent():
    assert bd_rate(REF_RATES, REF_PSNR, REF_RATES * 0.9, REF_PSNR) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate(REF_RATES, REF_PSNR, REF_RATES * 1.25, REF_PSNR) == pytest.approx(25.0, abs=1e-9)
    # Restricting the range changes nothing for a uniform factor.
    got = bd_rate(REF_RATES, REF_PSNR, REF_RATES * 0.9, REF_PSNR, rate_range=(0.15, 1.0))
    assert got == pytest.approx(-10.0, abs=1e-9)


def test_metric_plus_half_db_is_exactly_half_db():
    assert bd_metric(REF_RATES, REF_PSNR, REF_RATES, REF_PSNR + 0.5) == pytest.approx(0.5, abs=1e-9)
    got = bd_metric(REF_RATES, REF_PSNR, REF_RATES, REF_PSNR - 0.25, rate_range=(0.15, 1.0))
    assert got == pytest.approx(-0.25, abs=1e-9)


def test_identical_curves_give_zero():
    assert bd_rate(REF_RATES, REF_PSNR, REF_RATES, REF_PSNR) == pytest.approx(0.0, abs=1e-12)
    assert bd_metric(REF_RATES, REF_PSNR, REF_RATES, REF_PSNR) == pytest.approx(0.0, abs=1e-12)


# Linear curves in (metric, ln rate), which PCHIP reproduces exactly:
#   reference ln r = m / 10 - 4,  test ln r = m / 12 - 3.6, both for m = 15..45.
M = np.linspace(15.0, 45.0, 13)
LIN_REF_RATES = np.exp(M / 10 - 4)
LIN_TEST_RATES = np.exp(M / 12 - 3.6)


def test_restricted_bd_rate_analytic():
    # Reference rates 0.15 and 1.0 bpp sit at m1 = 10 (ln 0.15 + 4) = 21.029 and m2 = 40,
    # inside both spans. The mean of the linear difference (1/12 - 1/10) m + 0.4 over
    # [m1, m2] is its value at the midpoint 30.5145: -0.108575 -> exp(.) - 1 = -10.289 %.
    m1, m2 = 10 * (np.log(0.15) + 4), 40.0
    mid = (m1 + m2) / 2
    expected = (np.exp((1 / 12 - 1 / 10) * mid + 0.4) - 1) * 100
    assert expected == pytest.approx(-10.289, abs=1e-3)
    got = bd_rate(LIN_REF_RATES, M, LIN_TEST_RATES, M, rate_range=(0.15, 1.0))
    assert got == pytest.approx(expected, abs=1e-9)
    # Unrestricted: the whole common span 15..45, midpoint 30.
    full = (np.exp((1 / 12 - 1 / 10) * 30 + 0.4) - 1) * 100
    assert bd_rate(LIN_REF_RATES, M, LIN_TEST_RATES, M) == pytest.approx(full, abs=1e-9)


def test_restricted_bd_metric_analytic():
    # Metric as a function of L = ln r: reference m = 10 L + 40, test m = 12 L + 43.2.
    # ln-rate spans: reference -2.5..0.5, test -2.35..0.15. With rate_range (0.3, 1.0) the
    # interval is [ln 0.3, 0] = [-1.204, 0]; the difference 2 L + 3.2 averages to its value at
    # the midpoint: 2 (-0.602) + 3.2 = 1.996 dB.
    lo, hi = np.log(0.3), 0.0
    expected = (lo + hi) + 3.2
    assert expected == pytest.approx(1.996, abs=1e-3)
    got = bd_metric(LIN_REF_RATES, M, LIN_TEST_RATES, M, rate_range=(0.3, 1.0))
    assert got == pytest.approx(expected, abs=1e-9)
    # Unrestricted: the common span [-2.35, 0.15], midpoint -1.1 -> 1.0 dB.
    assert bd_metric(LIN_REF_RATES, M, LIN_TEST_RATES, M) == pytest.approx(1.0, abs=1e-9)


def test_range_is_intersected_with_the_test_span():
    # Test curve covers only m in 30..35: the range 0.15..1.0 (m 21..40 on the reference)
    # shrinks to 30..35; the tilt is linear and 0 at the midpoint 32.5, so -20 % remains.
    m = np.linspace(30.0, 35.0, 5)
    test_rates = np.exp(m / 10 - 4) * 0.8 * np.exp(0.01 * (m - 32.5))
    got = bd_rate(LIN_REF_RATES, M, test_rates, m, rate_range=(0.15, 1.0))
    assert got == pytest.approx(-20.0, abs=1e-9)


def test_no_overlap_raises():
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(LIN_REF_RATES, M, LIN_TEST_RATES, M + 100)
    with pytest.raises(ValueError, match="rate_range"):
        bd_rate(LIN_REF_RATES, M, LIN_TEST_RATES, M, rate_range=(1.0, 0.5))


def test_monotone_curve_drops_non_monotone_points():
    r, m = monotone_curve([0.5, 0.1, 0.3, 0.4, 0.4], [30.0, 25.0, 29.0, 28.5, 29.5])
    np.testing.assert_array_equal(r, [0.1, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(m, [25.0, 29.0, 29.5, 30.0])
    with pytest.raises(ValueError):
        monotone_curve([0.1, 0.2], [30.0, 29.0])
