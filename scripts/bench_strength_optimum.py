#!/usr/bin/env python3
"""How much of the network's change should a decode keep? The PSNR-optimal strength per file,
against the near-lossless fade-out (the taper by the mean luma quantizer step) a decoder
applies when the file records no strength (issue 17).

Centre crops of clean images (``--crop`` px, ``--images`` of them, every ``--step``-th file of
``--data``) are coded by libjpeg-turbo (Pillow, optimize) and by hybrid (``best`` and
baseline) at each quality, decoded plainly and with the network's full change (strength 1,
``--model``), and compared with the crop: for each file the optimum ``s*`` (the share of
the change closest to the crop, :func:`hybrid.enhance.strength.fit_strength`) and the PSNR
gain over the plain decode at the taper's strength and at full strength, from
``mse(s) = mse_plain - (2 s <e - p, r - p> - s^2 |e - p|^2) / n``. A markdown table per
encoder: mean step, mean and smallest ``s*``, the taper's strength, and the mean and worst
gain at the taper's strength and at full strength, with the worst file's name.

Training crops, not the validation set: the taper is a decoder rule, to be fitted where the
network was trained and checked on val (``scripts/bench_own_files.py``).

Example (the command recorded in BENCHMARKS.md):
    python scripts/bench_strength_optimum.py --data ../shared/data/train --images 40 --step 5
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.enhance import enhance_jpeg
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL
from hybrid.enhance.strength import fit_strength
from hybrid.enhance.taper import residual_strength

QUALITIES = (50, 70, 80, 85, 88, 90, 92, 94, 95, 96, 97, 98)
ENCODERS = ("libjpeg-turbo", "best", "baseline")
SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm"}


def centre_crop(path: Path, size: int) -> np.ndarray:
    """uint8 (h, w, 3): the centre ``size`` x ``size`` of the image (smaller sides kept)."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    w, h = rgb.size
    cw, ch = min(w, size), min(h, size)
    left, top = (w - cw) // 2, (h - ch) // 2
    return np.asarray(rgb.crop((left, top, left + cw, top + ch)))


def encode(crop: np.ndarray, encoder: str, quality: int) -> bytes:
    if encoder == "libjpeg-turbo":
        buf = io.BytesIO()
        Image.fromarray(crop).save(buf, "JPEG", quality=quality, optimize=True)
        return buf.getvalue()
    return hybrid.encode(crop, quality=quality, best=encoder == "best")


def plain_and_full(
    data: bytes, model: str | None, threads: int, weights: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint16 (8, 8) luma table, plain decode, enhanced decode at strength 1) of a JPEG:
    the decodes float32 (H, W, 3) on the 0..1 scale, the network ``model`` (or ``weights``)
    with ``threads`` threads."""
    info = parse_info(data)
    luma = info.quant_tables[info.components[0].quant_index]
    plain = hybrid.decode_array(data)
    full = enhance_jpeg(
        data, info=info, model=model, weights=weights, strength=1.0, threads=threads
    )
    return luma, plain, full


def measure(files: list[Path], crop_size: int, model: str, threads: int) -> list[dict]:
    """One row per (file, encoder, quality): step, s*, mse_plain, a = <e-p, r-p>,
    b = |e-p|^2 (0..255 scale, all channels), n."""
    rows = []
    for path in files:
        crop = centre_crop(path, crop_size)
        for quality in QUALITIES:
            for encoder in ENCODERS:
                luma, plain, full = plain_and_full(encode(crop, encoder, quality), model, threads)
                fit = fit_strength(plain, full, crop)
                p = plain.astype(np.float64) * 255.0
                e = full.astype(np.float64) * 255.0
                r = crop.astype(np.float64).reshape(p.shape)
                rows.append(
                    {
                        "file": path.name,
                        "encoder": encoder,
                        "quality": quality,
                        "step": float(np.mean(luma)),
                        "taper": residual_strength(luma),
                        "optimum": fit.optimum,
                        "mse_plain": float(np.mean((p - r) ** 2)),
                        "a": float(np.sum((e - p) * (r - p))),
                        "b": float(np.sum((e - p) ** 2)),
                        "n": int(p.size),
                    }
                )
        print(path.name, file=sys.stderr, flush=True)
    return rows


def gain(row: dict, strength: float) -> float:
    """PSNR gain (dB) over the plain decode of the blend at ``strength``."""
    mse = row["mse_plain"] - (2 * strength * row["a"] - strength**2 * row["b"]) / row["n"]
    return float(10 * np.log10(row["mse_plain"] / max(mse, 1e-12)))


def markdown(rows: list[dict]) -> str:
    out = []
    for encoder in ENCODERS:
        out += [
            f"#### {encoder}",
            "",
            "| quality | mean step | s* mean | s* min | taper | gain at taper: mean | worst |"
            " at full strength: mean | worst | worst file |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|",
        ]
        for quality in QUALITIES:
            cell = [r for r in rows if r["encoder"] == encoder and r["quality"] == quality]
            if not cell:
                continue
            tapered = [gain(r, r["taper"]) for r in cell]
            full = [gain(r, 1.0) for r in cell]
            worst = int(np.argmin(full))
            out.append(
                f"| {quality} | {np.mean([r['step'] for r in cell]):.2f} "
                f"| {np.mean([r['optimum'] for r in cell]):.2f} "
                f"| {min(r['optimum'] for r in cell):.2f} "
                f"| {np.mean([r['taper'] for r in cell]):.2f} "
                f"| {np.mean(tapered):+.3f} | {min(tapered):+.3f} "
                f"| {np.mean(full):+.3f} | {min(full):+.3f} | {cell[worst]['file']} |"
            )
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data/train", help="folder of clean images")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--step", type=int, default=5, help="every N-th file (sorted)")
    parser.add_argument("--crop", type=int, default=320)
    parser.add_argument("--model", default=DEFAULT_ENHANCE_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    folder = Path(args.data)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    files = files[:: max(1, args.step)][: args.images]
    if not files:
        parser.error(f"no images in {folder}")
    rows = measure(files, args.crop, args.model, args.threads)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows))
    print(f"model {args.model}, {len(files)} centre crops of {args.crop} px from {folder}\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
