"""Rate-control benchmark: hit rate and speed of size targets, and the mode choice.

For the first N validation images and each size target, encodes with and without
``allow_downscale`` and prints, per target: how often the file lands in
[(1 - tolerance) * target, target], whether any exceeded it, the mean PSNR of the decode
(full resolution only vs with the mode choice), how often a downscaled mode won, and the
time per encode. Then times a 0.4 MP image (a 2x2 mosaic of validation images, cropped).

    python scripts/bench_ratecontrol.py [--data ../shared/data/val] [--count 10] [--best]
        [--no-mode-choice]   (all 68 images, size targets only: --count 68 --no-mode-choice)
"""

from __future__ import annotations

import argparse
import glob
import os
import time

import numpy as np
from PIL import Image

import hybrid


def mosaic(paths: list[str], width: int = 775, height: int = 516) -> np.ndarray:
    tiles = [np.asarray(Image.open(p).convert("RGB").resize((481, 321))) for p in paths[:4]]
    grid = np.concatenate([np.concatenate(tiles[:2], 1), np.concatenate(tiles[2:4], 1)], 0)
    return np.ascontiguousarray(grid[:height, :width])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "val")
    parser.add_argument("--data", default=default)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--targets", default="10000,25000,50000", help="bytes, comma-separated")
    parser.add_argument("--tolerance", type=float, default=0.03)
    parser.add_argument("--best", action="store_true", help="encode with best=True")
    parser.add_argument(
        "--no-mode-choice",
        action="store_true",
        help="full resolution only (no decoder in the loop: fast)",
    )
    args = parser.parse_args()
    paths = sorted(glob.glob(os.path.join(args.data, "*.png")))[: args.count]
    images = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    hits = total = 0
    for target in (int(t) for t in args.targets.split(",")):
        row: dict[str, list[float]] = {}
        for pixels in images:
            for allow in (False,) if args.no_mode_choice else (False, True):
                data, result = hybrid.encode_to_target(
                    pixels, target_size=target, allow_downscale=allow, best=args.best
                )
                assert len(data) == result.bytes <= target, (len(data), target)
                key = "mode choice" if allow else "full res"
                row.setdefault(key + " psnr", []).append(result.value)
                row.setdefault(key + " s", []).append(result.seconds)
                if allow:
                    row.setdefault("downscaled", []).append(result.scale > 1.0)
                else:
                    hit = (1 - args.tolerance) * target <= len(data) <= target
                    row.setdefault("hit", []).append(hit)
                    row.setdefault("fill", []).append(len(data) / target)
                    hits += hit
                    total += 1
        line = (
            f"target {target} B: full-res hit {sum(row['hit'])}/{len(row['hit'])}, "
            f"fill min {min(row['fill']):.3f} mean {np.mean(row['fill']):.3f}, "
            f"time {np.mean(row['full res s']):.2f} s"
        )
        if not args.no_mode_choice:
            line += (
                f"; PSNR full res {np.mean(row['full res psnr']):.2f} dB, "
                f"mode choice {np.mean(row['mode choice psnr']):.2f} dB "
                f"(downscaled chosen {sum(row['downscaled'])}/{len(row['downscaled'])}), "
                f"{np.mean(row['mode choice s']):.2f} s"
            )
        print(line, flush=True)
    print(f"hit rate within {args.tolerance:.0%} below: {hits}/{total}")
    big = mosaic(sorted(glob.glob(os.path.join(args.data, "*.png"))))
    print(f"0.4 MP mosaic {big.shape[1]}x{big.shape[0]}:")
    for target in ("20KB", "60KB", "150KB"):
        start = time.perf_counter()
        _, result = hybrid.encode_to_target(big, target_size=target, best=args.best)
        print(f"  {target}: {time.perf_counter() - start:.2f} s; {result.line()}")


if __name__ == "__main__":
    main()
