#!/usr/bin/env python3
"""Levers around the default-mode ``--tune perceptual`` decode, measured (issue 17).

The tune's files recorded enhance-perceptual-v3 (the model probed here) and no strength;
their butteraugli distance was the target furthest off. Three probes of what the encoder
(which has the original) or the decoder could still change without retraining:

``strength``: the share of the network's change kept, per file. Each file is decoded plainly
and with the network's full change (:func:`hybrid.pipeline.encode.fit_file`); blends at fixed
strengths, at the PSNR fit the ``enhance`` mode records (:func:`hybrid.enhance.strength.
fit_strength`) and at the per-file butteraugli optimum (an oracle: the encoder would need
libjxl's tool) are measured.

``transpose``: a two-way self-ensemble: the mean of the network's output and its output on
the losslessly transposed file (``jpegtran -transpose``, which keeps every block), transposed
back.

``select``: offline, from two ``hybrid bench`` point files of the tune at different settings
(the same images and qualities): per image and quality, the file with the lower
``log(butteraugli) + k log(bpp) + w log(1 - MS-SSIM)``, the choice an encoder with the tool
in its loop could make; BD-rates of the chosen files against libjpeg-turbo 4:2:0 by
``hybrid bench``'s own code.

The first two print the mean over images, per quality, of the butteraugli 3-norm distance
(libjxl's ``butteraugli_main``), MS-SSIM (as dB) and PSNR-RGB.

    python scripts/probe_tune_levers.py strength --start 3 --every 6
    python scripts/probe_tune_levers.py transpose --start 3 --every 6
    python scripts/probe_tune_levers.py select runs/bench-l06/points.jsonl \\
        --a 7ba5642cf205089a --b be7560cccb6cd870
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hybrid  # noqa: E402
from hybrid.metrics import ms_ssim, psnr  # noqa: E402
from hybrid.perceptual import butteraugli  # noqa: E402

QUALITIES = (5, 12, 25, 50)
STRENGTHS = (0.6, 0.7, 0.8, 0.9, 1.0)
MODEL = "enhance-perceptual-v3"


def _measure(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    return {
        "b3": butteraugli(reference, decoded).pnorm3,
        "ms_ssim_db": -10.0 * math.log10(max(1.0 - ms_ssim(reference, decoded), 1e-10)),
        "psnr": psnr(reference, decoded),
    }


def _to_8bit(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def _full_change(data: bytes) -> np.ndarray:
    """float32 (H, W, 3) in 0..1: the tune's model's output at strength 1."""
    from hybrid.codec.headers import parse_info
    from hybrid.pipeline.pixels import enhanced_array
    from hybrid.pipeline.requests import DecodeRequest

    header = parse_info(data, max_pixels=None)
    request = DecodeRequest(enhance=True, model=MODEL, check_damage=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return enhanced_array(data, header, request, strength=1.0)


def probe_strength(rgb: np.ndarray, data: bytes) -> dict[str, dict[str, float]]:
    from hybrid.enhance.strength import blend
    from hybrid.pipeline.encode import fit_file

    fitted = fit_file(data, rgb, MODEL)
    rows = {
        f"s={s:.1f}": _measure(rgb, _to_8bit(blend(fitted.plain, fitted.enhanced, s)))
        for s in STRENGTHS
    }
    fit = fitted.fit.code / 255.0
    rows["PSNR fit"] = _measure(rgb, _to_8bit(blend(fitted.plain, fitted.enhanced, fit)))
    fixed = [rows[f"s={s:.1f}"] for s in STRENGTHS]
    rows["butteraugli oracle"] = min([*fixed, rows["PSNR fit"]], key=lambda r: r["b3"])
    return rows


def probe_transpose(rgb: np.ndarray, data: bytes) -> dict[str, dict[str, float]]:
    once = _full_change(data)
    flipped = subprocess.run(
        ["jpegtran", "-transpose", "-copy", "none"], input=data, capture_output=True, check=True
    ).stdout
    back = _full_change(flipped).transpose(1, 0, 2)
    return {
        "the network": _measure(rgb, _to_8bit(once)),
        "mean with the transposed decode": _measure(rgb, _to_8bit((once + back) / 2.0)),
    }


def run_probe(args: argparse.Namespace) -> None:
    if args.probe == "transpose" and shutil.which("jpegtran") is None:
        sys.exit("error: jpegtran (libjpeg-turbo-progs) is needed for the transpose probe")
    probe = probe_strength if args.probe == "strength" else probe_transpose
    files = sorted(f for f in os.listdir(args.data) if f.lower().endswith(".png"))
    files = files[args.start :: args.every]
    table: dict[str, dict[int, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for name in files:
        with Image.open(os.path.join(args.data, name)) as im:
            rgb = np.asarray(im.convert("RGB"))
        for quality in QUALITIES:
            data = hybrid.encode(rgb, quality=quality, tune="perceptual")
            for row, values in probe(rgb, data).items():
                table[row][quality].append(values)
        print(name, file=sys.stderr, flush=True)
    print(
        f"{len(files)} images of {args.data} (every {args.every}th from {args.start}); "
        "mean butteraugli 3-norm / MS-SSIM dB / PSNR-RGB dB per quality\n"
    )
    print("| decode | " + " | ".join(f"q{q}" for q in QUALITIES) + " |")
    print("|---|" + "---:|" * len(QUALITIES))
    for row, per_quality in table.items():
        cells = []
        for quality in QUALITIES:
            values = per_quality[quality]
            mean = {k: float(np.mean([v[k] for v in values])) for k in values[0]}
            cells.append(f"{mean['b3']:.4f} / {mean['ms_ssim_db']:.3f} / {mean['psnr']:.3f}")
        print(f"| {row} | " + " | ".join(cells) + " |")


def run_select(args: argparse.Namespace) -> None:
    from hybrid.bench.report import bd_table, curves

    reference = "libjpeg-turbo-420"
    points: list[dict[str, Any]] = []
    tune: dict[str, dict[tuple[str, float], dict[str, Any]]] = {"a": {}, "b": {}}
    for line in args.points.read_text().splitlines():
        point = json.loads(line)
        version = point["key"].split("|")[4]
        if point["codec"] == reference:
            points.append(point)
        elif point["codec"] == args.codec:
            for side in ("a", "b"):
                if f"src {getattr(args, side)}" in version:
                    tune[side][(point["image"], point["setting"])] = point
    if not tune["a"] or tune["a"].keys() != tune["b"].keys():
        sys.exit("error: the two settings' points do not cover the same images and qualities")
    images = len({image for image, _ in tune["a"]})

    def cost(point: dict[str, Any], k: float, w: float) -> float:
        return (
            math.log(point["butteraugli"])
            + k * math.log(point["bpp"])
            + w * math.log(1.0 - point["ms_ssim"])
        )

    metrics = ["psnr", "psnr_y", "ms_ssim", "butteraugli"]
    rows: list[tuple[str, dict[str, Any]]] = []
    for label, chosen in (("a", tune["a"]), ("b", tune["b"])):
        rows.append((f"all {label}", {key: {**p, "codec": label} for key, p in chosen.items()}))
    for k in args.k:
        for w in args.w:
            picked = {
                key: {**min((a, tune["b"][key]), key=lambda p: cost(p, k, w)), "codec": "sel"}
                for key, a in tune["a"].items()
            }
            share = sum(p["key"] in {q["key"] for q in tune["b"].values()} for p in picked.values())
            rows.append((f"k={k:g}, w={w:g} (b chosen {share}/{len(picked)})", picked))
    print(f"BD-rate (%) against {reference}, {images} images; a = src {args.a}, b = src {args.b}")
    print("\n| files | " + " | ".join(metrics) + " |\n|---|" + "---:|" * len(metrics))
    for label, chosen in rows:
        table = bd_table(curves(points + list(chosen.values()), images), reference, metrics)
        entry = next(v for c, v in table.items() if c != reference)
        print(f"| {label} | " + " | ".join(f"{entry[f'bd_rate_{m}']:.2f}" for m in metrics) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="probe", required=True)
    for name in ("strength", "transpose"):
        p = sub.add_parser(name)
        p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "val"))
        p.add_argument("--start", type=int, default=3)
        p.add_argument("--every", type=int, default=6)
        p.set_defaults(run=run_probe)
    p = sub.add_parser("select")
    p.add_argument("points", type=Path, help="a hybrid bench points.jsonl")
    p.add_argument("--codec", default="hybrid-perceptual")
    p.add_argument("--a", required=True, help="source fingerprint of the first settings' points")
    p.add_argument("--b", required=True, help="source fingerprint of the second settings' points")
    p.add_argument("--k", type=float, nargs="+", default=[0.5, 0.71, 1.0])
    p.add_argument("--w", type=float, nargs="+", default=[0.0, 0.3])
    p.set_defaults(run=run_select)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
