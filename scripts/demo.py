#!/usr/bin/env python3
"""The README's main job: encode a sample photo to a standard JPEG, decode it plain and enhanced.

Uses scikit-image's bundled astronaut photo (512x512, public domain, NASA), so it needs no
download. Writes out/astronaut.jpg, out/astronaut_plain.png and out/astronaut_enhanced.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from skimage import data

import hybrid
from hybrid.metrics import psnr


def main() -> int:
    out = Path("out")
    out.mkdir(exist_ok=True)
    original = data.astronaut()
    jpeg_path = out / "astronaut.jpg"
    hybrid.encode(original, jpeg_path, quality=30, force=True)
    size = jpeg_path.stat().st_size
    bpp = size * 8 / (original.shape[0] * original.shape[1])
    plain = hybrid.decode(jpeg_path)
    plain.save(out / "astronaut_plain.png")
    print(
        f"encoded {original.shape[1]}x{original.shape[0]} at quality 30: "
        f"{size} bytes ({bpp:.3f} bpp)"
    )
    print(f"plain decode    PSNR {psnr(np.asarray(plain), original):6.2f} dB")
    try:
        enhanced = hybrid.decode(jpeg_path, enhance=True)
    except hybrid.errors.HybridError as exc:
        print(f"enhanced decode unavailable: {exc}", file=sys.stderr)
        return 1
    enhanced.save(out / "astronaut_enhanced.png")
    print(f"enhanced decode PSNR {psnr(np.asarray(enhanced), original):6.2f} dB")
    print(f"files in {out}/: astronaut.jpg, astronaut_plain.png, astronaut_enhanced.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
