"""DC trellis: coding order, optimality under its rate model, and that it pays."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import skimage.data

from hybrid.codec.color import rgb_to_ycbcr
from hybrid.codec.dct import blockify, forward_dct
from hybrid.codec.rdo import std_dc_code_lengths
from hybrid.codec.rdo_dc import coding_order, dc_code_lengths, quantize_dc_trellis


def test_coding_order_by_hand() -> None:
    np.testing.assert_array_equal(coding_order(2, 3), [[0, 1, 2], [3, 4, 5]])
    # 4:2:0 luma, 4x4 blocks = 2x2 MCUs of 2x2 blocks; grid index = 4 * row + col.
    np.testing.assert_array_equal(
        coding_order(4, 4, 2, 2), [[0, 1, 4, 5, 2, 3, 6, 7], [8, 9, 12, 13, 10, 11, 14, 15]]
    )
    np.testing.assert_array_equal(coding_order(2, 4, 1, 2), [[0, 1, 2, 3], [4, 5, 6, 7]])
    with pytest.raises(ValueError):
        coding_order(3, 4, 2, 2)


def chain_cost(values, x, step, lam, weight, lengths, start) -> float:
    """Independent reference: J / lambda of one chain in bits."""
    total, prev = 0.0, start
    for v, xv in zip(values, x, strict=True):
        d = int(v) - int(prev)
        size = abs(d).bit_length()
        total += (lengths[size] if lengths[size] else 16) + size
        total += weight * step * step * (v - xv) ** 2 / lam
        prev = v
    return total


@pytest.mark.parametrize("lam", [5.0, 60.0, 400.0])
def test_trellis_is_optimal_on_short_chains(lam: float) -> None:
    rng = np.random.default_rng(3)
    step, weight = 12.0, 1.7
    lengths = std_dc_code_lengths()
    dc = rng.normal(0, 60, size=(6, 5)) + 30
    got = quantize_dc_trellis(dc, step, lam, weight, lengths)
    x = dc / step
    rounded = np.copysign(np.floor(np.abs(x) + 0.5), x)
    assert np.all(np.abs(got - rounded) <= 1)
    for c in range(dc.shape[0]):
        start = 0 if c == 0 else rounded[c - 1, -1]
        options = [rounded[c] + np.array(offs) for offs in itertools.product((-1, 0, 1), repeat=5)]
        costs = [chain_cost(o, x[c], step, lam, weight, lengths, start) for o in options]
        assert chain_cost(got[c], x[c], step, lam, weight, lengths, start) == pytest.approx(
            min(costs), rel=1e-9
        )


def test_tiny_lambda_rounds() -> None:
    dc = np.array([[10.4, -7.6, 100.2, 100.9]])
    np.testing.assert_array_equal(quantize_dc_trellis(dc, 1.0, 1e-6), [[10, -8, 100, 101]])
    assert quantize_dc_trellis(np.zeros((0, 0)), 4.0, 1.0).shape == (0, 0)


def test_trellis_trades_dc_rate_for_distortion() -> None:
    y = rgb_to_ycbcr(skimage.data.astronaut())[..., 0]
    dc = forward_dct(blockify(y - np.float32(128.0)))[..., 0, 0]
    order = coding_order(*dc.shape)
    step, lam = 16.0, 0.045 * 16.0**2 * 4
    chains = dc.reshape(-1)[order]
    plain = np.copysign(np.floor(np.abs(chains / step) + 0.5), chains / step)
    got = quantize_dc_trellis(chains, step, lam)

    def bits(values):
        lengths = dc_code_lengths(values)
        diffs = np.diff(values.reshape(-1).astype(np.int64), prepend=0)
        sizes = np.frexp(np.abs(diffs).astype(float))[1]
        counts = np.bincount(sizes, minlength=12)
        return float((counts * (lengths + np.arange(12))).sum())

    d_plain = float(((plain * step - chains) ** 2).sum())
    d_got = float(((got * step - chains) ** 2).sum())
    saved = bits(plain) - bits(got)
    assert saved > 0.008 * bits(plain)  # measured 1.1 % of the DC bits
    assert d_got - d_plain < lam * saved  # J decreased


@pytest.mark.parametrize("sampling", [(2, 2), (1, 2), (1, 1)])
def test_coding_order_matches_the_scan_order(sampling: tuple[int, int]) -> None:
    from hybrid.codec.frame import Component, Frame
    from hybrid.codec.scans import ScanBlocks

    v, h = sampling
    rows, cols = 3 * v, 4 * h
    luma = np.zeros((rows, cols, 8, 8), dtype=np.int16)
    luma[..., 0, 0] = np.arange(rows * cols).reshape(rows, cols)
    chroma = np.zeros((3, 4, 8, 8), dtype=np.int16)
    comps = (Component(1, h, v, 0, luma), Component(2, 1, 1, 1, chroma))
    frame = Frame(32 * h, 24 * v, comps, {0: np.ones((8, 8)), 1: np.ones((8, 8))})
    zz, owner, _ = ScanBlocks(frame).order((0, 1))
    np.testing.assert_array_equal(zz[owner == 0, 0], coding_order(rows, cols, v, h).reshape(-1))
