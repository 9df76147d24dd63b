#!/usr/bin/env python3
"""Codec benchmark of the foundation issue: size at equal quality, RD efficiency, encode speed.

Codecs, every file decoded by Pillow (libjpeg-turbo) and measured against the source:

* ``ref``: libjpeg-turbo (Pillow), 4:2:0, optimized Huffman, baseline: the reference;
* ``turbo444``: the same at 4:4:4;
* ``mozjpeg``: jpeglib's mozjpeg 4.0.3 with its defaults (progressive, trellis on AC and DC,
  its scan search, Robidoux's tables, 4:2:0);
* ``baseline``: ``hybrid.encode(quality=q)`` (4:2:0, baseline, optimized Huffman);
* ``rdo``: ``hybrid.encode(quality=q, rdo=True)`` (sequential);
* ``best``: ``hybrid.encode(quality=q, best=True)``.

Every codec runs the same quality sweep ``QUALITIES`` (1..95), which covers 0.15..1.0 bpp on
CBSD68 for all of them. Metrics: bits per pixel of the whole file, PSNR over R, G, B, and
MS-SSIM (:func:`hybrid.metrics.ms_ssim`, mean over R, G, B; BD-rate on it in dB,
``-10 log10(1 - MS-SSIM)``).

BD-rates (:mod:`hybrid.bench.bd`, piecewise cubic, restricted to the reference's
0.15..1.0 bpp) are computed per image and averaged over the images (the primary number),
and also once on the mean curves (mean bpp and mean metric per quality).

Speed: one 2.0 MP image (1600x1250, a mosaic of validation images) encoded repeatedly by one
process (numpy/scipy may use 2 threads); the median wall time per encode gives MP/s, and the
ratio to libjpeg-turbo's speed measured in the same run.

The command recorded in BENCHMARKS.md (about 15 minutes on 2 shared cores):

    .venv/bin/python scripts/bench_codec.py --data ../shared/data --json runs/bench_codec.json \\
        --plot docs/img/codec_rd.png --section BENCHMARKS.md \\
        --machine-note " (shared with a running training job)"

Interrupted runs resume from ``--cache`` (default: the JSON path with ``.points.jsonl``).
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Codec: size, RD efficiency and encode speed (foundation issue)"
QUALITIES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95)
EQUAL_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95)
RATE_RANGE = (0.15, 1.0)
SPEED_SIZE = (1250, 1600)  # (height, width): 2.0 MP
LABELS = {
    "ref": "libjpeg-turbo 4:2:0 (reference)",
    "turbo444": "libjpeg-turbo 4:4:4",
    "mozjpeg": "mozjpeg 4.0.3 (defaults)",
    "baseline": "hybrid baseline",
    "rdo": "hybrid RDO (sequential)",
    "best": "hybrid best (`best=True`)",
}


# --- Encoders -------------------------------------------------------------------------------


def turbo(rgb: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
    return buf.getvalue()


def mozjpeg(rgb: np.ndarray, quality: int) -> bytes:
    import jpeglib

    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.NamedTemporaryFile(suffix=".jpg", dir=folder) as tmp:
        with jpeglib.version("mozjpeg403"):
            jpeglib.from_spatial(np.ascontiguousarray(rgb)).write_spatial(tmp.name, qt=quality)
        return Path(tmp.name).read_bytes()


def hybrid_encoder(**options: object) -> Callable[[np.ndarray, int], bytes]:
    import hybrid

    def encode(rgb: np.ndarray, quality: int) -> bytes:
        return hybrid.encode(rgb, quality=quality, subsampling="4:2:0", **options)

    return encode


ENCODERS: dict[str, Callable[[np.ndarray, int], bytes]] = {
    "ref": turbo,
    "turbo444": lambda rgb, q: turbo(rgb, q, 0),
    "mozjpeg": mozjpeg,
    "baseline": hybrid_encoder(),
    "rdo": hybrid_encoder(rdo=True),
    "best": hybrid_encoder(best=True),
}


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


# --- RD sweep ------------------------------------------------------------------------------


def measure_point(name: str, rgb: np.ndarray, quality: int) -> dict[str, float]:
    from hybrid.metrics import ms_ssim, psnr

    data = ENCODERS[name](rgb, quality)
    out = decode(data)
    return {
        "bytes": len(data),
        "bpp": len(data) * 8.0 / (rgb.shape[0] * rgb.shape[1]),
        "psnr": psnr(rgb, out),
        "ms_ssim": ms_ssim(rgb, out),
    }


def sweep(files: list[Path], codecs: list[str], cache: Path) -> dict[str, dict]:
    """Measure every (codec, image, quality); resume from and append to ``cache`` (JSONL)."""
    from tqdm import tqdm

    done: dict[tuple[str, str, int], dict] = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[(rec["codec"], rec["image"], rec["quality"])] = rec
    cache.parent.mkdir(parents=True, exist_ok=True)
    todo = [
        (c, f, q) for c in codecs for f in files for q in QUALITIES if (c, f.name, q) not in done
    ]
    images: dict[str, np.ndarray] = {}
    with cache.open("a") as log:
        for name, path, q in tqdm(todo, desc="RD sweep", unit="encode", disable=not todo):
            if path.name not in images:
                images = {path.name: load_rgb(path)}  # one image in memory at a time
            rec = {"codec": name, "image": path.name, "quality": q}
            rec.update(measure_point(name, images[path.name], q))
            done[(name, path.name, q)] = rec
            log.write(json.dumps(rec) + "\n")
            log.flush()
    result = {}
    for name in codecs:
        arrays = {
            key: np.array(
                [[done[(name, f.name, q)][key] for q in QUALITIES] for f in files], np.float64
            )
            for key in ("bytes", "bpp", "psnr", "ms_ssim")
        }
        arrays["ms_ssim_db"] = -10.0 * np.log10(np.maximum(1.0 - arrays["ms_ssim"], 1e-12))
        result[name] = arrays
    return result


def bd_summary(curves: dict[str, dict], ref: str = "ref") -> dict[str, dict]:
    """BD-rate (PSNR, MS-SSIM dB) and BD-PSNR of every codec against ``ref``."""
    from hybrid.bench.bd import bd_metric, bd_rate

    out = {}
    r = curves[ref]
    for name, c in curves.items():
        entry: dict[str, object] = {}
        for metric in ("psnr", "ms_ssim_db"):
            per_image = []
            for i in range(r["bpp"].shape[0]):
                try:
                    per_image.append(
                        bd_rate(r["bpp"][i], r[metric][i], c["bpp"][i], c[metric][i], RATE_RANGE)
                    )
                except ValueError:
                    continue
            entry[f"bd_rate_{metric}"] = float(np.mean(per_image)) if per_image else None
            entry[f"bd_rate_{metric}_images"] = len(per_image)
            entry[f"bd_rate_{metric}_mean_curve"] = bd_rate(
                r["bpp"].mean(0), r[metric].mean(0), c["bpp"].mean(0), c[metric].mean(0),
                RATE_RANGE,
            )  # fmt: skip
        entry["bd_psnr_mean_curve"] = bd_metric(
            r["bpp"].mean(0), r["psnr"].mean(0), c["bpp"].mean(0), c["psnr"].mean(0), RATE_RANGE
        )
        entry["bpp_span"] = (float(c["bpp"].mean(0).min()), float(c["bpp"].mean(0).max()))
        out[name] = entry
    return out


def ref_bytes_at_psnr(curves: dict[str, dict], name: str, ref: str = "ref") -> np.ndarray:
    """Bytes the reference needs for each (image, quality) PSNR of ``name``.

    Per image, ln(bytes) of the reference is interpolated (piecewise cubic) as a function of
    its PSNR; NaN where ``name``'s PSNR is outside the reference's measured span.
    """
    from scipy.interpolate import PchipInterpolator

    from hybrid.bench.bd import monotone_curve

    a, b = curves[name], curves[ref]
    out = np.full(a["bytes"].shape, np.nan)
    for i in range(a["bytes"].shape[0]):
        rates, psnrs = monotone_curve(b["bytes"][i], b["psnr"][i])
        inside = (a["psnr"][i] >= psnrs[0]) & (a["psnr"][i] <= psnrs[-1])
        curve = PchipInterpolator(psnrs, np.log(rates))
        out[i, inside] = np.exp(curve(a["psnr"][i][inside]))
    return out


def equal_quality(curves: dict[str, dict], name: str, ref: str = "ref") -> list[dict]:
    """Summed bytes and mean PSNR of ``name`` against ``ref`` at each of EQUAL_QUALITIES, and
    the size ratio at equal PSNR (:func:`ref_bytes_at_psnr`, images inside the span)."""
    at_psnr = ref_bytes_at_psnr(curves, name, ref)
    rows = []
    for q in EQUAL_QUALITIES:
        j = QUALITIES.index(q)
        a, b = curves[name], curves[ref]
        inside = np.isfinite(at_psnr[:, j])
        rows.append(
            {
                "quality": q,
                "bytes": int(a["bytes"][:, j].sum()),
                "ref_bytes": int(b["bytes"][:, j].sum()),
                "size_ratio": float(a["bytes"][:, j].sum() / b["bytes"][:, j].sum()),
                "psnr": float(a["psnr"][:, j].mean()),
                "ref_psnr": float(b["psnr"][:, j].mean()),
                "psnr_delta": float(a["psnr"][:, j].mean() - b["psnr"][:, j].mean()),
                "images_psnr_below": int((a["psnr"][:, j] < b["psnr"][:, j]).sum()),
                "equal_psnr_ratio": float(a["bytes"][inside, j].sum() / at_psnr[inside, j].sum())
                if inside.any()
                else None,
                "equal_psnr_images": int(inside.sum()),
            }
        )
    return rows


# --- Speed ---------------------------------------------------------------------------------


def speed_image(files: list[Path]) -> np.ndarray:
    """A 1600x1250 mosaic of the validation images (landscape ones first)."""
    tiles = [load_rgb(f) for f in files[:24]]
    tiles = [t if t.shape[1] >= t.shape[0] else t.transpose(1, 0, 2) for t in tiles]
    th, tw = min(t.shape[0] for t in tiles), min(t.shape[1] for t in tiles)
    tiles = [t[:th, :tw] for t in tiles]
    h, w = SPEED_SIZE
    rows, cols = -(-h // th), -(-w // tw)
    grid = [
        np.concatenate([tiles[(r * cols + c) % len(tiles)] for c in range(cols)], axis=1)
        for r in range(rows)
    ]
    return np.ascontiguousarray(np.concatenate(grid, axis=0)[:h, :w])


SPEED_CODECS = {
    "ref": ("libjpeg-turbo 4:2:0 optimized (Pillow)", turbo),
    "mozjpeg": ("mozjpeg 4.0.3 (defaults)", mozjpeg),
    "baseline": ("hybrid baseline", hybrid_encoder()),
    "rdo": ("hybrid RDO", hybrid_encoder(rdo=True)),
    "rdo_prog": ("hybrid RDO + progressive", hybrid_encoder(rdo=True, progressive=True)),
    "best": ("hybrid best", hybrid_encoder(best=True)),
}


def measure_speed(rgb: np.ndarray, quality: int, seconds: float) -> dict[str, dict]:
    """Median encode time of each codec over repeats filling about ``seconds`` (at least 3)."""
    mp = rgb.shape[0] * rgb.shape[1] / 1e6
    out = {}
    for name, (label, encode) in SPEED_CODECS.items():
        encode(rgb, quality)  # warm up (imports, caches)
        times: list[float] = []
        while len(times) < 3 or sum(times) < seconds:
            start = time.perf_counter()
            encode(rgb, quality)
            times.append(time.perf_counter() - start)
        t = statistics.median(times)
        out[name] = {"label": label, "seconds": t, "mp_per_s": mp / t, "repeats": len(times)}
        print(f"speed {label}: {mp / t:.2f} MP/s ({len(times)} runs)", file=sys.stderr)
    ref = out["ref"]["mp_per_s"]
    for entry in out.values():
        entry["ratio_to_turbo"] = entry["mp_per_s"] / ref
    return out


# --- Report --------------------------------------------------------------------------------


def _fmt(v: float | None, digits: int = 1, unit: str = "") -> str:
    """A signed number with its unit, or n/a."""
    return "n/a" if v is None else f"{v:+.{digits}f}{unit}"


def criteria(report: dict) -> list[str]:
    """The issue's acceptance criteria against this run's numbers, as markdown bullets."""
    bd, lines = report["bd"], []
    rows = report["equal_quality"].get("baseline")
    if rows:
        worst = max(rows, key=lambda r: r["size_ratio"])
        total = sum(r["bytes"] for r in rows) / sum(r["ref_bytes"] for r in rows)
        lines.append(
            f"- Baseline at equal quality (target: within +1 % of libjpeg-turbo's size at >= "
            f"equal PSNR): size {100 * (total - 1):+.2f} % over qualities "
            f"{EQUAL_QUALITIES[0]}..{EQUAL_QUALITIES[-1]}, mean PSNR "
            f"{min(r['psnr_delta'] for r in rows):+.2f}..{max(r['psnr_delta'] for r in rows):+.2f}"
            f" dB; largest at quality {worst['quality']}: {100 * (worst['size_ratio'] - 1):+.2f} "
            f"% with {worst['psnr_delta']:+.2f} dB. BD-rate (PSNR) "
            f"{bd['baseline']['bd_rate_psnr']:+.2f} %."
        )
    if "best" in bd:
        best, moz = bd["best"], bd.get("mozjpeg")
        text = (
            f"- Best mode BD-rate (target <= -12 %, PSNR-RGB, 0.15..1.0 bpp): "
            f"{best['bd_rate_psnr']:+.1f} % (mean curves {best['bd_rate_psnr_mean_curve']:+.1f} %)"
            f"; MS-SSIM {best['bd_rate_ms_ssim_db']:+.1f} %."
        )
        if moz:
            text += (
                f" mozjpeg in the same run: {moz['bd_rate_psnr']:+.1f} % (PSNR), "
                f"{moz['bd_rate_ms_ssim_db']:+.1f} % (MS-SSIM)."
            )
        lines.append(text)
    speed = report.get("speed")
    if speed:
        lines.append(
            f"- Encode speed (targets: baseline >= 4 MP/s, RDO >= 0.5 MP/s): baseline "
            f"{speed['baseline']['mp_per_s']:.1f} MP/s, RDO {speed['rdo']['mp_per_s']:.1f} MP/s, "
            f"best {speed['best']['mp_per_s']:.1f} MP/s; libjpeg-turbo "
            f"{speed['ref']['mp_per_s']:.0f} MP/s (ratios "
            f"{speed['baseline']['ratio_to_turbo']:.3f}, {speed['rdo']['ratio_to_turbo']:.3f}, "
            f"{speed['best']['ratio_to_turbo']:.3f})."
        )
    return lines


def markdown(report: dict) -> str:
    curves, bd = report["curves"], report["bd"]
    n = report["images"]
    lines = [
        SECTION,
        "",
        f"Measured {report['date']} on {report['machine']} with:",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"Data: {n} images of `{report['data']}` (CBSD68, about 0.15 MP each). Files are "
        "decoded by Pillow (libjpeg-turbo); PSNR over R, G, B; MS-SSIM mean over R, G, B. "
        f"Quality sweep {min(QUALITIES)}..{max(QUALITIES)} ({len(QUALITIES)} points) for every "
        "codec. BD-rates against libjpeg-turbo 4:2:0 optimized, piecewise cubic, over the "
        "reference's 0.15..1.0 bpp: computed **per image and averaged** (primary), and on the "
        "mean curves. MS-SSIM BD-rates use MS-SSIM in dB, -10 log10(1 - MS-SSIM).",
        "",
        *criteria(report),
        "",
        "### RD efficiency (BD-rate vs libjpeg-turbo 4:2:0 optimized; negative = smaller)",
        "",
        "| codec | BD-rate PSNR (per image) | BD-rate MS-SSIM (per image) | BD-rate PSNR "
        "(mean curve) | BD-rate MS-SSIM (mean curve) | BD-PSNR (mean curve) | mean bpp span |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, entry in bd.items():
        lo, hi = entry["bpp_span"]
        lines.append(
            f"| {LABELS[name]} | {_fmt(entry['bd_rate_psnr'], 1, '%')} | "
            f"{_fmt(entry['bd_rate_ms_ssim_db'], 1, '%')} | "
            f"{_fmt(entry['bd_rate_psnr_mean_curve'], 1, '%')} | "
            f"{_fmt(entry['bd_rate_ms_ssim_db_mean_curve'], 1, '%')} | "
            f"{_fmt(entry['bd_psnr_mean_curve'], 2, ' dB')} | {lo:.2f}..{hi:.2f} |"
        )
    counts = {e["bd_rate_psnr_images"] for e in bd.values()}
    lines += [
        "",
        f"Per-image BD-rates average over {', '.join(map(str, sorted(counts)))} images (those "
        "whose curves overlap the range).",
        "",
    ]
    if report.get("plot"):
        lines += [f"![RD curves]({report['plot']})", ""]
    for name, title in (
        ("baseline", "Baseline at equal quality (hybrid baseline vs libjpeg-turbo, same tables)"),
        ("best", "Best mode at equal quality setting (`best=True` vs libjpeg-turbo)"),
    ):
        if name not in report["equal_quality"]:
            continue
        rows = report["equal_quality"][name]
        total = sum(r["bytes"] for r in rows) / sum(r["ref_bytes"] for r in rows)
        lines += [
            f"### {title}",
            "",
            f"Summed over the {n} images; all qualities together: size ratio {total:.4f}. "
            "The last column compares with the bytes libjpeg-turbo needs for the same PSNR "
            "(per image, its log-size interpolated piecewise-cubically in PSNR; images whose "
            "PSNR lies outside its measured curve are left out).",
            "",
            "| quality | hybrid bytes | libjpeg-turbo bytes | size ratio | hybrid PSNR | "
            "libjpeg-turbo PSNR | PSNR delta | images with lower PSNR | size ratio at equal "
            "PSNR (images) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in rows:
            ratio = r["equal_psnr_ratio"]
            at_psnr = "n/a" if ratio is None else f"{ratio:.4f} ({r['equal_psnr_images']})"
            lines.append(
                f"| {r['quality']} | {r['bytes']} | {r['ref_bytes']} | {r['size_ratio']:.4f} | "
                f"{r['psnr']:.2f} | {r['ref_psnr']:.2f} | {r['psnr_delta']:+.2f} | "
                f"{r['images_psnr_below']} | {at_psnr} |"
            )
        lines.append("")
    lines += [
        "### Mean curves",
        "",
        "| quality | " + " | ".join(f"{k} bpp / PSNR / MS-SSIM" for k in curves) + " |",
        "| ---: | " + " | ".join("---:" for _ in curves) + " |",
    ]
    for j, q in enumerate(QUALITIES):
        cells = [
            f"{c['bpp'][:, j].mean():.3f} / {c['psnr'][:, j].mean():.2f} / "
            f"{c['ms_ssim'][:, j].mean():.4f}"
            for c in curves.values()
        ]
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines += [
        "Notes:",
        "",
        "- hybrid best is `hybrid.encode(image, quality=q, best=True)` "
        "(`EncodeOptions.best(q)`): PSNR-tuned tables (`hybrid.codec.quant.psnr_quant_tables`), "
        "trellis quantization of AC (RGB-weighted squared error, one multiplier per image, mild "
        "texture adaptation `rdo_activity=0.5`) and DC, progressive with a search over two scan "
        "scripts, optimal Huffman tables. hybrid RDO is `rdo=True` alone (sequential, Annex K "
        "tables).",
        "- CBSD68 images are decoded JPEGs (BSDS500). At quality 95 an encoder whose DCT and "
        "tables fall on the originals' grid gains PSNR out of proportion (hybrid baseline 54 dB "
        "against libjpeg-turbo's 50 dB, best mode 43 dB), so the quality-95 rows say little "
        "about compression; the BD range (0.15..1.0 bpp) ends near quality 40..50 of the "
        "reference.",
        "- Sizes include each encoder's headers; hybrid writes a 33-byte APP11 segment (its "
        "metadata) into every file: +1.1 % at 0.15 bpp and +0.2 % at 1 bpp on these 0.15 MP "
        "images, most of hybrid baseline's BD-rate against libjpeg-turbo.",
        "",
    ]
    speed = report.get("speed")
    if speed:
        h, w = SPEED_SIZE
        lines += [
            f"### Encode speed ({w}x{h} = {w * h / 1e6:.1f} MP, quality {report['speed_quality']}, "
            "median of repeated encodes, one process)",
            "",
            "| encoder | MP/s | seconds per image | vs libjpeg-turbo |",
            "| --- | ---: | ---: | ---: |",
        ]
        for entry in speed.values():
            lines.append(
                f"| {entry['label']} | {entry['mp_per_s']:.2f} | {entry['seconds']:.3f} | "
                f"{entry['ratio_to_turbo']:.3f}x |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(curves: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=80)
    styles = {
        "ref": ("k", "--", 2.0),
        "turbo444": ("0.55", "--", 1.2),
        "mozjpeg": ("tab:green", "--", 1.5),
        "baseline": ("tab:red", ":", 1.2),
        "rdo": ("tab:purple", "-", 1.2),
        "best": ("tab:blue", "-", 2.0),
    }
    for name, c in curves.items():
        bpp = c["bpp"].mean(0)
        keep = (bpp <= 1.6) & (c["psnr"].mean(0) >= 20.0)
        colour, line, width = styles[name]
        for ax, key in zip(axes, ("psnr", "ms_ssim_db"), strict=True):
            ax.plot(
                bpp[keep], c[key].mean(0)[keep], line, color=colour, lw=width, marker=".",
                label=LABELS[name],
            )  # fmt: skip
    for ax, ylabel in zip(axes, ("PSNR-RGB (dB)", "MS-SSIM (dB)"), strict=True):
        ax.axvspan(*RATE_RANGE, color="0.93", zorder=0)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("CBSD68 mean curves (shaded: the BD-rate range)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def replace_section(document: str, section: str) -> str:
    """``document`` with the ``SECTION`` heading's section (up to the next ``## `` heading)
    replaced by ``section``, or ``section`` appended when there is none."""
    lines = document.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if not section.endswith("\n"):
        section += "\n"
    if start is None:
        base = document if document.strip() else "# Benchmarks\n"
        return base.rstrip("\n") + "\n\n" + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + tail if tail else "")


def _json_ready(curves: dict[str, dict]) -> dict:
    return {
        name: {k: np.round(v, 6).tolist() for k, v in arrays.items()}
        for name, arrays in curves.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, help="only the first N images (trial runs)")
    parser.add_argument("--json", type=Path, help="write every measurement and summary here")
    parser.add_argument("--cache", type=Path, help="resume file (default: next to --json)")
    parser.add_argument("--plot", type=Path, help="RD plot PNG (PSNR and MS-SSIM vs bpp)")
    parser.add_argument("--section", type=Path, help="write the markdown section into this file")
    parser.add_argument("--codecs", default=",".join(ENCODERS), help="comma-separated subset")
    parser.add_argument("--speed-seconds", type=float, default=6.0, help="per codec")
    parser.add_argument("--speed-quality", type=int, default=75)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--machine-note", default="", help="e.g. ' (shared with training)'")
    raw_args = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw_args)

    import torch

    torch.set_num_threads(1)
    folder = args.data / "val" if (args.data / "val").is_dir() else args.data
    files = sorted(folder.glob("*.png"))[: args.limit]
    if not files:
        parser.error(f"no PNG images in {folder}")
    codecs = [c for c in args.codecs.split(",") if c]
    if "ref" not in codecs:
        codecs.insert(0, "ref")
    unknown = set(codecs) - set(ENCODERS)
    if unknown:
        parser.error(f"unknown codecs: {sorted(unknown)}")
    default_cache = ROOT / "runs" / "bench_codec.points.jsonl"
    cache = args.cache or (args.json.with_suffix(".points.jsonl") if args.json else default_cache)

    curves = sweep(files, codecs, cache)
    report: dict = {
        "section": SECTION,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores{args.machine_note}, "
        f"Python {platform.python_version()}",
        "command": shlex.join([".venv/bin/python", "scripts/bench_codec.py", *raw_args]),
        "data": str(folder),
        "images": len(files),
        "qualities": list(QUALITIES),
        "rate_range": list(RATE_RANGE),
        "bd": bd_summary(curves),
        "equal_quality": {
            name: equal_quality(curves, name) for name in ("baseline", "best") if name in curves
        },
        "curves": curves,
    }
    if args.plot:
        plot(curves, args.plot)
        report["plot"] = os.path.relpath(args.plot, (args.section or ROOT / "x").parent)
    if not args.no_speed:
        report["speed_quality"] = args.speed_quality
        report["speed"] = measure_speed(speed_image(files), args.speed_quality, args.speed_seconds)
    text = markdown(report)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**report, "curves": _json_ready(curves)}, indent=1))
    if args.section:
        from hybrid.io import atomic_write

        old = args.section.read_text() if args.section.exists() else ""
        atomic_write(args.section, replace_section(old, text).encode(), force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
