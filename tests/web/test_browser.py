"""hybrid/web in a real browser: the system Chromium (headless, through Playwright) enhances
libjpeg-turbo JPEGs with onnxruntime-web, and its pixels equal the Python ONNX decoder's.

Needs ``chromium`` (apt), the ``playwright`` pip package (no browser download) and
onnxruntime-web in build/web-deps (``scripts/fetch_web_deps.sh``); skipped without them.
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

pytest.importorskip("onnxruntime")
sync_api = pytest.importorskip("playwright.sync_api")

import hybrid  # noqa: E402
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, weights_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "hybrid" / "web"
ORT = ROOT / "build" / "web-deps" / "node_modules" / "onnxruntime-web" / "dist"
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs the system chromium"),
    pytest.mark.skipif(not (ORT / ORT_FILES[0]).is_file(), reason="scripts/fetch_web_deps.sh"),
]

PAGE = """<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { enhanceImage } from "./web/hybrid-enhance.js";
window.enhance = async (src, opts) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  document.body.append(img);
  const r = await enhanceImage(img, { weightsBase: "./weights/", ortUrl: "./ort/ort.wasm.min.mjs",
                                      wasmPaths: "./ort/", ...opts });
  if (!r.enhanced) return { enhanced: false, reason: r.reason };
  const bytes = new Uint8Array(r.pixels.buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 32768) {
    s += String.fromCharCode(...bytes.subarray(i, i + 32768));
  }
  return { enhanced: true, width: r.width, height: r.height, pixels: btoa(s),
           swapped: img.dataset.hybridEnhanced === "true" && img.src.startsWith("blob:") };
};
window.ready = true;
</script>
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, *args):  # quiet
        pass


def _jpeg(img: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


CASES = {
    "q20.jpg": (data.astronaut()[:200, 100:340], 20, 2),
    "q50.jpg": (data.coffee()[150:310, 200:424], 50, 2),
    "q50-whole.jpg": (data.coffee(), 50, 2),  # 600x400, saturated highlights
    "q20-odd.jpg": (data.astronaut()[3:190, 5:250], 20, 2),  # not on the MCU grid
    "q30-444.jpg": (data.chelsea()[50:170, 100:260], 30, 0),
    "grey-q40.jpg": (data.camera()[100:244, 60:260], 40, 0),
    "q93.jpg": (data.astronaut()[200:328, 200:344], 93, 2),  # partly faded out
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(WEB, root / "web", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "ort").mkdir()
    for name in ORT_FILES:
        shutil.copy(ORT / name, root / "ort" / name)
    (root / "weights").mkdir()
    shutil.copy(weights_dir() / "onnx.json", root / "weights")
    shutil.copy(weights_dir() / f"{DEFAULT_ENHANCE_MODEL}.fp32.onnx", root / "weights")
    (root / "index.html").write_text(PAGE)
    for name, (img, quality, sub) in CASES.items():
        (root / name).write_bytes(_jpeg(img, quality, sub))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def page(site):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pg = browser.new_page()
        pg.goto(site[1] + "index.html")
        pg.wait_for_function("window.ready === true")
        yield pg
        browser.close()


@pytest.mark.parametrize("name", list(CASES))
def test_browser_matches_python_onnx_decoder(site, page, name):
    result = page.evaluate("name => window.enhance(name, {})", name)
    assert result["enhanced"], result.get("reason")
    assert result["swapped"]
    h, w = result["height"], result["width"]
    ours = np.frombuffer(base64.b64decode(result["pixels"]), dtype=np.float32).reshape(h, w, 3)
    jpeg = (site[0] / name).read_bytes()
    ref = hybrid.decode_array(jpeg, enhance=True, backend="onnx")
    if ref.shape[2] == 1:
        ref = np.repeat(ref, 3, axis=2)
    steps = np.abs(ours * 255 - ref * 255)
    print(f"{name}: {(steps <= 1.0).mean():.5f} within 1/255, max {steps.max():.3f}/255")
    # the acceptance for q20 / q50 libjpeg-turbo files; near-lossless q93 has steps of 1-3,
    # where recovering the coefficients from 8-bit pixels misses more of them
    floor = 0.98 if name == "q93.jpg" else 0.995
    assert (steps <= 1.0).mean() >= floor, (steps <= 1.0).mean()
    assert steps.mean() < 0.2
    plain = hybrid.decode_array(jpeg, enhance=False)
    assert np.abs(ours - plain).mean() > 1e-3  # it did enhance


def test_browser_degrades_gracefully(site, page):
    """A missing model or an unsupported JPEG leaves the plain image, with the reason."""
    result = page.evaluate("() => window.enhance('q20.jpg', {modelId: 'no-such-model'})")
    assert result == {"enhanced": False, "reason": "no fp32 ONNX export of no-such-model"}
    cmyk = Image.fromarray(data.astronaut()[:32, :32]).convert("CMYK")
    cmyk.save(site[0] / "cmyk.jpg", "JPEG", quality=50)
    result = page.evaluate("() => window.enhance('cmyk.jpg', {})")
    assert result == {"enhanced": False, "reason": "not greyscale or YCbCr"}


def test_javascript_constants_are_pythons():
    """enhance-core.js restates a few of hybrid's constants; they must not drift."""
    import re

    from hybrid.codec.tables import JFIF_RGB_TO_YCBCR, ZIGZAG
    from hybrid.enhance.conditioning import COND_DIM
    from hybrid.enhance.taper import TAPER_STEPS, TAPER_STRENGTHS
    from hybrid.enhance.tiling import GRID

    source = (WEB / "enhance-core.js").read_text()

    def array(name: str) -> list[float]:
        body = re.search(rf"export const {name} = \[([^\]]*)\]", source).group(1)
        return [float(v) for v in body.replace("\n", " ").split(",") if v.strip()]

    assert array("ZIGZAG") == [float(v) for v in np.asarray(ZIGZAG).reshape(-1)]
    assert array("TAPER_STEPS") == list(TAPER_STEPS)
    assert array("TAPER_STRENGTHS") == list(TAPER_STRENGTHS)
    assert f"export const GRID = {GRID};" in source
    assert f"new Float32Array({COND_DIM})" in source
    for row in JFIF_RGB_TO_YCBCR:
        assert all(repr(float(v)) in source or str(v) in source for v in row)
