"""Padding, centred downsampling and libjpeg-compatible fancy upsampling."""

from __future__ import annotations

import jpeglib
import numpy as np
import pytest
from PIL import Image

from hybrid.codec.color import ycbcr_to_rgb
from hybrid.codec.sampling import downsample, pad_plane, upsample


def test_pad_plane_replicates_edges() -> None:
    plane = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    out = pad_plane(plane, 3, 4)
    np.testing.assert_array_equal(out, [[1, 2, 2, 2], [3, 4, 4, 4], [3, 4, 4, 4]])
    rgb = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    out3 = pad_plane(rgb, 2, 3)
    np.testing.assert_array_equal(out3[:, 2], rgb[:, 1])
    assert pad_plane(plane, 2, 2) is plane
    with pytest.raises(ValueError):
        pad_plane(plane, 1, 2)


def test_box_downsample_is_block_mean_and_pads_odd_sizes() -> None:
    plane = np.arange(15, dtype=np.float32).reshape(3, 5)
    out = downsample(plane, 2, 2, method="box")
    assert out.shape == (2, 3) and out.dtype == np.float32
    assert out[0, 0] == pytest.approx((0 + 1 + 5 + 6) / 4)
    # Bottom-right output covers replicated samples: rows 2, 2 and columns 4, 4.
    assert out[1, 2] == pytest.approx(14.0)
    np.testing.assert_array_equal(downsample(plane, 1, 1), plane)


@pytest.mark.parametrize("method", ["box", "triangle", "lsq"])
def test_downsample_is_centred(method: str) -> None:
    # A horizontal ramp x = column index; centred chroma site j sits at 2j + 0.5.
    ramp = np.tile(np.arange(32, dtype=np.float32), (4, 1))
    out = downsample(ramp, 1, 2, method=method)
    # lsq's edge correction decays geometrically, so compare the interior only.
    expected = np.tile(2 * np.arange(5, 11) + 0.5, (4, 1))
    np.testing.assert_allclose(out[:, 5:11], expected, atol=2e-3)
    flat = np.full((6, 10), 77.0, dtype=np.float32)
    np.testing.assert_allclose(downsample(flat, 2, 2, method=method), 77.0, atol=1e-4)


def test_triangle_taps() -> None:
    row = np.zeros((1, 8), dtype=np.float32)
    row[0, 3] = 8.0
    out = downsample(row, 1, 2, method="triangle")
    np.testing.assert_allclose(out[0], [0.0, 3.0, 1.0, 0.0])


def upsample_matrix(n: int) -> np.ndarray:
    """Fancy 2x upsampling of n samples as a (2n, n) matrix, edges replicated."""
    u = np.zeros((2 * n, n))
    for j in range(n):
        u[2 * j, j] += 0.75
        u[2 * j, max(j - 1, 0)] += 0.25
        u[2 * j + 1, j] += 0.75
        u[2 * j + 1, min(j + 1, n - 1)] += 0.25
    return u


def test_lsq_downsample_is_least_squares_inverse_of_fancy_upsampling() -> None:
    rng = np.random.default_rng(5)
    plane = rng.uniform(0, 255, (10, 12)).astype(np.float32)
    out = downsample(plane, 2, 2, method="lsq")
    full = np.kron(upsample_matrix(5), upsample_matrix(6))
    expected, *_ = np.linalg.lstsq(full, plane.astype(np.float64).ravel(), rcond=None)
    np.testing.assert_allclose(out.ravel(), expected, atol=1e-3)
    # ... and our upsample is that matrix.
    np.testing.assert_allclose(
        upsample(out, 2, 2, 10, 12).ravel(), full @ out.ravel().astype(np.float64), atol=1e-3
    )


def test_upsample_triangle_values_and_crop() -> None:
    np.testing.assert_allclose(upsample(np.array([[0.0, 4.0]]), 1, 2, 1, 4), [[0, 1, 3, 4]])
    out = upsample(np.array([[0.0, 4.0]]), 1, 2, 1, 3)
    np.testing.assert_allclose(out, [[0, 1, 3]])
    np.testing.assert_allclose(upsample(np.array([[2.0]]), 3, 3, 2, 3), np.full((2, 3), 2.0))
    with pytest.raises(ValueError):
        upsample(np.zeros((2, 2)), 2, 2, 5, 4)


def test_upsample_matches_libjpeg_fancy_upsampling(tmp_path) -> None:
    """A 4:2:0 file with flat luma and blocky chroma, decoded by Pillow (libjpeg-turbo)."""
    rng = np.random.default_rng(6)
    y = np.zeros((4, 6, 8, 8), dtype=np.int16)
    cb = np.zeros((2, 3, 8, 8), dtype=np.int16)
    cr = np.zeros((2, 3, 8, 8), dtype=np.int16)
    cb[..., 0, 0] = rng.integers(-60, 60, (2, 3)) * 8
    cr[..., 0, 0] = rng.integers(-60, 60, (2, 3)) * 8
    path = str(tmp_path / "fancy.jpg")
    jpeglib.from_dct(y, cb, cr, qt=np.ones((2, 8, 8), dtype=np.uint16)).write_dct(path)
    with Image.open(path) as im:
        decoded = np.asarray(im.convert("RGB")).astype(np.float32)

    def plane(c: np.ndarray) -> np.ndarray:
        flat = np.repeat(np.repeat(c[..., 0, 0] / 8.0 + 128.0, 8, 0), 8, 1)
        return upsample(flat, 2, 2, 32, 48)

    ycc = np.stack([np.full((32, 48), 128.0), plane(cb), plane(cr)], axis=-1)
    expected = np.clip(ycbcr_to_rgb(ycc), 0, 255)
    assert np.abs(decoded - expected).max() <= 2.0
    # Box (replication) upsampling would be far off at block edges.
    boxed = np.stack(
        [np.full((32, 48), 128.0)]
        + [np.repeat(np.repeat(c[..., 0, 0] / 8.0 + 128.0, 16, 0), 16, 1) for c in (cb, cr)],
        axis=-1,
    )
    assert np.abs(decoded - np.clip(ycbcr_to_rgb(boxed), 0, 255)).max() > 10
