"""The best mode's tunes (``tune=psnr|ssim|perceptual``, ``hybrid encode --tune``): psnr
is ``best=True`` byte for byte; the perceptual tunes change the chroma tables and the
trellis's texture adaptation, record the perceptual model for enhancing decoders, and are
checked like every other keyword."""

from __future__ import annotations

import numpy as np
import pytest

import hybrid
from hybrid.batch.jobs import BatchJob, EncodeSettings
from hybrid.codec.headers import parse_info
from hybrid.codec.options import TUNES, EncodeOptions
from hybrid.codec.quant import family_quant_tables, perceptual_quant_tables, psnr_quant_tables
from hybrid.errors import InputError
from hybrid.pipeline.requests import TUNE_MODELS, EncodeRequest
from tests.helpers.cli import assert_one_line_error, photo, run, save_png


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return photo(64, 80, seed=3)


def test_psnr_tune_is_the_best_mode_byte_for_byte(image):
    assert hybrid.encode(image, quality=40, tune="psnr") == hybrid.encode(
        image, quality=40, best=True
    )
    assert EncodeOptions.best(40) == EncodeOptions.best(40, tune="psnr")


def test_perceptual_tunes_change_chroma_tables_and_trellis_only():
    psnr = EncodeOptions.best(50)
    luma_p, chroma_p = psnr_quant_tables(50)
    for tune in ("ssim", "perceptual"):
        options = EncodeOptions.best(50, tune=tune)
        assert (options.tables, options.rdo_activity, options.rdo_lambda) == TUNES[tune]
        assert (options.rdo, options.progressive, options.optimize_scans) == (True,) * 3
        assert options.rdo_activity > psnr.rdo_activity
        luma_t, chroma_t = family_quant_tables(options.tables, 50)
        np.testing.assert_array_equal(luma_p, luma_t)  # same luma steps
        assert (chroma_t >= chroma_p).all() and (chroma_t > chroma_p).sum() > 32  # coarser
    # the perceptual tune's files for any decoder: coarser chroma and a smaller trellis
    # multiplier than the ssim tune's, chosen with the tune's decoder in the loop; the same
    # settings as its files for the enhanced decode
    perceptual, ssim = (
        EncodeOptions.best(50, tune="perceptual"),
        EncodeOptions.best(50, tune="ssim"),
    )
    assert (perceptual.tables, perceptual.rdo_activity, perceptual.rdo_lambda) == (
        "perceptual-enhanced",
        1.25,
        0.7,
    )
    assert perceptual == EncodeOptions.best(50, tune="perceptual", decoder="enhanced")
    assert (ssim.tables, ssim.rdo_lambda) == ("perceptual", 1.0)


@pytest.mark.parametrize("tune", ["ssim", "perceptual"])
def test_perceptual_tunes_record_the_perceptual_model(image, tune):
    data = hybrid.encode(image, quality=40, tune=tune)
    meta = parse_info(data).hybrid_metadata
    assert meta is not None and meta.model_id == TUNE_MODELS[tune] == "enhance-perceptual-v4"
    luma, chroma = family_quant_tables(TUNES[tune][0], 40)
    tables = parse_info(data).quant_tables
    np.testing.assert_array_equal(tables[0], luma)
    np.testing.assert_array_equal(tables[1], chroma)


def test_perceptual_tune_for_the_enhanced_decode_codes_chroma_coarser(image):
    """A full-size ``--tune perceptual --mode enhance`` file: the "perceptual-enhanced"
    tables (same luma, coarser chroma) and 0.7 of the trellis multiplier (ENHANCED_TUNES),
    so more bytes go to the luma the network restores chroma from."""
    data = hybrid.encode(image, quality=40, tune="perceptual", mode="enhance")
    info = parse_info(data)
    assert info.width == image.shape[1]  # small image: kept at full size
    luma, chroma = family_quant_tables("perceptual-enhanced", 40)
    np.testing.assert_array_equal(info.quant_tables[0], luma)
    np.testing.assert_array_equal(info.quant_tables[1], chroma)
    luma_t, chroma_t = perceptual_quant_tables(40)
    np.testing.assert_array_equal(luma, luma_t)
    assert (chroma >= chroma_t).all() and (chroma > chroma_t).sum() > 32
    ssim_mode = hybrid.encode(image, quality=40, tune="ssim")
    assert parse_info(ssim_mode).quant_tables[1].tolist() == chroma_t.tolist()


def test_given_model_or_screen_class_is_not_overridden(image):
    assert EncodeRequest(tune="perceptual", model_id="enhance-fast-v4").model_id == (
        "enhance-fast-v4"
    )
    assert EncodeRequest(tune="perceptual", content="screen").model_id is None
    assert EncodeRequest(tune="perceptual", target_bpp=1.0).model_id is None
    assert EncodeRequest(tune="perceptual", scale=2).model_id is None
    assert EncodeRequest(tune="psnr").model_id is None
    assert not EncodeRequest(tune="psnr").planned


def test_a_tune_implies_the_best_mode():
    options = EncodeRequest(tune="perceptual", quality=30).options
    assert options == EncodeOptions.best(30, tune="perceptual")


@pytest.mark.parametrize("bad", ["PSNR", "butteraugli", 3, ""])
def test_unknown_tune_is_one_input_error(bad):
    with pytest.raises(InputError, match="tune must be one of psnr, ssim, perceptual"):
        EncodeRequest(tune=bad)
    with pytest.raises(InputError, match="tune must be one of"):
        EncodeOptions.best(50, tune=bad)


def test_rate_control_scales_the_perceptual_tables(image):
    data, result = hybrid.encode_to_target(image, tune="perceptual", target_bpp=1.5)
    assert result.bpp <= 1.5
    info = parse_info(data)
    # a target may pick a downscaled file, whose record names its SR model: no tune model
    assert info.hybrid_metadata is not None
    assert info.hybrid_metadata.model_id != TUNE_MODELS["perceptual"]
    luma, chroma = info.quant_tables[0], info.quant_tables[1]
    # with the enhanced decode in the loop, the perceptual tune's tables for that decoder at
    # some scale: chroma / luma as family_tables_at("perceptual-enhanced", ...) makes it
    ratio = chroma.astype(float) / luma
    assert 1.05 < float(np.median(ratio)) < 1.35


def test_cli_tune(tmp_path):
    src = save_png(tmp_path / "a.png")
    result = run("encode", src, "-o", tmp_path / "a.jpg", "--tune", "perceptual", "-q", "40")
    assert result.exit_code == 0, result.output
    meta = parse_info((tmp_path / "a.jpg").read_bytes()).hybrid_metadata
    assert meta is not None and meta.model_id == TUNE_MODELS["perceptual"]
    bad = run("encode", src, "-o", tmp_path / "b.jpg", "--tune", "vmaf")
    assert "--tune" in assert_one_line_error(bad)
    assert not (tmp_path / "b.jpg").exists()


def test_batch_fingerprint_unchanged_without_a_tune():
    plain = BatchJob(kind="encode", encode=EncodeSettings())
    assert '"tune"' not in plain.fingerprint()
    tuned = BatchJob(kind="encode", encode=EncodeSettings(tune="perceptual"))
    assert '"tune":"perceptual"' in tuned.fingerprint()
    assert EncodeSettings(tune="perceptual").api_kwargs()["tune"] == "perceptual"
