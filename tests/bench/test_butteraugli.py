"""Butteraugli in the benchmark: the distances of each point, their BD-rates (a distance:
lower is better), the report's columns, and the cache of runs made before or without it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from hybrid.bench import runner
from hybrid.bench.codecs import REFERENCE, get_codec
from hybrid.bench.report import bd_table, curves, markdown, measured_metrics, summarize
from hybrid.bench.runner import (
    BenchImage,
    BenchPlan,
    has_butteraugli,
    load_cache,
    measure_image,
    plan_bench,
    run_bench,
)
from hybrid.errors import InputError
from hybrid.perceptual import butteraugli, butteraugli_version
from tests.helpers.butteraugli import need_butteraugli

REF_BPP = [0.12, 0.25, 0.5, 0.8, 1.2]
REF_DISTANCE = [6.0, 4.0, 2.5, 1.8, 1.2]


def _point(codec: str, setting: float, image: str, bpp: float, distance: float) -> dict:
    psnr = 40.0 - 10 * math.log10(distance)
    return {
        "codec": codec, "setting": setting, "image": image, "width": 100, "height": 100,
        "bpp": bpp, "psnr": psnr, "psnr_y": psnr, "ssim": 0.9, "ms_ssim": 0.95,
        "butteraugli": distance, "butteraugli_max": 2.5 * distance, "encode_s": 0.01,
        "decode_s": 0.002, "error": None,
    }  # fmt: skip


def synthetic(rate_factor: float = 1.0, distance_factor: float = 1.0) -> list[dict]:
    points = []
    for image in ("a.png", "b.png"):
        for i, (bpp, d) in enumerate(zip(REF_BPP, REF_DISTANCE, strict=True)):
            points.append(_point(REFERENCE, float(i), image, bpp, d))
            points.append(_point("webp", float(i), image, bpp * rate_factor, d * distance_factor))
    return points


def test_bd_rate_of_a_distance_has_the_right_sign():
    # The same distances at 0.9 times the rate: exactly -10 %, as for every other metric.
    table = bd_table(curves(synthetic(rate_factor=0.9), images=2))
    for metric in ("butteraugli", "butteraugli_max", "psnr"):
        assert table["webp"][f"bd_rate_{metric}"] == pytest.approx(-10.0, abs=1e-3)
        assert table[REFERENCE][f"bd_rate_{metric}"] == pytest.approx(0.0, abs=1e-9)
    # Smaller distances at the same rates are better: fewer bits at equal distance.
    better = bd_table(curves(synthetic(distance_factor=0.8), images=2))["webp"]
    worse = bd_table(curves(synthetic(distance_factor=1.25), images=2))["webp"]
    assert better["bd_rate_butteraugli"] < -5 and worse["bd_rate_butteraugli"] > 5


def test_report_shows_butteraugli_only_when_measured():
    plan = BenchPlan(
        images=(BenchImage("a.png", "a.png", "0"), BenchImage("b.png", "b.png", "1")),
        codecs=(REFERENCE, "webp"), skipped=(), notes=(), quick=True,
        versions={REFERENCE: "1", "webp": "1"}, butteraugli=True,
    )  # fmt: skip
    summary = summarize(plan, synthetic(rate_factor=0.9))
    assert summary["metrics"] == ["psnr", "psnr_y", "ms_ssim", "ssim", "butteraugli",
                                  "butteraugli_max"]  # fmt: skip
    text = markdown(summary)
    assert "BD-rate butteraugli 3-norm | BD-rate butteraugli max-norm" in text
    assert "| butteraugli 3-norm | butteraugli max-norm | encode ms" in text
    assert "-20 log10(distance)" in text
    webp = get_codec("webp").label
    assert any(line.startswith(f"| {webp} |") and "-10.0%" in line for line in text.splitlines())
    assert summary["bd_against"]["webp"]["webp"]["bd_rate_butteraugli"] == 0.0
    # Points without the distances (a run without the tool): the four other metrics only.
    bare = [{k: v for k, v in p.items() if not k.startswith("butteraugli")} for p in synthetic()]
    assert measured_metrics(bare) == ["psnr", "psnr_y", "ms_ssim", "ssim"]
    summary = summarize(plan, bare)
    assert "butteraugli" not in markdown(summary)
    assert "bd_rate_butteraugli" not in summary["bd"]["webp"]


def test_points_hold_the_distances_of_their_decodes(photos):
    need_butteraugli()
    plan = plan_bench(photos, codecs=["webp"], quick=True, limit=1, butteraugli=True)
    assert plan.butteraugli and plan.butteraugli_version == butteraugli_version()
    image = plan.images[0]
    tasks = [(c, s, plan.key(c, s, image)) for c, s in plan.tasks()][:3]
    points = measure_image(image, tasks, butteraugli=True)
    rgb = np.asarray(Image.open(image.path).convert("RGB"))
    for (codec, setting, _), point in zip(tasks, points, strict=True):
        data = get_codec(get_codec(codec).encoder_name).encode(rgb, setting)
        distance = butteraugli(rgb, get_codec(codec).decode(data))
        assert point["butteraugli"] == distance.pnorm3 > 0
        assert point["butteraugli_max"] == distance.max_norm
        assert point["butteraugli_version"] == plan.butteraugli_version
    assert "butteraugli" not in measure_image(image, tasks[:1])[0]


def test_cache_adds_butteraugli_to_points_measured_without_it(photos, tmp_path, monkeypatch):
    need_butteraugli()
    cache = tmp_path / "points.jsonl"
    without = plan_bench(photos, codecs=["webp"], quick=True, butteraugli=False)
    first = run_bench(without, cache)
    assert all("butteraugli" not in p for p in first)
    measured = []
    real = runner.measure_image
    monkeypatch.setattr(
        runner,
        "measure_image",
        lambda image, tasks, *rest: measured.append(len(tasks)) or real(image, tasks, *rest),
    )
    run_bench(without, cache)
    assert measured == []  # a run without butteraugli keeps the old points
    plan = plan_bench(photos, codecs=["webp"], quick=True)  # default: the tool is installed
    assert plan.butteraugli
    second = run_bench(plan, cache)
    assert measured == [8, 8]  # every point again: the cache holds no files to reuse
    assert all(
        p["butteraugli"] > 0 and has_butteraugli(p, plan.butteraugli_version) for p in second
    )
    for old, new in zip(first, second, strict=True):  # the same files, the same values
        assert {k: new[k] for k in ("key", "bytes", "psnr", "ms_ssim")} == {
            k: old[k] for k in ("key", "bytes", "psnr", "ms_ssim")
        }
    assert len(load_cache(cache)) == 16
    measured.clear()
    run_bench(plan, cache)
    assert measured == []
    # Another build of the tool measures the distances again.
    other = plan_bench(photos, codecs=["webp"], quick=True, limit=1)
    object.__setattr__(other, "butteraugli_version", "butteraugli_main-other")
    run_bench(other, cache)
    assert measured == [8]


def test_missing_tool_is_a_note_by_default_and_an_error_when_asked_for(photos, monkeypatch):
    from hybrid import perceptual

    monkeypatch.setattr(perceptual.shutil, "which", lambda name: None)
    plan = plan_bench(photos, codecs=["webp"], quick=True, limit=1)
    assert not plan.butteraugli and plan.butteraugli_version == ""
    assert "libjxl-devtools" in (runner.butteraugli_note(plan) or "")
    with pytest.raises(InputError, match="libjxl-devtools"):
        plan_bench(photos, codecs=["webp"], quick=True, limit=1, butteraugli=True)


def test_cli_asks_for_butteraugli_without_the_tool(photos, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hybrid import perceptual
    from hybrid.cli import cli

    monkeypatch.setattr(perceptual.shutil, "which", lambda name: None)
    args = ["bench", str(photos), "-o", str(tmp_path / "out"), "--codecs", "webp", "--quick"]
    result = CliRunner().invoke(cli, [*args, "--butteraugli"])
    assert result.exit_code == 2 and "libjxl-devtools" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
