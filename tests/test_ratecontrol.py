"""Rate control: size/bpp targets met from below, quality targets reached, mode choice."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid.cli import cli
from hybrid.codec.quant import ijg_scale_factor
from hybrid.errors import InputError
from hybrid.ratecontrol import (
    RateControlResult,
    blend_tables,
    factor_to_quality,
    fill_gap,
    parse_size,
)

# The plain decoder in the loop, whatever weights the checkout has installed.
pytestmark = pytest.mark.usefixtures("empty_registry")


def astronaut(size: int = 192) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:96, 0:128]
    gradient = np.stack([x * 2, y * 2, (x + y)], -1).astype(np.uint8)
    noisy = np.clip(gradient + rng.normal(0, 20, gradient.shape), 0, 255).astype(np.uint8)
    return {
        "photo": astronaut(128)[:96],
        "gradient": gradient,
        "noisy": noisy,
        "grey": astronaut(128)[:96, :, 0].copy(),
    }


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    # Deliberately independent of hybrid.metrics.psnr (which rate control measures with):
    # the tests below check the value rate control reports against this one.
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("20000", 20000),
        (20000, 20000),
        ("150KB", 150_000),
        ("150kb", 150_000),
        ("150 kB", 150_000),
        ("150K", 150_000),
        ("1.5MB", 1_500_000),
        ("64KiB", 65_536),
        ("2MiB", 2 * 1024 * 1024),
        ("999B", 999),
        ("12.9", 12),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "abc", "0", "-5", "1.5.5", "15XB", "0.4", True, 1.5, None])
def test_parse_size_rejects(bad):
    with pytest.raises(InputError):
        parse_size(bad)


def test_quality_factor_round_trip():
    for quality in range(1, 101):
        assert factor_to_quality(ijg_scale_factor(quality)) == quality


# --- size targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["photo", "gradient", "noisy", "grey"])
@pytest.mark.parametrize("target", [1200, 3000, 9000])
def test_size_target_is_never_exceeded(name, target):
    pixels = images()[name]
    data, result = hybrid.encode_to_target(pixels, target_size=target)
    assert len(data) == result.bytes <= target
    assert result.bpp == pytest.approx(8 * len(data) / (128 * 96))
    info = hybrid.info(data)
    assert info.hybrid_metadata.original_width == 128
    if result.scale == 1.0:
        assert (info.width, info.height) == (128, 96) and result.mode == "plain"
    else:
        assert info.hybrid_metadata.mode == result.mode == "downscaled"
        assert info.hybrid_metadata.scale == result.scale
    assert hybrid.encode(pixels, target_size=target) == data  # deterministic, same API


def test_size_target_lands_within_three_percent_below():
    pixels = astronaut(192)
    for target in (6000, 15000):
        data, result = hybrid.encode_to_target(pixels, target_size=target, allow_downscale=False)
        assert 0.97 * target <= len(data) <= target, (len(data), target)
        assert result.scale == 1.0 and result.metric == "psnr" and result.decoder == "plain"
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert result.value == pytest.approx(psnr(decoded, pixels), abs=1e-6)


def test_blend_tables_moves_differing_entries_highest_frequency_first():
    from hybrid.codec.quant import default_quant_tables
    from hybrid.codec.tables import UNZIGZAG

    coarse, fine = default_quant_tables(90), default_quant_tables(91)
    differ = sum(int((a != b).sum()) for a, b in zip(coarse, fine, strict=True))
    same, total = blend_tables(coarse, fine, 0)
    assert total == differ > 0
    assert all(np.array_equal(a, b) for a, b in zip(same, coarse, strict=True))
    full, _ = blend_tables(coarse, fine, total + 5)
    assert all(np.array_equal(a, b) for a, b in zip(full, fine, strict=True))
    one, _ = blend_tables(coarse, fine, 1)
    changed = [
        (t, r, c) for t in range(2) for r, c in zip(*np.nonzero(one[t] != coarse[t]), strict=True)
    ]
    assert len(changed) == 1
    t, r, c = changed[0]
    highest = max(
        int(UNZIGZAG[rr * 8 + cc])
        for tt in range(2)
        for rr, cc in zip(*np.nonzero(coarse[tt] != fine[tt]), strict=True)
    )
    assert UNZIGZAG[r * 8 + c] == highest and one[t][r, c] == fine[t][r, c]
    assert coarse[0].dtype == one[0].dtype == np.uint16


def test_fill_gap_finds_the_largest_fitting_count():
    sizes = [900, 920, 940, 955, 975, 990, 1010, 1040]
    calls = []

    def encode(k: int) -> bytes:
        calls.append(k)
        return bytes(sizes[k])

    assert fill_gap(encode, len(sizes) - 1, 1000) == 5
    assert len(set(calls)) <= 4  # bisection, not a scan
    assert fill_gap(encode, len(sizes) - 1, 909) == 0  # nothing between fits
    # early stop: the start is already within 1 % of the limit
    assert fill_gap(lambda k: bytes(sizes[k]), 7, 905) == 0


def test_fractional_step_fills_where_one_table_step_jumps():
    # photo at 98 % of its quality-100 size: the step between the two nearest table scales
    # is about 5 % of the size here, so only a fractional step lands within 1 %
    pixels = images()["photo"]
    limit = int(0.98 * len(hybrid.encode(pixels, quality=100)))
    data, result = hybrid.encode_to_target(pixels, target_size=limit, allow_downscale=False)
    assert 0.99 * limit <= len(data) <= limit, (len(data), limit)
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    coarser = hybrid.encode(pixels, quality=math.floor(result.quality))
    assert len(coarser) < len(data)
    assert psnr(decoded, pixels) > psnr(np.asarray(Image.open(io.BytesIO(coarser))), pixels)


def test_bpp_target_counts_original_pixels():
    pixels = astronaut(128)
    data, result = hybrid.encode_to_target(pixels, target_bpp=1.0)
    assert len(data) <= math.floor(128 * 128 / 8)
    assert result.bpp <= 1.0


def test_small_target_chooses_the_downscaled_mode():
    pixels = astronaut(192)
    smallest_full = len(hybrid.encode(pixels, quality=1))
    target = smallest_full - 100
    data, result = hybrid.encode_to_target(pixels, target_size=target)
    assert len(data) <= target and result.scale > 1.0 and result.mode == "downscaled"
    assert result.decoder == "plain + bicubic"
    restored = hybrid.decode(data, upscale=True)
    assert restored.size == (192, 192)
    assert result.value == pytest.approx(psnr(np.asarray(restored), pixels), abs=1e-6)
    with pytest.raises(InputError, match="cannot meet the target"):
        hybrid.encode(pixels, target_size=target, allow_downscale=False)


def test_fixed_scale_with_a_target():
    data, result = hybrid.encode_to_target(astronaut(192), target_size=4000, scale=2)
    assert result.scale == 2.0 and len(data) <= 4000
    assert hybrid.info(data).width == 96


@pytest.mark.parametrize("target", [1, 100, "300B"])
def test_impossible_size_is_a_clear_input_error(target):
    with pytest.raises(InputError, match=r"cannot meet the target size <= \d+ bytes: .*quality 1"):
        hybrid.encode(astronaut(128), target_size=target)


# --- quality targets --------------------------------------------------------------------------


def test_psnr_target_is_reached_with_a_smaller_file():
    pixels = astronaut(128)
    data, result = hybrid.encode_to_target(pixels, target_psnr=30.0)
    decoded = np.asarray(hybrid.decode(data, upscale=True).convert("RGB"))
    assert psnr(decoded, pixels) >= 30.0
    assert result.value == pytest.approx(psnr(decoded, pixels), abs=1e-6)
    assert len(data) < len(hybrid.encode(pixels, quality=95))
    # a clearly lower quality misses the target: the search did not overshoot by much
    lower = hybrid.encode(pixels, quality=max(1, int(result.quality) - 8))
    assert psnr(np.asarray(Image.open(io.BytesIO(lower)).convert("RGB")), pixels) < 30.0


def test_msssim_target():
    pixels = astronaut(192)
    data, result = hybrid.encode_to_target(pixels, target_msssim=0.95, allow_downscale=False)
    assert result.metric == "ms-ssim" and result.value >= 0.95
    with pytest.raises(InputError, match="176x176"):
        hybrid.encode(astronaut(128), target_msssim=0.9)


def test_enhanced_decoder_in_the_loop_when_weights_are_installed(empty_registry, monkeypatch):
    import hybrid.enhance as enhance_pkg
    from tests.helpers.registry import register_tiny_enhancer

    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    register_tiny_enhancer(empty_registry)
    pixels = astronaut(64)[:48]
    data, result = hybrid.encode_to_target(pixels, target_psnr=24.0, allow_downscale=False)
    assert result.decoder == "enhanced" and result.value >= 24.0
    enhanced = np.asarray(hybrid.decode(data, enhance=True))
    assert result.value == pytest.approx(psnr(enhanced, pixels), abs=1e-6)
    _, result = hybrid.encode_to_target(pixels, target_size=2000, scale=2)
    assert result.decoder == "enhanced + bicubic"


def test_unreachable_psnr_is_a_clear_input_error():
    with pytest.raises(InputError, match="quality 100 gives"):
        hybrid.encode(images()["noisy"], target_psnr=99.0)


# --- argument checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_size": 5000, "target_psnr": 30},
        {"target_bpp": 1.0, "target_msssim": 0.9},
        {"target_size": 5000, "quant_tables": (np.full((8, 8), 4),)},
        {"target_size": 5000, "scale": 2, "allow_downscale": True},
        {"allow_downscale": True},
        {"target_bpp": -1},
        {"target_psnr": "high"},
        {"target_msssim": 1.5},
    ],
)
def test_bad_combinations_are_input_errors(kwargs):
    with pytest.raises(InputError):
        hybrid.encode(astronaut(128), **kwargs)


def test_result_is_frozen_and_prints_one_line():
    _, result = hybrid.encode_to_target(astronaut(128), target_size="3KB")
    assert isinstance(result, RateControlResult)
    with pytest.raises(AttributeError):
        result.bytes = 0  # type: ignore[misc]
    line = result.line()
    assert "\n" not in line and f"{result.bytes} bytes" in line and "PSNR" in line
    assert result.iterations >= 2 and result.seconds > 0


# --- CLI --------------------------------------------------------------------------------------


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_target_size(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(astronaut(192)).save(src)
    out = tmp_path / "out.jpg"
    result = run("encode", src, "-o", out, "--target-size", "8KB", "--no-downscale")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert "\n" not in line and "target size <= 8000 bytes" in line
    assert 0.97 * 8000 <= out.stat().st_size <= 8000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-size", "8KB", "--target-psnr", "30"], "give one target"),
        (["--target-size", "8XB"], "--target-size"),
        (["--target-size", "50"], "cannot meet"),
        (["--target-psnr", "0"], "--target-psnr"),
        (["--no-downscale"], "--no-downscale"),
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path, args, message):
    src = tmp_path / "in.png"
    Image.fromarray(astronaut(128)).save(src)
    result = run("encode", src, "-o", tmp_path / "o.jpg", *args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert "\n" not in err and err.startswith("hybrid: error: ") and message in err
    assert not (tmp_path / "o.jpg").exists()


# --- the best mode under rate control ---------------------------------------------------------


def test_best_mode_meets_targets_with_its_own_tables():
    from hybrid.codec.quant import psnr_quant_tables, psnr_tables_at, quality_scale

    # At an IJG quality's own (integer) scale factor the continuous tables are the best mode's.
    for quality in (5, 30, 50, 75, 95):
        for a, b in zip(
            psnr_tables_at(quality_scale(quality)), psnr_quant_tables(quality), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    image = astronaut()
    plain, _ = hybrid.encode_to_target(image, target_bpp=0.5, allow_downscale=False)
    best, result = hybrid.encode_to_target(image, target_bpp=0.5, allow_downscale=False, best=True)
    limit = math.floor(0.5 * 192 * 192 / 8)
    assert len(best) <= limit and len(best) >= 0.97 * limit
    info = hybrid.info(best)
    assert info.sof_marker == 0xC2 and not info.quality_exact  # progressive, PSNR tables
    decoded = [np.asarray(hybrid.decode(d)) for d in (plain, best)]
    assert psnr(decoded[1], image) > psnr(decoded[0], image)  # same size, better PSNR
    assert result.scale == 1.0


def test_best_mode_combines_with_scale_and_targets_in_the_cli(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(astronaut()).save(src)
    out = tmp_path / "out.jpg"
    result = CliRunner().invoke(
        cli, ["encode", str(src), "-o", str(out), "--best", "--target-size", "3KB"]
    )
    assert result.exit_code == 0, result.output
    assert 0.97 * 3000 <= out.stat().st_size <= 3000
    small = tmp_path / "small.jpg"
    result = CliRunner().invoke(
        cli, ["encode", str(src), "-o", str(small), "--best", "--scale", "2"]
    )
    assert result.exit_code == 0, result.output
    info = hybrid.info(small)
    assert (info.width, info.height, info.sof_marker) == (96, 96, 0xC2)
