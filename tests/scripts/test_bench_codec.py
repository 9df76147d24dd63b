"""scripts/bench_codec.py: its section handling and a small end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scripts.bench_codec as script


def test_replace_section_keeps_the_other_sections() -> None:
    head = "# Benchmarks\n\nintro\n\n## Other\n\nkept\n\n"
    document = head + f"{script.SECTION}\n\nold\n\n### detail\n\nold\n\n## Last\n\nkept too\n"
    assert script.replace_section(document, f"{script.SECTION}\n\nnew\n") == (
        head + f"{script.SECTION}\n\nnew\n\n## Last\n\nkept too\n"
    )
    assert script.replace_section("", f"{script.SECTION}\n\nnew") == (
        f"# Benchmarks\n\n{script.SECTION}\n\nnew\n"
    )
    assert script.replace_section("# B\n\n## Other\n", "## X\n") == "# B\n\n## Other\n\n## X\n"


def test_small_run_end_to_end(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    section = tmp_path / "BENCHMARKS.md"
    section.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    argv = ["--data", str(photos), "--limit", "1", "--codecs", "ref,baseline", "--no-speed"]
    argv += ["--json", str(out), "--section", str(section)]
    assert script.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["images"] == 1 and report["qualities"] == list(script.QUALITIES)
    assert report["bd"]["ref"]["bd_rate_psnr"] == pytest.approx(0.0, abs=1e-9)
    # Same tables and Huffman optimization as libjpeg-turbo; hybrid's 33-byte APP11 segment
    # weighs more on this small image (measured +1.3 %).
    assert abs(report["bd"]["baseline"]["bd_rate_psnr"]) < 2.0
    # (Headers alone are 0.14 bpp of this 0.03 MP image, so its curve starts at 0.17 bpp.)
    lo, hi = report["bd"]["ref"]["bpp_span"]
    assert lo < 0.2 and hi > script.RATE_RANGE[1]
    rows = report["equal_quality"]["baseline"]
    assert [r["quality"] for r in rows] == list(script.EQUAL_QUALITIES)
    assert all(0.97 < r["size_ratio"] < 1.03 for r in rows)
    text = section.read_text()
    assert text.startswith("# Benchmarks\n\n## Other\n\nkept\n\n" + script.SECTION)
    assert "| hybrid baseline |" in text
    # A second run resumes from the cache (nothing is encoded again) and gives the same file.
    cache = out.with_suffix(".points.jsonl")
    lines = cache.read_text().count("\n")
    assert script.main(argv) == 0
    assert cache.read_text().count("\n") == lines
    assert section.read_text().count(script.SECTION) == 1
