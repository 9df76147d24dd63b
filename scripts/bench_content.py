#!/usr/bin/env python3
"""Content-aware enhancement on screenshots and photos (issue 18): gains per model and class.

Every clean image is coded by libjpeg-turbo (Pillow, 4:2:0, optimize=True) at each quality,
then decoded plain, enhanced by the photo model and by the screen model; ``auto`` is the one
of those two that the content classifier picks for that file (so it costs no extra decode,
and its accuracy is counted). Per set and quality the Markdown tables give the mean plain
PSNR-RGB and MS-SSIM, the mean gain of each model and the worst single image's gain, and,
on the first ``--butteraugli-images`` images of each set, the mean butteraugli distance
(Debian's ``butteraugli``; lower is better).

Example (the BENCHMARKS.md numbers):
    python scripts/bench_content.py --screens build/screens/val --photos ../shared/data/val \
        --screen-model enhance-screen-v1 --out runs/bench_content.md
    python scripts/bench_content.py --screen-weights runs/screen-ft/last.pt --limit 12
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import hybrid
from hybrid.bench.codecs import get_codec
from hybrid.enhance.content import classify_content
from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL
from hybrid.metrics import ms_ssim, psnr

QUALITIES = (20, 30, 50, 75)
VARIANTS = ("plain", "photo", "screen", "auto")
#: The files measured: libjpeg-turbo 4:2:0 with optimized Huffman, as the bench's anchor.
REFERENCE = get_codec("libjpeg-turbo-420")


def decode(data: bytes, **options: object) -> np.ndarray:
    """uint8 (H, W, 3) as ``hybrid.decode`` writes it (the enhanced output rounded)."""
    return np.asarray(hybrid.decode(data, **options))


def butteraugli(ref: np.ndarray, test: np.ndarray, tool: str) -> float:
    """Butteraugli distance of two uint8 RGB images (the tool reads PNG files)."""
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.png", Path(tmp) / "b.png"
        Image.fromarray(ref).save(a)
        Image.fromarray(test).save(b)
        out = subprocess.run([tool, str(a), str(b)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def image_sets(args: argparse.Namespace) -> dict[str, list[Path]]:
    """{set name: sorted files}: the screenshot val set by source, mixed pages, photos."""
    sets: dict[str, list[Path]] = {}
    if args.screens:
        for sub in ("generated", "docs", "charts", "mixed"):
            files = sorted((args.screens / sub).glob("*.png"))
            if files:
                # Spread a --limit over the set rather than taking one layout's pages.
                step = max(1, len(files) // args.limit) if args.limit else 1
                sets[f"screens/{sub}"] = files[::step][: args.limit or None]
    if args.photos:
        files = sorted(args.photos.glob("*.png"))
        sets["photos"] = files[: args.photo_limit or None]
    return sets


def measure(files: list[Path], args: argparse.Namespace, tool: str | None) -> dict:
    """{quality: {variant: {"psnr": [...], "msssim": [...], "ba": [...]}, "screen_share": [...]}}"""
    out: dict = {}
    for n, path in enumerate(files):
        with Image.open(path) as im:
            clean = np.asarray(im.convert("RGB"))
        for q in args.qualities:
            data = REFERENCE.encode(clean, q)
            t0 = time.perf_counter()
            guess = classify_content(load_planes(data))
            t_classify = time.perf_counter() - t0
            decoded = {"plain": decode(data)}
            decoded["photo"] = decode(data, enhance=True, model=args.photo_model)
            decoded["screen"] = decode(
                data,
                enhance=True,
                model=None if args.screen_weights else args.screen_model,
                weights=args.screen_weights,
            )
            decoded["auto"] = decoded["screen" if guess.label == "screen" else "photo"]
            cell = out.setdefault(q, {"screen_share": [], "classify_s": []})
            cell["screen_share"].append(guess.label == "screen")
            cell["classify_s"].append(t_classify)
            for variant, pixels in decoded.items():
                row = cell.setdefault(variant, {"psnr": [], "msssim": [], "ba": []})
                row["psnr"].append(psnr(pixels, clean))
                row["msssim"].append(ms_ssim(pixels, clean))
                if tool and n < args.butteraugli_images:
                    row["ba"].append(butteraugli(clean, pixels, tool))
        print(f"\r  {n + 1}/{len(files)} {path.name}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return out


def table(name: str, results: dict) -> list[str]:
    """Markdown tables for one set."""
    n = len(next(iter(results.values()))["plain"]["psnr"])
    lines = [f"### {name} ({n} images)", ""]
    lines += [
        "| q | plain PSNR | photo gain | screen gain | auto gain | screen worst | "
        "auto worst | classified screen |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for q, cell in results.items():
        plain = np.array(cell["plain"]["psnr"])
        gains = {v: np.array(cell[v]["psnr"]) - plain for v in ("photo", "screen", "auto")}
        lines.append(
            f"| {q} | {plain.mean():.2f} | {gains['photo'].mean():+.3f} | "
            f"{gains['screen'].mean():+.3f} | {gains['auto'].mean():+.3f} | "
            f"{gains['screen'].min():+.2f} | {gains['auto'].min():+.2f} | "
            f"{np.mean(cell['screen_share']):.1%} |"
        )
    lines += ["", "| q | MS-SSIM plain | photo | screen | auto |", "|---|---|---|---|---|"]
    for q, cell in results.items():
        lines.append(
            f"| {q} | " + " | ".join(f"{np.mean(cell[v]['msssim']):.4f}" for v in VARIANTS) + " |"
        )
    if any(cell["plain"]["ba"] for cell in results.values()):
        k = len(next(iter(results.values()))["plain"]["ba"])
        lines += [
            "",
            f"| q | butteraugli plain ({k} images) | photo | screen | auto |",
            "|---|---|---|---|---|",
        ]
        for q, cell in results.items():
            lines.append(
                f"| {q} | " + " | ".join(f"{np.mean(cell[v]['ba']):.3f}" for v in VARIANTS) + " |"
            )
    ms = 1000 * np.mean([t for cell in results.values() for t in cell["classify_s"]])
    lines += ["", f"Classifier: {ms:.1f} ms per file on average.", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--screens", type=Path, default=Path("build/screens/val"))
    ap.add_argument("--photos", type=Path, default=Path("../shared/data/val"))
    ap.add_argument("--photo-model", default=DEFAULT_ENHANCE_MODEL)
    ap.add_argument("--screen-model", default="enhance-screen-v1")
    ap.add_argument("--screen-weights", help="a checkpoint or weights file instead")
    ap.add_argument("--qualities", type=int, nargs="+", default=list(QUALITIES))
    ap.add_argument("--limit", type=int, default=0, help="images per screen set (0: all)")
    ap.add_argument("--photo-limit", type=int, default=0, help="photos (0: all)")
    ap.add_argument("--butteraugli-images", type=int, default=8)
    ap.add_argument("--out", type=Path, help="also write the tables here")
    args = ap.parse_args(argv)
    tool = shutil.which("butteraugli")
    if tool is None:
        print("bench_content: note: no butteraugli (apt-get install butteraugli)", file=sys.stderr)
    lines = [
        "Command: `python scripts/bench_content.py " + " ".join(argv or sys.argv[1:]) + "`",
        "",
    ]
    for name, files in image_sets(args).items():
        if not files:
            continue
        print(name, file=sys.stderr)
        lines += table(name, measure(files, args, tool))
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
