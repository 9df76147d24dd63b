"""The decodes one file can get, at its coded size: the plain decode (Pillow, libjpeg-turbo:
what every viewer shows), the enhanced decode (the network, torch or ONNX), the damage check
that precedes them, and the conversions between a ``PIL.Image`` and a float array.

These are the steps :mod:`hybrid.pipeline.decode` and :mod:`hybrid.pipeline.upscale` compose;
each takes the file's bytes and its parsed headers (:class:`~hybrid.codec.headers.JpegInfo`),
read and parsed once by the caller.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from hybrid.codec.headers import JpegInfo
from hybrid.codec.reader import DctRead
from hybrid.errors import (
    CorruptJPEGError,
    ImageTooLargeError,
    InputError,
    JpegDataWarning,
    UnsupportedImageError,
    WeightsError,
)
from hybrid.io import pillow_warnings_as_jpeg_data
from hybrid.pipeline.requests import DecodeRequest
from hybrid.workers import thread_pool, worker_count

__all__ = [
    "array_to_image",
    "checked_plain_image",
    "enhanced_array",
    "image_to_array",
    "plain_image",
    "report_damage",
]


def report_damage(
    data: bytes, header: JpegInfo, strict: bool, stacklevel: int = 2, read: DctRead | None = None
) -> str | None:
    """:func:`~hybrid.codec.reader.find_damage` of a file whose headers parsed (``read``: its
    :func:`~hybrid.codec.reader.read_dct` pass, when made already): raised as
    :class:`CorruptJPEGError` when ``strict``, else warned about (a
    :class:`~hybrid.errors.JpegDataWarning`, ``stacklevel`` as :func:`warnings.warn`'s,
    counted from the caller) and returned. None for undamaged data, and for a file libjpeg
    cannot read at all (the decode itself then says why)."""
    if header.unsupported_reason is not None:
        return None
    from hybrid.codec.reader import find_damage

    return _announce(find_damage(data, header, read), strict, stacklevel + 1)


def _announce(damage: str | None, strict: bool, stacklevel: int) -> str | None:
    """Raise (``strict``) or warn about ``damage``, counted from the caller's caller."""
    if damage is None:
        return None
    if strict:
        raise CorruptJPEGError(f"damaged JPEG data: {damage}")
    warnings.warn(
        f"damaged JPEG data, the decoded image is partly invented: {damage}",
        JpegDataWarning,
        stacklevel=stacklevel + 1,
    )
    return damage


def checked_plain_image(
    data: bytes, header: JpegInfo, strict: bool, stacklevel: int = 2, threads: int | None = None
) -> tuple[Any, str | None]:
    """:func:`plain_image` and :func:`report_damage` of the same file, the check running
    beside Pillow's decode where it can: both are libjpeg passes that release the GIL, so
    on a machine with a free core a checked decode takes about as long as Pillow's alone
    (the CPU time is the same). Only files the check reads in one in-memory libjpeg-turbo
    pass go to the thread (one sequential scan): other files' checks redirect the process's
    stderr for the length of a libjpeg 6b pass, which would swallow the decode's warnings.
    ``threads`` 1 (or a single usable CPU) runs the check first, in this thread.

    Returns:
        (the ``PIL.Image``, the damage found or None). Raises as :func:`plain_image` and
        :func:`report_damage` do; a strict check's error comes first.
    """
    beside = (
        worker_count(threads) > 1
        and header.unsupported_reason is None
        and header.num_scans == 1
        and header.process in ("baseline", "extended")
    )
    if not beside:
        damage = report_damage(data, header, strict, stacklevel + 1)
        return plain_image(data, header), damage
    from hybrid.codec.reader import find_damage

    found = thread_pool("hybrid-damage-check", 1).submit(find_damage, data, header)
    try:
        image = plain_image(data, header)
    except InputError:
        _announce(found.result(), strict, stacklevel + 1)  # the damage, if any, explains it
        raise
    return image, _announce(found.result(), strict, stacklevel + 1)


def plain_image(data: bytes, header: JpegInfo) -> Any:
    """The plain decode: Pillow's (libjpeg-turbo) ``PIL.Image`` in the file's own mode
    (``L``, ``RGB`` or ``CMYK``), stored orientation.

    Raises:
        ImageTooLargeError: Pillow's decompression-bomb limit.
        UnsupportedImageError: a file the headers already found unsupported.
        CorruptJPEGError: anything else libjpeg cannot decode.
    """
    from PIL import Image

    try:
        with pillow_warnings_as_jpeg_data():
            image = Image.open(io.BytesIO(data))
            image.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        reason = header.unsupported_reason
        if reason is not None:
            raise UnsupportedImageError(reason) from None
        raise CorruptJPEGError(f"cannot decode: {exc}") from None
    return image


def enhanced_array(
    data: bytes,
    header: JpegInfo,
    request: DecodeRequest,
    *,
    tolerate_damage: bool = False,
    report: Callable[[Any], None] | None = None,
    read: DctRead | None = None,
    strength: float | None = None,
) -> np.ndarray:
    """The enhanced decode at the coded size, by ``request``'s backend, model, weights,
    device, threads, precision and content.

    Args:
        tolerate_damage: the caller has reported the file's damage (or not asked about it);
            else the network's input reader raises on damaged data.
        report: called with the :class:`~hybrid.enhance.choice.ModelChoice` made
            (:mod:`hybrid.enhance.choice`).
        read: the file's :func:`~hybrid.codec.reader.read_dct` pass, when the caller made
            it (for the damage check): the network's input is built from it, without
            running libjpeg again.
        strength: the share (0..1) of the network's change kept; None: the file's recorded
            strength for the model chosen, else the near-lossless fade-out
            (:func:`hybrid.enhance.taper.kept_share`); 1.0: the full change, which the
            encoder fits a file's strength from.

    Returns:
        float32 (H, W, C) in [0, 1], C = 3 (RGB) or 1 (greyscale).

    Raises:
        UnsupportedImageError: a file the headers found unsupported.
        WeightsError: no usable network (including the enhancement package not loading).
    """
    reason = header.unsupported_reason
    if reason is not None:
        raise UnsupportedImageError(reason)
    if request.backend != "torch":
        from hybrid.enhance.onnx_backend import enhance_jpeg_onnx

        result = enhance_jpeg_onnx(
            data, info=header, model=request.model, backend=request.backend,
            threads=request.threads, tolerate_damage=tolerate_damage, content=request.content,
            report=report, read=read, strength=strength,
        )  # fmt: skip
        return np.asarray(result, dtype=np.float32)
    try:
        import hybrid.enhance as enhance_pkg
    except ImportError as exc:
        raise WeightsError(f"the enhancement module cannot be loaded: {exc}") from None
    result = enhance_pkg.enhance_jpeg(
        data, info=header, model=request.model, weights=request.weights, device=request.device,
        threads=request.threads, precision=request.precision, tolerate_damage=tolerate_damage,
        content=request.content, report=report, read=read, strength=strength,
    )  # fmt: skip
    return np.asarray(result, dtype=np.float32)


def image_to_array(image: Any, header: JpegInfo) -> np.ndarray:
    """A plain decode (``PIL.Image``) as float32 (H, W, C) in [0, 1]: C = 1 for a
    greyscale file, else RGB (a CMYK file converted by Pillow)."""
    pixels = np.asarray(image.convert("L" if len(header.components) == 1 else "RGB"))
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
    return pixels.astype(np.float32) / 255.0


def array_to_image(array: np.ndarray) -> Any:
    """A float (H, W, 1|3) image in [0, 1] as an 8-bit ``PIL.Image`` (``L`` or ``RGB``),
    rounded to nearest."""
    from PIL import Image

    # Annotated: numpy's stubs give np.empty of an ndarray's shape a 0-d shape type.
    pixels: np.ndarray = np.empty(array.shape, dtype=np.uint8)
    for y in range(0, array.shape[0], 256):  # in bands: no float temporaries of the image
        band = np.multiply(array[y : y + 256], 255.0, dtype=np.float32)
        pixels[y : y + 256] = np.clip(np.round(band, out=band), 0, 255, out=band)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return Image.fromarray(pixels)
