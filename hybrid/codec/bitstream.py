"""Vectorized bit packing of entropy-coded segments (T.81 B.1.1.5, F.1.2.3).

Codes are packed MSB first into 64-bit words with numpy, so the cost is a few array passes
per symbol, not a Python loop. Padding to a byte boundary uses 1-bits, every 0xFF data byte
is followed by a stuffed 0x00, and restart markers RST0..RST7 are inserted between restart
intervals.
"""

from __future__ import annotations

import numpy as np

from hybrid.errors import EncodeError

#: Longest single code this packer accepts (a code may span at most two 64-bit words).
MAX_PACK_LENGTH = 57


def pack_bits(
    codes: np.ndarray, lengths: np.ndarray, restart_starts: np.ndarray | None = None
) -> bytes:
    """Pack variable-length codes into a byte-stuffed entropy-coded segment.

    Args:
        codes: unsigned integer array (n,), the code values; the low ``lengths[i]`` bits of
            ``codes[i]`` are written, most significant first. Higher bits must be zero.
        lengths: integer array (n,), bit counts 0..57 (0 writes nothing).
        restart_starts: optional non-decreasing integer array of symbol indices (0..n) where a
            new restart interval begins. Each interval is padded with 1-bits to a byte
            boundary and followed by RSTm, m = 0, 1, .., 7, 0, .. counting from the scan start.

    Returns:
        The segment bytes: the final byte padded with 1-bits, 0xFF bytes followed by 0x00.
    """
    codes = np.asarray(codes).astype(np.uint64, copy=False)
    lengths = np.asarray(lengths).astype(np.int64, copy=False)
    if codes.shape != lengths.shape or codes.ndim != 1:
        raise EncodeError("pack_bits needs two 1-D arrays of the same length")
    if lengths.size and (lengths.min() < 0 or lengths.max() > MAX_PACK_LENGTH):
        raise EncodeError(f"pack_bits: code lengths must be 0..{MAX_PACK_LENGTH}")
    end = np.cumsum(lengths)
    start = end - lengths
    total = int(end[-1]) if end.size else 0
    boundaries = np.zeros(0, np.int64)
    pad = np.zeros(0, np.int64)
    if restart_starts is not None and len(restart_starts):
        starts = np.asarray(restart_starts).astype(np.int64, copy=False)
        if starts[0] < 0 or starts[-1] > lengths.size or np.any(np.diff(starts) < 0):
            raise EncodeError("pack_bits: restart_starts must be non-decreasing indices 0..n")
        # Each interval is padded to whole bytes: later codes move by the padding so far.
        cum = np.concatenate(([0], end))
        edges = np.concatenate(([0], starts, [lengths.size]))
        pad = -(cum[edges[1:]] - cum[edges[:-1]]) % 8
        moved = np.concatenate(([0], np.cumsum(pad)[:-1]))
        start = start + np.repeat(moved, np.diff(edges))
        boundaries = (cum[starts] + moved[1:]) // 8
        total += int(moved[-1])
    keep = lengths > 0
    data = _pack_unstuffed(codes[keep], lengths[keep], start[keep], total)
    if boundaries.size:
        # The padding of interval i is the low bits of the byte before boundary i.
        padded = pad[:-1] > 0
        data[boundaries[padded] - 1] |= ((1 << pad[:-1][padded]) - 1).astype(np.uint8)
    return _stuff(data, boundaries)


def _pack_unstuffed(
    codes: np.ndarray, lengths: np.ndarray, start: np.ndarray, total: int
) -> np.ndarray:
    """uint8 array of ceil(total / 8) bytes with each code at its start bit, MSB first.

    ``codes`` uint64 (n,), ``lengths`` int64 (n,) all > 0, ``start`` int64 (n,) increasing
    bit positions. Bits that no code covers are 0, except the end of the last byte (1s).
    """
    n_bytes = -(-total // 8)
    if lengths.size == 0:
        return np.full(n_bytes, 0xFF, np.uint8)
    word = start >> 6
    # Left-align each code in its word: shift > 0 moves it left, shift < 0 means it spills
    # into the next word.
    shift = 64 - (start & 63) - lengths
    left = np.maximum(shift, 0).astype(np.uint64)
    right = np.maximum(-shift, 0).astype(np.uint64)
    head = (codes >> right) << left
    words = np.zeros(total // 64 + 2, np.uint64)
    group = np.concatenate(([0], np.flatnonzero(np.diff(word)) + 1))
    words[word[group]] = np.bitwise_or.reduceat(head, group)
    spill = np.flatnonzero(shift < 0)
    # At most one code crosses each word boundary, so these indices are distinct.
    words[word[spill] + 1] |= codes[spill] << (64 + shift[spill]).astype(np.uint64)
    data = words.astype(">u8").view(np.uint8)[:n_bytes].copy()
    if total % 8:
        data[-1] |= (1 << (8 - total % 8)) - 1
    return data


def _stuff(data: np.ndarray, boundaries: np.ndarray) -> bytes:
    """Insert 0x00 after every 0xFF of ``data`` and RSTm markers before byte ``boundaries``."""
    ff = np.flatnonzero(data == 0xFF) + 1
    n = boundaries.size
    if ff.size == 0 and n == 0:
        return data.tobytes()
    # np.insert keeps the given order among equal positions: a stuffed 0x00 belongs to the
    # byte before a marker, and 0xFF precedes 0xDm.
    markers = np.empty((n, 2), np.uint8)
    markers[:, 0] = 0xFF
    markers[:, 1] = 0xD0 + np.arange(n) % 8
    positions = np.concatenate((ff, np.repeat(boundaries, 2)))
    values = np.concatenate((np.zeros(ff.size, np.uint8), markers.ravel()))
    return np.insert(data, positions, values).tobytes()
