#!/usr/bin/env python3
"""Super-resolved decode of downscaled files by backend: torch vs the SR network's ONNX export
(fp32, int8) in ONNX Runtime.

1. Agreement (one process): the first --images val images, each encoded by
   ``hybrid.encode(scale=S, quality=Q)`` for every ``--settings`` S:Q (the file names the SR
   model for S: sr-fast-v1 for x2, sr-fast-x1.5-v1 for x1.5) and decoded to the original size
   by torch (precision fp32), onnx and onnx-int8: max and mean |onnx - torch| over the float
   outputs, and the mean PSNR-RGB of the 8-bit outputs against the original per backend (the
   plain decode upscaled by bicubic for reference).
2. Speed (a child process per backend, so each is measured alone and the onnx ones never
   import torch): median of --repeat SR decodes (after one warm-up) of a downscaled file of
   the first val image resized to each --sizes (the output size; MP/s counts output pixels),
   --threads threads; torch at fp32 and at ``auto`` precision (bf16 where the CPU has it).

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_onnx_sr.py --data ../shared/data --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

BACKENDS = ("torch", "onnx", "onnx-int8")

CHILD = r"""
import json, statistics, sys, time
args = json.loads(sys.argv[1])
import numpy as np
from PIL import Image
import hybrid
src = np.asarray(Image.open(args["image"]).convert("RGB"))
speed = {}
for w, h in args["sizes"]:
    img = np.asarray(Image.fromarray(src).resize((w, h), Image.LANCZOS))
    data = hybrid.encode(img, scale=args["scale"], quality=args["quality"])
    def run():
        return hybrid.decode_array(data, enhance=True, backend=args["backend"],
                                   precision=args["precision"], threads=args["threads"])
    assert run().shape[:2] == (h, w)
    times = []
    for _ in range(args["repeat"]):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    speed[f"{w}x{h}"] = w * h / 1e6 / statistics.median(times)
print(json.dumps({"mp_s": speed, "torch_loaded": "torch" in sys.modules}))
"""


def agreement(images: list[Path], scale: float, quality: int) -> dict[str, float]:
    """Mean PSNR per backend and the largest / mean |onnx - torch| for one setting."""
    import hybrid
    from hybrid.metrics import psnr

    scores: dict[str, list[float]] = {b: [] for b in (*BACKENDS, "bicubic")}
    diffs: dict[str, list[float]] = {"fp32_max": [], "fp32_mean": [], "int8_max": [],
                                     "int8_mean": []}  # fmt: skip
    for path in images:
        img = np.asarray(Image.open(path).convert("RGB"))
        ref = img / 255.0
        data = hybrid.encode(img, scale=scale, quality=quality)
        out = {
            b: hybrid.decode_array(data, enhance=True, backend=b, precision="fp32")
            for b in BACKENDS
        }
        out["bicubic"] = hybrid.decode_array(data, enhance=False, upscale=True)
        for b, arr in out.items():
            scores[b].append(psnr(ref, np.round(arr * 255.0) / 255.0, peak=1.0))
        for name, b in (("fp32", "onnx"), ("int8", "onnx-int8")):
            d = np.abs(out[b] - out["torch"])
            diffs[f"{name}_max"].append(float(d.max()))
            diffs[f"{name}_mean"].append(float(d.mean()))
    row = {f"psnr_{b}": float(np.mean(v)) for b, v in scores.items()}
    row["fp32_db_worst"] = float(
        np.max(np.abs(np.array(scores["onnx"]) - np.array(scores["torch"])))
    )
    row["int8_db_worst"] = float(np.min(np.array(scores["onnx-int8"]) - scores["torch"]))
    for key, values in diffs.items():
        row[key] = float(np.max(values) if key.endswith("max") else np.mean(values))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--settings", nargs="+", default=["2:30", "1.5:20"], help="SCALE:QUALITY")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", nargs="+", default=["774x516", "1548x1032"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    opts = ap.parse_args()
    images = sorted((opts.data / "val").glob("*.png"))[: opts.images]
    if not images:
        sys.exit(f"no val images in {opts.data / 'val'}")
    print(f"load average before: {os.getloadavg()}", flush=True)
    results: dict[str, object] = {"agreement": {}, "speed": []}
    for setting in opts.settings:
        scale, quality = float(setting.split(":")[0]), int(setting.split(":")[1])
        row = agreement(images, scale, quality)
        results["agreement"][setting] = row  # type: ignore[index]
        print(
            f"x{scale:g} q{quality}: PSNR torch {row['psnr_torch']:.4f}, onnx "
            f"{row['psnr_onnx']:.4f}, onnx-int8 {row['psnr_onnx-int8']:.4f}, bicubic "
            f"{row['psnr_bicubic']:.4f} dB; fp32 |diff| max {row['fp32_max']:.2g} mean "
            f"{row['fp32_mean']:.2g}, worst image {row['fp32_db_worst']:.2g} dB; int8 |diff| "
            f"max {row['int8_max']:.3g} mean {row['int8_mean']:.3g}, worst image "
            f"{row['int8_db_worst']:+.4f} dB",
            flush=True,
        )
    if not opts.no_speed:
        sizes = [[int(v) for v in s.split("x")] for s in opts.sizes]
        scale, quality = float(opts.settings[0].split(":")[0]), int(opts.settings[0].split(":")[1])
        runs = [("torch", "fp32"), ("torch", "auto"), ("onnx", "fp32"), ("onnx-int8", "fp32")]
        for backend, precision in runs:
            arg = {"backend": backend, "precision": precision, "threads": opts.threads,
                   "image": str(images[0]), "sizes": sizes, "scale": scale,
                   "quality": quality, "repeat": opts.repeat}  # fmt: skip
            out = subprocess.run(
                [sys.executable, "-W", "ignore", "-c", CHILD, json.dumps(arg)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row.update(backend=backend, precision=precision)
            results["speed"].append(row)  # type: ignore[attr-defined]
            speeds = ", ".join(f"{k} {v:.3f} MP/s" for k, v in row["mp_s"].items())
            print(
                f"{backend:10s} {precision:5s} {speeds}, torch loaded: {row['torch_loaded']}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}", flush=True)
    if opts.json:
        opts.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
