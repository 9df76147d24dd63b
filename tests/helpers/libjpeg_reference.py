"""A literal, one-block-at-a-time port of libjpeg's entropy encoders (test helper).

Transcribed from libjpeg-turbo ``jchuff.c`` (encode_one_block) and ``jcphuff.c``
(encode_mcu_DC_first, encode_mcu_AC_first, encode_mcu_DC_refine, encode_mcu_AC_refine,
emit_eobrun, emit_restart, jpeg_gen_optimal_table in jchuff.c), with plain Python loops, as an
independent reference for the vectorized code in ``hybrid.codec.symbols`` and
``hybrid.codec.huffman``.

Events are tuples ``(slot, symbol, extra, n_extra)`` as in :class:`hybrid.codec.symbols.Symbols`
(slot -1: raw bits).
"""

from __future__ import annotations

import numpy as np

MAX_CORR_BITS = 1000


def _bits(value: int) -> tuple[int, int]:
    """(size, extra bits) of a signed value (T.81 F.1.2.1)."""
    size = abs(value).bit_length()
    return size, (value if value >= 0 else value - 1) & ((1 << size) - 1)


def reference_scan(
    zz: np.ndarray,
    block_comp: np.ndarray,
    dc_slot: np.ndarray,
    ac_slot: np.ndarray,
    interval: np.ndarray,
    *,
    ss: int,
    se: int,
    ah: int,
    al: int,
    progressive: bool,
    max_eobrun: int = 0x7FFF,
) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """Events and restart positions (event index after each RST) of one scan."""
    events: list[tuple[int, int, int, int]] = []
    restarts: list[int] = []
    last_dc: dict[int, int] = {}
    state = {"eobrun": 0, "be": [], "slot": int(ac_slot[0])}

    def emit_eobrun() -> None:
        run = state["eobrun"]
        if run > 0:
            nbits = run.bit_length() - 1
            events.append((state["slot"], nbits << 4, run & ((1 << nbits) - 1), nbits))
            state["eobrun"] = 0
            events.extend((-1, 0, b, 1) for b in state["be"])
            state["be"] = []

    for i in range(zz.shape[0]):
        if i and interval[i] != interval[i - 1]:
            emit_eobrun()
            restarts.append(len(events))
            last_dc.clear()
        block = [int(v) for v in zz[i]]
        c, dslot, aslot = int(block_comp[i]), int(dc_slot[i]), int(ac_slot[i])
        if not progressive:
            _sequential_block(block, c, dslot, aslot, last_dc, events)
        elif ss == 0 and ah == 0:
            temp = block[0] >> al
            size, extra = _bits(temp - last_dc.get(c, 0))
            last_dc[c] = temp
            events.append((dslot, size, extra, size))
        elif ss == 0:
            events.append((-1, 0, (block[0] >> al) & 1, 1))
        elif ah == 0:
            _ac_first_block(block, ss, se, al, aslot, state, events, emit_eobrun, max_eobrun)
        else:
            _ac_refine_block(block, ss, se, al, aslot, state, events, emit_eobrun, max_eobrun)
    emit_eobrun()
    return events, restarts


def _sequential_block(block, c, dslot, aslot, last_dc, events) -> None:
    size, extra = _bits(block[0] - last_dc.get(c, 0))
    last_dc[c] = block[0]
    events.append((dslot, size, extra, size))
    r = 0
    for k in range(1, 64):
        v = block[k]
        if v == 0:
            r += 1
            continue
        while r > 15:
            events.append((aslot, 0xF0, 0, 0))
            r -= 16
        size, extra = _bits(v)
        events.append((aslot, (r << 4) + size, extra, size))
        r = 0
    if r > 0:
        events.append((aslot, 0, 0, 0))


def _ac_first_block(block, ss, se, al, aslot, state, events, emit_eobrun, max_eobrun) -> None:
    r = 0
    for k in range(ss, se + 1):
        temp = block[k]
        if temp == 0:
            r += 1
            continue
        temp2 = temp
        if temp < 0:
            temp = -temp
            temp >>= al
            temp2 = ~temp
        else:
            temp >>= al
            temp2 = temp
        if temp == 0:
            r += 1
            continue
        if state["eobrun"] > 0:
            emit_eobrun()
        while r > 15:
            events.append((aslot, 0xF0, 0, 0))
            r -= 16
        nbits = temp.bit_length()
        events.append((aslot, (r << 4) + nbits, temp2 & ((1 << nbits) - 1), nbits))
        r = 0
    if r > 0:
        state["eobrun"] += 1
        if state["eobrun"] == max_eobrun:
            emit_eobrun()


def _ac_refine_block(block, ss, se, al, aslot, state, events, emit_eobrun, max_eobrun) -> None:
    absvalues = {}
    eob = 0
    for k in range(ss, se + 1):
        temp = abs(block[k]) >> al
        absvalues[k] = temp
        if temp == 1:
            eob = k
    r = 0
    br: list[int] = []
    for k in range(ss, se + 1):
        temp = absvalues[k]
        if temp == 0:
            r += 1
            continue
        while r > 15 and k <= eob:
            emit_eobrun()
            events.append((aslot, 0xF0, 0, 0))
            r -= 16
            events.extend((-1, 0, b, 1) for b in br)
            br = []
        if temp > 1:
            br.append(temp & 1)
            continue
        emit_eobrun()
        events.append((aslot, (r << 4) + 1, 0 if block[k] < 0 else 1, 1))
        events.extend((-1, 0, b, 1) for b in br)
        br = []
        r = 0
    if r > 0 or br:
        state["eobrun"] += 1
        state["be"].extend(br)
        if state["eobrun"] == max_eobrun or len(state["be"]) > MAX_CORR_BITS - 64 + 1:
            emit_eobrun()


def reference_optimal_table(freqs: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """libjpeg's jpeg_gen_optimal_table, line by line: (bits[1..16], huffval)."""
    freq = [int(f) for f in freqs] + [1]
    codesize = [0] * 257
    others = [-1] * 257
    while True:
        c1, v = -1, 1_000_000_000_000
        for i in range(257):
            if freq[i] and freq[i] <= v:
                v, c1 = freq[i], i
        c2, v = -1, 1_000_000_000_000
        for i in range(257):
            if freq[i] and freq[i] <= v and i != c1:
                v, c2 = freq[i], i
        if c2 < 0:
            break
        freq[c1] += freq[c2]
        freq[c2] = 0
        codesize[c1] += 1
        while others[c1] >= 0:
            c1 = others[c1]
            codesize[c1] += 1
        others[c1] = c2
        codesize[c2] += 1
        while others[c2] >= 0:
            c2 = others[c2]
            codesize[c2] += 1
    max_len = max(max(codesize), 16)
    bits = [0] * (max_len + 1)
    for i in range(257):
        if codesize[i]:
            bits[codesize[i]] += 1
    for i in range(max_len, 16, -1):
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
    i = 16
    while bits[i] == 0:
        i -= 1
    bits[i] -= 1
    values = [j for size in range(1, max_len + 1) for j in range(256) if codesize[j] == size]
    return tuple(bits[1:17]), tuple(values)
