"""PNG plots of a benchmark summary: one RD chart per metric and a speed chart.

matplotlib is an optional dependency (the ``bench`` extra); it is imported only here, when a
plot is drawn, with the Agg backend (no display needed).
"""

from __future__ import annotations

import io
from typing import Any

from hybrid.bench.report import METRICS, shown_metrics

__all__ = ["CLASS_METRICS", "all_plots", "rd_plot", "speed_plot"]

# One line style per codec family, so that hybrid stands out and the peers stay readable,
# and a fixed colour per codec (the same in every plot and every run).
_FAMILY_STYLE = {"hybrid": ("-", "o", 2.2), "jpeg": ("--", "s", 1.4), "modern": (":", "^", 1.4)}
_COLOURS = {
    "libjpeg-turbo-420": "#000000",
    "libjpeg-turbo-444": "#7f7f7f",
    "mozjpeg": "#8c564b",
    "jpegqs": "#bcbd22",
    "webp": "#9467bd",
    "avif": "#e377c2",
    "jpegxl": "#006d6f",
    "hybrid": "#1f77b4",
    "hybrid-enhance-fast": "#ff7f0e",
    "hybrid-enhance-quality": "#d62728",
    "libjpeg-turbo-420-enhance-fast": "#e6ab02",
    "hybrid-sr": "#2ca02c",
    "hybrid-auto": "#17becf",
}


def _pyplot() -> Any:
    from hybrid.errors import InputError

    try:
        import matplotlib
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'hybrid-jpeg-codec[bench]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def rd_plot(summary: dict[str, Any], metric: str, content: str | None = None) -> bytes:
    """Mean RD curves of every codec for ``metric`` (a key of :data:`METRICS`), as PNG: over
    all images, or over the images of one ``content`` class (a key of ``by_content``)."""
    from hybrid.bench.codecs import get_codec

    plt = _pyplot()
    label, unit = METRICS[metric]
    part = summary["by_content"][content] if content else summary
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    for entry in summary["codecs"]:
        rows = [r for r in part["curves"].get(entry["name"], []) if r.get(metric) is not None]
        if not rows:
            continue
        style, marker, width = _FAMILY_STYLE.get(get_codec(entry["name"]).family, ("-", "o", 1.4))
        ax.plot(
            [r["bpp"] for r in rows], [r[metric] for r in rows], linestyle=style,
            marker=marker, linewidth=width, markersize=4, label=entry["label"],
            color=_COLOURS.get(entry["name"]),
        )  # fmt: skip
    lo, hi = summary["rate_range_bpp"]
    ax.axvspan(lo, hi, color="0.93", zorder=0, label=f"BD range {lo:g}-{hi:g} bpp")
    ax.set_xlim(0, max(1.3, hi * 1.3))
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel(f"{label} ({unit})" if unit else label)
    kind = f" {content}" if content else ""
    ax.set_title(f"{label} against rate, mean over {len(part['images'])}{kind} images")
    ax.grid(True, alpha=0.3)
    _autoscale_y(ax, part, metric)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def _autoscale_y(ax: Any, part: dict[str, Any], metric: str) -> None:
    """Fit the y axis to the points of ``part`` (a summary or one of its content classes)
    inside the x range shown (the high-rate tail would squash the interesting part)."""
    x_max = ax.get_xlim()[1]
    values = [
        r[metric]
        for rows in part["curves"].values()
        for r in rows
        if r.get(metric) is not None and r["bpp"] <= x_max
    ]
    if values:
        span = max(values) - min(values) or 1.0
        ax.set_ylim(min(values) - 0.05 * span, max(values) + 0.05 * span)


def speed_plot(summary: dict[str, Any]) -> bytes:
    """Median encode and decode speed per codec (megapixels per second, log scale), as PNG."""
    plt = _pyplot()
    names = [e["name"] for e in summary["codecs"] if e["name"] in summary["speed"]]
    labels = [e["label"] for e in summary["codecs"] if e["name"] in summary["speed"]]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(names) + 1.5))
    ys = range(len(names))
    for offset, kind, colour in ((-0.2, "encode", "#4477aa"), (0.2, "decode", "#ee6677")):
        values = [summary["speed"][n].get(f"{kind}_mp_s") or 0.0 for n in names]
        ax.barh([y + offset for y in ys], values, height=0.38, color=colour, label=kind)
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("megapixels per second (median, one thread)")
    ax.set_title("Speed")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


#: The metrics plotted per content class when a run holds several.
CLASS_METRICS = ("psnr", "ms_ssim")


def all_plots(summary: dict[str, Any]) -> dict[str, bytes]:
    """File name -> PNG bytes: ``rd_<metric>.png`` for every metric the run measured
    (:func:`~hybrid.bench.report.shown_metrics`) and ``speed.png``; when
    the run holds several content classes, ``rd_<metric>_<class>.png`` for each class and
    each of :data:`CLASS_METRICS` too."""
    plots = {f"rd_{metric}.png": rd_plot(summary, metric) for metric in shown_metrics(summary)}
    by_content = summary.get("by_content") or {}
    if len(by_content) > 1:
        for content in by_content:
            for metric in CLASS_METRICS:
                plots[f"rd_{metric}_{content}.png"] = rd_plot(summary, metric, content)
    plots["speed.png"] = speed_plot(summary)
    return plots
