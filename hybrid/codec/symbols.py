"""Vectorized Huffman symbol generation for sequential and progressive scans.

Each function turns the blocks of one scan, already in scan order, into a :class:`Symbols`
stream: Huffman symbols with their appended bits (T.81 F.1.2 sequential, G.1.2 progressive),
in output order. Work is done on whole arrays of blocks; the only Python loop left splits
over-long end-of-band runs, which is rare.

Throughout, ``zz`` is an int32 array (n_blocks, 64) of quantized coefficients in zig-zag
order, and table slots are 0, 1 (DC tables 0, 1) and 2, 3 (AC tables 0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybrid.errors import InputError

#: Bit length of 0..65535 (T.81 F.1.2.1 "SSSS": 0 for 0).
_BIT_LENGTH = np.frexp(np.arange(1 << 16, dtype=np.float64))[1].astype(np.int64)

#: The most correction bits libjpeg buffers in an end-of-band run before forcing it out
#: (jcphuff.c: MAX_CORR_BITS - DCTSIZE2 + 1).
MAX_BUFFERED_BITS = 1000 - 64 + 1

#: Longest end-of-band run (T.81 G.1.2.2: EOB14 with 14 extra bits).
MAX_EOBRUN = 0x7FFF

ZRL = 0xF0

Column = np.ndarray | int | bool

# Sort keys of refinement events: block << 17 | slot << 10 | order within the slot. Slot
# k + 1 holds what is emitted at zig-zag position k (ZRLs, their buffered bits, the newly
# non-zero symbol, its buffered bits); slot 64 the end-of-band run written after the block
# and its correction bits (up to MAX_BUFFERED_BITS + 63 < 1024).
_KEY_BLOCK = 17
_KEY_SLOT = 10
_FLUSH_SLOT = 64
_NEW_SUB = 67


@dataclass(frozen=True)
class Symbols:
    """The entropy-coding events of one scan, in output order.

    Attributes:
        table: int8 (n,), Huffman table slot 0..3 of the symbol, or -1 for bits written raw.
        symbol: uint8 (n,), the Huffman symbol (ignored where ``table`` is -1).
        extra: uint32 (n,), bits written after the code, the low ``n_extra`` bits.
        n_extra: uint8 (n,), 0..14.
        restart_starts: int64 (k,), index of the first event of restart intervals 2..k+1.
    """

    table: np.ndarray
    symbol: np.ndarray
    extra: np.ndarray
    n_extra: np.ndarray
    restart_starts: np.ndarray

    def counts(self) -> np.ndarray:
        """int64 array (4, 256): how often each symbol of each table slot occurs."""
        coded = self.table >= 0
        flat = self.table[coded].astype(np.int64) * 256 + self.symbol[coded]
        return np.bincount(flat, minlength=4 * 256).reshape(4, 256)


def _magnitude(values: np.ndarray, max_size: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(size, bits) of signed values (T.81 F.1.2.1): the category and its extra bits."""
    mag = np.abs(values)
    if mag.size and mag.max() >= 1 << max_size:
        raise InputError(
            f"{what} {int(values[np.argmax(mag)])} is out of range for 8-bit JPEG "
            f"(magnitude must be below {1 << max_size})"
        )
    size = _BIT_LENGTH[mag]
    bits = np.where(values < 0, values - 1, values) & ((1 << size) - 1)
    return size, bits


def _dc_differences(dc: np.ndarray, block_comp: np.ndarray, interval: np.ndarray) -> np.ndarray:
    """DC minus the previous DC of the same component in the same restart interval."""
    pred = np.zeros_like(dc)
    for c in np.unique(block_comp):
        idx = np.flatnonzero(block_comp == c)
        same = interval[idx[1:]] == interval[idx[:-1]]
        pred[idx[1:]] = np.where(same, dc[idx[:-1]], 0)
    return dc - pred


def _run_starts(group: np.ndarray) -> np.ndarray:
    """bool mask: where a run of equal consecutive ``group`` values begins."""
    starts = np.ones(group.size, bool)
    starts[1:] = group[1:] != group[:-1]
    return starts


def _run_ends(group: np.ndarray) -> np.ndarray:
    """bool mask: where a run of equal consecutive ``group`` values ends."""
    ends = np.ones(group.size, bool)
    ends[:-1] = group[1:] != group[:-1]
    return ends


def _nonzero(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the non-zero entries of a 2-D array, row-major (faster np.nonzero)."""
    flat = np.flatnonzero(values != 0)
    row = flat // max(values.shape[1], 1)
    return row, flat - row * values.shape[1]


def _previous(values: np.ndarray, fill: int | bool) -> np.ndarray:
    """``values`` moved one place right: out[0] = fill, out[i] = values[i - 1]."""
    out = np.empty_like(values)
    out[:1] = fill
    out[1:] = values[:-1]
    return out


def _group_rank(group: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal consecutive ``group`` values."""
    ar = np.arange(group.size)
    return ar - np.maximum.accumulate(np.where(_run_starts(group), ar, 0))


def _eob_run_ends(
    segment: np.ndarray, bits: np.ndarray | None, max_run: int, max_bits: int
) -> np.ndarray:
    """Where end-of-band runs are written out (as libjpeg's jcphuff.c does).

    Args:
        segment: int array (f,), non-decreasing, for the blocks that end in an EOB; a run
            never spans two segments (a block with coded coefficients or a restart ends it).
        bits: int array (f,) of correction bits each block adds to the run's buffer, or None.
        max_run: the run is written once it holds this many blocks.
        max_bits: ... or once its buffered correction bits exceed this.

    Returns:
        Increasing int64 indices into the f blocks: the last block of each run.
    """
    f = segment.size
    if f == 0:
        return np.zeros(0, np.int64)
    seg_first = np.flatnonzero(_run_starts(segment))
    seg_end = np.concatenate((seg_first[1:], [f]))
    seg_len = seg_end - seg_first
    rank = np.arange(f) - np.repeat(seg_first, seg_len)
    over = rank + 1 >= max_run
    if bits is not None:
        incl = np.cumsum(bits)
        excl = incl - bits
        over |= incl - np.repeat(excl[seg_first], seg_len) > max_bits
    ends = [seg_end - 1]
    forced: list[int] = []
    # Greedy cuts inside the few segments whose run would overflow.
    for s in np.unique(np.repeat(np.arange(seg_first.size), seg_len)[over]):
        pos, last = int(seg_first[s]), int(seg_end[s]) - 1
        while True:
            cut = pos + max_run - 1
            if bits is not None:
                cut = min(cut, int(np.searchsorted(incl, excl[pos] + max_bits, side="right")))
            if cut >= last:
                break
            forced.append(cut)
            pos = cut + 1
    if forced:
        ends.append(np.asarray(forced, np.int64))
    return np.sort(np.concatenate(ends))


def _eob_symbols(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbol, extra, n_extra) of EOBn codes for run lengths 1..32767 (T.81 G.1.2.2)."""
    n = _BIT_LENGTH[runs] - 1
    return n << 4, runs & ((1 << n) - 1), n


def first_scan_symbols(
    zz: np.ndarray,
    block_comp: np.ndarray,
    dc_slot: np.ndarray,
    ac_slot: np.ndarray,
    interval: np.ndarray,
    *,
    ss: int,
    se: int,
    al: int = 0,
    max_eobrun: int = 1,
) -> Symbols:
    """Symbols of a sequential scan (ss=0, se=63) or a progressive first scan (Ah = 0).

    Args:
        zz: int32 (n, 64) zig-zag coefficients of the scan's blocks in scan order.
        block_comp: int (n,), component of each block (DC prediction is per component).
        dc_slot, ac_slot: int (n,), Huffman table slot of each block's DC / AC symbols.
        interval: int (n,), non-decreasing restart interval number of each block.
        ss, se: spectral selection; ss = 0 codes the DC difference (T.81 F.1.2.1).
        al: point transform (G.1.2.1): DC shifted arithmetically, AC magnitudes shifted.
        max_eobrun: longest end-of-band run: 1 gives plain EOB codes (sequential, or tables
            without EOBn symbols), 0x7FFF the progressive maximum.
    """
    n = zz.shape[0]
    n_dc = 1 if ss == 0 else 0
    lo = max(ss, 1)
    width = max(se - lo + 1, 0)
    new_interval = np.concatenate(([False], interval[1:] != interval[:-1]))

    ac = zz[:, lo : se + 1]
    if al:
        ac = np.where(ac < 0, -((-ac) >> al), ac >> al)
    nb, pos = _nonzero(ac)
    m = nb.size
    per_block = np.bincount(nb, minlength=n)
    first = np.cumsum(per_block) - per_block
    rank = np.arange(m) - first[nb]
    prev = np.where(rank == 0, -1, _previous(pos, -1))
    run = pos - prev - 1
    zrl = run >> 4
    size, bits = _magnitude(ac[nb, pos], 10, "AC coefficient")
    zrl_before = np.cumsum(zrl) - zrl  # over all entries; made per-block below
    zrl_block = np.bincount(nb, weights=zrl, minlength=n).astype(np.int64)
    zrl_first = np.cumsum(zrl_block) - zrl_block

    # Blocks whose coefficients end in zeros take an EOB; runs of them share one EOBn.
    if width:
        last_pos = np.full(n, -1)
        has = per_block > 0
        last_pos[has] = pos[first[has] + per_block[has] - 1]
        ends_in_eob = last_pos < width - 1
    else:
        ends_in_eob = np.zeros(n, bool)
    eob_blocks = np.flatnonzero(ends_in_eob)
    segment = np.cumsum((per_block > 0) | new_interval)[eob_blocks]
    if max_eobrun == 1:
        run_ends = np.arange(eob_blocks.size)
    else:
        run_ends = _eob_run_ends(segment, None, max_eobrun, 0)
    run_lengths = np.diff(np.concatenate(([-1], run_ends)))
    flush_block = eob_blocks[run_ends]
    flushes = np.zeros(n, np.int64)
    flushes[flush_block] = 1

    events = n_dc + per_block + zrl_block + flushes
    offset = np.cumsum(events) - events
    total = int(events.sum())
    table = np.full(total, -1, np.int8)
    symbol = np.zeros(total, np.uint8)
    extra = np.zeros(total, np.uint32)
    n_extra = np.zeros(total, np.uint8)

    if n_dc:
        dc = zz[:, 0] >> al
        dc_size, dc_bits = _magnitude(
            _dc_differences(dc, block_comp, interval), 11, "DC difference"
        )
        at = offset
        table[at] = dc_slot
        symbol[at] = dc_size
        extra[at] = dc_bits
        n_extra[at] = dc_size
    at = offset[nb] + n_dc + rank + (zrl_before - zrl_first[nb]) + zrl
    table[at] = ac_slot[nb]
    symbol[at] = ((run & 15) << 4) | size
    extra[at] = bits
    n_extra[at] = size
    if zrl_block.any():
        owner = np.repeat(np.arange(m), zrl)
        step = np.arange(owner.size) - np.repeat(np.cumsum(zrl) - zrl, zrl)
        zat = (at - zrl)[owner] + step
        table[zat] = ac_slot[nb[owner]]
        symbol[zat] = ZRL
    if flush_block.size:
        fat = offset[flush_block] + events[flush_block] - 1
        sym, ebits, nbits = _eob_symbols(run_lengths)
        table[fat] = ac_slot[flush_block]
        symbol[fat] = sym
        extra[fat] = ebits
        n_extra[fat] = nbits
    return Symbols(table, symbol, extra, n_extra, offset[new_interval])


def dc_refine_symbols(zz: np.ndarray, interval: np.ndarray, *, al: int) -> Symbols:
    """Symbols of a DC refinement scan (T.81 G.1.2.1): bit ``al`` of each DC, raw."""
    n = zz.shape[0]
    new_interval = np.concatenate(([False], interval[1:] != interval[:-1]))
    return Symbols(
        np.full(n, -1, np.int8),
        np.zeros(n, np.uint8),
        ((zz[:, 0] >> al) & 1).astype(np.uint32),
        np.ones(n, np.uint8),
        np.flatnonzero(new_interval),
    )


def ac_refine_symbols(
    zz: np.ndarray,
    ac_slot: np.ndarray,
    interval: np.ndarray,
    *,
    ss: int,
    se: int,
    al: int,
    max_eobrun: int = MAX_EOBRUN,
) -> Symbols:
    """Symbols of an AC refinement scan (T.81 G.1.2.3), in libjpeg's exact output order.

    Coefficients already non-zero (|c| >> al > 1) send one correction bit, buffered until
    the next ZRL or newly-non-zero symbol; bits after a block's last newly-non-zero
    coefficient ride with its end-of-band run (jcphuff.c encode_mcu_AC_refine).

    Args:
        zz: int32 (n, 64) zig-zag coefficients of one component in scan order.
        ac_slot: int (n,), Huffman table slot per block.
        interval: int (n,), non-decreasing restart interval number of each block.
        ss, se, al: spectral selection (1..63) and the bit refined (Ah = al + 1).
        max_eobrun: longest end-of-band run (1 for tables without EOBn symbols).
    """
    n = zz.shape[0]
    width = se - ss + 1
    new_interval = np.concatenate(([False], interval[1:] != interval[:-1]))
    coef = zz[:, ss : se + 1]
    absval = np.abs(coef) >> al
    nb, pos = _nonzero(absval)
    val = absval[nb, pos]
    positive = coef[nb, pos] > 0
    is_new = val == 1
    per_block = np.bincount(nb, minlength=n)
    rank = np.arange(nb.size) - (np.cumsum(per_block) - per_block)[nb]
    zeros_before = pos - rank

    # EOB: the last newly non-zero coefficient of each block.
    eob = np.full(n, -1)
    new_blk = nb[is_new]
    last_new = np.flatnonzero(is_new)[_run_ends(new_blk)]
    eob[nb[last_new]] = pos[last_new]
    active = eob >= 0
    before = pos <= eob[nb]

    keys: list[np.ndarray] = []
    cols: list[tuple[np.ndarray, ...]] = []

    def add(key: np.ndarray, tab: Column, sym: Column, bits: Column, nbits: Column) -> None:
        """Queue events with sort keys ``key``; other columns are arrays or scalars."""
        k = key.size
        keys.append(key)
        cols.append(
            (
                np.broadcast_to(np.asarray(tab, np.int8), k),
                np.broadcast_to(np.asarray(sym, np.uint8), k),
                np.broadcast_to(np.asarray(bits, np.uint32), k),
                np.broadcast_to(np.asarray(nbits, np.uint8), k),
            )
        )

    # Coefficients up to EOB: ZRLs, newly non-zero symbols and their correction bits.
    sel = np.flatnonzero(before)
    pb, pp, pz, pnew = nb[sel], pos[sel], zeros_before[sel], is_new[sel]
    count = sel.size
    ar = np.arange(count)
    blk_start = _run_starts(pb)
    first_in_blk = np.maximum.accumulate(np.where(blk_start, ar, 0))
    prev_new = _previous(np.maximum.accumulate(np.where(pnew, ar, -1)), -1)
    has_prev_new = prev_new >= first_in_blk
    run = pz - np.where(has_prev_new, pz[np.maximum(prev_new, 0)], 0)
    zrl_so_far = run >> 4
    same_run = ~blk_start & ~_previous(pnew, True)
    zrl = zrl_so_far - np.where(same_run, _previous(zrl_so_far, 0), 0)
    slot_key = (pb << _KEY_BLOCK) | ((pp + 1) << _KEY_SLOT)
    tab = ac_slot[pb]

    # The first ZRL at a position has sub-slot 0 (the bits buffered before it follow at
    # 1..63), further ZRLs 64..66, the newly non-zero symbol 67 (its bits from 68).
    owner = np.repeat(ar, zrl)
    step = np.arange(owner.size) - np.repeat(np.cumsum(zrl) - zrl, zrl)
    add(slot_key[owner] + np.where(step == 0, 0, 63 + step), tab[owner], ZRL, 0, 0)

    new = np.flatnonzero(pnew)
    add(slot_key[new] + _NEW_SUB, tab[new], ((run[new] & 15) << 4) | 1, positive[sel][new], 1)

    # Each correction bit before EOB rides with the next ZRL or symbol after it.
    emits = (zrl > 0) | pnew
    next_emit = np.minimum.accumulate(np.where(emits, ar, count)[::-1])[::-1]
    old = np.flatnonzero(~pnew)
    target = next_emit[old + 1]
    sub = np.where(zrl[target] > 0, 1, _NEW_SUB + 1) + _group_rank(target)
    add(slot_key[target] + sub, -1, 0, val[sel][old] & 1, 1)

    # End-of-band runs and the correction bits that follow them.
    eob_blocks = np.flatnonzero(eob < width - 1)
    after = np.flatnonzero(~before)
    trailing = np.bincount(nb[after], minlength=n)
    segment = np.cumsum(active | new_interval)[eob_blocks]
    run_ends = _eob_run_ends(segment, trailing[eob_blocks], max_eobrun, MAX_BUFFERED_BITS)
    flush_block = eob_blocks[run_ends]
    flush_key = (flush_block << _KEY_BLOCK) | (_FLUSH_SLOT << _KEY_SLOT)
    sym, ebits, nbits = _eob_symbols(np.diff(np.concatenate(([-1], run_ends))))
    add(flush_key, ac_slot[flush_block], sym, ebits, nbits)
    run_of_block = np.zeros(n, np.int64)
    run_of_block[eob_blocks] = np.searchsorted(run_ends, np.arange(eob_blocks.size))
    q_run = run_of_block[nb[after]]
    add(flush_key[q_run] + 1 + _group_rank(q_run), -1, 0, val[after] & 1, 1)

    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    table, symbol, extra, n_extra = (np.concatenate(c)[order] for c in zip(*cols, strict=True))
    restart_starts = np.searchsorted(key[order], np.flatnonzero(new_interval) << _KEY_BLOCK)
    return Symbols(table, symbol, extra, n_extra, restart_starts)
