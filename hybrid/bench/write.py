"""Writing a bench run's results: ``results.json``, ``report.md``, the PNG plots and the
self-contained ``report.html``, each atomically, and the files of the report's live
comparison (``live/``, ``index.html``: :mod:`hybrid.bench.live`).

The top of the bench package: it joins the summary and markdown (:mod:`hybrid.bench.report`),
the plots (:mod:`hybrid.bench.plots`), the HTML page (:mod:`hybrid.bench.html`) and the live
comparison, which import only the report and the page, never this module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hybrid.bench.report import markdown, summarize
from hybrid.io import atomic_write


def write_json(path: str | os.PathLike[str], summary: dict[str, Any]) -> None:
    """``summary`` as JSON, written atomically."""
    atomic_write(
        Path(path), (json.dumps(summary, indent=1, allow_nan=False) + "\n").encode(), force=True
    )


def write_all(
    outdir: str | os.PathLike[str],
    plan: Any,
    points: list[dict[str, Any]],
    *,
    command: str = "",
    crops: int = 2,
) -> dict[str, Any]:
    """Write ``results.json``, ``report.md``, the PNG plots, ``report.html`` and its live
    comparison's files to ``outdir`` (JSON and markdown first: they need no matplotlib).
    Returns the summary."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(plan, points, command)
    write_json(out / "results.json", summary)
    title = f"# hybrid bench\n\nCommand: `{command}`\n\n" if command else "# hybrid bench\n\n"
    atomic_write(out / "report.md", (title + markdown(summary)).encode(), force=True)

    # matplotlib (the bench extra) is needed from here on only.
    from hybrid.bench.html import CROP_BPP, make_crops, render_html
    from hybrid.bench.live import make_live
    from hybrid.bench.plots import all_plots

    plots = all_plots(summary)
    for name, png in plots.items():
        atomic_write(out / name, png, force=True)
    crop_sets = make_crops(plan, points, images=crops) if crops else []
    live = make_live(out, plan, points, crop_sets, target_bpp=CROP_BPP)
    page = render_html(summary, plots, crop_sets, live)
    atomic_write(out / "report.html", page.encode("utf-8"), force=True)
    return summary
