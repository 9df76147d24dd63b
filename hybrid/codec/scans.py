"""Scans: scripts, block order, and the entropy-coded data of each scan.

A scan is described by a :class:`~hybrid.codec.frame.ScanSpec`. This module checks scripts
(T.81 G.1.1.1.1, libjpeg's ``validate_script``), gives libjpeg's default progressive script,
puts a scan's blocks in coding order (T.81 A.2.2 non-interleaved, A.2.3 interleaved), and
turns them into Huffman-coded bytes with restart markers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hybrid.codec.bitstream import pack_bits
from hybrid.codec.frame import Component, Frame, ScanSpec
from hybrid.codec.huffman import HuffmanTable
from hybrid.codec.symbols import (
    MAX_EOBRUN,
    Symbols,
    ac_refine_symbols,
    dc_refine_symbols,
    first_scan_symbols,
)
from hybrid.codec.tables import ZIGZAG
from hybrid.errors import EncodeError, InputError

#: T.81 B.2.3: at most 4 components per scan and 10 blocks per MCU.
MAX_COMPS_IN_SCAN = 4
MAX_BLOCKS_IN_MCU = 10
#: T.81 B.2.3: Ah and Al are 0..13.
MAX_AH_AL = 13


def table_number(component_index: int) -> int:
    """Huffman table number of a component: 0 for luma (the first), 1 for the others."""
    return 0 if component_index == 0 else 1


def sequential_script(n_components: int) -> tuple[ScanSpec, ...]:
    """One interleaved baseline scan of all components."""
    return (ScanSpec(tuple(range(n_components)), 0, 63, 0, 0),)


def default_progressive_script(n_components: int) -> tuple[ScanSpec, ...]:
    """libjpeg's ``jpeg_simple_progression`` script (jcparam.c).

    Three components are taken as YCbCr and get libjpeg's 10-scan YCbCr script; any other
    count gets its all-purpose script (2 DC scans, then 4 AC scans per component).
    """
    if not 1 <= n_components <= MAX_COMPS_IN_SCAN:
        raise InputError(f"a progressive script needs 1..4 components, got {n_components}")
    everyone = tuple(range(n_components))
    if n_components == 3:
        return (
            ScanSpec(everyone, 0, 0, 0, 1),
            ScanSpec((0,), 1, 5, 0, 2),
            ScanSpec((2,), 1, 63, 0, 1),
            ScanSpec((1,), 1, 63, 0, 1),
            ScanSpec((0,), 6, 63, 0, 2),
            ScanSpec((0,), 1, 63, 2, 1),
            ScanSpec(everyone, 0, 0, 1, 0),
            ScanSpec((2,), 1, 63, 1, 0),
            ScanSpec((1,), 1, 63, 1, 0),
            ScanSpec((0,), 1, 63, 1, 0),
        )

    def each(ss: int, se: int, ah: int, al: int) -> tuple[ScanSpec, ...]:
        return tuple(ScanSpec((c,), ss, se, ah, al) for c in everyone)

    return (
        (ScanSpec(everyone, 0, 0, 0, 1),)
        + each(1, 5, 0, 2)
        + each(6, 63, 0, 2)
        + each(1, 63, 2, 1)
        + (ScanSpec(everyone, 0, 0, 1, 0),)
        + each(1, 63, 1, 0)
    )


def search_scripts(n_components: int) -> tuple[tuple[ScanSpec, ...], ...]:
    """Candidate progressive scripts for a scan search (``optimize_scans``): keep the smallest.

    Unlike libjpeg's default script, each codes luma DC in a scan of its own (raster block
    order predicts DC better than 4:2:0's MCU order: 1.3 % smaller files than one interleaved
    DC scan) and spends few scans, since every scan costs a header and its Huffman tables.
    For YCbCr:

    1. spectral selection only: Y DC; Cb+Cr DC; Y, Cb, Cr AC 1..63 (5 scans);
    2. successive approximation: as 1 with AC sent as high bits (Y al=2, chroma al=1) and
       then refined (9 scans).

    On train crops of ../shared/data (4:2:0, PSNR tables, trellis, q 1..95) the smaller of
    the two is on average within 0.4 % of the best of nine scripts tried; libjpeg's default
    script, among them, is 12 % above the best on average and 32 % at the lowest rates, where
    these 0.15 MP files are a few kilobytes.

    Other component counts: each component's DC, then its AC 1..63; and that with the AC
    split by successive approximation (al=1).
    """
    if not 1 <= n_components <= MAX_COMPS_IN_SCAN:
        raise InputError(f"a progressive script needs 1..4 components, got {n_components}")
    if n_components == 3:
        ycc_dc = (ScanSpec((0,), 0, 0, 0, 0), ScanSpec((1, 2), 0, 0, 0, 0))
        return (
            ycc_dc + tuple(ScanSpec((c,), 1, 63, 0, 0) for c in range(3)),
            ycc_dc
            + (
                ScanSpec((0,), 1, 63, 0, 2),
                ScanSpec((1,), 1, 63, 0, 1),
                ScanSpec((2,), 1, 63, 0, 1),
                ScanSpec((0,), 1, 63, 2, 1),
                ScanSpec((0,), 1, 63, 1, 0),
                ScanSpec((1,), 1, 63, 1, 0),
                ScanSpec((2,), 1, 63, 1, 0),
            ),
        )
    comps = range(n_components)
    dc = tuple(ScanSpec((c,), 0, 0, 0, 0) for c in comps)
    return (
        dc + tuple(ScanSpec((c,), 1, 63, 0, 0) for c in comps),
        dc
        + tuple(ScanSpec((c,), 1, 63, 0, 1) for c in comps)
        + tuple(ScanSpec((c,), 1, 63, 1, 0) for c in comps),
    )


def validate_script(
    script: Sequence[ScanSpec], frame: Frame, *, progressive: bool
) -> tuple[ScanSpec, ...]:
    """Check a scan script against a frame; return it as a tuple.

    Sequential scripts code every component exactly once with ss=0, se=63, ah=al=0.
    Progressive scripts follow T.81 G.1.1.1.1 (as libjpeg checks them) and must send every
    bit of every coefficient, so that the file holds the frame's coefficients exactly.

    Raises:
        InputError: with the number of the first bad scan and what is wrong with it.
    """
    script = tuple(script)
    n_comp = len(frame.components)
    if not script:
        raise InputError("the scan script is empty")
    sent = np.full((n_comp, 64), -1)  # lowest bit sent so far, -1 = nothing yet
    for number, scan in enumerate(script, start=1):

        def bad(why: str, number: int = number) -> InputError:
            return InputError(f"scan script: scan {number}: {why}")

        if not isinstance(scan, ScanSpec):
            raise bad(f"expected a ScanSpec, got {type(scan).__name__}")
        comps = tuple(scan.component_indices)
        if not 1 <= len(comps) <= MAX_COMPS_IN_SCAN:
            raise bad(f"needs 1..{MAX_COMPS_IN_SCAN} components, got {len(comps)}")
        if any(not 0 <= c < n_comp for c in comps):
            raise bad(f"component indices must be 0..{n_comp - 1}, got {comps}")
        if any(b <= a for a, b in zip(comps, comps[1:], strict=False)):
            raise bad(f"component indices must increase (frame order), got {comps}")
        if len(comps) > 1:
            blocks = sum(frame.components[c].h_samp * frame.components[c].v_samp for c in comps)
            if blocks > MAX_BLOCKS_IN_MCU:
                raise bad(f"an interleaved MCU would hold {blocks} blocks (at most 10)")
        ss, se, ah, al = scan.ss, scan.se, scan.ah, scan.al
        if not progressive:
            if (ss, se, ah, al) != (0, 63, 0, 0):
                raise bad("a sequential scan must have ss=0, se=63, ah=al=0")
            if np.any(sent[list(comps), 0] >= 0):
                raise bad("a component is coded twice")
            sent[list(comps)] = 0
            continue
        if not (0 <= ss <= se <= 63 and 0 <= ah <= MAX_AH_AL and 0 <= al <= MAX_AH_AL):
            raise bad(f"needs 0 <= ss <= se <= 63 and ah, al in 0..13; got {scan}")
        if ss == 0 and se != 0:
            raise bad("a DC scan (ss=0) must have se=0")
        if ss > 0 and len(comps) != 1:
            raise bad("an AC scan (ss>0) codes exactly one component")
        for c in comps:
            if ss > 0 and sent[c, 0] < 0:
                raise bad(f"AC scan of component {c} before its first DC scan")
            prior = sent[c, ss : se + 1]
            if ah == 0:
                if np.any(prior >= 0):
                    raise bad(f"coefficients {ss}..{se} of component {c} were already sent")
            elif np.any(prior != ah) or al != ah - 1:
                raise bad(
                    f"refinement ah={ah}, al={al} of component {c} does not follow the "
                    "previous scan of these coefficients (needs ah = previous al, al = ah - 1)"
                )
            sent[c, ss : se + 1] = al
    for unsent, how in ((sent < 0, "never sent"), (sent > 0, "sent only down to bit {}")):
        if unsent.any():
            c, k = np.argwhere(unsent)[0]
            raise InputError(
                f"scan script: coefficient {k} of component {c} is {how.format(sent[c, k])}"
            )
    return script


def component_blocks(frame: Frame, index: int, rows: int, cols: int) -> np.ndarray:
    """Blocks of component ``index`` as an int32 array (rows, cols, 64) in zig-zag order.

    The component's coefficients are cropped to ``rows`` x ``cols`` blocks or, where the
    array is smaller (it may hold only the ceil(size / 8) blocks of the image), padded with
    dummy blocks as libjpeg pads MCUs (jccoefct.c): AC zero, DC equal to the previous block
    in coding order, so that every dummy DC difference is 0.
    """
    comp: Component = frame.components[index]
    coeffs = np.asarray(comp.coeffs)
    if coeffs.ndim != 4 or coeffs.shape[2:] != (8, 8):
        raise InputError(
            f"component {index}: coeffs must be (rows, cols, 8, 8), got {coeffs.shape}"
        )
    h, w = frame.component_size(comp)
    need = (-(-h // 8), -(-w // 8))
    if coeffs.shape[0] < need[0] or coeffs.shape[1] < need[1]:
        raise InputError(
            f"component {index}: coeffs hold {coeffs.shape[:2]} blocks, the image needs {need}"
        )
    have = coeffs[:rows, :cols]
    zz = have.reshape(have.shape[0], have.shape[1], 64)[..., ZIGZAG].astype(np.int32)
    # T.81 F.1.2: 8-bit precision codes AC magnitudes up to 10 bits, DC up to 11 bits.
    if zz.size and (np.abs(zz[..., 1:]).max() > 1023 or np.abs(zz[..., 0]).max() > 2047):
        raise InputError(
            f"component {index}: coefficients out of range for 8-bit JPEG "
            "(|AC| must be <= 1023, |DC| <= 2047)"
        )
    pad_rows, pad_cols = rows - zz.shape[0], cols - zz.shape[1]
    if pad_rows or pad_cols:
        # Right edge: the row's last DC. Bottom rows: per MCU, the DC of the last block of
        # the row above within that MCU (the block coded just before them).
        dc = np.pad(zz[..., 0], ((0, 0), (0, pad_cols)), mode="edge")
        group = comp.h_samp if cols % comp.h_samp == 0 else 1
        below = np.repeat(dc[-1].reshape(-1, group)[:, -1], group)
        dc = np.concatenate((dc, np.broadcast_to(below, (pad_rows, cols))))
        zz = np.pad(zz, ((0, pad_rows), (0, pad_cols), (0, 0)))
        zz[..., 0] = dc
    return zz


class ScanBlocks:
    """Caches each component's zig-zag blocks and orders them for scans (T.81 A.2)."""

    def __init__(self, frame: Frame, restart_interval: int = 0) -> None:
        self.frame = frame
        self.restart_interval = restart_interval
        self._grids: dict[int, np.ndarray] = {}

    def _grid(self, index: int) -> np.ndarray:
        """The component's blocks on the interleaved MCU grid, int32 (rows, cols, 64)."""
        if index not in self._grids:
            f, c = self.frame, self.frame.components[index]
            if len(f.components) == 1:
                h, w = f.component_size(c)
                rows, cols = -(-h // 8), -(-w // 8)
            else:
                rows, cols = f.mcus_y * c.v_samp, f.mcus_x * c.h_samp
            self._grids[index] = component_blocks(f, index, rows, cols)
        return self._grids[index]

    def order(self, comps: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Blocks of a scan over ``comps`` in coding order.

        Returns:
            zz: int32 (n, 64) zig-zag coefficients; block_comp: int64 (n,) component index
            of each block; interval: int64 (n,) restart interval number of each block.
        """
        f = self.frame
        if len(comps) == 1:
            # Non-interleaved (A.2.2): the component's own ceil(size / 8) blocks, raster order.
            h, w = f.component_size(f.components[comps[0]])
            zz = self._grid(comps[0])[: -(-h // 8), : -(-w // 8)].reshape(-1, 64)
            mcu = np.arange(zz.shape[0])
            block_comp = np.full(zz.shape[0], comps[0], np.int64)
        else:
            # Interleaved (A.2.3): per MCU, each component's v x h blocks in raster order.
            parts, owners = [], []
            for ci in comps:
                c = f.components[ci]
                g = self._grid(ci).reshape(f.mcus_y, c.v_samp, f.mcus_x, c.h_samp, 64)
                parts.append(g.transpose(0, 2, 1, 3, 4).reshape(f.mcus_y * f.mcus_x, -1, 64))
                owners.append(np.full(c.v_samp * c.h_samp, ci, np.int64))
            zz = np.concatenate(parts, axis=1)
            per_mcu = zz.shape[1]
            zz = zz.reshape(-1, 64)
            mcu = np.arange(zz.shape[0]) // per_mcu
            block_comp = np.tile(np.concatenate(owners), f.mcus_y * f.mcus_x)
        ri = self.restart_interval
        interval = mcu // ri if ri else np.zeros_like(mcu)
        return zz, block_comp, interval


def scan_symbols(
    blocks: ScanBlocks, scan: ScanSpec, *, progressive: bool, eob_runs: bool = True
) -> Symbols:
    """The Huffman symbols of one scan.

    Args:
        blocks: the frame's blocks.
        scan: a scan of a validated script.
        progressive: whether the frame is progressive (SOF2).
        eob_runs: allow EOBn runs (needs tables with EOBn symbols; the Annex K tables have
            only EOB0, so pass False with them).
    """
    zz, block_comp, interval = blocks.order(tuple(scan.component_indices))
    tables = np.array([table_number(c) for c in range(len(blocks.frame.components))])
    dc_slot = tables[block_comp]
    ac_slot = 2 + dc_slot
    max_run = MAX_EOBRUN if (progressive and eob_runs) else 1
    if scan.ah == 0:
        return first_scan_symbols(
            zz,
            block_comp,
            dc_slot,
            ac_slot,
            interval,
            ss=scan.ss,
            se=scan.se,
            al=scan.al,
            max_eobrun=max_run,
        )
    if scan.ss == 0:
        return dc_refine_symbols(zz, interval, al=scan.al)
    return ac_refine_symbols(
        zz, ac_slot, interval, ss=scan.ss, se=scan.se, al=scan.al, max_eobrun=max_run
    )


def encode_symbols(symbols: Symbols, tables: Mapping[int, HuffmanTable]) -> bytes:
    """Huffman-code a symbol stream into the scan's entropy-coded bytes.

    Args:
        symbols: the scan's events.
        tables: table slot (0, 1 DC; 2, 3 AC) -> table, for every slot the scan uses.
    """
    codes = np.zeros((5, 256), np.uint64)  # row 4 (index -1): raw bits, no code
    lengths = np.zeros((5, 256), np.int64)
    for slot, table in tables.items():
        codes[slot] = table.codes
        lengths[slot] = table.lengths
    code = codes[symbols.table, symbols.symbol]
    length = lengths[symbols.table, symbols.symbol]
    missing = (length == 0) & (symbols.table >= 0)
    if missing.any():
        i = int(np.argmax(missing))
        raise EncodeError(
            f"symbol 0x{int(symbols.symbol[i]):02X} has no code in Huffman table slot "
            f"{int(symbols.table[i])}"
        )
    n_extra = symbols.n_extra.astype(np.uint64)
    value = (code << n_extra) | symbols.extra
    return pack_bits(value, length + symbols.n_extra, symbols.restart_starts)
