#!/usr/bin/env python3
"""Plain decode speed: ``hybrid.decode`` with and without its damage check, against Pillow.

Pillow's ``Image.open(...).load()`` (libjpeg-turbo) is the floor: a plain hybrid decode is
Pillow's decode plus the header parse, the damage check (libjpeg's pass over the
entropy-coded data; for hybrid's own files also the coefficients, to compare the checksum)
and the metadata carried to the result. Inputs are made from one validation image, resized
with Pillow (Lanczos) and saved by Pillow: 4000x3000 (12 MP) at quality 85, 768x512
(0.4 MP) and the image itself (481x321, 0.15 MP) at quality 75; plus hybrid's own encode of
the 12 MP and 0.4 MP images (quality 85 / 75), whose checksum the check compares. Each
time is the median over --repeat rounds in which Pillow, the checked decode, the unchecked
decode and the check alone take turns, 5 calls each (so other jobs on the machine slow them
alike), the file already in memory; wall time, and for Pillow and the checked decode also
the process's CPU time (all threads), which other jobs disturb less.

``--steps`` times the checked plain decode's steps one by one (CPU time): Pillow's decode,
the header parse, the rest of an unchecked decode, and the damage check's parts (the
layout scan, the header probe, the libjpeg-turbo pass, the CRC-32 of a hybrid file).

``--enhanced`` times an enhanced decode instead (``hybrid.decode_array(..., enhance=True)``)
of the 12 MP and 0.4 MP Pillow files: the whole decode, the tile loop
(``hybrid.enhance.infer.enhance_planes``: network, flips, consistency projection) and the
network's forward calls alone (torch's global module hooks), and the share of the decode
outside each; plus the pixel input alone (``load_planes``: one libjpeg pass, pixels from the
coefficients) against Pillow's decode of the same file.

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_decode_overhead.py --data ../shared/data --repeat 15
    python scripts/bench_decode_overhead.py --data ../shared/data --steps --repeat 15
    python scripts/bench_decode_overhead.py --data ../shared/data --enhanced --repeat 2
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from PIL import Image, features

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.codec.reader import find_damage


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    run()  # warm: imports, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_medians(
    runs: dict[str, Callable[[], object]], repeat: int, calls: int = 5
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per call of each of ``runs`` over ``repeat`` rounds; in each
    round the runs take turns, each making ``calls`` calls in a row (timed together, so its
    caches are as warm as in a loop over files), and other jobs on the machine weigh on all
    of them alike. CPU is the process's CPU time (``time.process_time``: all threads)."""
    for run in runs.values():
        run()  # warm: imports, caches
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                run()
            wall[name].append((time.perf_counter() - start) / calls)
            cpu[name].append((time.process_time() - start_cpu) / calls)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


def pillow_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def inputs(source: Image.Image) -> list[tuple[str, bytes]]:
    big = source.resize((4000, 3000), Image.Resampling.LANCZOS)
    mid = source.resize((768, 512), Image.Resampling.LANCZOS)
    return [
        ("12 MP, Pillow q85", pillow_jpeg(big, 85)),
        ("0.4 MP, Pillow q75", pillow_jpeg(mid, 75)),
        ("0.15 MP, Pillow q75", pillow_jpeg(source, 75)),
        ("12 MP, hybrid q85", hybrid.encode(big, quality=85)),
        ("0.4 MP, hybrid q75", hybrid.encode(mid, quality=75)),
    ]


def measure(data: bytes, repeat: int) -> dict[str, tuple[float, float]]:
    def pillow() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    info = parse_info(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the inputs are intact: any warning is a bug here
        return interleaved_medians(
            {
                "pillow": pillow,
                "checked": lambda: hybrid.decode(data),
                "unchecked": lambda: hybrid.decode(data, check_damage=False),
                "check": lambda: find_damage(data, info),
            },
            repeat,
        )


class _Clock:
    """Seconds spent inside the outermost calls it wraps (nested calls counted once)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0
        self._start = 0.0

    def enter(self, *args: object) -> None:
        if self._depth == 0:
            self._start = time.perf_counter()
        self._depth += 1

    def leave(self, *args: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._start


def measure_enhanced(data: bytes, repeat: int, device: str) -> dict[str, float]:
    """Best-of-``repeat`` enhanced decode, with the tile loop's and the network's time in
    that same run."""
    import torch

    import hybrid.enhance.infer as infer
    from hybrid.enhance.jpeg_input import load_planes

    def pillow() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    loop, net = _Clock(), _Clock()
    tile_loop = infer.enhance_planes

    def timed_loop(*args: object, **kwargs: object) -> object:
        loop.enter()
        try:
            return tile_loop(*args, **kwargs)
        finally:
            loop.leave()

    hooks = [
        torch.nn.modules.module.register_module_forward_pre_hook(net.enter),
        torch.nn.modules.module.register_module_forward_hook(net.leave),
    ]
    infer.enhance_planes = timed_loop  # enhance_jpeg imports it at call time
    best: dict[str, float] = {}
    try:
        hybrid.decode_array(data, enhance=True, device=device)  # warm: weights, caches
        for _ in range(repeat):
            loop.seconds = net.seconds = 0.0
            start = time.perf_counter()
            hybrid.decode_array(data, enhance=True, device=device)
            total = time.perf_counter() - start
            if not best or total < best["total"]:
                best = {"total": total, "loop": loop.seconds, "net": net.seconds}
    finally:
        infer.enhance_planes = tile_loop
        for hook in hooks:
            hook.remove()
    best["pillow"] = best_seconds(pillow, repeat)
    best["planes"] = best_seconds(lambda: load_planes(data), repeat)
    return best


def main_enhanced(source: Image.Image, repeat: int, device: str) -> None:
    print("| file | MP | enhanced decode s | tile loop s | network s | outside the tile loop "
          "| outside the network | load_planes ms | Pillow decode ms |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, data in inputs(source)[:2]:
        with Image.open(io.BytesIO(data)) as image:
            megapixels = image.width * image.height / 1e6
        t = measure_enhanced(data, repeat, device)
        print(
            f"| {name} | {megapixels:.2f} | {t['total']:.2f} | {t['loop']:.2f} "
            f"| {t['net']:.2f} | {100 * (1 - t['loop'] / t['total']):.1f} % "
            f"| {100 * (1 - t['net'] / t['total']):.1f} % | {1e3 * t['planes']:.0f} "
            f"| {1e3 * t['pillow']:.0f} |"
        )


def _step_medians(data: bytes, lib: object, repeat: int) -> dict[str, tuple[float, float]]:
    from hybrid.codec import reader, turbo_pass
    from hybrid.codec.headers import coded_image_bytes

    info = parse_info(data)
    coded = coded_image_bytes(data, info)
    layout = turbo_pass.sequential_layout(coded, len(info.components))
    assert lib is not None and layout is not None  # the pass takes these files
    counts = reader._block_counts(info)
    probe = turbo_pass.probe_bytes(coded, layout)

    def pillow() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    return interleaved_medians(
        {
            "pillow": pillow,
            "parse": lambda: parse_info(data),
            "unchecked": lambda: hybrid.decode(data, check_damage=False),
            "layout": lambda: turbo_pass.sequential_layout(coded, len(info.components)),
            "probe": lambda: reader._probe_quietly(lib, probe),
            "pass": lambda: turbo_pass.turbo_pass(lib, coded, info, counts, False),
            "pass+crc": lambda: turbo_pass.turbo_pass(lib, coded, info, counts, True),
            "check": lambda: find_damage(data, info),
            "checked": lambda: hybrid.decode(data),
        },
        repeat,
        calls=20,
    )


def main_steps(source: Image.Image, repeat: int) -> None:
    """Where a checked plain decode's time goes: each step timed alone (medians of
    ``repeat`` rounds of 20 calls, CPU time), as the decode runs them."""
    from hybrid.codec import turbo_pass

    lib = turbo_pass.turbo_library()
    print("| file | Pillow decode | parse_info | rest of an unchecked decode | layout scan "
          "| header probe | libjpeg-turbo pass | + CRC-32 | check (find_damage) "
          "| checked decode |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, data in inputs(source):
        steps = _step_medians(data, lib, repeat)
        ms = {key: 1e3 * cpu for key, (_, cpu) in steps.items()}
        rest = ms["unchecked"] - ms["pillow"] - ms["parse"]
        crc = ms["pass+crc"] - ms["pass"] if "hybrid" in name else 0.0
        print(
            f"| {name} | {ms['pillow']:.3f} | {ms['parse']:.3f} | {rest:.3f} "
            f"| {ms['layout']:.3f} | {ms['probe']:.3f} | {ms['pass']:.3f} | {crc:.3f} "
            f"| {ms['check']:.3f} | {ms['checked']:.3f} |"
        )
    print()
    print(f"ms of CPU time per call; load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", default="../shared/data", help="folder with val/ (default ../shared/data)"
    )
    ap.add_argument("--image", default="102061.png", help="the val image (481x321)")
    ap.add_argument(
        "--repeat", type=int, default=15, help="timed rounds (plain: medians; --enhanced: best)"
    )
    ap.add_argument("--enhanced", action="store_true", help="time enhanced decodes instead")
    ap.add_argument("--steps", action="store_true", help="time the plain decode's steps")
    ap.add_argument("--device", default="cpu", help="device of the enhanced decodes")
    args = ap.parse_args()

    source = Image.open(Path(args.data) / "val" / args.image).convert("RGB")
    print(
        f"Pillow {Image.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}), "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; "
        f"{'best of' if args.enhanced else 'median of'} {args.repeat}"
    )
    print()
    if args.enhanced:
        main_enhanced(source, args.repeat, args.device)
        return
    if args.steps:
        main_steps(source, args.repeat)
        return
    print("| file | MP | Pillow ms | decode ms (x Pillow) | decode CPU ms (x Pillow's CPU) "
          "| --no-damage-check ms (x Pillow) | check alone ms | decode MP/s |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, data in inputs(source):
        with Image.open(io.BytesIO(data)) as image:
            megapixels = image.width * image.height / 1e6
        t = measure(data, args.repeat)
        (pillow, pillow_cpu), (checked, checked_cpu) = t["pillow"], t["checked"]
        unchecked, check = t["unchecked"][0], t["check"][0]
        print(
            f"| {name} | {megapixels:.2f} | {1e3 * pillow:.1f} "
            f"| {1e3 * checked:.1f} ({checked / pillow:.2f}x) "
            f"| {1e3 * checked_cpu:.1f} ({checked_cpu / pillow_cpu:.2f}x) "
            f"| {1e3 * unchecked:.1f} ({unchecked / pillow:.2f}x) "
            f"| {1e3 * check:.1f} | {megapixels / checked:.0f} |"
        )
    print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
