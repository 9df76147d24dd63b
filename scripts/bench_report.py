"""The project's own peer comparison: ``hybrid bench`` on the validation set, written into
the "## Peer comparison (hybrid bench)" section of BENCHMARKS.md (only that section is
replaced; the file's other sections belong to other benchmarks).

    .venv/bin/python scripts/bench_report.py --quick --jobs 2     # about 10 minutes, 2 cores
    .venv/bin/python scripts/bench_report.py --jobs 2             # the full sweep

The run is resumable (points are cached in OUT/points.jsonl). OUT (default
``runs/bench-val[-quick]``, git-ignored) receives results.json, report.md, the plots and
report.html; the HTML report is not committed because its crops are derived from the
validation images, which the project must not ship. The RD and speed plots (no image
content) are copied to docs/bench/ and linked from BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Peer comparison (hybrid bench)"
PLOTS = ("rd_psnr.png", "rd_ms_ssim.png", "speed.png")
#: Plots copied and linked when the run made them (butteraugli: where the tool is installed).
OPTIONAL_PLOTS = ("rd_butteraugli.png",)


def replace_section(document: str, section: str) -> str:
    """``document`` with the ``SECTION`` heading's section (up to the next ``## `` heading)
    replaced by ``section``, or ``section`` appended when there is none."""
    lines = document.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        base = document if document.strip() else "# Benchmarks\n"
        return base.rstrip("\n") + "\n\n" + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + tail if tail else "")


def _timing_text(timing: Path, command: str, fresh: int, total: int) -> str:
    """How long the measurement takes from scratch, from the last such run's record."""
    reused = f"This run measured {fresh} of its {total} points (the rest were cached)."
    try:
        record = json.loads(timing.read_text())
    except (OSError, ValueError):
        return reused
    if record.get("command") != command:
        return reused
    return (
        f"Measured from scratch on {record['date']} ({record['points']} points, none "
        f"cached): {record['measure_s'] / 60:.1f} min, {record['total_s'] / 60:.1f} min "
        f"with the report, {record['jobs']} worker processes."
        + (
            ""
            if fresh == total
            else " This regeneration reused every point from the cache."
            if fresh == 0
            else f" This regeneration measured {fresh} of {total} points."
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "val")
    parser.add_argument("--out", type=Path, help="output folder (default runs/bench-val[-quick])")
    parser.add_argument("--quick", action="store_true", help="the quick sweep")
    parser.add_argument("--limit", type=int, help="only the first N images (trial runs)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-resume", action="store_true", help="measure every point again")
    parser.add_argument(
        "--butteraugli",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure butteraugli distances (libjxl's butteraugli_main; default: when installed)",
    )
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    from hybrid.bench.report import markdown
    from hybrid.bench.runner import (
        butteraugli_note,
        has_butteraugli,
        load_cache,
        plan_bench,
        progress_printer,
        run_bench,
    )
    from hybrid.bench.write import write_all
    from hybrid.io import atomic_write

    out = args.out or ROOT / "runs" / ("bench-val-quick" if args.quick else "bench-val")
    plan = plan_bench(args.data, quick=args.quick, limit=args.limit, butteraugli=args.butteraugli)
    for name, why in plan.skipped:
        print(f"skipping {name}: {why}", file=sys.stderr)
    note = butteraugli_note(plan)
    if note:
        print(note, file=sys.stderr)
    old = {} if args.no_resume else load_cache(out / "points.jsonl")
    cached = {
        key
        for key, point in old.items()
        if not plan.butteraugli or has_butteraugli(point, plan.butteraugli_version)
    }
    start = time.perf_counter()
    with progress_printer(plan) as bar:
        points = run_bench(
            plan, out / "points.jsonl", jobs=args.jobs, resume=not args.no_resume,
            on_image=lambda _image: bar.update(1),
        )  # fmt: skip
    measured_s = time.perf_counter() - start
    fresh = sum(p["key"] not in cached for p in points)
    flags = (["--quick"] if args.quick else []) + (
        [f"--limit {args.limit}"] if args.limit else []
    ) + [f"--jobs {args.jobs}"]  # fmt: skip
    if args.butteraugli is not None:
        flags.append("--butteraugli" if args.butteraugli else "--no-butteraugli")
    command = " ".join([".venv/bin/python scripts/bench_report.py", *flags])
    summary = write_all(out, plan, points, command=command)
    total_s = time.perf_counter() - start
    print(
        f"{len(points)} points in {measured_s:.0f} s (+ report {total_s - measured_s:.0f} s); {out}"
    )
    timing = out / "timing.json"
    if fresh == len(points):  # a run from scratch: its time is the one to report
        record = {
            "date": datetime.date.today().isoformat(), "command": command,
            "images": len(plan.images), "points": len(points), "jobs": args.jobs,
            "measure_s": round(measured_s, 1), "total_s": round(total_s, 1),
        }  # fmt: skip
        timing.write_text(json.dumps(record, indent=1) + "\n")
    if args.no_write:
        return 0

    docs = ROOT / "docs" / "bench"
    docs.mkdir(parents=True, exist_ok=True)
    plots = [name for name in (*PLOTS, *OPTIONAL_PLOTS) if (out / name).exists()]
    for name in plots:
        shutil.copyfile(out / name, docs / name)
    data = args.data.resolve()
    shown = data.relative_to(ROOT.parent) if data.is_relative_to(ROOT.parent) else data
    sharing = f"while {args.jobs} workers share the cores" if args.jobs > 1 else "in one worker"
    section = (
        f"{SECTION}\n\n"
        f"Generated by `{command}` on {datetime.date.today().isoformat()}: "
        f"{len(plan.images)} images of `../{shown}`, {'quick' if args.quick else 'full'} sweep. "
        f"The same measurement with an HTML report (plots, side-by-side crops with a slider): "
        f"`hybrid bench ../{shown} -o OUT {' '.join(flags)}`. "
        f"{_timing_text(timing, command, fresh, len(points))} Machine: {summary['machine']}. "
        f"Speeds are wall-clock times of single-threaded codec calls {sharing}: "
        f"read them as ratios.\n\n"
        f"{markdown(summary)}\n" + "".join(f"![{name}](docs/bench/{name})\n" for name in plots)
    )
    document = args.markdown.read_text() if args.markdown.exists() else ""
    atomic_write(args.markdown, replace_section(document, section).encode(), force=True)
    print(f"wrote the section {SECTION!r} of {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
