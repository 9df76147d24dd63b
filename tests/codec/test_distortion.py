"""RGB distortion weights and the image multiplier of the trellis."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.codec.distortion import (
    RGB_LAMBDA_SCALE,
    activity_lambdas,
    component_weights,
    image_lambda,
    rgb_weight,
    upsampling_gain,
)


def test_rgb_weights_from_the_jfif_matrix() -> None:
    # Mean over R, G, B of the squared column of T.871's inverse matrix.
    assert rgb_weight(0) == pytest.approx(1.0)
    assert rgb_weight(1) == pytest.approx((0.344136286**2 + 1.772**2) / 3)
    assert rgb_weight(2) == pytest.approx((1.402**2 + 0.714136286**2) / 3)
    assert rgb_weight(1) == pytest.approx(1.08614, abs=1e-5)
    assert rgb_weight(2) == pytest.approx(0.82520, abs=1e-5)


def test_upsampling_gain_by_hand() -> None:
    np.testing.assert_array_equal(upsampling_gain(1, 1), np.ones((8, 8)))
    # 1-D DC basis c = 1/sqrt(8) on 8 samples, alone: the triangle upsampler gives 14 samples
    # of c, two of 0.75 c and two of 0.25 c (the blurred edges): energy 15.25 / 8.
    g1 = 15.25 / 8
    assert upsampling_gain(2, 1)[0, 0] == pytest.approx(g1)
    assert upsampling_gain(2, 2)[0, 0] == pytest.approx(g1 * g1)
    # Separable; damps high frequencies monotonically; symmetric.
    gain = upsampling_gain(2, 2)
    outer = np.outer(upsampling_gain(2, 1)[:, 0], upsampling_gain(1, 2)[0])
    np.testing.assert_allclose(gain, outer, rtol=1e-5)
    assert np.all(np.diff(np.diag(gain)) < 0) and gain[7, 7] == pytest.approx(0.302, abs=1e-3)
    np.testing.assert_allclose(gain, gain.T, rtol=1e-5)
    # Replication (factor 3) multiplies a constant's energy by 3, with no blur.
    assert upsampling_gain(3, 1)[0, 0] == pytest.approx(3.0)


def test_component_weights() -> None:
    np.testing.assert_array_equal(component_weights(0, 1, 1), np.ones((8, 8)))
    np.testing.assert_allclose(component_weights(1, 2, 2), rgb_weight(1) * upsampling_gain(2, 2))
    np.testing.assert_array_equal(component_weights(1, 2, 2, colour=False), np.ones((8, 8)))


def test_image_lambda_uses_the_luma_geometric_mean() -> None:
    assert image_lambda(np.full((8, 8), 10)) == pytest.approx(RGB_LAMBDA_SCALE * 100.0)
    table = np.full((8, 8), 4)
    table[0, 0] = 99  # DC does not count
    table[7, 7] = 64  # geometric mean of squares: (16^62 * 4096)^(1/63)
    expected = RGB_LAMBDA_SCALE * np.exp((62 * np.log(16.0) + np.log(4096.0)) / 63)
    assert image_lambda(table) == pytest.approx(expected)


def test_activity_lambdas_by_hand() -> None:
    table = np.full((8, 8), 2.0)
    coeffs = np.zeros((2, 8, 8), dtype=np.float32)
    coeffs[1, 0, 1] = 2.0 * np.sqrt(63 * 8.0)  # mean squared AC in steps: 8
    np.testing.assert_array_equal(activity_lambdas(coeffs, table, 10.0, 0.0), [10.0, 10.0])
    # activities 0 and 8, mean 4, offset 1: ratios 1/5 and 9/5.
    got = activity_lambdas(coeffs, table, 10.0, 0.5)
    np.testing.assert_allclose(got, [10 * (1 / 5) ** 0.5, 10 * (9 / 5) ** 0.5], rtol=1e-5)
    assert activity_lambdas(np.zeros((0, 8, 8)), table, 1.0, 0.5).shape == (0,)


def test_grey_scale_is_the_mse_optimum() -> None:
    from hybrid.codec.distortion import GREY_LAMBDA_SCALE
    from hybrid.codec.rdo import MSE_LAMBDA_SCALE

    assert GREY_LAMBDA_SCALE == MSE_LAMBDA_SCALE
