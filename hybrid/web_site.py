"""A static site that shows a folder of JPEGs enhanced where they are viewed (``hybrid web``).

Layout of the site (every file written atomically, the JPEGs copied byte for byte)::

    index.html       the gallery: each JPEG as an <img> enhanced in place by web/gallery.js,
                     with a plain / enhanced toggle
    web/             the browser module (hybrid/web: gallery.js, hybrid-enhance.js, ...)
    ort/             onnxruntime-web's WebAssembly build, and its WebGPU build that the
                     module loads only where the browser offers a GPU (from build/web-deps, npm)
    weights/         onnx.json (the entries of the shipped models only) and their verified
                     .onnx files: the model of each content class (photo, screen), which
                     the browser picks per file as the Python decoder does, and the
                     super-resolution models that downscaled files among the JPEGs need
    images/          the JPEGs
    _headers         COOP / COEP for Netlify and Cloudflare Pages: cross-origin isolation,
                     which onnxruntime-web needs to run WebAssembly threads

Serving it with the same headers locally is :mod:`hybrid.web_serve`.
"""

from __future__ import annotations

import html
import json
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path

from hybrid.codec.headers import parse_info
from hybrid.enhance.onnx_registry import ONNX_MANIFEST_NAME, VARIANTS, onnx_entry, read_onnx_bytes
from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS
from hybrid.errors import InputError
from hybrid.io import atomic_write

WEB_DIR = Path(__file__).resolve().parent / "web"
#: Where scripts/fetch_web_deps.sh puts onnxruntime-web (a checkout's ignored build/).
DEFAULT_ORT_DIR = (
    Path(__file__).resolve().parents[1] / "build/web-deps/node_modules/onnxruntime-web/dist"
)
#: The onnxruntime-web files the module loads: the WebAssembly-only ES module build, and the
#: SIMD + threads runtime it fetches (the same binary runs with one thread).
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
#: onnxruntime-web's WebGPU build and the runtime it fetches (WebGPU and WebAssembly), which
#: hybrid/web/runtime.js loads instead when the browser offers a hardware WebGPU adapter.
ORT_WEBGPU_FILES = (
    "ort.webgpu.min.mjs",
    "ort-wasm-simd-threaded.jsep.mjs",
    "ort-wasm-simd-threaded.jsep.wasm",
)
JPEG_SUFFIXES = frozenset(".jpg .jpeg .jpe .jfif".split())
#: Response headers that make the site cross-origin isolated (``crossOriginIsolated``).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
FETCH_COMMAND = "scripts/fetch_web_deps.sh"
#: The enhancement models a page ships by default: each content class's, photo first (the
#: browser picks one per file, as the Python decoder does).
DEFAULT_MODELS = tuple(dict.fromkeys(DEFAULT_CONTENT_MODELS.values()))


@dataclass(frozen=True)
class SiteConfig:
    """What ``hybrid web`` writes.

    Attributes:
        source: folder of JPEGs (``.jpg .jpeg .jpe .jfif``, not its subfolders).
        site: output folder; must be empty or missing unless ``force``.
        variants: ONNX variants of each model to ship; the first is the page's default
            (``?variant=`` picks another).
        ort_dir: onnxruntime-web's ``dist`` folder.
        force: write into a non-empty ``site``, replacing files of the same name.
        models: the enhancement models to ship (default: each content class's, photo
            first); the browser chooses among them per file.
        webgpu: ship onnxruntime-web's WebGPU build too (:data:`ORT_WEBGPU_FILES`, 22 MB,
            downloaded only by browsers with a hardware WebGPU adapter); without it the
            page never asks for WebGPU.
    """

    source: Path
    site: Path
    variants: tuple[str, ...] = ("fp32",)
    ort_dir: Path = DEFAULT_ORT_DIR
    force: bool = False
    models: tuple[str, ...] = DEFAULT_MODELS
    webgpu: bool = True

    def __post_init__(self) -> None:
        if not self.variants or any(v not in VARIANTS for v in self.variants):
            raise InputError(f"variants must be some of {', '.join(VARIANTS)}")
        if len(set(self.variants)) != len(self.variants):
            raise InputError("each variant once")
        if not self.models or len(set(self.models)) != len(self.models):
            raise InputError("at least one model, each once")


def find_jpegs(source: Path) -> list[Path]:
    """The JPEG files directly in ``source``, by name; InputError for a bad folder, no JPEGs
    or a file that does not start with a JPEG SOI marker."""
    if not source.is_dir():
        raise InputError(
            f"{source}: not a directory" if source.exists() else f"{source}: no such directory"
        )
    found = sorted(
        p for p in source.iterdir()
        if p.suffix.lower() in JPEG_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )  # fmt: skip
    if not found:
        raise InputError(f"{source}: no JPEG files (.jpg .jpeg .jpe .jfif) in it")
    for path in found:
        with path.open("rb") as fh:
            if fh.read(2) != b"\xff\xd8":
                raise InputError(f"{path}: not a JPEG file (no SOI marker)")
    return found


def check_ort(ort_dir: Path, webgpu: bool = False) -> None:
    """InputError naming :data:`FETCH_COMMAND` when onnxruntime-web's files (with ``webgpu``,
    its WebGPU build's too) are not in ``ort_dir``."""
    names = ORT_FILES + (ORT_WEBGPU_FILES if webgpu else ())
    missing = [name for name in names if not (ort_dir / name).is_file()]
    if missing:
        raise InputError(
            f"onnxruntime-web is not in {ort_dir} (missing {missing[0]}): run {FETCH_COMMAND}"
        )


def _check_site(site: Path, force: bool) -> None:
    if site.exists() and not site.is_dir():
        raise InputError(f"{site}: not a directory")
    if site.is_dir() and any(site.iterdir()) and not force:
        raise InputError(f"{site}: not empty (use --force to write into it)")


def module_options(
    variant: str = "fp32", base: str = "", webgpu: bool = True
) -> dict[str, str | bool]:
    """The options of ``enhanceImage`` for a page whose :func:`module_assets` lie in the
    folder ``base`` (relative to the page, ``""`` or ending in ``/``); ``webgpu``: whether
    they include the WebGPU build (else the page never asks for WebGPU)."""
    options: dict[str, str | bool] = {
        "weightsBase": f"{base}weights/",
        "ortUrl": f"{base}ort/{ORT_FILES[0]}",
        "wasmPaths": f"{base}ort/",
        "variant": variant,
    }
    if not webgpu:
        options["webgpu"] = False
    return options


def gallery_html(names: list[str], variant: str, webgpu: bool = True) -> str:
    """The gallery page for image files ``names`` (inside ``images/``)."""
    figures = "\n".join(
        f'<figure><img src="images/{urllib.parse.quote(name)}" alt="{html.escape(name)}" '
        f'data-name="{html.escape(name)}" data-hybrid>\n'
        f"<figcaption>{html.escape(name)} <button disabled>plain</button> "
        f'<span class="status">enhancing...</span></figcaption></figure>'
        for name in names
    )
    options = json.dumps(module_options(variant, webgpu=webgpu))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hybrid: JPEGs enhanced in the browser</title>
<link rel="icon" href="data:,">
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; background: #fafafa; }}
figure {{ display: inline-block; margin: 0 1em 1.5em 0; vertical-align: top; }}
img {{ display: block; max-width: 100%; image-rendering: auto; }}
figcaption {{ margin-top: .4em; color: #444; }}
</style></head>
<body>
<h1>JPEGs enhanced where they are viewed</h1>
<p>Each image is a standard JPEG; the page decodes it, runs hybrid's enhancement network
in your browser (onnxruntime-web) and swaps the result in. The button toggles back to the
plain decode.</p>
{figures}
<script type="module">
import {{ enhanceGallery }} from "./web/gallery.js";
enhanceGallery({options});
</script>
</body></html>
"""


def headers_file() -> str:
    """``_headers`` (Netlify / Cloudflare Pages): the isolation headers on every path."""
    lines = ["/*"] + [f"  {name}: {value}" for name, value in ISOLATION_HEADERS.items()]
    return "\n".join(lines) + "\n"


def sr_models_for(jpegs: list[Path]) -> list[str]:
    """The super-resolution models the downscaled hybrid files among ``jpegs`` decode with:
    the Python ONNX decoder's choice (:func:`hybrid.pipeline.upscale.sr_model_for`: the
    record's model, else the default for the file's ratio, among the ONNX exports), in order
    of first use. Files whose headers do not parse are left to the browser's plain decode."""
    from hybrid.pipeline.upscale import sr_model_for

    found: dict[str, None] = {}
    for path in jpegs:
        with warnings.catch_warnings():  # a bad record is the decoder's to report
            warnings.simplefilter("ignore")
            try:
                info = parse_info(path.read_bytes())
            except InputError:
                continue
        meta = info.hybrid_metadata
        if meta is None or meta.mode != "downscaled" or not info.width or not info.height:
            continue
        ratio = max(meta.original_width / info.width, meta.original_height / info.height)
        model = sr_model_for(info, None, ratio, "onnx")
        if model is not None:
            found[model] = None
    return list(found)


def _weights_manifest(models: list[str], variants: tuple[str, ...]) -> str:
    entries = []
    for model in models:
        entry = onnx_entry(model).as_json()
        entry["variants"] = {v: entry["variants"][v] for v in variants}
        entries.append(entry)
    return json.dumps({"format": 1, "models": entries}, indent=2) + "\n"


def module_assets(
    models: list[str],
    variants: tuple[str, ...] = ("fp32",),
    ort_dir: Path = DEFAULT_ORT_DIR,
    webgpu: bool = True,
) -> dict[str, bytes]:
    """What a page needs beside it to run the browser module, by path relative to the page:
    ``web/`` (hybrid/web), ``ort/`` (onnxruntime-web's :data:`ORT_FILES`, and with ``webgpu``
    its :data:`ORT_WEBGPU_FILES`) and ``weights/`` (``onnx.json`` with the entries of
    ``models`` and their verified ``variants``).

    Raises:
        InputError: onnxruntime-web is not in ``ort_dir`` (the message names the command
            that fetches it).
        WeightsError: a model's ONNX export is missing or fails its sha256.
    """
    check_ort(ort_dir, webgpu)
    ort_files = ORT_FILES + (ORT_WEBGPU_FILES if webgpu else ())
    weights = {
        onnx_entry(model).variants[v].file: read_onnx_bytes(model, v)
        for model in models
        for v in variants
    }
    return {
        f"weights/{ONNX_MANIFEST_NAME}": _weights_manifest(models, variants).encode(),
        **{f"weights/{name}": data for name, data in weights.items()},
        **{f"web/{p.name}": p.read_bytes() for p in sorted(WEB_DIR.glob("*.js"))},
        **{f"ort/{name}": (ort_dir / name).read_bytes() for name in ort_files},
    }


def build_site(config: SiteConfig) -> list[Path]:
    """Write the site; returns the files written, relative to ``config.site``.

    Everything is checked (the folder, the JPEGs, onnxruntime-web, the model's sha256)
    before the first file is written.

    Raises:
        InputError: a bad source folder or JPEG, a non-empty site without ``force``,
            onnxruntime-web missing (the message names the command that fetches it).
        WeightsError: the model's ONNX export is missing or fails its sha256.
    """
    jpegs = find_jpegs(config.source)
    _check_site(config.site, config.force)
    shipped = list(config.models) + [m for m in sr_models_for(jpegs) if m not in config.models]
    files: dict[str, bytes] = {
        "index.html": gallery_html(
            [p.name for p in jpegs], config.variants[0], config.webgpu
        ).encode(),
        "_headers": headers_file().encode(),
        **module_assets(shipped, config.variants, config.ort_dir, config.webgpu),
        **{f"images/{p.name}": p.read_bytes() for p in jpegs},
    }
    for folder in ("web", "ort", "weights", "images"):
        (config.site / folder).mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        atomic_write(config.site / rel, data, force=config.force)
    return [Path(rel) for rel in files]
