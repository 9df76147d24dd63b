"""Huffman tables: Annex C codes, Annex K.2 optimal tables identical to libjpeg's."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.codec.huffman import HuffmanTable, optimal_table, standard_tables
from hybrid.codec.scans import (
    ScanBlocks,
    default_progressive_script,
    scan_symbols,
    sequential_script,
)
from hybrid.errors import InputError
from tests.helpers.jpeg import frame_from_jpeg, pillow_jpeg, segments, smooth_rgb
from tests.helpers.libjpeg_reference import reference_optimal_table


def code_of(table: HuffmanTable, symbol: int) -> str:
    return format(int(table.codes[symbol]), f"0{int(table.lengths[symbol])}b")


def test_standard_tables_give_the_annex_k_codes():
    std = standard_tables()
    # Table K.3 (DC luminance).
    dc = ["00", "010", "011", "100", "101", "110", "1110", "11110", "111110", "1111110"]
    dc += ["11111110", "111111110"]
    assert [code_of(std["dc_luma"], s) for s in range(12)] == dc
    # Table K.4 (DC chrominance), first and last categories.
    assert code_of(std["dc_chroma"], 0) == "00"
    assert code_of(std["dc_chroma"], 11) == "11111111110"
    # Table K.5 (AC luminance): EOB, ZRL and a few run/size symbols.
    ac = std["ac_luma"]
    assert code_of(ac, 0x00) == "1010"
    assert code_of(ac, 0xF0) == "11111111001"
    assert [code_of(ac, s) for s in (0x01, 0x02, 0x03, 0x04, 0x11)] == [
        "00",
        "01",
        "100",
        "1011",
        "1100",
    ]
    assert code_of(ac, 0xFA) == "1111111111111110"
    # Table K.6 (AC chrominance).
    assert code_of(std["ac_chroma"], 0x00) == "00"
    assert code_of(std["ac_chroma"], 0xF0) == "1111111010"
    # Symbols outside the tables have no code; EOBn (n >= 1) are not in the Annex K tables.
    assert ac.lengths[0x10] == 0 and ac.lengths[0x0B] == 0
    assert int((ac.lengths > 0).sum()) == 162


def test_table_rejects_inconsistent_counts():
    with pytest.raises(InputError, match="16"):
        HuffmanTable((1, 1), (0, 1))
    with pytest.raises(InputError, match="add up"):
        HuffmanTable((2,) + (0,) * 15, (0,))
    with pytest.raises(InputError, match="distinct"):
        HuffmanTable((0, 2) + (0,) * 14, (3, 3))
    with pytest.raises(InputError, match="overflow"):
        HuffmanTable((3,) + (0,) * 15, (0, 1, 2))


def test_tables_compare_by_bits_and_values():
    a = HuffmanTable((0, 1, 1) + (0,) * 13, (5, 7))
    assert a == HuffmanTable([0, 1, 1] + [0] * 13, [5, 7])
    assert a != HuffmanTable((0, 1, 1) + (0,) * 13, (7, 5))
    assert hash(a) == hash(HuffmanTable((0, 1, 1) + (0,) * 13, (5, 7)))


def test_optimal_table_hand_worked_example():
    # Counts 8, 4, 2, 1 plus libjpeg's reserved symbol 256 (count 1), merged smallest first:
    # {3, 256} -> 2; {2, (3, 256)} -> 4; {1, ...} -> 8; {0, ...} -> 16. Code sizes 1, 2, 3, 4
    # and 4 for 256, whose all-ones code 1111 is then dropped.
    freqs = np.zeros(256, np.int64)
    freqs[[0, 1, 2, 3]] = [8, 4, 2, 1]
    table = optimal_table(freqs)
    assert table.bits == (1, 1, 1, 1) + (0,) * 12
    assert table.values == (0, 1, 2, 3)
    assert [code_of(table, s) for s in range(4)] == ["0", "10", "110", "1110"]


def test_optimal_table_single_symbol_gets_a_one_bit_code():
    freqs = np.zeros(256, np.int64)
    freqs[0x42] = 1000
    table = optimal_table(freqs)
    assert table.bits == (1,) + (0,) * 15 and table.values == (0x42,)
    assert code_of(table, 0x42) == "0"


def test_optimal_table_limits_lengths_to_16_bits():
    # Fibonacci counts make a maximally skewed tree (code sizes up to 30 before Figure K.3).
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    freqs = np.zeros(256, np.int64)
    freqs[:30] = fib
    table = optimal_table(freqs)
    lengths = table.lengths[:30].astype(int)
    assert lengths.max() == 16 and lengths.min() >= 1
    kraft = sum(2.0**-n for n in lengths)
    assert kraft < 1.0  # the all-ones code stays free
    assert (table.bits, table.values) == reference_optimal_table(freqs)


@pytest.mark.parametrize("seed", range(12))
def test_optimal_table_matches_libjpeg_port(seed):
    rng = np.random.default_rng(seed)
    n_used = [1, 2, 3, 12, 40, 162, 256][seed % 7]
    freqs = np.zeros(256, np.int64)
    used = rng.choice(256, n_used, replace=False)
    if seed % 3 == 0:
        freqs[used] = rng.integers(1, 4, n_used)  # many ties
    elif seed % 3 == 1:
        freqs[used] = np.round(rng.pareto(0.7, n_used) * 50).astype(np.int64) + 1
    else:
        freqs[used] = rng.integers(1, 1_000_000, n_used)
    table = optimal_table(freqs)
    assert (table.bits, table.values) == reference_optimal_table(freqs)
    assert set(table.values) == set(used.tolist())


def dht_tables(payload: bytes) -> dict[tuple[int, int], tuple[tuple[int, ...], tuple[int, ...]]]:
    """(class, number) -> (bits, values) of every table in a DHT payload."""
    out = {}
    pos = 0
    while pos < len(payload):
        tc_th = payload[pos]
        bits = tuple(payload[pos + 1 : pos + 17])
        values = tuple(payload[pos + 17 : pos + 17 + sum(bits)])
        out[(tc_th >> 4, tc_th & 15)] = (bits, values)
        pos += 17 + sum(bits)
    return out


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("subsampling", [0, 2])
def test_optimal_tables_equal_libjpeg_optimize_coding(progressive, subsampling):
    """Recount libjpeg's symbols from its own coefficients: the tables come out identical."""
    data = pillow_jpeg(
        smooth_rgb(75, 61), quality=80, optimize=True, progressive=progressive,
        subsampling=subsampling,
    )  # fmt: skip
    frame = frame_from_jpeg(data)
    # The tables each scan of libjpeg's file uses, in scan order.
    current: dict[tuple[int, int], tuple] = {}
    per_scan = []
    for marker, payload in segments(data):
        if marker == 0xC4:
            current.update(dht_tables(payload))
        elif marker == 0xDA:
            per_scan.append(dict(current))
    scans = default_progressive_script(3) if progressive else sequential_script(3)
    blocks = ScanBlocks(frame)
    assert len(per_scan) == len(scans)
    for scan, theirs in zip(scans, per_scan, strict=True):
        counts = scan_symbols(blocks, scan, progressive=progressive).counts()
        for slot in np.flatnonzero(counts.sum(axis=1)):
            mine = optimal_table(counts[slot])
            assert (mine.bits, mine.values) == theirs[(slot // 2, slot % 2)], (scan, slot)
