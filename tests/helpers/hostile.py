"""Hostile but well-formed files, built byte by byte: small files that ask for a lot of work,
and real-world oddities (many APPn segments, a scan whose SOS marker was destroyed).

Used by the robustness tests and by ``scripts/measure_limits.py``.
"""

from __future__ import annotations

import struct

from hybrid.codec.metadata import SIGNATURE
from tests.helpers.corpus import find_segments

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
#: EOBn symbols (run of 2**n + n extra bits blocks, T.81 G.1.2.2), n = 0..14, all with 4-bit
#: codes 0000..1110 (canonical order; the all-ones code stays unused, T.81 C).
_EOB_SYMBOLS = [n << 4 for n in range(15)]


def _segment(code: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, code, len(payload) + 2) + payload


def _dht(table_class: int, counts: list[int], values: list[int]) -> bytes:
    return _segment(0xC4, bytes([table_class << 4]) + bytes(counts + [0] * (16 - len(counts)))
                    + bytes(values))  # fmt: skip


def _stuffed(bits: str) -> bytes:
    """Entropy-coded bytes of a bit string: padded with 1s, 0xFF followed by a stuffed 0x00."""
    bits += "1" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return raw.replace(b"\xff", b"\xff\x00")


def _eob_runs(blocks: int) -> str:
    """An AC scan of ``blocks`` all-zero blocks: EOB runs of at most 32767 blocks."""
    out = []
    while blocks:
        run = min(blocks, 32767)
        n = run.bit_length() - 1
        extra = format(run - (1 << n), f"0{n}b") if n else ""
        out.append(format(n, "04b") + extra)  # symbol n << 4 has the 4-bit code n
        blocks -= run
    return "".join(out)


def progressive_scan_bomb(side: int, scans: int) -> bytes:
    """A valid greyscale progressive ``side`` x ``side`` JPEG of ``scans`` scans (1..505), each
    over the whole frame, all coefficients zero (a flat grey image).

    Scan 1 codes the DC (1 bit per block); the others code one AC coefficient each with
    successive approximation (bands 1..63, bit planes 7..0: 8 scans per band), so libjpeg
    reports nothing odd. Every AC scan is a few EOB runs: 500 scans over 13000 x 13000 fit in
    about 0.4 MB, and each makes libjpeg visit all 2.6 million blocks.
    """
    if not 1 <= scans <= 1 + 63 * 8:
        raise ValueError(f"scans must be 1..505, got {scans}")
    blocks = (-(-side // 8)) ** 2
    header = (
        _SOI
        + _segment(0xDB, b"\x00" + bytes([1] * 64))
        + _segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00")
        + _dht(0, [1], [0])  # DC: category 0 is the 1-bit code 0
        + _dht(1, [0, 0, 0, len(_EOB_SYMBOLS)], _EOB_SYMBOLS)
    )

    def sos(ss: int, se: int, ah: int, al: int) -> bytes:
        return _segment(0xDA, bytes([1, 1, 0x00, ss, se, (ah << 4) | al]))

    parts = [header, sos(0, 0, 0, 0), _stuffed("0" * blocks)]
    ac = _stuffed(_eob_runs(blocks))  # refinement scans of zeros code the same runs
    script = [(k, 0 if a == 7 else a + 1, a) for k in range(1, 64) for a in range(7, -1, -1)]
    for band, ah, al in script[: scans - 1]:
        parts += [sos(band, band, ah, al), ac]
    return b"".join(parts) + _EOI


def forged_upscale(data: bytes, scale: float) -> bytes:
    """``data`` (a downscaled-mode file) with its APP11 record asking for ``scale`` x its
    coded size, consistently: original = coded x scale, as the encoder would record it."""
    from hybrid.codec.headers import parse_info

    info = parse_info(data)
    app11 = find_segments(data, 0xEB)[0]
    at = app11.offset + 4 + len(SIGNATURE) + 2  # after the version and mode bytes
    original = struct.pack(">IId", round(info.width * scale), round(info.height * scale), scale)
    return data[:at] + original + data[at + 16 :]


def with_icc_chunks(data: bytes, profile: bytes, chunks: int) -> bytes:
    """``data`` with ``profile`` split over ``chunks`` APP2 ICC_PROFILE segments (ICC.1
    B.4), right after SOI."""
    step = -(-len(profile) // chunks)
    pieces = [profile[i * step : (i + 1) * step] for i in range(chunks)]
    segments = b"".join(
        _segment(0xE2, b"ICC_PROFILE\x00" + bytes([i + 1, chunks]) + piece)
        for i, piece in enumerate(pieces)
    )
    return data[:2] + segments + data[2:]


def with_lost_scan(data: bytes, scan: int) -> bytes:
    """``data`` with the SOS marker of scan ``scan`` (0-based) overwritten by two zero bytes:
    the scan header and data become garbage that libjpeg skips ("extraneous bytes before
    marker"), decoding the image without that scan."""
    at = find_segments(data, 0xDA)[scan].offset
    return data[:at] + b"\x00\x00" + data[at + 2 :]
