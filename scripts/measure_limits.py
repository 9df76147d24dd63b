"""What small hostile files and big images cost hybrid's decoder, behind docs/robustness.md
("Limits"): time and peak memory of each case, each in a fresh process.

    .venv/bin/python scripts/measure_limits.py                  # every case (~4 min, 2 cores)
    .venv/bin/python scripts/measure_limits.py --cases scan-500,up-64x
    .venv/bin/python scripts/measure_limits.py --unlimited      # + the scan bomb without limit

Cases (inputs built first, in this process; see tests/helpers/hostile.py):

- ``scan-500``: a 0.4 MB progressive 13000x13000 greyscale file of 500 scans, each over the
  whole frame (a valid progression of zeros): refused by the scan-work limit.
- ``scan-100``: the same with 100 scans, at the default limit: the worst accepted scan work.
- ``up-64x``: a 10 kB downscaled-mode file (203x203 coded) whose record asks for 64x per side
  (12992x12992): the record is ignored (above the 4x cap), so the enhanced decode is 203x203.
- ``up-4x``: a 3250x3250 file recording 4x (13000x13000), upscaled: the worst accepted one.
- ``enhance-24mp``, ``enhance-100mp``: enhanced decodes (the default model) of synthetic
  6000x4000 and 10000x10000 images.

Time is the call's wall time after imports and a warm-up decode (model loading excluded);
memory is the process's peak RSS (``VmHWM``) and its growth over the warmed-up process.
Prints a markdown table; ``--json`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: name -> (what, call in the child: "decode", "enhance", "upscale" or "decode-unlimited")
CASES = {
    "scan-500": ("progressive, 500 whole-frame scans, 13000x13000 grey", "decode"),
    "scan-500-enhance": ("the same, `--enhance`", "enhance"),
    "scan-100": ("the same with 100 scans (at the limit)", "decode"),
    "up-64x": ("downscaled record asking 64x: 203x203 -> 12992x12992, `--enhance`", "enhance"),
    "up-4x": ("downscaled record at the 4x cap: 3250x3250 -> 13000x13000, `--upscale`", "upscale"),
    "enhance-24mp": ("enhanced decode, 6000x4000 (24 MP), quality 75 4:2:0", "enhance"),
    "enhance-100mp": ("enhanced decode, 10000x10000 (100 MP), quality 75 4:2:0", "enhance"),
}
UNLIMITED = {"scan-500-unlimited": ("scan-500 with `--max-scan-passes 0`", "decode-unlimited")}


def _textured(height: int, width: int) -> bytes:
    """A quality-75 4:2:0 JPEG of a tiled photo-like texture (so the network has work)."""
    import numpy as np
    from PIL import Image

    from tests.helpers.corpus import sample_image

    tile = sample_image(500, 500, 1)
    pixels = np.tile(tile, (-(-height // 500), -(-width // 500), 1))[:height, :width]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=75)
    return buffer.getvalue()


def build(name: str) -> bytes:
    """The input file of case ``name``."""
    from hybrid.codec.metadata import HybridMetadata, insert_segment, metadata_segment
    from tests.helpers.corpus import sample_image
    from tests.helpers.hostile import forged_upscale, progressive_scan_bomb

    if name.startswith("scan-500"):
        return progressive_scan_bomb(13000, 500)
    if name == "scan-100":
        return progressive_scan_bomb(13000, 100)
    if name == "up-64x":
        import hybrid

        return forged_upscale(hybrid.encode(sample_image(406, 406, 2), scale=2), 64.0)
    if name == "up-4x":
        meta = HybridMetadata(
            mode="downscaled", original_width=13000, original_height=13000, scale=4.0
        )
        return insert_segment(_textured(3250, 3250), metadata_segment(meta))
    if name == "enhance-24mp":
        return _textured(4000, 6000)
    if name == "enhance-100mp":
        return _textured(10000, 10000)
    raise ValueError(name)


def child(path: str, call: str) -> None:
    """Run one case in this (fresh) process and print its figures as JSON."""
    import warnings

    import hybrid
    from hybrid.errors import InputError
    from tests.helpers.corpus import sample_image
    from tests.helpers.harness import proc_status_bytes

    data = Path(path).read_bytes()
    if call in ("enhance", "upscale"):  # imports, model, thread pools: not the file's cost
        small = hybrid.encode(sample_image(64, 64, 0), quality=50)
        hybrid.decode(small, enhance=call == "enhance")
    before = proc_status_bytes("VmHWM")
    kwargs = {
        "decode": {},
        "decode-unlimited": {"max_scan_passes": None},
        "enhance": {"enhance": True},
        "upscale": {"upscale": True},
    }[call]
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = hybrid.decode(data, **kwargs)
            outcome = f"{image.width}x{image.height}"
        except InputError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    peak = proc_status_bytes("VmHWM")
    print(json.dumps({
        "outcome": outcome,
        "warnings": sorted({w.category.__name__ for w in caught}),
        "seconds": seconds,
        "peak": peak,
        "growth": peak - before,
    }))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--unlimited", action="store_true", help="also scan-500 with no limit")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "CALL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    cases = {**CASES, **(UNLIMITED if args.unlimited else {})}
    names = args.cases.split(",") if args.cases else list(cases)
    rows, figures = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            what, call = cases[name]
            data = build(name)
            path = Path(tmp) / f"{name}.jpg"
            path.write_bytes(data)
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(path), call],
                capture_output=True,
                text=True,
                cwd=REPO,
            )
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["file_bytes"] = len(data)
            figures[name] = result
            outcome = result["outcome"].split(" (")[0]
            if len(outcome) > 70:
                outcome = outcome[:67] + "..."
            rows.append(
                f"| `{name}` | {what} | {len(data) / 1000:,.1f} kB | {outcome} | "
                f"{result['seconds']:.2f} s | {result['peak'] / 2**20:,.0f} MiB | "
                f"{result['growth'] / 2**20:,.0f} MiB |"
            )
            print(f"{name}: {result}", file=sys.stderr)
    print(f"\n{platform.processor() or platform.machine()}, Python {platform.python_version()}\n")
    print("| case | file | size | result | time | peak RSS | growth |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
