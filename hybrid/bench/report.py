"""From measured points to results: mean RD curves, BD-rates, speeds and markdown tables.

Curves: for each codec and setting, the mean over images of bits per pixel and of each
metric (the usual dataset curve). A setting enters a curve only when every image has a
valid point for it, so every curve averages the same images.

BD-rate and BD-PSNR (:mod:`hybrid.bench.bd`, piecewise cubic) compare each curve with the
reference (libjpeg-turbo 4:2:0) over the reference's 0.15-1.0 bpp range; BD-rates against
WebP and AVIF (:data:`BD_REFERENCES`), over their own 0.15-1.0 bpp ranges, come with them
when those codecs were in the run. SSIM and MS-SSIM enter BD-rate in dB,
``-10 log10(1 - value)``, where equal steps mean comparable visual changes across the range
(as AOM's reports do).

Butteraugli (3-norm and max-norm, when the run measured them) is a distance: lower is
better. It enters BD-rate as ``-20 log10(distance)``, a quality that rises with the rate
like PSNR (whose MSE it replaces: a distance roughly proportional to the quantizer step, so
halving it is about +6 "dB" as halving the RMS error is), and the usual BD-rate follows: log
rate interpolated against that quality over the interval both curves span, negative = fewer
bits at equal distance. Taking the logarithm weighs each halving of the distance alike across
the range instead of letting the low-rate end, where distances are large, dominate the mean.
Only the metrics a run measured are shown (``summary["metrics"]``).

Content classes: curves, BD tables and speeds are given for all images and, when a run
holds more than one class (photos and screenshots, :mod:`hybrid.bench.runner`), for the
images of each class alone (``by_content``); each such set of results is a *scope*
(:func:`scope`).

Speed: the median over points of megapixels (of the original) per second, encode and decode
separately, one thread.

Never worse than plain: a decoder-side variant (a codec whose ``encoder`` is another codec of
the run, e.g. ``hybrid + enhance`` on ``hybrid``'s files) is paired with that codec, which
decodes the same files plain; per setting the report gives the mean PSNR-RGB gain over the
images, the worst image's, and how many images lose more than
:data:`NEVER_WORSE_TOLERANCE_DB` (:func:`never_worse`, issue 17's rule for every released
model).
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from typing import Any

from hybrid.bench.codecs import REFERENCE, get_codec
from hybrid.metrics import similarity_db

__all__ = [
    "AGAINST_METRICS",
    "BD_REFERENCES",
    "CONTENT_LABELS",
    "DISTANCE_METRICS",
    "METRICS",
    "NEVER_WORSE_TOLERANCE_DB",
    "RATE_RANGE",
    "bd_table",
    "cell",
    "curves",
    "markdown",
    "measured_metrics",
    "never_worse",
    "never_worse_tables",
    "plain_twins",
    "reference_rows",
    "scope",
    "scopes",
    "shown_metrics",
    "speeds",
    "summarize",
    "summary_rows",
]

#: Quality metrics: key -> (label, unit shown in tables). The butteraugli distances are
#: measured only where libjxl's tool is installed (:mod:`hybrid.bench.runner`).
METRICS: dict[str, tuple[str, str]] = {
    "psnr": ("PSNR-RGB", "dB"),
    "psnr_y": ("PSNR-Y", "dB"),
    "ms_ssim": ("MS-SSIM", ""),
    "ssim": ("SSIM", ""),
    "butteraugli": ("butteraugli 3-norm", ""),
    "butteraugli_max": ("butteraugli max-norm", ""),
}
#: Distances (lower is better); BD-rate takes them as ``-20 log10(distance)``.
DISTANCE_METRICS = ("butteraugli", "butteraugli_max")
#: The metrics of the BD-rate tables against WebP and AVIF, each where it was measured.
AGAINST_METRICS = ("psnr", "ms_ssim", "butteraugli")
RATE_RANGE = (0.15, 1.0)
#: The anchors of BD-rate tables, each used when it was measured: libjpeg-turbo 4:2:0 (always)
#: and the modern codecs a JPEG must be compared with.
BD_REFERENCES = (REFERENCE, "webp", "avif")
#: How reports name the content classes (:data:`hybrid.bench.runner.CONTENT_CLASSES`).
CONTENT_LABELS = {"photo": "photographs", "screen": "screenshots, text and graphics"}
_FIELDS = ("bpp", *METRICS, "encode_s", "decode_s")
#: An image whose enhanced decode loses more than this (dB of PSNR-RGB) against the plain
#: decode of the same file counts against "never worse than plain" (issue 17).
NEVER_WORSE_TOLERANCE_DB = 0.1


def _distance_db(value: float) -> float:
    """A distance as a quality that rises with the rate: ``-20 log10(distance)``."""
    return -20.0 * math.log10(max(value, 1e-9))


def measured_metrics(points: list[dict[str, Any]]) -> list[str]:
    """The keys of :data:`METRICS` a report shows, in table order: PSNR-RGB, PSNR-Y, MS-SSIM
    and SSIM always; the butteraugli distances when some point holds one."""
    return [
        m for m in METRICS if m not in DISTANCE_METRICS or any(p.get(m) is not None for p in points)
    ]


def shown_metrics(summary: dict[str, Any]) -> list[str]:
    """The metrics of a summary (a ``results.json`` from before butteraugli: the four
    others)."""
    return list(summary.get("metrics") or [m for m in METRICS if m not in DISTANCE_METRICS])


def curves(points: list[dict[str, Any]], images: int) -> dict[str, list[dict[str, Any]]]:
    """Mean RD curve of each codec: a list of {setting, n, bpp, psnr, ..., encode_s,
    decode_s}, sorted by bpp; settings with a missing or failed point on any of the
    ``images`` images are left out (see :func:`incomplete`)."""
    groups: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for p in points:
        groups[(p["codec"], p["setting"])].append(p)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (codec, setting), group in groups.items():
        valid = [p for p in group if p.get("error") is None and p.get("bpp") is not None]
        if len(valid) < images or images == 0:
            continue
        row: dict[str, Any] = {"setting": setting, "n": len(valid)}
        for name in _FIELDS:
            values = [p[name] for p in valid if p.get(name) is not None]
            row[name] = sum(values) / len(values) if len(values) == len(valid) else None
        out[codec].append(row)
    return {c: sorted(rows, key=lambda r: r["bpp"]) for c, rows in out.items()}


def incomplete(points: list[dict[str, Any]]) -> list[str]:
    """One line per failed point: ``codec setting image: error``."""
    return [
        f"{p['codec']} {p['setting']:g} {p['image']}: {p['error']}"
        for p in points
        if p.get("error") is not None
    ]


def _bd_value(fn: Any, ref: list[dict[str, Any]], test: list[dict[str, Any]], metric: str) -> Any:
    def series(rows: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
        rows = [r for r in rows if r.get(metric) is not None]
        values = [r[metric] for r in rows]
        if metric in ("ssim", "ms_ssim"):
            values = [similarity_db(v) for v in values]
        elif metric in DISTANCE_METRICS:
            values = [_distance_db(v) for v in values]
        return [r["bpp"] for r in rows], values

    ref_series, test_series = series(ref), series(test)
    if min(len(ref_series[0]), len(test_series[0])) < 2:
        return "n/a (fewer than two points with this metric)"
    try:
        return round(float(fn(*ref_series, *test_series, rate_range=RATE_RANGE)), 4)
    except ValueError as exc:
        return f"n/a ({exc})"


def bd_table(
    curve_map: dict[str, list[dict[str, Any]]],
    reference: str = REFERENCE,
    metrics: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per codec: ``bd_rate_<metric>`` (percent, negative = fewer bits) for every metric of
    ``metrics`` (default: all of :data:`METRICS`) and ``bd_psnr`` / ``bd_psnr_y`` (dB,
    positive = better) against ``reference``; a string ``"n/a (why)"`` where the curves do
    not overlap in the range."""
    from hybrid.bench.bd import bd_metric, bd_rate

    ref = curve_map.get(reference, [])
    table: dict[str, dict[str, Any]] = {}
    for codec, rows in curve_map.items():
        entry: dict[str, Any] = {}
        for metric in METRICS if metrics is None else metrics:
            entry[f"bd_rate_{metric}"] = _bd_value(bd_rate, ref, rows, metric)
        entry["bd_psnr"] = _bd_value(bd_metric, ref, rows, "psnr")
        entry["bd_psnr_y"] = _bd_value(bd_metric, ref, rows, "psnr_y")
        table[codec] = entry
    return table


def plain_twins(names: list[str]) -> dict[str, str]:
    """Each decoder-side variant among the codec ``names`` -> the codec of ``names`` whose
    files it decodes (:attr:`~hybrid.bench.codecs.Codec.encoder`), in ``names``' order."""
    present = set(names)
    twins = {}
    for name in names:
        encoder = get_codec(name).encoder_name
        if encoder != name and encoder in present:
            twins[name] = encoder
    return twins


def never_worse(
    points: list[dict[str, Any]], twins: dict[str, str], images: int
) -> dict[str, list[dict[str, Any]]]:
    """Per variant of ``twins`` (variant -> plain codec): one row per setting at which both
    codecs have a valid, finite PSNR-RGB on the same ``images`` images (settings with fewer
    are left out, as in :func:`curves`): ``setting``, ``n``, ``mean_gain_db`` (mean over
    images of the variant's PSNR-RGB minus the plain decode's), ``worst_gain_db``,
    ``worst_image`` and ``losing`` (images below ``-NEVER_WORSE_TOLERANCE_DB``); sorted by
    setting."""
    psnr: dict[tuple[str, float, str], float] = {}
    for p in points:
        value = p.get("psnr")
        if p.get("error") is None and value is not None and math.isfinite(value):
            psnr[(p["codec"], p["setting"], p["image"])] = value
    out: dict[str, list[dict[str, Any]]] = {}
    for variant, plain in twins.items():
        gains: dict[float, dict[str, float]] = defaultdict(dict)
        for (codec, setting, image), value in psnr.items():
            base = psnr.get((plain, setting, image))
            if codec == variant and base is not None:
                gains[setting][image] = value - base
        rows = []
        for setting in sorted(gains):
            per_image = gains[setting]
            if images == 0 or len(per_image) < images:
                continue
            worst = min(per_image, key=lambda name: (per_image[name], name))
            rows.append({
                "setting": setting,
                "n": len(per_image),
                "mean_gain_db": sum(per_image.values()) / len(per_image),
                "worst_gain_db": per_image[worst],
                "worst_image": worst,
                "losing": sum(g < -NEVER_WORSE_TOLERANCE_DB for g in per_image.values()),
            })  # fmt: skip
        out[variant] = rows
    return out


def speeds(points: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per codec: median encode and decode speed in megapixels per second."""
    rates: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"encode": [], "decode": []})
    for p in points:
        if p.get("error") is not None:
            continue
        mp = p["width"] * p["height"] / 1e6
        for kind in ("encode", "decode"):
            seconds = p.get(f"{kind}_s")
            if seconds:
                rates[p["codec"]][kind].append(mp / seconds)
    return {
        codec: {f"{k}_mp_s": (statistics.median(v) if v else None) for k, v in kinds.items()}
        for codec, kinds in rates.items()
    }


def scope(
    points: list[dict[str, Any]],
    images: list[str],
    references: list[str],
    metrics: list[str] | None = None,
) -> dict[str, Any]:
    """The results over ``images`` (names) alone: ``images``, ``curves``, ``bd`` (against
    :data:`~hybrid.bench.codecs.REFERENCE`), ``bd_against`` (reference -> BD table, for each
    of ``references``) and ``speed``; BD-rates in ``metrics`` (default: every metric)."""
    names = set(images)
    mine = [p for p in points if p["image"] in names]
    curve_map = curves(mine, len(images))
    against = {ref: bd_table(curve_map, ref, metrics) for ref in references}
    return {
        "images": list(images),
        "curves": curve_map,
        "bd": against.get(REFERENCE) or bd_table(curve_map, metrics=metrics),
        "bd_against": against,
        "speed": speeds(mine),
    }


def summarize(plan: Any, points: list[dict[str, Any]], command: str = "") -> dict[str, Any]:
    """Everything a report shows, as plain JSON-able data (written to ``results.json``).

    The top level is the scope of all images (:func:`scope`); ``by_content`` holds one scope
    per content class of the run, ``content`` each image's class."""
    import platform

    from hybrid.bench.runner import BENCH_VERSION

    references = [r for r in BD_REFERENCES if r in plan.codecs]
    metrics = measured_metrics([p for p in points if p.get("error") is None])
    overall = scope(points, [i.name for i in plan.images], references, metrics)
    twins = plain_twins(list(plan.codecs))
    by_content = {
        content: scope(
            points, [i.name for i in plan.images if i.content == content], references, metrics
        )
        for content in plan.classes
    }
    return {
        "command": command,
        "bench_version": BENCH_VERSION,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "quick": plan.quick,
        "images": overall["images"],
        "content": {i.name: i.content for i in plan.images},
        "classes": list(plan.classes),
        "reference": REFERENCE,
        "references": references,
        "rate_range_bpp": list(RATE_RANGE),
        "metrics": metrics,
        "codecs": [
            {
                "name": name,
                "label": get_codec(name).label,
                "setting": get_codec(name).setting,
                "sweep": list(get_codec(name).sweep(plan.quick)),
                "detail": get_codec(name).detail,
                "note": dict(plan.notes).get(name, ""),
                "version": plan.versions[name],
            }
            for name in plan.codecs
        ],
        "skipped": [
            {"name": n, "label": get_codec(n).label, "why": why} for n, why in plan.skipped
        ],
        "curves": overall["curves"],
        "bd": overall["bd"],
        "bd_against": overall["bd_against"],
        "speed": overall["speed"],
        "by_content": by_content,
        "never_worse": {
            "tolerance_db": NEVER_WORSE_TOLERANCE_DB,
            "twins": twins,
            "rows": never_worse(points, twins, len(overall["images"])),
        },
        "failures": incomplete(points),
        "points": points,
    }


# --- markdown ---------------------------------------------------------------------------------


def cell(value: Any, digits: int = 2, suffix: str = "") -> str:
    """A table cell: ``–`` for None, ``n/a`` for a reason string, signed for % and dB."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return "n/a"
    return (
        f"{value:+.{digits}f}{suffix}" if suffix in ("%", " dB") else f"{value:.{digits}f}{suffix}"
    )


def scopes(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(heading, scope) of every table set to show: all images alone when the run holds one
    content class; else all images, then each class (headings name the class and count)."""
    by_content = summary.get("by_content") or {}
    if len(by_content) < 2:
        return [("", summary)]
    counts = ", ".join(f"{len(s['images'])} {c}" for c, s in by_content.items())
    shown = [(f"All images ({len(summary['images'])}: {counts})", summary)]
    for content, entry in by_content.items():
        label = CONTENT_LABELS.get(content, content)
        shown.append((f"Content class {content}: {label} ({len(entry['images'])} images)", entry))
    return shown


def summary_rows(summary: dict[str, Any], part: dict[str, Any]) -> list[list[str]]:
    """The main table of a scope ``part`` of ``summary``: a header row, then one row per
    codec (label, bpp range, BD-rate per metric and BD-PSNR against the reference, speeds)."""
    metrics = shown_metrics(summary)
    rows = [
        ["codec", "bpp range", *[f"BD-rate {METRICS[m][0]}" for m in metrics], "BD-PSNR-RGB",
         "encode MP/s", "decode MP/s"],
    ]  # fmt: skip
    for entry in summary["codecs"]:
        name = entry["name"]
        curve = part["curves"].get(name, [])
        bd = part["bd"].get(name, {})
        speed = part["speed"].get(name, {})
        rows.append([
            entry["label"],
            f"{curve[0]['bpp']:.2f}-{curve[-1]['bpp']:.2f}" if curve else "–",
            *[cell(bd.get(f"bd_rate_{m}"), 1, "%") for m in metrics],
            cell(bd.get("bd_psnr"), 2, " dB"),
            cell(speed.get("encode_mp_s")),
            cell(speed.get("decode_mp_s")),
        ])  # fmt: skip
    return rows


def reference_rows(summary: dict[str, Any], part: dict[str, Any]) -> list[list[str]]:
    """BD-rate (PSNR-RGB, MS-SSIM, and butteraugli's 3-norm where measured) of every codec
    against each reference of the run other than libjpeg-turbo (WebP, AVIF): a header row,
    then one row per codec; no rows at all when the run had none of them."""
    others = [r for r in summary.get("references", []) if r != summary["reference"]]
    if not others:
        return []
    labels = {e["name"]: e["label"] for e in summary["codecs"]}
    metrics = [m for m in AGAINST_METRICS if m in shown_metrics(summary)]
    head = ["codec"] + [
        f"vs {labels.get(ref, ref)} {METRICS[m][0]}" for ref in others for m in metrics
    ]
    rows = [head]
    for entry in summary["codecs"]:
        against = part["bd_against"]
        rows.append(
            [entry["label"]]
            + [
                cell(against[ref].get(entry["name"], {}).get(f"bd_rate_{m}"), 1, "%")
                for ref in others
                for m in metrics
            ]
        )
    return rows


def never_worse_tables(summary: dict[str, Any]) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) of each decoder-side variant's never-worse table (``summary
    ["never_worse"]``; variants without rows are left out): the title names the variant and
    its plain codec; the rows are a header, then one row per setting (setting, images, mean
    and worst gain, the worst image, the images losing more than the tolerance)."""
    block = summary.get("never_worse") or {}
    entries = {e["name"]: e for e in summary["codecs"]}
    tables = []
    for variant, measured in (block.get("rows") or {}).items():
        if not measured:
            continue
        plain = block["twins"][variant]
        rows = [[
            entries[variant]["setting"], "images", "mean gain (dB)", "worst image (dB)",
            "worst", f"images below -{block['tolerance_db']:g} dB",
        ]]  # fmt: skip
        for row in measured:
            rows.append([
                f"{row['setting']:g}", str(row["n"]), f"{row['mean_gain_db']:+.3f}",
                f"{row['worst_gain_db']:+.3f}", row["worst_image"], str(row["losing"]),
            ])  # fmt: skip
        plain_label = entries[plain]["label"] if plain in entries else plain
        tables.append((f"{entries[variant]['label']} over {plain_label}", rows))
    return tables


def _markdown_table(rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(rows[0]) - 1)
    return ["| " + " | ".join(row) + " |" for row in (rows[0], align, *rows[1:])]


def markdown(summary: dict[str, Any], *, details: bool = True) -> str:
    """The result tables as GitHub markdown: BD summary and speeds (all images, then each
    content class when there are several), BD-rates against WebP/AVIF, notes; per-setting
    means."""
    lo, hi = summary["rate_range_bpp"]
    ref_label = get_codec(summary["reference"]).label
    labels = {e["name"]: e["label"] for e in summary["codecs"]}
    others = [labels.get(r, r) for r in summary.get("references", []) if r != summary["reference"]]
    classes = summary.get("classes") or []
    lines = [
        f"{len(summary['images'])} images"
        + (f" in {len(classes)} content classes ({', '.join(classes)})" if len(classes) > 1 else "")
        + f", {'quick' if summary['quick'] else 'full'} sweep. "
        f"BD-rate: mean bit-rate change at equal quality against {ref_label} over its "
        f"{lo:g}-{hi:g} bpp range (negative = fewer bits; SSIM and MS-SSIM in dB"
        + (
            "; butteraugli, a distance, as -20 log10(distance): libjxl's butteraugli_main, "
            "3-norm and max-norm"
            if "butteraugli" in shown_metrics(summary)
            else ""
        )
        + f"); BD-PSNR: mean PSNR-RGB change at equal rate. Speeds: median megapixels per "
        f"second, one thread, on {summary['machine']}."
        + (
            f" BD-rates against {' and '.join(others)} likewise, over each one's own "
            f"{lo:g}-{hi:g} bpp range."
            if others
            else ""
        ),
    ]
    for heading, part in scopes(summary):
        lines += ["", f"### {heading}"] if heading else []
        lines += ["", *_markdown_table(summary_rows(summary, part))]
        against = reference_rows(summary, part)
        if against:
            lines += ["", f"BD-rate against {' and '.join(others)}:", ""]
            lines += _markdown_table(against)
    never = never_worse_tables(summary)
    if never:
        lines += [
            "",
            "Never worse than plain: each decoder-side variant against the plain decode of the "
            "same files, per image (PSNR-RGB gain over the plain decode; every image that has "
            "both points):",
        ]
        for title, rows in never:
            lines += ["", f"{title}:", ""]
            lines += _markdown_table(rows)
    lines.append("")
    lines.append("How each codec ran:")
    lines.append("")
    for entry in summary["codecs"]:
        note = f" ({entry['note']})" if entry["note"] else ""
        sweep = ", ".join(f"{s:g}" for s in entry["sweep"])
        lines.append(f"- {entry['label']}: {entry['detail']}{note}; {entry['setting']} {sweep}.")
    for entry in summary["skipped"]:
        lines.append(f"- {entry['label']}: **skipped**: {entry['why']}.")
    if summary["failures"]:
        lines += ["", f"{len(summary['failures'])} points failed (left out of the curves):", ""]
        lines += [f"- {line}" for line in summary["failures"][:20]]
    if details:
        for heading, part in scopes(summary):
            lines += ["", *_detail_table(summary, part, heading)]
    return "\n".join(lines) + "\n"


#: Decimals of each metric in the per-setting table.
_DIGITS = {"psnr": 2, "psnr_y": 2, "ms_ssim": 4, "ssim": 4, "butteraugli": 3, "butteraugli_max": 3}


def _detail_table(summary: dict[str, Any], part: dict[str, Any], heading: str) -> list[str]:
    title = "Mean RD points per codec and setting" + (f": {heading}" if heading else "")
    metrics = shown_metrics(summary)
    lines = [
        f"<details><summary>{title}</summary>",
        "",
        "| codec | setting | bpp | "
        + " | ".join(METRICS[m][0] for m in metrics)
        + " | encode ms | decode ms |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in metrics) + " | ---: | ---: |",
    ]
    for entry in summary["codecs"]:
        for row in part["curves"].get(entry["name"], []):
            ms = [
                f"{1000 * row[k]:.1f}" if row.get(k) is not None else "–"
                for k in ("encode_s", "decode_s")
            ]
            values = " | ".join(cell(row.get(m), _DIGITS[m]) for m in metrics)
            lines.append(
                f"| {entry['label']} | {entry['setting']} {row['setting']:g} | {row['bpp']:.3f} "
                f"| {values} | {ms[0]} | {ms[1]} |"
            )
    return [*lines, "", "</details>"]
