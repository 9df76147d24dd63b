"""Rate control by butteraugli: ``target_butteraugli`` / ``--target-butteraugli`` keeps the
smallest file whose decode stays within a butteraugli 3-norm distance."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid import perceptual
from hybrid.batch.jobs import BatchJob, EncodeSettings
from hybrid.cli import cli
from hybrid.errors import InputError
from hybrid.perceptual import butteraugli
from hybrid.targets import make_target
from tests.helpers.butteraugli import need_butteraugli

# The plain decoder in the loop, whatever weights the checkout has installed.
pytestmark = pytest.mark.usefixtures("empty_registry")


@pytest.fixture
def no_tool(monkeypatch):
    monkeypatch.setattr(perceptual.shutil, "which", lambda name: None)


def photo(height: int = 96, width: int = 128) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_result_meets_the_target_and_a_tighter_one_costs_more_bytes():
    need_butteraugli()
    pixels = photo()
    loose, loose_result = hybrid.encode_to_target(
        pixels, target_butteraugli=3.0, allow_downscale=False
    )
    assert loose_result.metric == "butteraugli" and loose_result.decoder == "plain"
    # The reported value is the distance of the returned file's decode, within the target.
    assert loose_result.value == butteraugli(pixels, decoded(loose)).pnorm3
    assert loose_result.value <= 3.0
    assert "butteraugli 3-norm <= 3" in loose_result.target
    tight, tight_result = hybrid.encode_to_target(
        pixels, target_butteraugli=1.5, allow_downscale=False
    )
    assert tight_result.value <= 1.5 < loose_result.value
    assert len(tight) > len(loose) and tight_result.quality > loose_result.quality
    # Not far from the smallest such file: a clearly lower quality misses the target.
    lower = hybrid.encode(pixels, quality=max(1, int(tight_result.quality) - 10))
    assert butteraugli(pixels, decoded(lower)).pnorm3 > 1.5


def test_greyscale_and_the_one_line_report():
    need_butteraugli()
    grey = photo()[:, :, 0].copy()
    data, result = hybrid.encode_to_target(grey, target_butteraugli=2.0, allow_downscale=False)
    assert Image.open(io.BytesIO(data)).mode == "L"
    assert result.value <= 2.0
    line = result.line()
    assert f"butteraugli 3-norm {result.value:.3f} (plain decode)" in line and "\n" not in line


def test_unreachable_target_says_what_quality_100_gives():
    need_butteraugli()
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with pytest.raises(InputError, match=r"butteraugli 3-norm <= 0.01: .*quality 100 gives"):
        hybrid.encode(noise, target_butteraugli=0.01, allow_downscale=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_butteraugli": 2.0, "target_psnr": 30}, "give one target"),
        ({"target_butteraugli": 0}, r"target_butteraugli must be in \(0, 100\]"),
        ({"target_butteraugli": -1}, "target_butteraugli must be in"),
        ({"target_butteraugli": "far"}, "target_butteraugli must be a number"),
    ],
)
def test_bad_values_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        hybrid.encode(photo(), **kwargs)


def test_tiny_images_and_a_missing_tool_are_input_errors(no_tool):
    with pytest.raises(InputError, match="butteraugli_main, not installed .*libjxl-devtools"):
        hybrid.encode(photo(), target_butteraugli=2.0)
    with pytest.raises(InputError, match="not installed"):
        EncodeSettings(target_butteraugli=2.0)  # a batch job checks once, before any image


def test_make_target_refuses_images_under_8_pixels():
    need_butteraugli()
    with pytest.raises(InputError, match="at least 8x8"):
        make_target(7, 100, target_butteraugli=1.0)
    target = make_target(8, 8, target_butteraugli=1.0)
    assert target is not None and target.kind == "butteraugli" and target.upper_bound


# --- CLI and batch ----------------------------------------------------------------------------


def test_cli_target_butteraugli(tmp_path):
    need_butteraugli()
    src = tmp_path / "in.png"
    Image.fromarray(photo()).save(src)
    out = tmp_path / "out.jpg"
    result = CliRunner().invoke(
        cli, ["encode", str(src), "-o", str(out), "--target-butteraugli", "2.5", "--no-downscale"]
    )
    assert result.exit_code == 0, result.output
    assert "butteraugli 3-norm" in result.stdout and "target butteraugli 3-norm <= 2.5" in (
        result.stdout
    )
    assert butteraugli(photo(), decoded(out.read_bytes())).pnorm3 <= 2.5


def test_cli_help_names_the_norm():
    result = CliRunner().invoke(cli, ["encode", "--help"])
    text = " ".join(result.output.split())
    assert "--target-butteraugli D" in text and "3-norm (not the max-norm)" in text


def test_cli_missing_tool_and_bad_values_exit_2(tmp_path, no_tool):
    src = tmp_path / "in.png"
    Image.fromarray(photo()).save(src)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["encode", str(src), "-o", str(tmp_path / "o.jpg"), "--target-butteraugli", "2"]
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "libjxl-devtools" in result.output
    assert "Traceback" not in result.output
    for value in ("0", "-3", "x"):
        bad = runner.invoke(
            cli, ["encode", str(src), "-o", str(tmp_path / "o.jpg"), "--target-butteraugli", value]
        )
        assert bad.exit_code == 2 and "--target-butteraugli" in bad.output


def test_batch_settings_take_the_target_and_keep_old_fingerprints():
    need_butteraugli()
    plain = BatchJob("encode", encode=EncodeSettings(target_psnr=30.0))
    # A job without the new setting fingerprints as before it existed, so a rerun keeps the
    # rows of earlier runs.
    assert "target_butteraugli" not in json.loads(plain.fingerprint())["encode"]
    job = BatchJob("encode", encode=EncodeSettings(target_butteraugli=2.0))
    assert json.loads(job.fingerprint())["encode"]["target_butteraugli"] == 2.0
    assert job.encode is not None and job.encode.target == "target_butteraugli"
    assert job.encode.planning_kwargs() == {"target_butteraugli": 2.0}
    assert job.uses_network
    with pytest.raises(InputError, match="give one target"):
        EncodeSettings(target_butteraugli=2.0, target_size=1000)
