"""Content classes in the benchmark (issue 18): ``--screens`` folders are measured as class
``screen``, every point records its class, reports give each class its own tables, and
BD-rates against WebP and AVIF come with the libjpeg-turbo ones when those codecs ran."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from hybrid.bench import runner, variants
from hybrid.bench.codecs import REFERENCE, get_codec
from hybrid.bench.report import markdown
from hybrid.bench.runner import load_cache, plan_bench, run_bench
from hybrid.cli import cli
from hybrid.errors import InputError
from tests.helpers.images import tiny_photos


def tiny_screens(directory: Path, count: int = 2, prefix: str = "page") -> Path:
    """``count`` 192x176 screenshot-like images: black and coloured text on white, a rule, a
    coloured button (MS-SSIM needs 176 pixels)."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = Image.new("RGB", (192, 176), "white")
        draw = ImageDraw.Draw(image)
        for row in range(11):
            colour = (20, 20, 20) if row % 4 else (30, 60, 200)
            draw.text((6, 6 + 14 * row), f"Line {row + i}: def enhance(x): return y", fill=colour)
        draw.line((0, 160, 192, 160), fill=(120, 120, 120))
        draw.rectangle((130, 164, 186, 174), fill=(220, 80 + 40 * i, 40))
        image.save(directory / f"{prefix}{i}.png")
    return directory


@pytest.fixture
def image_sets(tmp_path: Path) -> tuple[Path, Path]:
    return tiny_photos(tmp_path / "photos", 2), tiny_screens(tmp_path / "shots", 2)


def test_screens_are_planned_as_their_own_class(image_sets, tmp_path):
    photos, shots = image_sets
    plan = plan_bench(photos, codecs=["webp"], quick=True, screens=[shots])
    assert [(i.name, i.content) for i in plan.images] == [
        ("photo0.png", "photo"), ("photo1.png", "photo"),
        ("shots/page0.png", "screen"), ("shots/page1.png", "screen"),
    ]  # fmt: skip
    assert plan.classes == ("photo", "screen")
    assert plan_bench(photos, codecs=["webp"]).classes == ("photo",)
    # --limit caps each class, and takes screenshots from the folders in turn.
    more = tiny_screens(tmp_path / "charts", 2, prefix="chart")
    limited = plan_bench(photos, codecs=["webp"], limit=3, screens=[shots, more])
    assert [i.name for i in limited.images] == [
        "photo0.png", "photo1.png", "shots/page0.png", "charts/chart0.png", "shots/page1.png",
    ]  # fmt: skip
    # Two folders of the same name holding the same file names would be one image twice.
    twin = tiny_screens(tmp_path / "other" / "shots", 1)
    with pytest.raises(InputError, match="same name"):
        plan_bench(photos, codecs=["webp"], screens=[shots, twin])
    with pytest.raises(InputError, match="no images"):
        plan_bench(photos, codecs=["webp"], screens=[tmp_path])


def test_points_take_their_class_from_the_plan_not_the_cache(image_sets, tmp_path):
    photos, shots = image_sets
    plan = plan_bench(photos, codecs=[REFERENCE], quick=True, limit=1, screens=[shots])
    cache = tmp_path / "points.jsonl"
    points = run_bench(plan, cache)
    assert {(p["image"], p["content"]) for p in points} == {
        ("photo0.png", "photo"), ("shots/page0.png", "screen"),
    }  # fmt: skip
    assert {p["content"] for p in load_cache(cache).values()} == {"photo", "screen"}
    # A cache written before classes existed (no "content"): the points are reused, tagged.
    cache.write_text(
        "".join(
            json.dumps({k: v for k, v in p.items() if k != "content"}) + "\n"
            for p in load_cache(cache).values()
        )
    )
    again = run_bench(plan, cache)
    assert [p["content"] for p in again] == [p["content"] for p in points]
    assert [p["bytes"] for p in again] == [p["bytes"] for p in points]


def test_bench_with_screens_reports_each_class_and_bd_against_webp(image_sets, tmp_path):
    photos, shots = image_sets
    codecs = [REFERENCE, "webp"] + (["avif"] if get_codec("avif").available()[0] else [])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["bench", str(photos), "-o", str(out), "--screens", str(shots), "--quick",
         "--crops", "1", "--codecs", ",".join(codecs)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 images" in result.output and "(0 failed)" in result.output

    summary = json.loads((out / "results.json").read_text())
    assert summary["classes"] == ["photo", "screen"]
    assert summary["content"]["shots/page1.png"] == "screen"
    assert summary["content"]["photo0.png"] == "photo"
    assert {p["content"] for p in summary["points"]} == {"photo", "screen"}
    assert summary["references"] == codecs  # every reference that ran
    assert f"--screens {shots}" in summary["command"]
    for part in (summary, *summary["by_content"].values()):
        for ref in codecs:
            # Each reference against itself: exactly 0; the others: a number or a reason.
            assert part["bd_against"][ref][ref]["bd_rate_psnr"] == 0.0
        assert part["bd_against"][REFERENCE] == part["bd"]
        assert set(part["curves"]) == set(codecs) and set(part["speed"]) == set(codecs)
    by_content = summary["by_content"]
    assert by_content["photo"]["images"] == ["photo0.png", "photo1.png"]
    assert by_content["screen"]["images"] == ["shots/page0.png", "shots/page1.png"]
    # Each class's curve is the mean over its own images.
    screen_points = [
        p["bpp"] for p in summary["points"]
        if p["codec"] == "webp" and p["setting"] == 50.0 and p["content"] == "screen"
    ]  # fmt: skip
    (row,) = [r for r in by_content["screen"]["curves"]["webp"] if r["setting"] == 50.0]
    assert row["n"] == 2 and row["bpp"] == pytest.approx(np.mean(screen_points))

    report = (out / "report.md").read_text()
    assert "4 images in 2 content classes (photo, screen)" in report
    assert "### All images (4: 2 photo, 2 screen)" in report
    assert "### Content class photo: photographs (2 images)" in report
    assert "### Content class screen: screenshots, text and graphics (2 images)" in report
    assert report.count("| vs WebP PSNR-RGB | vs WebP MS-SSIM |") == 3  # all, photo, screen
    assert report.count("<summary>Mean RD points per codec and setting") == 3
    page = (out / "report.html").read_text()
    assert "Content class screen: screenshots, text and graphics (2 images)" in page
    assert page.count("<th>vs WebP PSNR-RGB</th>") == 3
    assert "shots/page0.png" in page  # a crop of each class
    for name in ("rd_psnr_photo.png", "rd_ms_ssim_screen.png", "rd_psnr.png"):
        assert (out / name).stat().st_size > 1000


def test_one_class_keeps_the_single_table_set(image_sets, tmp_path):
    photos, _ = image_sets
    plan = plan_bench(photos, codecs=[REFERENCE], quick=True, limit=1)
    from hybrid.bench.report import summarize

    summary = summarize(plan, run_bench(plan, tmp_path / "p.jsonl"))
    assert list(summary["by_content"]) == ["photo"] and summary["references"] == [REFERENCE]
    text = markdown(summary)
    assert "### " not in text and "content classes" not in text and "vs WebP" not in text


def test_default_enhanced_decodes_name_no_model(monkeypatch):
    import hybrid
    from hybrid.enhance import registry

    calls = []

    class Decoded:
        def convert(self, mode):
            return np.zeros((8, 8, 3), np.uint8)

    monkeypatch.setattr(hybrid, "decode", lambda data, **kw: calls.append(kw) or Decoded())
    for name in ("hybrid-enhance-fast", "libjpeg-turbo-420-enhance-fast"):
        get_codec(name).decode(b"jpeg")
    get_codec("hybrid-enhance-quality").decode(b"jpeg")
    assert calls[0] == calls[1] == {"enhance": True, "threads": 1}  # content auto applies
    assert calls[2] == {"enhance": True, "model": variants.ENHANCE_QUALITY, "threads": 1}

    # The version (part of every cache key) holds every model the default choice may pick.
    monkeypatch.setattr(
        registry, "DEFAULT_CONTENT_MODELS",
        {"photo": registry.DEFAULT_ENHANCE_MODEL, "screen": "enhance-screen-test"},
        raising=False,
    )  # fmt: skip
    assert variants.content_models() == (registry.DEFAULT_ENHANCE_MODEL, "enhance-screen-test")
    for name in ("hybrid-enhance-fast", "libjpeg-turbo-420-enhance-fast", "hybrid-auto"):
        version = get_codec(name).version()
        assert f"{registry.DEFAULT_ENHANCE_MODEL}=" in version
        assert "enhance-screen-test=none" in version
    assert "enhance-screen-test" not in get_codec("hybrid-enhance-quality").version()


def test_warm_up_runs_once_per_codec_and_class(monkeypatch):
    seen = []
    codec = get_codec(REFERENCE)
    monkeypatch.setattr(runner, "_WARM", set())
    monkeypatch.setattr(
        runner, "get_codec", lambda name: seen.append(name) or codec
    )  # encode + decode of the warm-up go through get_codec
    rgb = np.zeros((80, 80, 3), np.uint8)
    for content in ("photo", "photo", "screen"):
        runner._warm_up(REFERENCE, rgb, 50.0, content)
    assert len(seen) == 2 * 2  # photo once, screen once
