"""Decoded images out: PNG, TIFF, WebP, JPEG, BMP or PPM bytes that keep the source's colour
and orientation metadata.

A decode's output must look in every colour-managed viewer as the JPEG did: the ICC profile
travels with the pixels (PNG ``iCCP``, also at 16 bits per sample), the EXIF block too (PNG
``eXIf``, its orientation already reset by the decoder when it turned the pixels). A CMYK
JPEG becomes RGB for formats without CMYK, converted through its own ICC profile to sRGB
with Pillow's ImageCms (LittleCMS) and tagged sRGB, so no RGB file ever carries a CMYK
profile.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np

from hybrid.colour import cmyk_to_rgb

__all__ = ["OUTPUT_FORMATS", "encode_image", "png16"]

#: Output suffix -> (Pillow format, save options).
OUTPUT_FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "png": ("PNG", {}),
    "jpg": ("JPEG", {"quality": 95}),
    "jpeg": ("JPEG", {"quality": 95}),
    "bmp": ("BMP", {}),
    "tiff": ("TIFF", {"compression": "tiff_deflate"}),
    "tif": ("TIFF", {"compression": "tiff_deflate"}),
    "webp": ("WEBP", {"lossless": True}),
    "ppm": ("PPM", {}),
}

#: Formats whose files carry an ICC profile / an EXIF block through Pillow.
_ICC_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "WEBP"})
_EXIF_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "WEBP"})
#: Formats that store CMYK pixels as they are.
_CMYK_FORMATS = frozenset({"JPEG", "TIFF"})


def encode_image(image: Any, fmt: str, options: dict[str, Any]) -> bytes:
    """``image`` (a ``PIL.Image`` from :func:`hybrid.decode`) as a ``fmt`` file (a Pillow
    format name, e.g. ``"PNG"``), carrying ``image.info``'s ICC profile and EXIF where the
    format can."""
    if image.mode == "CMYK" and fmt not in _CMYK_FORMATS:
        image = cmyk_to_rgb(image)
    extra: dict[str, Any] = {}
    icc = image.info.get("icc_profile")
    if icc and fmt in _ICC_FORMATS:
        extra["icc_profile"] = icc
    exif = image.info.get("exif")
    if exif and fmt in _EXIF_FORMATS:
        extra["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options, **extra)
    return buffer.getvalue()


def png16(
    array: np.ndarray, *, icc_profile: bytes | None = None, exif: bytes | None = None
) -> bytes:
    """A 16-bit PNG of ``array``: float (H, W, C) in [0, 1], C = 1 (grey) or 3 (RGB), with
    ``iCCP`` and ``eXIf`` chunks for the given ICC profile and EXIF payload (PNG 1.2 /
    PNG third edition; the EXIF's ``Exif\\0\\0`` prefix is dropped, as the chunk wants)."""
    import imagecodecs

    samples = np.clip(np.round(np.asarray(array) * 65535.0), 0, 65535).astype(np.uint16)
    if samples.ndim == 3 and samples.shape[2] == 1:
        samples = samples[:, :, 0]
    png = bytes(imagecodecs.png_encode(np.ascontiguousarray(samples)))
    chunks = []
    if icc_profile:
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if exif:
        tiff = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        chunks.append(_png_chunk(b"eXIf", tiff))
    if not chunks:
        return png
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return png[:end_of_ihdr] + b"".join(chunks) + png[end_of_ihdr:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
