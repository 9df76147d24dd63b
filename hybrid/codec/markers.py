"""JPEG marker segments (T.81 B.1-B.2, JFIF, Exif, ICC) built from plain values."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import numpy as np

from hybrid.codec.huffman import HuffmanTable
from hybrid.codec.tables import ZIGZAG
from hybrid.errors import InputError

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
SOF0, SOF1, SOF2 = 0xC0, 0xC1, 0xC2
DHT, SOS, DQT, DRI, APP0, COM = 0xC4, 0xDA, 0xDB, 0xDD, 0xE0, 0xFE

#: A segment's length field counts itself, so the payload is at most 65535 - 2 bytes.
MAX_PAYLOAD = 65533
ICC_HEADER = b"ICC_PROFILE\x00"
#: ICC profile bytes per APP2 chunk: the payload less the header and the seq/count bytes.
ICC_CHUNK = MAX_PAYLOAD - len(ICC_HEADER) - 2
EXIF_HEADER = b"Exif\x00\x00"


def segment(code: int, payload: bytes, what: str = "segment") -> bytes:
    """A marker segment: 0xFF, ``code``, the 2-byte length, the payload (<= 65533 bytes)."""
    if len(payload) > MAX_PAYLOAD:
        raise InputError(f"{what} is {len(payload)} bytes; a JPEG segment holds at most 65533")
    return struct.pack(">BBH", 0xFF, code, len(payload) + 2) + bytes(payload)


def app_segment(n: int, payload: bytes) -> bytes:
    """An APPn segment (n = 0..15)."""
    if not 0 <= n <= 15:
        raise InputError(f"APPn needs n in 0..15, got {n}")
    return segment(APP0 + n, payload, f"APP{n} payload")


def jfif_segment(units: int = 0, x_density: int = 1, y_density: int = 1) -> bytes:
    """APP0 JFIF 1.01 without thumbnail; units 0 = aspect ratio only, 1 = dpi, 2 = dpcm."""
    if units not in (0, 1, 2) or not (1 <= x_density <= 65535 and 1 <= y_density <= 65535):
        raise InputError("JFIF density needs units 0..2 and densities 1..65535")
    return app_segment(
        0, b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, units, x_density, y_density, 0, 0)
    )


def exif_segment(exif: bytes) -> bytes:
    """APP1 Exif; ``exif`` is the TIFF data, with or without the ``Exif\\0\\0`` header."""
    exif = bytes(exif)
    if not exif.startswith(EXIF_HEADER):
        exif = EXIF_HEADER + exif
    return app_segment(1, exif)


#: What an APP1 XMP payload starts with (Adobe XMP Specification Part 3, 1.1.3).
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
#: The largest XMP packet one APP1 segment holds (extended XMP is not written).
MAX_XMP_BYTES = 65533 - len(XMP_HEADER)


def xmp_segment(xmp: bytes) -> bytes:
    """APP1 XMP: the packet (XML bytes) after the namespace header."""
    return app_segment(1, XMP_HEADER + bytes(xmp))


def icc_segments(profile: bytes) -> list[bytes]:
    """APP2 ICC_PROFILE segments: the profile in chunks of up to 65519 bytes (ICC.1 B.4)."""
    profile = bytes(profile)
    if not profile:
        raise InputError("the ICC profile is empty")
    chunks = [profile[i : i + ICC_CHUNK] for i in range(0, len(profile), ICC_CHUNK)]
    if len(chunks) > 255:
        raise InputError(f"ICC profile of {len(profile)} bytes needs more than 255 APP2 chunks")
    return [
        app_segment(2, ICC_HEADER + bytes((i, len(chunks))) + chunk)
        for i, chunk in enumerate(chunks, start=1)
    ]


def comment_segment(text: bytes) -> bytes:
    """A COM segment."""
    return segment(COM, bytes(text), "comment")


def dqt_segment(tables: Mapping[int, np.ndarray]) -> bytes:
    """One DQT segment holding every table, each 8-bit (Pq=0) unless a value exceeds 255.

    Args:
        tables: table index 0..3 -> uint16 (8, 8) in natural order, values 1..65535.
    """
    payload = bytearray()
    for index in sorted(tables):
        q = np.asarray(tables[index])
        if q.shape != (8, 8) or q.min() < 1 or q.max() > 65535 or not 0 <= index <= 3:
            raise InputError(f"quantization table {index} must be 8x8 with values 1..65535")
        values = q.reshape(64)[ZIGZAG]
        wide = int(q.max() > 255)
        payload.append(wide << 4 | index)
        payload += values.astype(">u2" if wide else np.uint8).tobytes()
    return segment(DQT, bytes(payload), "DQT")


def sof_segment(
    code: int, width: int, height: int, components: Sequence[tuple[int, int, int, int]]
) -> bytes:
    """SOFn, 8-bit precision; ``components`` are (ident, h_samp, v_samp, quant_index)."""
    payload = struct.pack(">BHHB", 8, height, width, len(components))
    for ident, h, v, tq in components:
        payload += bytes((ident, h << 4 | v, tq))
    return segment(code, payload, "SOF")


def dht_segment(tables: Sequence[tuple[int, int, HuffmanTable]]) -> bytes:
    """One DHT segment holding ``(table_class, number, table)`` entries (class 0 DC, 1 AC)."""
    payload = bytearray()
    for cls, number, table in tables:
        payload.append(cls << 4 | number)
        payload += bytes(table.bits) + bytes(table.values)
    return segment(DHT, bytes(payload), "DHT")


def dri_segment(interval: int) -> bytes:
    """DRI: the restart interval in MCUs (1..65535)."""
    return segment(DRI, struct.pack(">H", interval))


def sos_segment(
    components: Sequence[tuple[int, int, int]], ss: int, se: int, ah: int, al: int
) -> bytes:
    """SOS; ``components`` are (ident, dc_table, ac_table)."""
    payload = bytes((len(components),))
    for ident, td, ta in components:
        payload += bytes((ident, td << 4 | ta))
    return segment(SOS, payload + bytes((ss, se, ah << 4 | al)))
