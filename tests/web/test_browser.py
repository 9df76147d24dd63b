"""hybrid/web in a real browser: the system Chromium (headless, through Playwright) enhances
JPEGs with onnxruntime-web on a site ``hybrid web`` built, and

- its pixels equal the Python ONNX decoder's (within 1/255 on >= 99.5 % of pixels);
- it picks the network Python picks (the model or class the record names, else the photo /
  screen classifier, with the same probability), for photos, screenshots, hybrid files
  with and without a record, and the caller's choices;
- the enhanced image is shown as the browser shows the plain one: upright by the EXIF
  orientation (3, 6) and colour-managed through the file's ICC profile (Adobe RGB).

Needs chromium, the playwright package and onnxruntime-web (tests/web/browser.py).
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.enhance.choice import choose_model
from hybrid.enhance.jpeg_input import load_planes
from hybrid.pipeline.upscale import sr_model_for
from hybrid.resample import upscale_array
from hybrid.web_site import WEB_DIR, SiteConfig, build_site
from tests.helpers.screens import text_page, ui_boxes
from tests.web.browser import CHROMIUM, FLOAT32_TO_BASE64, pixels_of, require, serve, sync_api

ADOBE_RGB = Path("/usr/share/color/icc/ghostscript/a98.icc")

PAGE = """<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><body>
<script type="module">
import { enhanceImage } from "./web/hybrid-enhance.js";
const drawn = (img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return btoa(Array.from(rgba, (v) => String.fromCharCode(v)).join(""));
};
window.enhance = async (src, opts) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  document.body.append(img);
  const plain = { size: [img.naturalWidth, img.naturalHeight], drawn: drawn(img) };
  const r = await enhanceImage(img, { weightsBase: "./weights/", ortUrl: "./ort/ort.wasm.min.mjs",
                                      wasmPaths: "./ort/", ...opts });
  if (!r.enhanced) return { enhanced: false, reason: r.reason };
  return { enhanced: true, width: r.width, height: r.height, pixels: float32ToBase64(r.pixels),
           model: r.model, plain, shown: { size: [img.naturalWidth, img.naturalHeight],
                                           drawn: drawn(img) },
           swapped: img.dataset.hybridEnhanced === "true" && img.src.startsWith("blob:") };
};
window.ready = true;
</script>
"""


def _pillow(img: np.ndarray, quality: int, subsampling: int = 2, **save) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(img)
    if img.ndim == 2:
        image.save(buf, "JPEG", quality=quality, **save)
    else:
        image.save(buf, "JPEG", quality=quality, subsampling=subsampling, **save)
    return buf.getvalue()


def _oriented(img: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _pillow(img, 30, exif=exif.tobytes())


def _adobe_rgb() -> bytes:
    require(not ADOBE_RGB.is_file(), f"{ADOBE_RGB} (apt-get install libgs-common)")
    return _pillow(data.coffee()[150:310, 200:424], 40, icc_profile=ADOBE_RGB.read_bytes())


def _small(draw) -> np.ndarray:
    return draw(size=(320, 240))


@dataclass(frozen=True)
class Case:
    """A test file, the options the page passes (``js``) and their Python twins (``py``)."""

    make: object
    floor: float = 0.995
    js: dict = field(default_factory=dict)
    py: dict = field(default_factory=dict)
    backend: str = "onnx"


ASTRONAUT = data.astronaut()
CASES = {
    # photos, libjpeg-turbo (Pillow)
    "q20.jpg": Case(lambda: _pillow(ASTRONAUT[:200, 100:340], 20)),
    "q50.jpg": Case(lambda: _pillow(data.coffee()[150:310, 200:424], 50)),
    "q50-whole.jpg": Case(lambda: _pillow(data.coffee(), 50)),  # 600x400, saturated highlights
    "q20-odd.jpg": Case(lambda: _pillow(ASTRONAUT[3:190, 5:250], 20)),  # not on the MCU grid
    "q30-444.jpg": Case(lambda: _pillow(data.chelsea()[50:170, 100:260], 30, 0)),
    "grey-q40.jpg": Case(lambda: _pillow(data.camera()[100:244, 60:260], 40)),
    # near-lossless (a third of the change kept): small steps, where recovering the
    # coefficients from 8-bit pixels misses more of them
    "q91.jpg": Case(lambda: _pillow(ASTRONAUT[200:328, 200:344], 91), floor=0.98),
    # screens: the classifier picks the screen model. Dark text on white at q30 rings past
    # 0 and 255 in 61 % of its blocks; after de-clipping 4 % of all blocks keep a luma
    # coefficient off by one (99.89 % of coefficients exact), hence the lower floor
    "screen-text-q30.jpg": Case(lambda: _pillow(_small(text_page), 30), floor=0.98),
    "screen-ui-q50-444.jpg": Case(lambda: _pillow(_small(ui_boxes), 50, 0)),
    "screen-text-grey-q40.jpg": Case(lambda: _pillow(_small(text_page)[:, :, 0], 40)),
    # hybrid's files: no record of the content (classified), a recorded class that the
    # classifier would contradict, a recorded model id that wins over the classifier
    "hybrid-q30.jpg": Case(lambda: hybrid.encode(ASTRONAUT[:160, 200:400], quality=30)),
    "hybrid-photo-recorded-screen.jpg": Case(
        lambda: hybrid.encode(ASTRONAUT[:160, 200:400], quality=30, content="screen")
    ),
    "hybrid-screen-recorded-model.jpg": Case(
        lambda: hybrid.encode(_small(ui_boxes), quality=40, model_id="enhance-fast-v4")
    ),
    # a recorded model without an ONNX export is passed over, as Python's onnx backend does
    "hybrid-recorded-unexported.jpg": Case(
        lambda: hybrid.encode(ASTRONAUT[:160, 200:400], quality=30, model_id="enhance-quality-v4")
    ),
    # the caller's choice wins over the file: a class, a model
    "given-screen.jpg": Case(
        lambda: hybrid.encode(ASTRONAUT[:160, :160], quality=30, content="photo"),
        js={"content": "screen"},
        py={"content": "screen"},
    ),
    "given-model.jpg": Case(
        lambda: _pillow(_small(text_page), 30),
        floor=0.97,  # the text page above, with the photo model
        js={"modelId": "enhance-fast-v4"},
        py={"model": "enhance-fast-v4"},
    ),
    # the static int8 graph against Python's onnx-int8 backend: onnxruntime-web's WebAssembly
    # int8 kernels and ONNX Runtime's x86 (VNNI) ones do not give the same activations (mean
    # difference 0.10 level against 0.006 for the same file in fp32), hence the lower floor
    "q50-int8.jpg": Case(
        lambda: _pillow(data.coffee()[150:310, 200:424], 50),
        floor=0.98,
        js={"variant": "int8"},
        backend="onnx-int8",
    ),
    # shown as the plain image is: EXIF orientation, ICC profile
    "orient6.jpg": Case(lambda: _oriented(ASTRONAUT[20:140, 180:356], 6)),
    "orient3.jpg": Case(lambda: _oriented(ASTRONAUT[20:140, 180:356], 3)),
    "adobe-rgb.jpg": Case(_adobe_rgb),
    # downscaled hybrid files, shown at their original size by the super-resolution network
    # (x1.5: an x2 network's output resized down; x2 of an odd size: resized up by one pixel)
    "downscaled-x2.jpg": Case(lambda: hybrid.encode(ASTRONAUT[:201, :251], quality=30, scale=2.0)),
    "downscaled-x1.5.jpg": Case(
        lambda: hybrid.encode(ASTRONAUT[:201, :251], quality=30, scale=1.5)
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    api = sync_api()
    source = tmp_path_factory.mktemp("jpegs")
    for name, case in CASES.items():
        (source / name).write_bytes(case.make())
    root = tmp_path_factory.mktemp("site") / "site"
    build_site(SiteConfig(source=source, site=root, variants=("fp32", "int8")))
    (root / "test.html").write_text(PAGE)
    with serve(root, isolated=False) as url, api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.add_init_script(FLOAT32_TO_BASE64)
        page.goto(url + "test.html")
        page.wait_for_function("window.ready === true")
        yield root / "images", page, errors
        browser.close()


def _to_srgb(rgb: np.ndarray, icc: bytes) -> np.ndarray:
    """float64 (H, W, 3) 0..255 RGB in the ``icc`` colour space, converted to sRGB (LittleCMS)."""
    from PIL import ImageCms

    image = Image.fromarray(rgb.astype(np.uint8))
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"))
    return np.asarray(converted, dtype=np.float64)


def _rgba(encoded: str, size: list[int]) -> np.ndarray:
    w, h = size
    return np.frombuffer(base64.b64decode(encoded), np.uint8).reshape(h, w, 4)[:, :, :3]


@pytest.mark.parametrize("name", list(CASES))
def test_browser_matches_python_onnx_decoder(site, name):
    images, page, errors = site
    case = CASES[name]
    result = page.evaluate(
        "([name, opts]) => window.enhance('images/' + name, opts)", [name, case.js]
    )
    assert result["enhanced"], result.get("reason")
    assert result["swapped"]
    ours = pixels_of(result["pixels"], result["width"], result["height"])
    jpeg = (images / name).read_bytes()

    # the same network, for the same reason
    info = parse_info(jpeg)
    meta = info.hybrid_metadata
    model = result["model"]
    if name.startswith("downscaled"):
        ratio = max(meta.original_width / info.width, meta.original_height / info.height)
        assert model["model"] == sr_model_for(info, None, ratio, "onnx") == meta.model_id
        assert model["reason"] == "super-resolution"
    else:
        meta = None if case.py else meta
        site_models = json.loads((images.parent / "weights" / "onnx.json").read_text())["models"]
        exported = {m["id"] for m in site_models}
        choice = choose_model(meta, load_planes(jpeg, info=info), exported=exported, **case.py)
        assert (model["model"], model["reason"], model["content"], model["passedOver"]) == (
            choice.model, choice.reason, choice.content, choice.passed_over
        )  # fmt: skip
        assert model["why"] == choice.why()
        if choice.screen_probability is not None:
            assert abs(model["screenProbability"] - choice.screen_probability) < 0.01

    # the same pixels
    ref = hybrid.decode_array(jpeg, enhance=True, backend=case.backend, **case.py)
    if ref.shape[2] == 1:
        ref = np.repeat(ref, 3, axis=2)
    steps = np.abs(ours * 255 - ref * 255)
    share = float((steps <= 1.0).mean())
    print(
        f"{name}: {model['model']} ({model['why']}); {share:.5f} within 1/255, "
        f"mean {steps.mean():.3f}, max {steps.max():.2f} levels"
    )
    assert share >= case.floor, share
    assert steps.mean() < 0.2
    plain = hybrid.decode_array(jpeg, upscale=True)  # bicubic to the original size
    assert np.abs(ours - plain).mean() > 1e-3  # it did enhance

    # shown as the plain decode is shown: same size and orientation, same colour management
    # (a downscaled file's plain decode is its small coded image)
    assert result["shown"]["size"] == [ours.shape[1], ours.shape[0]]
    shown = _rgba(result["shown"]["drawn"], result["shown"]["size"]).astype(np.float64)
    if not name.startswith("downscaled"):
        assert result["plain"]["size"] == result["shown"]["size"]
        plain_shown = _rgba(result["plain"]["drawn"], result["plain"]["size"]).astype(np.float64)
        change = np.abs(np.round(ours * 255) - np.round(plain * 255)).mean()
        assert np.abs(shown - plain_shown).mean() <= change + 0.5
    expected = np.round(ours * 255)
    if name == "adobe-rgb.jpg":  # as the file's profile maps the pixels to the screen's sRGB
        assert np.abs(shown - expected).mean() > 5.0  # the browser did colour-manage
        expected = _to_srgb(expected, ADOBE_RGB.read_bytes())
        assert np.abs(shown - expected).mean() < 1.0, np.abs(shown - expected).mean()
    else:
        assert np.abs(shown - expected).max() <= 1
    assert errors == []


def test_browser_degrades_gracefully(site):
    """A missing model or an unsupported JPEG leaves the plain image, with the reason."""
    images, page, _ = site
    result = page.evaluate("() => window.enhance('images/q20.jpg', {modelId: 'no-such-model'})")
    assert result == {"enhanced": False, "reason": "no fp32 ONNX export of no-such-model"}
    cmyk = Image.fromarray(ASTRONAUT[:32, :32]).convert("CMYK")
    cmyk.save(images / "cmyk.jpg", "JPEG", quality=50)
    result = page.evaluate("() => window.enhance('images/cmyk.jpg', {})")
    assert result == {"enhanced": False, "reason": "not greyscale or YCbCr"}


def test_downscaled_file_without_super_resolution_model(site):
    """A site without the SR model: the enhancement network on the coded image, then Pillow's
    bicubic to the original size, as the Python ONNX decoder falls back; a console warning,
    no error."""
    images, page, errors = site
    weights = images.parent / "weights"
    manifest = json.loads((weights / "onnx.json").read_text())
    manifest["models"] = [m for m in manifest["models"] if m["architecture"] != "SRNet"]
    (weights.parent / "weights-no-sr").mkdir(exist_ok=True)
    for entry in manifest["models"]:
        for variant in entry["variants"].values():
            shutil.copy(weights / variant["file"], weights.parent / "weights-no-sr")
    (weights.parent / "weights-no-sr" / "onnx.json").write_text(json.dumps(manifest))
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    result = page.evaluate(
        "() => window.enhance('images/downscaled-x2.jpg', {weightsBase: './weights-no-sr/'})"
    )
    assert result["enhanced"], result
    assert result["model"]["model"] == "enhance-fast-v4"
    ours = pixels_of(result["pixels"], result["width"], result["height"])
    jpeg = (images / "downscaled-x2.jpg").read_bytes()
    coded = hybrid.decode_array(jpeg, enhance=True, upscale=False, backend="onnx")
    ref = upscale_array(coded, (result["width"], result["height"]))
    assert (result["width"], result["height"]) == (251, 201)
    steps = np.abs(ours * 255 - ref * 255)
    # 99.28 % measured: the upscale spreads each differing coded pixel over several
    assert (steps <= 1.0).mean() >= 0.99 and steps.mean() < 0.2
    assert [w for w in warnings if "no super-resolution model" in w] != []
    assert errors == []


def _edited_weights(root: Path, tmp_path: Path, monkeypatch, name: str, edit) -> None:
    """The site's ONNX weights copied to ``root / name`` and a Python registry over the
    released files (``HYBRID_WEIGHTS_DIR``), both with their manifests' model lists changed
    by ``edit(models) -> models`` (onnx.json and manifest.json alike), so that the page and
    Python's decoder read the same settings."""
    weights = root / "weights"
    site = root / name
    site.mkdir(exist_ok=True)
    manifest = json.loads((weights / "onnx.json").read_text())
    manifest["models"] = edit(manifest["models"])
    for entry in manifest["models"]:
        for variant in entry["variants"].values():
            shutil.copy(weights / variant["file"], site)
    (site / "onnx.json").write_text(json.dumps(manifest))
    released = Path(hybrid.__file__).resolve().parents[1] / "weights"
    registry = tmp_path / "weights"
    registry.mkdir()
    body = json.loads((released / "manifest.json").read_text())
    body["models"] = edit(body["models"])
    (registry / "manifest.json").write_text(json.dumps(body))
    (registry / "onnx.json").write_text(json.dumps(manifest))
    for file in {e["file"] for e in body["models"]} | {
        v["file"] for e in manifest["models"] for v in e["variants"].values()
    }:
        (registry / file).symlink_to(released / file)
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(registry))


def test_a_models_own_fade_out_knots(site, tmp_path, monkeypatch):
    """A site whose onnx.json gives the photo model its own fade-out knots: the page keeps
    the share those knots give (not the default's), as the Python ONNX decoder does with the
    same manifests."""
    images, page, errors = site
    jpeg = (images / "q50.jpg").read_bytes()
    info = parse_info(jpeg)
    step = float(np.mean(info.quant_tables[info.components[0].quant_index]))
    knots = [step - 10.0, step + 30.0]  # a quarter of the change kept; the default keeps all

    def fade(models: list[dict]) -> list[dict]:
        for entry in models:
            if entry["id"] == "enhance-fast-v4":
                entry["inference"]["fade_out"] = knots
        return models

    _edited_weights(images.parent, tmp_path, monkeypatch, "weights-fade", fade)

    result = page.evaluate(
        "() => window.enhance('images/q50.jpg', {weightsBase: './weights-fade/'})"
    )
    assert result["enhanced"], result
    assert result["model"]["model"] == "enhance-fast-v4"
    assert result["model"]["strength"] == pytest.approx(0.25)
    assert result["model"]["strengthSource"] == "taper"
    ours = pixels_of(result["pixels"], result["width"], result["height"])
    ref = hybrid.decode_array(jpeg, enhance=True, backend="onnx")
    kept = hybrid.decode(jpeg, enhance=True, backend="onnx").info["hybrid_strength"]
    assert kept == pytest.approx(0.25)
    steps = np.abs(ours * 255 - ref * 255)
    assert (steps <= 1.0).mean() >= 0.995 and steps.mean() < 0.2
    assert errors == []


def _js_array(source: str, name: str) -> list[float]:
    body = re.search(rf"export const {name} = \[([^\]]*)\]", source).group(1)
    return [float(v) for v in body.replace("\n", " ").split(",") if v.strip()]


def test_javascript_constants_are_pythons():
    """The module restates some of hybrid's constants; they must not drift."""
    from hybrid.codec.metadata import CONTENT_CODES, MAX_MODEL_ID_BYTES, READABLE_VERSIONS
    from hybrid.codec.tables import JFIF_RGB_TO_YCBCR, ZIGZAG
    from hybrid.enhance import content, content_params
    from hybrid.enhance.conditioning import COND_DIM
    from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS, DEFAULT_ENHANCE_MODEL
    from hybrid.enhance.taper import TAPER_STEPS, TAPER_STRENGTHS
    from hybrid.enhance.tiling import GRID

    core = (WEB_DIR / "enhance-core.js").read_text()
    headers = (WEB_DIR / "jpeg-headers.js").read_text()
    choice = (WEB_DIR / "content.js").read_text()
    assert _js_array(headers, "ZIGZAG") == [float(v) for v in np.asarray(ZIGZAG).reshape(-1)]
    assert _js_array(core, "TAPER_STEPS") == list(TAPER_STEPS)
    assert _js_array(core, "TAPER_STRENGTHS") == list(TAPER_STRENGTHS)
    assert f"export const GRID = {GRID};" in core
    assert f"new Float32Array({COND_DIM})" in core
    for row in JFIF_RGB_TO_YCBCR:
        assert all(repr(float(v)) in core or str(v) in core for v in row)
    assert _js_array(headers, "RECORD_VERSIONS") == list(READABLE_VERSIONS)
    codes = ", ".join(f"{k}: {v}" for k, v in CONTENT_CODES.items())
    assert f"export const CONTENT_CODES = {{ {codes} }};" in headers
    assert f"export const MAX_MODEL_ID_BYTES = {MAX_MODEL_ID_BYTES};" in headers

    for name in ("FEATURE_MEAN", "FEATURE_SCALE", "WEIGHTS"):
        assert _js_array(choice, name) == list(getattr(content_params, name)), name
    assert f"export const BIAS = {content_params.BIAS!r};" in choice
    assert f"export const THRESHOLD = {content_params.THRESHOLD!r};" in choice
    assert tuple(content_params.FEATURE_NAMES) == content.FEATURE_NAMES
    for name in ("MAX_SAMPLED_BLOCKS", "MAX_SAMPLED_DC_PAIRS", "MAX_SAMPLED_PIXELS"):
        assert f"export const {name} = {getattr(content, name)};" in choice
    assert f"export const HIGH_DIAGONAL = {content.HIGH_DIAGONAL};" in choice
    assert f"const PLASTIC = {content._PLASTIC!r};" in choice
    assert f'export const DEFAULT_ENHANCE_MODEL = "{DEFAULT_ENHANCE_MODEL}";' in choice
    models = ", ".join(f'{k}: "{v}"' for k, v in DEFAULT_CONTENT_MODELS.items())
    assert f"export const DEFAULT_CONTENT_MODELS = {{ {models} }};" in choice
    classes = ", ".join(f'"{c}"' for c in content.CONTENT_CLASSES)
    assert f"export const CONTENT_CLASSES = [{classes}];" in choice


def test_a_super_resolution_models_own_share_for_files_that_record_none(
    site, tmp_path, monkeypatch
):
    """A site without the x1.5 models, whose onnx.json gives sr-fast-v1 a share of its own
    for files that record no strength for it (``inference.strength``): an x1.5 file, whose
    record names sr-fast-x1.5-v1, is super-resolved by sr-fast-v1 at that share, as the
    Python ONNX decoder does with the same manifests."""
    images, page, errors = site

    def share(models: list[dict]) -> list[dict]:
        for entry in models:
            if entry["id"] == "sr-fast-v1":
                entry["inference"]["strength"] = 0.5
        return [m for m in models if "x1.5" not in m["id"]]

    _edited_weights(images.parent, tmp_path, monkeypatch, "weights-sr-share", share)

    result = page.evaluate(
        "() => window.enhance('images/downscaled-x1.5.jpg', {weightsBase: './weights-sr-share/'})"
    )
    assert result["enhanced"], result
    assert result["model"]["model"] == "sr-fast-v1"
    assert result["model"]["strength"] == pytest.approx(0.5)
    assert result["model"]["strengthSource"] == "model default"
    ours = pixels_of(result["pixels"], result["width"], result["height"])
    jpeg = (images / "downscaled-x1.5.jpg").read_bytes()
    shown = hybrid.decode(jpeg, enhance=True, backend="onnx")
    assert shown.info["hybrid_model"] == "sr-fast-v1"
    assert shown.info["hybrid_strength"] == pytest.approx(0.5)
    assert shown.info["hybrid_strength_source"] == "model default"
    ref = np.asarray(shown, dtype=np.float32) / 255.0
    # Python's picture is half way from the bicubic upscale to the network's full output
    from hybrid.enhance.onnx_superres import upscale_jpeg_onnx
    from hybrid.pipeline.upscale import bicubic_base

    size = (result["width"], result["height"])
    full = upscale_jpeg_onnx(jpeg, size, model="sr-fast-v1", info=parse_info(jpeg))
    base = bicubic_base(jpeg, parse_info(jpeg), size)
    half = np.clip(base + 0.5 * (full - base), 0.0, 1.0)
    assert np.abs(ref - half).max() <= 1.01 / 255 and np.abs(ref - full).mean() > 1e-3
    steps = np.abs(ours * 255 - ref * 255)
    assert (steps <= 1.0).mean() >= 0.99 and steps.mean() < 0.3
    assert errors == []
