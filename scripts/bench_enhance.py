#!/usr/bin/env python3
"""Enhancement benchmark: PSNR/MS-SSIM gain of `--enhance` over plain decode, and speed.

JPEGs are made from the clean validation images by libjpeg-turbo (Pillow, optimize=True) at
4:2:0 — the issue's reference setting — and, with --extra, at 4:4:4 and by hybrid's own
encoder. Speed is the median of --repeat timed decodes of 768x512 and 4000x3000 inputs (and
any --sizes), with peak memory (ru_maxrss of a child process per size).

--precision (auto, fp32, bf16) is the network's arithmetic (hybrid.enhance.precision); the
output records both the requested and the resolved precision (auto resolves to bf16 on a CPU
with avx512_bf16 / amx_bf16), so every number says which one it was measured with.

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_enhance.py --data ../shared/data --model enhance-fast-v2 --extra
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from hybrid.enhance import enhance_jpeg
from hybrid.enhance.precision import PRECISIONS, resolve_precision
from hybrid.metrics import ms_ssim, psnr

QUALITIES = (10, 20, 30, 50, 75, 90, 95, 100)


def pillow_jpeg(img: np.ndarray, quality: int, subsampling: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
    return buf.getvalue()


def hybrid_jpeg(img: np.ndarray, quality: int) -> bytes:
    import hybrid

    return hybrid.encode(img, quality=quality, subsampling="4:2:0")


def plain_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def measure(files, encoders, qualities, model, weights, threads, with_msssim, precision):
    rows = []
    for name, enc in encoders.items():
        for q in qualities:
            gains, ms_plain, ms_enh, bpps = [], [], [], []
            for f in files:
                with Image.open(f) as im:
                    clean = np.asarray(im.convert("RGB"))
                data = enc(clean, q)
                plain = plain_decode(data)
                out = enhance_jpeg(
                    data, model=model, weights=weights, threads=threads, precision=precision
                )
                enh = np.clip(np.round(out * 255), 0, 255)
                gains.append(psnr(enh, clean) - psnr(plain, clean))
                bpps.append(len(data) * 8 / (clean.shape[0] * clean.shape[1]))
                if with_msssim:
                    ms_plain.append(ms_ssim(plain, clean))
                    ms_enh.append(ms_ssim(enh, clean))
            row = {
                "encoder": name,
                "quality": q,
                "precision": resolve_precision(precision, "cpu"),
                "bpp": float(np.mean(bpps)),
                "psnr_gain_db": float(np.mean(gains)),
                "min_image_gain_db": float(np.min(gains)),
            }
            if with_msssim:
                row["msssim_plain"] = float(np.mean(ms_plain))
                row["msssim_enhanced"] = float(np.mean(ms_enh))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    return rows


def speed_child(
    width: int, height: int, model, weights, threads, repeat: int, precision: str
) -> None:
    """Run in a child process: time ``repeat`` enhanced decodes, print JSON (median seconds,
    all timings, peak RSS)."""
    from skimage import data as skdata

    base = Image.fromarray(skdata.astronaut()).resize((width, height), Image.BICUBIC)
    jpeg = pillow_jpeg(np.asarray(base), 30, 2)
    enhance_jpeg(
        pillow_jpeg(np.asarray(base)[:64, :64], 30, 2),
        model=model,
        weights=weights,
        threads=threads,
        precision=precision,
    )
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        enhance_jpeg(jpeg, model=model, weights=weights, threads=threads, precision=precision)
        times.append(time.perf_counter() - t0)
    dt = float(np.median(times))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "size": f"{width}x{height}",
                "precision": resolve_precision(precision, "cpu"),
                "seconds": dt,
                "mp_per_s": width * height / 1e6 / dt,
                "peak_rss_mib": peak,
                "all_seconds": times,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", default="../shared/data", help="folder with val/ (default ../shared/data)"
    )
    ap.add_argument("--model", default=None)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="network arithmetic: auto (bf16 where the CPU has it natively), fp32, bf16",
    )
    ap.add_argument(
        "--extra", action="store_true", help="also 4:4:4 files and hybrid's own encoder"
    )
    ap.add_argument("--no-msssim", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--json", default=None, help="write all results here")
    ap.add_argument(
        "--qualities",
        default=",".join(map(str, QUALITIES)),
        help="comma-separated IJG qualities (default %(default)s)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per speed size (median)")
    ap.add_argument(
        "--sizes", default="768x512,4000x3000", help="speed inputs, WxH,... (default %(default)s)"
    )
    ap.add_argument("--speed-only", action="store_true", help="skip the quality measurement")
    ap.add_argument("--speed-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.speed_child:
        speed_child(
            *args.speed_child, args.model, args.weights, args.threads, args.repeat, args.precision
        )
        return
    files = sorted(
        p for p in (Path(args.data) / "val").iterdir() if p.suffix.lower() in (".png", ".webp")
    )
    files = files[: args.limit]
    encoders = {"libjpeg-turbo 4:2:0": lambda img, q: pillow_jpeg(img, q, 2)}
    if args.extra:
        encoders["libjpeg-turbo 4:4:4"] = lambda img, q: pillow_jpeg(img, q, 0)
        encoders["hybrid 4:2:0"] = hybrid_jpeg
    qualities = [int(q) for q in args.qualities.split(",") if q.strip()]
    rows = (
        []
        if args.speed_only
        else measure(
            files,
            encoders,
            qualities,
            args.model,
            args.weights,
            args.threads,
            not args.no_msssim,
            args.precision,
        )
    )
    speed = []
    if not args.no_speed:
        for size in args.sizes.split(","):
            w, h = (int(v) for v in size.lower().split("x"))
            cmd = [
                sys.executable,
                __file__,
                "--speed-child",
                str(w),
                str(h),
                "--threads",
                str(args.threads),
                "--repeat",
                str(args.repeat),
                "--precision",
                args.precision,
            ]
            cmd += ["--model", args.model] if args.model else []
            cmd += ["--weights", args.weights] if args.weights else []
            out = (
                subprocess.run(cmd, capture_output=True, text=True, check=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            speed.append(json.loads(out))
    resolved = resolve_precision(args.precision, "cpu")
    print(
        f"\nImages: {len(files)} from {args.data}/val; "
        f"model: {args.weights or args.model or 'default'}; "
        f"precision: {args.precision} ({resolved})\n"
    )
    head = "| encoder | quality | bpp | PSNR-RGB gain (dB) | worst image (dB) |"
    head += " MS-SSIM plain | MS-SSIM enhanced |" if not args.no_msssim else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = (
            f"| {r['encoder']} | {r['quality']} | {r['bpp']:.3f} | {r['psnr_gain_db']:+.2f} "
            f"| {r['min_image_gain_db']:+.2f} |"
        )
        if not args.no_msssim:
            line += f" {r['msssim_plain']:.4f} | {r['msssim_enhanced']:.4f} |"
        print(line)
    if speed:
        print("\n| input | precision | seconds | MP/s | peak RSS (MiB) |\n|---|---|---|---|---|")
        for s in speed:
            print(
                f"| {s['size']} | {s['precision']} | {s['seconds']:.2f} | {s['mp_per_s']:.2f} "
                f"| {s['peak_rss_mib']:.0f} |"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "precision": args.precision,
                    "resolved_precision": resolved,
                    "rows": rows,
                    "speed": speed,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
