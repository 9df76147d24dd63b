#!/usr/bin/env python3
"""A model's own near-lossless fade-out (issue 17): the knots of the taper by the mean luma
quantizer step that keep a released network never worse than the plain decode.

A decoder that finds no strength recorded for the model it runs keeps
``interp(step, (lo, hi), (0, 1))`` of the network's change, ``step`` being the mean of the
file's luma quantization table (:mod:`hybrid.enhance.taper`). Networks differ in where they
stop helping: one trained on libjpeg-turbo's output alone harms hybrid's trellis files from
mid quality, so each manifest entry may carry its own ``inference.fade_out`` knots.

For every clean image (the first ``--images`` of every ``--every``-th image of ``--data``
and its subfolders, sorted by path), encoder mode (hybrid's
``best`` and baseline, and libjpeg-turbo through Pillow) and quality, the file is decoded
plain and with the model's full change (strength 1), and the 8-bit blend's PSNR gain over the
plain decode is measured at :data:`GRID` strengths, exactly as the decoder blends and rounds
(:func:`hybrid.enhance.strength.blend`). The knots are then chosen by grid search: the largest
mean gain (over all cells, each mode and quality weighted alike) such that at every mode and
quality the mean gain is >= 0 (>= ``--mean-margin`` where files keep a share between grid
points) and no image loses more than ``--tolerance - --margin`` dB, and no knot lies below
the default fade-out's (a model may fade out earlier, never later). A strength between
grid points is scored by interpolating the squared error linearly between its neighbours;
the table of the chosen knots measures those files again at their exact share.

Example (the commands recorded in BENCHMARKS.md):
    python scripts/fit_fade_out.py --model enhance-perceptual-v1 --images 68 \
        --json runs/fade/enhance-perceptual-v1.json
    python scripts/fit_fade_out.py --from-json runs/fade/enhance-perceptual-v1.json

A slow model's measurement can be split over processes (cores, or sessions): ``--shard 0/2``
and ``--shard 1/2`` each measure every second image and write their rows to ``--json``; the
choice then merges them, ``--from-json a.json b.json`` (the same rows as one run's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root, for scripts.bench_own_files

from hybrid.enhance.registry import fade_out_steps  # noqa: E402
from hybrid.enhance.strength import blend  # noqa: E402
from hybrid.enhance.taper import TAPER_STEPS  # noqa: E402
from scripts.bench_own_files import REFERENCE, encode  # noqa: E402
from scripts.bench_strength_optimum import plain_and_full  # noqa: E402

QUALITIES = (5, 10, 20, 30, 40, 50, 65, 75, 80, 85, 88, 90, 91, 92, 93, 94, 95, 97)
MODES = ("best", "baseline", REFERENCE)
#: Strengths at which each file's blend is measured.
GRID = np.linspace(0.0, 1.0, 21)
DEFAULT_DATA = "../shared/data/val"
SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm"}


def blend_error(clean: np.ndarray, plain: np.ndarray, full: np.ndarray, share: float) -> float:
    """Mean squared error (0..255 scale, all channels) against ``clean`` (uint8 (H, W, 3)) of
    the blend at ``share`` rounded to 8 bits, as the decoder blends and rounds; ``plain`` and
    ``full`` are float (H, W, 3) on the 0..1 scale."""
    scaled = np.multiply(blend(plain, full, share), 255.0, dtype=np.float32)
    pixels = np.clip(np.round(scaled), 0, 255).astype(np.float64)
    return float(np.mean((pixels - clean.astype(np.float64)) ** 2))


def squared_errors(clean: np.ndarray, plain: np.ndarray, full: np.ndarray) -> list[float]:
    """:func:`blend_error` at each :data:`GRID` strength."""
    return [blend_error(clean, plain, full, float(s)) for s in GRID]


def measure(files, folder, modes, qualities, model, weights, threads) -> list[dict]:
    """One row per (image, mode, quality): ``image`` (its path under ``folder``), ``step``
    (mean luma quantizer step) and ``mse``, the squared error at each :data:`GRID` strength
    (``mse[0]``: the plain decode)."""
    rows = []
    for path in files:
        t0 = time.perf_counter()
        with Image.open(path) as im:
            clean = np.asarray(im.convert("RGB"))
        for mode in modes:
            for quality in qualities:
                data = encode(clean, mode, quality)
                luma, plain, full = plain_and_full(data, model, threads, weights)
                rows.append(
                    {
                        "image": path.relative_to(folder).as_posix(),
                        "mode": mode,
                        "quality": quality,
                        "step": float(np.mean(luma)),
                        "mse": squared_errors(clean, plain, full),
                    }
                )
        print(f"{path.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def exact_errors(
    rows: list[dict], share: np.ndarray, folder: Path, model, weights, threads
) -> dict[int, float]:
    """The squared error of each row whose ``share`` lies between :data:`GRID` points,
    measured again at that share (the file coded and enhanced anew, as the decoder blends
    and rounds), so that the chosen knots' table holds no interpolated number."""
    out = {}
    todo = [
        k
        for k, s in enumerate(share)
        if not np.isclose(s * (len(GRID) - 1), round(s * (len(GRID) - 1)))
    ]
    for k in todo:
        row = rows[k]
        with Image.open(folder / row["image"]) as im:
            clean = np.asarray(im.convert("RGB"))
        data = encode(clean, row["mode"], row["quality"])
        _, plain, full = plain_and_full(data, model, threads, weights)
        out[k] = blend_error(clean, plain, full, float(share[k]))
    return out


def strengths(steps: np.ndarray, knots: tuple[float, float]) -> np.ndarray:
    """The taper's share at each step for knots ``(lo, hi)``."""
    return np.interp(steps, knots, (0.0, 1.0))


def gains(mse: np.ndarray, share: np.ndarray) -> np.ndarray:
    """PSNR gain (dB) over the plain decode of each row (``mse``: (rows, len(GRID))) at its
    share, the squared error interpolated linearly between grid strengths."""
    pos = share * (len(GRID) - 1)
    i = np.minimum(np.floor(pos).astype(int), len(GRID) - 2)
    frac = pos - i
    rows = np.arange(len(mse))
    err = mse[rows, i] * (1 - frac) + mse[rows, i + 1] * frac
    return 10 * np.log10(mse[:, 0] / np.maximum(err, 1e-12))


def cells(rows: list[dict]) -> dict[tuple[str, int], np.ndarray]:
    """Row indices per (mode, quality)."""
    out: dict[tuple[str, int], list[int]] = {}
    for k, row in enumerate(rows):
        out.setdefault((row["mode"], row["quality"]), []).append(k)
    return {key: np.array(idx) for key, idx in out.items()}


def choose(
    rows: list[dict],
    floor: float,
    least: tuple[float, float] = TAPER_STEPS,
    mean_floor: float = 0.0,
) -> tuple[tuple[float, float], float] | None:
    """The knots with the largest mean gain whose every (mode, quality) cell has a mean gain
    >= ``mean_floor`` (a cell kept whole, or not at all, is let through at any mean >= 0)
    and a worst image >= ``floor`` dB, and that mean; None if no knots qualify. Knots
    are never below ``least`` (the default fade-out, set for re-compressed sources, which
    the validation images only partly stand for): a model may fade out earlier, not later."""
    steps = np.array([r["step"] for r in rows])
    mse = np.array([r["mse"] for r in rows])
    groups = list(cells(rows).values())
    best = None
    for lo in np.arange(least[0], 60.01, 0.25):
        for width in np.arange(0.5, 30.01, 0.5):
            knots = (float(lo), float(lo + width))
            if knots[1] < least[1]:
                continue
            g = gains(mse, strengths(steps, knots))
            share = strengths(steps, knots)
            if any(
                g[idx].min() < floor or g[idx].mean() < _mean_floor(share[idx], mean_floor)
                for idx in groups
            ):
                continue
            score = float(np.mean([g[idx].mean() for idx in groups]))
            if best is None or score > best[1] + 1e-9:
                best = (knots, score)
    return best


def _mean_floor(share: np.ndarray, margin: float) -> float:
    """The least mean gain a cell may have: ``margin`` where some of its files keep a share
    between the grid's ends (interpolated, and rounding at small shares can tip an exact
    mean below 0), else 0."""
    partial = np.any((share > 0.0) & (share < 1.0))
    return margin if partial else 0.0


def table(
    rows: list[dict], knots: tuple[float, float], title: str, exact: dict[int, float] | None = None
) -> str:
    """Markdown: per mode and quality, the mean step and share, the mean gain and the worst
    image at ``knots``, and the mean and worst gain at full strength. ``exact``: squared
    errors measured at a row's share (:func:`exact_errors`), used in place of the
    interpolation."""
    steps = np.array([r["step"] for r in rows])
    mse = np.array([r["mse"] for r in rows])
    share = strengths(steps, knots)
    g = gains(mse, share)
    for k, err in (exact or {}).items():
        g[k] = 10 * np.log10(mse[k, 0] / max(err, 1e-12))
    full = gains(mse, np.ones(len(rows)))
    out = [
        f"{title}: knots ({knots[0]:g}, {knots[1]:g})",
        "",
        "| mode | quality | mean step | kept | mean gain | worst image | worst | "
        "full strength: mean | worst |",
        "|:---|---:|---:|---:|---:|---:|:---|---:|---:|",
    ]
    for (mode, quality), idx in cells(rows).items():
        w = idx[int(np.argmin(g[idx]))]
        out.append(
            f"| {mode} | {quality} | {steps[idx].mean():.2f} | {share[idx].mean():.2f} "
            f"| {g[idx].mean():+.3f} | {g[w]:+.3f} | {rows[w]['image']} "
            f"| {full[idx].mean():+.3f} | {full[idx].min():+.3f} |"
        )
    return "\n".join(out)


def worst_file(
    rows: list[dict], knots: tuple[float, float], exact: dict[int, float]
) -> dict | None:
    """The file that lost most at the default knots and loses less at ``knots``: its image,
    mode and quality and its gain (dB) at both (the quality-floor test decodes it again)."""
    steps = np.array([r["step"] for r in rows])
    mse = np.array([r["mse"] for r in rows])
    before = gains(mse, strengths(steps, TAPER_STEPS))
    after = gains(mse, strengths(steps, knots))
    for k, err in exact.items():
        after[k] = 10 * np.log10(mse[k, 0] / max(err, 1e-12))
    k = int(np.argmin(before))
    if after[k] <= before[k]:
        return None
    row = rows[k]
    return {
        "image": row["image"],
        "mode": row["mode"],
        "quality": row["quality"],
        "gain_db": round(float(after[k]), 3),
        "gain_db_at_default_knots": round(float(before[k]), 3),
    }


def shard_files(files: list[Path], shard: str) -> list[Path]:
    """The files of shard ``"i/n"`` (0 <= i < n): every n-th file from the i-th."""
    try:
        index, count = (int(part) for part in shard.split("/"))
    except ValueError:
        raise ValueError(f"--shard wants i/n, got {shard!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard {shard}: want 0 <= i < n")
    return files[index::count]


def merge_saved(saved: list[dict]) -> dict:
    """One measurement from the JSON bodies of several shards of it: the rows of all, in
    order, under the first's network, model, weights and data. Raises ValueError if the
    shards measured different networks or data, or one (image, mode, quality) twice."""
    first = saved[0]
    for body in saved[1:]:
        for key in ("network", "model", "weights", "data", "every"):
            if body.get(key) != first.get(key):
                raise ValueError(f"shards differ in {key}: {first.get(key)!r} vs {body.get(key)!r}")
    rows = [row for body in saved for row in body["rows"]]
    seen = set()
    for row in rows:
        key = (row["image"], row["mode"], row["quality"])
        if key in seen:
            raise ValueError(f"{key} measured twice")
        seen.add(key)
    return {**first, "rows": rows}


def qualities_flag(qualities: list[int], default: tuple[int, ...] = QUALITIES) -> str:
    """`` --qualities ...`` for a recorded command when ``qualities`` (sorted) are not the
    script's ``default``, else ``""``."""
    return "" if tuple(qualities) == default else f" --qualities {','.join(map(str, qualities))}"


def data_flags(folder: str, every: int, default: str = DEFAULT_DATA) -> str:
    """`` --data ... --every ...`` for a recorded command where they are not the defaults."""
    flags = "" if folder == default else f" --data {folder}"
    return flags + ("" if every == 1 else f" --every {every}")


def write_entry(
    model: str,
    inference: dict,
    metrics_key: str,
    metrics: dict,
    directory: Path = ROOT / "weights",
) -> list[Path]:
    """Merge ``inference`` into ``model``'s inference settings in ``directory``'s
    manifest.json and, where the model has an ONNX export, onnx.json (which repeats them),
    and record ``metrics`` as its ``metrics[metrics_key]`` in manifest.json. Returns the
    files written."""
    written = []
    for name in ("manifest.json", "onnx.json"):
        path = directory / name
        if not path.exists():
            continue
        body = json.loads(path.read_text())
        entries = [e for e in body["models"] if e["id"] == model]
        for entry in entries:
            entry["inference"] = {**entry.get("inference", {}), **inference}
            if name == "manifest.json":
                entry["metrics"] = {**entry.get("metrics", {}), metrics_key: metrics}
        if entries:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(body, indent=2) + "\n")
            os.replace(tmp, path)
            written.append(path)
    return written


def write_knots(
    model: str, knots: tuple[float, float], metrics: dict, directory: Path = ROOT / "weights"
) -> list[Path]:
    """Record ``knots`` as ``model``'s ``inference.fade_out`` (:func:`write_entry`) and
    ``metrics`` as its ``metrics.fade_out``. Returns the files written."""
    return write_entry(model, {"fade_out": list(knots)}, "fade_out", metrics, directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="Registry id [default: the default model].")
    parser.add_argument("--weights", default=None, help="A weights file or training checkpoint.")
    parser.add_argument(
        "--data", default=DEFAULT_DATA, help="Folder of clean images (subfolders too)."
    )
    parser.add_argument("--images", type=int, default=68, help="The first N images (sorted).")
    parser.add_argument(
        "--every", type=int, default=1, help="Every N-th image of the folder and its subfolders."
    )
    parser.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.1, help="Largest loss allowed (dB).")
    parser.add_argument("--margin", type=float, default=0.02, help="Kept below the tolerance (dB).")
    parser.add_argument(
        "--mean-margin",
        type=float,
        default=0.005,
        help="Least mean gain (dB) of a cell with files between grid strengths.",
    )
    parser.add_argument("--json", type=Path, help="Write the measured rows here.")
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="Choose from rows measured before (several files: shards, merged).",
    )
    parser.add_argument(
        "--shard",
        default=None,
        help="i/n: measure every n-th image from the i-th, write --json and stop.",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="Record the chosen knots (and what they were chosen from) in the model's "
        "weights/manifest.json entry and its onnx.json entry.",
    )
    args = parser.parse_args()

    if args.from_json:
        try:
            saved = merge_saved([json.loads(path.read_text()) for path in args.from_json])
        except ValueError as err:
            parser.error(str(err))
        rows, label, folder = saved["rows"], saved["network"], saved["data"]
        args.every = saved.get("every", 1)
        args.model = args.model or saved.get("model")
        args.weights = args.weights or saved.get("weights")
    else:
        folder = args.data
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in SUFFIXES)[
            :: args.every
        ][: args.images]
        if not files:
            parser.error(f"no images in {folder}")
        if args.shard:
            if not args.json:
                parser.error("--shard needs --json (the shard's rows are merged later)")
            try:
                files = shard_files(files, args.shard)
            except ValueError as err:
                parser.error(str(err))
        modes = [m for m in args.modes.split(",") if m]
        qualities = [int(q) for q in args.qualities.split(",")]
        t0 = time.perf_counter()
        rows = measure(
            files, Path(folder), modes, qualities, args.model, args.weights, args.threads
        )
        label = args.weights or args.model or "default model"
        print(f"measured in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.json.with_suffix(".tmp")
            tmp.write_text(
                json.dumps(
                    {
                        "network": label,
                        "model": args.model,
                        "weights": args.weights,
                        "data": folder,
                        "every": args.every,
                        "rows": rows,
                    }
                )
            )
            os.replace(tmp, args.json)
        if args.shard:
            print(f"shard {args.shard}: {len(rows)} rows in {args.json}", file=sys.stderr)
            return
    floor = -(args.tolerance - args.margin)
    current = TAPER_STEPS if args.weights else fade_out_steps(args.model)
    now = f"{label}, its knots now (interpolated between grid strengths)"
    print(table(rows, current, now) + "\n")
    chosen = choose(rows, floor, mean_floor=args.mean_margin)
    if chosen is None:
        print(f"no knots keep every image above {floor:+.2f} dB")
        return
    knots, score = chosen
    steps = np.array([r["step"] for r in rows])
    exact = exact_errors(
        rows, strengths(steps, knots), Path(folder), args.model, args.weights, args.threads
    )
    title = (
        f"{label}, chosen (mean gain {score:+.3f} dB interpolated; {len(exact)} files between "
        "grid strengths measured again at their share)"
    )
    print(table(rows, knots, title, exact))
    if args.write:
        if not args.model or args.weights:
            parser.error("--write needs a registry --model")
        images = sorted({r["image"] for r in rows})
        qualities = sorted({r["quality"] for r in rows})
        metrics = {
            "knots": list(knots),
            "data": f"{folder}: {len(images)} images",
            "modes": sorted({r["mode"] for r in rows}),
            "qualities": qualities,
            "floor_db": floor,
            "worst": worst_file(rows, knots, exact),
            "command": "python scripts/fit_fade_out.py --model "
            f"{args.model}{data_flags(folder, args.every)} --images {len(images)}"
            f"{qualities_flag(qualities)} --write",
        }
        for path in write_knots(args.model, knots, metrics):
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
