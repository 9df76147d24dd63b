"""The bench report's live comparison (issue 16: the bench HTML report uses the browser
module): ``hybrid bench`` on one small image writes the module, onnxruntime-web, the models
and the file beside report.html; served as ``hybrid web --serve -o OUT`` serves it and opened
in the system Chromium, the page enhances the file with the shipped module, logs no errors,
and its pixels equal ``hybrid.decode_array(..., enhance=True, backend="onnx")``'s within
1/255 on >= 99.5 % of pixels. Opened as a file, the rest of the report still works and the
live comparison says why it did not run, without errors.

Needs chromium, the playwright package and onnxruntime-web (tests/web/browser.py).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid.cli import cli
from hybrid.web_serve import make_server, site_url
from hybrid.web_site import ORT_FILES
from tests.helpers.images import tiny_photos
from tests.web.browser import FLOAT32_TO_BASE64, open_page, pixels_of, require_ort


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    require_ort()
    root = tmp_path_factory.mktemp("bench-live")
    images = tiny_photos(root / "images", count=1)
    out = root / "out"
    result = CliRunner().invoke(
        cli,
        ["bench", str(images), "-o", str(out), "--quick", "--codecs", "hybrid,hybrid-enhance-fast",
         "--crops", "1", "--no-butteraugli"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_report_ships_the_module_beside_it(report):
    jpegs = sorted((report / "live" / "images").iterdir())
    assert [p.name for p in jpegs] == ["crop0-hybrid.jpg"]
    for rel in ("web/hybrid-enhance.js", "web/enhance-worker.js", *(f"ort/{n}" for n in ORT_FILES)):
        assert (report / "live" / rel).is_file(), rel
    shipped = json.loads((report / "live" / "weights" / "onnx.json").read_text())["models"]
    assert {m["id"] for m in shipped} >= {"enhance-fast-v4", "enhance-screen-v1"}
    for entry in shipped:
        assert (report / "live" / "weights" / entry["variants"]["fp32"]["file"]).is_file()
    assert 'url=report.html"' in (report / "index.html").read_text()
    page = (report / "report.html").read_text()
    assert f"hybrid web --serve -o {report}" in page
    assert 'src="data:image/png;base64,' in page and 'class="live"' in page


def _open(url: str) -> tuple[dict, list[str], bytes]:
    viewport = {"width": 1300, "height": 900}
    with open_page(url, FLOAT32_TO_BASE64, viewport=viewport) as (page, errors):
        page.wait_for_function("document.documentElement.dataset.ready === 'ok'")
        page.wait_for_function("document.documentElement.dataset.live === 'done'", timeout=240_000)
        state = page.evaluate(
            """() => ({ ...window.hybridLive, isolated: self.crossOriginIsolated,
                results: window.hybridLive.results.map((r) => ({ ...r,
                  pixels: r.pixels ? float32ToBase64(r.pixels) : null })),
                status: [...document.querySelectorAll('.live .status')].map(
                  (e) => e.textContent) })"""
        )
        live = page.locator(".live").first
        shot = live.screenshot() if live.count() else b""
    return state, errors, shot


def test_served_report_enhances_live_as_python_does(report, tmp_path):
    server = make_server(report, 0)  # hybrid web --serve's server: COOP / COEP
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        state, errors, shot = _open(site_url(server) + "report.html")
    finally:
        server.shutdown()
        server.server_close()
    assert errors == []
    assert state["served"] and state["isolated"] and "error" not in state, state.get("error")
    [result] = state["results"]
    assert result["enhanced"], result["reason"]
    jpeg = (report / result["src"]).read_bytes()
    python = hybrid.decode(jpeg, enhance=True, backend="onnx")
    assert result["model"] == python.info["hybrid_model"]
    ours = pixels_of(result["pixels"], result["width"], result["height"])
    ref = hybrid.decode_array(jpeg, enhance=True, backend="onnx")
    steps = np.abs(ours * 255 - ref * 255)
    share = float((steps <= 1.0).mean())
    print(
        f"live: {result['model']} ({result['why']}), {result['ms'] / 1000:.1f} s, "
        f"{result['threads']} threads; {share:.5f} within 1/255, mean {steps.mean():.3f}; "
        f"in the page: {result['closeShare']:.5f} of 8-bit crop values within 1"
    )
    assert share >= 0.995 and steps.mean() < 0.2
    plain = hybrid.decode_array(jpeg)
    assert np.abs(ours - plain).mean() > 1e-3  # it did enhance
    assert result["closeShare"] >= 0.995  # what the page says of its crop
    assert "within 1 of the Python decode's" in state["status"][0]
    # the screenshot shows the three crops: the live one differs from the plain one
    (tmp_path / "live.png").write_bytes(shot)
    image = np.asarray(Image.open(tmp_path / "live.png").convert("RGB"), dtype=np.int16)
    assert image.shape[1] >= 3 * 384 and image.std() > 10


def test_report_opened_as_a_file_says_why_it_does_not_run(report):
    state, errors, _ = _open((report / "report.html").as_uri())
    assert errors == []
    assert not state["served"] and state["results"] == []
    assert state["status"] == ["not run: the page was opened as a file (see the top)"]
