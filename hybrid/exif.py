"""EXIF orientation: reading it, applying it to pixels, and resetting the tag.

Browsers, phones and photo viewers show a JPEG turned by its EXIF Orientation tag (TIFF tag
0x0112, values 1..8, CIPA DC-008 section 4.6.4). hybrid's decoder applies it by default, as
they do, and writes the EXIF block on with the tag reset to 1 ("upright"), so no viewer turns
the image a second time. The encoder does the same to its input.

Orientation values and the transform that makes the stored image upright (Pillow's
``ImageOps.exif_transpose`` uses the same table):

====  ===========================  =======================
 1    stored upright                none
 2    mirrored left-right           flip left-right
 3    rotated 180                   rotate 180
 4    mirrored top-bottom           flip top-bottom
 5    transposed                    transpose (swap axes)
 6    rotated 90 counter-clockwise  rotate 90 clockwise
 7    transversed                   transverse
 8    rotated 90 clockwise          rotate 90 counter-clockwise
====  ===========================  =======================
"""

from __future__ import annotations

import struct
import warnings
from typing import Any

import numpy as np

from hybrid.errors import JpegDataWarning

__all__ = [
    "EXIF_PREFIX",
    "ORIENTATION_TAG",
    "exif_payload",
    "orient_array",
    "orient_image",
    "orientation_of",
    "reset_orientation",
]

#: What an APP1 Exif payload starts with (before the TIFF header).
EXIF_PREFIX = b"Exif\x00\x00"
#: TIFF tag of the orientation in IFD0.
ORIENTATION_TAG = 0x0112


def exif_payload(image: Any) -> bytes | None:
    """The EXIF block of a ``PIL.Image`` as an APP1 payload (with the ``Exif\\0\\0`` prefix),
    or None."""
    raw = image.info.get("exif")
    if not raw:
        return None
    raw = bytes(raw)
    return raw if raw.startswith(EXIF_PREFIX) else EXIF_PREFIX + raw


def orientation_of(image: Any) -> int:
    """The EXIF orientation (1..8) of a ``PIL.Image``; 1 when absent or not a valid value."""
    if not image.info.get("exif"):
        return 1
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF: viewers show the image as stored
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def orient_array(array: np.ndarray, orientation: int) -> np.ndarray:
    """``array`` (H, W) or (H, W, C), any dtype, turned upright for EXIF ``orientation``.

    Returns a view where possible (no copy); orientations 5..8 swap H and W.
    """
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(array, -1)
    if orientation == 7:
        return array[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(array, 1)
    return array


def orient_image(image: Any, orientation: int) -> Any:
    """A ``PIL.Image`` turned upright for EXIF ``orientation`` (``image.info`` is kept)."""
    from PIL import Image

    methods = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }
    if orientation not in methods:
        return image
    turned = image.transpose(methods[orientation])
    turned.info.update(image.info)
    return turned


def reset_orientation(exif: bytes | None) -> bytes | None:
    """``exif`` (an APP1 payload) with IFD0's Orientation set to 1.

    The tag is patched in place where it is a plain inline SHORT (every other byte kept, so
    maker notes with absolute offsets survive); otherwise Pillow re-serialises the block.
    An EXIF block neither can handle is dropped with a warning rather than carried with a
    wrong tag.
    """
    if exif is None:
        return None
    patched = _patch_orientation(exif)
    if patched is not None:
        return patched
    from PIL import Image

    parsed = Image.Exif()
    try:
        parsed.load(exif)
        parsed[ORIENTATION_TAG] = 1
        return bytes(parsed.tobytes())
    except Exception:  # noqa: BLE001 - malformed EXIF: drop it rather than carry a wrong tag
        warnings.warn(
            "dropping unreadable EXIF data after applying its orientation",
            JpegDataWarning,
            stacklevel=3,
        )
        return None


def _patch_orientation(exif: bytes) -> bytes | None:
    tiff = exif[len(EXIF_PREFIX) :] if exif.startswith(EXIF_PREFIX) else exif
    base = len(exif) - len(tiff)
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd0 + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd0)
    for i in range(count):
        entry = ifd0 + 2 + 12 * i
        if entry + 12 > len(tiff):
            return None
        tag, kind, n = struct.unpack_from(order + "HHI", tiff, entry)
        if tag == ORIENTATION_TAG:
            if kind != 3 or n != 1:  # SHORT, one value, stored inline
                return None
            out = bytearray(exif)
            struct.pack_into(order + "H", out, base + entry + 8, 1)
            return bytes(out)
    return exif  # no Orientation tag: already upright
