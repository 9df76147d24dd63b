"""The search behind the best mode's tunes (``--tune perceptual|ssim``, issue 17): encoder
settings of the best mode against ``--tune psnr``, scored by BD-rate in PSNR-RGB, PSNR-Y,
MS-SSIM and butteraugli (3-norm and max-norm), with the plain decode and with an enhanced
decode by one model.

Each variant is the best mode (trellis, progressive, scan search) with the best mode's table
family (:func:`hybrid.codec.quant.robidoux_family_at`) at a chroma share, a texture
adaptation of the trellis (``rdo_activity``), a trellis multiplier (``rdo_lambda``) and a
chroma subsampling of its own. BD-rates are over the mean curves (bpp and metric averaged
per quality over the images), against the first variant of the set with the first decode;
negative is better. ``--set plain`` (the default) is the search behind the tunes of plain
files (anchor ``--tune psnr``); ``--set enhanced`` the one behind the perceptual tunes'
files for the enhanced decode (anchor ``--tune psnr --mode enhance``'s settings,
:data:`hybrid.codec.options.ENHANCED_TUNES`). MS-SSIM is taken in dB
(-10 log10(1 - MS-SSIM)) and butteraugli as -20 log10(distance), as the bench does.

    python scripts/tune_search.py --data ../shared/data/val --every 11 --start 3 \\
        --model enhance-fast-v4 --out runs/tune_search.md
    python scripts/tune_search.py --set enhanced --decodes enhanced \
        --model enhance-perceptual-v1 --out runs/tune_search_enhanced.md

Needs libjxl's ``butteraugli_main`` (Debian libjxl-devtools). Slow: about 75 s per image
(5 variants x 6 qualities x 2 decodes) on one core.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import hybrid
from hybrid.bench.bd import bd_rate
from hybrid.codec.encoder import image_to_frame
from hybrid.codec.options import EncodeOptions
from hybrid.codec.quant import ijg_scale_factor, robidoux_family_at
from hybrid.codec.writer import write_jpeg
from hybrid.metrics import ms_ssim, psnr, psnr_y
from hybrid.perceptual import butteraugli

QUALITIES = (5, 10, 18, 30, 50, 70)
#: name: (chroma share of the tables, rdo_activity, rdo_lambda, subsampling), per set.
VARIANT_SETS: dict[str, dict[str, tuple[float, float, float, str]]] = {
    "plain": {
        "psnr (0.55, 0.5)": (0.55, 0.5, 1.0, "4:2:0"),
        "chroma 0.9, activity 1.0": (0.9, 1.0, 1.0, "4:2:0"),
        "chroma 0.9, activity 1.5": (0.9, 1.5, 1.0, "4:2:0"),
        "chroma 0.9, activity 2.0": (0.9, 2.0, 1.0, "4:2:0"),
        "chroma 0.9, activity 1.0, 4:4:4": (0.9, 1.0, 1.0, "4:4:4"),
    },
    "enhanced": {
        "psnr for enhance (0.55, 0.0, 0.6)": (0.55, 0.0, 0.6, "4:2:0"),
        "perceptual (0.9, 1.0, 1.0)": (0.9, 1.0, 1.0, "4:2:0"),
        "chroma 0.9, activity 1.0, lambda 0.6": (0.9, 1.0, 0.6, "4:2:0"),
        "chroma 0.9, activity 0.5, lambda 0.6": (0.9, 0.5, 0.6, "4:2:0"),
        "chroma 1.2, activity 1.0, lambda 0.6": (1.2, 1.0, 0.6, "4:2:0"),
        "chroma 0.9, activity 1.0, lambda 0.4": (0.9, 1.0, 0.4, "4:2:0"),
    },
}
METRICS = ("psnr", "psnr_y", "ms_ssim_db", "butteraugli_3", "butteraugli_max")


def encode_variant(
    rgb: np.ndarray, quality: int, chroma: float, activity: float, lam: float, sub: str
) -> bytes:
    """The best mode's file of ``rgb`` at ``quality`` with this chroma share, trellis
    activity and multiplier, and subsampling."""
    tables = robidoux_family_at(float(ijg_scale_factor(quality)), chroma)
    options = EncodeOptions.best(
        quality,
        sub,  # type: ignore[arg-type]
        quant_tables=tables,
        rdo_activity=activity,
        rdo_lambda=lam,
    )
    frame = image_to_frame(rgb, options)
    return write_jpeg(frame, progressive=True, optimize_huffman=True, optimize_scans=True)


def measure(reference: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    distance = butteraugli(reference, decoded)
    return {
        "psnr": psnr(reference, decoded),
        "psnr_y": psnr_y(reference, decoded),
        "ms_ssim_db": -10.0 * math.log10(max(1.0 - ms_ssim(reference, decoded), 1e-10)),
        "butteraugli_3": -20.0 * math.log10(distance.pnorm3),
        "butteraugli_max": -20.0 * math.log10(distance.max_norm),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/val")
    parser.add_argument("--every", type=int, default=11, help="every Nth image (sorted)")
    parser.add_argument("--start", type=int, default=3)
    parser.add_argument("--model", default="enhance-fast-v4", help="the enhanced decode's model")
    parser.add_argument("--out", type=Path, default=Path("runs/tune_search.md"))
    parser.add_argument("--set", default="plain", choices=sorted(VARIANT_SETS))
    parser.add_argument(
        "--decodes", default="plain,enhanced", help="plain and/or enhanced, comma-separated"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="CHROMA,ACTIVITY,LAMBDA,SUBSAMPLING",
        help="measure this variant instead of the set's own (after the set's anchor); repeat",
    )
    args = parser.parse_args()
    variants = VARIANT_SETS[args.set]
    if args.variant:
        anchor_name = next(iter(variants))
        variants = {anchor_name: variants[anchor_name]}
        for spec in args.variant:
            chroma, activity, lam, sub = spec.split(",")
            variants[f"chroma {chroma}, activity {activity}, lambda {lam}, {sub}"] = (
                float(chroma),
                float(activity),
                float(lam),
                sub,
            )
    decodes = [d for d in args.decodes.split(",") if d]
    if not decodes or set(decodes) - {"plain", "enhanced"}:
        parser.error("--decodes: plain and/or enhanced")
    files = sorted(f for f in os.listdir(args.data) if f.lower().endswith(".png"))
    files = files[args.start :: args.every]
    # (variant, decode, quality) -> list of (bpp, metrics)
    points: dict[tuple[str, str, int], list[tuple[float, dict[str, float]]]] = {}
    start = time.perf_counter()
    for name in files:
        with Image.open(os.path.join(args.data, name)) as im:
            rgb = np.asarray(im.convert("RGB"))
        for variant, settings in variants.items():
            for quality in QUALITIES:
                data = encode_variant(rgb, quality, *settings)
                bpp = 8.0 * len(data) / (rgb.shape[0] * rgb.shape[1])
                for decode in decodes:
                    if decode == "plain":
                        image = hybrid.decode(data)
                    else:
                        image = hybrid.decode(data, enhance=True, model=args.model, threads=1)
                    decoded = np.asarray(image.convert("RGB"))
                    points.setdefault((variant, decode, quality), []).append(
                        (bpp, measure(rgb, decoded))
                    )
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)

    def curve(variant: str, decode: str, metric: str) -> tuple[list[float], list[float]]:
        rates, values = [], []
        for quality in QUALITIES:
            rows = points[(variant, decode, quality)]
            rates.append(float(np.mean([bpp for bpp, _ in rows])))
            values.append(float(np.mean([m[metric] for _, m in rows])))
        return rates, values

    anchor = next(iter(variants))
    lines = [
        f"BD-rate (%) against `{anchor}` with the {decodes[0]} decode; {len(files)} images of "
        f"{args.data} (every {args.every}th from {args.start}), qualities {QUALITIES}, "
        f"enhanced decode: {args.model}. Negative is better.",
        "",
        "| decode | variant | PSNR-RGB | PSNR-Y | MS-SSIM | butteraugli 3-norm | butteraugli max |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for decode in decodes:
        for variant in variants:
            cells = []
            for metric in METRICS:
                try:
                    value = bd_rate(
                        *curve(anchor, decodes[0], metric), *curve(variant, decode, metric)
                    )
                    cells.append(f"{value:+.1f}")
                except ValueError:
                    cells.append("n/a")
            lines.append(f"| {decode} | {variant} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
