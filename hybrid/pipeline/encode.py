"""The encode of one image at its own size, as an
:class:`~hybrid.pipeline.requests.EncodeRequest` asks: the source loaded once with the
metadata it carries and its content class (:func:`prepare_source`, which rate control's
planned encodes share), then the codec (:func:`hybrid.downscaled.encode_frame_file`).
A request with a target, a ``scale`` or a ``model_id`` (:attr:`EncodeRequest.planned`)
goes to :func:`hybrid.ratecontrol.plan_encode` instead, which sits above this layer.
"""

from __future__ import annotations

from typing import Any

from hybrid.downscaled import EncodeSource, encode_frame_file, load_source, with_content
from hybrid.pipeline.requests import EncodeRequest

__all__ = ["encode_image", "prepare_source"]


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
    return with_content(source, request.options, request.content)


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
    return encode_frame_file(source, request.options, mode=request.mode)
