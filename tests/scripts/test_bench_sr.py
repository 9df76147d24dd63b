"""scripts/bench_sr.py: mean curves, interpolation at equal rate and the comparison table."""

from __future__ import annotations

import pytest

import scripts.bench_sr as script


def linear_curve(rates, slope, offset, ms_slope=0.5, ms_offset=0.5):
    """Points on psnr = offset + slope * bpp, ms_ssim = ms_offset + ms_slope * bpp."""
    return [
        {"bpp": r, "psnr": offset + slope * r, "ms_ssim": ms_offset + ms_slope * r} for r in rates
    ]


def test_interpolation_inside_the_curve_is_piecewise_linear():
    rates, psnr = [0.1, 0.2, 0.4], [20.0, 24.0, 26.0]
    values = script.interpolate_at(rates, psnr, [0.1, 0.15, 0.2, 0.3, 0.4])
    assert values == pytest.approx([20.0, 22.0, 24.0, 25.0, 26.0])
    # Unsorted input gives the same curve.
    assert script.interpolate_at(rates[::-1], psnr[::-1], [0.15, 0.3]) == pytest.approx(
        [22.0, 25.0]
    )


def test_interpolation_outside_the_curve_is_none():
    values = script.interpolate_at([0.1, 0.2], [20.0, 24.0], [0.05, 0.0999, 0.1, 0.2, 0.2001, 1.0])
    assert values[0] is None and values[1] is None
    assert values[2:4] == pytest.approx([20.0, 24.0])
    assert values[4] is None and values[5] is None


def test_non_monotone_point_is_dropped():
    # The point at 0.3 bpp is worse than the one at 0.2: dropped, so 0.25 interpolates
    # between 0.2 and 0.4.
    rates, psnr = [0.1, 0.2, 0.3, 0.4], [20.0, 24.0, 23.0, 28.0]
    assert script.interpolate_at(rates, psnr, [0.25, 0.3]) == pytest.approx([25.0, 26.0])
    # A trailing drop shortens the covered range: 0.35 is beyond the last monotone point.
    assert script.interpolate_at([0.1, 0.2, 0.4], [20.0, 24.0, 22.0], [0.15, 0.3]) == [
        pytest.approx(22.0),
        None,
    ]


def test_too_few_monotone_points_cover_nothing():
    assert script.interpolate_at([0.1, 0.2], [24.0, 20.0], [0.1, 0.15]) == [None, None]
    assert script.interpolate_at([0.1], [24.0], [0.1]) == [None]


def test_comparison_rows_on_known_curves():
    full = linear_curve([0.05, 0.1, 0.2, 0.3], slope=40.0, offset=20.0)
    sr = linear_curve([0.08, 0.16, 0.32, 0.5], slope=40.0, offset=21.0, ms_offset=0.49)
    rows = script.compare_at_rates(full, sr, [0.05, 0.1, 0.2, 0.3, 0.4])
    # 0.05 is below the SR curve, 0.4 above the full one.
    assert [r["bpp"] for r in rows] == [0.1, 0.2, 0.3]
    for r in rows:
        assert r["psnr_full"] == pytest.approx(20.0 + 40.0 * r["bpp"])
        assert r["psnr_sr"] == pytest.approx(21.0 + 40.0 * r["bpp"])
        assert r["psnr_diff"] == pytest.approx(1.0)
        assert r["ms_ssim_full"] == pytest.approx(0.5 + 0.5 * r["bpp"])
        assert r["ms_ssim_diff"] == pytest.approx(-0.01)


def test_comparison_needs_every_metric_covered():
    full = linear_curve([0.1, 0.2, 0.3], slope=40.0, offset=20.0)
    sr = linear_curve([0.1, 0.2, 0.3], slope=40.0, offset=21.0)
    sr[2]["ms_ssim"] = 0.0  # MS-SSIM of SR now covers only 0.1..0.2
    rows = script.compare_at_rates(full, sr, [0.1, 0.2, 0.3])
    assert [r["bpp"] for r in rows] == [0.1, 0.2]
    assert script.compare_at_rates(full, sr[:1], [0.1]) == []


def test_mean_curve_averages_per_quality():
    records = [
        {"image": "a", "mode": "full", "quality": 5, "bpp": 0.1, "psnr": 20.0, "ms_ssim": 0.8},
        {"image": "b", "mode": "full", "quality": 5, "bpp": 0.3, "psnr": 24.0, "ms_ssim": 0.9},
        {"image": "a", "mode": "full", "quality": 3, "bpp": 0.05, "psnr": 18.0, "ms_ssim": 0.7},
        {"image": "a", "mode": "sr", "quality": 5, "bpp": 9.0, "psnr": 99.0, "ms_ssim": 1.0},
    ]
    curve = script.mean_curve(records, "full")
    assert [p["quality"] for p in curve] == [3, 5]
    assert curve[1]["images"] == 2
    assert curve[1]["bpp"] == pytest.approx(0.2)
    assert curve[1]["psnr"] == pytest.approx(22.0)
    assert curve[1]["ms_ssim"] == pytest.approx(0.85)
    assert script.mean_curve(records, "sr")[0]["psnr"] == 99.0


def test_bd_summary_sign_and_missing_overlap():
    full = linear_curve([0.05, 0.1, 0.2, 0.3], slope=40.0, offset=20.0)
    better = linear_curve([0.05, 0.1, 0.2, 0.3], slope=40.0, offset=21.0, ms_offset=0.51)
    bd = script.bd_summary(full, better)
    assert bd["psnr"]["bd_metric"] == pytest.approx(1.0, abs=0.01)
    assert bd["psnr"]["bd_rate_pct"] < 0
    assert bd["ms_ssim"]["bd_metric"] > 0
    # Both curves above the BD limit: nothing to compare.
    high = linear_curve([0.4, 0.6], slope=40.0, offset=20.0)
    assert script.bd_summary(high, high) == {
        m: {"bd_rate_pct": None, "bd_metric": None} for m in ("psnr", "ms_ssim")
    }


def test_best_of_takes_the_best_covering_mode_per_rate_and_metric():
    full = linear_curve([0.1, 0.2, 0.3], slope=40.0, offset=20.0)
    x2 = linear_curve([0.1, 0.2], slope=20.0, offset=23.0, ms_offset=0.6)  # good early
    x15 = linear_curve([0.1, 0.3], slope=40.0, offset=20.5)  # a little better everywhere
    grid = [0.1, 0.15, 0.2, 0.25, 0.3]
    comparisons = {
        m: script.compare_at_rates(full, c, grid) for m, c in (("x2", x2), ("x1.5", x15))
    }
    rows = script.best_of(comparisons)
    assert [r["bpp"] for r in rows] == grid
    by_rate = {r["bpp"]: r for r in rows}
    # psnr at 0.1: x2 25.0 vs x1.5 24.5; at 0.2: x2 27.0 vs x1.5 28.5
    assert by_rate[0.1]["psnr_mode"] == "x2" and by_rate[0.1]["psnr_diff"] == pytest.approx(1.0)
    assert by_rate[0.2]["psnr_mode"] == "x1.5" and by_rate[0.2]["psnr_sr"] == pytest.approx(28.5)
    assert by_rate[0.3]["psnr_mode"] == "x1.5"  # x2 does not reach 0.3 bpp
    assert by_rate[0.2]["ms_ssim_mode"] == "x2"  # metrics pick their own best mode
    assert script.best_of({}) == []
    assert script.mode_name(1.5) == "x1.5" and script.mode_name(2.0) == "x2"
