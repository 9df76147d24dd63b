"""IJG quality scaling against libjpeg (via Pillow), quality estimation, rounding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hybrid.codec.quant import (
    default_quant_tables,
    dequantize,
    estimate_ijg_quality,
    ijg_quality,
    ijg_scale_factor,
    ijg_tables_at,
    quality_scale,
    quantize,
    scale_quant_table,
)
from hybrid.codec.tables import STD_CHROMA_QUANT, STD_LUMA_QUANT

QUALITIES = [1, 10, 25, 50, 75, 90, 95, 100]


@pytest.fixture(scope="module")
def libjpeg_tables() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The DQT tables libjpeg writes for each quality (Pillow reports them in natural order)."""
    image = Image.fromarray(np.random.default_rng(7).integers(0, 256, (16, 16, 3), np.uint8))
    tables = {}
    for quality in QUALITIES:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            q = im.quantization
        tables[quality] = (np.array(q[0]).reshape(8, 8), np.array(q[1]).reshape(8, 8))
    return tables


@pytest.mark.parametrize("quality", QUALITIES)
def test_scaling_matches_libjpeg(quality: int, libjpeg_tables: dict) -> None:
    luma, chroma = default_quant_tables(quality)
    assert luma.dtype == np.uint16 and luma.shape == (8, 8)
    np.testing.assert_array_equal(luma, libjpeg_tables[quality][0])
    np.testing.assert_array_equal(chroma, libjpeg_tables[quality][1])


@pytest.mark.parametrize("quality", QUALITIES)
def test_estimate_recovers_libjpeg_quality(quality: int, libjpeg_tables: dict) -> None:
    assert estimate_ijg_quality(libjpeg_tables[quality][0]) == (quality, True)
    if quality > 3:  # chroma tables of qualities 1..3 are all 255 (the highest is reported)
        assert estimate_ijg_quality(libjpeg_tables[quality][1], chroma=True) == (quality, True)


def test_scaling_known_entries() -> None:
    assert scale_quant_table(STD_LUMA_QUANT, 50)[0, 0] == 16
    assert scale_quant_table(STD_LUMA_QUANT, 75)[0, 0] == 8  # (16 * 50 + 50) // 100
    assert scale_quant_table(STD_LUMA_QUANT, 80)[0, 1] == 4  # (11 * 40 + 50) // 100 = 4
    np.testing.assert_array_equal(scale_quant_table(STD_LUMA_QUANT, 100), np.ones((8, 8)))
    unclamped = scale_quant_table(STD_CHROMA_QUANT, 1, force_baseline=False)
    assert unclamped[7, 7] == 4950 and unclamped.max() > 255
    assert scale_quant_table(STD_CHROMA_QUANT, 1).max() == 255


def test_estimate_fits_non_ijg_tables() -> None:
    table = scale_quant_table(STD_LUMA_QUANT, 60) + 1
    quality, exact = estimate_ijg_quality(table)
    assert not exact and 55 <= quality <= 60
    quality, exact = estimate_ijg_quality(np.full((8, 8), 200))
    assert not exact and 8 <= quality <= 15  # geometric mean of K.1 is about 45


def test_quantize_rounds_half_away_from_zero() -> None:
    table = np.full((8, 8), 4, dtype=np.uint16)
    coeffs = np.zeros((2, 8, 8), dtype=np.float32)
    coeffs[0, 0, :6] = [10.0, -10.0, 5.96, -5.96, 1.99, -2.0]  # 2.5, -2.5, 1.49, -1.49, .4975, -.5
    coeffs[1, 0, 0] = 1e6
    coeffs[1, 0, 1] = -1e6
    q = quantize(coeffs, table)
    assert q.dtype == np.int16 and q.shape == (2, 8, 8)
    np.testing.assert_array_equal(q[0, 0, :6], [3, -3, 1, -1, 0, -1])
    assert q[1, 0, 0] == 2047 and q[1, 0, 1] == -1023  # DC 11 bits, AC 10 bits


def test_dequantize() -> None:
    table = scale_quant_table(STD_LUMA_QUANT, 50)
    q = np.ones((3, 8, 8), dtype=np.int16) * -2
    out = dequantize(q, table)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[2], -2.0 * table)


def test_the_continuous_scale_factor_is_libjpegs_rule_without_integer_division() -> None:
    """quant has two IJG scale factors, on purpose (docs/decisions.md): libjpeg's integer
    one for whole qualities and the continuous one rate control searches on. They agree
    wherever libjpeg's division is exact, and the continuous tables at libjpeg's factor are
    libjpeg's tables."""
    for quality in range(1, 101):
        exact = quality_scale(quality)
        continuous = ijg_scale_factor(quality)
        assert continuous == exact if quality >= 50 or 5000 % quality == 0 else exact < continuous
        assert abs(ijg_quality(continuous) - quality) < 1e-9
        for table, expected in zip(
            ijg_tables_at(exact), default_quant_tables(quality), strict=True
        ):
            np.testing.assert_array_equal(table, expected)
    assert quality_scale(30) == 166 and ijg_scale_factor(30) == 5000 / 30
