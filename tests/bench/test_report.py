"""Benchmark results: curves and BD tables on synthetic points, and a smoke test of
``hybrid bench`` on two tiny images whose HTML report is opened in headless Chromium."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from hybrid.bench.codecs import CODECS, PERCEPTUAL_MODEL, REFERENCE
from hybrid.bench.report import (
    NEVER_WORSE_TOLERANCE_DB,
    bd_table,
    curves,
    markdown,
    never_worse,
    plain_twins,
    speeds,
)
from hybrid.bench.variants import ENHANCE_QUALITY
from hybrid.cli import cli
from hybrid.perceptual import butteraugli_tool
from tests.helpers.images import tiny_photos

# --- curves and BD on synthetic points ----------------------------------------------------------

REF_BPP = [0.12, 0.25, 0.5, 0.8, 1.2]
REF_PSNR = [26.0, 28.5, 31.0, 33.0, 35.0]


def _point(codec, setting, image, bpp, quality, error=None):
    return {
        "codec": codec, "setting": setting, "image": image, "width": 100, "height": 100,
        "bpp": bpp, "psnr": quality, "psnr_y": quality + 1, "ssim": 1 - 10 ** (-quality / 20),
        "ms_ssim": 1 - 10 ** (-quality / 15), "encode_s": 0.01, "decode_s": 0.002, "error": error,
    }  # fmt: skip


def synthetic_points(rate_factor: float = 0.9) -> list[dict]:
    points = []
    for image, shift in (("a.png", -0.5), ("b.png", 0.5)):
        for i, (bpp, q) in enumerate(zip(REF_BPP, REF_PSNR, strict=True)):
            points.append(_point(REFERENCE, float(i), image, bpp, q + shift))
            points.append(_point("webp", float(i), image, bpp * rate_factor, q + shift))
    return points


def test_curves_average_over_images_and_drop_incomplete_settings():
    points = synthetic_points()
    points.append(_point("webp", 99.0, "a.png", 2.0, 40.0))  # b.png lacks setting 99
    failed = _point("avif", 1.0, "a.png", 0.3, 30.0, error="encode: boom")
    points.append({**failed, "bpp": None, "psnr": None})
    points.append(_point("avif", 1.0, "b.png", 0.3, 30.0))
    result = curves(points, images=2)
    assert [r["setting"] for r in result["webp"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert "avif" not in result  # its only setting failed on one image
    row = result[REFERENCE][2]
    assert row["bpp"] == pytest.approx(0.5) and row["psnr"] == pytest.approx(31.0)
    assert row["n"] == 2 and row["encode_s"] == pytest.approx(0.01)


def test_bd_table_on_synthetic_curves():
    table = bd_table(curves(synthetic_points(0.9), images=2))
    # Same quality at 0.9 times the rate, at every point and for every metric: exactly -10 %.
    for metric in ("psnr", "psnr_y", "ssim", "ms_ssim"):
        assert table["webp"][f"bd_rate_{metric}"] == pytest.approx(-10.0, abs=1e-3)
        assert table[REFERENCE][f"bd_rate_{metric}"] == pytest.approx(0.0, abs=1e-9)
    assert table["webp"]["bd_psnr"] > 0
    # Curves that do not overlap give a reason instead of a number.
    far = [p for p in synthetic_points() if p["codec"] == REFERENCE]
    far += [
        _point("jpegxl", s, img, b, 60.0 + s)
        for s, b in ((0, 0.2), (1, 0.4))
        for img in ("a.png", "b.png")
    ]
    entry = bd_table(curves(far, images=2))["jpegxl"]
    assert entry["bd_rate_psnr"].startswith("n/a")
    # Images under 176 pixels have no MS-SSIM: that column is n/a, the others are numbers.
    small = [{**p, "ms_ssim": None} for p in synthetic_points()]
    entry = bd_table(curves(small, images=2))["webp"]
    assert entry["bd_rate_ms_ssim"].startswith("n/a")
    assert entry["bd_rate_psnr"] == pytest.approx(-10.0, abs=1e-3)


def test_speeds_are_median_megapixels_per_second():
    result = speeds(synthetic_points())
    assert result["webp"]["encode_mp_s"] == pytest.approx(0.01 / 0.01)
    assert result["webp"]["decode_mp_s"] == pytest.approx(0.01 / 0.002)


def test_plain_twins_pair_each_decoder_side_variant_with_the_codec_of_its_files():
    names = [REFERENCE, "hybrid", "hybrid-enhance-fast", "hybrid-enhance-quality", "webp",
             "libjpeg-turbo-420-enhance-fast", "hybrid-perceptual"]  # fmt: skip
    assert plain_twins(names) == {
        "hybrid-enhance-fast": "hybrid",
        "hybrid-enhance-quality": "hybrid",
        "libjpeg-turbo-420-enhance-fast": REFERENCE,
    }
    # A variant whose plain codec did not run has nothing to be compared with.
    assert plain_twins(["hybrid-enhance-fast", REFERENCE]) == {}


def test_never_worse_measures_per_image_gains_over_the_same_files():
    points = []
    gains = {"a.png": 0.5, "b.png": -0.25, "c.png": 1.0}
    for setting in (10.0, 50.0):
        for image, gain in gains.items():
            points.append(_point("hybrid", setting, image, 0.5, 30.0))
            points.append(_point("hybrid-enhance-fast", setting, image, 0.5, 30.0 + gain))
    # A setting the variant lacks on one image is left out; a failed point does not count.
    points.append(_point("hybrid", 90.0, "a.png", 2.0, 40.0))
    points.append(_point("hybrid-enhance-fast", 90.0, "a.png", 2.0, 41.0))
    failed = _point("hybrid-enhance-fast", 90.0, "b.png", 2.0, 41.0, error="decode: boom")
    points += [_point("hybrid", 90.0, "b.png", 2.0, 40.0), failed]
    rows = never_worse(points, {"hybrid-enhance-fast": "hybrid"}, images=3)["hybrid-enhance-fast"]
    assert [r["setting"] for r in rows] == [10.0, 50.0]
    row = rows[0]
    assert row["n"] == 3 and row["mean_gain_db"] == pytest.approx(1.25 / 3)
    assert row["worst_image"] == "b.png" and row["worst_gain_db"] == pytest.approx(-0.25)
    assert row["losing"] == 1 and NEVER_WORSE_TOLERANCE_DB == 0.1
    # The markdown report shows the table under the variant's and the plain codec's labels.
    summary = {
        "images": list(gains), "quick": False, "reference": REFERENCE,
        "rate_range_bpp": [0.15, 1.0], "machine": "test", "skipped": [], "failures": [],
        "codecs": [
            {"name": n, "label": label, "setting": "quality", "sweep": [10.0, 50.0],
             "detail": "", "note": ""}
            for n, label in (("hybrid", "plain"), ("hybrid-enhance-fast", "enhanced"))
        ],
        "curves": {}, "bd": {}, "speed": {},
        "never_worse": {"tolerance_db": 0.1, "twins": {"hybrid-enhance-fast": "hybrid"},
                        "rows": {"hybrid-enhance-fast": rows}},
    }  # fmt: skip
    text = markdown(summary)
    assert "enhanced over plain:" in text
    assert (
        "| quality | images | mean gain (dB) | worst image (dB) | worst | images below -0.1 dB |"
        in text
    )
    assert "| 10 | 3 | +0.417 | -0.250 | b.png | 1 |" in text


# --- the smoke test: hybrid bench on two tiny images --------------------------------------------

#: Automatic mode runs rate control (two dozen encodes per point): tests/bench/test_runner.py
#: covers it on one point, so the smoke test stays short (about 30 s on an idle machine).
SMOKE_CODECS = [c.name for c in CODECS if c.name != "hybrid-auto"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from tests.helpers.registry import register_tiny_enhancer

    root = tmp_path_factory.mktemp("bench")
    images = tiny_photos(root / "images")
    weights = root / "weights"
    weights.mkdir()
    register_tiny_enhancer(weights)  # an untrained default enhancement model: enhanced paths run
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRID_WEIGHTS_DIR", str(weights))
        start = time.perf_counter()
        result = CliRunner().invoke(
            cli,
            [
                "bench",
                str(images),
                "-o",
                str(root / "out"),
                "--quick",
                "--codecs",
                ",".join(SMOKE_CODECS),
            ],
        )
        seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    return root / "out", result.output, seconds


def test_smoke_bench_writes_every_output(smoke):
    out, output, _ = smoke
    assert "2 images" in output and "(0 failed)" in output
    assert f"skipping hybrid-enhance-quality: model {ENHANCE_QUALITY} is not installed" in output
    summary = json.loads((out / "results.json").read_text())
    measured = {c["name"] for c in summary["codecs"]}
    # the tiny weights folder has the default model only: the quality model and the
    # perceptual tunes' recorded model are missing, so those codecs are skipped with a note
    tuned = {"hybrid-perceptual", "hybrid-ssim", "hybrid-perceptual-for-enhance"}
    assert measured == set(SMOKE_CODECS) - {"hybrid-enhance-quality"} - tuned
    for name in tuned:
        assert f"skipping {name}: model {PERCEPTUAL_MODEL} is not installed" in output
    assert len(summary["points"]) == 2 * 4 * len(measured)
    for point in summary["points"]:
        assert point["error"] is None and point["bpp"] > 0 and point["psnr"] > 15, point
    for name in measured:
        assert len(summary["curves"][name]) == 4
        assert isinstance(summary["bd"][name]["bd_rate_psnr"], float) or name.startswith(
            "hybrid-sr"
        )
    assert summary["bd"][REFERENCE]["bd_rate_psnr"] == 0.0
    report = (out / "report.md").read_text()
    assert "| libjpeg-turbo 4:2:0 |" in report and "**skipped**" in report
    for name in ("rd_psnr.png", "rd_psnr_y.png", "rd_ms_ssim.png", "rd_ssim.png", "speed.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 300
    if butteraugli_tool() is not None or os.environ.get("CI", "").lower() == "true":
        # Measured by default wherever libjxl's tool is installed (.ci/run installs it).
        assert all(p["butteraugli"] > 0 for p in summary["points"])
        assert "| BD-rate butteraugli 3-norm |" in report
        with Image.open(out / "rd_butteraugli.png") as image:
            assert image.format == "PNG"
    # The enhanced decodes of hybrid's and libjpeg-turbo's files, each paired per image with
    # the plain decode of the same files at every quality of the sweep.
    block = summary["never_worse"]
    twins = {"hybrid-enhance-fast": "hybrid", "libjpeg-turbo-420-enhance-fast": REFERENCE}
    if "jpegqs" in measured:  # installed by .ci/run
        twins["jpegqs"] = REFERENCE
    assert block["twins"] == twins
    for rows in block["rows"].values():
        assert [r["n"] for r in rows] == [2] * 4
    assert "hybrid + enhance (content auto) over hybrid (plain decode):" in report
    page = (out / "report.html").read_text()
    assert "<h2>Never worse than plain</h2>" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # self-contained
    assert page.count("data:image/png;base64,") >= 5 + 2 * len(measured)


def test_smoke_bench_resumes_from_its_cache(smoke, tmp_path):
    out, _, _ = smoke
    before = (out / "points.jsonl").read_text()
    env_weights = out.parent / "weights"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYBRID_WEIGHTS_DIR", str(env_weights))
        result = CliRunner().invoke(
            cli, ["bench", str(out.parent / "images"), "-o", str(out), "--quick", "--crops", "0",
                  "--codecs", ",".join(SMOKE_CODECS)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "points.jsonl").read_text() == before  # nothing measured again


def _chromium() -> str:
    exe = shutil.which("chromium")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (Debian package chromium)")
        pytest.skip("chromium is not installed")
    return exe


def _run_chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--disable-crash-reporter", f"--user-data-dir={profile}",
    ]  # fmt: skip
    env = dict(
        os.environ, HOME=str(profile), XDG_CONFIG_HOME=str(profile), XDG_CACHE_HOME=str(profile)
    )
    return subprocess.run(
        [exe, *flags, *args], capture_output=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )


def test_html_report_renders_in_headless_chromium(smoke, tmp_path):
    exe = _chromium()
    out, _, _ = smoke
    url = (out / "report.html").as_uri()
    dom = _run_chromium(exe, tmp_path / "profile", "--dump-dom", url)
    text = dom.stdout.decode(errors="replace")
    # The script marks the page only after it has run to the end without an exception.
    assert re.search(r'<html[^>]*data-ready="ok"', text), dom.stderr.decode(errors="replace")[
        -2000:
    ]
    shot = tmp_path / "shot.png"
    proc = _run_chromium(
        exe, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,900", url
    )
    assert shot.exists(), proc.stderr.decode(errors="replace")[-2000:]
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"), np.float64)
    assert pixels.shape[:2] == (900, 1200)
    assert pixels.std() > 20  # text, table and plots, not a blank page
    dark = (pixels.mean(axis=2) < 100).mean()
    assert 0.005 < dark < 0.5


def test_plots_need_matplotlib_with_a_clear_error(monkeypatch):
    from hybrid.bench import plots
    from hybrid.errors import InputError

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InputError, match=r"pip install 'hybrid-jpeg-codec\[bench\]'"):
        plots.speed_plot({"codecs": [], "speed": {}})


def test_markdown_states_skips_and_failures():
    summary = {
        "images": ["a.png", "b.png"], "quick": True, "reference": REFERENCE,
        "rate_range_bpp": [0.15, 1.0], "machine": "test",
        "codecs": [{"name": REFERENCE, "label": "libjpeg-turbo 4:2:0", "setting": "quality",
                    "sweep": [10.0], "detail": "Pillow", "note": ""}],
        "skipped": [{"name": "avif", "label": "AVIF", "why": "no libavif"}],
        "curves": {}, "bd": {}, "speed": {}, "failures": ["webp 5 a.png: encode: boom"],
    }  # fmt: skip
    text = markdown(summary)
    assert "- AVIF: **skipped**: no libavif." in text
    assert "1 points failed" in text and "webp 5 a.png: encode: boom" in text


def test_cli_lists_codecs_and_rejects_unknown_ones(photos, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(cli, ["bench", "--list-codecs"])
    assert listed.exit_code == 0
    assert f"{REFERENCE}: yes" in listed.output
    bad = runner.invoke(cli, ["bench", str(photos), "-o", str(tmp_path / "o"), "--codecs", "bmp"])
    assert bad.exit_code == 2 and "unknown codec(s) bmp" in bad.output


def test_jpeg_files_of_the_bench_decode_in_pillow(photos):
    # The peer JPEG encoders write standard files; Pillow reads them back at full size.
    from hybrid.bench.codecs import get_codec

    rgb = np.asarray(Image.open(photos / "photo0.png").convert("RGB"))
    for name in ("libjpeg-turbo-420", "libjpeg-turbo-444", "mozjpeg", "hybrid"):
        codec = get_codec(name)
        if not codec.available()[0]:
            continue
        with Image.open(io.BytesIO(codec.encode(rgb, 30.0))) as image:
            assert image.format == "JPEG" and image.size == (rgb.shape[1], rgb.shape[0])
