"""The best (PSNR) mode: its tables, scan search, trellis weights, options and API."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

import hybrid
from hybrid.codec.encoder import image_to_frame
from hybrid.codec.options import EncodeOptions
from hybrid.codec.quant import default_quant_tables, psnr_quant_tables
from hybrid.codec.rdo import quantize_trellis, std_ac_code_lengths
from hybrid.codec.scans import search_scripts, validate_script
from hybrid.codec.writer import write_jpeg
from hybrid.errors import InputError
from hybrid.metrics import psnr
from tests.helpers.jpeg import assert_reads_back, smooth_rgb


def test_psnr_tables_by_hand() -> None:
    luma, chroma = psnr_quant_tables(50)
    # quality 50: scale 1.43; shape 16 (R / 16)^0.45 with Robidoux's R, DC x 0.7.
    assert luma[0, 0] == round(1.43 * 16 * 0.7) == 16
    assert luma[7, 7] == round(1.43 * 16 * (418 / 16) ** 0.45) == 99
    assert luma[0, 1] == round(1.43 * 16) == 23
    assert chroma[0, 0] == round(1.43 * 16 * 0.7 * 0.55) == 9
    assert chroma[7, 7] == round(1.43 * 0.55 * 16 * (418 / 16) ** 0.45) == 55
    assert luma.dtype == np.uint16 and luma.shape == (8, 8)
    # Clamped to 8-bit tables at the ends; finer as quality rises.
    assert np.all(psnr_quant_tables(1)[0] == 255) and np.all(psnr_quant_tables(100)[1] == 1)
    previous = psnr_quant_tables(1)[0]
    for q in range(2, 101):
        table = psnr_quant_tables(q)[0]
        assert np.all(table <= previous)
        previous = table


@pytest.mark.parametrize("n_comp", [1, 3])
def test_search_scripts_are_valid(n_comp: int) -> None:
    rgb = smooth_rgb(40, 24)
    pixels = rgb if n_comp == 3 else rgb[..., 0]
    frame = image_to_frame(pixels, EncodeOptions(quality=60))
    for script in search_scripts(n_comp):
        validate_script(script, frame, progressive=True)
        assert script[0].component_indices == (0,) and script[0].ss == 0


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4"])
def test_optimize_scans_keeps_the_smallest_and_reads_back(subsampling: str) -> None:
    frame = image_to_frame(smooth_rgb(61, 37), EncodeOptions.best(40, subsampling))  # type: ignore[arg-type]
    sizes = [len(write_jpeg(frame, progressive=True, scan_script=s)) for s in search_scripts(3)]
    data = write_jpeg(frame, progressive=True, optimize_scans=True)
    assert len(data) == min(sizes)
    assert_reads_back(data, frame)
    # Without progressive, optimize_scans changes nothing.
    assert write_jpeg(frame, optimize_scans=True) == write_jpeg(frame)


def test_trellis_weights_scale_like_lambda() -> None:
    rng = np.random.default_rng(0)
    coeffs = rng.laplace(0, 30, size=(50, 8, 8)).astype(np.float32)
    table = default_quant_tables(60)[0]
    lengths = std_ac_code_lengths()
    plain = quantize_trellis(coeffs, table, lengths, lambdas=40.0)
    ones = quantize_trellis(coeffs, table, lengths, lambdas=40.0, weights=np.ones((8, 8)))
    np.testing.assert_array_equal(plain, ones)
    doubled = quantize_trellis(coeffs, table, lengths, lambdas=40.0, weights=np.full((8, 8), 2.0))
    halved = quantize_trellis(coeffs, table, lengths, lambdas=20.0)
    np.testing.assert_array_equal(doubled, halved)
    assert not np.array_equal(doubled, plain)


def test_best_options() -> None:
    best = EncodeOptions.best(80, "4:4:4", restart_interval=2)
    assert (best.quality, best.subsampling, best.restart_interval) == (80, "4:4:4", 2)
    assert best.rdo and best.progressive and best.optimize_huffman and best.optimize_scans
    assert best.tables == "psnr" and best.rdo_activity == 0.5
    default = EncodeOptions()
    assert default.tables == "ijg" and not default.optimize_scans and default.rdo_activity == 0
    with pytest.raises(InputError, match="tables"):
        EncodeOptions(tables="mozjpeg")  # type: ignore[arg-type]
    for bad in (-0.1, 2.5, True, "1"):
        with pytest.raises(InputError, match="rdo_activity"):
            EncodeOptions(rdo_activity=bad)  # type: ignore[arg-type]
    frame = image_to_frame(smooth_rgb(16, 16), EncodeOptions(quality=50, tables="psnr"))
    np.testing.assert_array_equal(frame.quant_tables[0], psnr_quant_tables(50)[0])
    np.testing.assert_array_equal(frame.quant_tables[1], psnr_quant_tables(50)[1])


def test_best_options_for_the_enhanced_decode(photo: np.ndarray) -> None:
    """The psnr tune's trellis for a file a network decodes: 0.6 of the multiplier, no
    texture adaptation; the perceptual tune's: coarser chroma, 0.7 of the multiplier and
    more texture adaptation (ENHANCED_TUNES); the ssim tune keeps its settings."""
    enhanced = EncodeOptions.best(60, decoder="enhanced")
    assert (enhanced.rdo_activity, enhanced.rdo_lambda, enhanced.tables) == (0.0, 0.6, "psnr")
    assert EncodeOptions.best(60).rdo_lambda == 1.0
    perceptual = EncodeOptions.best(60, tune="perceptual", decoder="enhanced")
    assert (perceptual.tables, perceptual.rdo_activity, perceptual.rdo_lambda) == (
        "perceptual-enhanced",
        1.25,
        0.7,
    )
    # the tune's files for any decoder: the same coarser chroma and trellis (TUNES)
    assert EncodeOptions.best(60, tune="perceptual").tables == "perceptual-enhanced"
    assert EncodeOptions.best(60, tune="perceptual").rdo_lambda == 0.7
    assert EncodeOptions.best(60, tune="ssim", decoder="enhanced") == EncodeOptions.best(
        60, tune="ssim"
    )
    with pytest.raises(InputError, match="decoder"):
        EncodeOptions.best(60, decoder="screen")  # type: ignore[arg-type]
    for bad in (0.0, 5.0, True, "1"):
        with pytest.raises(InputError, match="rdo_lambda"):
            EncodeOptions(rdo_lambda=bad)  # type: ignore[arg-type]
    # a smaller multiplier keeps more coefficients: more bytes, closer to the source
    crop = np.ascontiguousarray(photo[:128, :128])
    sizes, errors = [], []
    for lam in (0.3, 1.0, 3.0):
        frame = image_to_frame(crop, EncodeOptions(quality=60, rdo=True, rdo_lambda=lam))
        data = write_jpeg(frame)
        sizes.append(len(data))
        errors.append(-psnr(crop, decode(data)))
    assert sizes[0] > sizes[1] > sizes[2] and errors[0] < errors[1] < errors[2]


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[64:448:, 32:480])


@pytest.mark.parametrize("quality", [20, 50, 85])
def test_best_is_smaller_at_about_equal_psnr(photo: np.ndarray, quality: int) -> None:
    default = hybrid.encode(photo, quality=quality)
    best = hybrid.encode(photo, quality=quality, best=True)
    info = hybrid.info(best)
    assert info.process == "progressive" and info.num_scans in (5, 9)
    # Measured on this crop: size 0.80 / 0.78 / 0.78 of the default, PSNR -0.1 / +0.1 / +0.2 dB.
    assert len(best) < 0.85 * len(default)
    assert psnr(photo, decode(best)) > psnr(photo, decode(default)) - 0.3


def test_best_frame_reads_back_exactly(photo: np.ndarray) -> None:
    options = EncodeOptions.best(30)
    frame = image_to_frame(photo[:101, :67], options)
    data = write_jpeg(frame, progressive=True, optimize_scans=True)
    assert_reads_back(data, frame)
    grey = image_to_frame(photo[:50, :77, 1], options)
    assert_reads_back(write_jpeg(grey, progressive=True, optimize_scans=True), grey)


def test_best_api_options_and_errors(photo: np.ndarray) -> None:
    small = photo[:64, :64]
    tables = (np.full((8, 8), 7), np.full((8, 8), 9))
    data = hybrid.encode(small, best=True, quant_tables=tables, restart_interval=2)
    info = hybrid.info(data)
    assert info.restart_interval == 2
    np.testing.assert_array_equal(info.quant_tables[0], tables[0])
    # With a target the best mode's own tables are scaled (tests/test_ratecontrol.py).
    targeted = hybrid.encode(small, best=True, target_bpp=1.0)
    assert len(targeted) <= 64 * 64 / 8 and hybrid.info(targeted).sof_marker == 0xC2
