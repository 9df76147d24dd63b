"""scripts/make_screens.py (issue 18): the screenshot set is made offline, reproducibly, with
the split by source and every image's provenance recorded."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

import scripts.make_screens as script

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "val"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="needs the system chromium"
)


def _make(out: Path) -> dict:
    args = ["--out", str(out), "--pages", "4", "--charts", "2", "--doc-pages", "1"]
    args += ["--doc-shots", "1", "--mixed", "1", "--val-fraction", "0.5", "--photos", str(VAL)]
    assert script.main(args) == 0
    return json.loads((out / "manifest.json").read_text())


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.png"))
    }


def test_a_small_set_is_made_split_and_described(tmp_path):
    manifest = _make(tmp_path / "a")
    images = manifest["images"]
    # 4 generated pages (2 val), 2 charts (1 val), project docs, 1 mixed page (val only).
    by = {(i["split"], i["source"]) for i in images}
    assert {("train", "generated"), ("val", "generated"), ("train", "charts")} <= by
    assert ("val", "charts") in by
    assert all(i["split"] == "val" for i in images if i["source"] == "mixed")
    for item in images:
        path = tmp_path / "a" / item["split"] / item["source"] / item["name"]
        with Image.open(path) as im:
            assert im.size == (script.WIDTH, script.HEIGHT) and im.format == "PNG"
        assert item["origin"] and item["licence"]
    # A documentation file goes wholly to one split.
    docs = {}
    for item in images:
        if item["source"] == "docs":
            docs.setdefault(item["origin"].split(" at scroll")[0], set()).add(item["split"])
    assert all(len(splits) == 1 for splits in docs.values())
    readme = (tmp_path / "a" / "README.md").read_text()
    assert "Sources and licences" in readme and "make_screens.py" in readme


def test_the_generated_pages_are_reproducible(tmp_path):
    """The HTML of a page is a pure function of its seed, and rendering it twice gives the
    same pixels."""
    words = script.vocabulary()
    assert script.PageMaker(7, words).page() == script.PageMaker(7, words).page()
    assert script.PageMaker(7, words).page() != script.PageMaker(8, words).page()
    first, second = _make(tmp_path / "a"), _make(tmp_path / "b")
    assert first == second
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    generated = [k for k in a if "/generated/" in k or "/charts/" in k]
    assert generated and all(a[k] == b[k] for k in generated)


def test_split_of_is_stable():
    assert script.split_of("docs/scaling.md", 0.15) == script.split_of("docs/scaling.md", 0.15)
    shares = [script.split_of(f"page{i}", 0.25) == "val" for i in range(400)]
    assert 0.15 < sum(shares) / 400 < 0.35
