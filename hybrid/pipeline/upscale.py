"""Decoding to a larger size: downscaled files back to their original size, and ``scale``
upsampling of any JPEG. The policy (which network, which fallback, which warning) lives here;
the pixels come from :mod:`hybrid.pipeline.pixels` (plain and enhanced decodes),
:mod:`hybrid.resample` (bicubic) and :mod:`hybrid.enhance.superres` (the super-resolution
network).

Output size:

* ``scale`` given: ``round(coded size * scale)``; else a downscaled file's recorded original
  size; else the coded size. Either factor is at most :data:`hybrid.codec.geometry.MAX_SCALE` (4)
  per axis (a record asking for more is ignored by :mod:`hybrid.codec.headers`), so the
  output is at most 16x the coded pixels, and it is checked against ``max_pixels`` before
  any pixel is decoded.
* ``enhance=False``: the plain decode, resized (bicubic) only when ``upscale=True`` or
  ``scale`` is given. A downscaled file therefore decodes by default to its small image,
  which is what every viewer shows.
* ``enhance=True``, ``upscale`` not False: a super-resolution model when one is installed
  (the one named by ``sr_model``, else the first installed of the file's metadata's,
  :func:`hybrid.downscaled.default_sr_model` of the upscale ratio and
  :data:`hybrid.downscaled.DEFAULT_SR_MODEL`); else the enhancement network on the coded
  image plus a bicubic upscale, with a :class:`~hybrid.errors.MissingModelWarning`; else,
  with no network installed at all, a downscaled file falls back to the plain decode (small,
  or bicubic-upscaled when ``upscale=True``) with a warning, never an error. An ordinary
  file asked for ``enhance=True`` without weights keeps raising :class:`WeightsError`, as
  without ``scale``.
* ``enhance=True, upscale=False``: the enhancement network on the coded image, no resize.

A downscaled file whose record carries a strength for the super-resolution model that
decodes it (fitted by the encoder, :func:`sr_strength`) gets
``bicubic + strength * (sr - bicubic)``, where ``bicubic`` is the plain decode upscaled
(:func:`hybrid.resample.upscale_array`) and ``sr`` the network's full output at the same
size: strength 0 is the classical upscale, without running the network. Another model (the
caller's ``sr_model``, or a stand-in for a model that is not installed), and any file that
records no strength, keep the share the model's manifest entry gives such files
(``inference.strength``, fitted per model by ``scripts/fit_sr_strength.py`` so that no
validation image ends worse than the bicubic upscale; :func:`sr_model_strength`), else the
network's full output.

A super-resolution model that is named explicitly (``sr_model``) or is installed but broken
(missing file, failed hash, unknown architecture) raises :class:`WeightsError`: only an
absent model falls back.

Backends: ``torch`` runs :func:`hybrid.enhance.superres.upscale_jpeg`; ``onnx`` and
``onnx-int8`` run the same steps with the ONNX export
(:func:`hybrid.enhance.onnx_superres.upscale_jpeg_onnx`) and import no torch. For them a
model counts as installed only with an entry in ``weights/onnx.json``; the fallbacks above
(the enhancement network's export plus bicubic, then the plain decode) are the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from hybrid.codec.geometry import check_scale, scaled_size
from hybrid.codec.headers import JpegInfo
from hybrid.downscaled import DEFAULT_SR_MODEL, default_sr_model
from hybrid.errors import (
    ImageTooLargeError,
    MissingModelWarning,
    UnsupportedImageError,
    WeightsError,
)
from hybrid.pipeline.pixels import array_to_image, enhanced_array, image_to_array, plain_image
from hybrid.pipeline.requests import DecodeRequest
from hybrid.resample import upscale_array, upscale_image

#: ``stacklevel`` of this module's warnings: they name the line that called
#: :func:`hybrid.decode` (decode_resized <- the engine <- the API function <- its caller).
WARNING_STACKLEVEL = 4


def wants_resize(header: JpegInfo, request: DecodeRequest) -> bool:
    """Whether ``request`` decodes the file at another size (through :func:`decode_resized`):
    a ``scale``, or a downscaled file asked for ``upscale=True`` or ``enhance``."""
    if request.scale is not None:
        return True
    meta = header.hybrid_metadata
    downscaled = meta is not None and meta.mode == "downscaled"
    return downscaled and (request.upscale is True or request.enhance)


def target_size(header: JpegInfo, scale: Any) -> tuple[int, int]:
    """(width, height) the resized decode produces; see the module docstring."""
    if scale is not None:
        return scaled_size(header.width, header.height, check_scale(scale))
    meta = header.hybrid_metadata
    if meta is not None and meta.mode == "downscaled":
        return meta.original_width, meta.original_height
    return header.width, header.height


def model_installed(model_id: str, backend: str = "torch") -> bool:
    """Whether ``model_id`` is in the registry and, for an onnx backend, has an ONNX export."""
    try:
        from hybrid.enhance.registry import load_manifest
    except ImportError:
        return False
    if model_id not in load_manifest():
        return False
    if backend == "torch":
        return True
    from hybrid.enhance.onnx_registry import load_onnx_manifest

    return model_id in load_onnx_manifest()


def _sr_candidates(header: JpegInfo, ratio: float) -> list[str]:
    """Super-resolution models to try, in order, when the caller names none: the one a
    downscaled file's metadata names, the default for ``ratio``, the default x2 model."""
    meta = header.hybrid_metadata
    downscaled = meta is not None and meta.mode == "downscaled" and meta.model_id
    named = [meta.model_id] if meta is not None and downscaled else []
    return [*named, default_sr_model(ratio), DEFAULT_SR_MODEL]


def sr_model_for(
    header: JpegInfo, sr_model: str | None, ratio: float = 2.0, backend: str = "torch"
) -> str | None:
    """The super-resolution model to run for an upscale by ``ratio`` (output / coded size),
    or None to fall back.

    ``sr_model`` when named; else the first installed of: the model a downscaled file's
    metadata names, :func:`hybrid.downscaled.default_sr_model` of ``ratio``, and
    :data:`~hybrid.downscaled.DEFAULT_SR_MODEL` (for an onnx ``backend``, installed means
    exported too: listed in ``weights/onnx.json``).

    Raises:
        WeightsError: ``sr_model`` named but not installed, or the chosen model is not a
            super-resolution (``sr``) model.
    """
    if sr_model is not None:
        chosen: str | None = sr_model
    else:
        candidates = _sr_candidates(header, ratio)
        chosen = next((c for c in candidates if model_installed(c, backend)), None)
    if chosen is None:
        return None
    try:
        from hybrid.enhance.superres import sr_entry
    except ImportError as exc:
        raise WeightsError(f"the super-resolution module cannot be loaded: {exc}") from None
    sr_entry(chosen)  # raises WeightsError for an unknown or non-sr model
    return chosen


def enhancement_installed(model: str | None, weights: Any, backend: str = "torch") -> bool:
    """Whether an enhanced decode can run: a named model or weights file (whose errors then
    surface as WeightsError), else the registry's default enhancement model is installed
    (for an onnx ``backend``: and exported)."""
    if model is not None or weights is not None:
        return True
    try:
        from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, load_manifest
    except ImportError:
        return False
    entry = load_manifest().get(DEFAULT_ENHANCE_MODEL)
    if entry is None or entry.task != "enhance":
        return False
    return model_installed(DEFAULT_ENHANCE_MODEL, backend)


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def decode_resized(
    data: bytes,
    header: JpegInfo,
    request: DecodeRequest,
    *,
    as_array: bool,
    report: Callable[[Any], None] | None = None,
) -> Any:
    """Decode ``data`` to :func:`target_size` (or the coded size, see the module docstring)
    as ``request`` asks; ``report`` is called with the enhancement model choice
    (:mod:`hybrid.enhance.choice`, which passes over a downscaled file's recorded
    super-resolution model).

    Raises:
        ImageTooLargeError: the output size exceeds ``request.max_pixels`` (a tiny file
            cannot ask for a huge upscale).

    Returns:
        A ``PIL.Image.Image`` (``as_array=False``: the plain decode's own mode, RGB or L for
        a network's output), or float32 (H, W, C) in [0, 1] (``as_array=True``).
    """
    scale, upscale, max_pixels = request.scale, request.upscale, request.max_pixels
    size = target_size(header, scale)
    coded = (header.width, header.height)
    if max_pixels is not None and size[0] * size[1] > max_pixels:
        raise ImageTooLargeError(
            f"the decoded size {_size_text(size)} is more than the {max_pixels} pixels allowed"
        )
    resize = upscale is True or (upscale is None and (request.enhance or scale is not None))

    if not request.enhance:
        image = plain_image(data, header)
        if resize:
            image = upscale_image(image, size)
        return image_to_array(image, header) if as_array else image

    if not resize:
        array = enhanced_array(data, header, request, report=report)
        return array if as_array else array_to_image(array)

    # a damaged header can say 0 rows (it then fails in the decoder, not here)
    ratio = max(size[0] / max(1, coded[0]), size[1] / max(1, coded[1]))
    backend = request.backend
    sr_id = sr_model_for(header, request.sr_model, ratio, backend)
    if sr_id is not None:
        reason = header.unsupported_reason
        if reason is not None:
            raise UnsupportedImageError(reason)
        strength, source = sr_strength(header, sr_id), "recorded"
        if strength is None:
            strength, source = sr_model_strength(sr_id, backend), "model default"
        array = super_resolved(data, header, request, size, sr_id, strength)
        from hybrid.enhance.choice import ModelChoice
        from hybrid.enhance.choice import logger as choice_logger

        kept = "" if strength is None else f", strength {strength:.3f} {source}"
        choice_logger.info(
            "super-resolved with %s (%s to %s%s)",
            sr_id, _size_text(coded), _size_text(size), kept,
        )  # fmt: skip
        if report is not None:
            report(ModelChoice(sr_id, "super-resolution", None, strength=strength,
                               strength_source=None if strength is None else source))  # fmt: skip
        return array if as_array else array_to_image(array)

    missing = repr(request.sr_model or _file_sr_model(header, ratio))
    if backend != "torch":
        missing += f" (with an ONNX export, for backend {backend})"
    downscaled = header.hybrid_metadata is not None and header.hybrid_metadata.mode == "downscaled"
    if enhancement_installed(request.model, request.weights, backend) or not downscaled:
        array = enhanced_array(data, header, request, report=report)
        if size != coded:
            warnings.warn(
                f"super-resolution model {missing} is not installed: enhanced the "
                f"{_size_text(coded)} image and upscaled it (bicubic) to {_size_text(size)}",
                MissingModelWarning,
                stacklevel=WARNING_STACKLEVEL,
            )
            array = upscale_array(array, size)
        return array if as_array else array_to_image(array)

    image = plain_image(data, header)
    if upscale is True:
        image = upscale_image(image, size)
        done = f"the plain decode upscaled (bicubic) to {_size_text(size)}"
    else:
        done = (
            f"the plain {_size_text(coded)} decode (original {_size_text(size)}; "
            "upscale=True / --upscale resizes it)"
        )
    warnings.warn(
        f"no super-resolution ({missing}) or enhancement model is installed: returning {done}",
        MissingModelWarning,
        stacklevel=WARNING_STACKLEVEL,
    )
    return image_to_array(image, header) if as_array else image


def sr_strength(header: JpegInfo, model: str) -> float | None:
    """The strength (0..1) a downscaled file's record carries for super-resolution model
    ``model``, or None (no strength recorded, or recorded for another model)."""
    meta = header.hybrid_metadata
    if meta is None or meta.mode != "downscaled" or meta.strength is None:
        return None
    return meta.strength if meta.model_id == model else None


def sr_model_strength(model: str, backend: str = "torch") -> float | None:
    """The share (0..1) of super-resolution model ``model``'s change kept for a file whose
    record carries no strength for it: its manifest entry's ``inference.strength`` (for an
    onnx ``backend``, its onnx.json entry's, which repeats it), or None: the full output."""
    if backend == "torch":
        from hybrid.enhance.registry import sr_default_strength

        return sr_default_strength(model)
    from hybrid.enhance.onnx_registry import load_onnx_manifest

    entry = load_onnx_manifest().get(model)
    return None if entry is None else entry.sr_strength


def bicubic_base(data: bytes, header: JpegInfo, size: tuple[int, int]) -> np.ndarray:
    """float32 (H, W, C) in [0, 1]: the plain decode upscaled to ``size`` (bicubic, float),
    the base a super-resolution strength blends from (C = 3, or 1 for greyscale)."""
    return upscale_array(image_to_array(plain_image(data, header), header), size)


def sr_blend(base: np.ndarray, sr: np.ndarray, strength: float) -> np.ndarray:
    """``base + strength * (sr - base)`` (:func:`hybrid.enhance.strength.blend`'s float32
    arithmetic, which the encoder fits), clipped to [0, 1]."""
    from hybrid.enhance.strength import blend

    return np.clip(blend(base, sr, strength), 0.0, 1.0)


def super_resolved(
    data: bytes,
    header: JpegInfo,
    request: DecodeRequest,
    size: tuple[int, int],
    model: str,
    strength: float | None = None,
) -> Any:
    """The super-resolution network ``model``'s decode at ``size``, by ``request``'s backend
    (torch, or the ONNX export without importing torch), blended toward the bicubic upscale
    by ``strength`` (None: the network's full output)."""
    if strength == 0.0:
        return bicubic_base(data, header, size)
    if request.backend != "torch":
        from hybrid.enhance.onnx_superres import upscale_jpeg_onnx

        array = upscale_jpeg_onnx(
            data, size, model=model, info=header, backend=request.backend,
            threads=request.threads,
        )  # fmt: skip
    else:
        from hybrid.enhance.superres import upscale_jpeg

        array = upscale_jpeg(
            data, size, model=model, info=header, device=request.device,
            threads=request.threads, precision=request.precision,
        )  # fmt: skip
    if strength is None or strength == 1.0:
        return array
    return sr_blend(bicubic_base(data, header, size), array, strength)


def _file_sr_model(header: JpegInfo, ratio: float) -> str:
    """The model a warning names as missing: the first of :func:`_sr_candidates`."""
    return _sr_candidates(header, ratio)[0]
