"""Writing a bench run's results: ``results.json``, ``report.md``, the PNG plots and the
self-contained ``report.html``, each atomically.

The top of the bench package: it joins the summary and markdown (:mod:`hybrid.bench.report`),
the plots (:mod:`hybrid.bench.plots`) and the HTML page (:mod:`hybrid.bench.html`), which
import only the report, never this module.
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
    """Write ``results.json``, ``report.md``, the PNG plots and ``report.html`` to ``outdir``
    (JSON and markdown first: they need no matplotlib). Returns the summary."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(plan, points, command)
    write_json(out / "results.json", summary)
    title = f"# hybrid bench\n\nCommand: `{command}`\n\n" if command else "# hybrid bench\n\n"
    atomic_write(out / "report.md", (title + markdown(summary)).encode(), force=True)

    # matplotlib (the bench extra) is needed from here on only.
    from hybrid.bench.html import make_crops, render_html
    from hybrid.bench.plots import all_plots

    plots = all_plots(summary)
    for name, png in plots.items():
        atomic_write(out / name, png, force=True)
    crop_sets = make_crops(plan, points, images=crops) if crops else []
    page = render_html(summary, plots, crop_sets)
    atomic_write(out / "report.html", page.encode("utf-8"), force=True)
    return summary
