"""JPEG headers without decoding: a pure-Python marker walk (T.81 Annex B) -> :class:`JpegInfo`.

:func:`read_info` validates the structure (SOI, segment lengths in bounds, a frame header,
at least one scan, every scan's entropy-coded data terminated, EOI present) and reports the
frame, tables and APPn/COM segments. Anything malformed raises
:class:`~hybrid.errors.CorruptJPEGError` with a one-line message. :mod:`hybrid.codec.reader`
runs it before libjpeg ever sees a file, so libjpeg is only handed structurally sound input.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybrid.codec.metadata import SIGNATURE as HYBRID_SIGNATURE
from hybrid.codec.metadata import HybridMetadata, coded_size_of, parse_metadata
from hybrid.codec.tables import ZIGZAG
from hybrid.errors import (
    CorruptJPEGError,
    HybridMetadataWarning,
    ImageTooLargeError,
    UnsupportedImageError,
)
from hybrid.io import Source, read_bytes

__all__ = ["MAX_SCANS", "ComponentInfo", "JpegInfo", "SegmentInfo", "parse_info", "read_info"]

# T.81 Table B.1 marker codes (second byte).
_SOF_PROCESS = {
    0xC0: "baseline",
    0xC1: "extended",
    0xC2: "progressive",
    0xC3: "lossless",
    0xC5: "extended",  # differential (hierarchical) sequential
    0xC6: "progressive",
    0xC7: "lossless",
    0xC9: "extended",  # arithmetic
    0xCA: "progressive",
    0xCB: "lossless",
    0xCD: "extended",
    0xCE: "progressive",
    0xCF: "lossless",
}
_SOS, _EOI, _SOI, _DQT, _DRI, _COM, _DHP = 0xDA, 0xD9, 0xD8, 0xDB, 0xDD, 0xFE, 0xDE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0..7
#: Most scans a file may have. Every scan makes libjpeg pass over all blocks of its components,
#: so a small file with thousands of tiny progressive scans costs minutes of CPU; 500 is
#: libjpeg-turbo's own limit (TJPARAM_SCANLIMIT / TJFLAG_LIMITSCANS). Real encoders write <= ~20.
MAX_SCANS = 500
# The end of entropy-coded data: 0xFF followed by anything but a stuffed 0x00, RSTn or fill.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "RIFF/WebP"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
]


def _marker_name(code: int) -> str:
    if code in _SOF_PROCESS:
        return f"SOF{code - 0xC0}"
    if 0xE0 <= code <= 0xEF:
        return f"APP{code - 0xE0}"
    if 0xD0 <= code <= 0xD7:
        return f"RST{code - 0xD0}"
    names = {0xC4: "DHT", 0xC8: "JPG", 0xCC: "DAC", 0xD8: "SOI", 0xD9: "EOI", 0xDA: "SOS",
             0xDB: "DQT", 0xDC: "DNL", 0xDD: "DRI", 0xDE: "DHP", 0xDF: "EXP", 0xFE: "COM",
             0x01: "TEM"}  # fmt: skip
    return names.get(code, f"0xFF{code:02X}")


@dataclass(frozen=True)
class ComponentInfo:
    """One component as the frame header (SOF) declares it."""

    ident: int
    h_samp: int
    v_samp: int
    quant_index: int


@dataclass(frozen=True)
class SegmentInfo:
    """One marker segment before the first scan (APPn, COM, ...) or between scans.

    Attributes:
        marker: the marker's second byte (0xE1 for APP1).
        name: ``"APP1"``, ``"COM"`` ...
        label: what it holds, where recognised: ``"JFIF"``, ``"Exif"``, ``"XMP"``, ``"ICC"``,
            ``"Adobe"``, ``"hybrid"``, ``"MPF"``, ``"Photoshop"``, ``"JUMBF"``, ``"comment"``;
            else ``""``.
        offset: byte offset of the marker in the file.
        length: segment length as in the file (payload + 2).
    """

    marker: int
    name: str
    label: str
    offset: int
    length: int


_APP_LABELS = [
    (0xE0, b"JFIF\x00", "JFIF"),
    (0xE0, b"JFXX\x00", "JFXX"),
    (0xE1, b"Exif\x00", "Exif"),
    (0xE1, b"http://ns.adobe.com/xap/1.0/\x00", "XMP"),
    (0xE1, b"http://ns.adobe.com/xmp/extension/\x00", "XMP"),
    (0xE2, b"ICC_PROFILE\x00", "ICC"),
    (0xE2, b"MPF\x00", "MPF"),
    (0xEB, HYBRID_SIGNATURE, "hybrid"),
    (0xEB, b"JP", "JUMBF"),
    (0xED, b"Photoshop 3.0\x00", "Photoshop"),
    (0xEE, b"Adobe", "Adobe"),
]


def _label(code: int, payload: bytes) -> str:
    if code == _COM:
        return "comment"
    for marker, prefix, label in _APP_LABELS:
        if code == marker and payload.startswith(prefix):
            return label
    return ""


@dataclass(frozen=True, eq=False)
class JpegInfo:
    """What a JPEG's headers say, from :func:`read_info` (no pixels decoded).

    Attributes:
        width, height: image size from the frame header (height 0: defined by a DNL marker).
        precision: sample precision in bits (8; 12 for extended 12-bit files).
        sof_marker: the SOFn marker's second byte (0xC0 baseline, 0xC2 progressive ...).
        process: ``"baseline"``, ``"extended"``, ``"progressive"`` or ``"lossless"``.
        arithmetic: arithmetic entropy coding (SOF9..15) instead of Huffman.
        hierarchical: differential frames (SOF5..7, 13..15) or a DHP marker.
        components: the frame's components in SOF order.
        color_space: ``"grayscale"``, ``"ycbcr"``, ``"rgb"``, ``"cmyk"``, ``"ycck"`` or
            ``"unknown"``, decided as libjpeg does (JFIF, Adobe transform flag, component ids).
        quant_tables: table index -> uint16 (8, 8), natural order: for each table a component
            uses, the definition in force at that component's first scan (what libjpeg uses).
        quant_precision: table index -> 8 or 16 (bits per DQT entry).
        restart_interval: MCUs between restart markers (first DRI), 0 if none.
        num_scans: number of SOS segments.
        segments: APPn and COM segments, in file order.
        comments: payloads of the COM segments.
        icc_profile_size: total bytes of ICC profile chunks (0 if none).
        hybrid_metadata: hybrid's APP11 metadata, if present and valid.
        estimated_quality: IJG quality (1..100) whose scaled Annex K table is closest to the
            luma table (None when unavailable, e.g. for custom tables without an estimator).
        quality_exact: True when every table used is exactly IJG's table at that quality.
        file_size: bytes in the file.
        trailing_bytes: bytes after the EOI marker.
    """

    width: int
    height: int
    precision: int
    sof_marker: int
    process: str
    arithmetic: bool
    hierarchical: bool
    components: tuple[ComponentInfo, ...]
    color_space: str
    quant_tables: dict[int, np.ndarray]
    quant_precision: dict[int, int]
    restart_interval: int
    num_scans: int
    segments: tuple[SegmentInfo, ...]
    comments: tuple[bytes, ...]
    icc_profile_size: int
    hybrid_metadata: HybridMetadata | None
    estimated_quality: float | None
    quality_exact: bool
    file_size: int
    trailing_bytes: int

    @property
    def progressive(self) -> bool:
        return self.process == "progressive"

    @property
    def baseline(self) -> bool:
        return self.sof_marker == 0xC0

    @property
    def extended(self) -> bool:
        return self.process == "extended"

    @property
    def lossless(self) -> bool:
        return self.process == "lossless"

    def _has(self, label: str) -> bool:
        return any(s.label == label for s in self.segments)

    @property
    def has_jfif(self) -> bool:
        return self._has("JFIF")

    @property
    def has_exif(self) -> bool:
        return self._has("Exif")

    @property
    def has_icc(self) -> bool:
        return self._has("ICC")

    @property
    def has_adobe(self) -> bool:
        return self._has("Adobe")

    @property
    def has_xmp(self) -> bool:
        return self._has("XMP")

    @property
    def subsampling(self) -> str:
        """``"4:2:0"``-style name of the chroma sampling, ``"greyscale"``, or the factors."""
        comps = self.components
        if len(comps) == 1:
            return "greyscale"
        factors = ",".join(f"{c.h_samp}x{c.v_samp}" for c in comps)
        if len(comps) == 3 and all((c.h_samp, c.v_samp) == (1, 1) for c in comps[1:]):
            names = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0",
                     (4, 1): "4:1:1"}  # fmt: skip
            name = names.get((comps[0].h_samp, comps[0].v_samp))
            if name:
                return name
        return factors

    @property
    def unsupported_reason(self) -> str | None:
        """Why :func:`read_frame` cannot read this file (one sentence), or None."""
        if self.arithmetic:
            return "arithmetic-coded JPEGs are not supported (only Huffman coding)"
        if self.lossless:
            return "lossless JPEG (SOF3) is not supported"
        if self.hierarchical:
            return "hierarchical JPEG is not supported"
        if self.precision != 8:
            return f"{self.precision}-bit JPEGs are not supported (only 8-bit samples)"
        if self.height == 0:
            return "JPEGs whose height is set by a DNL marker are not supported"
        if len(self.components) not in (1, 3):
            kind = "CMYK/YCCK" if len(self.components) == 4 else "unusual"
            return (
                f"JPEGs with {len(self.components)} components ({kind}) are not supported "
                "(only greyscale and YCbCr)"
            )
        if self.color_space not in ("grayscale", "ycbcr"):
            return f"{self.color_space.upper()}-coded JPEGs are not supported (only YCbCr)"
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (tables as nested lists)."""
        meta = self.hybrid_metadata
        return {
            "width": self.width,
            "height": self.height,
            "precision": self.precision,
            "process": self.process,
            "sof": _marker_name(self.sof_marker),
            "progressive": self.progressive,
            "arithmetic": self.arithmetic,
            "hierarchical": self.hierarchical,
            "color_space": self.color_space,
            "subsampling": self.subsampling,
            "components": [
                {"id": c.ident, "sampling": [c.h_samp, c.v_samp], "quant_table": c.quant_index}
                for c in self.components
            ],
            "quant_tables": {
                str(i): {"bits": self.quant_precision[i], "values": t.tolist()}
                for i, t in sorted(self.quant_tables.items())
            },
            "estimated_quality": self.estimated_quality,
            "quality_exact": self.quality_exact,
            "restart_interval": self.restart_interval,
            "num_scans": self.num_scans,
            "segments": [
                {"marker": s.name, "label": s.label, "offset": s.offset, "length": s.length}
                for s in self.segments
            ],
            "comments": [c.decode("utf-8", "replace") for c in self.comments],
            "icc_profile_size": self.icc_profile_size,
            "hybrid_metadata": None
            if meta is None
            else {
                "version": meta.version,
                "mode": meta.mode,
                "original_width": meta.original_width,
                "original_height": meta.original_height,
                "scale": meta.scale,
                "model_id": meta.model_id,
            },
            "file_size": self.file_size,
            "trailing_bytes": self.trailing_bytes,
            "unsupported_reason": self.unsupported_reason,
        }


def read_info(source: Source, *, max_pixels: int | None = None) -> JpegInfo:
    """Parse the headers of a JPEG (path, bytes or binary file object); no pixel decode.

    Args:
        max_pixels: if given, raise :class:`ImageTooLargeError` for larger frames.

    Raises:
        InputError: the source cannot be read (missing file, a directory ...).
        CorruptJPEGError: empty, not a JPEG, truncated or structurally damaged.
        ImageTooLargeError: more than ``max_pixels`` pixels.
        UnsupportedImageError: more than :data:`MAX_SCANS` scans.
    """
    return parse_info(read_bytes(source), max_pixels=max_pixels)


@dataclass
class _ParseState:
    sof: tuple[int, int, int, int, tuple[ComponentInfo, ...]] | None = None
    tables: dict[int, np.ndarray] = field(default_factory=dict)
    precisions: dict[int, int] = field(default_factory=dict)
    latched: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)
    restart_interval: int | None = None
    num_scans: int = 0
    hierarchical: bool = False
    segments: list[SegmentInfo] = field(default_factory=list)
    comments: list[bytes] = field(default_factory=list)
    app11: list[bytes] = field(default_factory=list)
    adobe_transform: int | None = None
    icc_size: int = 0
    entropy_bytes: int = 0


def parse_info(data: bytes, *, max_pixels: int | None = None) -> JpegInfo:
    """:func:`read_info` for bytes already in memory."""
    n = len(data)
    if n == 0:
        raise CorruptJPEGError("empty file")
    if n < 2 or data[0] != 0xFF or data[1] != _SOI:
        for prefix, kind in _SIGNATURES:
            if data.startswith(prefix):
                raise CorruptJPEGError(f"not a JPEG file (it looks like {kind})")
        raise CorruptJPEGError("not a JPEG file (no SOI marker at the start)")
    st = _ParseState()
    pos = 2
    while True:
        if pos >= n:
            raise CorruptJPEGError("truncated: the file ends before the EOI marker")
        if data[pos] != 0xFF:
            raise CorruptJPEGError(
                f"corrupt: expected a marker at offset {pos}, found 0x{data[pos]:02X}"
            )
        while pos < n and data[pos] == 0xFF:  # fill bytes (T.81 B.1.1.2)
            pos += 1
        if pos >= n:
            raise CorruptJPEGError("truncated: the file ends before the EOI marker")
        code, offset = data[pos], pos - 1
        pos += 1
        if code == _EOI:
            break
        if code in _STANDALONE:
            continue
        if code == 0x00 or code == _SOI:
            raise CorruptJPEGError(f"corrupt: unexpected {_marker_name(code)} at offset {offset}")
        if pos + 2 > n:
            raise CorruptJPEGError(
                f"truncated in the {_marker_name(code)} segment at offset {offset}"
            )
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            raise CorruptJPEGError(
                f"corrupt: {_marker_name(code)} segment at offset {offset} has length {length}"
            )
        end = pos + length
        if end > n:
            raise CorruptJPEGError(
                f"truncated in the {_marker_name(code)} segment at offset {offset}"
            )
        payload = data[pos + 2 : end]
        pos = end
        _handle_segment(st, code, offset, length, payload, max_pixels)
        if code == _SOS:
            match = _MARKER_IN_SCAN.search(data, pos)
            if match is None:
                raise CorruptJPEGError(
                    f"truncated: the file ends inside scan {st.num_scans} (no EOI marker)"
                )
            st.entropy_bytes += match.start() - pos
            pos = match.start()
    if st.sof is None:
        raise CorruptJPEGError("corrupt: no frame header (SOF) before EOI")
    if st.num_scans == 0:
        raise CorruptJPEGError("corrupt: no scan (SOS): the file holds no image data")
    _check_data_size(st)
    return _build_info(st, data, trailing=n - pos)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _check_data_size(st: _ParseState) -> None:
    """Refuse Huffman-coded files too small to hold their declared blocks.

    Every block's DC coefficient costs at least one bit (a Huffman code is never shorter), so
    a frame of B blocks needs at least B / 8 bytes of entropy-coded data. This stops a tiny
    file that declares a huge frame from making libjpeg allocate for it.
    """
    assert st.sof is not None
    code, _, height, width, comps = st.sof
    if code >= 0xC9 or _SOF_PROCESS[code] == "lossless" or height == 0:
        return
    hmax = max(c.h_samp for c in comps)
    vmax = max(c.v_samp for c in comps)
    if len(comps) == 1:
        blocks = _ceil_div(width, 8) * _ceil_div(height, 8)
    else:
        blocks = sum(
            _ceil_div(_ceil_div(width * c.h_samp, hmax), 8)
            * _ceil_div(_ceil_div(height * c.v_samp, vmax), 8)
            for c in comps
        )
    if st.entropy_bytes * 8 < blocks:
        raise CorruptJPEGError(
            f"truncated or corrupt: {st.entropy_bytes} bytes of scan data cannot hold the "
            f"{blocks} blocks of a {width}x{height} frame"
        )


def _corrupt(name: str, offset: int, what: str) -> CorruptJPEGError:
    return CorruptJPEGError(f"corrupt {name} segment at offset {offset}: {what}")


def _handle_segment(
    st: _ParseState, code: int, offset: int, length: int, payload: bytes, max_pixels: int | None
) -> None:
    name = _marker_name(code)
    if code in _SOF_PROCESS:
        if st.sof is not None:
            raise _corrupt(name, offset, "a second frame header")
        st.sof = _parse_sof(code, offset, payload, max_pixels)
    elif code == _DQT:
        _parse_dqt(st, offset, payload)
    elif code == _DRI:
        if len(payload) != 2:
            raise _corrupt(name, offset, f"length {length}, expected 4")
        if st.restart_interval is None:
            st.restart_interval = (payload[0] << 8) | payload[1]
    elif code == _SOS:
        if st.sof is None:
            raise CorruptJPEGError(f"corrupt: scan at offset {offset} before the frame header")
        _check_sos(st, offset, payload)
        st.num_scans += 1
        if st.num_scans > MAX_SCANS:
            raise UnsupportedImageError(
                f"the file has more than {MAX_SCANS} scans (a decode-time bomb?); hybrid, like "
                "libjpeg-turbo's scan limit, refuses such files"
            )
    elif code == _DHP:
        st.hierarchical = True
    elif code == _COM or 0xE0 <= code <= 0xEF:
        st.segments.append(SegmentInfo(code, name, _label(code, payload), offset, length))
        if code == _COM:
            st.comments.append(bytes(payload))
        elif code == 0xEB:
            st.app11.append(bytes(payload))
        elif code == 0xEE and payload.startswith(b"Adobe") and len(payload) >= 12:
            if st.adobe_transform is None:
                st.adobe_transform = payload[11]
        elif code == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
            st.icc_size += max(0, len(payload) - 14)


def _parse_sof(
    code: int, offset: int, p: bytes, max_pixels: int | None
) -> tuple[int, int, int, int, tuple[ComponentInfo, ...]]:
    name = _marker_name(code)
    if len(p) < 6:
        raise _corrupt(name, offset, "too short")
    precision, height, width, nf = p[0], (p[1] << 8) | p[2], (p[3] << 8) | p[4], p[5]
    if nf == 0 or len(p) != 6 + 3 * nf:
        raise _corrupt(name, offset, f"{nf} components do not fit its length")
    if width == 0:
        raise _corrupt(name, offset, "width 0")
    if not 2 <= precision <= 16:
        raise _corrupt(name, offset, f"sample precision {precision}")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {width * height} pixels, more than the limit "
            f"of {max_pixels}"
        )
    comps = []
    for i in range(nf):
        ident, hv, tq = p[6 + 3 * i], p[7 + 3 * i], p[8 + 3 * i]
        h, v = hv >> 4, hv & 15
        if not (1 <= h <= 4 and 1 <= v <= 4):
            raise _corrupt(name, offset, f"component {ident} has sampling factors {h}x{v}")
        if tq > 3:
            raise _corrupt(name, offset, f"component {ident} uses quantization table {tq}")
        comps.append(ComponentInfo(ident, h, v, tq))
    if len({c.ident for c in comps}) != nf:
        raise _corrupt(name, offset, "duplicate component ids")
    return code, precision, height, width, tuple(comps)


def _parse_dqt(st: _ParseState, offset: int, p: bytes) -> None:
    i = 0
    while i < len(p):
        pq, tq = p[i] >> 4, p[i] & 15
        size = 64 * (2 if pq else 1)
        if pq > 1 or tq > 3 or i + 1 + size > len(p):
            raise _corrupt("DQT", offset, "bad table header or length")
        raw = np.frombuffer(p, dtype=">u2" if pq else np.uint8, count=64, offset=i + 1)
        table = np.empty(64, dtype=np.uint16)
        table[ZIGZAG] = raw  # DQT entries are in zig-zag order (T.81 B.2.4.1)
        st.tables[tq] = table.reshape(8, 8)
        st.precisions[tq] = 16 if pq else 8
        i += 1 + size


def _check_sos(st: _ParseState, offset: int, p: bytes) -> None:
    assert st.sof is not None
    ns = p[0] if p else 0
    if not 1 <= ns <= 4 or len(p) != 4 + 2 * ns:
        raise _corrupt("SOS", offset, "bad component count or length")
    known = {c.ident: c for c in st.sof[4]}
    for k in range(ns):
        ident = p[1 + 2 * k]
        if ident not in known:
            raise _corrupt("SOS", offset, f"component {ident} is not in the frame")
        comp = known[ident]
        if _SOF_PROCESS[st.sof[0]] == "lossless" or comp.ident in st.latched:
            continue
        # libjpeg latches a component's table at its first scan (jdinput.c latch_quant_tables).
        if comp.quant_index not in st.tables:
            raise CorruptJPEGError(
                f"corrupt: quantization table {comp.quant_index} is used before it is defined"
            )
        st.latched[comp.ident] = (st.tables[comp.quant_index], st.precisions[comp.quant_index])


def _color_space(st: _ParseState, comps: tuple[ComponentInfo, ...]) -> str:
    """libjpeg's guess (jdapimin.c default_decompress_parms)."""
    ids = tuple(c.ident for c in comps)
    has_jfif = any(s.label == "JFIF" for s in st.segments)
    if len(comps) == 1:
        return "grayscale"
    if len(comps) == 3:
        if has_jfif:
            return "ycbcr"
        if st.adobe_transform is not None:
            return "rgb" if st.adobe_transform == 0 else "ycbcr"
        return "rgb" if ids == (82, 71, 66) else "ycbcr"
    if len(comps) == 4:
        if st.adobe_transform is not None and st.adobe_transform != 0:
            return "ycck"
        return "cmyk"
    return "unknown"


def _estimate_quality(
    comps: tuple[ComponentInfo, ...], tables: dict[int, np.ndarray]
) -> tuple[float | None, bool]:
    """IJG quality of the luma table, and whether every table is IJG's at that quality.

    Several qualities can give the same clipped table (at very low quality chroma saturates
    at 255), so exactness is judged jointly: one quality must reproduce all tables.
    """
    try:
        from hybrid.codec.quant import estimate_ijg_quality, scale_quant_table
        from hybrid.codec.tables import STD_CHROMA_QUANT, STD_LUMA_QUANT
    except ImportError:
        return None, False
    luma = comps[0].quant_index
    if luma not in tables:
        return None, False
    # (table, Annex K base) for each distinct table, the first component's being luma.
    wanted = {luma: (tables[luma], STD_LUMA_QUANT)}
    for c in comps[1:3]:
        if c.quant_index in tables and c.quant_index not in wanted:
            wanted[c.quant_index] = (tables[c.quant_index], STD_CHROMA_QUANT)
    for quality in range(100, 0, -1):
        for force_baseline in (True, False):
            if all(
                np.array_equal(scale_quant_table(base, quality, force_baseline), table)
                for table, base in wanted.values()
            ):
                return float(quality), True
    try:
        estimate, _ = estimate_ijg_quality(tables[luma], chroma=False)
    except (ValueError, ZeroDivisionError):
        return None, False
    return float(estimate), False


def _check_record(meta: HybridMetadata, width: int, height: int) -> HybridMetadata | None:
    """``meta`` if it describes a ``width`` x ``height`` frame, else None with a warning.

    A record that does not (forged, or the image was resized by another tool) must not steer
    the decoder, e.g. into a huge "original size": the coded size must be what the encoder
    writes for the recorded original and scale, and the scale at most the encoder's
    :data:`~hybrid.resample.MAX_SCALE`, so a record can ask for at most 64x per side.
    """
    from hybrid.resample import MAX_SCALE

    if meta.mode == "downscaled" and not 1.0 < meta.scale <= MAX_SCALE:
        reason = f"its scale {meta.scale:g} is outside the encoder's (1, {MAX_SCALE:g}]"
    else:
        coded_w, coded_h = coded_size_of(meta)
        if (coded_w, coded_h) == (width, height):
            return meta
        reason = f"it describes a {coded_w}x{coded_h} coded image, the frame is {width}x{height}"
    warnings.warn(f"ignoring hybrid metadata: {reason}", HybridMetadataWarning, stacklevel=5)
    return None


def _build_info(st: _ParseState, data: bytes, trailing: int) -> JpegInfo:
    assert st.sof is not None
    code, precision, height, width, comps = st.sof
    meta = None
    for payload in st.app11:
        if payload.startswith(HYBRID_SIGNATURE):
            meta = parse_metadata(payload)
            break
    if meta is not None and height > 0:
        meta = _check_record(meta, width, height)
    tables: dict[int, np.ndarray] = {}
    precisions: dict[int, int] = {}
    for c in comps:  # the table each component was decoded with (first user wins)
        if c.ident in st.latched and c.quant_index not in tables:
            tables[c.quant_index], precisions[c.quant_index] = st.latched[c.ident]
    quality, exact = _estimate_quality(comps, tables) if precision == 8 else (None, False)
    return JpegInfo(
        width=width,
        height=height,
        precision=precision,
        sof_marker=code,
        process=_SOF_PROCESS[code],
        arithmetic=code >= 0xC9,
        hierarchical=st.hierarchical or code in (0xC5, 0xC6, 0xC7, 0xCD, 0xCE, 0xCF),
        components=comps,
        color_space=_color_space(st, comps),
        quant_tables=tables,
        quant_precision=precisions,
        restart_interval=st.restart_interval or 0,
        num_scans=st.num_scans,
        segments=tuple(st.segments),
        comments=tuple(st.comments),
        icc_profile_size=st.icc_size,
        hybrid_metadata=meta,
        estimated_quality=quality,
        quality_exact=exact,
        file_size=len(data),
        trailing_bytes=trailing,
    )
