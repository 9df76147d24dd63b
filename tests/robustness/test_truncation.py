"""Truncation and targeted corruption: a clear typed error (or a decode), never a crash.

Every case runs through the crash-isolated harness (all four readers: info, coefficients,
plain decode, enhanced decode), so a libjpeg crash would be a failing finding, not a dead
pytest.
"""

from __future__ import annotations

import random
import struct

import pytest

from tests.helpers.corpus import Segment, find_segments, flip_bit, segments, with_length
from tests.helpers.harness import TARGETS, Report

#: One file per layout: baseline 4:2:0 with restart markers, progressive 4:4:4, greyscale,
#: and Pillow's file with EXIF, ICC and a comment.
TRUNCATED = [
    "hybrid-base-4:2:0-rst2",
    "hybrid-prog-4:4:4-rst0",
    "hybrid-base-grey-rst0",
    "pillow-meta",
]


def outcomes(report: Report, target: str) -> set[str]:
    return {o for (t, o) in report.outcomes if t == target}


def assert_no_findings(report: Report) -> None:
    assert report.findings == [], report.summary()


def test_truncated_at_every_byte_offset(corpus_by_name, harness):
    inputs = []
    for name in TRUNCATED:
        data = corpus_by_name[name]
        inputs += [(f"{name}[:{k}]", data[:k]) for k in range(len(data))]
    report = harness.run(inputs)
    assert_no_findings(report)
    assert report.inputs == sum(len(corpus_by_name[n]) for n in TRUNCATED)
    for target in TARGETS:  # every prefix, for every reader, is a CorruptJPEGError
        assert report.outcomes[(target, "CorruptJPEGError")] == report.inputs, report.summary()


#: Every segment type (RSTn as one), with the first file of FLIPPED that holds it.
SEGMENT_TYPES = {0xD8: "SOI", 0xE0: "APP0", 0xE1: "APP1", 0xE2: "APP2", 0xEB: "APP11",
                 0xFE: "COM", 0xDB: "DQT", 0xC0: "SOF0", 0xC2: "SOF2", 0xC4: "DHT", 0xDD: "DRI",
                 0xDA: "SOS", -1: "scan data", 0xD0: "RSTn", 0xD9: "EOI"}  # fmt: skip
FLIPPED = ("hybrid-base-4:2:0-rst2", "hybrid-prog-4:2:0-rst0", "pillow-meta")


def test_bit_flips_in_every_segment_type(corpus_by_name, harness):
    """Each bit of a segment's first 4 bytes (marker and length, or the first data bytes),
    and 16 random bits of the rest, for the first segment of every type."""
    rng = random.Random(0)
    inputs, seen = [], set()
    for name in FLIPPED:
        data = corpus_by_name[name]
        for seg in segments(data):
            kind = 0xD0 if 0xD0 <= seg.marker <= 0xD7 else seg.marker
            if kind in seen or kind not in SEGMENT_TYPES:
                continue
            seen.add(kind)
            size = seg.length if kind == -1 else max(2, 2 + seg.length)
            flips = [(seg.offset + i, bit) for i in range(min(size, 4)) for bit in range(8)]
            rest = [
                (at, bit) for at in range(seg.offset + 4, seg.offset + size) for bit in range(8)
            ]
            flips += rng.sample(rest, min(16, len(rest)))
            label = SEGMENT_TYPES[kind]
            inputs += [(f"{label}@{at}.{bit}", flip_bit(data, at, bit)) for at, bit in flips]
    assert seen == set(SEGMENT_TYPES)
    # Without the enhanced decode, to keep the default suite short: the fuzz run covers it.
    report = harness.run(inputs, keep_outcomes=True, targets=("info", "coefficients", "decode"))
    assert_no_findings(report)
    # A flipped marker byte or SOI is always refused.
    for label, got in report.by_input.items():
        if label.startswith("SOI@"):
            assert set(got.values()) == {"CorruptJPEGError"}, (label, got)
    # Every flip in the coded data of hybrid's own files (checksummed; scan data and RSTn are
    # taken from FLIPPED[0], a hybrid file) is an error or a decode flagged as partial, never
    # a silent "ok".
    hybrid_scan = [
        got
        for label, got in report.by_input.items()
        if label.split("@")[0] in ("scan data", "RSTn")
    ]
    assert len(hybrid_scan) >= 40
    for got in hybrid_scan:
        assert got["decode"] in ("CorruptJPEGError", "partial"), got


@pytest.mark.parametrize("name", ["hybrid-base-4:2:0-rst2", "pillow-meta"])
def test_wrong_segment_lengths(corpus_by_name, harness, name):
    data = corpus_by_name[name]
    inputs, tiny = [], []
    for seg in segments(data):
        if seg.marker < 0 or seg.length < 2:
            continue
        for length in (0, 1, 2, seg.length - 1, seg.length + 1, seg.length + 100, 0xFFFF):
            label = f"{seg.marker:02X}@{seg.offset}:{length}"
            inputs.append((label, with_length(data, seg, length)))
            if length < 2:
                tiny.append(label)
    report = harness.run(inputs)
    assert_no_findings(report)
    assert report.outcomes[("info", "CorruptJPEGError")] >= len(tiny)


def test_missing_or_damaged_eoi(corpus_by_name, harness):
    inputs = []
    for name in ("hybrid-base-4:2:0-rst0", "hybrid-prog-4:2:0-rst2", "pillow-prog"):
        data = corpus_by_name[name]
        assert data.endswith(b"\xff\xd9")
        inputs += [
            (f"{name}-no-eoi", data[:-2]),
            (f"{name}-half-eoi", data[:-1]),
            (f"{name}-eoi-zeroed", data[:-2] + b"\x00\x00"),
            (f"{name}-eoi-as-rst", data[:-2] + b"\xff\xd0"),
        ]
    report = harness.run(inputs)
    assert_no_findings(report)
    for target in TARGETS:
        assert report.outcomes[(target, "CorruptJPEGError")] == len(inputs)


def _replace(data: bytes, seg: Segment, payload: bytes) -> bytes:
    marker = struct.pack(">BBH", 0xFF, seg.marker, len(payload) + 2)
    return data[: seg.offset] + marker + payload + data[seg.offset + 2 + seg.length :]


def _dht(tc_th: int, counts: list[int], values: bytes) -> bytes:
    return bytes([tc_th]) + bytes(counts + [0] * (16 - len(counts))) + values


BOGUS_HUFFMAN = {
    "over-subscribed": _dht(0x00, [3], b"\x00\x01\x02"),  # 3 codes of length 1
    "too-many-values": _dht(0x00, [0] * 14 + [200, 200], bytes(400)),
    "bad-index": _dht(0x07, [1], b"\x00"),
    "bad-class": _dht(0x20, [1], b"\x00"),
    "counts-cut-short": bytes([0x00, 1, 0, 0]),
    "values-missing": _dht(0x00, [0, 2, 3], b"\x00"),
}


@pytest.mark.parametrize("case", sorted(BOGUS_HUFFMAN))
def test_bogus_huffman_tables(corpus_by_name, harness, case):
    inputs = []
    for name in ("hybrid-base-4:2:0-rst0", "hybrid-prog-4:2:2-rst0", "pillow-base"):
        data = corpus_by_name[name]
        for seg in find_segments(data, 0xC4):
            inputs.append((f"{name}@{seg.offset}", _replace(data, seg, BOGUS_HUFFMAN[case])))
    report = harness.run(inputs)
    assert_no_findings(report)
    for target in ("coefficients", "enhance"):
        assert outcomes(report, target) <= {"CorruptJPEGError", "ok", "partial"}, report.summary()


def test_missing_huffman_tables(corpus_by_name, harness):
    """Regression: libjpeg-turbo (Pillow) substitutes default tables for a missing DHT, but
    jpeglib's libjpeg refuses; its OSError used to escape from the enhanced decode."""
    inputs = []
    for name in ("hybrid-base-4:2:0-rst0", "hybrid-base-grey-rst2", "pillow-opt-444"):
        data = corpus_by_name[name]
        for seg in reversed(find_segments(data, 0xC4)):  # DHT -> COM: the tables vanish
            data = data[: seg.offset + 1] + b"\xfe" + data[seg.offset + 2 :]
        inputs.append((name, data))
    report = harness.run(inputs)
    assert_no_findings(report)
    assert outcomes(report, "enhance") == {"CorruptJPEGError"}
    assert outcomes(report, "coefficients") == {"CorruptJPEGError"}


def test_bogus_quantization_tables(corpus_by_name, harness):
    data = corpus_by_name["hybrid-base-4:2:0-rst0"]
    dqt = find_segments(data, 0xDB)[0]
    payload = data[dqt.offset + 4 : dqt.offset + 2 + dqt.length]
    zeroed = bytearray(payload)
    zeroed[1 + 5] = 0  # one zero entry in table 0
    cases = {
        "zero-entry": bytes(zeroed),
        "all-zero": bytes([payload[0]]) + bytes(64) + payload[65:],
        "precision-2": bytes([0x20 | payload[0]]) + payload[1:],
        "index-5": bytes([0x05]) + payload[1:],
        "cut-short": payload[:40],
        "16-bit-max": bytes([0x10]) + b"\xff\xff" * 64 + payload[65:],
    }
    inputs = [(case, _replace(data, dqt, p)) for case, p in cases.items()]
    # A frame that uses a table no DQT defines.
    sof = find_segments(data, 0xC0)[0]
    undefined = bytearray(data)
    undefined[sof.offset + 4 + 6 + 2] = 3  # component 1's Tq
    inputs.append(("undefined-table", bytes(undefined)))
    report = harness.run(inputs, keep_outcomes=True)
    assert_no_findings(report)
    got = report.by_input
    # Regression: a zero entry made the enhanced decode's table conditioning take log2(0)
    # (RuntimeWarning, NaN pixels). libjpeg decodes such a file, as every viewer does; the
    # tables no longer match the file's checksum, so the decode is flagged.
    for case in ("zero-entry", "all-zero"):
        assert got[case]["enhance"] == "CorruptJPEGError"
        assert got[case]["decode"] == "partial"
    for case in ("precision-2", "index-5", "cut-short", "undefined-table"):
        assert set(got[case].values()) == {"CorruptJPEGError"}, (case, got[case])
    assert got["16-bit-max"]["info"] == "ok"


def test_zero_size_images(corpus_by_name, harness):
    import numpy as np

    import hybrid
    from hybrid.errors import InputError

    data = corpus_by_name["hybrid-base-4:2:0-rst0"]
    sof = find_segments(data, 0xC0)[0]
    height_at, width_at = sof.offset + 5, sof.offset + 7
    zero_width = data[:width_at] + b"\x00\x00" + data[width_at + 2 :]
    zero_height = data[:height_at] + b"\x00\x00" + data[height_at + 2 :]
    zero_both = zero_width[:height_at] + b"\x00\x00" + zero_width[height_at + 2 :]
    report = harness.run([("w0", zero_width), ("h0", zero_height), ("both", zero_both)])
    assert_no_findings(report)
    # Width 0 is corrupt; height 0 means "set by a DNL marker", which hybrid does not support.
    assert report.outcomes[("info", "CorruptJPEGError")] == 2
    assert report.outcomes[("info", "ok")] == 1
    for target in ("coefficients", "decode", "enhance"):
        assert report.outcomes[(target, "CorruptJPEGError")] == 2
        assert report.outcomes[(target, "UnsupportedImageError")] == 1
    for empty in (np.zeros((0, 5), np.uint8), np.zeros((5, 0, 3), np.uint8)):
        with pytest.raises(InputError, match="empty"):
            hybrid.encode(empty)
