"""Exact quantized DCT coefficients of a JPEG file, through libjpeg (:mod:`jpeglib`).

:func:`read_frame` first validates the file with the pure-Python header parse
(:func:`~hybrid.codec.headers.read_info`), then hands the bytes to libjpeg and returns the
quantized coefficients bit-exactly. Block counts follow libjpeg: component ``c`` has
``ceil(component_height / 8) x ceil(component_width / 8)`` blocks (``height_in_blocks``,
``width_in_blocks``), without the dummy blocks that pad an interleaved scan to whole MCUs.
hybrid's encoder produces MCU-padded arrays instead (see :class:`~hybrid.codec.frame.Component`);
:func:`pad_to_mcus` converts a read frame to that convention, filling the padding the way
libjpeg's compressor does (AC = 0, DC copied from the nearest real block).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hybrid.codec.frame import Component, Frame
from hybrid.codec.headers import (
    DEFAULT_MAX_SCAN_PASSES,
    ComponentInfo,
    JpegInfo,
    SegmentInfo,
    coded_image_bytes,
    parse_info,
    read_info,
)
from hybrid.codec.metadata import frame_checksum
from hybrid.codec.turbo_pass import (
    TurboPass,
    probe_accepted,
    probe_bytes,
    sequential_layout,
    turbo_library,
    turbo_pass,
)
from hybrid.errors import CorruptJPEGError, JpegDataWarning, UnsupportedImageError
from hybrid.io import DEFAULT_MAX_PIXELS, Source, read_bytes

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SCAN_PASSES",
    "ComponentInfo",
    "JpegInfo",
    "SegmentInfo",
    "pad_to_mcus",
    "parse_info",
    "read_frame",
    "read_info",
    "find_damage",
    "DctRead",
    "read_dct",
    "libjpeg_read_dct",
    "frame_of_read",
]

# --- coefficients through libjpeg -----------------------------------------------------------

_STDERR_LOCK = threading.Lock()
_TMPDIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# libjpeg warnings after which the coefficients cannot be trusted (jerror.h JWRN_*): data
# missing (premature end), a bad Huffman code, a lost restart marker, extraneous bytes (all
# "Corrupt JPEG data: ..."), scans out of order. libjpeg is handed coded_image_bytes(),
# without the harmless garbage before the frame header, so "extraneous bytes before marker"
# means bytes after it that libjpeg skipped: part of a scan or restart interval, or a scan
# whose SOS marker was lost.
_DAMAGE_WARNINGS = ("Premature end", "Corrupt JPEG data", "Invalid SOS", "Inconsistent progression")


def _damage_in(messages: list[str]) -> str | None:
    """The first of libjpeg's ``messages`` that means the coded image is partly invented."""
    return next((m for m in messages if m.startswith(_DAMAGE_WARNINGS)), None)


#: Scratch files are anonymous in-memory files (``memfd_create``, opened by libjpeg through
#: ``/proc/self/fd``) where the system has them: nothing is written to any file system.
_USE_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@contextlib.contextmanager
def _scratch_file(suffix: str) -> Iterator[tuple[int, str]]:
    """A scratch file as (descriptor, path that C code can ``fopen``): an anonymous memfd on
    Linux, else a temporary file (in /dev/shm where writable), removed afterwards."""
    if _USE_MEMFD:
        fd = os.memfd_create("hybrid" + suffix, os.MFD_CLOEXEC)
        try:
            yield fd, f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(suffix=suffix, dir=_TMPDIR)
    try:
        yield fd, path
    finally:
        os.close(fd)
        os.unlink(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def _stderr_into(sink: int) -> Iterator[None]:
    """File descriptor 2 (where libjpeg prints) pointed at ``sink`` while this lasts, Python's
    buffered stderr flushed first. Nothing is redirected where the process has no stderr at
    all (a daemon): there is nothing to capture or to pollute. The caller holds
    ``_STDERR_LOCK`` (the redirection is process-wide)."""
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        os.dup2(sink, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Redirect file descriptor 2 (where libjpeg prints) into a list of lines.

    Process-wide while it lasts, so it is serialised; another thread's stderr output in that
    window lands in the list too.
    """
    lines: list[str] = []
    with _STDERR_LOCK, _scratch_file(".log") as (sink, _):
        try:
            with _stderr_into(sink):
                yield lines
        finally:
            text = _read_all(sink).decode("utf-8", "replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())


def _load_coefficients(jpeg: Any, path: str) -> None:
    """``jpeg.load()`` of jpeglib 1.0 without its temporary file: ``DCTJPEG.load`` writes
    the bytes it holds to a ``NamedTemporaryFile`` on disk for libjpeg to read; the same C
    call is made here on ``path`` (the scratch file already holding them). Falls back to
    ``load()`` where jpeglib's internals differ."""
    import ctypes

    try:
        from jpeglib._bind import CJpegLib

        alloc = jpeg._alloc_dct_component
        names = ["Y"] + (["Cb", "Cr"] if jpeg.has_chrominance else []) + (["K"] * jpeg.has_black)
    except (ImportError, AttributeError):
        jpeg.load()
        return
    buffers = {name: alloc(i) for i, name in enumerate(names)}
    qt = ((ctypes.c_ushort * 64) * 4)()
    table_numbers = (ctypes.c_short * 4)()
    CJpegLib.read_jpeg_dct(
        srcfile=path,
        Y=buffers["Y"],
        Cb=buffers.get("Cb"),
        Cr=buffers.get("Cr"),
        K=buffers.get("K"),
        qt=qt,
        quant_tbl_no=table_numbers,
    )

    def blocks(buffer: Any) -> np.ndarray:
        array = np.ctypeslib.as_array(buffer)
        return array.reshape((*array.shape[:-1], 8, 8))

    for name, buffer in buffers.items():
        setattr(jpeg, name, blocks(buffer))
    jpeg.quant_tbl_no = np.array([table_numbers[i] for i in range(len(names))])
    jpeg.qt = blocks(qt)[: int(np.max(jpeg.quant_tbl_no)) + 1]


def _libjpeg_dct(
    data: bytes, *, coefficients: bool = True
) -> tuple[Any, BaseException | None, list[str]]:
    """jpeglib's DCT read of ``data`` (a JPEG reduced by :func:`coded_image_bytes`): (the
    jpeg object, the exception or None, libjpeg's messages in order, each once).

    ``coefficients=False`` stops after jpeglib's header read, which already runs libjpeg's
    entropy decoder over every scan (to count them) and so meets every error and warning a
    full read meets, without copying the coefficients out: a third of the time.
    jpeglib reads paths only: the bytes go through a scratch file (:func:`_scratch_file`).
    """
    import jpeglib

    jpeg = None
    with _scratch_file(".jpg") as (fd, path):
        _write_all(fd, data)
        with _captured_stderr() as messages:
            try:
                jpeg = jpeglib.read_dct(path)
                if coefficients:
                    _load_coefficients(jpeg, path)
                failure = None
            except (OSError, RuntimeError, ValueError, IndexError) as exc:
                failure = exc
    return jpeg, failure, list(dict.fromkeys(messages))  # jpeglib may parse twice: once each


@dataclass(frozen=True)
class DctRead:
    """One libjpeg pass over a file's coded image (:func:`read_dct`): what the damage check
    (:func:`find_damage`), the coefficient reader (:func:`libjpeg_read_dct`) and the
    enhancement input all need, so that one pass serves them all.

    Attributes:
        coefficients: per component int16 (rows, columns, 8, 8) quantized coefficients in
            natural order, libjpeg's ``ceil(component_size / 8)`` blocks; None if libjpeg
            failed.
        qtables: per component the uint16 (8, 8) natural-order table libjpeg holds for it
            at the end of the pass; None if libjpeg failed.
        sampling: per component (v_samp, h_samp) as libjpeg read them; None if it failed.
        failure: why libjpeg could not read the file, or None.
        messages: libjpeg's warnings, in order, each once.
        checksum: :func:`~hybrid.codec.metadata.frame_checksum` of the coefficients and the
            frame's tables, when the pass computed it (a hybrid file read by the in-memory
            pass); else None.
    """

    coefficients: tuple[np.ndarray, ...] | None
    qtables: tuple[np.ndarray, ...] | None
    sampling: tuple[tuple[int, int], ...] | None
    failure: BaseException | None
    messages: tuple[str, ...]
    checksum: int | None = None

    @property
    def damage(self) -> str | None:
        """The first warning after which libjpeg invented part of the coded image, or None."""
        return _damage_in(list(self.messages))


def _from_jpeglib(jpeg: Any, failure: BaseException | None, messages: list[str]) -> DctRead:
    """A :class:`DctRead` of jpeglib's ``DCTJPEG`` (coefficients loaded) or its failure."""
    if failure is not None or jpeg is None:
        return DctRead(None, None, None, failure, tuple(messages))
    names = ["Y", "Cb", "Cr"][: 3 if jpeg.has_chrominance else 1]
    arrays = tuple(np.asarray(getattr(jpeg, name), dtype=np.int16) for name in names)
    numbers = np.asarray(jpeg.quant_tbl_no)
    tables = np.asarray(jpeg.qt)
    qtables = tuple(tables[int(numbers[i])].astype(np.uint16) for i in range(len(arrays)))
    samp = np.asarray(jpeg.samp_factor)  # rows are (v, h)
    sampling = tuple((int(samp[i][0]), int(samp[i][1])) for i in range(len(arrays)))
    return DctRead(arrays, qtables, sampling, None, tuple(messages))


def read_dct(data: bytes, info: JpegInfo | None = None) -> DctRead:
    """libjpeg's one pass over :func:`coded_image_bytes` of ``data`` (``info``: its parsed
    headers, else parsed here): coefficients, tables and warnings. Nothing is printed.

    A one-scan sequential file with supported headers is read by one in-memory
    libjpeg-turbo pass (:mod:`hybrid.codec.turbo_pass`, which also computes a hybrid file's
    checksum over libjpeg's arrays); any other file, and one in which that pass finds damage
    (so that the coefficients made up are libjpeg 6b's, as before), by jpeglib's libjpeg 6b
    through a scratch file."""
    if info is not None and info.unsupported_reason is None:
        meta = info.hybrid_metadata
        checked = meta is not None and meta.checksum is not None
        fast = _turbo_check(data, info, checked, coefficients=True)
        intact = fast is not None and _damage_in(list(fast.messages)) is None
        if fast is not None and fast.coefficients is not None and intact:
            single = len(info.components) == 1
            return DctRead(
                coefficients=fast.coefficients,
                qtables=tuple(
                    np.asarray(info.quant_tables[c.quant_index], dtype=np.uint16)
                    for c in info.components
                ),
                sampling=tuple((1, 1) if single else (c.v_samp, c.h_samp) for c in info.components),
                failure=None,
                messages=fast.messages,
                checksum=fast.checksum,
            )
    return _from_jpeglib(*_libjpeg_dct(coded_image_bytes(data, info)))


def find_damage(data: bytes, info: JpegInfo, read: DctRead | None = None) -> str | None:
    """What is wrong with the coded image of ``data`` (headers already parsed into
    ``info``), as one line, or None when nothing is found.

    Runs libjpeg's own Huffman decoding of every scan (no inverse DCT) over
    :func:`coded_image_bytes` of ``data``; for hybrid's checksum the coefficients are
    read as well. Damage is: a file libjpeg cannot read; a warning after which libjpeg
    pads or guesses (premature end of data, bad Huffman code, corrupt restart sequence,
    extraneous bytes inside the entropy-coded data, i.e. skipped scan data), so that the
    image a viewer shows is partly invented; and, for files whose hybrid metadata carries a
    checksum (format version 2), coefficients or tables that do not match it.
    JPEG itself has no checksum, so in other encoders' files a bit flip that leaves a valid
    code sequence cannot be detected by anyone. Garbage before the frame header is not
    damage (libjpeg skips it and loses nothing; :func:`parse_info` warns about it).
    ``read``: :func:`read_dct`'s pass over ``data``, when the caller has made it (libjpeg
    does not run again).

    A one-scan sequential file is checked by one in-memory libjpeg-turbo pass
    (:mod:`hybrid.codec.turbo_pass`: no file, the checksum computed over libjpeg's own
    arrays); any other file by jpeglib's libjpeg 6b as :func:`read_dct` reads it.
    """
    meta = info.hybrid_metadata
    checked = meta is not None and meta.checksum is not None
    if read is None:
        fast = _turbo_check(data, info, checked)
        if fast is not None:
            damage = _damage_in(list(fast.messages))
            if damage is not None or meta is None or meta.checksum is None:
                return damage
            return None if fast.checksum == meta.checksum else _CHECKSUM_MISMATCH
        jpeg, failure, messages = _libjpeg_dct(coded_image_bytes(data, info), coefficients=checked)
        if not checked:  # the header pass: its verdict, no coefficients
            if failure is not None:
                return messages[-1] if messages else str(failure) or type(failure).__name__
            return _damage_in(messages)
        read = _from_jpeglib(jpeg, failure, messages)
    if read.failure is not None:
        messages = list(read.messages)
        return messages[-1] if messages else str(read.failure) or type(read.failure).__name__
    damage = read.damage
    if damage is not None or meta is None or meta.checksum is None:
        return damage
    if read.checksum is not None:
        return None if read.checksum == meta.checksum else _CHECKSUM_MISMATCH
    try:
        frame = frame_of_read(read, info)
    except CorruptJPEGError as exc:
        return str(exc)
    missing = _missing_tables(info)
    if missing:
        return f"quantization table {min(missing)} is used but was never defined before its scan"
    if frame_checksum(frame) != meta.checksum:
        return _CHECKSUM_MISMATCH
    return None


_CHECKSUM_MISMATCH = (
    "the coded image does not match the CRC-32 hybrid recorded when encoding it "
    "(damaged data, or pixels changed by another tool)"
)


def _missing_tables(info: JpegInfo) -> set[int]:
    return {c.quant_index for c in info.components} - set(info.quant_tables)


def _turbo_check(
    data: bytes, info: JpegInfo, checksum: bool, coefficients: bool = False
) -> TurboPass | None:
    """:func:`~hybrid.codec.turbo_pass.turbo_pass` over ``data`` when that path takes the
    file: a one-scan sequential layout whose headers libjpeg accepts (checked on a
    one-line copy through jpeglib's exception-safe call), every table it uses defined. None:
    use jpeglib's Python API instead."""
    lib = turbo_library()
    if lib is None or ((checksum or coefficients) and _missing_tables(info)):
        return None
    coded = coded_image_bytes(data, info)
    layout = sequential_layout(coded, len(info.components))
    if layout is None:
        return None
    if not _probe_quietly(lib, probe_bytes(coded, layout)):
        return None
    return turbo_pass(lib, coded, info, _block_counts(info), checksum, coefficients)


_probe_files: list[tuple[int, int, int]] = []  # (pid, probe memfd, stderr sink memfd)


def _probe_quietly(lib: Any, probe: bytes) -> bool:
    """:func:`~hybrid.codec.turbo_pass.probe_accepted` of ``probe``, libjpeg's messages
    about it discarded. With memfds, one pair per process is kept for this (the probe runs
    on every check: creating and closing two files each time was a tenth of the check's
    cost on a small file); else scratch files as for jpeglib's reads."""
    if not _USE_MEMFD:
        with _scratch_file(".jpg") as (fd, path):
            _write_all(fd, probe)
            with _captured_stderr():
                return bool(probe_accepted(lib, path))
    with _STDERR_LOCK:
        if not _probe_files or _probe_files[0][0] != os.getpid():  # new, or a forked child
            for inherited in _probe_files[0][1:] if _probe_files else ():
                os.close(inherited)  # the parent's pair, shared with it: not for the child
            _probe_files[:] = [
                (
                    os.getpid(),
                    os.memfd_create("hybrid-probe.jpg", os.MFD_CLOEXEC),
                    os.memfd_create("hybrid-probe.log", os.MFD_CLOEXEC),
                )
            ]
        _, fd, sink = _probe_files[0]
        os.ftruncate(fd, 0)
        written = 0
        while written < len(probe):
            written += os.pwrite(fd, probe[written:], written)
        try:
            with _stderr_into(sink):
                return bool(probe_accepted(lib, f"/proc/self/fd/{fd}"))
        finally:
            os.ftruncate(sink, 0)
            os.lseek(sink, 0, os.SEEK_SET)


def libjpeg_read_dct(
    data: bytes,
    info: JpegInfo | None = None,
    *,
    tolerate_damage: bool = False,
    read: DctRead | None = None,
) -> DctRead:
    """libjpeg's checked read of in-memory ``data`` (``info``: its parsed headers, else parsed
    here), libjpeg's messages mapped to hybrid's.

    libjpeg reads :func:`coded_image_bytes` of ``data``. Errors and the warnings after which
    coefficients cannot be trusted (the ones :func:`find_damage` reports) raise
    :class:`CorruptJPEGError`, unless ``tolerate_damage``: a caller that has already
    reported the damage (:func:`hybrid.decode` without ``strict``) gets the coefficients
    libjpeg made up, as every viewer shows them. Other warnings become
    :class:`JpegDataWarning`. Nothing is printed to stderr.

    Returns:
        The :func:`read_dct` pass (``read`` if given), its coefficients present.
    """
    if read is None:
        read = read_dct(data, info)
    failure, messages = read.failure, list(read.messages)
    if failure is not None or read.coefficients is None:
        detail = messages[-1] if messages else str(failure)
        raise CorruptJPEGError(f"libjpeg cannot read the file: {detail}")
    damage = _damage_in(messages)
    if damage is not None and not tolerate_damage:
        raise CorruptJPEGError(f"damaged JPEG data: {damage}")
    for message in messages:
        if message != damage:
            warnings.warn(f"libjpeg: {message}", JpegDataWarning, stacklevel=3)
    return read


def read_frame(
    source: Source,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_scan_passes: float | None = DEFAULT_MAX_SCAN_PASSES,
) -> Frame:
    """The quantized DCT coefficients and tables of a baseline or progressive JPEG.

    Args:
        source: a path, bytes or a binary file object.
        max_pixels: largest accepted width * height (checked from the frame header before
            anything is allocated); None disables the check.
        max_scan_passes: most scan work accepted, in passes over the frame's blocks
            (:func:`~hybrid.codec.headers.parse_info`); None disables it and the scan count
            limit.

    Returns:
        A :class:`Frame` whose components hold int16 coefficients (blocks_v, blocks_h, 8, 8)
        in natural order, with libjpeg's block counts ``ceil(component_size / 8)`` (no MCU
        padding; see :func:`pad_to_mcus`), exactly as libjpeg decodes them; quantization
        tables are uint16 (8, 8) in natural order. A single-component frame is reported with
        1x1 sampling: its scans are never interleaved, so the declared factors have no effect
        on the coded data (T.81 A.2.2).

    Raises:
        InputError: unreadable source. CorruptJPEGError: damaged or not a JPEG.
        UnsupportedImageError: arithmetic, lossless, hierarchical, 12-bit, CMYK, RGB-coded.
        ImageTooLargeError: more than ``max_pixels`` pixels or ``max_scan_passes`` passes.
    """
    data = read_bytes(source)
    info = parse_info(data, max_pixels=max_pixels, max_scan_passes=max_scan_passes)
    reason = info.unsupported_reason
    if reason is not None:
        raise UnsupportedImageError(reason)
    return frame_of_read(libjpeg_read_dct(data, info), info)


def _block_counts(info: JpegInfo) -> list[tuple[int, int]]:
    """libjpeg's (height_in_blocks, width_in_blocks) of each component of ``info``'s frame:
    ``ceil(component_size / 8)``, a single component at the frame's size."""
    single = len(info.components) == 1
    hmax = max(c.h_samp for c in info.components)
    vmax = max(c.v_samp for c in info.components)
    counts = []
    for comp in info.components:
        comp_h = -(-info.height * comp.v_samp // vmax) if not single else info.height
        comp_w = -(-info.width * comp.h_samp // hmax) if not single else info.width
        counts.append((-(-comp_h // 8), -(-comp_w // 8)))
    return counts


def frame_of_read(read: DctRead, info: JpegInfo) -> Frame:
    """A :class:`Frame` of a successful :func:`read_dct` pass over the file whose headers
    are ``info`` (see :func:`read_frame`): its coefficient arrays, ``info``'s tables.

    Raises:
        CorruptJPEGError: libjpeg failed, or its block counts differ from the headers'.
    """
    if read.coefficients is None:
        raise CorruptJPEGError(f"libjpeg cannot read the file: {read.failure}")
    single = len(info.components) == 1
    components = []
    for comp, coeffs, blocks in zip(
        info.components, read.coefficients, _block_counts(info), strict=True
    ):
        h, v = (1, 1) if single else (comp.h_samp, comp.v_samp)
        expected = (*blocks, 8, 8)
        if coeffs.shape != expected:
            raise CorruptJPEGError(
                f"libjpeg returned {coeffs.shape[:2]} blocks for component {comp.ident}, "
                f"expected {expected[:2]}"
            )
        components.append(Component(comp.ident, h, v, comp.quant_index, coeffs))
    tables = {i: t.copy() for i, t in info.quant_tables.items()}
    return Frame(info.width, info.height, tuple(components), tables)


def pad_to_mcus(frame: Frame) -> Frame:
    """``frame`` with every component padded to whole MCUs (hybrid's encoder convention).

    Padding blocks get AC = 0 and the DC of the nearest real block (to the left, then above),
    which is what libjpeg's compressor writes into dummy blocks (jccoefct.c). Single-component
    frames are returned unchanged: their MCU is one block.
    """
    if len(frame.components) == 1:
        return frame
    padded = []
    for comp in frame.components:
        target_v = frame.mcus_y * comp.v_samp
        target_h = frame.mcus_x * comp.h_samp
        bv, bh = comp.coeffs.shape[:2]
        if (bv, bh) == (target_v, target_h):
            padded.append(comp)
            continue
        out = np.zeros((target_v, target_h, 8, 8), dtype=np.int16)
        out[:bv, :bh] = comp.coeffs
        out[:, :, 0, 0] = np.pad(
            comp.coeffs[:, :, 0, 0], ((0, target_v - bv), (0, target_h - bh)), mode="edge"
        )
        padded.append(replace(comp, coeffs=out))
    return replace(frame, components=tuple(padded))
