"""One pass of libjpeg-turbo's Huffman decoder over a one-scan sequential file, in memory:
libjpeg's warnings, the CRC-32 of the coefficients computed in place and, when asked, the
coefficients themselves.

The damage check (:func:`hybrid.codec.reader.find_damage`) needs libjpeg's verdict on the
entropy-coded data and, for hybrid's own files, the coefficients' checksum. jpeglib's Python
calls pay for that with a second header read, a file, libjpeg 6b's slower decoder and, for
the checksum, an element-by-element copy of every coefficient (about 40 ms at 12 MP). Here
the libjpeg API of jpeglib's libjpeg-turbo 2.1 build (``cjpeglib_turbo210``) is called
directly (ctypes): the bytes are read from memory (``jpeg_mem_src_tj``), the coefficients
stay in libjpeg's own arrays and the CRC runs over them in place. The enhanced decode's
coefficient read (:func:`hybrid.codec.reader.read_dct`) takes the same pass and copies the
arrays out (one ``memmove`` per component, or per block row where libjpeg pads rows): at
12 MP about 15 ms against jpeglib's 80 ms (a header pass, then libjpeg 6b's coefficient
read through a scratch file), and the same coefficients, tables and messages.

Two things make this safe and as strict as libjpeg 6b:

* libjpeg reports errors by calling ``error_exit``, which in jpeglib's build throws a C++
  exception that only jpeglib's own C++ functions catch: called from here, an error would
  end the process. So this pass takes only files where no error can happen once the headers
  are accepted: one sequential scan over all components, after which the data holds no
  marker but restart markers and the final EOI (:func:`sequential_layout`). The headers are
  accepted first by jpeglib's own, exception-safe ``read_jpeg_info`` on a copy of the file
  cut after the scan header, its height set to one line (:func:`probe_bytes`): that runs
  the same marker reader and per-scan set-up (tables, sampling) in microseconds.
* libjpeg-turbo's fast Huffman path decodes an invalid code as 0 without the "bad Huffman
  code" warning that libjpeg 6b and turbo's own slow path give. Turbo takes the slow path
  in every MCU when a restart interval is set, so a file without one is given an interval
  longer than the scan (``restart_interval`` = 2**32 - 1: the count-down never reaches 0,
  no restart marker is ever expected). The slow path costs about 5 % here.

The structure offsets are those of jpeglib 1.0.2's build (JPEG_LIB_VERSION 70:
``sizeof(struct jpeg_decompress_struct)`` = 640, checked in its ``_read_jpeg``); with any
other jpeglib version :func:`turbo_library` returns None and the caller uses jpeglib's
Python API as before.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.codec.headers import JpegInfo

try:  # zlib-ng's CRC-32 (same values) runs at ~25 GB/s against zlib's ~4: 1.3 ms at 12 MP
    from zlib_ng.zlib_ng import crc32 as _crc32
except ImportError:  # pragma: no cover - a dependency; zlib gives the same CRC, slower
    from zlib import crc32 as _crc32

_CRC32: Callable[..., int] = _crc32

__all__ = ["TurboPass", "probe_bytes", "sequential_layout", "turbo_library", "turbo_pass"]

#: jpeglib versions whose turbo210 build has the layout below.
_KNOWN_JPEGLIB = ("1.0.2",)
_LIB_VERSION = 70  # JPEG_LIB_VERSION of jpeglib's turbo builds (its setup.py)
_CINFO_SIZE = 640  # sizeof(struct jpeg_decompress_struct)
_JERR_SIZE = 168  # sizeof(struct jpeg_error_mgr)
# struct jpeg_decompress_struct
_IMAGE_WIDTH, _IMAGE_HEIGHT, _NUM_COMPONENTS = 48, 52, 56
_COMP_INFO, _RESTART_INTERVAL, _MARKER, _ENTROPY = 304, 368, 592, 600
# struct jpeg_marker_reader: discarded_bytes
_DISCARDED_BYTES = 36
# jdhuff.c's huff_entropy_decoder: pub.insufficient_data, then bitstate (get_buffer, bits_left)
_INSUFFICIENT_DATA, _BITS_LEFT = 16, 32
# jpeg_component_info
_COMP_SIZE, _WIDTH_IN_BLOCKS, _HEIGHT_IN_BLOCKS = 96, 28, 32
# struct jpeg_error_mgr
_OUTPUT_MESSAGE, _FORMAT_MESSAGE = 16, 24
_JMSG_LENGTH_MAX = 200
# struct jvirt_barray_control (jmemmgr.c): mem_buffer, rows_in_array, blocksperrow
_BLOCKS_PER_ROW = 12
_NEVER_RESTART = 0xFFFFFFFF
#: Most coefficient bytes this pass allocates (libjpeg's out-of-memory error would end the
#: process); larger files take jpeglib's Python API.
_MAX_COEFFICIENT_BYTES = 1 << 30
_MAX_DIMENSION = 65500  # JPEG_MAX_DIMENSION

# A marker in entropy-coded data: 0xFF followed by neither a stuffed 0x00, nor a fill 0xFF
# (the last 0xFF of a run decides), nor RST0..7.
_MARKER_IN_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SEQUENTIAL_SOF = (0xC0, 0xC1)
_OTHER_SOF = frozenset(range(0xC2, 0xD0)) - {0xC4, 0xC8, 0xCC}  # progressive, lossless, ...

_VP = ctypes.c_void_p
_OUTPUT = ctypes.CFUNCTYPE(None, _VP)
_FORMAT = ctypes.CFUNCTYPE(None, _VP, ctypes.c_char_p)

_lock = threading.Lock()
_library: list[Any] = []  # [CDLL or None], once loaded
_messages: dict[int, list[str]] = {}  # cinfo address -> libjpeg's messages in this pass


@dataclass(frozen=True)
class TurboPass:
    """What one pass found.

    Attributes:
        messages: libjpeg's warnings in order (libjpeg prints only the first of a pass: the
            same one jpeglib's calls print).
        checksum: :func:`~hybrid.codec.metadata.coefficient_checksum` of the coefficients
            (libjpeg's ``ceil(component_size / 8)`` blocks) and ``info``'s quantization
            tables, when asked for; else None.
        coefficients: per component int16 (rows, columns, 8, 8) quantized coefficients in
            natural order (libjpeg's ``ceil(component_size / 8)`` blocks), when asked for;
            else None.
    """

    messages: tuple[str, ...]
    checksum: int | None
    coefficients: tuple[np.ndarray, ...] | None = None


def turbo_library() -> Any:
    """jpeglib's libjpeg-turbo 2.1 build as a ``ctypes.CDLL`` with the API declared, or
    None where jpeglib is not the version whose structure layout this module knows, the
    library is missing, or ``JPEGMEM`` limits libjpeg's memory (a pass could then need a
    backing store, which is an error)."""
    with _lock:
        if not _library:
            _library.append(_load())
        return _library[0]


def _load() -> Any:
    try:
        import jpeglib
    except ImportError:
        return None
    known = jpeglib.__version__ in _KNOWN_JPEGLIB and sys.byteorder == "little"
    if not known or "JPEGMEM" in os.environ:  # the CRC reads int16 as little-endian bytes
        return None
    folder = Path(jpeglib.__file__).parent / "cjpeglib"
    found = sorted(folder.glob("cjpeglib_turbo210.*"))
    if len(found) != 1:
        return None
    try:
        lib = ctypes.CDLL(str(found[0]))
        lib.jpeg_std_error.argtypes = [_VP]
        lib.jpeg_std_error.restype = _VP
        lib.jpeg_CreateDecompress.argtypes = [_VP, ctypes.c_int, ctypes.c_size_t]
        lib.jpeg_CreateDecompress.restype = None
        lib.jpeg_mem_src_tj.argtypes = [_VP, ctypes.c_char_p, ctypes.c_ulong]
        lib.jpeg_mem_src_tj.restype = None
        lib.jpeg_read_header.argtypes = [_VP, ctypes.c_int]
        lib.jpeg_read_header.restype = ctypes.c_int
        lib.jpeg_read_coefficients.argtypes = [_VP]
        lib.jpeg_read_coefficients.restype = _VP
        lib.jpeg_destroy_decompress.argtypes = [_VP]
        lib.jpeg_destroy_decompress.restype = None
        lib.read_jpeg_info.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return lib


def sequential_layout(coded: bytes, num_components: int) -> tuple[int, int] | None:
    """(offset of the SOF marker, offset just after the SOS segment) when ``coded`` (from
    :func:`~hybrid.codec.headers.coded_image_bytes`) is SOI, marker segments without garbage
    between them, a sequential SOF (0xC0/0xC1), one SOS naming all ``num_components``, then
    entropy-coded data in which the first marker other than RST0..7 is the EOI that ends
    ``coded``; else None. In such a file libjpeg meets no marker after the scan header that
    could raise an error (restart markers are parameterless, EOI ends the pass)."""
    pos, sof, size = 2, None, len(coded)
    if coded[:2] != b"\xff\xd8":
        return None
    while True:
        if pos + 4 > size or coded[pos] != 0xFF:
            return None
        marker = coded[pos + 1]
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD9 or marker in _OTHER_SOF:
            return None
        length = int.from_bytes(coded[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        if marker in _SEQUENTIAL_SOF:
            if sof is not None:
                return None
            sof = pos
        elif marker == 0xDA:
            if sof is None or pos + 4 >= size or coded[pos + 4] != num_components:
                return None
            end = pos + 2 + length
            break
        pos += 2 + length
    found = _MARKER_IN_DATA.search(coded, end)
    if found is None or found.end() != size or coded[-1] != 0xD9:
        return None
    return sof, end


def probe_bytes(coded: bytes, layout: tuple[int, int]) -> bytes:
    """``coded`` cut after its scan header (``layout`` from :func:`sequential_layout`), the
    frame's height set to 1 line, and EOI: the same headers and scan set-up for libjpeg to
    accept, with one MCU row of (missing) data."""
    sof, end = layout
    height = sof + 5  # SOFn: marker, length (2), precision (1), height (2), width (2)
    return coded[:height] + b"\x00\x01" + coded[height + 2 : end] + b"\xff\xd9"


def probe_accepted(lib: Any, path: str) -> bool:
    """jpeglib's exception-safe ``read_jpeg_info`` of the file at ``path`` (a
    :func:`probe_bytes` copy) succeeded. libjpeg prints its messages to stderr: the caller
    captures them."""
    ints = [(ctypes.c_int * 8)() for _ in range(6)]
    flags = (ctypes.c_uint64 * 1)()
    status = lib.read_jpeg_info(
        path.encode(), ints[0], ints[1], ints[2], ints[3], ints[4], None, None, None, None,
        ints[5], flags,
    )  # fmt: skip
    return bool(status)


@_OUTPUT
def _collect_message(cinfo: int) -> None:
    """libjpeg's ``output_message``: the formatted message goes to this pass's list."""
    format_message = _FORMAT(_pointer(_pointer(cinfo) + _FORMAT_MESSAGE))
    text = ctypes.create_string_buffer(_JMSG_LENGTH_MAX)
    format_message(cinfo, text)
    _messages.setdefault(cinfo, []).append(text.value.decode("latin-1"))


def _u32(address: int) -> int:
    return ctypes.c_uint32.from_address(address).value


def _pointer(address: int) -> int:
    return ctypes.c_void_p.from_address(address).value or 0


def turbo_pass(
    lib: Any,
    coded: bytes,
    info: JpegInfo,
    block_counts: list[tuple[int, int]],
    checksum: bool,
    coefficients: bool = False,
) -> TurboPass | None:
    """libjpeg-turbo's pass over ``coded`` (a file :func:`sequential_layout` accepts and
    whose :func:`probe_bytes` libjpeg accepted): its warnings and, with ``checksum``, the
    CRC-32 of the coefficients of ``block_counts[c]`` (rows, columns) blocks per component
    and ``info``'s tables; with ``coefficients``, a copy of those blocks. None if libjpeg's
    view of the frame differs from ``info``'s or from ``block_counts`` (nothing is then read
    from the arrays)."""
    if not (0 < info.width <= _MAX_DIMENSION and 0 < info.height <= _MAX_DIMENSION):
        return None  # errors (a DNL-defined height, JPEG_MAX_DIMENSION) the probe cannot see
    if sum(128 * rows * cols for rows, cols in block_counts) > _MAX_COEFFICIENT_BYTES:
        return None
    cinfo = ctypes.create_string_buffer(_CINFO_SIZE)
    jerr = ctypes.create_string_buffer(_JERR_SIZE)
    address, err = ctypes.addressof(cinfo), ctypes.addressof(jerr)
    lib.jpeg_std_error(err)
    ctypes.c_void_p.from_address(err + _OUTPUT_MESSAGE).value = ctypes.cast(
        _collect_message, _VP
    ).value
    ctypes.c_void_p.from_address(address).value = err  # cinfo->err, kept by CreateDecompress
    lib.jpeg_CreateDecompress(address, _LIB_VERSION, _CINFO_SIZE)
    try:
        lib.jpeg_mem_src_tj(address, coded, len(coded))
        lib.jpeg_read_header(address, 1)
        size = (_u32(address + _IMAGE_WIDTH), _u32(address + _IMAGE_HEIGHT))
        count = ctypes.c_int.from_address(address + _NUM_COMPONENTS).value
        if size != (info.width, info.height) or count != len(block_counts):
            return None
        if _u32(address + _RESTART_INTERVAL) == 0:
            ctypes.c_uint32.from_address(address + _RESTART_INTERVAL).value = _NEVER_RESTART
        arrays = lib.jpeg_read_coefficients(address)
        rows = _block_rows(address, arrays, block_counts)
        if rows is None:
            return None
        crc = _checksum(rows, info, block_counts) if checksum else None
        copied = _copy_blocks(rows, block_counts) if coefficients else None
        messages = _messages.get(address, [])
        left_over = _unreported_bytes(address)
        if left_over:
            messages.append(
                f"Corrupt JPEG data: {left_over} extraneous bytes in the entropy-coded data "
                "(left over at a restart marker or at the end of the scan)"
            )
        return TurboPass(tuple(messages), crc, copied)
    finally:
        lib.jpeg_destroy_decompress(address)
        _messages.pop(address, None)


def _unreported_bytes(cinfo: int) -> int:
    """Whole bytes of entropy-coded data the decoder loaded but never used, which libjpeg
    does not report when its bit buffer had already read the next marker: at a restart
    marker they stay counted in ``marker->discarded_bytes`` (reported only by a later
    ``next_marker`` call, which a pre-read marker skips), at the end of the scan they stay in
    the bit buffer. libjpeg 6b's 32-bit buffer reads ahead less, so it reported most of
    these ("extraneous bytes before marker"); turbo's 64-bit buffer swallows up to 7.
    Padding is under 8 bits, so any whole byte is data an encoder did not write."""
    unreported = _u32(_pointer(cinfo + _MARKER) + _DISCARDED_BYTES)
    entropy = _pointer(cinfo + _ENTROPY)
    if not ctypes.c_int.from_address(entropy + _INSUFFICIENT_DATA).value:
        # (after "premature end of data segment" the buffer holds padding zeros)
        unreported += ctypes.c_int.from_address(entropy + _BITS_LEFT).value // 8
    return unreported


def _block_rows(
    cinfo: int, arrays: int, block_counts: list[tuple[int, int]]
) -> list[tuple[int, np.ndarray]] | None:
    """Per component (bytes from one block row's start to the next when the rows lie one
    after the other without padding blocks, else 0; uint64 address of each block row's
    first block) of libjpeg's coefficient arrays; None if libjpeg's block counts differ
    from ``block_counts``."""
    found = []
    components = _pointer(cinfo + _COMP_INFO)
    for index, (rows, cols) in enumerate(block_counts):
        entry = components + index * _COMP_SIZE
        if (_u32(entry + _HEIGHT_IN_BLOCKS), _u32(entry + _WIDTH_IN_BLOCKS)) != (rows, cols):
            return None
        control = _pointer(arrays + index * ctypes.sizeof(_VP))
        stride = _u32(control + _BLOCKS_PER_ROW) * 128  # bytes per row of blocks
        starts = np.ctypeslib.as_array((ctypes.c_uint64 * rows).from_address(_pointer(control)))
        contiguous = stride == cols * 128 and np.array_equal(
            starts, starts[0] + stride * np.arange(rows, dtype=np.uint64)
        )
        found.append((stride if contiguous else 0, starts.copy()))
    return found


def _copy_blocks(
    rows: list[tuple[int, np.ndarray]], block_counts: list[tuple[int, int]]
) -> tuple[np.ndarray, ...]:
    """int16 (rows, columns, 8, 8) copies of libjpeg's arrays (:func:`_block_rows`)."""
    copies = []
    for (stride, starts), (count, cols) in zip(rows, block_counts, strict=True):
        out = np.empty((count, cols, 8, 8), dtype=np.int16)
        if stride:
            source = (ctypes.c_int16 * (count * cols * 64)).from_address(int(starts[0]))
            out.reshape(-1)[:] = np.ctypeslib.as_array(source)
        else:
            flat = out.reshape(count, cols * 64)
            for row, start in enumerate(starts.tolist()):
                row_blocks = (ctypes.c_int16 * (cols * 64)).from_address(start)
                flat[row] = np.ctypeslib.as_array(row_blocks)
        copies.append(out)
    return tuple(copies)


def _checksum(
    rows: list[tuple[int, np.ndarray]], info: JpegInfo, block_counts: list[tuple[int, int]]
) -> int:
    """CRC-32 over libjpeg's coefficient arrays in place (row by row, or whole when the rows
    are contiguous without padding blocks, :func:`_block_rows`), each component followed by
    its table."""
    crc = 0
    for comp, (stride, starts), (count, cols) in zip(
        info.components, rows, block_counts, strict=True
    ):
        if stride:
            crc = _CRC32((ctypes.c_char * (stride * count)).from_address(int(starts[0])), crc)
        else:
            for start in starts.tolist():
                crc = _CRC32((ctypes.c_char * (cols * 128)).from_address(start), crc)
        table = info.quant_tables[comp.quant_index]
        crc = _CRC32(np.ascontiguousarray(table, dtype="<u2").tobytes(), crc)
    return crc
