"""The benchmark sweep: every image of a folder, every codec, every setting of its sweep.

Images carry a content class: ``photo`` for the images of the main folder, ``screen`` for
those of the screenshot folders (``screens=``; text, UI, graphics), so that reports can be
given per class (:mod:`hybrid.bench.report`). Every point records its image's class.

Each measured point is a plain dict (see :func:`measure_image`): bits per pixel of the
original, PSNR-RGB, PSNR-Y, SSIM, MS-SSIM against the original, and encode and decode wall
times (one thread each, after an untimed warm-up in the same process). With ``butteraugli``
(the default wherever libjxl's ``butteraugli_main`` is installed, :mod:`hybrid.perceptual`)
a point also holds the butteraugli 3-norm and max-norm distances of the decode; about 0.1 s
more per point at 481x321.

Resuming: points are appended, one JSON line each, to a cache file as soon as an image is
done. A point is reused when its key matches: codec, setting, image name, the image file's
sha256, the codec's version string (library versions; for hybrid, a hash of its codec sources
and of the model files it decodes with) and :data:`BENCH_VERSION`. So an interrupted run
picks up where it stopped, and a changed codec or model is measured again. Butteraugli is
not in the key: a run that measures it counts a cached point without it as missing and
measures that image's points again, encodes and decodes included (the cache keeps values,
not the files, which would take hundreds of megabytes for a full sweep); the new line
replaces the old one, with the same values for every deterministic codec. The content class
is not in the key: it is a label of the plan's image, not something the codecs are told (the
enhanced decoders pick their model from the file itself), and every returned point takes its
class from the plan, never from the cache. Image names differ between classes anyway
(screenshots are named ``folder/file``).

``jobs > 1`` measures images in parallel worker processes (``spawn``; one image per task).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.bench.codecs import REFERENCE, codec_names, get_codec
from hybrid.codec.metadata import CONTENT_CODES

__all__ = [
    "BENCH_VERSION",
    "CONTENT_CLASSES",
    "IMAGE_SUFFIXES",
    "BenchImage",
    "BenchPlan",
    "load_cache",
    "measure_image",
    "plan_bench",
    "run_bench",
]

#: Bump when what a point measures changes (metric definitions, timing method).
BENCH_VERSION = 1
IMAGE_SUFFIXES = frozenset(".png .ppm .pnm .bmp .tif .tiff .webp .jpg .jpeg".split())
WARM_UP_SIDE = 64
#: The content classes an image can be tagged with (the classes of hybrid's APP11 record), in
#: report order: ``photo`` (the main folder), ``screen`` (screenshots, text, graphics).
CONTENT_CLASSES: tuple[str, ...] = tuple(CONTENT_CODES)


@dataclass(frozen=True)
class BenchImage:
    """One test image: ``name`` (the file name; ``folder/file`` for a screenshot), ``path``,
    file ``sha256`` and ``content`` class (a name of :data:`CONTENT_CLASSES`)."""

    name: str
    path: str
    sha256: str
    content: str = "photo"


@dataclass(frozen=True)
class BenchPlan:
    """What a run measures.

    Attributes:
        images: the test images, sorted by name.
        codecs: the codec names to measure (available ones only; the reference first).
        skipped: (codec name, why) for codecs that were asked for but are not usable here.
        notes: (codec name, how it runs here) for the measured codecs.
        quick: the quick sweeps instead of the full ones.
        versions: codec name -> version string (part of every point's cache key).
        butteraugli: measure butteraugli distances too (:mod:`hybrid.perceptual`).
        butteraugli_version: the tool's build (:func:`hybrid.perceptual.butteraugli_version`)
            when ``butteraugli``, else empty; a cached distance of another build is measured
            again.
    """

    images: tuple[BenchImage, ...]
    codecs: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    notes: tuple[tuple[str, str], ...]
    quick: bool
    versions: dict[str, str] = field(hash=False)
    butteraugli: bool = False
    butteraugli_version: str = ""

    @property
    def classes(self) -> tuple[str, ...]:
        """The content classes of the images, in :data:`CONTENT_CLASSES` order."""
        present = {i.content for i in self.images}
        return tuple(c for c in CONTENT_CLASSES if c in present)

    def tasks(self) -> list[tuple[str, float]]:
        """Every (codec, setting) of the plan."""
        return [(c, s) for c in self.codecs for s in get_codec(c).sweep(self.quick)]

    def key(self, codec: str, setting: float, image: BenchImage) -> str:
        return (
            f"{codec}|{setting:g}|{image.name}|{image.sha256}|{self.versions[codec]}"
            f"|bench{BENCH_VERSION}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_images(directory: Path, limit: int | None = None) -> list[Path]:
    """Image files directly in ``directory`` (by suffix), sorted by name, at most ``limit``."""
    from hybrid.errors import InputError

    if not directory.is_dir():
        raise InputError(f"{directory} is not a directory")
    paths = sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not paths:
        raise InputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {directory}")
    return paths[:limit] if limit is not None else paths


def _in_turn(folders: list[list[Path]], limit: int | None) -> list[Path]:
    """The images of several folders taken one from each in turn (each in name order), at
    most ``limit``: a limit samples every folder alike."""
    taken: list[Path] = []
    for row in range(max(len(f) for f in folders)):
        taken += [f[row] for f in folders if row < len(f)]
    return taken[:limit] if limit is not None else taken


def _screen_images(screens: list[Path], limit: int | None) -> list[BenchImage]:
    """The ``screen`` images of the ``screens`` folders, named ``folder/file``."""
    paths = _in_turn([list_images(folder) for folder in screens], limit)
    return [BenchImage(f"{p.parent.name}/{p.name}", str(p), _sha256(p), "screen") for p in paths]


def plan_bench(
    directory: str | os.PathLike[str],
    *,
    codecs: Iterable[str] | None = None,
    quick: bool = False,
    limit: int | None = None,
    screens: Iterable[str | os.PathLike[str]] = (),
    butteraugli: bool | None = None,
) -> BenchPlan:
    """Plan a run over the images of ``directory`` (class ``photo``) and of the ``screens``
    folders (class ``screen``) with ``codecs`` (default: all known).

    ``butteraugli``: measure butteraugli distances (True: ``butteraugli_main`` must be
    installed; None: wherever it is, see :func:`butteraugli_note`; False: never).

    ``limit`` caps each class: the first ``limit`` photos by name, and ``limit`` screenshots
    taken from the ``screens`` folders in turn. The reference (libjpeg-turbo 4:2:0) is always
    measured: every BD-rate needs it. Codecs that are not installed are skipped with a note,
    never an error.

    Raises:
        InputError: not a folder, no images in it, an unknown codec name, ``limit < 1``,
            two screenshot folders of the same name holding a file of the same name, or
            ``butteraugli=True`` without ``butteraugli_main``.
    """
    from hybrid.errors import InputError
    from hybrid.perceptual import butteraugli_tool, butteraugli_version, require_butteraugli

    if butteraugli:
        require_butteraugli()
    measure_butteraugli = butteraugli_tool() is not None if butteraugli is None else butteraugli
    if limit is not None and limit < 1:
        raise InputError(f"limit must be at least 1, got {limit}")
    wanted = list(codecs) if codecs is not None else list(codec_names())
    unknown = [c for c in wanted if c not in codec_names()]
    if unknown:
        raise InputError(
            f"unknown codec(s) {', '.join(unknown)} (known: {', '.join(codec_names())})"
        )
    ordered = [REFERENCE] + [c for c in codec_names() if c in wanted and c != REFERENCE]
    measured, skipped, notes = [], [], []
    for name in ordered:
        ok, note = get_codec(name).available()
        if ok:
            measured.append(name)
            notes.append((name, note))
        else:
            skipped.append((name, note))
    if REFERENCE not in measured:
        raise InputError(
            f"the reference codec {REFERENCE} is not usable: {dict(skipped)[REFERENCE]}"
        )
    root = Path(directory)
    photos = [BenchImage(p.name, str(p), _sha256(p)) for p in list_images(root, limit)]
    shots = _screen_images([Path(s) for s in screens], limit) if screens else []
    names = [i.name for i in shots]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"screenshot folders of the same name hold the same files: {twice[0]}")
    images = tuple(photos + shots)
    versions = {name: get_codec(name).version() for name in measured}
    return BenchPlan(
        images, tuple(measured), tuple(skipped), tuple(notes), quick, versions,
        measure_butteraugli, butteraugli_version() if measure_butteraugli else "",
    )  # fmt: skip


def butteraugli_note(plan: BenchPlan) -> str | None:
    """What to tell the user when a plan leaves butteraugli out because the tool is missing
    (None when it measures butteraugli or the tool is installed)."""
    from hybrid.perceptual import BUTTERAUGLI_TOOL, INSTALL_HINT, butteraugli_tool

    if plan.butteraugli or butteraugli_tool() is not None:
        return None
    return f"butteraugli not measured: {BUTTERAUGLI_TOOL} is not installed ({INSTALL_HINT})"


# --- measuring one image ---------------------------------------------------------------------

_WARM: set[tuple[str, str]] = set()


def load_rgb(path: str) -> np.ndarray:
    """uint8 (H, W, 3) RGB of an image file (greyscale and alpha are converted)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def _warm_up(codec_name: str, rgb: np.ndarray, setting: float, content: str) -> None:
    """One untimed encode+decode per codec, content class and process: imports, model
    loading (a class may decode with its own model), JIT."""
    if (codec_name, content) in _WARM:
        return
    _WARM.add((codec_name, content))
    codec = get_codec(codec_name)
    try:
        codec.decode(
            get_codec(codec.encoder_name).encode(rgb[:WARM_UP_SIDE, :WARM_UP_SIDE], setting)
        )
    except Exception:  # noqa: BLE001 - the timed call reports the error
        pass


def _butteraugli(original: np.ndarray, decoded: np.ndarray) -> dict[str, Any]:
    """``butteraugli`` (3-norm) and ``butteraugli_max`` of a decode, and the
    ``butteraugli_version`` that measured them; None for an image under 8x8, which the tool
    cannot measure."""
    from hybrid.perceptual import MIN_SIDE, butteraugli, butteraugli_version

    version = butteraugli_version()
    if min(original.shape[:2]) < MIN_SIDE:
        return {"butteraugli": None, "butteraugli_max": None, "butteraugli_version": version}
    distance = butteraugli(original, decoded)
    return {
        "butteraugli": distance.pnorm3,
        "butteraugli_max": distance.max_norm,
        "butteraugli_version": version,
    }


def has_butteraugli(point: dict[str, Any], version: str) -> bool:
    """Whether a cached point is complete for a run that measures butteraugli with the tool
    build ``version``: it holds that build's distances (None for an image too small), or it
    failed before there was a decode."""
    return point.get("butteraugli_version") == version or point.get("error") is not None


def _quality(original: np.ndarray, decoded: np.ndarray) -> dict[str, float | None]:
    from hybrid.metrics import MS_SSIM_MIN_SIDE, psnr, psnr_y, ssim, ssim_and_ms_ssim

    if decoded.shape != original.shape:
        raise ValueError(
            f"decoded shape {decoded.shape} differs from the original {original.shape}"
        )
    if min(original.shape[:2]) >= MS_SSIM_MIN_SIDE:
        single, multi = ssim_and_ms_ssim(original, decoded)
    else:
        single, multi = ssim(original, decoded), None
    return {
        "psnr": psnr(original, decoded),
        "psnr_y": psnr_y(original, decoded),
        "ssim": single,
        "ms_ssim": multi,
    }


def measure_image(
    image: BenchImage, tasks: list[tuple[str, float, str]], butteraugli: bool = False
) -> list[dict[str, Any]]:
    """Measure ``tasks`` ((codec, setting, cache key), ...) on one image.

    Returns one dict per task: ``key, codec, setting, image, content, width, height, bytes,
    bpp, psnr, psnr_y, ssim, ms_ssim, encode_s, decode_s, error``, and with ``butteraugli``
    also ``butteraugli`` (3-norm) and ``butteraugli_max``. A codec that fails on this
    image gives a point with ``error`` set (and the rest None) instead of raising.
    Files are encoded once per (encoder, setting) and shared by decoder-side variants.

    Raises:
        HybridError: ``butteraugli_main`` failed (not a codec's fault: the run stops; the
            images measured so far stay in the cache).
    """
    rgb = load_rgb(image.path)
    height, width = rgb.shape[:2]
    files: dict[tuple[str, float], tuple[bytes, float] | str] = {}
    points = []
    for codec_name, setting, key in tasks:
        codec = get_codec(codec_name)
        point: dict[str, Any] = {
            "key": key, "codec": codec_name, "setting": setting, "image": image.name,
            "content": image.content, "width": width, "height": height, "bytes": None,
            "bpp": None, "psnr": None, "psnr_y": None, "ssim": None, "ms_ssim": None,
            "encode_s": None, "decode_s": None, "error": None,
        }  # fmt: skip
        _warm_up(codec_name, rgb, setting, image.content)
        encoded = files.get((codec.encoder_name, setting))
        if encoded is None:
            try:
                start = time.perf_counter()
                data = get_codec(codec.encoder_name).encode(rgb, setting)
                encoded = (data, time.perf_counter() - start)
            except Exception as exc:  # noqa: BLE001 - recorded in the point, the run goes on
                encoded = f"encode: {type(exc).__name__}: {exc}"
            files[(codec.encoder_name, setting)] = encoded
        if isinstance(encoded, str):
            point["error"] = encoded
            points.append(point)
            continue
        data, encode_s = encoded
        try:
            start = time.perf_counter()
            decoded = codec.decode(data)
            decode_s = time.perf_counter() - start
            point.update(_quality(rgb, decoded))
        except Exception as exc:  # noqa: BLE001
            point["error"] = f"decode: {type(exc).__name__}: {exc}"
            points.append(point)
            continue
        if butteraugli:
            point.update(_butteraugli(rgb, decoded))
        point.update(
            bytes=len(data),
            bpp=8.0 * len(data) / (width * height),
            encode_s=encode_s,
            decode_s=decode_s,
        )
        points.append(point)
    return points


def _measure_job(
    job: tuple[BenchImage, list[tuple[str, float, str]], bool],
) -> list[dict[str, Any]]:
    return measure_image(*job)


# --- the cache and the run -------------------------------------------------------------------


def load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Points of a cache file by key (a torn last line from an interrupted run is ignored)."""
    points: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return points
    for line in path.read_text().splitlines():
        try:
            point = json.loads(line)
        except ValueError:
            continue
        if isinstance(point, dict) and "key" in point:
            points[point["key"]] = point
    return points


def _append(path: Path, points: list[dict[str, Any]]) -> None:
    with path.open("a") as fh:
        for point in points:
            fh.write(json.dumps(point, allow_nan=False, default=_finite) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _finite(value: Any) -> Any:
    raise TypeError(f"not JSON serializable: {value!r}")


def _clean(point: dict[str, Any]) -> dict[str, Any]:
    """Infinite PSNR (a lossless point) is stored as None: JSON has no infinity."""
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in point.items()
    }


def run_bench(
    plan: BenchPlan,
    cache_path: str | os.PathLike[str],
    *,
    jobs: int = 1,
    resume: bool = True,
    on_image: Callable[[BenchImage], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure every point of ``plan`` not already in the cache; return all of its points.

    Args:
        plan: from :func:`plan_bench`.
        cache_path: JSON-lines file the points are appended to (created if needed).
        jobs: worker processes (1: measure in this process).
        resume: reuse cached points (False: start the cache afresh).
        on_image: called after each image, measured or found in the cache (progress).

    Returns:
        The plan's points, in plan order (image, then codec, then setting), each tagged with
        its image's ``content`` class (cached points of earlier runs too).
    """
    cache = Path(cache_path)
    cache.parent.mkdir(parents=True, exist_ok=True)
    if not resume and cache.exists():
        cache.unlink()
    done = load_cache(cache)
    todo: list[tuple[BenchImage, list[tuple[str, float, str]], bool]] = []
    for image in plan.images:
        tasks = [(c, s, plan.key(c, s, image)) for c, s in plan.tasks()]
        missing = [
            t
            for t in tasks
            if t[2] not in done
            or (plan.butteraugli and not has_butteraugli(done[t[2]], plan.butteraugli_version))
        ]
        if missing:
            todo.append((image, missing, plan.butteraugli))
        elif on_image is not None:
            on_image(image)

    def finished(image: BenchImage, points: list[dict[str, Any]]) -> None:
        points = [_clean(p) for p in points]
        _append(cache, points)
        done.update((p["key"], p) for p in points)
        if on_image is not None:
            on_image(image)

    if jobs <= 1 or len(todo) <= 1:
        for image, tasks, butteraugli in todo:
            finished(image, measure_image(image, tasks, butteraugli))
    else:
        _run_parallel(todo, jobs, finished)
    return [
        {**done[plan.key(c, s, image)], "content": image.content}
        for image in plan.images
        for c, s in plan.tasks()
    ]


def _run_parallel(
    todo: list[tuple[BenchImage, list[tuple[str, float, str]], bool]],
    jobs: int,
    finished: Callable[[BenchImage, list[dict[str, Any]]], None],
) -> None:
    import multiprocessing

    # spawn, not fork: the parent may hold torch/OpenMP threads that a fork would break.
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = {pool.submit(_measure_job, job): job[0] for job in todo}
        while pending:
            complete, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in complete:
                image = pending.pop(future)
                finished(image, future.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def progress_printer(plan: BenchPlan) -> Any:
    """A ``click.progressbar`` over the plan's images (use as a context manager; call
    ``.update(1)``); drawn on stderr."""
    import click

    return click.progressbar(
        length=len(plan.images),
        label=f"bench: {len(plan.images)} images x {len(plan.tasks())} points",
        file=sys.stderr,
        show_pos=True,
        show_eta=True,
    )
