"""hybrid's own variants in the benchmark: plain, enhanced (default, quality), SR and
automatic modes, as encode/decode/availability functions for :mod:`hybrid.bench.codecs`.

Every variant goes through the public API (``hybrid.encode``, ``hybrid.encode_to_target``,
``hybrid.decode``), one torch thread. A variant whose network is not installed is reported
unavailable (skipped with a note); automatic mode always runs, with the decoder that
``hybrid.decode`` would use for its files (enhanced when a network is installed).

The default enhanced decode names no model: it is ``hybrid.decode(enhance=True)`` as users
call it, so the product's model choice applies (``content="auto"``: the model of the file's
content class, e.g. the screen model on a screenshot; :mod:`hybrid.enhance.choice`). Its
version string therefore holds every model that choice may pick (:func:`content_models`).
Only the quality variant names its model (a photo model, used on every image).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

ENHANCE_QUALITY = "enhance-quality-v5"
SR_MODELS = ("sr-fast-v1", "sr-fast-x1.5-v1")


def _pil_version() -> str:
    import PIL
    from PIL import features

    return f"pillow {PIL.__version__} libjpeg_turbo {features.version('libjpeg_turbo')}"


@lru_cache(maxsize=1)
def hybrid_fingerprint() -> str:
    """hybrid's version and a hash of its codec/decoder sources (not the CLI or bench)."""
    import hybrid

    root = Path(hybrid.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("bench/") or rel.startswith("cli"):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes())
    return f"hybrid {hybrid.__version__} src {digest.hexdigest()[:16]}"


def _manifest() -> dict[str, Any]:
    try:
        from hybrid.enhance.registry import load_manifest
    except ImportError:
        return {}
    return load_manifest()


def _models_version(*ids: str) -> str:
    entries = _manifest()
    parts = [f"{i}={entries[i].sha256[:16]}" if i in entries else f"{i}=none" for i in ids]
    return "; ".join(parts)


def hybrid_encode(rgb: np.ndarray, quality: float) -> bytes:
    import hybrid

    return hybrid.encode(rgb, quality=int(quality), best=True)


def tuned_encode(
    tune: str, mode: Literal["plain", "enhance"] = "plain"
) -> Callable[[np.ndarray, float], bytes]:
    """``hybrid.encode(quality=q, tune=tune, mode=mode)``: the best mode tuned for ``tune``;
    the perceptual tunes record their model, which an enhanced decode then uses. A file of
    ``mode="enhance"`` records its fitted strength, and a perceptual tune's may come out
    downscaled for the super-resolution decode (``EncodeRequest.chooses_scale``)."""

    def encode(rgb: np.ndarray, quality: float) -> bytes:
        import hybrid

        return hybrid.encode(rgb, quality=int(quality), tune=tune, mode=mode)

    return encode


def hybrid_plain_decode(data: bytes) -> np.ndarray:
    import hybrid

    return np.asarray(hybrid.decode(data).convert("RGB"))


def content_models() -> tuple[str, ...]:
    """Every model a default enhanced decode may use: the default (photo) model, then each
    content class's model (:data:`hybrid.enhance.registry.DEFAULT_CONTENT_MODELS`)."""
    from hybrid.enhance import registry

    # A registry from before content classes has the default model only.
    per_class: dict[str, str] = getattr(registry, "DEFAULT_CONTENT_MODELS", {})
    return tuple(dict.fromkeys([registry.DEFAULT_ENHANCE_MODEL, *per_class.values()]))


def enhanced_decode(model: str | None = None) -> Callable[[bytes], np.ndarray]:
    """An enhanced decode with registry ``model``, or (None) with the default model choice
    (``content="auto"``; the warning that a class's model is missing, and the photo model
    used instead, is silenced: the report's note says so once)."""

    def decode(data: bytes) -> np.ndarray:
        import hybrid
        from hybrid.errors import MissingModelWarning

        if model is not None:
            image = hybrid.decode(data, enhance=True, model=model, threads=1)
            return np.asarray(image.convert("RGB"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingModelWarning)
            return np.asarray(hybrid.decode(data, enhance=True, threads=1).convert("RGB"))

    return decode


def default_enhance_available() -> tuple[bool, str]:
    """The default enhanced decode runs when the default model is installed; the note names
    the model of each content class (or says the photo model stands in)."""
    from hybrid.enhance import registry

    entries = _manifest()
    default = registry.DEFAULT_ENHANCE_MODEL
    if default not in entries:
        return False, f"model {default} is not installed (weights/manifest.json)"
    per_class: dict[str, str] = getattr(registry, "DEFAULT_CONTENT_MODELS", {"photo": default})
    models = ", ".join(
        f"{content} {m}" if m in entries else f"{content} {default} ({m} is not installed)"
        for content, m in per_class.items()
    )
    return True, f"content auto: {models}"


def model_available(model: str) -> Callable[[], tuple[bool, str]]:
    def available() -> tuple[bool, str]:
        entries = _manifest()
        if model not in entries:
            return False, f"model {model} is not installed (weights/manifest.json)"
        return True, f"model {model} ({entries[model].parameters:,} parameters)"

    return available


def sr_encode(rgb: np.ndarray, quality: float) -> bytes:
    import hybrid

    return hybrid.encode(rgb, quality=int(quality), scale=2, best=True)


def sr_decode(data: bytes) -> np.ndarray:
    import hybrid
    from hybrid.errors import MissingModelWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingModelWarning)
        return np.asarray(hybrid.decode(data, enhance=True, threads=1).convert("RGB"))


def sr_available() -> tuple[bool, str]:
    from hybrid.downscaled import DEFAULT_SR_MODEL
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    entries = _manifest()
    if DEFAULT_SR_MODEL in entries:
        return True, f"super-resolution model {DEFAULT_SR_MODEL}"
    if DEFAULT_ENHANCE_MODEL in entries:
        return True, f"no {DEFAULT_SR_MODEL}: {DEFAULT_ENHANCE_MODEL} + bicubic upscale"
    return False, "no network installed (SR mode would be a plain bicubic upscale)"


def auto_encode(rgb: np.ndarray, target_bpp: float) -> bytes:
    import hybrid
    from hybrid.pipeline.upscale import enhancement_installed

    if not enhancement_installed(None, None):
        data, _ = hybrid.encode_to_target(rgb, target_bpp=float(target_bpp), best=True)
        return data
    from hybrid.enhance.torch_state import torch_settings

    with torch_settings(threads=1, deterministic=False):  # the decoder in the loop: 1 thread
        data, _ = hybrid.encode_to_target(rgb, target_bpp=float(target_bpp), best=True)
    return data


def auto_decode(data: bytes) -> np.ndarray:
    import hybrid
    from hybrid.errors import MissingModelWarning
    from hybrid.pipeline.upscale import enhancement_installed

    # What rate control assumed: enhanced where a network is installed, and a downscaled file
    # brought back to its original size.
    enhance = enhancement_installed(None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingModelWarning)
        image = hybrid.decode(data, enhance=enhance, upscale=True, threads=1 if enhance else None)
    return np.asarray(image.convert("RGB"))


def auto_available() -> tuple[bool, str]:
    from hybrid.pipeline.upscale import enhancement_installed

    if enhancement_installed(None, None):
        return True, "decoder in the loop: enhanced"
    return True, "no network installed: rate control and decode are plain (+ bicubic)"


def always_available() -> tuple[bool, str]:
    return True, ""


def hybrid_version(*models: str, default_choice: bool = False) -> Callable[[], str]:
    """The version string of a hybrid variant: hybrid's sources, Pillow, and the sha256 of
    ``models`` and (``default_choice``) of every model the default choice may pick
    (:func:`content_models`, read when called)."""

    def version() -> str:
        ids = (*content_models(), *models) if default_choice else models
        extra = f"; {_models_version(*ids)}" if ids else ""
        return f"{hybrid_fingerprint()}; {_pil_version()}{extra}"

    return version
