"""Bit packing: MSB-first codes, 1-bit padding, 0xFF stuffing, restart markers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hybrid.codec.bitstream import pack_bits
from hybrid.errors import EncodeError


def reference_pack(codes, lengths, restart_starts=None) -> bytes:
    """The same packing with Python strings of '0'/'1'."""
    edges = [0, *(restart_starts if restart_starts is not None else []), len(codes)]
    out = bytearray()
    for i in range(len(edges) - 1):
        bits = "".join(
            format(int(c), f"0{int(n)}b")
            for c, n in zip(
                codes[edges[i] : edges[i + 1]], lengths[edges[i] : edges[i + 1]], strict=True
            )
            if n
        )
        bits += "1" * (-len(bits) % 8)
        for j in range(0, len(bits), 8):
            out.append(int(bits[j : j + 8], 2))
            if out[-1] == 0xFF:
                out.append(0)
        if i < len(edges) - 2:
            out += bytes((0xFF, 0xD0 + i % 8))
    return bytes(out)


def test_packs_msb_first_and_pads_with_ones():
    assert pack_bits(np.array([1, 1]), np.array([1, 2])) == bytes([0b10111111])
    assert pack_bits(np.array([0xA, 0x5]), np.array([4, 4])) == b"\xa5"
    assert pack_bits(np.array([0x1234]), np.array([16])) == b"\x12\x34"
    assert pack_bits(np.array([0, 0]), np.array([3, 0])) == bytes([0b00011111])
    assert pack_bits(np.zeros(0), np.zeros(0)) == b""


def test_stuffs_a_zero_after_every_ff():
    assert pack_bits(np.array([0xFF]), np.array([8])) == b"\xff\x00"
    # 0xFF spanning a code boundary, and an 0xFF produced by the padding.
    assert pack_bits(np.array([0xF, 0xF, 0x1]), np.array([4, 4, 1])) == b"\xff\x00\xff\x00"
    assert pack_bits(np.array([0x7F]), np.array([7])) == b"\xff\x00"


def test_restart_intervals_are_padded_and_marked():
    codes, lengths = np.array([0, 1, 0b101]), np.array([1, 1, 3])
    # Intervals [0], [1], [101]: "0" -> 0x7F, "1" -> 0xFF 0x00, "101" -> 0xBF.
    assert pack_bits(codes, lengths, np.array([1, 2])) == (
        b"\x7f" + b"\xff\xd0" + b"\xff\x00" + b"\xff\xd1" + b"\xbf"
    )
    # Markers count RST0..RST7 and wrap around.
    out = pack_bits(np.zeros(10), np.ones(10), np.arange(1, 10))
    assert out == b"".join(b"\x7f\xff" + bytes([0xD0 + i % 8]) for i in range(9)) + b"\x7f"
    # A whole number of bytes needs no padding.
    assert pack_bits(np.array([0x12, 0x34]), np.array([8, 8]), np.array([1])) == (
        b"\x12\xff\xd0\x34"
    )


@pytest.mark.parametrize("seed", range(20))
def test_matches_reference_packing(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    lengths = rng.integers(0, 58, n)
    lengths[rng.random(n) < 0.1] = 0
    codes = np.array([int(rng.integers(0, 1 << int(k))) if k else 0 for k in lengths], np.uint64)
    if seed % 4 == 0:  # all ones: a stream full of 0xFF bytes
        codes = np.where(lengths > 0, (np.uint64(1) << lengths.astype(np.uint64)) - 1, 0)
    starts = None
    if seed % 2 and n:
        starts = np.sort(rng.choice(np.arange(0, n + 1), int(rng.integers(1, 20)), replace=True))
    assert pack_bits(codes, lengths, starts) == reference_pack(codes, lengths, starts)


def test_rejects_bad_input():
    with pytest.raises(EncodeError):
        pack_bits(np.array([1]), np.array([58]))
    with pytest.raises(EncodeError):
        pack_bits(np.array([1, 2]), np.array([1]))
    with pytest.raises(EncodeError):
        pack_bits(np.array([1, 2]), np.array([1, 1]), np.array([2, 1]))


def test_throughput_is_millions_of_symbols_per_second():
    rng = np.random.default_rng(0)
    n = 1_000_000
    lengths = rng.integers(1, 27, n)
    codes = rng.integers(0, 1 << 26, n).astype(np.uint64) & (
        (np.uint64(1) << lengths.astype(np.uint64)) - 1
    )
    pack_bits(codes[:1000], lengths[:1000])
    best = min(_timed(pack_bits, codes, lengths) for _ in range(3))
    assert n / best > 2e6, f"{n / best / 1e6:.1f} M symbols/s"


def _timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t
