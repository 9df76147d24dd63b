"""Scan scripts, block order and symbol generation, checked against libjpeg's behaviour."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from hybrid.codec.frame import Component, Frame, ScanSpec
from hybrid.codec.scans import (
    ScanBlocks,
    default_progressive_script,
    scan_symbols,
    sequential_script,
    table_number,
    validate_script,
)
from hybrid.codec.tables import ZIGZAG
from hybrid.codec.writer import write_jpeg
from hybrid.errors import InputError
from tests.helpers.jpeg import (
    HAS_JPEGTRAN,
    SAMPLINGS,
    entropy_data,
    jpegtran,
    pillow_jpeg,
    random_frame,
    script_file_text,
    segments,
    smooth_rgb,
)
from tests.helpers.libjpeg_reference import reference_scan

#: A script that exercises what libjpeg's default does not: Al up to 3, three-step
#: refinement, bands split unevenly, a DC scan of a subset of components.
CUSTOM_SCRIPT = (
    ScanSpec((0, 1, 2), 0, 0, 0, 2),
    ScanSpec((0,), 1, 9, 0, 3),
    ScanSpec((0,), 10, 63, 0, 1),
    ScanSpec((1,), 1, 63, 0, 0),
    ScanSpec((2,), 1, 63, 0, 2),
    ScanSpec((0, 2), 0, 0, 2, 1),
    ScanSpec((1,), 0, 0, 2, 1),
    ScanSpec((0,), 1, 9, 3, 2),
    ScanSpec((0,), 1, 9, 2, 1),
    ScanSpec((0, 1, 2), 0, 0, 1, 0),
    ScanSpec((0,), 1, 9, 1, 0),
    ScanSpec((0,), 10, 63, 1, 0),
    ScanSpec((2,), 1, 63, 2, 1),
    ScanSpec((2,), 1, 63, 1, 0),
)


def sos_headers(data: bytes) -> list[tuple[tuple[int, ...], int, int, int, int]]:
    """(component ids, Ss, Se, Ah, Al) of every SOS segment."""
    out = []
    for marker, p in segments(data):
        if marker == 0xDA:
            n = p[0]
            ids = tuple(p[1 + 2 * i] for i in range(n))
            ss, se, a = p[1 + 2 * n], p[2 + 2 * n], p[3 + 2 * n]
            out.append((ids, ss, se, a >> 4, a & 15))
    return out


def as_headers(script) -> list[tuple[tuple[int, ...], int, int, int, int]]:
    return [(tuple(c + 1 for c in s.component_indices), s.ss, s.se, s.ah, s.al) for s in script]


def test_default_progressive_script_is_libjpegs():
    ycc = default_progressive_script(3)
    assert ycc == (
        ScanSpec((0, 1, 2), 0, 0, 0, 1),
        ScanSpec((0,), 1, 5, 0, 2),
        ScanSpec((2,), 1, 63, 0, 1),
        ScanSpec((1,), 1, 63, 0, 1),
        ScanSpec((0,), 6, 63, 0, 2),
        ScanSpec((0,), 1, 63, 2, 1),
        ScanSpec((0, 1, 2), 0, 0, 1, 0),
        ScanSpec((2,), 1, 63, 1, 0),
        ScanSpec((1,), 1, 63, 1, 0),
        ScanSpec((0,), 1, 63, 1, 0),
    )
    assert default_progressive_script(1) == (
        ScanSpec((0,), 0, 0, 0, 1),
        ScanSpec((0,), 1, 5, 0, 2),
        ScanSpec((0,), 6, 63, 0, 2),
        ScanSpec((0,), 1, 63, 2, 1),
        ScanSpec((0,), 0, 0, 1, 0),
        ScanSpec((0,), 1, 63, 1, 0),
    )
    # And what libjpeg-turbo (through Pillow) actually writes.
    rgb = smooth_rgb(24, 16)
    assert sos_headers(pillow_jpeg(rgb, progressive=True)) == as_headers(ycc)
    grey = pillow_jpeg(rgb[:, :, 0], progressive=True)
    assert sos_headers(grey) == as_headers(default_progressive_script(1))


def test_table_numbers_luma_zero_chroma_one():
    assert [table_number(i) for i in range(4)] == [0, 1, 1, 1]


FRAME3 = random_frame(np.random.default_rng(0), 16, 16, "420")


@pytest.mark.parametrize(
    ("script", "progressive", "message"),
    [
        ((), True, "empty"),
        ((ScanSpec((0, 1, 2), 0, 0, 0, 0), ScanSpec((0, 1), 1, 63)), True, "exactly one"),
        ((ScanSpec((0,), 1, 63),), True, "before its first DC"),
        ((ScanSpec((0, 1, 2), 0, 5),), True, "se=0"),
        ((ScanSpec((2, 1, 0), 0, 0),), True, "increase"),
        ((ScanSpec((0, 3), 0, 0),), True, "0..2"),
        ((ScanSpec((0, 1, 2), 0, 0, 0, 14),), True, "0..13"),
        ((ScanSpec((0, 1, 2), 0, 0), ScanSpec((0, 1, 2), 0, 0)), True, "already sent"),
        ((ScanSpec((0, 1, 2), 0, 0, 0, 1), ScanSpec((0, 1, 2), 0, 0, 2, 1)), True, "follow"),
        ((ScanSpec((0, 1, 2), 0, 0, 0, 2), ScanSpec((0, 1, 2), 0, 0, 2, 0)), True, "follow"),
        ((ScanSpec((0, 1, 2), 0, 0),), True, "never sent"),
        ((ScanSpec((0, 1, 2), 0, 0, 0, 1),), True, "never sent"),
        (default_progressive_script(3)[:-1], True, "only down to bit 1"),
        ((ScanSpec((0, 1, 2), 0, 0, 0, 0),), False, "se=63"),
        ((ScanSpec((0, 1, 2)), ScanSpec((0,))), False, "twice"),
        ((ScanSpec((0, 1)),), False, "never sent"),
        (("not a scan",), False, "ScanSpec"),
    ],
)
def test_invalid_scripts_are_rejected_with_a_reason(script, progressive, message):
    with pytest.raises(InputError, match=message):
        validate_script(script, FRAME3, progressive=progressive)


def test_too_many_blocks_in_an_interleaved_mcu():
    c = np.zeros((4, 4, 8, 8), np.int16)
    big = Component(1, 4, 3, 0, c)
    frame = Frame(32, 24, (big, Component(2, 1, 1, 0, c)), {0: np.ones((8, 8), np.uint16)})
    with pytest.raises(InputError, match="13 blocks"):
        validate_script(sequential_script(2), frame, progressive=False)
    # Non-interleaved scans of the same frame are fine.
    validate_script((ScanSpec((0,)), ScanSpec((1,))), frame, progressive=False)


def test_valid_scripts_pass():
    for script in (default_progressive_script(3), CUSTOM_SCRIPT):
        assert validate_script(list(script), FRAME3, progressive=True) == tuple(script)
    assert validate_script((ScanSpec((1,)), ScanSpec((0, 2))), FRAME3, progressive=False)


def test_interleaved_order_follows_mcus():
    """T.81 A.2.3: per MCU, Y's 2x2 blocks in raster order, then Cb, then Cr."""
    y = np.zeros((4, 4, 8, 8), np.int16)
    y[..., 0, 0] = np.arange(16).reshape(4, 4)
    cb = np.zeros((2, 2, 8, 8), np.int16)
    cb[..., 0, 0] = 100 + np.arange(4).reshape(2, 2)
    cr = cb.copy()
    cr[..., 0, 0] += 100
    q = {0: np.ones((8, 8), np.uint16)}
    comps = (Component(1, 2, 2, 0, y), Component(2, 1, 1, 0, cb), Component(3, 1, 1, 0, cr))
    blocks = ScanBlocks(Frame(32, 32, comps, q), restart_interval=3)
    zz, comp, interval = blocks.order((0, 1, 2))
    assert zz[:12, 0].tolist() == [0, 1, 4, 5, 100, 200, 2, 3, 6, 7, 101, 201]
    assert comp[:6].tolist() == [0, 0, 0, 0, 1, 2]
    assert interval.tolist() == [0] * 18 + [1] * 6
    # Non-interleaved: the component's own blocks in raster order, one block per MCU.
    zz, comp, interval = blocks.order((0,))
    assert zz[:, 0].tolist() == list(range(16))
    assert interval.tolist() == [i // 3 for i in range(16)]


def test_non_interleaved_scans_skip_mcu_padding():
    """A.2.2: a 17x9 greyscale component has 3x2 blocks even in an MCU-padded array."""
    coeffs = np.zeros((4, 4, 8, 8), np.int16)
    coeffs[..., 0, 0] = np.arange(16).reshape(4, 4)
    frame = Frame(17, 9, (Component(1, 1, 1, 0, coeffs),), {0: np.ones((8, 8), np.uint16)})
    zz, _, _ = ScanBlocks(frame).order((0,))
    assert zz[:, 0].tolist() == [0, 1, 2, 4, 5, 6]


def test_dummy_blocks_copy_the_previous_dc():
    """MCU padding as libjpeg's jccoefct.c: dummy DC equals the previous block's, AC zero."""
    y = np.zeros((3, 3, 8, 8), np.int16)  # 17x17 luma, 4:2:0: MCU grid 4x4 blocks
    y[..., 0, 0] = np.arange(1, 10).reshape(3, 3)
    y[..., 0, 1] = 5
    c = np.zeros((2, 2, 8, 8), np.int16)
    q = {0: np.ones((8, 8), np.uint16)}
    comps = (Component(1, 2, 2, 0, y), Component(2, 1, 1, 0, c), Component(3, 1, 1, 0, c))
    grid = ScanBlocks(Frame(17, 17, comps, q))._grid(0)
    assert grid.shape == (4, 4, 64)
    assert grid[..., 0].tolist() == [[1, 2, 3, 3], [4, 5, 6, 6], [7, 8, 9, 9], [8, 8, 9, 9]]
    assert not grid[3].any(axis=0)[1:].any() and not grid[:, 3, 1:].any()


def test_sequential_block_symbols():
    """DC difference, a run needing ZRL, an AC coefficient, EOB (T.81 F.1.2)."""
    coeffs = np.zeros((1, 2, 8, 8), np.int16)
    zz = np.zeros((2, 64), np.int16)
    zz[0, 0], zz[0, 1], zz[0, 20] = 5, -3, 1  # zig-zag positions
    zz[1, 0], zz[1, 63] = 2, 7
    coeffs.reshape(2, 64)[:, ZIGZAG] = zz
    frame = Frame(16, 8, (Component(1, 1, 1, 0, coeffs),), {0: np.ones((8, 8), np.uint16)})
    s = scan_symbols(ScanBlocks(frame), ScanSpec((0,)), progressive=False)
    columns = (s.table, s.symbol, s.extra, s.n_extra)
    events = list(zip(*(c.tolist() for c in columns), strict=True))
    assert events == [
        (0, 3, 0b101, 3),  # DC diff 5: size 3, bits 101
        (2, 0x02, 0b00, 2),  # run 0, -3: size 2, bits 00
        (2, 0xF0, 0, 0),  # ZRL: 16 zeros
        (2, 0x21, 0b1, 1),  # run 2, 1
        (2, 0x00, 0, 0),  # EOB
        (0, 2, 0b00, 2),  # DC diff 2 - 5 = -3: size 2, bits 00
        (2, 0xF0, 0, 0),
        (2, 0xF0, 0, 0),
        (2, 0xF0, 0, 0),
        (2, 0xE3, 0b111, 3),  # run 14, 7: no EOB after position 63
    ]


def _compare_with_reference(frame: Frame, script, restart_interval: int, eob_runs: bool):
    blocks = ScanBlocks(frame, restart_interval)
    tables = np.array([table_number(c) for c in range(len(frame.components))])
    for scan in script:
        zz, comp, interval = blocks.order(tuple(scan.component_indices))
        mine = scan_symbols(blocks, scan, progressive=True, eob_runs=eob_runs)
        events, restarts = reference_scan(
            zz, comp, tables[comp], 2 + tables[comp], interval,
            ss=scan.ss, se=scan.se, ah=scan.ah, al=scan.al, progressive=True,
            max_eobrun=0x7FFF if eob_runs else 1,
        )  # fmt: skip
        got = list(
            zip(
                mine.table.tolist(),
                mine.symbol.tolist(),
                mine.extra.tolist(),
                mine.n_extra.tolist(),
                strict=True,
            )
        )
        # Raw bits carry no symbol; compare them by value.
        got = [(t, s if t >= 0 else 0, e, n) for t, s, e, n in got]
        assert got == events, scan
        assert mine.restart_starts.tolist() == restarts, scan


@pytest.mark.parametrize("kind", ["small", "mid", "even", "extreme"])
@pytest.mark.parametrize("layout", ["grey", "420"])
@pytest.mark.parametrize("restart_interval", [0, 1, 7])
def test_progressive_symbols_match_libjpeg_port(kind, layout, restart_interval):
    rng = np.random.default_rng([len(kind), len(layout), restart_interval])
    frame = random_frame(rng, 41, 27, layout, kind)
    scripts = [default_progressive_script(len(frame.components))]
    if layout != "grey":
        scripts.append(CUSTOM_SCRIPT)
    for script in scripts:
        _compare_with_reference(frame, script, restart_interval, eob_runs=True)
    _compare_with_reference(frame, scripts[-1], restart_interval, eob_runs=False)


def test_long_eob_runs_and_correction_bit_buffers_are_split_like_libjpeg():
    """EOBRUN stops at 0x7FFF; > 937 buffered correction bits force the run out."""
    q = {0: np.ones((8, 8), np.uint16)}
    flat = Frame(2048, 1032, (Component(1, 1, 1, 0, np.zeros((129, 256, 8, 8), np.int16)),), q)
    s = scan_symbols(ScanBlocks(flat), ScanSpec((0,), 1, 5, 0, 2), progressive=True)
    # 33024 empty blocks: EOB14 with run 0x7FFF, then EOB8 with run 257.
    assert s.symbol.tolist() == [0xE0, 0x80]
    assert s.extra.tolist() == [0x7FFF - 0x4000, 257 - 256]
    assert s.n_extra.tolist() == [14, 8]

    # Even magnitudes: the last refinement scan is all correction bits (63 per block), so
    # libjpeg forces each run out once it buffers more than 937 bits, i.e. every 15 blocks.
    even = random_frame(np.random.default_rng(5), 160, 64, "grey", "even")
    s = scan_symbols(ScanBlocks(even), ScanSpec((0,), 1, 63, 1, 0), progressive=True)
    coded = s.table >= 0
    assert s.symbol[coded].tolist() == [0x30] * 11
    assert s.extra[coded].tolist() == [15 - 8] * 10 + [10 - 8]
    assert int((s.table < 0).sum()) == 160 * 63
    _compare_with_reference(even, default_progressive_script(1), 0, eob_runs=True)
    _compare_with_reference(even, default_progressive_script(1), 5, eob_runs=True)


@pytest.mark.skipif(not HAS_JPEGTRAN, reason="jpegtran (libjpeg-turbo) not installed")
@pytest.mark.parametrize("layout", list(SAMPLINGS))
@pytest.mark.parametrize("kind", ["small", "even", "extreme"])
def test_progressive_bytes_equal_jpegtran(layout, kind):
    """Our progressive file has libjpeg-turbo's exact entropy-coded bytes, every scan."""
    rng = np.random.default_rng(len(layout) * 10 + len(kind))
    frame = random_frame(rng, 61, 35, layout, kind)
    scripts = [None] + ([CUSTOM_SCRIPT] if layout != "grey" else [])
    for restart_interval in (0, 1, 7):
        base = write_jpeg(frame, restart_interval=restart_interval)
        restart = ["-restart", f"{restart_interval}B"] if restart_interval else []
        for script in scripts:
            ours = write_jpeg(
                frame, progressive=True, scan_script=script, restart_interval=restart_interval
            )
            if script is None:
                ref = jpegtran(base, "-optimize", "-progressive", *restart)
            else:
                with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
                    f.write(script_file_text(script))
                try:
                    ref = jpegtran(base, "-optimize", "-scans", f.name, *restart)
                finally:
                    os.remove(f.name)
            assert entropy_data(ours) == entropy_data(ref)
