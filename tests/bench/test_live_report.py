"""The bench report's live comparison without a browser: what it writes, and the note that
replaces it when something it needs is missing (tests/web/test_bench_live.py runs it in
Chromium)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from hybrid.bench.html import CropSet, LiveFile, LiveSection, render_html
from hybrid.bench.live import LIVE_CODECS, make_live
from hybrid.bench.report import summarize
from hybrid.bench.runner import plan_bench
from hybrid.web_site import DEFAULT_ORT_DIR, ORT_FILES
from tests.helpers.images import tiny_photos


def _render(live: LiveSection | None, crops: list[CropSet], tmp_path) -> str:
    plan, _, _ = _plan_and_points(tmp_path)
    return render_html(summarize(plan, []), {}, crops, live)  # no points: empty tables


def test_page_with_and_without_live_files(tmp_path):
    crop = CropSet("photo0.png", (16, 32, 64), ())
    live = LiveSection(
        (LiveFile(0, "live/images/crop0-hybrid.jpg", "the hybrid file", b"\x89PNG"),),
        None,
        "live/",
        {"weightsBase": "live/weights/"},
        "hybrid web --serve -o out",
    )
    html = _render(live, [crop], tmp_path)
    assert "<code>hybrid web --serve -o out</code>" in html
    data = json.loads(re.search(r'id="live-data">(.*?)</script>', html, re.S).group(1))
    assert data["files"] == {"0": {"src": "live/images/crop0-hybrid.jpg", "box": [16, 32, 64]}}
    assert data["base"] == "live/" and data["options"] == {"weightsBase": "live/weights/"}
    assert html.count('class="live" data-live="0"') == 1
    without = _render(LiveSection((), "onnxruntime-web is not in /x: run it"), [crop], tmp_path)
    assert "No live comparison in this report: onnxruntime-web is not in /x: run it" in without
    assert 'data-live="' not in without
    assert "hybrid web --serve" not in _render(None, [crop], tmp_path)


def _plan_and_points(tmp_path):
    images = tiny_photos(tmp_path / "images", count=1)  # existing files are rewritten
    plan = plan_bench(images, codecs=["hybrid"], quick=True, butteraugli=False)
    point = {"image": "photo0.png", "codec": "hybrid", "bpp": 0.4, "setting": 25.0, "error": None}
    crop = CropSet("photo0.png", (0, 0, 64), ())
    return plan, [point], [crop]


def test_live_comparison_is_left_out_with_the_reason(tmp_path, monkeypatch):
    plan, points, crops = _plan_and_points(tmp_path)
    assert make_live(tmp_path / "none", plan, points, [], target_bpp=0.4).note is None
    other = [{**points[0], "codec": "webp"}]
    if (DEFAULT_ORT_DIR / ORT_FILES[0]).is_file():
        # no codec of LIVE_CODECS measured
        note = make_live(tmp_path / "o1", plan, other, crops, target_bpp=0.4).note
        assert note == f"none of {', '.join(LIVE_CODECS)} was measured"
        # a weights folder without ONNX exports (the bench's smoke test runs so)
        (tmp_path / "weights").mkdir()
        monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path / "weights"))
        live = make_live(tmp_path / "o2", plan, points, crops, target_bpp=0.4)
        assert live.files == () and "hybrid export-onnx" in str(live.note)
        assert not (tmp_path / "o2" / "live").exists()
    import hybrid.web_site

    monkeypatch.setattr(hybrid.web_site, "DEFAULT_ORT_DIR", tmp_path / "no-ort")
    live = make_live(tmp_path / "o3", plan, points, crops, target_bpp=0.4)
    assert live.files == () and "scripts/fetch_web_deps.sh" in str(live.note)
    assert not (tmp_path / "o3").exists()


def test_live_file_is_the_codecs_file_and_pythons_onnx_crop(tmp_path):
    pytest.importorskip("onnxruntime")
    if not (DEFAULT_ORT_DIR / ORT_FILES[0]).is_file():
        pytest.skip("needs onnxruntime-web (scripts/fetch_web_deps.sh)")
    import io

    from PIL import Image

    import hybrid
    from hybrid.bench.runner import load_rgb
    from hybrid.bench.variants import hybrid_encode

    plan, points, crops = _plan_and_points(tmp_path)
    live = make_live(tmp_path / "out", plan, points, crops, target_bpp=0.4)
    [file] = live.files
    jpeg = (tmp_path / "out" / file.src).read_bytes()
    assert jpeg == hybrid_encode(load_rgb(plan.images[0].path), 25.0)
    decoded = np.asarray(hybrid.decode(jpeg, enhance=True, backend="onnx"))[:64, :64]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(file.python_png))), decoded)
    assert "quality 25" in file.caption and "Python chose enhance-" in file.caption
    assert live.options["ortUrl"] == "live/ort/ort.wasm.min.mjs"
