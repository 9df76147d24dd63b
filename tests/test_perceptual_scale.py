"""The perceptual tunes' files for the enhanced decode choose their scale (issue 17): at low
rates the x2 file for the super-resolution decode, at most the full-size file's size,
when its decode scores the higher MS-SSIM; the full-size file otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

import hybrid
from hybrid.cli import cli
from hybrid.codec.metadata import find_metadata
from hybrid.errors import InputError
from hybrid.metrics import ms_ssim
from hybrid.pipeline.requests import TUNE_MODELS, EncodeRequest
from hybrid.ratecontrol import PERCEPTUAL_DOWNSCALE_MAX_BPP

FACE = data.astronaut()[:192, 160:352]  # 192x192: q5 is about 0.2 bpp


@pytest.mark.parametrize(
    ("kwargs", "chooses"),
    [
        ({"tune": "perceptual", "mode": "enhance"}, True),
        ({"tune": "ssim", "mode": "enhance"}, True),
        ({"tune": "perceptual", "mode": "enhance", "allow_downscale": True}, True),
        ({"tune": "perceptual", "mode": "enhance", "allow_downscale": False}, False),
        ({"tune": "perceptual"}, False),  # plain viewers show what is coded: full size
        ({"tune": "psnr", "mode": "enhance"}, False),
        ({"tune": "perceptual", "mode": "enhance", "target_size": 4000}, False),
        ({"tune": "perceptual", "mode": "enhance", "scale": 2}, False),
        ({"tune": "perceptual", "mode": "enhance", "content": "screen"}, False),
        ({"tune": "perceptual", "mode": "enhance", "model_id": "enhance-fast-v4"}, False),
    ],
)
def test_which_encodes_choose_their_scale(kwargs, chooses):
    assert EncodeRequest(**kwargs).chooses_scale is chooses


@pytest.mark.parametrize("kwargs", [{"tune": "perceptual"}, {"tune": "psnr", "mode": "enhance"}])
def test_allow_downscale_without_a_target_needs_a_scale_choosing_encode(kwargs):
    with pytest.raises(InputError, match="allow_downscale"):
        EncodeRequest(allow_downscale=False, **kwargs)


def _decoded_msssim(jpeg: bytes) -> float:
    return ms_ssim(FACE, np.asarray(hybrid.decode(jpeg, enhance=True)))


def test_a_low_rate_file_comes_out_downscaled_when_that_decodes_better():
    chosen = hybrid.encode(FACE, quality=5, tune="perceptual", mode="enhance")
    full = hybrid.encode(FACE, quality=5, tune="perceptual", mode="enhance", allow_downscale=False)
    meta, full_meta = find_metadata(chosen), find_metadata(full)
    assert full_meta.mode == "enhance" and full_meta.model_id == TUNE_MODELS["perceptual"]
    assert full_meta.strength is not None
    assert meta.mode == "downscaled" and meta.model_id == "sr-fast-v1"
    assert (meta.original_width, meta.original_height) == (192, 192)
    assert meta.strength is not None  # the super-resolution strength, fitted
    assert len(chosen) <= len(full)
    assert hybrid.decode(chosen, enhance=True).size == (192, 192)
    assert _decoded_msssim(chosen) > _decoded_msssim(full) + 0.005  # at least 0.15 dB


def test_a_high_rate_file_stays_at_full_size():
    jpeg = hybrid.encode(FACE, quality=80, tune="perceptual", mode="enhance")
    assert 8 * len(jpeg) / FACE[..., 0].size > PERCEPTUAL_DOWNSCALE_MAX_BPP
    meta = find_metadata(jpeg)
    assert (meta.mode, meta.model_id) == ("enhance", TUNE_MODELS["perceptual"])
    # as the full-size encode alone gives it
    alone = hybrid.encode(
        FACE, quality=80, tune="perceptual", mode="enhance", allow_downscale=False
    )
    assert jpeg == alone


def test_the_result_says_what_was_chosen():
    _, result = hybrid.encode_to_target(FACE, quality=5, tune="perceptual", mode="enhance")
    assert result.mode == "downscaled" and result.scale == 2.0 and result.metric == "ms-ssim"
    assert "perceptual tune: x2 beats full size" in result.line()
    _, result = hybrid.encode_to_target(FACE, quality=80, tune="perceptual", mode="enhance")
    assert result.mode == "enhance" and result.scale == 1.0 and result.target == "none"


def test_cli_no_downscale_keeps_full_size(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(FACE).save(src)
    args = ["encode", str(src), "-q", "5", "--tune", "perceptual", "--mode", "enhance"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "a.jpg")])
    assert result.exit_code == 0, result.output
    assert find_metadata((tmp_path / "a.jpg").read_bytes()).mode == "downscaled"
    result = CliRunner().invoke(cli, [*args, "--no-downscale", "-o", str(tmp_path / "b.jpg")])
    assert result.exit_code == 0, result.output
    assert find_metadata((tmp_path / "b.jpg").read_bytes()).mode == "enhance"
    assert "scale 1, mode enhance" in result.stdout
    # without --mode enhance the flag still needs a target
    plain = [
        "encode",
        str(src),
        "--tune",
        "perceptual",
        "--no-downscale",
        "-o",
        str(tmp_path / "c.jpg"),
    ]
    result = CliRunner().invoke(cli, plain)
    assert result.exit_code == 2 and "--no-downscale" in result.stderr
    assert not (tmp_path / "c.jpg").exists()
