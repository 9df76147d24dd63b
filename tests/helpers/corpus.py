"""Fuzz inputs: a seed corpus of valid JPEGs in every configuration, and a seeded,
structure-aware mutator. Input ``i`` of run ``s`` is ``mutate(corpus[i % n], Random(f"{s}:{i}"))``:
a pure function of ``(s, i)``, so any finding is reproduced from its index alone.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

# --- the seed corpus ----------------------------------------------------------------------


def sample_image(h: int, w: int, seed: int) -> np.ndarray:
    """uint8 (h, w, 3): gradients, an edge and noise (every coefficient band gets used)."""
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = np.stack(
        [x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), ((x // 5 + y // 7) % 2) * 160 + 40], -1
    )
    return np.clip(base + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)


def seed_corpus() -> list[tuple[str, bytes]]:
    """Small valid JPEGs of every configuration hybrid writes, plus Pillow-made files.

    hybrid: baseline and progressive x 4:4:4, 4:2:2, 4:2:0, greyscale x no restarts and a
    restart interval of 2 MCUs, on a 37x23 image (partial MCUs on both edges); plus trellis
    RDO, Annex K (non-optimised) Huffman tables, and qualities 100 and 5 (extreme tables).
    hybrid's downscaled mode (scale 2, the metadata asks for an upscale). Pillow: baseline,
    progressive, optimised, 4:4:4, greyscale, restart markers, and a file with EXIF, ICC and a
    comment. libjpeg (jpeglib): 4:1:1 and 4:4:0 sampling.
    """
    from PIL import Image

    import hybrid

    pixels = sample_image(23, 37, 1)
    grey = np.ascontiguousarray(pixels[:, :, 0])
    corpus: list[tuple[str, bytes]] = []
    for progressive in (False, True):
        for sub in ("4:4:4", "4:2:2", "4:2:0", "grey"):
            for restart in (0, 2):
                name = f"hybrid-{'prog' if progressive else 'base'}-{sub}-rst{restart}"
                image = grey if sub == "grey" else pixels
                data = hybrid.encode(
                    image,
                    quality=70,
                    subsampling="4:2:0" if sub == "grey" else sub,
                    progressive=progressive,
                    restart_interval=restart,
                )
                corpus.append((name, data))
    corpus.append(("hybrid-rdo", hybrid.encode(pixels, quality=60, rdo=True, progressive=True)))
    corpus.append(("hybrid-annexk", hybrid.encode(pixels, quality=85, optimize_huffman=False)))
    corpus.append(("hybrid-q100-444", hybrid.encode(pixels, quality=100, subsampling="4:4:4")))
    corpus.append(("hybrid-q5-grey", hybrid.encode(grey, quality=5)))
    corpus.append(("hybrid-downscaled", hybrid.encode(pixels, quality=60, scale=2)))

    def pil(name: str, image: np.ndarray, **kw: object) -> None:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", **kw)
        corpus.append((name, buffer.getvalue()))

    pil("pillow-base", pixels, quality=75)
    pil("pillow-prog", pixels, quality=75, progressive=True)
    pil("pillow-opt-444", pixels, quality=90, optimize=True, subsampling=0)
    pil("pillow-grey", grey, quality=50)
    pil("pillow-restart", pixels, quality=75, restart_marker_blocks=2)
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "hybrid fuzz"
    icc = bytes(range(256)) * 2
    pil("pillow-meta", pixels, quality=80, exif=exif.tobytes(), icc_profile=icc, comment=b"hello")
    for name, factors in (("libjpeg-411", ((1, 4), (1, 1), (1, 1))),
                          ("libjpeg-440", ((2, 1), (1, 1), (1, 1)))):  # fmt: skip
        corpus.append((name, _libjpeg_file(pixels, factors)))
    return corpus


def _libjpeg_file(pixels: np.ndarray, samp_factor: tuple[tuple[int, int], ...]) -> bytes:
    """A baseline file from libjpeg (jpeglib) with sampling factors hybrid and Pillow do not
    write; jpeglib's factors are (vertical, horizontal) per component."""
    import os
    import tempfile

    import jpeglib

    image = jpeglib.from_spatial(np.ascontiguousarray(pixels))
    image.samp_factor = samp_factor
    fd, path = tempfile.mkstemp(suffix=".jpg")
    os.close(fd)
    try:
        image.write_spatial(path, qt=75)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


# --- structure-aware mutation ---------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A marker segment (``length`` includes the two length bytes; 0 for standalone markers)
    or, with ``marker == -1``, a run of entropy-coded data."""

    offset: int
    marker: int
    length: int


def segments(data: bytes) -> list[Segment]:
    """A lenient walk over ``data``'s markers and entropy-coded data; never raises."""
    found: list[Segment] = []
    n, pos = len(data), 0
    while pos + 1 < n:
        if data[pos] != 0xFF or data[pos + 1] in (0x00, 0xFF):
            pos += 1
            continue
        code = data[pos + 1]
        if code in (0xD8, 0xD9, 0x01) or 0xD0 <= code <= 0xD7:
            found.append(Segment(pos, code, 0))
            pos += 2
            if 0xD0 <= code <= 0xD7:
                pos = _scan_data(data, pos, found)
            continue
        if pos + 4 > n:
            break
        length = (data[pos + 2] << 8) | data[pos + 3]
        found.append(Segment(pos, code, length))
        pos += 2 + max(length, 2)
        if code == 0xDA:
            pos = _scan_data(data, pos, found)
    return found


def _scan_data(data: bytes, pos: int, found: list[Segment]) -> int:
    end = pos
    while end + 1 < len(data) and not (data[end] == 0xFF and data[end + 1] not in (0x00, 0xFF)):
        end += 1
    if end > pos:
        found.append(Segment(pos, -1, end - pos))
    return end


_INTERESTING_8 = (0x00, 0x01, 0x02, 0x0F, 0x10, 0x11, 0x22, 0x44, 0x7F, 0x80, 0xFE, 0xFF)
_INTERESTING_16 = (0, 1, 2, 3, 4, 7, 8, 9, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFDC, 0xFFFF)
_MARKERS = (0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC9, 0xCC, 0xD0, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC,
            0xDD, 0xDE, 0xE0, 0xE1, 0xE2, 0xEB, 0xEE, 0xFE, 0x01, 0x00, 0xFF)  # fmt: skip


def _put16(buf: bytearray, at: int, value: int) -> None:
    if 0 <= at and at + 2 <= len(buf):
        buf[at : at + 2] = struct.pack(">H", value & 0xFFFF)


def _mutate_once(buf: bytearray, rng: random.Random, corpus: Sequence[bytes]) -> bytearray:
    n = len(buf)
    if n < 4:
        buf.append(rng.randrange(256))
        return buf
    segs = segments(bytes(buf))
    headers = [s for s in segs if s.length >= 2 and s.marker >= 0]
    scans = [s for s in segs if s.marker == -1]
    kind = rng.randrange(16)
    if kind == 0:  # bit flips anywhere
        for _ in range(rng.choice((1, 1, 2, 4, 8))):
            at = rng.randrange(n)
            buf[at] ^= 1 << rng.randrange(8)
    elif kind == 1:  # an interesting byte anywhere
        buf[rng.randrange(n)] = rng.choice(_INTERESTING_8)
    elif kind == 2:  # delete a chunk
        at = rng.randrange(n)
        del buf[at : at + rng.choice((1, 2, 4, 16, 64))]
    elif kind == 3:  # insert random bytes or duplicate a chunk
        at = rng.randrange(n)
        if rng.random() < 0.5:
            chunk = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 16))))
        else:
            src = rng.randrange(n)
            chunk = bytes(buf[src : src + rng.choice((2, 16, 128))])
        buf[at:at] = chunk
    elif kind == 4:  # truncate
        del buf[rng.randrange(2, n) :]
    elif kind == 5 and headers:  # a header segment's length field
        seg = rng.choice(headers)
        value = rng.choice((0, 1, 2, 3, seg.length - 1, seg.length + 1, seg.length + 64, 0xFFFF,
                            rng.randrange(65536)))  # fmt: skip
        _put16(buf, seg.offset + 2, value)
    elif kind == 6 and headers:  # bit flips inside one header segment
        seg = rng.choice(headers)
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = seg.offset + rng.randrange(2 + seg.length)
            if at < n:
                buf[at] ^= 1 << rng.randrange(8)
    elif kind == 7 and headers:  # an interesting 8- or 16-bit value inside a header payload
        seg = rng.choice(headers)
        at = seg.offset + 4 + rng.randrange(max(seg.length - 2, 1))
        if rng.random() < 0.5:
            _put16(buf, at, rng.choice(_INTERESTING_16))
        elif at < n:
            buf[at] = rng.choice(_INTERESTING_8)
    elif kind == 8:  # frame header fields: size, precision, sampling, component count
        sofs = [s for s in headers if s.marker in (0xC0, 0xC1, 0xC2)]
        if sofs:
            at = sofs[0].offset + 4
            field_kind = rng.randrange(4)
            if field_kind == 0:
                _put16(buf, at + 1 + 2 * rng.randrange(2), rng.choice(_INTERESTING_16 + (65500,)))
            elif field_kind == 1 and at < n:
                buf[at] = rng.choice((0, 1, 7, 8, 12, 16, 255))
            elif field_kind == 2 and at + 7 < n:
                buf[at + 7 + 3 * rng.randrange(3)] = rng.choice(_INTERESTING_8 + (0x21, 0x12, 0x41))
            elif at + 5 < n:
                buf[at + 5] = rng.choice((0, 1, 2, 3, 4, 5, 255))
    elif kind == 9:  # Huffman or quantization tables: counts, values, zero entries
        tables = [s for s in headers if s.marker in (0xC4, 0xDB)]
        if tables:
            seg = rng.choice(tables)
            start, end = seg.offset + 4, min(n, seg.offset + 2 + seg.length)
            for _ in range(rng.choice((1, 4, 16))):
                if end > start:
                    buf[rng.randrange(start, end)] = rng.choice((0, 0, 1, 0xFF, rng.randrange(256)))
    elif kind == 10 and headers:  # remove, duplicate or re-label a whole segment
        seg = rng.choice(headers)
        end = seg.offset + 2 + seg.length
        choice = rng.randrange(3)
        if choice == 0:
            del buf[seg.offset : end]
        elif choice == 1:
            buf[end:end] = buf[seg.offset : end]
        else:
            buf[seg.offset + 1] = rng.choice(_MARKERS)
    elif kind == 11 and scans:  # markers or stray 0xFF inside entropy-coded data
        seg = rng.choice(scans)
        at = seg.offset + rng.randrange(seg.length)
        marker = bytes((0xFF, rng.choice((0x00, 0xD0, 0xD3, 0xD7, 0xD9, 0xDA, 0xC4, 0xFF))))
        buf[at:at] = marker
    elif kind == 12 and scans:  # scramble part of the entropy-coded data
        seg = rng.choice(scans)
        at = seg.offset + rng.randrange(seg.length)
        for i in range(at, min(at + rng.choice((1, 4, 32)), seg.offset + seg.length)):
            buf[i] = rng.randrange(256)
            if buf[i] == 0xFF:
                buf[i] = 0xFE
    elif kind == 13 and corpus:  # splice: our headers with another file's scans (or the tail)
        other = rng.choice(corpus)
        cut_self = rng.randrange(n)
        cut_other = rng.randrange(len(other))
        buf[cut_self:] = other[cut_other:]
    elif kind == 14 and scans:  # remove the end of the data: missing EOI, missing scans
        seg = rng.choice(scans)
        del buf[seg.offset + rng.randrange(seg.length) :]
        if rng.random() < 0.5:
            buf += b"\xff\xd9"
    else:  # a 16-bit interesting value anywhere
        _put16(buf, rng.randrange(n - 1), rng.choice(_INTERESTING_16))
    return buf


def mutate(data: bytes, rng: random.Random, corpus: Sequence[bytes] = ()) -> bytes:
    """``data`` with 1..4 stacked mutations (mostly 1) chosen by ``rng``."""
    buf = bytearray(data)
    count = 1
    while count < 4 and rng.random() < 0.35:
        count += 1
    for _ in range(count):
        buf = _mutate_once(buf, rng, corpus)
    return bytes(buf)


def fuzz_input(index: int, seed: int, corpus: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    """Input ``index`` of fuzz run ``seed``: (label, bytes), a pure function of its arguments."""
    name, data = corpus[index % len(corpus)]
    rng = random.Random(f"{seed}:{index}")
    return f"{index}:{name}", mutate(data, rng, [d for _, d in corpus])


def fuzz_inputs(
    seed: int, count: int, corpus: Sequence[tuple[str, bytes]], start: int = 0
) -> Iterator[tuple[str, bytes]]:
    for index in range(start, start + count):
        yield fuzz_input(index, seed, corpus)


# --- helpers for targeted damage --------------------------------------------------------------


def find_segments(data: bytes, marker: int) -> list[Segment]:
    """The segments of ``data`` with this marker (``-1``: entropy-coded data runs)."""
    return [s for s in segments(data) if s.marker == marker]


def with_length(data: bytes, segment: Segment, length: int) -> bytes:
    """``data`` with ``segment``'s length field set to ``length`` (nothing else moved)."""
    buf = bytearray(data)
    _put16(buf, segment.offset + 2, length)
    return bytes(buf)


def flip_bit(data: bytes, offset: int, bit: int) -> bytes:
    buf = bytearray(data)
    buf[offset] ^= 1 << bit
    return bytes(buf)


def corpus_digest(corpus: Sequence[tuple[str, bytes]]) -> str:
    """A short SHA-256 of the corpus: a fuzz run is identified by (digest, seed, count)."""
    import hashlib

    digest = hashlib.sha256()
    for name, data in corpus:
        digest.update(name.encode() + b"\0" + data)
    return digest.hexdigest()[:16]
