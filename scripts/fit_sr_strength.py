#!/usr/bin/env python3
"""A super-resolution model's own share for files that record none for it (issue 17): the
part of its change over the bicubic upscale that keeps it never worse than that upscale.

A downscaled file records the strength its encoder fitted for the model it names
(:mod:`hybrid.pipeline.upscale`). Decoded by another model (the caller's ``sr_model``, or a
stand-in for a model that is not installed), or an ordinary JPEG upscaled with ``scale``, the
file carries nothing for the model that runs; such a decode keeps the model's
``inference.strength`` of its change, or all of it when the manifest gives none. A network
that overshoots (sr-fast-v1 at full strength left a few val images 0.3 dB below the bicubic
upscale) needs a share below 1 there.

For every clean image (the first ``--images`` of ``--data``) and quality, hybrid's ``best``
encoder codes it downscaled by the model's trained scale (``--scale``), as the downscaled
mode of ``scripts/bench_own_files.py`` does; the file is upscaled to the original size
plainly (bicubic, :func:`hybrid.pipeline.upscale.bicubic_base`) and by the network at full
strength, and the 8-bit blend's PSNR gain over the bicubic upscale is measured at the
:data:`scripts.fit_fade_out.GRID` strengths, exactly as the decoder blends and rounds. The
share kept is the grid strength with the largest mean gain (each quality weighted alike)
such that at every quality the mean gain is >= 0 and no image loses more than
``--tolerance - --margin`` dB; every number in its table is measured, none interpolated.

Example (the commands recorded in BENCHMARKS.md):
    python scripts/fit_sr_strength.py --model sr-quality-v1 --images 68 \\
        --json runs/sr-share/sr-quality-v1.json --write
    python scripts/fit_sr_strength.py --from-json runs/sr-share/sr-quality-v1.json
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
sys.path.insert(0, str(ROOT))  # the repository root, for scripts.*

from hybrid.codec.headers import parse_info  # noqa: E402
from hybrid.enhance.registry import inference_settings, sr_default_strength  # noqa: E402
from hybrid.pipeline.requests import DecodeRequest  # noqa: E402
from hybrid.pipeline.upscale import bicubic_base, super_resolved  # noqa: E402
from scripts.bench_own_files import encode  # noqa: E402
from scripts.fit_fade_out import (  # noqa: E402
    GRID,
    SUFFIXES,
    qualities_flag,
    squared_errors,
    write_entry,
)

QUALITIES = (5, 10, 20, 30, 45, 60, 75, 85, 92, 95)
#: The downscaled mode of scripts/bench_own_files.py for each downscale.
MODE_BY_SCALE = {2.0: "downscaled", 1.5: "downscaled-x1.5"}


def trained_scale(model: str) -> float:
    """The downscale ``model`` was trained for: its ``inference.trained_scale``, else its
    ``scale``."""
    settings = inference_settings(model)
    return float(settings.get("trained_scale", settings.get("scale", 2)))


def measure(files, qualities, model: str, scale: float, threads: int) -> list[dict]:
    """One row per (image, quality): ``mse``, the squared error of the blend at each
    :data:`GRID` strength (``mse[0]``: the bicubic upscale of the plain decode)."""
    mode = MODE_BY_SCALE[scale]
    request = DecodeRequest(enhance=True, threads=threads, check_damage=False)
    rows = []
    for path in files:
        t0 = time.perf_counter()
        with Image.open(path) as im:
            clean = np.asarray(im.convert("RGB"))
        size = (clean.shape[1], clean.shape[0])
        for quality in qualities:
            data = encode(clean, mode, quality)
            header = parse_info(data)
            base = bicubic_base(data, header, size)
            full = super_resolved(data, header, request, size, model)
            rows.append(
                {
                    "image": path.name,
                    "quality": quality,
                    "mse": squared_errors(clean, base, full),
                }
            )
        print(f"{path.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def grid_gains(rows: list[dict]) -> np.ndarray:
    """(rows, len(GRID)) PSNR gain (dB) of each row's blend over its bicubic upscale."""
    mse = np.array([r["mse"] for r in rows], dtype=np.float64)
    return 10 * np.log10(mse[:, :1] / np.maximum(mse, 1e-12))


def by_quality(rows: list[dict]) -> dict[int, np.ndarray]:
    """Row indices per quality, in the order met."""
    out: dict[int, list[int]] = {}
    for k, row in enumerate(rows):
        out.setdefault(row["quality"], []).append(k)
    return {q: np.array(idx) for q, idx in out.items()}


def choose(rows: list[dict], floor: float) -> tuple[float, float]:
    """The :data:`GRID` strength with the largest mean gain (the mean over qualities of each
    quality's mean) whose every quality has a mean gain >= 0 and a worst image >= ``floor``
    dB, and that mean, the strength rounded to 6 decimals as the manifest records it (the
    grid's 0.6000000000000001 is 0.6). Strength 0 (the bicubic upscale) always qualifies."""
    gains = grid_gains(rows)
    groups = list(by_quality(rows).values())
    best = (0.0, 0.0)
    for j, share in enumerate(GRID):
        g = gains[:, j]
        if any(g[idx].min() < floor or g[idx].mean() < 0.0 for idx in groups):
            continue
        score = float(np.mean([g[idx].mean() for idx in groups]))
        if score > best[1] + 1e-9:
            best = (round(float(share), 6), score)
    return best


def table(rows: list[dict], share: float, title: str) -> str:
    """Markdown: per quality, the mean and worst gain over the bicubic upscale at ``share``
    (a :data:`GRID` strength) and at full strength."""
    gains = grid_gains(rows)
    g = gains[:, int(np.argmin(np.abs(GRID - share)))]
    full = gains[:, -1]
    out = [
        title,
        "",
        "| quality | mean gain | worst image | worst | full strength: mean | worst | worst image |",
        "|---:|---:|---:|:---|---:|---:|:---|",
    ]
    for quality, idx in by_quality(rows).items():
        w, f = idx[int(np.argmin(g[idx]))], idx[int(np.argmin(full[idx]))]
        out.append(
            f"| {quality} | {g[idx].mean():+.3f} | {g[w]:+.3f} | {rows[w]['image']} "
            f"| {full[idx].mean():+.3f} | {full[f]:+.3f} | {rows[f]['image']} |"
        )
    return "\n".join(out)


def worst_file(rows: list[dict], share: float) -> dict:
    """The file that loses most at full strength: its image and quality and its gain (dB)
    at ``share`` and at full strength (the quality-floor test decodes it again)."""
    gains = grid_gains(rows)
    g = gains[:, int(np.argmin(np.abs(GRID - share)))]
    k = int(np.argmin(gains[:, -1]))
    return {
        "image": rows[k]["image"],
        "quality": rows[k]["quality"],
        "gain_db": round(float(g[k]), 3),
        "gain_db_at_full_strength": round(float(gains[k, -1]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="A super-resolution registry id.")
    parser.add_argument("--scale", type=float, default=None, help="[default: its trained one]")
    parser.add_argument("--data", default="../shared/data/val", help="Folder of clean images.")
    parser.add_argument("--images", type=int, default=68, help="The first N images (sorted).")
    parser.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.1, help="Largest loss allowed (dB).")
    parser.add_argument("--margin", type=float, default=0.02, help="Kept below the tolerance (dB).")
    parser.add_argument("--json", type=Path, help="Write the measured rows here.")
    parser.add_argument("--from-json", type=Path, help="Choose from rows measured before.")
    parser.add_argument(
        "--write",
        action="store_true",
        help="Record the chosen share (and what it was chosen from) in the model's "
        "weights/manifest.json entry and its onnx.json entry.",
    )
    args = parser.parse_args()

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        rows, folder = saved["rows"], saved["data"]
        args.model, scale = args.model or saved["model"], saved["scale"]
    else:
        if not args.model:
            parser.error("--model is required (a super-resolution registry id)")
        if inference_settings(args.model).get("scale") is None:
            parser.error(f"{args.model} is not a super-resolution model of the registry")
        scale = args.scale or trained_scale(args.model)
        if scale not in MODE_BY_SCALE:
            parser.error(f"--scale must be one of {', '.join(map(str, MODE_BY_SCALE))}")
        folder = args.data
        files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in SUFFIXES)[
            : args.images
        ]
        if not files:
            parser.error(f"no images in {folder}")
        qualities = [int(q) for q in args.qualities.split(",")]
        t0 = time.perf_counter()
        rows = measure(files, qualities, args.model, scale, args.threads)
        print(f"measured in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.json.with_suffix(".tmp")
            body = {"model": args.model, "scale": scale, "data": folder, "rows": rows}
            tmp.write_text(json.dumps(body))
            os.replace(tmp, args.json)
    floor = -(args.tolerance - args.margin)
    now = sr_default_strength(args.model)
    now = 1.0 if now is None else now
    label = f"{args.model}, x{scale:g} files"
    print(table(rows, now, f"{label}, its share now ({now:g})") + "\n")
    share, score = choose(rows, floor)
    print(table(rows, share, f"{label}, chosen: share {share:g} (mean gain {score:+.3f} dB)"))
    if args.write:
        images = sorted({r["image"] for r in rows})
        qualities = sorted({r["quality"] for r in rows})
        metrics = {
            "share": share,
            "data": f"{folder}: {len(images)} images",
            "files": f"hybrid best, downscaled x{scale:g}, 4:2:0",
            "qualities": qualities,
            "floor_db": floor,
            "mean_gain_db": round(score, 3),
            "worst": worst_file(rows, share),
            "command": f"python scripts/fit_sr_strength.py --model {args.model} "
            f"--images {len(images)}{qualities_flag(qualities, QUALITIES)} --write",
        }
        for path in write_entry(args.model, {"strength": share}, "sr_strength", metrics):
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
