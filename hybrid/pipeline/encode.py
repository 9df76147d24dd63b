"""The encode of one image at its own size, as an
:class:`~hybrid.pipeline.requests.EncodeRequest` asks: the source loaded once with the
metadata it carries and its content class (:func:`prepare_source`, which rate control's
planned encodes share), then the codec (:func:`hybrid.downscaled.encode_frame_file`).
A request with a target, a ``scale`` or a ``model_id`` (:attr:`EncodeRequest.planned`)
goes to :func:`hybrid.ratecontrol.plan_encode` instead, which sits above this layer.

A file of the ``enhance`` mode is meant for an enhancing decoder, and the encoder has the
original: :func:`fit_file` decodes it plainly and with the network's full change, fits the
share of that change that brings it closest to the original
(:func:`hybrid.enhance.strength.fit_strength`) and :func:`record_strength` writes it, with the
model, into the file's record (format version 4), which the decoder then applies instead of
its near-lossless fade-out. Plain-mode files are not touched.

A downscaled file is meant for a super-resolution decoder: :func:`fit_sr_file` fits the
share of the network's change over the plain decode upscaled bicubically (the decode
without the network) in the same way, and :func:`with_fitted_sr_strength` records it for
the super-resolution model, which the decoder applies (:func:`hybrid.pipeline.upscale.
super_resolved`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid.codec.headers import parse_info
from hybrid.codec.metadata import find_metadata, replace_metadata
from hybrid.codec.options import EncodeOptions
from hybrid.downscaled import EncodeSource, encode_frame_file, load_source, with_content
from hybrid.errors import InputError, MissingModelWarning, WeightsError
from hybrid.pipeline.pixels import enhanced_array, image_to_array, plain_image
from hybrid.pipeline.requests import DecodeRequest, EncodeRequest
from hybrid.pipeline.upscale import (
    bicubic_base,
    enhancement_installed,
    sr_model_for,
    super_resolved,
    target_size,
)

if TYPE_CHECKING:  # the enhancement package is imported when a fit runs
    from hybrid.enhance.strength import StrengthFit

__all__ = [
    "FittedFile",
    "encode_image",
    "fit_file",
    "fit_sr_file",
    "prepare_source",
    "record_strength",
    "strength_model",
    "with_fitted_sr_strength",
    "with_fitted_strength",
]


def prepare_source(image: Any, request: EncodeRequest) -> EncodeSource:
    """``image`` (path, bytes, ``PIL.Image``, uint8 array; :func:`hybrid.io.load_image`)
    loaded for the encoder: the metadata ``request`` keeps (``keep_metadata``, ``strip``,
    ``comment``), at most ``max_pixels``, and the content class it records
    (:func:`hybrid.downscaled.with_content`; ``auto`` classifies one baseline encode).

    Raises:
        InputError: an image that cannot be read or is too large.
    """
    source = load_source(
        image,
        keep_metadata=request.keep_metadata,
        strip=request.strip,
        comment=request.comment,
        max_pixels=request.max_pixels,
    )
    best = request.best or request.tune is not None
    return with_content(source, request.options, request.content, best)


def encode_image(image: Any, request: EncodeRequest) -> bytes:
    """The JPEG file of ``image`` at full resolution, with ``request``'s options and an
    APP11 record of its mode (``plain`` or ``enhance``).

    Raises:
        InputError: :func:`prepare_source`'s errors.
        ValueError: a planned request (:func:`hybrid.ratecontrol.plan_encode` encodes those).
    """
    if request.planned:
        raise ValueError("a request with a target, scale or model_id is rate control's")
    source = prepare_source(image, request)
    # a file meant for the enhanced decode gets the trellis settings for that decoder
    options = request.enhanced_options if request.mode == "enhance" else request.options
    data = encode_frame_file(source, options, mode=request.mode)
    return with_fitted_strength(data, source) if request.mode == "enhance" else data


@dataclass(frozen=True)
class FittedFile:
    """A file's two decodes and the strength fitted from them.

    Attributes:
        fit: :func:`hybrid.enhance.strength.fit_strength`'s result.
        model: the registry id of the model that made ``enhanced``.
        plain: float32 (H, W, C) plain decode in [0, 1] (C = 3, or 1 for greyscale); for a
            downscaled file (:func:`fit_sr_file`) upscaled bicubically to the original size.
        enhanced: float32 (H, W, C) enhanced decode with the network's full change; for a
            downscaled file the super-resolution network's full output at that size.
    """

    fit: StrengthFit
    model: str
    plain: np.ndarray
    enhanced: np.ndarray


def fit_file(data: bytes, original: np.ndarray, model: str | None = None) -> FittedFile:
    """Decode ``data`` (a file just encoded from ``original``, uint8 (H, W[, 3])) plainly and
    enhanced with ``model`` at strength 1 (None: the model a decoder chooses for the file:
    its recorded model, class or the classifier's), and fit its strength.

    Raises:
        WeightsError: no usable enhancement network.
    """
    from hybrid.enhance.strength import fit_strength

    header = parse_info(data, max_pixels=None)
    chosen: list[Any] = []
    request = DecodeRequest(enhance=True, model=model, check_damage=False)
    with warnings.catch_warnings():  # a stand-in model is the one fitted and recorded
        warnings.simplefilter("ignore", MissingModelWarning)
        enhanced = enhanced_array(data, header, request, strength=1.0, report=chosen.append)
    plain = image_to_array(plain_image(data, header), header)
    return FittedFile(fit_strength(plain, enhanced, original), chosen[0].model, plain, enhanced)


def fit_sr_file(data: bytes, original: np.ndarray) -> FittedFile | None:
    """Decode ``data`` (a downscaled file just encoded from ``original``, uint8 (H, W[, 3])
    at the original size) to the original size with the bicubic upscale of the plain decode
    and with the super-resolution network's full output, and fit the strength between them.

    Returns:
        The fit, its model (the super-resolution model the file's record names) and the two
        decodes (``plain`` is the bicubic upscale); None when the file is not downscaled or
        the decoder would not run its recorded model (not installed).
    """
    from hybrid.enhance.strength import fit_strength

    header = parse_info(data, max_pixels=None)
    meta = header.hybrid_metadata
    if meta is None or meta.mode != "downscaled" or not meta.model_id:
        return None
    size = target_size(header, None)
    ratio = max(size[0] / header.width, size[1] / header.height)
    if sr_model_for(header, None, ratio) != meta.model_id:
        return None
    request = DecodeRequest(enhance=True, check_damage=False)
    sr = super_resolved(data, header, request, size, meta.model_id)
    base = bicubic_base(data, header, size)
    return FittedFile(fit_strength(base, sr, original), meta.model_id, base, sr)


def with_fitted_sr_strength(data: bytes, source: EncodeSource) -> bytes:
    """A downscaled file with the strength of its super-resolution model recorded
    (:func:`fit_sr_file`), or as it is when that model is not installed (or, with a
    :class:`MissingModelWarning`, cannot run: a missing or tampered weights file). Cost: one
    super-resolution decode, a bicubic upscale and the fit."""
    try:
        fitted = fit_sr_file(data, source.pixels)
    except WeightsError as exc:  # installed but unusable: the file is still a good JPEG
        warnings.warn(
            f"the file records no super-resolution strength: {exc}",
            MissingModelWarning,
            stacklevel=3,
        )
        return data
    if fitted is None:
        return data
    return record_strength(data, fitted.model, fitted.fit.strength)


def record_strength(data: bytes, model: str, strength: float) -> bytes:
    """``data`` (a hybrid file with a checksum) with ``strength`` (0..1) recorded for
    ``model`` (format version 4: an enhancement model, or for a downscaled file its
    super-resolution model); the rest byte for byte.

    Raises:
        InputError: ``data`` has no hybrid record, or one that cannot carry a strength.
    """
    meta = find_metadata(data)
    if meta is None:
        raise InputError("the file has no hybrid record to carry a strength")
    return replace_metadata(data, replace(meta, model_id=model, strength=strength))


def with_fitted_strength(data: bytes, source: EncodeSource) -> bytes:
    """An ``enhance``-mode file with its fitted strength recorded (:func:`fit_file` with the
    model its decoder chooses; when that is the classifier's guess of another class than
    photo, the default photo model is fitted too and the closer blend recorded), or as it
    is, with a :class:`MissingModelWarning`, when no enhancement network is installed. A
    file whose record names a model the decoder does not use (not an enhancement model) is
    left as it is. Cost: one enhanced decode (two for a file classified as a screen) and the
    fit, about 0.3 s on a 0.15 MP photo on this 2-core machine (BENCHMARKS.md)."""
    if not enhancement_installed(None, None):
        warnings.warn(
            "no enhancement model is installed: the file records no strength (decoders "
            "fade the network's change out by the quantizer step alone)",
            MissingModelWarning,
            stacklevel=3,
        )
        return data
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    fitted = fit_file(data, source.pixels)
    meta = find_metadata(data)
    if meta is None or meta.model_id not in ("", fitted.model):
        return data
    if not meta.model_id and meta.content is None and fitted.model != DEFAULT_ENHANCE_MODEL:
        # The class was the classifier's guess (screen): the photo model may suit the file
        # better (a photo taken for a screen at low quality); the record decides either way.
        photo = fit_file(data, source.pixels, DEFAULT_ENHANCE_MODEL)
        if photo.fit.mse_blend < fitted.fit.mse_blend:
            fitted = photo
    return record_strength(data, fitted.model, fitted.fit.strength)


def strength_model(
    source: EncodeSource, options: EncodeOptions, model_id: str | None
) -> str | None:
    """The enhancement model rate control fits its full-size candidates' strengths for,
    chosen before the first encode (the record's size depends on it): ``model_id`` when it
    names an installed enhancement model, else the model for the source's content class
    (recorded, else the classifier's guess from one baseline encode,
    :func:`hybrid.downscaled.with_content`); None when ``model_id`` names no enhancement
    model or nothing is installed."""
    if not enhancement_installed(None, None):
        return None
    from hybrid.enhance.registry import default_model_for, load_manifest

    if model_id:
        entry = load_manifest().get(model_id)
        if entry is None:
            return None
        if entry.task == "enhance":
            return model_id
    content = source.content or with_content(source, options, "auto").content
    return default_model_for(content or "photo", warn=False)
