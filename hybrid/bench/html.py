"""A self-contained HTML report: summary table, RD and speed plots, side-by-side crops.

Everything is inlined (plots and crops as base64 PNG ``data:`` URIs, CSS and a few lines of
script), so the file opens anywhere, offline, and references no external URL. The crops
compare, at about the same bits per pixel, every codec's decode of one region with the
original: plain, enhanced and original side by side, a slider that wipes between any two
(plain against enhanced by default), and every codec's crop in a grid. The
script marks ``<html data-ready="ok">`` when it has run to the end, which the tests check.

The one exception is the live comparison (:mod:`hybrid.bench.live`): under each crop, a file
enhanced in the page by the browser module from the ``live/`` folder beside the report, next
to the Python ONNX decoder's crop. It runs only when the report is served over http; its
script marks ``<html data-live="done">`` when it has finished (or found nothing to run) and
keeps what it did in ``window.hybridLive``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybrid.bench.codecs import get_codec
from hybrid.bench.report import (
    cell,
    markdown,
    never_worse_tables,
    reference_rows,
    scopes,
    summary_rows,
)

__all__ = [
    "CropPanel", "CropSet", "LiveFile", "LiveSection", "make_crops", "png_bytes", "render_html",
]  # fmt: skip

CROP_SIDE = 192
CROP_BPP = 0.4


@dataclass(frozen=True)
class CropPanel:
    """One decoded crop: ``codec`` name (``original`` for the source), caption, PNG bytes."""

    codec: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class CropSet:
    """The crops of one image region: ``image`` name, ``box`` (x, y, side), panels."""

    image: str
    box: tuple[int, int, int]
    panels: tuple[CropPanel, ...]


@dataclass(frozen=True)
class LiveFile:
    """One crop's live comparison: ``crop`` (its index in the crop sets), ``src`` (the JPEG,
    relative to the report), a caption, and the Python ONNX decode's crop as PNG bytes."""

    crop: int
    src: str
    caption: str
    python_png: bytes


@dataclass(frozen=True)
class LiveSection:
    """The live comparisons of a report (:func:`hybrid.bench.live.make_live`).

    Attributes:
        files: one per crop that has one.
        note: why there are none (None: there are, or there are no crops).
        base: the folder of the module's files, relative to the report (ends in ``/``).
        options: ``enhanceImage``'s options (paths relative to the report).
        serve: the command that serves the report's folder.
    """

    files: tuple[LiveFile, ...]
    note: str | None
    base: str = "live/"
    options: dict[str, str | bool] = field(default_factory=dict)
    serve: str = "hybrid web --serve -o OUT"


def _busiest_box(rgb: np.ndarray, side: int) -> tuple[int, int, int]:
    """Top-left corner of the ``side`` square with the most gradient energy (where coding
    artifacts show), on a 16-pixel grid; the whole image when it is smaller."""
    h, w = rgb.shape[:2]
    side = min(side, h, w)
    grey = rgb.astype(np.float64).mean(axis=2)
    energy = np.zeros_like(grey)
    energy[:, 1:] += np.abs(np.diff(grey, axis=1))
    energy[1:, :] += np.abs(np.diff(grey, axis=0))
    table = np.pad(energy, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    best, corner = -1.0, (0, 0)
    for y in range(0, h - side + 1, 16):
        for x in range(0, w - side + 1, 16):
            total = (
                table[y + side, x + side] - table[y, x + side] - table[y + side, x] + table[y, x]
            )
            if total > best:
                best, corner = total, (x, y)
    return corner[0], corner[1], side


def png_bytes(pixels: np.ndarray) -> bytes:
    """uint8 (H, W, 3) pixels as an optimized PNG file."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def make_crops(
    plan: Any,
    points: list[dict[str, Any]],
    *,
    images: int = 2,
    target_bpp: float = CROP_BPP,
    side: int = CROP_SIDE,
) -> list[CropSet]:
    """Crops of the first ``images`` images of each content class of ``plan``: for each
    measured codec, the point of that image closest to ``target_bpp`` is encoded and decoded
    again (all codecs are deterministic) and its busiest ``side`` square cut out."""
    from hybrid.bench.runner import load_rgb

    chosen = [
        image
        for content in plan.classes
        for image in [i for i in plan.images if i.content == content][:images]
    ]
    sets = []
    for image in chosen:
        rgb = load_rgb(image.path)
        x, y, s = _busiest_box(rgb, side)
        panels = [CropPanel("original", "original", png_bytes(rgb[y : y + s, x : x + s]))]
        files: dict[tuple[str, float], bytes] = {}
        for name in plan.codecs:
            candidates = [
                p for p in points
                if p["image"] == image.name and p["codec"] == name and p.get("error") is None
            ]  # fmt: skip
            if not candidates:
                continue
            point = min(candidates, key=lambda p: abs(p["bpp"] - target_bpp))
            codec = get_codec(name)
            key = (codec.encoder_name, point["setting"])
            try:
                if key not in files:
                    files[key] = get_codec(codec.encoder_name).encode(rgb, point["setting"])
                decoded = codec.decode(files[key])
            except Exception:  # noqa: BLE001 - a crop is illustration; the tables say what failed
                continue
            caption = f"{codec.label}: {point['bpp']:.3f} bpp, {cell(point['psnr'])} dB"
            panels.append(CropPanel(name, caption, png_bytes(decoded[y : y + s, x : x + s])))
        sets.append(CropSet(image.name, (x, y, s), tuple(panels)))
    return sets


# --- the page -----------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.hybrid td:first-child { font-weight: 600; }
code { background: #f3f3f3; padding: 1px 4px; }
.plots img { max-width: 48%; margin: 4px; border: 1px solid #ddd; }
.grid { display: flex; flex-wrap: wrap; gap: 10px; }
.grid figure { margin: 0; width: 200px; font-size: 11px; }
.grid img, .cmp img { image-rendering: pixelated; display: block; }
.grid img { width: 192px; height: 192px; }
.trio { display: flex; gap: 12px; margin: 8px 0 16px; }
.trio figure { margin: 0; width: 384px; font-size: 12px; }
.trio img { width: 384px; height: 384px; image-rendering: pixelated; display: block; }
.cmp { position: relative; width: 576px; height: 576px; margin: 8px 0 28px; }
.cmp img { position: absolute; top: 0; left: 0; width: 576px; height: 576px; }
.cmp img.right { clip-path: inset(0 0 0 var(--pos, 50%)); }
.cmp .bar { position: absolute; top: 0; bottom: 0; left: var(--pos, 50%); width: 2px;
  background: #fff; box-shadow: 0 0 3px #000; pointer-events: none; }
.cmp input { position: absolute; left: 0; bottom: -26px; width: 100%; margin: 0; }
.muted { color: #666; }
.trio canvas { width: 384px; height: 384px; image-rendering: pixelated; display: block;
  background: #eee; }
.live-note { background: #f4f8ff; border: 1px solid #cdddf5; padding: 6px 10px; }
"""

# Wiring of the sliders; the data-ready mark is the last statement, so it is set only when
# everything before it ran without an exception.
_SCRIPT = """
const CROPS = JSON.parse(document.getElementById('crop-data').textContent);
for (const cmp of document.querySelectorAll('.cmp')) {
  const set = CROPS[cmp.dataset.set];
  const sel = {left: cmp.parentNode.querySelector('select.left'),
               right: cmp.parentNode.querySelector('select.right')};
  const show = () => {
    for (const side of ['left', 'right']) {
      const panel = set[sel[side].value];
      const img = cmp.querySelector('img.' + side);
      img.src = 'data:image/png;base64,' + panel.png;
      img.alt = panel.caption;
    }
  };
  const slider = cmp.querySelector('input');
  slider.addEventListener('input', () => cmp.style.setProperty('--pos', slider.value + '%'));
  sel.left.addEventListener('change', show);
  sel.right.addEventListener('change', show);
  show();
}
document.documentElement.dataset.ready = 'ok';
"""


# The live comparison (a module script: it runs after the page has parsed, and never on a
# page opened as a file, where browsers refuse module workers and fetches).
_LIVE_SCRIPT = """
const LIVE = JSON.parse(document.getElementById('live-data').textContent);
const state = { served: ['http:', 'https:'].includes(location.protocol), finished: false,
                results: [] };
window.hybridLive = state;
const sections = [...document.querySelectorAll('.live[data-live]')];
const say = (el, text) => { el.querySelector('.status').textContent = text; };
const pixelsOf = (source, s) => {
  const canvas = document.createElement('canvas');
  canvas.width = s;
  canvas.height = s;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(source, 0, 0);
  return ctx.getImageData(0, 0, s, s).data;
};
async function enhanceAll() {
  if (!sections.length) return;
  if (!state.served) {
    for (const el of sections) say(el, 'not run: the page was opened as a file (see the top)');
    return;
  }
  const { enhanceImage } = await import('./' + LIVE.base + 'web/hybrid-enhance.js');
  for (const el of sections) {
    const file = LIVE.files[el.dataset.live];
    const [x, y, s] = file.box;
    const img = new Image();
    img.src = file.src;
    await img.decode();
    const plain = el.querySelector('canvas.plain');
    plain.width = s;
    plain.height = s;
    plain.getContext('2d').drawImage(img, x, y, s, s, 0, 0, s, s);
    say(el, 'enhancing in this browser...');
    const start = performance.now();
    const r = await enhanceImage(img, LIVE.options);
    const result = { src: file.src, enhanced: r.enhanced, reason: r.reason || null,
                     ms: performance.now() - start };
    state.results.push(result);
    if (!r.enhanced) { say(el, 'not enhanced here: ' + r.reason); continue; }
    Object.assign(result, { width: r.width, height: r.height, pixels: r.pixels,
                            threads: r.threads, model: r.model.model, why: r.model.why });
    const canvas = el.querySelector('canvas.enhanced');
    canvas.width = s;
    canvas.height = s;
    const ctx = canvas.getContext('2d');
    const crop = ctx.createImageData(s, s);
    for (let row = 0; row < s; row++) {
      for (let col = 0; col < s; col++) {
        const k = ((y + row) * r.width + x + col) * 3, j = (row * s + col) * 4;
        for (let c = 0; c < 3; c++) crop.data[j + c] = Math.round(r.pixels[k + c] * 255);
        crop.data[j + 3] = 255;
      }
    }
    ctx.putImageData(crop, 0, 0);
    const python = el.querySelector('img.python');
    await python.decode();
    const theirs = pixelsOf(python, s);
    let close = 0, max = 0;
    for (let j = 0; j < theirs.length; j++) {
      if (j % 4 === 3) continue;
      const d = Math.abs(theirs[j] - crop.data[j]);
      close += d <= 1 ? 1 : 0;
      max = Math.max(max, d);
    }
    Object.assign(result, { closeShare: close / (3 * s * s), maxDiff: max });
    const threads = r.threads + (r.threads === 1 ? ' thread' : ' threads');
    say(el, `enhanced in this browser by ${r.model.model} (${r.model.why}) in ` +
        `${(result.ms / 1000).toFixed(1)} s (${threads}): ` +
        `${(100 * result.closeShare).toFixed(2)} % of its 8-bit values within 1 of the ` +
        `Python decode's, largest difference ${max}`);
  }
}
enhanceAll().catch((err) => {
  state.error = String(err && err.message ? err.message : err);
  for (const el of sections) say(el, 'not run: ' + state.error);
}).finally(() => {
  state.finished = true;
  document.documentElement.dataset.live = 'done';
});
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_table(rows: list[list[str]], classes: list[str] | None = None) -> str:
    """An HTML table of ``rows`` (header first); ``classes``: one class per body row."""
    head = "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in rows[0]) + "</tr>"
    marks = [f' class="{c}"' for c in classes] if classes is not None else [""] * len(rows[1:])
    body = [
        f"<tr{mark}>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>"
        for mark, cells in zip(marks, rows[1:], strict=True)
    ]
    return "<table>" + "\n".join([head, *body]) + "</table>"


def _table(rows: list[list[str]], summary: dict[str, Any]) -> str:
    """An HTML table of ``rows`` (header first, then one row per codec of ``summary``, in
    order; hybrid's rows are marked)."""
    return _html_table(rows, [get_codec(entry["name"]).family for entry in summary["codecs"]])


def _never_worse_tables(summary: dict[str, Any]) -> str:
    """One table per decoder-side variant: its per-image PSNR gain over the plain decode of
    the same files (:func:`hybrid.bench.report.never_worse`); empty when the run has none."""
    tables = never_worse_tables(summary)
    if not tables:
        return ""
    parts = [
        "<h2>Never worse than plain</h2><p>Each decoder-side variant against the plain decode "
        "of the same files, per image: PSNR-RGB gain over the plain decode.</p>"
    ]
    for title, rows in tables:
        parts += [f"<h3>{_esc(title)}</h3>", _html_table(rows)]
    return "\n".join(parts)


def _summary_tables(summary: dict[str, Any]) -> str:
    """The BD and speed table and the table against WebP/AVIF, for all images and (when the
    run holds several content classes) for each class."""
    labels = {e["name"]: e["label"] for e in summary["codecs"]}
    others = [labels.get(r, r) for r in summary.get("references", []) if r != summary["reference"]]
    parts = []
    for heading, part in scopes(summary):
        parts.append(f"<h3>{_esc(heading)}</h3>" if heading else "")
        parts.append(_table(summary_rows(summary, part), summary))
        against = reference_rows(summary, part)
        if against:
            parts.append(f"<p>BD-rate against {_esc(' and '.join(others))}:</p>")
            parts.append(_table(against, summary))
    return "\n".join(parts)


def _default_pair(codecs: list[str]) -> tuple[str, str]:
    left = next((c for c in ("hybrid", "libjpeg-turbo-420") if c in codecs), codecs[0])
    enhanced = ("hybrid-enhance-quality", "hybrid-enhance-fast", "jpegqs", "original")
    right = next((c for c in enhanced if c in codecs), "original")
    return left, right


def _figure(panel: CropPanel) -> str:
    png = base64.b64encode(panel.png).decode()
    caption = _esc(panel.caption)
    return (
        f'<figure><img alt="{caption}" src="data:image/png;base64,{png}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _live_block(live: LiveFile) -> str:
    png = base64.b64encode(live.python_png).decode()
    return f"""
<div class="live" data-live="{live.crop}">
<p class="muted">Enhanced live, in this page, by hybrid's browser module: {_esc(live.caption)}.</p>
<div class="trio">
<figure><canvas class="plain"></canvas><figcaption>plain decode (this browser)</figcaption></figure>
<figure><canvas class="enhanced"></canvas><figcaption class="status">waiting for the
browser module</figcaption></figure>
<figure><img class="python" alt="Python ONNX decode" src="data:image/png;base64,{png}">
<figcaption>enhanced by Python (<code>hybrid.decode(enhance=True, backend="onnx")</code>)
</figcaption></figure>
</div></div>"""


def _crop_section(index: int, crop: CropSet, live: LiveFile | None = None) -> str:
    names = [p.codec for p in crop.panels]
    left, right = _default_pair([n for n in names if n != "original"] or ["original"])

    def options(selected: str) -> str:
        return "".join(
            f'<option value="{_esc(p.codec)}"{" selected" if p.codec == selected else ""}>'
            f"{_esc(p.caption)}</option>"
            for p in crop.panels
        )

    by_name = {p.codec: p for p in crop.panels}
    trio = [by_name[n] for n in dict.fromkeys((left, right, "original")) if n in by_name]
    figures = "".join(_figure(p) for p in crop.panels)
    x, y, s = crop.box
    return f"""
<h3>{_esc(crop.image)} <span class="muted">({s}x{s} crop at {x},{y}; each codec's point
nearest {CROP_BPP} bpp; enlarged without smoothing)</span></h3>
<div class="trio">{"".join(_figure(p) for p in trio)}</div>{_live_block(live) if live else ""}
<div class="compare">
  <label>left <select class="left">{options(left)}</select></label>
  <label>right <select class="right">{options(right)}</select></label>
  <div class="cmp" data-set="{index}">
    <img class="left" alt=""><img class="right" alt=""><div class="bar"></div>
    <input type="range" min="0" max="100" value="50" aria-label="wipe position">
  </div>
</div>
<div class="grid">{figures}</div>
"""


def _live_header(live: LiveSection | None) -> str:
    if live is None or (not live.files and live.note is None):
        return ""
    if not live.files:
        return f'<p class="muted">No live comparison in this report: {_esc(live.note)}</p>'
    return f"""<p class="live-note">Under each crop, one file is enhanced live, in this page, by
hybrid's browser module (hybrid/web with onnxruntime-web, from the <code>live/</code> folder
beside this report), next to the Python ONNX decoder's result for the same file. Browsers run
it only for a page served over http: view this report with <code>{_esc(live.serve)}</code>
(cross-origin isolated: WebAssembly threads) or any static server of its folder (one thread).
Opened as a file, everything else in it works offline.</p>"""


def render_html(
    summary: dict[str, Any],
    plots: dict[str, bytes],
    crops: list[CropSet],
    live: LiveSection | None = None,
) -> str:
    """The report page (a complete HTML document, self-contained but for ``live``'s files)."""
    crop_data = {
        str(i): {
            p.codec: {"caption": p.caption, "png": base64.b64encode(p.png).decode()}
            for p in crop.panels
        }
        for i, crop in enumerate(crops)
    }
    plot_tags = "".join(
        f'<img alt="{_esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        for name, png in plots.items()
    )
    notes = markdown(summary, details=False).split("How each codec ran:")[1]
    note_items = "".join(
        f"<li>{_esc(line[2:].replace('**', ''))}</li>"
        for line in notes.strip().splitlines()
        if line.startswith("- ")
    )
    lo, hi = summary["rate_range_bpp"]
    live_files = {f.crop: f for f in live.files} if live else {}
    crops_html = (
        "".join(_crop_section(i, c, live_files.get(i)) for i, c in enumerate(crops))
        or "<p>No crops.</p>"
    )
    live_data = json.dumps(
        {
            "base": live.base if live else "",
            "options": live.options if live else {},
            "files": {
                str(f.crop): {"src": f.src, "box": list(crops[f.crop].box)}
                for f in (live.files if live else ())
            },
        }
    ).replace("</", "<\\/")
    data = json.dumps(crop_data).replace("</", "<\\/")
    sweep = "quick" if summary["quick"] else "full"
    command = _esc(summary["command"] or "(API)")
    reference = _esc(get_codec(summary["reference"]).label)
    counts = {c: len(part["images"]) for c, part in (summary.get("by_content") or {}).items()}
    classes = (
        " Content classes: " + ", ".join(f"{c} ({n} images)" for c, n in counts.items()) + "."
        if len(counts) > 1
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hybrid bench report</title>
<link rel="icon" href="data:,">
<style>{_CSS}</style></head>
<body>
<h1>hybrid bench: {len(summary["images"])} images, {sweep} sweep</h1>
<p class="muted">Command: <code>{command}</code>. {_esc(summary["machine"])}.</p>
{_live_header(live)}
<h2>BD-rate and speed</h2>
<p>BD-rate: mean bit-rate change at equal quality against {reference}
over {lo:g}-{hi:g} bpp (negative: fewer bits; SSIM, MS-SSIM in dB; butteraugli distances, where
measured, as -20 log10(distance)); against WebP and AVIF, when they ran, over their own
{lo:g}-{hi:g} bpp ranges. BD-PSNR: mean PSNR change at equal rate.
Speeds: median megapixels per second, one thread.{_esc(classes)}</p>
{_summary_tables(summary)}
<ul>{note_items}</ul>
{_never_worse_tables(summary)}
<h2>Rate-distortion curves</h2>
<div class="plots">{plot_tags}</div>
<h2 id="crops">Crops</h2>
{crops_html}
<script type="application/json" id="crop-data">{data}</script>
<script>{_SCRIPT}</script>
<script type="application/json" id="live-data">{live_data}</script>
<script type="module">{_LIVE_SCRIPT}</script>
</body></html>
"""
