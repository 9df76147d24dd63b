"""Colour transform: ITU-T T.871 (JFIF) formulas and round trip."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.codec.color import rgb_to_ycbcr, ycbcr_to_rgb, ycbcr_to_rgb_uint8


def t871_forward(rgb: np.ndarray) -> np.ndarray:
    """T.871 section 7 equations, written out."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.299 / 1.772 * r - 0.587 / 1.772 * g + 0.886 / 1.772 * b + 128
    cr = 0.701 / 1.402 * r - 0.587 / 1.402 * g - 0.114 / 1.402 * b + 128
    return np.stack([y, cb, cr], axis=-1)


@pytest.mark.parametrize(
    ("rgb", "ycc"),
    [
        ((0, 0, 0), (0.0, 128.0, 128.0)),
        ((255, 255, 255), (255.0, 128.0, 128.0)),
        ((128, 128, 128), (128.0, 128.0, 128.0)),
        ((255, 0, 0), (76.245, 84.9714, 255.5)),
        ((0, 255, 0), (149.685, 43.5277, 21.2347)),
        ((0, 0, 255), (29.07, 255.5, 107.2653)),
    ],
)
def test_known_values(rgb: tuple[int, int, int], ycc: tuple[float, float, float]) -> None:
    out = rgb_to_ycbcr(np.array([[rgb]], dtype=np.uint8))
    assert out.dtype == np.float32 and out.shape == (1, 1, 3)
    np.testing.assert_allclose(out[0, 0], ycc, atol=2e-3)


def test_matches_t871_formulas_and_is_not_rounded() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    out = rgb_to_ycbcr(rgb)
    np.testing.assert_allclose(out, t871_forward(rgb), atol=1e-3)
    assert np.any(np.abs(out - np.rint(out)) > 0.1)


def test_inverse_formulas() -> None:
    ycc = np.array([[[200.0, 90.0, 250.0], [16.0, 240.0, 128.0]]], dtype=np.float32)
    y, cb, cr = ycc[..., 0], ycc[..., 1] - 128, ycc[..., 2] - 128
    expected = np.stack(
        [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1
    )
    out = ycbcr_to_rgb(ycc)
    np.testing.assert_allclose(out, expected, atol=1e-3)
    assert out[0, 0, 0] > 255  # unclipped: 200 + 1.402 * 122
    clipped = ycbcr_to_rgb_uint8(ycc)
    assert clipped.dtype == np.uint8
    np.testing.assert_array_equal(clipped, np.clip(np.rint(expected), 0, 255))


def test_round_trip_is_exact_on_uint8() -> None:
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (200_000, 3), dtype=np.uint8)
    corners = np.array(np.meshgrid([0, 255], [0, 255], [0, 255])).reshape(3, -1).T
    rgb = np.concatenate([rgb, corners.astype(np.uint8)])
    np.testing.assert_array_equal(ycbcr_to_rgb_uint8(rgb_to_ycbcr(rgb)), rgb)
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(rgb)) - rgb).max() < 1e-3


def test_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError):
        rgb_to_ycbcr(np.zeros((2, 2, 4), dtype=np.uint8))
