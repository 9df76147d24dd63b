"""The decode engine: one JPEG (path, bytes or file object) and a
:class:`~hybrid.pipeline.requests.DecodeRequest` in, a ``PIL.Image`` or a float array out.

The file is read once (:func:`hybrid.io.read_bytes`) and its headers parsed once
(:func:`hybrid.codec.headers.parse_info`, with the request's limits); that
:class:`~hybrid.codec.headers.JpegInfo` flows through every step:

1. the damage check (:func:`hybrid.pipeline.pixels.report_damage`), unless switched off
   (for a plain decode, :func:`~hybrid.pipeline.pixels.checked_plain_image` runs it beside
   Pillow's decode);
2. a resized decode (a downscaled file asked for its original size, or ``scale``):
   :func:`hybrid.pipeline.upscale.decode_resized`; else the enhanced decode
   (:func:`~hybrid.pipeline.pixels.enhanced_array`) or the plain one
   (:func:`~hybrid.pipeline.pixels.plain_image`);
3. the EXIF orientation applied, and for an image the file's EXIF and ICC profile, the
   damage found and the enhancement model chosen put in ``image.info``.

:func:`hybrid.decode` and :func:`hybrid.decode_array` are this with a request built from
their keywords; rate control decodes its candidates here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hybrid.codec.headers import parse_info
from hybrid.codec.reader import read_dct
from hybrid.exif import orient_array, orient_image
from hybrid.io import Source, image_metadata, read_bytes, read_metadata
from hybrid.pipeline.pixels import (
    array_to_image,
    checked_plain_image,
    enhanced_array,
    image_to_array,
    plain_image,
    report_damage,
)
from hybrid.pipeline.requests import DecodeRequest
from hybrid.pipeline.upscale import decode_resized, wants_resize

__all__ = ["decode_source"]


def decode_source(source: Source, request: DecodeRequest, *, as_array: bool = False) -> Any:
    """Decode ``source`` as ``request`` asks (see the module docstring and
    :func:`hybrid.decode` for what each field does).

    Args:
        source: a path, the file's bytes or a binary file object.
        request: the checked decode options.
        as_array: return float32 (H, W, C) in [0, 1] (C = 3 RGB or 1 greyscale, the
            network's full precision for an enhanced decode) instead of a ``PIL.Image``.

    Returns:
        A ``PIL.Image.Image`` carrying ``exif``, ``icc_profile``, ``hybrid_damage``, the
        model chosen (``hybrid_model``, ``hybrid_model_reason``, ``hybrid_content``) and the
        share of its change kept (``hybrid_strength``, 0..1, and ``hybrid_strength_source``:
        ``recorded``, ``taper``, or for a super-resolution model ``model default``) in
        ``info``, or the array.

    Raises:
        InputError: its subclasses, as :func:`hybrid.decode` documents them.
    """
    chosen: list[Any] = []  # the ModelChoice of an enhanced decode
    opened: Any = None  # the plain decode's PIL image
    result: Any
    data = read_bytes(source)
    header = parse_info(
        data, max_pixels=request.max_pixels, max_scan_passes=request.max_scan_passes
    )
    # An enhanced decode at the coded size reads the file with libjpeg once: that pass is
    # the damage check and the network's input (coefficients, tables, pixels made from them).
    resize = wants_resize(header, request)
    plain = not request.enhance and not resize
    read = None
    if request.enhance and header.unsupported_reason is None and not resize:
        read = read_dct(data, header)
    # stacklevel 3: the warning names the line that called hybrid.decode
    damage = (
        report_damage(data, header, request.strict, 3, read=read)
        if request.check_damage and not plain
        else None
    )
    tolerate = damage is not None or not request.check_damage  # reported, or not asked about
    if plain and request.check_damage:  # the check runs beside Pillow's decode
        opened, damage = checked_plain_image(data, header, request.strict, 3, request.threads)
        result = image_to_array(opened, header) if as_array else opened
    elif resize:
        result = decode_resized(data, header, request, as_array=as_array, report=chosen.append)
    elif request.enhance:
        array = enhanced_array(
            data, header, request, tolerate_damage=tolerate, report=chosen.append, read=read
        )
        result = array if as_array else array_to_image(array)
    else:
        opened = plain_image(data, header)
        result = image_to_array(opened, header) if as_array else opened
    upright = request.apply_orientation
    # A plain decode has the file open in Pillow already: its metadata comes from there.
    carried, orientation = (
        read_metadata(data, upright=upright)
        if opened is None
        else image_metadata(opened, upright=upright)
    )
    if upright and orientation != 1:
        result = (
            np.ascontiguousarray(orient_array(result, orientation))
            if as_array
            else orient_image(result, orientation)
        )
    if as_array:
        return result
    result.info.pop("exif", None)
    result.info.pop("icc_profile", None)
    if carried.exif is not None:
        result.info["exif"] = carried.exif
    if carried.icc_profile is not None:
        result.info["icc_profile"] = carried.icc_profile
    if damage is not None:
        result.info["hybrid_damage"] = damage
    for choice in chosen:
        result.info["hybrid_model"] = choice.model
        result.info["hybrid_model_reason"] = choice.why()
        if choice.content is not None:
            result.info["hybrid_content"] = choice.content
        if choice.strength is not None:  # the share of the network's change kept, and why
            result.info["hybrid_strength"] = choice.strength
            result.info["hybrid_strength_source"] = choice.strength_source
    return result
