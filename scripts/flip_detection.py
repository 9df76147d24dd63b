#!/usr/bin/env python3
"""How many random single-bit flips in entropy-coded data a decode notices.

For hybrid's own files (CRC-32 of the coded image in the APP11 record) and for Pillow's
(libjpeg-turbo) files of the same image and settings, flip one random bit after the first
SOS header, then classify what ``hybrid.decode`` does: ``refused`` (CorruptJPEGError),
``flagged`` (decoded with ``image.info["hybrid_damage"]``), ``silent`` with the original
pixels (a flip in padding bits) or ``silent`` with other pixels (undetected damage).

Usage: python scripts/flip_detection.py [--flips 200] [--seed 0]   (figures in docs/robustness.md)
"""

from __future__ import annotations

import argparse
import io
import json
import warnings
from collections import Counter

import numpy as np
from PIL import Image
from skimage import data as skdata

import hybrid
from hybrid.errors import CorruptJPEGError

CONFIGS = {
    "baseline q75 4:2:0": ({"quality": 75}, {"quality": 75}),
    "progressive q75 4:2:0": (
        {"quality": 75, "progressive": True},
        {"quality": 75, "progressive": True},
    ),
    "baseline q30 4:4:4": (
        {"quality": 30, "subsampling": "4:4:4"},
        {"quality": 30, "subsampling": 0},
    ),
}


def pillow_jpeg(pixels: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


def classify(data: bytes, reference: np.ndarray) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = hybrid.decode(data)
    except CorruptJPEGError:
        return "refused"
    if image.info.get("hybrid_damage"):
        return "flagged"
    same = np.array_equal(np.asarray(image), reference)
    return "silent, same pixels" if same else "silent, damaged"


def flips(data: bytes, count: int, rng: np.random.Generator) -> list[bytes]:
    start = data.find(b"\xff\xda")
    start += 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    out = []
    for _ in range(count):
        buffer = bytearray(data)
        buffer[int(rng.integers(start, len(data) - 2))] ^= 1 << int(rng.integers(8))
        out.append(bytes(buffer))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--flips", type=int, default=200, help="flips per file (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    pixels = skdata.astronaut()
    totals: dict[str, Counter] = {"hybrid": Counter(), "pillow": Counter()}
    for name, (ours, theirs) in CONFIGS.items():
        for encoder, data in (
            ("hybrid", hybrid.encode(pixels, **ours)),
            ("pillow", pillow_jpeg(pixels, **theirs)),
        ):
            reference = np.asarray(hybrid.decode(data))
            rng = np.random.default_rng(args.seed)
            counts = Counter(classify(d, reference) for d in flips(data, args.flips, rng))
            totals[encoder].update(counts)
            print(json.dumps({"file": f"{encoder} {name}", **counts}))
    for encoder, counts in totals.items():
        n = sum(counts.values())
        caught = counts["refused"] + counts["flagged"]
        print(
            f"{encoder}: {caught}/{n} flips refused or flagged ({100 * caught / n:.1f} %), "
            f"{counts['silent, damaged']} undetected with changed pixels, "
            f"{counts['silent, same pixels']} harmless (padding bits)"
        )


if __name__ == "__main__":
    main()
