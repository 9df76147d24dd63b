"""DCT against the T.81 A.3.3 formula; block split."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.codec.dct import blockify, forward_dct, inverse_dct, unblockify


def t81_fdct(block: np.ndarray) -> np.ndarray:
    """T.81 A.3.3: S(v,u) = 1/4 C(u) C(v) sum s(y,x) cos((2x+1)u pi/16) cos((2y+1)v pi/16)."""
    out = np.zeros((8, 8))
    for v in range(8):
        for u in range(8):
            cu = 1 / np.sqrt(2) if u == 0 else 1.0
            cv = 1 / np.sqrt(2) if v == 0 else 1.0
            total = 0.0
            for y in range(8):
                for x in range(8):
                    total += (
                        block[y, x]
                        * np.cos((2 * x + 1) * u * np.pi / 16)
                        * np.cos((2 * y + 1) * v * np.pi / 16)
                    )
            out[v, u] = 0.25 * cu * cv * total
    return out


def t81_idct(coeffs: np.ndarray) -> np.ndarray:
    """T.81 A.3.3: s(y,x) = 1/4 sum_u sum_v C(u) C(v) S(v,u) cos(...) cos(...), as matrices."""
    k = np.arange(8)
    basis = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16)  # basis[u, x]
    c = np.where(k == 0, 1 / np.sqrt(2), 1.0)
    weighted = coeffs * c[:, None] * c[None, :]
    return 0.25 * basis.T @ weighted @ basis


def test_forward_matches_t81_formula() -> None:
    rng = np.random.default_rng(3)
    blocks = rng.integers(-128, 128, (3, 8, 8)).astype(np.float64)
    out = forward_dct(blocks)
    assert out.dtype == np.float64 and out.shape == (3, 8, 8)
    for b in range(3):
        np.testing.assert_allclose(out[b], t81_fdct(blocks[b]), atol=1e-9)


def test_inverse_matches_t81_formula_and_round_trips() -> None:
    rng = np.random.default_rng(4)
    coeffs = rng.normal(0, 50, (2, 5, 8, 8))
    out = inverse_dct(coeffs)
    np.testing.assert_allclose(out[1, 3], t81_idct(coeffs[1, 3]), atol=1e-9)
    np.testing.assert_allclose(forward_dct(out), coeffs, atol=1e-9)


def test_dc_is_eight_times_mean_and_float32_is_kept() -> None:
    block = np.full((8, 8), 72.0, dtype=np.float32)
    out = forward_dct(block)
    assert out.dtype == np.float32
    assert out[0, 0] == pytest.approx(576.0)
    np.testing.assert_allclose(out.reshape(-1)[1:], 0.0, atol=1e-4)


def test_blockify_layout_and_inverse() -> None:
    plane = np.arange(16 * 24).reshape(16, 24)
    blocks = blockify(plane)
    assert blocks.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(blocks[1, 2], plane[8:16, 16:24])
    np.testing.assert_array_equal(blocks[0, 1], plane[0:8, 8:16])
    np.testing.assert_array_equal(unblockify(blocks), plane)
    with pytest.raises(ValueError):
        blockify(np.zeros((8, 12)))
