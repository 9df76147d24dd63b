"""Which execution provider hybrid/web asks onnxruntime-web for (runtime.js), in the system
Chromium: WebGPU when ``navigator.gpu`` offers a hardware adapter, else WebAssembly, with one
console line saying which and why.

Headless Chromium here offers no adapter by default (the fallback path every test run
takes); with ``--enable-unsafe-webgpu`` it offers SwiftShader, a software adapter, which the
module declines unless told ``webgpu: true``, and on which the WebGPU path runs end to end
(the pixels are checked against Python's, not the speed: SwiftShader emulates a GPU on the
CPU and is many times slower than WebAssembly).

Needs chromium, the playwright package and onnxruntime-web (tests/web/browser.py).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

import hybrid
from hybrid.web_site import SiteConfig, build_site
from tests.web.browser import CHROMIUM, FLOAT32_TO_BASE64, pixels_of, require, serve, sync_api

PAGE = """<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><body>
<script type="module">
import { enhanceImage } from "./web/hybrid-enhance.js";
window.enhance = async (opts) => {
  const img = new Image();
  img.src = "images/small.jpg";
  await img.decode();
  const r = await enhanceImage(img, { weightsBase: "./weights/", ortUrl: "./ort/ort.wasm.min.mjs",
                                      wasmPaths: "./ort/", ...opts });
  if (!r.enhanced) return { enhanced: false, reason: r.reason };
  return { enhanced: true, width: r.width, height: r.height, provider: r.provider,
           threads: r.threads, pixels: float32ToBase64(r.pixels) };
};
window.ready = true;
</script>
"""
UNSAFE_WEBGPU = "--enable-unsafe-webgpu"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()[:64, 100:196]).save(buf, "JPEG", quality=20)
    return buf.getvalue()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    sync_api()
    source = tmp_path_factory.mktemp("jpegs")
    (source / "small.jpg").write_bytes(_jpeg())
    root = tmp_path_factory.mktemp("site") / "site"
    build_site(SiteConfig(source=source, site=root))
    (root / "test.html").write_text(PAGE)
    return root


def _enhance(site, options: dict, *flags: str) -> tuple[dict, list[str], list[str], str]:
    """Enhance the small file in a fresh browser; (result, the module's console lines,
    errors, what navigator.gpu offered)."""
    api = sync_api()
    lines: list[str] = []
    errors: list[str] = []
    with serve(site, isolated=False) as url, api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", *flags])
        try:
            page = browser.new_page()
            page.on(
                "console", lambda m: lines.append(m.text) if m.text.startswith("hybrid:") else None
            )
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.add_init_script(FLOAT32_TO_BASE64)
            page.goto(url + "test.html")
            page.wait_for_function("window.ready === true")
            offered = page.evaluate(
                """async () => { if (!navigator.gpu) return 'no navigator.gpu';
                   const a = await navigator.gpu.requestAdapter();
                   return a ? (a.info.isFallbackAdapter ? 'software' : 'hardware') : 'none'; }"""
            )
            result = page.evaluate("(opts) => window.enhance(opts)", options)
        finally:
            browser.close()
    return result, lines, errors, offered


def _agrees_with_python(result: dict) -> float:
    ours = pixels_of(result["pixels"], result["width"], result["height"])
    ref = hybrid.decode_array(_jpeg(), enhance=True, backend="onnx")
    steps = np.abs(ours * 255 - ref * 255)
    assert steps.mean() < 0.2
    return float((steps <= 1.0).mean())


def test_no_adapter_runs_webassembly_and_says_so(site):
    result, lines, errors, offered = _enhance(site, {})
    assert offered == "none"  # headless Chromium without flags
    assert result["enhanced"] and result["provider"] == "wasm" and result["threads"] == 1
    assert lines == ["hybrid: onnxruntime-web runs on WebAssembly, 1 thread (no WebGPU adapter)"]
    assert errors == []
    assert _agrees_with_python(result) >= 0.995


def test_a_software_adapter_is_declined_and_webgpu_false_never_asks(site):
    result, lines, errors, offered = _enhance(site, {}, UNSAFE_WEBGPU)
    require(offered != "software", "chromium offering SwiftShader with --enable-unsafe-webgpu")
    assert result["provider"] == "wasm" and errors == []
    assert lines == [
        "hybrid: onnxruntime-web runs on WebAssembly, 1 thread "
        "(the WebGPU adapter (google swiftshader) is a software fallback)"
    ]
    result, lines, errors, _ = _enhance(site, {"webgpu": False}, UNSAFE_WEBGPU)
    assert result["provider"] == "wasm" and errors == []
    assert lines == ["hybrid: onnxruntime-web runs on WebAssembly, 1 thread (WebGPU not asked for)"]


def test_webgpu_path_on_a_software_adapter_agrees_with_python(site):
    """The WebGPU build, session and tiles end to end (about 25 s on SwiftShader for this
    96x64 file, most of it compiling shaders; WebAssembly takes 3 s)."""
    result, lines, errors, offered = _enhance(site, {"webgpu": True}, UNSAFE_WEBGPU)
    require(offered != "software", "chromium offering SwiftShader with --enable-unsafe-webgpu")
    assert result["enhanced"], result.get("reason")
    assert result["provider"] == "webgpu"
    assert lines == [
        "hybrid: onnxruntime-web runs on WebGPU (google swiftshader, software fallback)"
    ]
    assert errors == []
    share = _agrees_with_python(result)
    print(f"WebGPU (SwiftShader): {share:.5f} within 1/255 of Python's onnx decode")
    assert share >= 0.995
