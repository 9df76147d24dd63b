"""Pixels from coefficients (idct, upsample, colour, decoder) against Pillow, bit for bit.

Pillow decodes with libjpeg-turbo's defaults (ISLOW IDCT, fancy upsampling, fixed-point
YCbCr -> RGB); :func:`hybrid.codec.decoder.decode_pixels` must give the same bytes from the
coefficients libjpeg (jpeglib) reads. The full sweep (all of val at q10/30/75/95 in every
layout, odd sizes, the realworld corpus) is recorded in docs/decisions.md; this is its
fast guard.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import jpeglib
import numpy as np
import pytest
from PIL import Image

from hybrid.codec.decoder import decode_pixels
from hybrid.codec.headers import parse_info
from hybrid.enhance.jpeg_input import load_planes
from tests.helpers.corpus import sample_image
from tests.helpers.jpeg import pillow_jpeg


def _from_coefficients(data: bytes, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "in.jpg"
    path.write_bytes(data)
    jpeg = jpeglib.read_dct(str(path))
    grey = jpeg.Cb is None
    comps = [jpeg.Y] if grey else [jpeg.Y, jpeg.Cb, jpeg.Cr]
    tables = [np.asarray(jpeg.qt)[int(i)] for i in np.asarray(jpeg.quant_tbl_no)[: len(comps)]]
    sampling = [(int(v), int(h)) for v, h in np.asarray(jpeg.samp_factor)[: len(comps)]]
    info = parse_info(data)
    return decode_pixels(comps, tables, sampling, info.height, info.width)


def _assert_as_pillow(data: bytes, tmp_path: Path) -> None:
    expected = np.asarray(Image.open(io.BytesIO(data)))
    got = _from_coefficients(data, tmp_path)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), int((got != expected).sum())


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (9, 17), (17, 9), (33, 21), (70, 101)])
@pytest.mark.parametrize("subsampling", [0, 1, 2])
@pytest.mark.parametrize("progressive", [False, True])
def test_pillow_files_decode_as_pillow(tmp_path, size, subsampling, progressive):
    pixels = sample_image(*size, seed=size[0] * 7 + subsampling)
    for quality in (10, 95):
        data = pillow_jpeg(
            pixels, quality=quality, subsampling=subsampling, progressive=progressive
        )
        _assert_as_pillow(data, tmp_path)


@pytest.mark.parametrize("size", [(1, 1), (17, 9), (64, 48)])
def test_greyscale_and_restart_intervals_decode_as_pillow(tmp_path, size):
    pixels = sample_image(*size, seed=3)
    grey = np.asarray(Image.fromarray(pixels).convert("L"))
    _assert_as_pillow(pillow_jpeg(grey, quality=30), tmp_path)
    _assert_as_pillow(pillow_jpeg(pixels, quality=75, restart_marker_blocks=1), tmp_path)


@pytest.mark.parametrize("samp", [((1, 2), (1, 1), (1, 1)), ((2, 1), (1, 1), (1, 1))])
@pytest.mark.parametrize("size", [(1, 1), (17, 9), (40, 57)])
def test_440_and_422_from_libjpeg_decode_as_pillow(tmp_path, samp, size):
    """4:4:0 (h1v2) and 4:2:2, written by libjpeg (jpeglib); samp_factor is (v, h)."""
    image = jpeglib.from_spatial(np.ascontiguousarray(sample_image(*size, seed=5)))
    image.samp_factor = samp
    path = tmp_path / "w.jpg"
    image.write_spatial(str(path), qt=40)
    _assert_as_pillow(path.read_bytes(), tmp_path)


@pytest.mark.skipif(shutil.which("cjpeg") is None, reason="cjpeg not installed")
def test_unrefined_progressive_falls_back_to_pillow(tmp_path):
    """A progressive file whose low AC coefficients never get their last bit: libjpeg-turbo
    smooths the blocks, so the coefficients alone do not give its pixels; the header parse
    says so and load_planes asks Pillow."""
    script = tmp_path / "scans.txt"
    script.write_text("0,1,2: 0-0, 0, 1;\n0: 1-63, 0, 2;\n1: 1-63, 0, 0;\n2: 1-63, 0, 0;\n")
    source = tmp_path / "in.ppm"
    Image.fromarray(sample_image(48, 64, seed=9)).save(source)
    out = tmp_path / "p.jpg"
    subprocess.run(
        ["cjpeg", "-quality", "50", "-scans", str(script), "-outfile", str(out), str(source)],
        check=True,
    )
    data = out.read_bytes()
    assert not parse_info(data).fully_refined
    expected = np.asarray(Image.open(io.BytesIO(data)))
    assert not np.array_equal(_from_coefficients(data, tmp_path), expected)
    assert np.array_equal(load_planes(data).pixels, expected)


def test_fully_refined_files():
    pixels = sample_image(32, 32, seed=1)
    for progressive in (False, True):
        assert parse_info(pillow_jpeg(pixels, progressive=progressive)).fully_refined


@pytest.mark.parametrize("band", [2, 6, 64])
@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_band_edges_decode_as_pillow(tmp_path, monkeypatch, band, subsampling):
    """Upsampling and colour run in bands of output rows: with bands of 2, 6 and 64 rows of
    a 41-wide image (BAND_PIXELS = band * 41), odd heights included, every band edge and
    the image's last row agree with Pillow; so do IDCT chunks of one block row (flat and
    busy blocks mixed at quality 10, all busy at 90)."""
    import hybrid.codec.decoder as decoder
    import hybrid.codec.idct as idct

    monkeypatch.setattr(decoder, "BAND_PIXELS", band * 41)
    monkeypatch.setattr(idct, "CHUNK_BLOCKS", 1 if band == 2 else idct.CHUNK_BLOCKS)
    for height in (37, 38, 130):
        pixels = sample_image(height, 41, seed=height + subsampling)
        for quality in (10, 90):
            data = pillow_jpeg(pixels, quality=quality, subsampling=subsampling)
            _assert_as_pillow(data, tmp_path)


@pytest.mark.parametrize("samp", [((1, 2), (1, 1), (1, 1)), ((2, 1), (1, 1), (1, 1))])
def test_band_edges_of_440_and_422_decode_as_pillow(tmp_path, monkeypatch, samp):
    """4:4:0 (vertical-only upsampling, with context rows at band edges) and 4:2:2 written
    by libjpeg, in bands of 6 rows."""
    import hybrid.codec.decoder as decoder

    monkeypatch.setattr(decoder, "BAND_PIXELS", 6 * 41)
    for height in (37, 130):
        image = jpeglib.from_spatial(np.ascontiguousarray(sample_image(height, 41, seed=height)))
        image.samp_factor = samp
        path = tmp_path / "w.jpg"
        image.write_spatial(str(path), qt=40)
        _assert_as_pillow(path.read_bytes(), tmp_path)


def test_colour_conversion_is_libjpegs_for_every_input():
    """ycbcr_to_rgb_libjpeg against jdcolor.c's table formulation, for all 2**24 inputs."""
    from hybrid.codec.color import ycbcr_to_rgb_libjpeg

    half = 1 << 15
    x = np.arange(256, dtype=np.int64) - 128
    cr_r = (int(1.40200 * 65536 + 0.5) * x + half) >> 16
    cb_b = (int(1.77200 * 65536 + 0.5) * x + half) >> 16
    cr_g = -int(0.71414 * 65536 + 0.5) * x
    cb_g = -int(0.34414 * 65536 + 0.5) * x + half
    cb, cr = (
        a.astype(np.uint8) for a in np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    )
    green_offset = (cb_g[cb] + cr_g[cr]) >> 16
    for level in range(256):
        luma = np.full(cb.shape, level, dtype=np.uint8)
        got = ycbcr_to_rgb_libjpeg(luma, cb, cr).astype(np.int64)
        assert np.array_equal(got[..., 0], np.clip(level + cr_r[cr], 0, 255)), level
        assert np.array_equal(got[..., 1], np.clip(level + green_offset, 0, 255)), level
        assert np.array_equal(got[..., 2], np.clip(level + cb_b[cb], 0, 255)), level
