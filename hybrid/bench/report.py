"""From measured points to results: mean RD curves, BD-rates, speeds and markdown tables.

Curves: for each codec and setting, the mean over images of bits per pixel and of each
metric (the usual dataset curve). A setting enters a curve only when every image has a
valid point for it, so every curve averages the same images.

BD-rate and BD-PSNR (:mod:`hybrid.bench.bd`, piecewise cubic) compare each curve with the
reference (libjpeg-turbo 4:2:0) over the reference's 0.15-1.0 bpp range. SSIM and MS-SSIM
enter BD-rate in dB, ``-10 log10(1 - value)``, where equal steps mean comparable visual
changes across the range (as AOM's reports do).

Speed: the median over points of megapixels (of the original) per second, encode and decode
separately, one thread.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from typing import Any

from hybrid.bench.codecs import REFERENCE, get_codec

__all__ = ["METRICS", "RATE_RANGE", "bd_table", "cell", "curves", "markdown", "speeds", "summarize"]

#: Quality metrics: key -> (label, unit shown in tables).
METRICS: dict[str, tuple[str, str]] = {
    "psnr": ("PSNR-RGB", "dB"),
    "psnr_y": ("PSNR-Y", "dB"),
    "ms_ssim": ("MS-SSIM", ""),
    "ssim": ("SSIM", ""),
}
RATE_RANGE = (0.15, 1.0)
_FIELDS = ("bpp", *METRICS, "encode_s", "decode_s")


def _db(value: float) -> float:
    return -10.0 * math.log10(max(1.0 - value, 1e-12))


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
            values = [_db(v) for v in values]
        return [r["bpp"] for r in rows], values

    ref_series, test_series = series(ref), series(test)
    if min(len(ref_series[0]), len(test_series[0])) < 2:
        return "n/a (fewer than two points with this metric)"
    try:
        return round(float(fn(*ref_series, *test_series, rate_range=RATE_RANGE)), 4)
    except ValueError as exc:
        return f"n/a ({exc})"


def bd_table(
    curve_map: dict[str, list[dict[str, Any]]], reference: str = REFERENCE
) -> dict[str, dict[str, Any]]:
    """Per codec: ``bd_rate_<metric>`` (percent, negative = fewer bits) for every metric and
    ``bd_psnr`` / ``bd_psnr_y`` (dB, positive = better) against ``reference``; a string
    ``"n/a (why)"`` where the curves do not overlap in the range."""
    from hybrid.bench.bd import bd_metric, bd_rate

    ref = curve_map.get(reference, [])
    table: dict[str, dict[str, Any]] = {}
    for codec, rows in curve_map.items():
        entry: dict[str, Any] = {}
        for metric in METRICS:
            entry[f"bd_rate_{metric}"] = _bd_value(bd_rate, ref, rows, metric)
        entry["bd_psnr"] = _bd_value(bd_metric, ref, rows, "psnr")
        entry["bd_psnr_y"] = _bd_value(bd_metric, ref, rows, "psnr_y")
        table[codec] = entry
    return table


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


def summarize(plan: Any, points: list[dict[str, Any]], command: str = "") -> dict[str, Any]:
    """Everything a report shows, as plain JSON-able data (written to ``results.json``)."""
    import platform

    from hybrid.bench.runner import BENCH_VERSION

    curve_map = curves(points, len(plan.images))
    return {
        "command": command,
        "bench_version": BENCH_VERSION,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "quick": plan.quick,
        "images": [i.name for i in plan.images],
        "reference": REFERENCE,
        "rate_range_bpp": list(RATE_RANGE),
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
        "curves": curve_map,
        "bd": bd_table(curve_map),
        "speed": speeds(points),
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


def markdown(summary: dict[str, Any], *, details: bool = True) -> str:
    """The result tables as GitHub markdown: BD summary, speeds, notes; per-setting means."""
    lo, hi = summary["rate_range_bpp"]
    ref_label = get_codec(summary["reference"]).label
    lines = [
        f"{len(summary['images'])} images, {'quick' if summary['quick'] else 'full'} sweep. "
        f"BD-rate: mean bit-rate change at equal quality against {ref_label} over its "
        f"{lo:g}-{hi:g} bpp range (negative = fewer bits; SSIM and MS-SSIM in dB); "
        f"BD-PSNR: mean PSNR-RGB change at equal rate. Speeds: median megapixels per second, "
        f"one thread, on {summary['machine']}.",
        "",
        "| codec | bpp range | BD-rate PSNR-RGB | BD-rate PSNR-Y | BD-rate MS-SSIM | BD-rate SSIM "
        "| BD-PSNR-RGB | encode MP/s | decode MP/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in summary["codecs"]:
        name = entry["name"]
        rows = summary["curves"].get(name, [])
        bd = summary["bd"].get(name, {})
        speed = summary["speed"].get(name, {})
        span = f"{rows[0]['bpp']:.2f}-{rows[-1]['bpp']:.2f}" if rows else "–"
        lines.append(
            f"| {entry['label']} | {span} | {cell(bd.get('bd_rate_psnr'), 1, '%')} "
            f"| {cell(bd.get('bd_rate_psnr_y'), 1, '%')} "
            f"| {cell(bd.get('bd_rate_ms_ssim'), 1, '%')} "
            f"| {cell(bd.get('bd_rate_ssim'), 1, '%')} | {cell(bd.get('bd_psnr'), 2, ' dB')} "
            f"| {cell(speed.get('encode_mp_s'), 2)} | {cell(speed.get('decode_mp_s'), 2)} |"
        )
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
        lines += ["", *_detail_table(summary)]
    return "\n".join(lines) + "\n"


def _detail_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "<details><summary>Mean RD points per codec and setting</summary>",
        "",
        "| codec | setting | bpp | PSNR-RGB | PSNR-Y | MS-SSIM | SSIM | encode ms | decode ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in summary["codecs"]:
        for row in summary["curves"].get(entry["name"], []):
            ms = [
                f"{1000 * row[k]:.1f}" if row.get(k) is not None else "–"
                for k in ("encode_s", "decode_s")
            ]
            lines.append(
                f"| {entry['label']} | {entry['setting']} {row['setting']:g} | {row['bpp']:.3f} "
                f"| {cell(row['psnr'])} | {cell(row['psnr_y'])} | {cell(row['ms_ssim'], 4)} "
                f"| {cell(row['ssim'], 4)} | {ms[0]} | {ms[1]} |"
            )
    return [*lines, "", "</details>"]
