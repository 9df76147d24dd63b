#!/usr/bin/env python3
"""Does the enhancement network help on hybrid's own files? PSNR gain over the plain decode.

Each clean image is coded by hybrid's encoder in the modes asked for (``best``: PSNR-tuned
tables + trellis + progressive; ``best-enhance``: the same coded image as ``best`` with
``mode="enhance"``, whose record carries the strength the encoder fitted for the default
model (issue 17); ``baseline``: the default encoder; ``rdo``; ``progressive``;
``downscaled``: ``best`` at half size, ``scale=2``, whose enhanced decode is the
super-resolution model's and whose plain decode is upscaled to the original size as
``upscale=True`` gives it, bicubic; ``downscaled-x1.5``: the same at ``scale=1.5``) and, for
reference, by libjpeg-turbo (Pillow, 4:2:0, optimize=True), at each quality; then
decoded plain and enhanced (``hybrid.decode``: the enhanced output rounded to 8 bits as it
is written). For each mode a markdown table gives, per quality, the mean
bits per pixel, the mean plain-decode PSNR-RGB, the mean gain (enhanced - plain, dB) and the
worst single image's gain, the mean encode time (and, for files that record a strength,
its mean and how many files recorded 0, the plain decode); the network should never make a
file worse (issue 17). A ``--model`` other than the recorded one decodes with the
near-lossless fade-out instead of the recorded strength, as any decoder does; so does an
``--sr-model`` other than the one a downscaled file records.

Example:
    python scripts/bench_own_files.py --model enhance-fast-v3 --images 8 --out runs/bench.md
    python scripts/bench_own_files.py --weights runs/ownenc-ft/last.pt --images 8
    python scripts/bench_own_files.py --modes best,best-enhance --no-reference --images 24
    python scripts/bench_own_files.py --modes downscaled --no-reference --images 68 \
        --qualities 8,20,45,75,92,96
    python scripts/bench_own_files.py --modes downscaled-x1.5 --sr-model sr-quality-x1.5-v1 \
        --no-reference --images 68
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import hybrid
from hybrid.codec.metadata import find_metadata
from hybrid.metrics import psnr

QUALITIES = (5, 10, 20, 30, 50, 75, 85, 90, 95)
REFERENCE = "libjpeg-turbo"
#: hybrid.encode options of each of hybrid's modes.
HYBRID_MODES = {
    "best": {"best": True},
    "best-enhance": {"best": True, "mode": "enhance"},
    "baseline": {},
    "rdo": {"rdo": True},
    "progressive": {"progressive": True},
    "downscaled": {"best": True, "scale": 2},
    "downscaled-x1.5": {"best": True, "scale": 1.5},
}


def encode(img: np.ndarray, mode: str, quality: int) -> bytes:
    """uint8 (H, W, 3) image -> JPEG bytes by ``mode`` (a :data:`HYBRID_MODES` key or
    :data:`REFERENCE`), 4:2:0."""
    if mode == REFERENCE:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=2, optimize=True)
        return buf.getvalue()
    return hybrid.encode(img, quality=quality, subsampling="4:2:0", **HYBRID_MODES[mode])


def measure(files, modes, qualities, model, weights, threads, precision, sr_model=None) -> dict:
    """{mode: {quality: {"bpp", "plain", "gains": [(gain, image name), ...], "strengths",
    "encode_s"}}}"""
    results: dict = {}
    for f in files:
        with Image.open(f) as im:
            clean = np.asarray(im.convert("RGB"))
        t0 = time.perf_counter()
        for mode in modes:
            for q in qualities:
                start = time.perf_counter()
                data = encode(clean, mode, q)
                encode_s = time.perf_counter() - start
                # a downscaled file's plain decode is its small coded image: compare at full
                # size, upscaled as hybrid.decode(upscale=True) does
                small = mode.startswith("downscaled")
                plain = np.asarray(hybrid.decode(data, upscale=small or None))
                enhanced = np.asarray(
                    hybrid.decode(
                        data,
                        enhance=True,
                        model=model,
                        weights=weights,
                        threads=threads,
                        precision=precision,
                        sr_model=sr_model if small else None,
                    )
                )
                base = psnr(plain, clean)
                cell = results.setdefault(mode, {}).setdefault(
                    q, {"bpp": [], "plain": [], "gains": [], "strengths": [], "encode_s": []}
                )
                meta = find_metadata(data)
                if meta is not None and meta.strength is not None:
                    cell["strengths"].append(meta.strength)
                cell["encode_s"].append(encode_s)
                cell["bpp"].append(len(data) * 8 / (clean.shape[0] * clean.shape[1]))
                cell["plain"].append(base)
                cell["gains"].append((psnr(enhanced, clean) - base, f.name))
        print(f"{f.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return results


def markdown(results: dict, header: str) -> str:
    lines = [header, ""]
    for mode, by_quality in results.items():
        recorded = any(cell["strengths"] for cell in by_quality.values())
        extra = " mean strength | strength 0 |" if recorded else ""
        lines += [
            f"### {mode}",
            "",
            "| quality | bpp | plain PSNR (dB) | mean gain (dB) | worst image gain (dB) "
            f"| worst image | encode (s) |{extra}",
            "|---:|---:|---:|---:|---:|:---|---:|" + ("---:|---:|" if recorded else ""),
        ]
        for q, cell in by_quality.items():
            gains = [g for g, _ in cell["gains"]]
            worst, name = min(cell["gains"])
            row = (
                f"| {q} | {np.mean(cell['bpp']):.3f} | {np.mean(cell['plain']):.2f} | "
                f"{np.mean(gains):+.3f} | {worst:+.3f} | {name} | {np.mean(cell['encode_s']):.2f} |"
            )
            if recorded:
                strengths = cell["strengths"]
                zero = sum(s == 0.0 for s in strengths)
                row += f" {np.mean(strengths):.3f} | {zero} of {len(strengths)} |"
            lines.append(row)
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Registry id [default: the default model].")
    parser.add_argument(
        "--weights", default=None, help="A weights file or training checkpoint (overrides --model)."
    )
    parser.add_argument("--data", default="../shared/data/val", help="Folder of clean images.")
    parser.add_argument("--images", type=int, default=8, help="The first N images (sorted).")
    parser.add_argument(
        "--modes",
        default="best,baseline",
        help=f"Comma-separated hybrid modes ({', '.join(HYBRID_MODES)}); "
        f"{REFERENCE} is added for reference.",
    )
    parser.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    parser.add_argument(
        "--sr-model",
        default=None,
        help="Super-resolution model for the downscaled modes [default: the file's].",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="auto", help="auto, fp32 or bf16.")
    parser.add_argument("--out", default=None, help="Also write the tables to this markdown file.")
    parser.add_argument(
        "--no-reference", action="store_true", help=f"Leave out the {REFERENCE} reference files."
    )
    args = parser.parse_args()

    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in HYBRID_MODES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(HYBRID_MODES)}")
    qualities = [int(q) for q in args.qualities.split(",")]
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}
    files = sorted(p for p in Path(args.data).iterdir() if p.suffix.lower() in suffixes)[
        : args.images
    ]
    if not files:
        parser.error(f"no images in {args.data}")
    t0 = time.perf_counter()
    results = measure(
        files,
        modes + ([] if args.no_reference else [REFERENCE]),
        qualities,
        args.model,
        args.weights,
        args.threads,
        args.precision,
        args.sr_model,
    )
    network = f"weights `{args.weights}`" if args.weights else f"model `{args.model or 'default'}`"
    if any(m.startswith("downscaled") for m in modes):
        sr_label = f"`{args.sr_model}`" if args.sr_model else "the file's"
        network += f", super-resolution {sr_label}"
    header = (
        f"## Enhanced - plain decode, PSNR-RGB (dB): {network}, {len(files)} images of "
        f"`{args.data}`, 4:2:0, precision {args.precision}, {args.threads} threads "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    text = markdown(results, header)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out)


if __name__ == "__main__":
    main()
