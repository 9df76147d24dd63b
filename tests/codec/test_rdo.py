"""Trellis quantization: optimality under its rate model, and that it pays on a real image."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import skimage.data

from hybrid.codec.color import rgb_to_ycbcr
from hybrid.codec.dct import blockify, forward_dct
from hybrid.codec.quant import default_quant_tables, quantize
from hybrid.codec.rdo import (
    estimate_bits,
    huffman_code_lengths,
    lambda_for_table,
    quantize_trellis,
    std_ac_code_lengths,
    std_dc_code_lengths,
    symbol_counts,
)
from hybrid.codec.tables import ZIGZAG


def block_cost(q_zz: np.ndarray, x_zz: np.ndarray, dist_scale: np.ndarray, lengths) -> float:
    """Independent reference: rate + distortion (bits) of one block's AC, zig-zag order.

    q_zz: (63,) chosen magnitudes; x_zz: (63,) |X| / q; dist_scale: (63,) q^2 / lambda.
    """
    rate, run = 0.0, 0
    for k in range(63):
        v = abs(int(q_zz[k]))
        if v == 0:
            run += 1
            continue
        size = v.bit_length()
        rate += (run // 16) * lengths[0xF0] + lengths[(run % 16) * 16 + size] + size
        run = 0
    if q_zz[62] == 0:
        rate += lengths[0x00]
    return rate + float((dist_scale * (np.abs(q_zz) - x_zz) ** 2).sum())


def costs(coeffs: np.ndarray, q: np.ndarray, table: np.ndarray, lam: np.ndarray) -> np.ndarray:
    lengths = std_ac_code_lengths()
    steps = table.reshape(64)[ZIGZAG[1:]].astype(np.float64)
    flat_x = coeffs.reshape(-1, 64)[:, ZIGZAG[1:]]
    flat_q = q.reshape(-1, 64)[:, ZIGZAG[1:]]
    return np.array(
        [
            block_cost(flat_q[b], np.abs(flat_x[b]) / steps, steps**2 / lam[b], lengths)
            for b in range(flat_x.shape[0])
        ]
    )


def test_std_code_lengths() -> None:
    luma, chroma = std_ac_code_lengths(), std_ac_code_lengths(chroma=True)
    assert luma[0x00] == 4 and luma[0xF0] == 11 and luma[0x01] == 2 and luma[0xFA] == 16
    assert chroma[0x00] == 2 and chroma[0xF0] == 10
    for lengths in (luma, chroma, std_dc_code_lengths(), std_dc_code_lengths(True)):
        used = lengths[lengths > 0]
        assert (2.0 ** -used.astype(float)).sum() <= 1.0
    assert (luma > 0).sum() == 162 and std_dc_code_lengths().tolist()[:3] == [2, 3, 3]


def test_trellis_is_optimal_on_sparse_blocks() -> None:
    """Exhaustive search over every magnitude 0..round(x) of a few nonzero coefficients."""
    rng = np.random.default_rng(8)
    table = np.full((8, 8), 10, dtype=np.uint16)
    n_blocks = 24
    coeffs = rng.uniform(-4.0, 4.0, (n_blocks, 64)).astype(np.float32)  # all round to 0
    positions = []
    for b in range(n_blocks):
        pos = np.sort(rng.choice(np.arange(1, 64), size=4, replace=False))
        positions.append(pos)
        coeffs[b, ZIGZAG[pos]] = rng.choice([-1, 1], 4) * rng.uniform(5.0, 38.0, 4)
    coeffs = coeffs.reshape(n_blocks, 8, 8)
    lam = rng.uniform(1.0, 12.0, n_blocks).astype(np.float32)
    q = quantize_trellis(coeffs, table, lambdas=lam)
    got = costs(coeffs, q, table, lam)
    rounded = quantize(coeffs, table).reshape(n_blocks, 64)
    for b in range(n_blocks):
        pos = positions[b]
        best = np.inf
        options = [range(abs(int(rounded[b, ZIGZAG[p]])) + 1) for p in pos]
        for combo in itertools.product(*options):
            trial = np.zeros(64, dtype=np.int16)
            trial[ZIGZAG[pos]] = combo
            best = min(best, costs(coeffs[b : b + 1], trial, table, lam[b : b + 1])[0])
        assert got[b] == pytest.approx(best, rel=1e-5, abs=1e-3)
    # Some blocks must have been changed, else the test proves nothing.
    assert (q.reshape(n_blocks, 64) != rounded).any()


@pytest.fixture(scope="module")
def astronaut_luma() -> tuple[np.ndarray, np.ndarray]:
    y = rgb_to_ycbcr(skimage.data.astronaut()[128:384, 128:384])[..., 0]
    coeffs = forward_dct(blockify(y - np.float32(128.0)))
    return coeffs, default_quant_tables(75)[0]


@pytest.mark.parametrize("weighting", ["mse", "mozjpeg"])
def test_trellis_never_costs_more_than_rounding(astronaut_luma, weighting: str) -> None:
    coeffs, table = astronaut_luma
    lam = lambda_for_table(table, coeffs, weighting)
    q = quantize_trellis(coeffs, table, lambdas=lam, weighting=weighting)
    plain = quantize(coeffs, table)
    assert q.dtype == np.int16 and q.shape == coeffs.shape
    np.testing.assert_array_equal(q[..., 0, 0], plain[..., 0, 0])
    assert np.all(np.abs(q) <= np.abs(plain)) and np.all(q * plain >= 0)
    if weighting == "mse":
        cost_q, cost_plain = costs(coeffs, q, table, lam), costs(coeffs, plain, table, lam)
        assert np.all(cost_q <= cost_plain + 1e-3)
        assert cost_q.sum() < 0.97 * cost_plain.sum()
    assert estimate_bits([[q]]) < 0.9 * estimate_bits([[plain]])


def test_trellis_trades_rate_for_distortion(astronaut_luma) -> None:
    coeffs, table = astronaut_luma
    plain = quantize(coeffs, table)
    bits, errors = [], []
    for strength in (0.25, 1.0, 4.0):
        lam = lambda_for_table(table, coeffs, "mse", strength)
        q = quantize_trellis(coeffs, table, lambdas=lam)
        bits.append(estimate_bits([[q]]))
        errors.append(float(((q * table.astype(np.float32) - coeffs) ** 2).sum()))
    plain_error = float(((plain * table.astype(np.float32) - coeffs) ** 2).sum())
    assert bits[0] > bits[1] > bits[2]
    assert plain_error < errors[0] < errors[1] < errors[2]


def test_symbol_counts_hand_example() -> None:
    blocks = np.zeros((3, 8, 8), dtype=np.int16)
    blocks[0, 0, 0] = 5
    blocks[0].flat[ZIGZAG[1]] = 3
    blocks[0].flat[ZIGZAG[20]] = -1  # run of 18: ZRL then (2, 1)
    blocks[1, 0, 0] = 5  # DC difference 0, AC empty
    blocks[2, 0, 0] = -3  # DC difference -8
    blocks[2].flat[ZIGZAG[63]] = 1  # run of 62: three ZRL then (14, 1), no EOB
    dc, ac, extra = symbol_counts(blocks)
    assert dc.tolist() == [1, 0, 0, 1, 1] + [0] * 7
    expected = np.zeros(256, dtype=int)
    expected[[0x02, 0x21, 0xE1]] = 1
    expected[0xF0] = 4
    expected[0x00] = 2
    np.testing.assert_array_equal(ac, expected)
    assert extra == 3 + 0 + 4 + 2 + 1 + 1


def test_huffman_code_lengths() -> None:
    assert huffman_code_lengths(np.array([1, 1, 2, 4])).tolist() == [3, 3, 2, 1]
    assert huffman_code_lengths(np.array([0, 7, 0])).tolist() == [0, 1, 0]
    lengths = huffman_code_lengths(np.arange(1, 200))
    assert (2.0 ** -lengths.astype(float)).sum() == pytest.approx(1.0)


def test_lambda_for_table() -> None:
    table = default_quant_tables(50)[0]
    coeffs = np.zeros((2, 8, 8), dtype=np.float32)
    coeffs[1, 3, 3] = 800.0
    moz = lambda_for_table(table, coeffs, "mozjpeg")
    assert moz.shape == (2,) and moz[1] > moz[0]
    assert moz[0] == pytest.approx(2.0**10.5 / 2.0**14.75, rel=1e-5)
    mse = lambda_for_table(table, coeffs, "mse", strength=2.0)
    assert mse[0] == mse[1] > 0
    with pytest.raises(ValueError):
        lambda_for_table(table, coeffs, "nope")  # type: ignore[arg-type]
