"""The bench report's live comparison: for each crop, one hybrid or libjpeg-turbo file is
enhanced in the page by the browser module (hybrid/web, onnxruntime-web) and shown next to
the Python ONNX decoder's crop of the same file.

Beside ``report.html`` it writes ``live/``: the JPEG files (``live/images/``) and what the
module needs, as :func:`hybrid.web_site.module_assets` gives it for a ``hybrid web`` site
(``live/web``, ``live/ort``, ``live/weights``: the photo and screen models' fp32 exports and
any model the Python decode chose besides; WebAssembly only: the comparison is of pixels, and
the WebGPU build would add 22 MB); and ``index.html``, which forwards to the report,
so that ``hybrid web --serve -o OUT`` previews it. Browsers run module workers and
WebAssembly only for a page served over http(s): opened as a file, the report shows the
Python crops and says how to view it served.

The comparison is left out, with the reason as a note in the report, when the Python decode
cannot run on the ONNX backend (no onnxruntime, no export of a model) or onnxruntime-web is
not fetched (``scripts/fetch_web_deps.sh``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.bench.codecs import get_codec
from hybrid.bench.html import CropSet, LiveFile, LiveSection, png_bytes
from hybrid.errors import InputError, MissingModelWarning
from hybrid.io import atomic_write

__all__ = ["LIVE_CODECS", "LIVE_DIR", "make_live"]

#: The folder beside the report that holds the files and the module's assets.
LIVE_DIR = "live"
#: Whose file each crop's live comparison enhances: the first of these codecs measured, at
#: its point nearest the crops' rate (an enhanced codec's file is its encoder's).
LIVE_CODECS = (
    "hybrid-enhance-fast",
    "hybrid",
    "libjpeg-turbo-420-enhance-fast",
    "libjpeg-turbo-420",
)
#: The report folder's index.html: ``hybrid web --serve -o OUT`` serves a folder's index.
FORWARD_PAGE = (
    '<!doctype html><meta charset="utf-8"><title>hybrid bench report</title>'
    '<meta http-equiv="refresh" content="0; url=report.html">'
    '<a href="report.html">report.html</a>\n'
)


def _live_file(
    index: int, crop: CropSet, plan: Any, points: list[dict[str, Any]], target_bpp: float
) -> tuple[LiveFile, bytes, str] | None:
    """The file of ``crop``'s image that the page enhances, its Python ONNX crop and the
    model that decode chose; None when no codec of :data:`LIVE_CODECS` measured the image.

    Raises:
        InputError: the Python ONNX decode cannot run (WeightsError: no onnxruntime, no
            export of the chosen model).
    """
    import hybrid
    from hybrid.bench.runner import load_rgb

    measured = {
        name: [
            p for p in points
            if p["image"] == crop.image and p["codec"] == name and p.get("error") is None
        ]
        for name in LIVE_CODECS
        if name in plan.codecs
    }  # fmt: skip
    name = next((n for n, found in measured.items() if found), None)
    image = next((i for i in plan.images if i.name == crop.image), None)
    if name is None or image is None:
        return None
    point = min(measured[name], key=lambda p: abs(p["bpp"] - target_bpp))
    codec = get_codec(name)
    encoder = get_codec(codec.encoder_name)
    jpeg = encoder.encode(load_rgb(image.path), point["setting"])
    with warnings.catch_warnings():  # the report names the model and why it was chosen
        warnings.simplefilter("ignore", MissingModelWarning)
        decoded = hybrid.decode(jpeg, enhance=True, backend="onnx", threads=1)
    x, y, s = crop.box
    pixels = np.asarray(decoded.convert("RGB"))[y : y + s, x : x + s]
    model = str(decoded.info["hybrid_model"])
    src = f"{LIVE_DIR}/images/crop{index}-{encoder.name}.jpg"
    caption = (
        f"the {encoder.name} file ({encoder.setting} {point['setting']:g}, "
        f"{point['bpp']:.3f} bpp); Python chose {model} ({decoded.info['hybrid_model_reason']})"
    )
    return LiveFile(index, src, caption, png_bytes(pixels)), jpeg, model


def make_live(
    outdir: Path,
    plan: Any,
    points: list[dict[str, Any]],
    crops: list[CropSet],
    *,
    target_bpp: float,
) -> LiveSection:
    """Write the live comparison's files under ``outdir`` (see the module docstring) and
    return what the page shows: a :class:`LiveFile` per crop that has one, or a note saying
    why there is none. Existing files of the same name are replaced."""
    from hybrid import web_site

    if not crops:
        return LiveSection((), None)
    made = []
    try:
        web_site.check_ort(web_site.DEFAULT_ORT_DIR)
        for index, crop in enumerate(crops):
            found = _live_file(index, crop, plan, points, target_bpp)
            if found is not None:
                made.append(found)
    except InputError as exc:  # onnxruntime-web, onnxruntime or an export missing
        return LiveSection((), str(exc))
    if not made:
        return LiveSection((), f"none of {', '.join(LIVE_CODECS)} was measured")
    jpegs = []
    (outdir / LIVE_DIR / "images").mkdir(parents=True, exist_ok=True)
    for live, jpeg, _ in made:
        atomic_write(outdir / live.src, jpeg, force=True)
        jpegs.append(outdir / live.src)
    chosen = [model for _, _, model in made]
    needed = [*web_site.DEFAULT_MODELS, *chosen, *web_site.sr_models_for(jpegs)]
    models = list(dict.fromkeys(needed))
    try:
        assets = web_site.module_assets(models, webgpu=False)  # agreement, not speed
    except InputError as exc:
        return LiveSection((), str(exc))
    for rel, data in assets.items():
        (outdir / LIVE_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(outdir / LIVE_DIR / rel, data, force=True)
    atomic_write(outdir / "index.html", FORWARD_PAGE.encode(), force=True)
    base = f"{LIVE_DIR}/"
    return LiveSection(
        tuple(live for live, _, _ in made),
        None,
        base,
        web_site.module_options("fp32", base, webgpu=False),
        f"hybrid web --serve -o {outdir}",
    )
