"""The codecs the benchmark compares, each behind the same small adapter.

Every adapter is a :class:`Codec`: ``available() -> (bool, note)``, ``encode(rgb, setting)
-> bytes``, ``decode(bytes) -> rgb`` and two sweeps of its setting (``full`` and ``quick``),
chosen so that each covers about 0.1-1.2 bits per pixel on photographs. ``rgb`` is always a
uint8 (H, W, 3) array; ``decode`` returns one of the original's size.

Decoder-side variants (jpegqs, hybrid's enhanced decodes) name another codec as their
``encoder``: they decode *that* codec's files, so they have its bits per pixel and its
encode time, and the benchmark encodes each file once for all of them.

Settings applied everywhere, so the comparison is like for like:

* Every codec runs on one thread (``max_threads``/``numthreads``/``-t 1``/torch threads), so
  speeds compare per core.
* JPEG files of every encoder decode with Pillow's libjpeg-turbo, except where the decoder
  is the thing compared (jpegqs, hybrid's enhanced decodes).
* libjpeg-turbo: Pillow, optimized Huffman tables, baseline. mozjpeg: ``jpeglib``'s build of
  mozjpeg 4.0.3 with its defaults (progressive, trellis quantization, its own tables).
  WebP: Pillow, ``method=6`` (slowest, smallest). AVIF: Pillow's libavif with its default
  speed and 4:2:0. JPEG XL: ``imagecodecs``' libjxl, default effort 7.
* jpegqs (Debian package ``jpegqs``, Ilya Kurdyukov's quantization-constraint smoother) runs
  with its defaults on the libjpeg-turbo 4:2:0 files; it writes a JPEG with unit
  quantization tables, which Pillow then decodes.
* hybrid: ``hybrid.encode(quality=q, best=True)``; the enhanced variants decode the same
  files (and libjpeg-turbo's) with ``hybrid.decode(enhance=True)``, the product's default
  model choice (``content="auto"``: the photo model on photographs, the screen model on
  screenshots), and ``model="enhance-quality-v5"`` (a photo model, on every image); SR mode
  codes at half size (``scale=2``) and decodes with ``enhance=True``; automatic mode is
  ``hybrid.encode_to_target(target_bpp=...)`` decoded as ``hybrid.decode`` does by default
  for such a file (enhanced when a network is installed); the tuned variants are
  ``hybrid.encode(quality=q, tune="perceptual"|"ssim")`` decoded with ``enhance=True``, which
  uses the model those files record; the ``-for-enhance`` variants code the same tunes with
  ``mode="enhance"`` (files for the enhanced decode: the fitted strength recorded, and the
  perceptual tune's may be coded at x2 for the super-resolution decode).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hybrid.bench.variants import (
    ENHANCE_QUALITY,
    SR_MODELS,
    always_available,
    auto_available,
    auto_decode,
    auto_encode,
    default_enhance_available,
    enhanced_decode,
    hybrid_encode,
    hybrid_plain_decode,
    hybrid_version,
    model_available,
    sr_available,
    sr_decode,
    sr_encode,
    tuned_encode,
)
from hybrid.pipeline.requests import TUNE_MODELS

__all__ = ["CODECS", "REFERENCE", "Codec", "codec_names", "get_codec"]

#: The models the perceptual and ssim tunes' files record (and an enhanced decode of them
#: uses).
PERCEPTUAL_MODEL = TUNE_MODELS["perceptual"] or ""
SSIM_MODEL = TUNE_MODELS["ssim"] or ""

#: The anchor of every BD-rate: libjpeg-turbo at 4:2:0.
REFERENCE = "libjpeg-turbo-420"

# IJG quality sweeps: q3..q80 spans ~0.1 to ~2.5 bpp on BSDS-like photos (smoother photos
# need fewer bits at each quality, hence the wide span). Every quick sweep is a subset of the
# full one, so a full run reuses the points of an earlier quick run. Automatic mode has three
# quick targets, not four: each point is a rate-control search (two dozen encodes, the
# enhanced decoder in the loop), the costliest point of a quick run.
JPEG_FULL = (3.0, 5.0, 8.0, 12.0, 18.0, 25.0, 35.0, 50.0, 65.0, 80.0)
JPEG_QUICK = (5.0, 12.0, 25.0, 65.0)


@dataclass(frozen=True)
class Codec:
    """One compared codec (or decoder-side variant).

    Attributes:
        name: id used on the command line and in results (``libjpeg-turbo-420``).
        label: human name for tables and plots.
        setting: what the sweep varies (``quality``, ``distance``, ``target bpp``).
        full, quick: the sweeps.
        family: ``hybrid``, ``jpeg`` (other JPEG encoders/decoders) or ``modern``.
        encoder: the codec whose files this one decodes (itself for an encoder).
        detail: one line on how it is run, for the report.
    """

    name: str
    label: str
    setting: str
    full: tuple[float, ...]
    quick: tuple[float, ...]
    family: str
    detail: str
    encode_fn: Callable[[np.ndarray, float], bytes]
    decode_fn: Callable[[bytes], np.ndarray]
    available_fn: Callable[[], tuple[bool, str]]
    version_fn: Callable[[], str]
    encoder: str = ""

    @property
    def encoder_name(self) -> str:
        return self.encoder or self.name

    def sweep(self, quick: bool) -> tuple[float, ...]:
        return self.quick if quick else self.full

    def available(self) -> tuple[bool, str]:
        """(usable here, a note saying why not, or what it runs with)."""
        try:
            return self.available_fn()
        except Exception as exc:  # noqa: BLE001 - a broken optional library means "skip"
            return False, f"{type(exc).__name__}: {exc}"

    def version(self) -> str:
        """Library versions (and model hashes) that the measured points depend on."""
        return self.version_fn()

    def encode(self, rgb: np.ndarray, setting: float) -> bytes:
        return self.encode_fn(np.ascontiguousarray(rgb), setting)

    def decode(self, data: bytes) -> np.ndarray:
        return self.decode_fn(data)


# --- Pillow-based peers ---------------------------------------------------------------------


def _pil_encode(rgb: np.ndarray, fmt: str, **options: object) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


def _pil_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


_PIL_FEATURE = {"jpg": "libjpeg_turbo"}  # "jpg" reports the libjpeg API version (6.2)


def _pil_version(feature: str) -> Callable[[], str]:
    def version() -> str:
        import PIL
        from PIL import features

        name = _PIL_FEATURE.get(feature, feature)
        return f"pillow {PIL.__version__} {name} {features.version(name)}"

    return version


def _pil_has(feature: str) -> Callable[[], tuple[bool, str]]:
    def available() -> tuple[bool, str]:
        from PIL import features

        if features.check(feature):
            name = _PIL_FEATURE.get(feature, feature)
            return True, f"Pillow {name} {features.version(name)}"
        return False, f"this Pillow build has no {feature} support"

    return available


def _turbo(subsampling: int) -> Callable[[np.ndarray, float], bytes]:
    def encode(rgb: np.ndarray, quality: float) -> bytes:
        return _pil_encode(
            rgb, "JPEG", quality=int(quality), optimize=True, subsampling=subsampling
        )

    return encode


def _webp_encode(rgb: np.ndarray, quality: float) -> bytes:
    return _pil_encode(rgb, "WEBP", quality=int(quality), method=6)


def _avif_backend() -> str | None:
    """``pillow`` (Pillow built with libavif), ``plugin`` (pillow-avif-plugin) or None."""
    from PIL import features

    if features.check("avif"):
        return "pillow"
    try:
        import pillow_avif  # type: ignore[import-not-found]  # noqa: F401 - registers AVIF
    except ImportError:
        return None
    return "plugin"


def _avif_available() -> tuple[bool, str]:
    from PIL import features

    backend = _avif_backend()
    if backend is None:
        return False, "no AVIF: this Pillow has no libavif and pillow-avif-plugin is not installed"
    if backend == "plugin":
        return True, "pillow-avif-plugin"
    return True, f"Pillow libavif {features.version('avif')}"


def _avif_encode(rgb: np.ndarray, quality: float) -> bytes:
    _avif_backend()  # imports the plugin where Pillow lacks AVIF
    return _pil_encode(rgb, "AVIF", quality=int(quality), max_threads=1)


def _avif_decode(data: bytes) -> np.ndarray:
    _avif_backend()
    return _pil_decode(data)


# --- mozjpeg (jpeglib) ------------------------------------------------------------------------

MOZJPEG = "mozjpeg403"


def _mozjpeg_available() -> tuple[bool, str]:
    import jpeglib

    if MOZJPEG not in jpeglib.version.versions():
        return False, f"jpeglib {jpeglib.__version__} has no {MOZJPEG} build"
    return True, f"jpeglib {jpeglib.__version__} {MOZJPEG}"


def _mozjpeg_encode(rgb: np.ndarray, quality: float) -> bytes:
    import jpeglib

    with tempfile.TemporaryDirectory(prefix="hybrid-bench-") as tmp:
        path = Path(tmp) / "moz.jpg"
        with jpeglib.version(MOZJPEG), _quiet_stderr():
            jpeglib.from_spatial(rgb).write_spatial(str(path), qt=int(quality))
        return path.read_bytes()


class _quiet_stderr:
    """Silence C libraries writing to fd 2 (libjpeg's "Caution: quantization tables are too
    coarse for baseline JPEG"), which would break the progress bar."""

    def __enter__(self) -> None:
        import os
        import sys

        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc: object) -> None:
        import os

        os.dup2(self._saved, 2)
        os.close(self._saved)


def _jpeglib_version() -> str:
    import jpeglib

    return f"jpeglib {jpeglib.__version__} {MOZJPEG}; pillow-decode {_pil_version('jpg')()}"


# --- jpegqs ----------------------------------------------------------------------------------


def _jpegqs_path() -> str | None:
    return shutil.which("jpegqs")


@lru_cache(maxsize=1)
def _jpegqs_version() -> str:
    exe = _jpegqs_path()
    if exe is None:
        return "none"
    proc = subprocess.run([exe, "--help"], capture_output=True, timeout=30)
    first = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
    return (first[0].split(":")[-1].strip() if first else "jpegqs") + "; " + _pil_version("jpg")()


def _jpegqs_available() -> tuple[bool, str]:
    exe = _jpegqs_path()
    if exe is None:
        return False, "jpegqs is not installed (Debian package jpegqs)"
    return True, f"{exe} {_jpegqs_version().split(';')[0]}"


def _jpegqs_decode(data: bytes) -> np.ndarray:
    exe = _jpegqs_path()
    if exe is None:
        raise RuntimeError("jpegqs is not installed")
    # -i 0: no statistics on stderr; -t 1: one thread. Output: a JPEG with unit tables.
    proc = subprocess.run(
        [exe, "-i", "0", "-t", "1", "-", "-"], input=data, capture_output=True, timeout=300
    )
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(
            f"jpegqs failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    return _pil_decode(proc.stdout)


# --- JPEG XL (imagecodecs) -----------------------------------------------------------------


def _jxl_available() -> tuple[bool, str]:
    import imagecodecs

    if not imagecodecs.JPEGXL.available:
        return False, f"imagecodecs {imagecodecs.__version__} was built without JPEG XL"
    return True, f"imagecodecs {imagecodecs.__version__} ({imagecodecs.jpegxl_version()})"


def _jxl_version() -> str:
    import imagecodecs

    return f"imagecodecs {imagecodecs.__version__} {imagecodecs.jpegxl_version()}"


def _jxl_encode(rgb: np.ndarray, distance: float) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.jpegxl_encode(rgb, distance=float(distance), numthreads=1))


def _jxl_decode(data: bytes) -> np.ndarray:
    import imagecodecs

    return np.asarray(imagecodecs.jpegxl_decode(data, numthreads=1))


_TURBO_VERSION = _pil_version("jpg")

CODECS: tuple[Codec, ...] = (
    Codec(
        "libjpeg-turbo-420", "libjpeg-turbo 4:2:0", "quality", JPEG_FULL, JPEG_QUICK, "jpeg",
        "Pillow, optimized Huffman, 4:2:0 (the BD-rate anchor)",
        _turbo(2), _pil_decode, _pil_has("jpg"), _TURBO_VERSION,
    ),
    Codec(
        "libjpeg-turbo-444", "libjpeg-turbo 4:4:4", "quality", JPEG_FULL, JPEG_QUICK, "jpeg",
        "Pillow, optimized Huffman, 4:4:4",
        _turbo(0), _pil_decode, _pil_has("jpg"), _TURBO_VERSION,
    ),
    Codec(
        "mozjpeg", "mozjpeg 4:2:0", "quality", JPEG_FULL, JPEG_QUICK, "jpeg",
        "jpeglib's mozjpeg 4.0.3, defaults (progressive, trellis); Pillow decode",
        _mozjpeg_encode, _pil_decode, _mozjpeg_available, _jpeglib_version,
    ),
    Codec(
        "jpegqs", "libjpeg-turbo 4:2:0 + jpegqs", "quality", JPEG_FULL, JPEG_QUICK, "jpeg",
        "the libjpeg-turbo 4:2:0 files decoded by jpegqs (defaults, 1 thread)",
        _turbo(2), _jpegqs_decode, _jpegqs_available, lambda: _jpegqs_version(),
        encoder="libjpeg-turbo-420",
    ),
    Codec(
        "webp", "WebP", "quality", (0.0, 5.0, 15.0, 30.0, 50.0, 70.0, 85.0, 95.0),
        (0.0, 15.0, 50.0, 85.0), "modern", "Pillow libwebp, method 6",
        _webp_encode, _pil_decode, _pil_has("webp"), _pil_version("webp"),
    ),
    Codec(
        "avif", "AVIF", "quality", (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0),
        (10.0, 30.0, 50.0, 70.0), "modern", "Pillow libavif, default speed, 4:2:0, 1 thread",
        _avif_encode, _avif_decode, _avif_available, _pil_version("avif"),
    ),
    Codec(
        "jpegxl", "JPEG XL", "distance", (25.0, 15.0, 10.0, 6.0, 4.0, 2.5, 1.8, 1.2, 0.9),
        (15.0, 6.0, 2.5, 1.2), "modern", "imagecodecs libjxl, effort 7, 1 thread",
        _jxl_encode, _jxl_decode, _jxl_available, _jxl_version,
    ),
    Codec(
        "hybrid", "hybrid (plain decode)", "quality", JPEG_FULL, JPEG_QUICK, "hybrid",
        "hybrid.encode(quality=q, best=True); Pillow decode",
        hybrid_encode, hybrid_plain_decode, always_available, hybrid_version(),
    ),
    # The "-enhance-fast" names are kept (cached points, commands): the default choice is the
    # fast photo model on photographs and the (fast) screen model on screenshots.
    Codec(
        "hybrid-enhance-fast", "hybrid + enhance (content auto)", "quality", JPEG_FULL,
        JPEG_QUICK, "hybrid",
        "hybrid's files, hybrid.decode(enhance=True): the default model choice",
        hybrid_encode, enhanced_decode(), default_enhance_available,
        hybrid_version(default_choice=True), encoder="hybrid",
    ),
    Codec(
        "hybrid-enhance-quality", "hybrid + enhance-quality (photo model)", "quality",
        JPEG_FULL, JPEG_QUICK, "hybrid",
        f"hybrid's files, hybrid.decode(enhance=True, model={ENHANCE_QUALITY!r}) on every image",
        hybrid_encode, enhanced_decode(ENHANCE_QUALITY), model_available(ENHANCE_QUALITY),
        hybrid_version(ENHANCE_QUALITY), encoder="hybrid",
    ),
    Codec(
        "hybrid-perceptual", "hybrid --tune perceptual + enhance", "quality", JPEG_FULL,
        JPEG_QUICK, "hybrid",
        f"hybrid.encode(quality=q, tune='perceptual'); hybrid.decode(enhance=True) (the "
        f"recorded model, {TUNE_MODELS['perceptual']})",
        tuned_encode("perceptual"), enhanced_decode(), model_available(PERCEPTUAL_MODEL),
        hybrid_version(PERCEPTUAL_MODEL, default_choice=True),
    ),
    Codec(
        "hybrid-ssim", "hybrid --tune ssim + enhance", "quality", JPEG_FULL, JPEG_QUICK,
        "hybrid",
        f"hybrid.encode(quality=q, tune='ssim'); hybrid.decode(enhance=True) (the recorded "
        f"model, {TUNE_MODELS['ssim']})",
        tuned_encode("ssim"), enhanced_decode(), model_available(SSIM_MODEL),
        hybrid_version(SSIM_MODEL, default_choice=True),
    ),
    # Files for the enhanced decode (mode "enhance": the fitted strength recorded; the
    # perceptual tune's may be coded at x2 for the super-resolution decode): the tunes'
    # comparison on the files an enhancing decoder is meant to get (issue 17).
    Codec(
        "hybrid-psnr-for-enhance", "hybrid --tune psnr --mode enhance + enhance", "quality",
        JPEG_FULL, JPEG_QUICK, "hybrid",
        "hybrid.encode(quality=q, tune='psnr', mode='enhance'); hybrid.decode(enhance=True)",
        tuned_encode("psnr", "enhance"), enhanced_decode(), default_enhance_available,
        hybrid_version(default_choice=True),
    ),
    Codec(
        "hybrid-perceptual-for-enhance", "hybrid --tune perceptual --mode enhance + enhance",
        "quality", JPEG_FULL, JPEG_QUICK, "hybrid",
        "hybrid.encode(quality=q, tune='perceptual', mode='enhance'); "
        f"hybrid.decode(enhance=True) (the recorded model, {TUNE_MODELS['perceptual']}, or for "
        "a file coded at x2 or x1.5 the super-resolution model)",
        tuned_encode("perceptual", "enhance"), enhanced_decode(),
        model_available(PERCEPTUAL_MODEL),
        hybrid_version(PERCEPTUAL_MODEL, *SR_MODELS, default_choice=True),
    ),
    Codec(
        "libjpeg-turbo-420-enhance-fast", "libjpeg-turbo 4:2:0 + enhance (content auto)",
        "quality", JPEG_FULL, JPEG_QUICK, "hybrid",
        "the libjpeg-turbo 4:2:0 files, hybrid.decode(enhance=True): the default model choice",
        _turbo(2), enhanced_decode(), default_enhance_available,
        hybrid_version(default_choice=True), encoder="libjpeg-turbo-420",
    ),
    Codec(
        "hybrid-sr", "hybrid SR mode (x2)", "quality",
        (8.0, 12.0, 20.0, 30.0, 45.0, 60.0, 75.0, 85.0, 92.0, 96.0),
        (12.0, 30.0, 60.0, 92.0), "hybrid",
        "hybrid.encode(scale=2, best=True); hybrid.decode(enhance=True)",
        sr_encode, sr_decode, sr_available,
        hybrid_version(SR_MODELS[0], default_choice=True),
    ),
    Codec(
        "hybrid-auto", "hybrid automatic mode", "target bpp",
        (0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.9, 1.2, 1.5), (0.2, 0.45, 0.9), "hybrid",
        "hybrid.encode_to_target(target_bpp=b, best=True); decode as hybrid.decode does",
        auto_encode, auto_decode, auto_available,
        hybrid_version(*SR_MODELS, default_choice=True),
    ),
)  # fmt: skip

_BY_NAME = {c.name: c for c in CODECS}


def codec_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def get_codec(name: str) -> Codec:
    """The adapter called ``name``; raises ``KeyError`` listing the known names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown codec {name!r} (known: {', '.join(_BY_NAME)})") from None
