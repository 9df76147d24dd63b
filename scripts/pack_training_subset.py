"""Pack a size-capped copy of a training folder, to carry to a lent GPU machine.

The device tool carries at most 64 MiB with the working tree, and ../shared/data/train is
about 140 MB of lossless WebP. This writes, for every image, either the whole image (when it
is small) or crops of it -- never resampled, so pixel statistics are those of the source --
as lossless WebP, shrinking the crops until the folder fits ``--budget-mb``.

    python scripts/pack_training_subset.py --data ../shared/data/train --out gpudata/train
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from training.data import list_images


def crops_of(img: np.ndarray, max_area: int) -> list[np.ndarray]:
    """The whole image if its area is at most ``2 * max_area``, else two square crops of
    ``max_area`` pixels centred at 1/4 and 3/4 of the image's diagonal."""
    h, w = img.shape[:2]
    if h * w <= 2 * max_area:
        return [img]
    side = min(h, w, int(max_area**0.5))
    out = []
    for frac in (0.25, 0.75):
        cy = min(max(int(h * frac), side // 2), h - (side - side // 2))
        cx = min(max(int(w * frac), side // 2), w - (side - side // 2))
        out.append(
            img[cy - side // 2 : cy - side // 2 + side, cx - side // 2 : cx - side // 2 + side]
        )
    return out


def pack(data: Path, out: Path, max_area: int) -> int:
    """Write the crops of every image under ``data`` into ``out``; returns total bytes."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    total = 0
    for f in list_images(data):
        with Image.open(f) as im:
            img = np.asarray(im.convert("RGB"))
        for i, crop in enumerate(crops_of(img, max_area)):
            dst = out / f"{f.stem}_{i}.webp"
            Image.fromarray(np.ascontiguousarray(crop)).save(dst, "WEBP", lossless=True, method=6)
            total += dst.stat().st_size
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/train", type=Path)
    ap.add_argument("--out", default="gpudata/train", type=Path)
    ap.add_argument("--budget-mb", type=float, default=46.0)
    args = ap.parse_args()
    side = 448
    while True:
        total = pack(args.data, args.out, side * side)
        print(f"crop side {side}: {total / 1e6:.1f} MB")
        if total <= args.budget_mb * 1e6 or side <= 160:
            break
        side -= 32


if __name__ == "__main__":
    main()
