"""Huffman tables: T.81 Annex C code generation and Annex K.2 optimal tables.

A table is stored as it appears in a DHT segment (``bits``, ``values``); the code and
code-length lookup arrays used by the scan encoder are derived from it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from hybrid.codec import tables as T
from hybrid.errors import EncodeError, InputError

#: Longest code length a JPEG Huffman table may hold (T.81 C.2).
MAX_CODE_LENGTH = 16


@dataclass(frozen=True)
class HuffmanTable:
    """One Huffman table as written in a DHT segment (T.81 B.2.4.2).

    Attributes:
        bits: 16 counts; ``bits[i]`` is the number of codes of length ``i + 1``.
        values: the symbols (0..255) in order of increasing code length.
        codes: uint32 array (256,), the code of each symbol (derived, T.81 Annex C).
        lengths: uint8 array (256,), the code length of each symbol, 0 where the symbol has no
            code (derived).
    """

    bits: tuple[int, ...]
    values: tuple[int, ...]
    codes: np.ndarray = field(init=False, repr=False, compare=False)
    lengths: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bits = tuple(int(b) for b in self.bits)
        values = tuple(int(v) for v in self.values)
        if len(bits) != MAX_CODE_LENGTH or min(bits) < 0:
            raise InputError("a Huffman table needs 16 non-negative code-length counts")
        if sum(bits) != len(values) or not 0 < len(values) <= 256:
            raise InputError(
                f"Huffman table: the counts add up to {sum(bits)} but there are "
                f"{len(values)} values (1..256 expected)"
            )
        if min(values) < 0 or max(values) > 255 or len(set(values)) != len(values):
            raise InputError("Huffman table values must be distinct integers in 0..255")
        codes = np.zeros(256, dtype=np.uint32)
        lengths = np.zeros(256, dtype=np.uint8)
        # Annex C, Figures C.1-C.3: consecutive codes per length, doubling at each new length.
        code = 0
        k = 0
        for length, count in enumerate(bits, start=1):
            for _ in range(count):
                codes[values[k]] = code
                lengths[values[k]] = length
                code += 1
                k += 1
            # Same check as libjpeg's jpeg_make_c_derived_tbl.
            if code > (1 << length):
                raise InputError("Huffman table counts overflow the code space")
            code <<= 1
        object.__setattr__(self, "bits", bits)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "lengths", lengths)


def standard_tables() -> dict[str, HuffmanTable]:
    """The T.81 Annex K.3 typical tables, keyed ``dc_luma``, ``dc_chroma``, ``ac_luma``,
    ``ac_chroma``."""
    return {
        "dc_luma": HuffmanTable(T.STD_DC_LUMA_BITS, T.STD_DC_LUMA_VALS),
        "dc_chroma": HuffmanTable(T.STD_DC_CHROMA_BITS, T.STD_DC_CHROMA_VALS),
        "ac_luma": HuffmanTable(T.STD_AC_LUMA_BITS, T.STD_AC_LUMA_VALS),
        "ac_chroma": HuffmanTable(T.STD_AC_CHROMA_BITS, T.STD_AC_CHROMA_VALS),
    }


def optimal_table(freqs: np.ndarray) -> HuffmanTable:
    """The optimal table for symbol counts, exactly as libjpeg's ``jpeg_gen_optimal_table``.

    T.81 Annex K.2: Figure K.1 (code sizes, with a reserved pseudo-symbol 256 so that no
    real code is all ones), K.2 (count codes per size), K.3 (limit to 16 bits), K.4 (sort
    values by code size, then symbol). Ties pick the symbol libjpeg picks (the highest index
    among the smallest counts), so the result is identical to libjpeg's.

    Args:
        freqs: integer array (256,), how often each symbol occurs; at least one non-zero.

    Returns:
        The table holding a code for every symbol with a non-zero count.
    """
    freqs = np.asarray(freqs)
    if freqs.shape != (256,):
        raise EncodeError(f"optimal_table needs 256 counts, got shape {freqs.shape}")
    used = np.flatnonzero(freqs)
    if used.size == 0:
        raise EncodeError("optimal_table: no symbol has a non-zero count")
    # Figure K.1 with a heap: libjpeg takes the smallest count, ties to the highest index,
    # twice, and merges the second into the first (the first keeps its index).
    heap = [(int(freqs[i]), -int(i)) for i in used] + [(1, -256)]
    heapq.heapify(heap)
    codesize = np.zeros(257, dtype=np.int64)
    others = np.full(257, -1, dtype=np.int64)
    while len(heap) > 1:
        f1, c1 = heapq.heappop(heap)
        f2, c2 = heapq.heappop(heap)
        c1, c2 = -c1, -c2
        heapq.heappush(heap, (f1 + f2, -c1))
        codesize[c1] += 1
        while others[c1] >= 0:
            c1 = others[c1]
            codesize[c1] += 1
        others[c1] = c2
        codesize[c2] += 1
        while others[c2] >= 0:
            c2 = others[c2]
            codesize[c2] += 1
    # Figure K.2.
    max_size = max(int(codesize.max()), MAX_CODE_LENGTH)
    bits = np.bincount(codesize[codesize > 0], minlength=max_size + 1).astype(np.int64)
    # Figure K.3: move codes longer than 16 bits up, one pair at a time.
    for i in range(max_size, MAX_CODE_LENGTH, -1):
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
    # Drop the reserved symbol 256, which has the longest code.
    i = MAX_CODE_LENGTH
    while bits[i] == 0:
        i -= 1
    bits[i] -= 1
    # Figure K.4: values by code size, then by symbol (lexsort: last key is primary).
    real = codesize[:256]
    symbols = np.flatnonzero(real)
    values = symbols[np.lexsort((symbols, real[symbols]))]
    return HuffmanTable(tuple(int(b) for b in bits[1 : MAX_CODE_LENGTH + 1]), tuple(values))
