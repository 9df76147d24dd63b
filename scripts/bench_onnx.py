#!/usr/bin/env python3
"""Enhanced decode by backend: torch vs the ONNX export (fp32, int8) in ONNX Runtime.

Each backend runs in its own child process, so its numbers are its own:

* import: seconds to import what the backend's enhanced decode needs (torch +
  hybrid.enhance.infer, or onnxruntime + hybrid.enhance.onnx_backend);
* first: seconds from the start of the child's work to the first enhanced 64x64 decode
  (imports, weights verification and loading, one run);
* MP/s: median of --repeat timed enhanced decodes of a val image resized to each --sizes;
* RSS: the child's peak resident memory (ru_maxrss) after all of it;
* gain: mean PSNR-RGB gain of enhanced over plain decode on the first --images val images,
  JPEGs by Pillow (libjpeg-turbo) at each --qualities, 4:2:0.

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_onnx.py --data ../shared/data --threads 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import io, json, resource, statistics, sys, time
t0 = time.perf_counter()
args = json.loads(sys.argv[1])
backend, threads = args["backend"], args["threads"]
if backend == "torch":
    import torch
    import hybrid.enhance.infer
else:
    import onnxruntime
    import hybrid.enhance.onnx_backend
t_import = time.perf_counter() - t0
import numpy as np
from PIL import Image
import hybrid
from hybrid.metrics import psnr

def jpeg(img, q):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=q, optimize=True)
    return buf.getvalue()

def decode(data):
    return hybrid.decode_array(
        data, enhance=True, backend=backend, threads=threads, precision="fp32"
    )

src = np.asarray(Image.open(args["images"][0]).convert("RGB"))
decode(jpeg(src[:64, :64], 30))
t_first = time.perf_counter() - t0
speed = {}
for w, h in args["sizes"]:
    data = jpeg(np.asarray(Image.fromarray(src).resize((w, h), Image.LANCZOS)), 30)
    times = []
    for _ in range(args["repeat"]):
        t = time.perf_counter()
        decode(data)
        times.append(time.perf_counter() - t)
    speed[f"{w}x{h}"] = w * h / 1e6 / statistics.median(times)

gains = {}
for q in args["qualities"]:
    g = []
    for path in args["images"]:
        img = np.asarray(Image.open(path).convert("RGB"))
        data = jpeg(img, q)
        ref = img / 255.0
        plain = hybrid.decode_array(data, enhance=False)
        g.append(psnr(ref, decode(data), peak=1.0) - psnr(ref, plain, peak=1.0))
    gains[q] = float(np.mean(g))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"backend": backend, "import_s": t_import, "first_s": t_first,
                  "mp_s": speed, "rss_mib": rss, "gain_db": gains,
                  "torch_loaded": "torch" in sys.modules}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--qualities", type=int, nargs="+", default=[20, 50])
    ap.add_argument("--sizes", nargs="+", default=["768x512", "3000x2000"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    opts = ap.parse_args()
    images = sorted(str(p) for p in (opts.data / "val").glob("*.png"))[: opts.images]
    if not images:
        sys.exit(f"no val images in {opts.data / 'val'}")
    sizes = [[int(v) for v in s.split("x")] for s in opts.sizes]
    rows = []
    for backend in opts.backends:
        arg = {
            "backend": backend,
            "threads": opts.threads,
            "images": images,
            "qualities": opts.qualities,
            "sizes": sizes,
            "repeat": opts.repeat,
        }
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", CHILD, json.dumps(arg)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        speeds = ", ".join(f"{k} {v:.2f} MP/s" for k, v in row["mp_s"].items())
        gains = ", ".join(f"q{k} {v:+.4f} dB" for k, v in row["gain_db"].items())
        print(
            f"{backend:10s} import {row['import_s']:.2f} s, first decode {row['first_s']:.2f} s, "
            f"{speeds}, peak RSS {row['rss_mib']:.0f} MiB, gain {gains}, "
            f"torch loaded: {row['torch_loaded']}",
            flush=True,
        )
    if opts.json:
        opts.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
