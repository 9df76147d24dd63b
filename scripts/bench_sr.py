#!/usr/bin/env python3
"""Super-resolution benchmark: the downscaled (SR) mode against full resolution at low rates.

1. Rate-distortion at low rates: every validation image is encoded at full resolution
   (``--full-qualities``) and in SR mode at each of ``--sr-scales`` (``hybrid.encode(scale=S)``,
   qualities per scale from ``--sr-qualities``), all ``best=True``, and decoded with
   ``hybrid.decode(enhance=True)`` (the enhancement network, resp. the super-resolution model
   the file names back to the original size, or, when none is installed, enhancement +
   bicubic). Per point: bpp (file bytes * 8 / original pixels), PSNR-RGB and MS-SSIM against
   the original. The mean curves (mean bpp and mean metric per quality) are compared at equal
   rate on the ``--grid`` bpp values both cover (piecewise-linear interpolation of the
   monotone part of each curve), with the BD-rate of each SR scale against full resolution up
   to ``BD_MAX_BPP``; "SR mode, best scale" takes at each rate the best SR scale that covers
   it (what the encoder's automatic mode can choose). A two-panel plot goes to ``--plot``.
2. The SR networks' own value: original -> hybrid's downscale by S (Lanczos, as
   ``hybrid encode --scale S``) -> libjpeg-turbo 4:2:0 (Pillow, optimize=True) at
   ``--gain-qualities``, decoded (a) by the SR model for S and (b) by Pillow + bicubic; mean
   PSNR gain per quality and scale.
3. Speed (child processes, ``--threads`` torch threads): SR decode of a 0.4 MP output
   (774x516 from a 387x258 JPEG of skimage's astronaut), median of ``--repeat`` after a
   warm-up, with peak RSS; and ``hybrid.encode_to_target(target_size=0.3 bpp, best=True)`` on
   the 774x516 image (the issue's target: at most 10 s).

Per-image results are written to ``--json`` after every image; ``--resume`` reuses them.

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_sr.py --data ../shared/data --json runs/bench_sr.json
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

FULL_QUALITIES = (3, 5, 8, 12, 18, 25, 35)
#: SR-mode qualities per downscale (lower at x1.5, whose files are larger at equal quality).
SR_QUALITIES = {2.0: (8, 12, 20, 30, 45, 60, 75), 1.5: (5, 8, 12, 16, 20, 25, 30, 35, 40)}
SR_SCALES = (2.0, 1.5)
GAIN_QUALITIES = (10, 20, 30, 50, 75, 90)
GRID_BPP = (0.10, 0.125, 0.15, 0.175, 0.20, 0.25, 0.30)
METRICS = ("psnr", "ms_ssim")
#: BD-rate is computed over the rates both curves cover up to this many bpp (the SR mode is
#: meant for low rates; above this the full-resolution mode wins anyway).
BD_MAX_BPP = 0.3
#: Plot x range (bpp).
PLOT_BPP = (0.05, 0.5)
#: The speed test's output size (0.4 MP) and the JPEG quality of its coded half-size image.
SPEED_SIZE = (774, 516)
SPEED_QUALITY = 30
#: Colours of the two curves, the same as in hybrid/bench/plots.py.
COLOURS = {"full": "#ff7f0e", "x2": "#2ca02c", "x1.5": "#1f77b4", "x3": "#9467bd"}


# ---- pure functions: curves and their comparison -----------------------------------------


def mean_curve(records: Sequence[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """The mean RD curve of one mode: per quality, mean bpp and mean metrics over images.

    Args:
        records: per-image points, dicts with ``mode``, ``quality``, ``bpp`` and the
            :data:`METRICS` keys.
        mode: ``"full"`` or an SR mode name (``"x2"``, ``"x1.5"``, see :func:`mode_name`).

    Returns:
        One dict per quality (increasing): ``quality``, ``images`` (count), ``bpp`` and each
        metric (means).
    """
    by_quality: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        if r["mode"] == mode:
            by_quality.setdefault(int(r["quality"]), []).append(r)
    curve = []
    for q in sorted(by_quality):
        rows = by_quality[q]
        point: dict[str, Any] = {"quality": q, "images": len(rows)}
        for key in ("bpp", *METRICS):
            point[key] = float(np.mean([r[key] for r in rows]))
        curve.append(point)
    return curve


def interpolate_at(
    rates: Sequence[float], metric: Sequence[float], grid: Sequence[float]
) -> list[float | None]:
    """A curve's metric at the rates ``grid``, piecewise-linear in rate.

    Only the monotone part of the curve is used (:func:`hybrid.bench.bd.monotone_curve`:
    sorted by rate, points that do not raise the metric dropped). Rates outside the
    remaining points' span are not extrapolated.

    Returns:
        One value per grid rate, None outside the curve (or for a curve with fewer than two
        monotone points).
    """
    from hybrid.bench.bd import monotone_curve

    try:
        r, m = monotone_curve(rates, metric)
    except ValueError:
        return [None] * len(grid)
    return [float(np.interp(g, r, m)) if r[0] <= g <= r[-1] else None for g in map(float, grid)]


def compare_at_rates(
    full: Sequence[dict[str, Any]],
    sr: Sequence[dict[str, Any]],
    grid: Sequence[float],
    metrics: Sequence[str] = METRICS,
) -> list[dict[str, float]]:
    """Both mean curves at equal rate: the ``grid`` rates that both curves cover.

    Args:
        full, sr: mean curves (:func:`mean_curve`), dicts with ``bpp`` and the metrics.
        grid: rates (bpp) to compare at.

    Returns:
        One row per grid rate covered by both curves for every metric: ``bpp`` and, per
        metric ``m``, ``m_full``, ``m_sr`` and ``m_diff`` (SR minus full; positive: SR is
        better).
    """
    values = {}
    for m in metrics:
        for name, curve in (("full", full), ("sr", sr)):
            rates = [p["bpp"] for p in curve]
            values[m, name] = interpolate_at(rates, [p[m] for p in curve], grid)
    rows = []
    for i, g in enumerate(grid):
        if any(values[m, name][i] is None for m in metrics for name in ("full", "sr")):
            continue
        row = {"bpp": float(g)}
        for m in metrics:
            f, s = values[m, "full"][i], values[m, "sr"][i]
            row.update({f"{m}_full": f, f"{m}_sr": s, f"{m}_diff": s - f})
        rows.append(row)
    return rows


def mode_name(scale: float) -> str:
    """The records' and curves' name of the SR mode at downscale ``scale``: ``"x1.5"``."""
    return f"x{scale:g}"


def best_of(
    comparisons: dict[str, Sequence[dict[str, float]]], metrics: Sequence[str] = METRICS
) -> list[dict[str, Any]]:
    """At each rate, the best SR mode (per metric) among those whose comparison covers it.

    Args:
        comparisons: SR mode name -> :func:`compare_at_rates` rows of that mode.

    Returns:
        One row per rate covered by at least one mode: ``bpp`` and, per metric ``m``,
        ``m_full``, ``m_sr`` (the best mode's value), ``m_diff`` and ``m_mode`` (its name).
    """
    by_rate: dict[float, list[tuple[str, dict[str, float]]]] = {}
    for name, rows in comparisons.items():
        for row in rows:
            by_rate.setdefault(row["bpp"], []).append((name, row))
    out = []
    for bpp in sorted(by_rate):
        result: dict[str, Any] = {"bpp": bpp}
        for m in metrics:
            name, row = max(by_rate[bpp], key=lambda nr: nr[1][f"{m}_sr"])
            result.update({f"{m}_full": row[f"{m}_full"], f"{m}_sr": row[f"{m}_sr"],
                           f"{m}_diff": row[f"{m}_diff"], f"{m}_mode": name})  # fmt: skip
        out.append(result)
    return out


def bd_summary(
    full: Sequence[dict[str, Any]],
    sr: Sequence[dict[str, Any]],
    max_bpp: float = BD_MAX_BPP,
    metrics: Sequence[str] = METRICS,
) -> dict[str, dict[str, float | None]]:
    """BD-rate (%) and BD-metric of SR against full resolution, up to ``max_bpp``.

    The comparison spans the full-resolution curve's rates up to ``max_bpp``, intersected
    with what both curves cover (:func:`hybrid.bench.bd.bd_rate` with ``rate_range``).

    Returns:
        Per metric: ``bd_rate_pct`` (negative: SR needs fewer bits for the same quality) and
        ``bd_metric`` (positive: SR is better at the same rate); None where the curves do not
        overlap below ``max_bpp``.
    """
    from hybrid.bench.bd import bd_metric, bd_rate

    out: dict[str, dict[str, float | None]] = {}
    lowest = min((p["bpp"] for p in (*full, *sr)), default=math.inf)
    for m in metrics:
        out[m] = {"bd_rate_pct": None, "bd_metric": None}
        if not 0 < lowest < max_bpp:
            continue
        args = ([p["bpp"] for p in full], [p[m] for p in full])
        args += ([p["bpp"] for p in sr], [p[m] for p in sr])
        for key, fn in (("bd_rate_pct", bd_rate), ("bd_metric", bd_metric)):
            try:
                out[m][key] = fn(*args, rate_range=(lowest, max_bpp))
            except ValueError:
                pass
    return out


# ---- measurement --------------------------------------------------------------------------


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def measure_point(
    data: bytes, clean: np.ndarray, *, model: str | None, sr_model: str | None, threads: int
) -> dict[str, Any]:
    """bpp, PSNR-RGB and MS-SSIM of one file's enhanced decode against ``clean`` (uint8)."""
    import hybrid
    from hybrid.metrics import ms_ssim, psnr

    t0 = time.perf_counter()
    with hybrid.decode(data, enhance=True, model=model, sr_model=sr_model, threads=threads) as im:
        decoded = np.asarray(im.convert("RGB"))
    seconds = time.perf_counter() - t0
    assert decoded.shape == clean.shape, (decoded.shape, clean.shape)
    return {
        "bytes": len(data),
        "bpp": len(data) * 8 / (clean.shape[0] * clean.shape[1]),
        "psnr": psnr(decoded, clean),
        "ms_ssim": ms_ssim(decoded, clean),
        "decode_s": seconds,
    }


def measure_image(path: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every full-resolution and SR-mode point of one image."""
    import hybrid

    clean = load_rgb(path)
    records = []
    plan = [("full", args.full, None)]
    plan += [(mode_name(s), args.sr[s], s) for s in args.sr_scales]
    for mode, qualities, scale in plan:
        for q in qualities:
            t0 = time.perf_counter()
            if scale is None:
                data = hybrid.encode(clean, quality=q, best=True)
            else:
                data = hybrid.encode(clean, quality=q, scale=scale, best=True)
            encode_s = time.perf_counter() - t0
            point = measure_point(
                data, clean, model=args.model, sr_model=args.sr_model, threads=args.threads
            )
            records.append(
                {"image": path.name, "mode": mode, "scale": scale or 1.0, "quality": q, **point,
                 "encode_s": encode_s}
            )  # fmt: skip
    return records


def pillow_jpeg(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=2, optimize=True)
    return buf.getvalue()


def half_size_jpeg(clean: np.ndarray, quality: int, scale: float = 2.0) -> bytes:
    """``clean`` downscaled by ``scale`` as ``hybrid encode --scale`` does, coded by
    libjpeg-turbo."""
    from hybrid.codec.geometry import coded_size
    from hybrid.resample import downscale

    height, width = clean.shape[:2]
    return pillow_jpeg(downscale(clean, coded_size(width, height, scale)), quality)


def sr_gain(
    files: Sequence[Path], args: argparse.Namespace, sr_id: str, scale: float = 2.0
) -> list[dict[str, Any]]:
    """Mean PSNR of SR decode vs Pillow decode + bicubic of libjpeg-turbo files of the
    images downscaled by ``scale``."""
    from hybrid.enhance.superres import upscale_jpeg
    from hybrid.metrics import psnr
    from hybrid.resample import upscale_image

    cleans = [load_rgb(f) for f in files]
    rows = []
    for q in args.gain_qualities:
        bpps, sr_psnr, bicubic_psnr = [], [], []
        for clean in cleans:
            height, width = clean.shape[:2]
            data = half_size_jpeg(clean, q, scale)
            out = upscale_jpeg(data, (width, height), model=sr_id, threads=args.threads)
            sr = np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
            with Image.open(io.BytesIO(data)) as im:
                bicubic = np.asarray(upscale_image(im.convert("RGB"), (width, height)))
            bpps.append(len(data) * 8 / (width * height))
            sr_psnr.append(psnr(sr, clean))
            bicubic_psnr.append(psnr(bicubic, clean))
        gains = np.subtract(sr_psnr, bicubic_psnr)
        row = {
            "scale": scale,
            "model": sr_id,
            "quality": q,
            "bpp": float(np.mean(bpps)),
            "psnr_bicubic": float(np.mean(bicubic_psnr)),
            "psnr_sr": float(np.mean(sr_psnr)),
            "psnr_gain_db": float(gains.mean()),
            "min_image_gain_db": float(gains.min()),
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def speed_image() -> np.ndarray:
    """The 0.4 MP (774x516) speed-test image: skimage's astronaut, resized."""
    from skimage import data as skdata

    base = Image.fromarray(skdata.astronaut()).resize(SPEED_SIZE, Image.Resampling.BICUBIC)
    return np.asarray(base)


def speed_child(what: str, args: argparse.Namespace) -> None:
    """Run in a child process: time ``what`` (``sr`` or ``ratecontrol``), print JSON (median
    seconds, all timings, peak RSS)."""
    import torch

    torch.set_num_threads(args.threads)
    img = speed_image()
    width, height = SPEED_SIZE
    times = []
    extra: dict[str, Any] = {}
    if what == "sr":
        from hybrid.enhance.superres import upscale_jpeg

        jpeg = half_size_jpeg(img, SPEED_QUALITY)
        small = half_size_jpeg(img[:128, :128], SPEED_QUALITY)
        upscale_jpeg(small, (128, 128), model=args.sr_id, threads=args.threads)  # warm-up
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            upscale_jpeg(jpeg, (width, height), model=args.sr_id, threads=args.threads)
            times.append(time.perf_counter() - t0)
        extra = {"model": args.sr_id, "input_bytes": len(jpeg)}
    else:
        import hybrid

        target = int(0.3 * width * height / 8)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            data, result = hybrid.encode_to_target(img, target_size=target, best=True)
            times.append(time.perf_counter() - t0)
        extra = {
            "target_bytes": target,
            "bytes": len(data),
            "scale": result.scale,
            "mode": result.mode,
            "iterations": result.iterations,
        }
    dt = float(np.median(times))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "what": what,
                "size": f"{width}x{height}",
                "seconds": dt,
                "all_seconds": times,
                "peak_rss_mib": peak,
                "threads": args.threads,
                **extra,
            }
        )
    )


def run_speed_child(what: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--speed-child",
        what,
        "--threads",
        str(args.threads),
        "--repeat",
        str(args.repeat),
    ]
    cmd += ["--sr-model", args.sr_id] if args.sr_id else []
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---- output -------------------------------------------------------------------------------


def plot(
    curves: dict[str, list[dict[str, Any]]], labels: dict[str, str], n_images: int, path: Path
) -> bool:
    """PSNR-RGB and MS-SSIM against bpp of the mean curves, as a PNG; False without
    matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.5))
    lo, hi = PLOT_BPP
    for ax, metric, label in zip(axes, METRICS, ("PSNR-RGB (dB)", "MS-SSIM"), strict=True):
        shown = []
        for mode, curve in curves.items():
            x = [p["bpp"] for p in curve]
            y = [p[metric] for p in curve]
            ax.plot(
                x,
                y,
                marker="o",
                markersize=4,
                linewidth=1.8,
                color=COLOURS.get(mode),
                label=labels[mode],
            )
            shown += [v for u, v in zip(x, y, strict=True) if lo <= u <= hi]
        if shown:
            span = max(shown) - min(shown) or 1.0
            ax.set_ylim(min(shown) - 0.05 * span, max(shown) + 0.05 * span)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, names, loc="lower center", ncol=len(names), fontsize=9, bbox_to_anchor=(0.5, -0.06)
    )
    fig.suptitle(f"SR modes against full resolution, enhanced decode, mean over {n_images} images")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return True


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): an interrupted run keeps the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2)
    os.replace(tmp, path)


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _equal_rate_table(rows: Sequence[dict[str, Any]], with_mode: bool = False) -> None:
    head = "| bpp | PSNR full | PSNR SR | diff (dB) | MS-SSIM full | MS-SSIM SR | diff |"
    print(head + (" SR scale (PSNR / MS-SSIM) |" if with_mode else ""))
    print("|---" * (8 if with_mode else 7) + "|")
    for r in rows:
        line = (
            f"| {r['bpp']:.3f} | {r['psnr_full']:.2f} | {r['psnr_sr']:.2f} "
            f"| {r['psnr_diff']:+.2f} | {r['ms_ssim_full']:.4f} | {r['ms_ssim_sr']:.4f} "
            f"| {r['ms_ssim_diff']:+.4f} |"
        )
        if with_mode:
            line += f" {r['psnr_mode']} / {r['ms_ssim_mode']} |"
        print(line)
    if not rows:
        print("| (no grid rate covered by both curves) | | | | | | |")


def print_tables(result: dict[str, Any]) -> None:
    labels = result["labels"]
    print(
        f"\nImages: {result['images']} from {result['settings']['data']}/val; curves: "
        + "; ".join(f"{m}: {label}" for m, label in labels.items())
        + "\n"
    )
    print("| mode | quality | bpp | PSNR-RGB (dB) | MS-SSIM |\n|---|---|---|---|---|")
    for mode, curve in result["curves"].items():
        for p in curve:
            print(
                f"| {mode} | {p['quality']} | {p['bpp']:.3f} | {p['psnr']:.2f} "
                f"| {p['ms_ssim']:.4f} |"
            )
    for mode, rows in result["comparison"].items():
        print(f"\nSR mode {mode} against full resolution at equal rate (mean curves, "
              "piecewise-linear in bpp):\n")  # fmt: skip
        _equal_rate_table(rows)
        bd = result["bd"][mode]
        print(
            f"\nBD of {mode} against full resolution, rates up to {BD_MAX_BPP} bpp: "
            f"PSNR BD-rate {_num(bd['psnr']['bd_rate_pct'], '+.1f')} %, "
            f"BD-PSNR {_num(bd['psnr']['bd_metric'], '+.2f')} dB; "
            f"MS-SSIM BD-rate {_num(bd['ms_ssim']['bd_rate_pct'], '+.1f')} %, "
            f"BD-MS-SSIM {_num(bd['ms_ssim']['bd_metric'], '+.4f')}"
        )
    if len(result["comparison"]) > 1:
        print("\nSR mode, best scale at each rate, against full resolution:\n")
        _equal_rate_table(result["best"], with_mode=True)
    if result["sr_gain"]:
        print("\nSR over Pillow + bicubic, libjpeg-turbo 4:2:0 files of the downscaled image:\n")
        print("| scale | model | quality | bpp | PSNR bicubic | PSNR SR | gain (dB) "
              "| worst image (dB) |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for r in result["sr_gain"]:
            print(
                f"| x{r['scale']:g} | {r['model']} | {r['quality']} | {r['bpp']:.3f} "
                f"| {r['psnr_bicubic']:.2f} | {r['psnr_sr']:.2f} | {r['psnr_gain_db']:+.2f} "
                f"| {r['min_image_gain_db']:+.2f} |"
            )
    if result["speed"]:
        print("\n| measurement | size | seconds (median) | peak RSS (MiB) |\n|---|---|---|---|")
        names = {"sr": "SR decode", "ratecontrol": "encode_to_target 0.3 bpp, best"}
        for s in result["speed"]:
            print(
                f"| {names[s['what']]} | {s['size']} | {s['seconds']:.2f} "
                f"| {s['peak_rss_mib']:.0f} |"
            )
    for note in result["notes"]:
        print(f"\nNote: {note}")


# ---- main ---------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", default="../shared/data", help="folder with val/ (default ../shared/data)"
    )
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--model", default=None, help="enhancement model (default: the registry's)")
    ap.add_argument("--sr-model", default=None, help="super-resolution model (default: the file's)")
    ap.add_argument(
        "--full-qualities",
        default=",".join(map(str, FULL_QUALITIES)),
        help="full-resolution qualities (default %(default)s)",
    )
    ap.add_argument(
        "--sr-scales",
        default=",".join(f"{v:g}" for v in SR_SCALES),
        help="downscales of the SR mode (default %(default)s)",
    )
    ap.add_argument(
        "--sr-qualities",
        action="append",
        default=[],
        metavar="SCALE:Q,Q,...",
        help="SR-mode qualities at one scale, e.g. 2:10,20,30 (repeatable; defaults: "
        + "; ".join(f"{k:g}:{','.join(map(str, v))}" for k, v in SR_QUALITIES.items())
        + ")",
    )
    ap.add_argument(
        "--grid",
        default=",".join(map(str, GRID_BPP)),
        help="bpp values to compare at (default %(default)s)",
    )
    ap.add_argument(
        "--gain-qualities",
        default=",".join(map(str, GAIN_QUALITIES)),
        help="libjpeg-turbo qualities of the SR-over-bicubic test (default %(default)s)",
    )
    ap.add_argument("--plot", default="docs/bench/sr_vs_full.png", help="PNG (default %(default)s)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--no-gain", action="store_true", help="skip the SR-over-bicubic test")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per speed test (median)")
    ap.add_argument("--json", default=None, help="write all results here")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="reuse the per-image results already in --json (same settings)",
    )
    ap.add_argument("--speed-child", choices=("sr", "ratecontrol"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.full = _ints(args.full_qualities)
    args.sr_scales = _floats(args.sr_scales)
    args.sr = {float(k): tuple(v) for k, v in SR_QUALITIES.items()}
    for spec in args.sr_qualities:
        scale, _, qualities = spec.partition(":")
        try:
            args.sr[float(scale)] = tuple(_ints(qualities))
        except ValueError:
            ap.error(f"--sr-qualities wants SCALE:Q,Q,..., got {spec!r}")
    for scale in args.sr_scales:
        if scale not in args.sr:
            ap.error(f"no qualities for SR scale {scale:g}: give --sr-qualities {scale:g}:Q,Q,...")
    args.gain_qualities = _ints(args.gain_qualities)
    args.grid = _floats(args.grid)
    args.sr_id = args.sr_model
    return args


def sr_decoder(args: argparse.Namespace, scale: float) -> tuple[str | None, str]:
    """(installed SR model id or None, label of the decoder) of SR-mode files at ``scale``:
    ``--sr-model``, else the model the file names (:func:`hybrid.downscaled.default_sr_model`)
    or, when that is not installed, the default one -- as :func:`hybrid.decode` chooses."""
    from hybrid.downscaled import DEFAULT_SR_MODEL, default_sr_model
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL
    from hybrid.enhance.superres import sr_models

    wanted = [args.sr_model] if args.sr_model else [default_sr_model(scale), DEFAULT_SR_MODEL]
    for model in wanted:
        if model in sr_models():
            return model, model
    return None, f"{args.model or DEFAULT_ENHANCE_MODEL} + bicubic ({wanted[0]} not installed)"


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.speed_child:
        speed_child(args.speed_child, args)
        return
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL
    from hybrid.errors import MissingModelWarning

    files = sorted(p for p in (Path(args.data) / "val").iterdir() if p.suffix.lower() == ".png")
    files = files[: args.limit]
    decoders = {s: sr_decoder(args, s) for s in args.sr_scales}
    args.sr_id = decoders.get(2.0, (None, ""))[0] or next(
        (d[0] for d in decoders.values() if d[0]), None
    )
    notes = []
    if any(sr_id is None for sr_id, _ in decoders.values()):
        missing = [f"x{s:g}: {label}" for s, (sr_id, label) in decoders.items() if sr_id is None]
        notes.append("no super-resolution model installed for " + "; ".join(missing))
        warnings.filterwarnings("ignore", category=MissingModelWarning)
    settings = {
        "data": args.data,
        "model": args.model,
        "sr_model": args.sr_model,
        "sr_decoders": {f"{s:g}": label for s, (_, label) in decoders.items()},
        "full_qualities": args.full,
        "sr_qualities": {f"{s:g}": list(args.sr[s]) for s in args.sr_scales},
        "threads": args.threads,
    }
    modes = [mode_name(s) for s in args.sr_scales]
    labels = {"full": f"full resolution, {args.model or DEFAULT_ENHANCE_MODEL}"}
    labels |= {mode_name(s): f"SR mode x{s:g}, {label}" for s, (_, label) in decoders.items()}
    json_path = Path(args.json) if args.json else None

    records: list[dict[str, Any]] = []
    if args.resume and json_path is not None and json_path.exists():
        previous = json.loads(json_path.read_text())
        if previous.get("settings") != settings:
            sys.exit(
                f"--resume: {json_path} was made with other settings: {previous.get('settings')}"
            )
        records = [r for r in previous["records"] if r["image"] in {f.name for f in files}]
    done = {r["image"] for r in records}
    t_start = time.perf_counter()
    todo = [f for f in files if f.name not in done]
    for i, f in enumerate(todo, 1):
        t0 = time.perf_counter()
        records += measure_image(f, args)
        elapsed = time.perf_counter() - t_start
        eta = elapsed / i * (len(todo) - i)
        print(
            f"[{len(done) + i}/{len(files)}] {f.name}: {time.perf_counter() - t0:.1f} s "
            f"(elapsed {elapsed / 60:.1f} min, eta {eta / 60:.1f} min)",
            file=sys.stderr,
        )
        if json_path is not None:
            write_json(json_path, {"settings": settings, "records": records, "partial": True})

    curves = {mode: mean_curve(records, mode) for mode in ("full", *modes)}
    comparison = {m: compare_at_rates(curves["full"], curves[m], args.grid) for m in modes}
    result: dict[str, Any] = {
        "settings": settings,
        "labels": labels,
        "images": len(files),
        "curves": curves,
        "grid": args.grid,
        "comparison": comparison,
        "best": best_of(comparison),
        "bd_max_bpp": BD_MAX_BPP,
        "bd": {m: bd_summary(curves["full"], curves[m]) for m in modes},
        "sr_models": {f"{s:g}": sr_id for s, (sr_id, _) in decoders.items()},
        "sr_gain": [],
        "speed": [],
        "notes": notes,
    }
    if not args.no_plot:
        if plot(curves, labels, len(files), Path(args.plot)):
            result["plot"] = args.plot
        else:
            notes.append("matplotlib is not installed: no plot")
    if not args.no_gain:
        for s, (sr_id, _) in decoders.items():
            if sr_id is None:
                notes.append(f"x{s:g} SR over bicubic skipped: no super-resolution model")
            else:
                result["sr_gain"] += sr_gain(files, args, sr_id, s)
    if not args.no_speed:
        if args.sr_id is None:
            notes.append("SR decode speed skipped: no super-resolution model installed")
        else:
            result["speed"].append(run_speed_child("sr", args))
        result["speed"].append(run_speed_child("ratecontrol", args))
    print_tables(result)
    if json_path is not None:
        write_json(json_path, {**result, "records": records})


if __name__ == "__main__":
    main()
