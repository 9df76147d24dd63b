"""Fit the photo / screen content classifier (issue 18) and write hybrid/enhance/content_params.py.

    python scripts/fit_content.py                       # encode, fit, write, evaluate
    python scripts/fit_content.py --no-write            # fit and evaluate, keep the params file

Training data (never the validation images): the screenshots of ``build/screens/train``
(made by scripts/make_screens.py) and the photographs of ``../shared/data/train``. Each
source image gives a few randomly cropped / rescaled variants, each encoded once at a
quality drawn from 10..95 by one of: Pillow (libjpeg-turbo) 4:2:0, 4:4:4 or greyscale, or
hybrid's own encoder (default or ``best=True``). Photographs are also upscaled up to 2.5x,
so that smooth (high-resolution-like) photos are in the training set, and a quarter of them
get clipped levels (blown-out skies and snow look like a page background).

The model is a logistic regression over :func:`hybrid.enhance.content.content_features`,
fitted by Newton's method (IRLS) with a small L2 penalty, classes weighted equally. The
validation report uses ``build/screens/val`` (generated, docs, charts; ``mixed`` pages with
a photograph inside are reported apart) and CBSD68 (``../shared/data/val``), each encoded at
q20/30/50/75/90 by libjpeg-turbo 4:2:0, hybrid's default encoder and hybrid ``best=True``
(and at q20/50/90 by libjpeg-turbo 4:4:4 and greyscale); what it says on the real-world
corpus ``../shared/realworld``; and its cost against a plain decode, the ``load_planes``
read and the enhanced decode of the same files. The report is Markdown, for BENCHMARKS.md
(docs/content_classifier_results.md).

Encoded files are cached under ``--cache`` (named by a hash of what made them), so a rerun
only recomputes features. Everything is seeded; a rerun writes the same parameters.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hybrid  # noqa: E402
from hybrid.enhance import content, content_params  # noqa: E402
from hybrid.enhance.jpeg_input import load_planes  # noqa: E402

SCREENS = ROOT / "build" / "screens"
PHOTOS_TRAIN = ROOT.parent / "shared" / "data" / "train"
PHOTOS_VAL = ROOT.parent / "shared" / "data" / "val"
PARAMS_PATH = ROOT / "hybrid" / "enhance" / "content_params.py"
SCREEN_KINDS = ("generated", "docs", "charts")
VAL_QUALITIES = (20, 30, 50, 75, 90)
VAL_ENCODERS = ("libjpeg-turbo", "hybrid", "hybrid-best")
#: Encoders of the training variants and how often each is drawn.
TRAIN_ENCODERS = {
    "libjpeg-turbo": 0.45,
    "libjpeg-turbo-444": 0.15,
    "libjpeg-turbo-grey": 0.10,
    "hybrid": 0.20,
    "hybrid-best": 0.10,
}
SCREEN_VARIANTS = 3
PHOTO_VARIANTS = 10
#: Share of photo variants given clipped levels (blown-out skies and snow, crushed shadows:
#: large flat areas of one value, which screens have and most photos do not).
PHOTO_LEVELS_SHARE = 0.25
L2 = 1e-3


@dataclass(frozen=True)
class Job:
    """One encoded sample: a source image, how it is cropped / resized, how it is encoded.

    ``scale`` resizes the source first (Lanczos; 1.0 keeps it); ``crop`` is (left, top,
    right, bottom) in the resized image; ``levels`` = (gain, offset) maps a value v to
    clip(gain * v + offset, 0, 255), as an over- or under-exposed photo clips.
    """

    label: int  # 0 photo, 1 screen
    group: str  # screen kind or "photo"
    path: str
    encoder: str
    quality: int
    scale: float = 1.0
    crop: tuple[int, int, int, int] | None = None
    levels: tuple[float, float] | None = None

    def key(self) -> str:
        """A stable name for the cached file: a hash of the fields (``levels`` when set)."""
        fields = {k: v for k, v in asdict(self).items() if k != "levels" or v is not None}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]


def _source_pixels(job: Job) -> np.ndarray:
    with Image.open(ROOT / job.path) as im:
        im = im.convert("RGB")
        if job.scale != 1.0:
            size = (max(16, round(im.width * job.scale)), max(16, round(im.height * job.scale)))
            im = im.resize(size, Image.Resampling.LANCZOS)
        if job.crop is not None:
            im = im.crop(job.crop)
        pixels = np.asarray(im)
    if job.levels is not None:
        gain, offset = job.levels
        pixels = np.clip(np.rint(pixels * gain + offset), 0, 255).astype(np.uint8)
    return pixels


def encode_job(job: Job) -> bytes:
    """The JPEG bytes of ``job``."""
    pixels = _source_pixels(job)
    if job.encoder.startswith("hybrid"):
        return hybrid.encode(pixels, quality=job.quality, best=job.encoder == "hybrid-best")
    im = Image.fromarray(pixels)
    buf = io.BytesIO()
    if job.encoder == "libjpeg-turbo-grey":
        im.convert("L").save(buf, "JPEG", quality=job.quality)
    else:
        sub = 0 if job.encoder == "libjpeg-turbo-444" else 2
        im.save(buf, "JPEG", quality=job.quality, subsampling=sub)
    return buf.getvalue()


def cached_encode(job: Job, cache: Path) -> bytes:
    path = cache / f"{job.key()}.jpg"
    if path.exists():
        return path.read_bytes()
    data = encode_job(job)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def _rel(path: Path) -> str:
    """``path`` relative to the checkout (``../shared/...`` for the shared data)."""
    return os.path.relpath(path.resolve(), ROOT.resolve())


def _random_crop(rng: np.random.Generator, w: int, h: int, lo: float) -> tuple[int, ...]:
    cw = int(w * rng.uniform(lo, 1.0))
    ch = int(h * rng.uniform(lo, 1.0))
    cw, ch = max(min(w, 64), cw), max(min(h, 64), ch)
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    return (x0, y0, x0 + cw, y0 + ch)


def train_jobs(seed: int) -> list[Job]:
    """The training samples, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    names = list(TRAIN_ENCODERS)
    probs = np.array(list(TRAIN_ENCODERS.values()))
    jobs: list[Job] = []
    sources: list[tuple[int, str, Path, int]] = []
    for kind in SCREEN_KINDS:
        for path in sorted((SCREENS / "train" / kind).glob("*.png")):
            sources.append((1, kind, path, SCREEN_VARIANTS))
    for path in sorted(PHOTOS_TRAIN.glob("*.webp")):
        sources.append((0, "photo", path, PHOTO_VARIANTS))
    for label, group, path, variants in sources:
        with Image.open(path) as im:
            w0, h0 = im.size
        for _ in range(variants):
            if label:  # screens: mostly at their own size, some shown reduced
                scale = 1.0 if rng.random() < 0.7 else float(rng.uniform(0.5, 1.0))
            else:  # photos: reduced or enlarged (smooth, like high-resolution photos)
                scale = float(np.exp(rng.uniform(np.log(0.5), np.log(2.5))))
            w, h = max(16, round(w0 * scale)), max(16, round(h0 * scale))
            crop = _random_crop(rng, min(w, 1024), min(h, 1024), 0.5)
            if w > 1024 or h > 1024:  # a window of a large enlargement, anywhere in it
                dx = int(rng.integers(0, max(0, w - 1024) + 1))
                dy = int(rng.integers(0, max(0, h - 1024) + 1))
                crop = (crop[0] + dx, crop[1] + dy, crop[2] + dx, crop[3] + dy)
            levels = None
            if not label and rng.random() < PHOTO_LEVELS_SHARE:
                gain = float(rng.uniform(1.0, 1.5))
                levels = (round(gain, 3), round(float(rng.uniform(-0.3, 0.1)) * 255 * gain, 1))
            jobs.append(
                Job(
                    label=label,
                    group=group,
                    path=_rel(path),
                    encoder=str(rng.choice(names, p=probs)),
                    quality=int(rng.integers(10, 96)),
                    scale=round(scale, 4),
                    crop=crop,
                    levels=levels,
                )
            )
    return jobs


def val_jobs(
    encoders: tuple[str, ...] = VAL_ENCODERS, qualities: tuple[int, ...] = VAL_QUALITIES
) -> list[Job]:
    """The validation samples: every val image, whole, at each quality and encoder."""
    sources: list[tuple[int, str, Path]] = []
    for kind in (*SCREEN_KINDS, "mixed"):
        sources += [(1, kind, p) for p in sorted((SCREENS / "val" / kind).glob("*.png"))]
    sources += [(0, "photo", p) for p in sorted(PHOTOS_VAL.glob("*.png"))]
    return [
        Job(
            label=label,
            group=group,
            path=_rel(path),
            encoder=enc,
            quality=q,
        )
        for enc in encoders
        for q in qualities
        for label, group, path in sources
    ]


def job_features(jobs: list[Job], cache: Path, what: str) -> np.ndarray:
    """float64 (N, F) features of the jobs' files (encoding those not cached yet)."""
    cache.mkdir(parents=True, exist_ok=True)
    rows = []
    t0 = time.perf_counter()
    for i, job in enumerate(jobs):
        planes = load_planes(cached_encode(job, cache))
        rows.append(content.content_features(planes))
        if (i + 1) % 200 == 0 or i + 1 == len(jobs):
            print(f"  {what}: {i + 1}/{len(jobs)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return np.stack(rows)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float = L2, iters: int = 50
) -> tuple[np.ndarray, float]:
    """Weighted L2-penalised logistic regression by Newton's method (IRLS).

    x: float64 (N, F) standardised features; y: (N,) 0/1; weights: (N,) summing to 1.
    Returns (weights (F,), bias); the bias is not penalised.
    """
    n, f = x.shape
    a = np.concatenate([x, np.ones((n, 1))], axis=1)
    theta = np.zeros(f + 1)
    penalty = np.full(f + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ theta)))
        grad = a.T @ (weights * (p - y)) + penalty * theta
        hess = (a * (weights * p * (1 - p))[:, None]).T @ a + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """(N,) sample weights giving each class half of the total (1)."""
    w = np.where(y == 1, 0.5 / max(1, int((y == 1).sum())), 0.5 / max(1, int((y == 0).sum())))
    return w


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) float64 (F,) of the columns of ``x`` (N, F); a constant column gets 1."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-12, scale, 1.0)


def write_params(path: Path, model: Model, summary: str) -> None:
    """Write the generated parameter module (formatted as ``ruff format`` leaves it)."""

    def tup(values: np.ndarray) -> str:
        return "(\n" + "".join(f"    {float(v)!r},\n" for v in values) + ")"

    names = "(\n" + "".join(f'    "{n}",\n' for n in content.FEATURE_NAMES) + ")"
    text = (
        '"""Parameters of the photo / screen classifier in :mod:`hybrid.enhance.content`.\n\n'
        "GENERATED FILE, do not edit: written by ``python scripts/fit_content.py``.\n"
        f"{summary}\n"
        '"""\n\n'
        f"FEATURE_NAMES = {names}\n"
        f"FEATURE_MEAN = {tup(model.mean)}\n"
        f"FEATURE_SCALE = {tup(model.scale)}\n"
        f"WEIGHTS = {tup(model.weights)}\n"
        f"BIAS = {float(model.bias)!r}\n"
        f"THRESHOLD = {float(model.threshold)!r}\n"
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


@dataclass(frozen=True)
class Model:
    """The fitted logistic regression (what content_params.py holds)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    def is_screen(self, x: np.ndarray) -> np.ndarray:
        """bool (N,): the decisions for features ``x`` (N, F), as classify_content makes them."""
        logit = (x - self.mean) / self.scale @ self.weights + self.bias
        return 0.5 * (1.0 + np.tanh(0.5 * logit)) >= self.threshold


def accuracy_table(jobs: list[Job], screen: np.ndarray, encoders: tuple[str, ...]) -> str:
    """Markdown: accuracy per encoder and quality on screens (no mixed) and photos, and the
    share of mixed pages called screen. ``screen``: (N,) bool decisions for ``jobs``."""
    enc = np.array([j.encoder for j in jobs])
    qual = np.array([j.quality for j in jobs])
    group = np.array([j.group for j in jobs])
    label = np.array([j.label for j in jobs], dtype=bool)
    lines = [
        "| encoder | quality | screens correct | photos (CBSD68) correct "
        "| mixed pages called screen |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in encoders:
        for q in sorted(set(qual[enc == e].tolist())):
            m = (enc == e) & (qual == q)
            scr = m & label & (group != "mixed")
            pho = m & (group == "photo")
            mix = m & (group == "mixed")
            lines.append(
                f"| {e} | {q} | {_share(screen[scr])} | {_share(~screen[pho])} "
                f"| {_share(screen[mix])} |"
            )
    return "\n".join(lines)


def _share(hits: np.ndarray) -> str:
    return f"{100 * hits.mean():.1f} % ({int(hits.sum())}/{hits.size})" if hits.size else "-"


def _best_seconds(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls of ``fn`` (after one warm-up call): the cost
    with the least interference from other work on the machine."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _enhanced_seconds(data: bytes) -> float:
    """One enhanced decode (the default model, one thread: another job shares this machine)
    of ``data``; NaN without weights."""
    from hybrid.errors import WeightsError

    try:
        t0 = time.perf_counter()
        hybrid.decode(data, enhance=True, threads=1)
        return time.perf_counter() - t0
    except WeightsError:
        return float("nan")


def cost_table(jobs: list[Job], cache: Path, repeats: int) -> str:
    """Markdown: classifier time against the plain decode (``hybrid.decode``), the
    :func:`load_planes` read that an enhanced decode starts with, and the enhanced decode
    itself, on every 4th validation image at quality 50, by image group and encoder."""
    lines = [
        "| images | encoder | pixels | classify (ms) | plain decode (ms) | classify / plain "
        "decode | load_planes (ms) | classify / load_planes | enhanced decode (ms) "
        "| classify / enhanced |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    groups: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        if job.quality == 50 and job.group != "mixed":
            kind = "photos (CBSD68)" if job.group == "photo" else "screens"
            groups.setdefault((kind, job.encoder), []).append(job)
    _enhanced_seconds(cached_encode(jobs[0], cache))  # load the network once
    for (kind, encoder), members in sorted(groups.items()):
        rows = []
        for job in members[::4]:
            data = cached_encode(job, cache)
            planes = load_planes(data)
            rows.append(
                (
                    _best_seconds(lambda p=planes: content.classify_content(p), repeats),
                    _best_seconds(lambda d=data: hybrid.decode(d).load(), repeats),
                    _best_seconds(lambda d=data: load_planes(d), repeats),
                    _enhanced_seconds(data),
                    planes.pixels.shape[0] * planes.pixels.shape[1],
                )
            )
        c, d, lp, en, px = (np.array(v) for v in zip(*rows, strict=True))
        lines.append(
            f"| {kind} ({len(rows)}) | {encoder} | {int(np.median(px))} "
            f"| {1e3 * np.median(c):.3f} | {1e3 * np.median(d):.2f} "
            f"| {100 * np.median(c / d):.1f} % (max {100 * np.max(c / d):.1f} %) "
            f"| {1e3 * np.median(lp):.2f} | {100 * np.median(c / lp):.1f} % "
            f"| {1e3 * np.median(en):.0f} | {100 * np.median(c / en):.2f} % |"
        )
    return "\n".join(lines)


def realworld_summary(folder: Path) -> str:
    """One paragraph: what the classifier says on the real-world regression corpus (files from
    cameras, phones and test suites; not used for fitting), naming the files called screen."""
    import warnings

    from hybrid.errors import HybridError

    screens, photos = [], 0
    for path in sorted(folder.glob("*/*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".mpo"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                planes = load_planes(path.read_bytes())
        except HybridError:
            continue  # CMYK, 12-bit, arithmetic, damaged: not for the enhanced decode
        if content.classify_content(planes).label == "screen":
            h, w = planes.pixels.shape[:2]
            screens.append(f"{path.parent.name}/{path.name} ({w}x{h})")
        else:
            photos += 1
    return (
        f"\nReal-world corpus ({folder}, {photos + len(screens)} readable files): "
        f"{photos} called photo, {len(screens)} called screen: {', '.join(screens) or 'none'}."
    )


def mixed_summary(decided: list[tuple[Job, bool]]) -> str:
    """One paragraph: how the mixed pages (a photo inside a page) were classified."""
    per_page: dict[str, list[bool]] = {}
    for job, screen in decided:
        if job.group == "mixed":
            per_page.setdefault(job.path, []).append(screen)
    calls = np.array([s for v in per_page.values() for s in v])
    shares = {Path(p).name: float(np.mean(v)) for p, v in sorted(per_page.items())}
    photo = [n for n, v in shares.items() if v == 0.0]
    split = [f"{n} ({100 * v:.0f} % screen)" for n, v in shares.items() if 0.0 < v < 1.0]
    return (
        f"\nMixed pages (a photograph inside a generated page; {len(per_page)} pages x "
        f"{len(calls) // max(1, len(per_page))} encodings): called screen "
        f"{100 * calls.mean():.1f} % of the time. Always photo: {', '.join(photo) or 'none'}. "
        f"Depending on the encoding: {', '.join(split) or 'none'}. The others: always screen."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "content_fit")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite the params")
    parser.add_argument("--timing-repeats", type=int, default=15)
    args = parser.parse_args(argv)
    if not any((SCREENS / "train").glob("*/*.png")):
        parser.error(f"no screenshots under {SCREENS}: run scripts/make_screens.py first")

    jobs = train_jobs(args.seed)
    y = np.array([j.label for j in jobs], dtype=np.float64)
    print(f"training samples: {len(jobs)} ({int(y.sum())} screens, {int((1 - y).sum())} photos)")
    x = job_features(jobs, args.cache, "train")
    mean, scale = standardise(x)
    weights, bias = fit_logistic((x - mean) / scale, y, balanced_weights(y))
    model = Model(mean, scale, weights, bias, threshold=0.5)
    train_screen = model.is_screen(x)
    train_acc = {
        "screens": float(np.mean(train_screen[y == 1])),
        "photos": float(np.mean(~train_screen[y == 0])),
    }
    print(f"train accuracy: screens {train_acc['screens']:.4f}, photos {train_acc['photos']:.4f}")
    for name, w in zip(content.FEATURE_NAMES, weights, strict=True):
        print(f"  {name:18s} {w:+.3f}")
    print(f"  {'bias':18s} {bias:+.3f}")
    if not args.no_write:
        summary = (
            f"Fitted (seed {args.seed}) on {len(jobs)} encoded training images: "
            f"{int(y.sum())} from build/screens/train\n"
            f"(scripts/make_screens.py) and {int((1 - y).sum())} from ../shared/data/train, "
            "at qualities 10..95\nby libjpeg-turbo (4:2:0, 4:4:4, greyscale) and hybrid "
            "(default and best=True);\nvalidation results in docs/content_classifier_results.md."
        )
        write_params(PARAMS_PATH, model, summary)
        importlib.reload(content_params)
        probe = x[:50]
        written = [content.screen_probability(f) >= content_params.THRESHOLD for f in probe]
        assert written == model.is_screen(probe).tolist(), "written parameters disagree"
        print(f"wrote {PARAMS_PATH.relative_to(ROOT)}")

    report = []
    vjobs = val_jobs()
    vscreen = model.is_screen(job_features(vjobs, args.cache, "val"))
    report.append("### Accuracy on the validation sets\n")
    report.append(accuracy_table(vjobs, vscreen, VAL_ENCODERS))
    other = ("libjpeg-turbo-444", "libjpeg-turbo-grey")
    ejobs = val_jobs(other, (20, 50, 90))
    escreen = model.is_screen(job_features(ejobs, args.cache, "val, other"))
    report.append("\n### Other libjpeg-turbo settings (robustness)\n")
    report.append(accuracy_table(ejobs, escreen, other))
    decided = list(zip(vjobs + ejobs, np.concatenate([vscreen, escreen]).tolist(), strict=True))
    wrong = [
        f"{j.path} ({j.encoder} q{j.quality})"
        for j, s in decided
        if j.group != "mixed" and s != bool(j.label)
    ]
    report.append("\nMisclassified (mixed pages excluded): " + ("; ".join(wrong) or "none"))
    report.append(mixed_summary(decided))
    realworld = ROOT.parent / "shared" / "realworld"
    if realworld.is_dir():
        report.append(realworld_summary(realworld))
    report.append("\n### Cost (quality 50; medians over images of the fastest of repeated runs)\n")
    report.append(cost_table(vjobs, args.cache, args.timing_repeats))
    report.append(
        f"\nTrain accuracy (resubstitution): screens {100 * train_acc['screens']:.2f} %, "
        f"photos {100 * train_acc['photos']:.2f} %."
    )
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
