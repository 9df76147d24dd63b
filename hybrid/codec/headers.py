"""JPEG headers without decoding: a pure-Python marker walk (T.81 Annex B) -> :class:`JpegInfo`.

:func:`read_info` validates the structure (SOI, segment lengths in bounds, a frame header,
at least one scan, every scan's entropy-coded data terminated, EOI present) and reports the
frame, tables and APPn/COM segments. Anything malformed raises
:class:`~hybrid.errors.CorruptJPEGError` with a one-line message. :mod:`hybrid.codec.reader`
runs it before libjpeg ever sees a file, so libjpeg is only handed structurally sound input
(:func:`coded_image_bytes`: the segments that define the coded image, nothing else).

Between segments the walk does what libjpeg's ``next_marker`` (jdmarker.c) does: garbage
bytes before a marker, 0xFF00 pairs included, are skipped and counted, 0xFF fill bytes are
allowed. Garbage before the frame header is harmless (one
:class:`~hybrid.errors.JpegDataWarning`, "N extraneous bytes before marker 0xXX", where
libjpeg warns too); after it, it may be a lost scan, which the damage check reports. Marker
segments are handled through one dispatch table, :data:`MARKERS`. Two limits bound the
work a small file can ask of libjpeg: at most :data:`MAX_SCANS` scans, and scans that
together pass over the image's blocks at most ``max_scan_passes`` times
(:data:`DEFAULT_MAX_SCAN_PASSES`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
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
    JpegDataWarning,
    UnsupportedImageError,
)
from hybrid.io import Source, read_bytes

__all__ = [
    "DEFAULT_MAX_SCAN_PASSES",
    "MARKERS",
    "MAX_SCANS",
    "ComponentInfo",
    "ExtraneousBytes",
    "JpegInfo",
    "SegmentInfo",
    "coded_image_bytes",
    "parse_info",
    "read_info",
]

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
_SOS, _EOI, _SOI, _COM = 0xDA, 0xD9, 0xD8, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0..7: no length, no payload
#: Most scans a file may have. Every scan makes libjpeg pass over all blocks of its components,
#: so a small file with thousands of tiny progressive scans costs minutes of CPU; 500 is
#: libjpeg-turbo's own limit (TJPARAM_SCANLIMIT / TJFLAG_LIMITSCANS). Real encoders write <= ~20.
MAX_SCANS = 500
#: libjpeg-turbo's block smoothing looks at a component's first 10 coefficients in zig-zag
#: order (``jdcoefct.c`` SAVED_COEFS; 6 before libjpeg-turbo 2.1).
SMOOTHED_COEFFICIENTS = 10

#: Default limit of the scan work, in passes over the frame's blocks (see :func:`parse_info`).
#: Each scan costs libjpeg one visit of every block of its components, so the decode time of
#: a file is about (scan passes) x (frame blocks) x (a block visit, ~30 ns in libjpeg-turbo):
#: a baseline file is 1 pass, libjpeg's and Pillow's progressive scripts 4.7-6, mozjpeg's
#: optimised ones about 10 at most; 100 leaves 10x that, and one scan per coefficient band
#: (64). A 0.4 MB file of 500 whole-frame scans over 169 MP is 500 passes (61 s in Pillow).
DEFAULT_MAX_SCAN_PASSES = 100
# The end of entropy-coded data: 0xFF followed by anything but a stuffed 0x00, RSTn or fill.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# The next marker between segments: 0xFF followed by anything but 0x00 or fill (jdmarker.c
# next_marker; 0xFF00 there is garbage, not stuffing).
_MARKER_BETWEEN_SEGMENTS = re.compile(rb"\xff[^\x00\xff]")

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
    entry = MARKERS.get(code)
    return entry[0] if entry is not None else f"0xFF{code:02X}"


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


@dataclass(frozen=True)
class ExtraneousBytes:
    """Garbage between two marker segments, skipped as libjpeg's ``next_marker`` skips it.

    Attributes:
        offset: byte offset of the first skipped byte (just after the previous segment).
        length: bytes from ``offset`` to the marker, 0xFF fill included.
        count: what libjpeg counts and reports: every byte but fill, a 0xFF00 pair as 2.
        marker: the second byte of the marker the garbage precedes (0xDB for DQT).
        before_frame: before the frame header (SOF), where it cannot hold image data: only
            such garbage is harmless. After it, the garbage may be a scan whose SOS marker
            was destroyed, and libjpeg, which skips it alike, decodes without that scan.
    """

    offset: int
    length: int
    count: int
    marker: int
    before_frame: bool

    def describe(self) -> str:
        """libjpeg's wording (jerror.h JWRN_EXTRANEOUS_DATA), with the offset."""
        return (
            f"{self.count} extraneous bytes before marker 0x{self.marker:02x} "
            f"at offset {self.offset + self.length}"
        )


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
        scan_passes: the work of all scans in passes over the frame's blocks: each scan
            counts the blocks it covers (whole MCUs when interleaved) over the frame's
            blocks; 1.0 for a baseline file, ~5 for libjpeg's progressive script.
        segments: APPn and COM segments, in file order.
        comments: payloads of the COM segments.
        icc_profile_size: total bytes of ICC profile chunks (0 if none).
        hybrid_metadata: hybrid's APP11 metadata, if present and valid.
        estimated_quality: IJG quality (1..100) whose scaled Annex K table is closest to the
            luma table (None when unavailable, e.g. for custom tables without an estimator).
        quality_exact: True when every table used is exactly IJG's table at that quality.
        file_size: bytes in the file.
        trailing_bytes: bytes after the EOI marker.
        extraneous: garbage skipped between segments (libjpeg warns about each), in order.
        fully_refined: False when the scans leave a coefficient among each component's
            first :data:`SMOOTHED_COEFFICIENTS` (zig-zag order) short of its last bit: in a
            progressive file libjpeg-turbo then smooths the blocks (``jdcoefct.c``
            block smoothing), so its pixels are not the plain inverse DCT of the coefficients.
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
    scan_passes: float
    segments: tuple[SegmentInfo, ...]
    comments: tuple[bytes, ...]
    icc_profile_size: int
    hybrid_metadata: HybridMetadata | None
    estimated_quality: float | None
    quality_exact: bool
    file_size: int
    trailing_bytes: int
    extraneous: tuple[ExtraneousBytes, ...]
    fully_refined: bool = True

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
            "scan_passes": round(self.scan_passes, 3),
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
                "content": meta.content,
                "strength": meta.strength,
            },
            "file_size": self.file_size,
            "trailing_bytes": self.trailing_bytes,
            "extraneous_bytes": [
                {
                    "offset": e.offset,
                    "count": e.count,
                    "marker": _marker_name(e.marker),
                    "before_frame": e.before_frame,
                }
                for e in self.extraneous
            ],
            "unsupported_reason": self.unsupported_reason,
        }


def read_info(
    source: Source,
    *,
    max_pixels: int | None = None,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
) -> JpegInfo:
    """Parse the headers of a JPEG (path, bytes or binary file object); no pixel decode.

    Args:
        max_pixels: if given, raise :class:`ImageTooLargeError` for larger frames.
        max_scan_passes: the most scan work accepted, in passes over the frame's blocks
            (see :attr:`JpegInfo.scan_passes`); None lifts this limit and :data:`MAX_SCANS`.

    Raises:
        InputError: the source cannot be read (missing file, a directory ...).
        CorruptJPEGError: empty, not a JPEG, truncated or structurally damaged.
        ImageTooLargeError: more than ``max_pixels`` pixels, or scans that pass over the
            image more than ``max_scan_passes`` times.
        UnsupportedImageError: more than :data:`MAX_SCANS` scans.

    Warns:
        JpegDataWarning: garbage before the frame header was skipped (as libjpeg does).
    """
    return parse_info(read_bytes(source), max_pixels=max_pixels, max_scan_passes=max_scan_passes)


@dataclass
class _ParseState:
    max_pixels: int | None = None
    limit_scans: bool = True
    sof: tuple[int, int, int, int, tuple[ComponentInfo, ...]] | None = None
    frame_blocks: int = 0
    tables: dict[int, np.ndarray] = field(default_factory=dict)
    precisions: dict[int, int] = field(default_factory=dict)
    latched: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)
    restart_interval: int | None = None
    num_scans: int = 0
    scan_blocks: int = 0
    hierarchical: bool = False
    segments: list[SegmentInfo] = field(default_factory=list)
    comments: list[bytes] = field(default_factory=list)
    app11: list[bytes] = field(default_factory=list)
    adobe_transform: int | None = None
    icc_size: int = 0
    entropy_bytes: int = 0
    extraneous: list[ExtraneousBytes] = field(default_factory=list)
    refined: dict[int, set[int]] = field(default_factory=dict)


def parse_info(
    data: bytes,
    *,
    max_pixels: int | None = None,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
) -> JpegInfo:
    """:func:`read_info` for bytes already in memory."""
    info = _walk(data, max_pixels, limit_scans=max_scan_passes is not None)
    if max_scan_passes is not None and info.scan_passes > max_scan_passes:
        raise ImageTooLargeError(
            f"the file's {info.num_scans} scans pass over the image's blocks "
            f"{info.scan_passes:.0f} times, more than the limit of {max_scan_passes:g} "
            "(a decode-time bomb?); max_scan_passes= / --max-scan-passes raises it"
        )
    harmless = [e for e in info.extraneous if e.before_frame]
    if harmless:
        more = len(harmless) - 1
        also = f" (and {more} more runs of garbage)" if more else ""
        warnings.warn(
            f"garbage between header segments, skipped as libjpeg does: "
            f"{harmless[0].describe()}{also}",
            JpegDataWarning,
            stacklevel=2,
        )
    return info


def coded_image_bytes(data: bytes, info: JpegInfo | None = None) -> bytes:
    """``data`` reduced to what a decoder needs for the coded image: SOI, the frame, table,
    restart and scan segments and the entropy-coded data unchanged, the first JFIF APP0 and
    Adobe APP14 (libjpeg's colour-space guess reads them), EOI.

    Dropped: every other APPn and COM segment, the harmless garbage before the frame header
    (:attr:`ExtraneousBytes.before_frame`) and bytes after EOI. jpeglib saves at most 50
    APPn/COM markers (more made libjpeg fail: "Improper call to JPEG library in state 201")
    and libjpeg warns about garbage, so without them libjpeg reads less and its messages
    are about the coded image alone: garbage after the frame header stays, for libjpeg to
    report as "extraneous bytes" (a scan may have been lost). ``info`` is ``data``'s
    (parsed here, without limits or warnings, when None).

    Raises:
        CorruptJPEGError: ``info`` is None and ``data`` is not a well-formed JPEG.
    """
    if info is None:
        info = _walk(data, None, limit_scans=False)
    kept: set[str] = set()
    drop = []
    for seg in info.segments:
        if seg.label in ("JFIF", "Adobe") and seg.label not in kept:
            kept.add(seg.label)
            continue
        drop.append((seg.offset, seg.offset + 2 + seg.length))
    drop += [(e.offset, e.offset + e.length) for e in info.extraneous if e.before_frame]
    pieces, pos = [], 0
    for start, end in sorted(drop):
        pieces.append(data[pos:start])
        pos = end
    pieces.append(data[pos : len(data) - info.trailing_bytes])
    return b"".join(pieces)


def _next_marker(st: _ParseState, data: bytes, pos: int) -> tuple[int, int]:
    """The marker at or after ``pos``: (its second byte, offset of its 0xFF). Garbage before
    it is recorded in ``st.extraneous``, counted as libjpeg's ``next_marker`` counts it."""
    match = _MARKER_BETWEEN_SEGMENTS.search(data, pos)
    if match is None:
        raise CorruptJPEGError("truncated: the file ends before the EOI marker")
    start = match.start()
    if start > pos:
        garbage = data[pos:start]
        count = len(garbage) - garbage.count(b"\xff") + garbage.count(b"\xff\x00")
        if count:
            st.extraneous.append(
                ExtraneousBytes(pos, start - pos, count, data[start + 1], st.sof is None)
            )
    return data[start + 1], start


def _walk(data: bytes, max_pixels: int | None, limit_scans: bool) -> JpegInfo:
    """The marker walk behind :func:`parse_info`, without its warning and pass limit."""
    n = len(data)
    if n == 0:
        raise CorruptJPEGError("empty file")
    if n < 2 or data[0] != 0xFF or data[1] != _SOI:
        for prefix, kind in _SIGNATURES:
            if data.startswith(prefix):
                raise CorruptJPEGError(f"not a JPEG file (it looks like {kind})")
        raise CorruptJPEGError("not a JPEG file (no SOI marker at the start)")
    st = _ParseState(max_pixels=max_pixels, limit_scans=limit_scans)
    pos = 2
    while True:
        code, offset = _next_marker(st, data, pos)
        pos = offset + 2
        if code == _EOI:
            break
        if code in _STANDALONE:
            continue
        name = _marker_name(code)
        if code == _SOI:
            raise CorruptJPEGError(f"corrupt: unexpected {name} at offset {offset}")
        if pos + 2 > n:
            raise CorruptJPEGError(f"truncated in the {name} segment at offset {offset}")
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            raise CorruptJPEGError(
                f"corrupt: {name} segment at offset {offset} has length {length}"
            )
        end = pos + length
        if end > n:
            raise CorruptJPEGError(f"truncated in the {name} segment at offset {offset}")
        handler = MARKERS.get(code, (name, "", None))[2]
        if handler is not None:
            handler(st, _Segment(code, name, offset, length, data[pos + 2 : end]))
        pos = end
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


def _component_blocks(
    sof: tuple[int, int, int, int, tuple[ComponentInfo, ...]],
) -> dict[int, int]:
    """Component id -> its blocks, ceil(component size / 8) per axis (libjpeg's counts)."""
    _, _, height, width, comps = sof
    hmax = max(c.h_samp for c in comps)
    vmax = max(c.v_samp for c in comps)
    return {
        c.ident: _ceil_div(_ceil_div(width * c.h_samp, hmax), 8)
        * _ceil_div(_ceil_div(height * c.v_samp, vmax), 8)
        for c in comps
    }


def _check_data_size(st: _ParseState) -> None:
    """Refuse Huffman-coded files too small to hold their declared blocks.

    Every block's DC coefficient costs at least one bit (a Huffman code is never shorter), so
    a frame of B blocks needs at least B / 8 bytes of entropy-coded data. This stops a tiny
    file that declares a huge frame from making libjpeg allocate for it.
    """
    assert st.sof is not None
    code, _, height, width, _ = st.sof
    if code >= 0xC9 or _SOF_PROCESS[code] == "lossless" or height == 0:
        return
    if st.entropy_bytes * 8 < st.frame_blocks:
        raise CorruptJPEGError(
            f"truncated or corrupt: {st.entropy_bytes} bytes of scan data cannot hold the "
            f"{st.frame_blocks} blocks of a {width}x{height} frame"
        )


def _corrupt(name: str, offset: int, what: str) -> CorruptJPEGError:
    return CorruptJPEGError(f"corrupt {name} segment at offset {offset}: {what}")


@dataclass(frozen=True)
class _Segment:
    """One marker segment as the walk found it: payload = the bytes after the length."""

    code: int
    name: str
    offset: int
    length: int
    payload: bytes


def _sof(st: _ParseState, seg: _Segment) -> None:
    if st.sof is not None:
        raise _corrupt(seg.name, seg.offset, "a second frame header")
    st.sof = _parse_sof(seg.code, seg.offset, seg.payload, st.max_pixels)
    st.frame_blocks = sum(_component_blocks(st.sof).values())


def _dqt(st: _ParseState, seg: _Segment) -> None:
    _parse_dqt(st, seg.offset, seg.payload)


def _dri(st: _ParseState, seg: _Segment) -> None:
    if len(seg.payload) != 2:
        raise _corrupt(seg.name, seg.offset, f"length {seg.length}, expected 4")
    if st.restart_interval is None:
        st.restart_interval = (seg.payload[0] << 8) | seg.payload[1]


def _sos(st: _ParseState, seg: _Segment) -> None:
    if st.sof is None:
        raise CorruptJPEGError(f"corrupt: scan at offset {seg.offset} before the frame header")
    st.scan_blocks += _check_sos(st, seg.offset, seg.payload)
    st.num_scans += 1
    if st.limit_scans and st.num_scans > MAX_SCANS:
        raise UnsupportedImageError(
            f"the file has more than {MAX_SCANS} scans (a decode-time bomb?); hybrid, like "
            "libjpeg-turbo's scan limit, refuses such files"
        )


def _dhp(st: _ParseState, seg: _Segment) -> None:
    st.hierarchical = True


def _app_or_com(st: _ParseState, seg: _Segment) -> None:
    code, payload = seg.code, seg.payload
    st.segments.append(SegmentInfo(code, seg.name, _label(code, payload), seg.offset, seg.length))
    if code == _COM:
        st.comments.append(bytes(payload))
    elif code == 0xEB:
        st.app11.append(bytes(payload))
    elif code == 0xEE and payload.startswith(b"Adobe") and len(payload) >= 12:
        # libjpeg reads the transform only from a whole APP14 (jdmarker.c examine_app14:
        # datalen >= APP14_DATA_LEN); a shorter one is traced as unknown and skipped.
        if st.adobe_transform is None:
            st.adobe_transform = payload[11]
    elif code == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
        st.icc_size += max(0, len(payload) - 14)


_Handler = Callable[[_ParseState, _Segment], None]

#: Marker code (second byte) -> (name, meaning, handler of its segment or None to skip it),
#: T.81 Table B.1. Markers without a length (SOI, EOI, RSTn, TEM) are handled by the walk.
MARKERS: dict[int, tuple[str, str, _Handler | None]] = {
    **{
        code: (f"SOF{code - 0xC0}", f"frame header, {process}", _sof)
        for code, process in _SOF_PROCESS.items()
    },
    0x01: ("TEM", "temporary (arithmetic coding)", None),
    0xC4: ("DHT", "Huffman tables", None),
    0xC8: ("JPG", "reserved for JPEG extensions", None),
    0xCC: ("DAC", "arithmetic coding conditioning", None),
    **{0xD0 + k: (f"RST{k}", "restart", None) for k in range(8)},
    0xD8: ("SOI", "start of image", None),
    0xD9: ("EOI", "end of image", None),
    0xDA: ("SOS", "start of scan", _sos),
    0xDB: ("DQT", "quantization tables", _dqt),
    0xDC: ("DNL", "number of lines", None),
    0xDD: ("DRI", "restart interval", _dri),
    0xDE: ("DHP", "hierarchical progression", _dhp),
    0xDF: ("EXP", "expand reference components", None),
    **{0xE0 + k: (f"APP{k}", "application data", _app_or_com) for k in range(16)},
    0xFE: ("COM", "comment", _app_or_com),
}


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


def _check_sos(st: _ParseState, offset: int, p: bytes) -> int:
    """Validate a scan header; returns the blocks libjpeg visits for it (its work)."""
    assert st.sof is not None
    ns = p[0] if p else 0
    if not 1 <= ns <= 4 or len(p) != 4 + 2 * ns:
        raise _corrupt("SOS", offset, "bad component count or length")
    known = {c.ident: c for c in st.sof[4]}
    in_scan = []
    for k in range(ns):
        ident = p[1 + 2 * k]
        if ident not in known:
            raise _corrupt("SOS", offset, f"component {ident} is not in the frame")
        comp = known[ident]
        in_scan.append(comp)
        if _SOF_PROCESS[st.sof[0]] == "lossless" or comp.ident in st.latched:
            continue
        # libjpeg latches a component's table at its first scan (jdinput.c latch_quant_tables).
        if comp.quant_index not in st.tables:
            raise CorruptJPEGError(
                f"corrupt: quantization table {comp.quant_index} is used before it is defined"
            )
        st.latched[comp.ident] = (st.tables[comp.quant_index], st.precisions[comp.quant_index])
    start, end, low_bit = p[1 + 2 * ns], p[2 + 2 * ns], p[3 + 2 * ns] & 0x0F
    if low_bit == 0:  # the scan codes coefficients start..end down to their last bit
        for comp in in_scan:
            st.refined.setdefault(comp.ident, set()).update(range(start, min(end, 63) + 1))
    return _scan_blocks(st.sof, in_scan)


def _scan_blocks(
    sof: tuple[int, int, int, int, tuple[ComponentInfo, ...]], in_scan: list[ComponentInfo]
) -> int:
    """Blocks a scan of ``in_scan`` covers: a lone component's own blocks, else whole MCUs
    (T.81 A.2: an interleaved scan codes every block of every MCU, edge padding included)."""
    if len(in_scan) == 1:
        return _component_blocks(sof)[in_scan[0].ident]
    _, _, height, width, comps = sof
    mcus_x = _ceil_div(width, 8 * max(c.h_samp for c in comps))
    mcus_y = _ceil_div(height, 8 * max(c.v_samp for c in comps))
    return mcus_x * mcus_y * sum(c.h_samp * c.v_samp for c in in_scan)


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
        from hybrid.codec.quant import estimate_ijg_quality, ijg_tables_by_luma
    except ImportError:
        return None, False
    luma = comps[0].quant_index
    if luma not in tables:
        return None, False
    # (table bytes, 1 for the Annex K luma base / 2 for chroma) per distinct table, the first
    # component's being luma; tables are uint16 (8, 8) natural order, as ijg_table_bytes'.
    wanted = {luma: (np.ascontiguousarray(tables[luma], dtype=np.uint16).tobytes(), 1)}
    for c in comps[1:3]:
        if c.quant_index in tables and c.quant_index not in wanted:
            table = np.ascontiguousarray(tables[c.quant_index], dtype=np.uint16).tobytes()
            wanted[c.quant_index] = (table, 2)
    for candidate in ijg_tables_by_luma().get(wanted[luma][0], ()):
        if all(table == candidate[base] for table, base in wanted.values()):
            return float(candidate[0]), True
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
    :data:`~hybrid.codec.geometry.MAX_SCALE` (4), so a record can ask for at most 4x per side: 16x
    the coded pixels, and no more than the caller's ``max_pixels``.
    """
    from hybrid.codec.geometry import MAX_SCALE

    if meta.mode == "downscaled" and not 1.0 < meta.scale <= MAX_SCALE:
        reason = f"its scale {meta.scale:g} is outside the encoder's (1, {MAX_SCALE:g}]"
    else:
        coded_w, coded_h = coded_size_of(meta)
        if (coded_w, coded_h) == (width, height):
            return meta
        reason = f"it describes a {coded_w}x{coded_h} coded image, the frame is {width}x{height}"
    warnings.warn(f"ignoring hybrid metadata: {reason}", HybridMetadataWarning, stacklevel=6)
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
        scan_passes=st.scan_blocks / st.frame_blocks if st.frame_blocks else 0.0,
        segments=tuple(st.segments),
        comments=tuple(st.comments),
        icc_profile_size=st.icc_size,
        hybrid_metadata=meta,
        estimated_quality=quality,
        quality_exact=exact,
        file_size=len(data),
        trailing_bytes=trailing,
        extraneous=tuple(st.extraneous),
        fully_refined=all(
            set(range(SMOOTHED_COEFFICIENTS)) <= st.refined.get(c.ident, set()) for c in comps
        ),
    )
