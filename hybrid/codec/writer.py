"""Frame -> standard JPEG bytes: markers, Huffman tables and scans in libjpeg's order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybrid.codec import markers as M
from hybrid.codec.frame import Frame, ScanSpec
from hybrid.codec.huffman import HuffmanTable, optimal_table, standard_tables
from hybrid.codec.scans import (
    MAX_COMPS_IN_SCAN,
    ScanBlocks,
    default_progressive_script,
    encode_symbols,
    scan_symbols,
    search_scripts,
    sequential_script,
    table_number,
    validate_script,
)
from hybrid.errors import InputError

#: Table slot (0, 1 DC; 2, 3 AC) -> the Annex K table for it.
_STANDARD_SLOTS = ("dc_luma", "dc_chroma", "ac_luma", "ac_chroma")


def write_jpeg(
    frame: Frame,
    *,
    progressive: bool = False,
    scan_script: Sequence[ScanSpec] | None = None,
    optimize_huffman: bool = True,
    restart_interval: int = 0,
    app_segments: Sequence[tuple[int, bytes]] = (),
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    comment: bytes | None = None,
    density: tuple[int, int, int] = (0, 1, 1),
    optimize_scans: bool = False,
    xmp: bytes | None = None,
) -> bytes:
    """Encode a frame's quantized coefficients as a JPEG file.

    Output: SOI, APP0 JFIF (1 or 3 components), APP1 Exif, APP2 ICC, APP1 XMP, other APPn, COM, DQT,
    SOFn, then per scan DHT (tables not yet sent), DRI (before the first scan), SOS and the
    entropy-coded data; EOI. SOF0 is used for baseline with 8-bit tables, SOF1 when a table
    needs 16-bit entries, SOF2 for progressive.

    Args:
        frame: what to write; coefficients as described in :class:`~hybrid.codec.frame.Frame`.
        progressive: progressive (SOF2) instead of sequential.
        scan_script: scans to write; default: one interleaved scan (sequential) or libjpeg's
            ``jpeg_simple_progression`` script (progressive). Checked by ``validate_script``.
        optimize_huffman: optimal tables per scan (two passes, as libjpeg's
            ``optimize_coding``); else the Annex K tables, with which progressive scans use
            plain EOB codes since those tables have no EOBn symbols.
        restart_interval: MCUs per restart interval, 0 for none.
        app_segments: (n, payload) APPn segments written after Exif and ICC.
        icc_profile, exif, comment: optional metadata.
        xmp: an XMP packet (XML bytes) for an APP1 XMP segment, or None.
        density: JFIF (units, x_density, y_density); units 0 = aspect ratio, 1 = dpi, 2 = dpcm.
        optimize_scans: progressive without ``scan_script`` only: write the frame with each
            script of :func:`~hybrid.codec.scans.search_scripts` and return the smallest file.

    Raises:
        InputError: a frame, script or option that cannot be written.
    """
    _check_frame(frame)
    if not isinstance(restart_interval, (int, np.integer)) or not 0 <= restart_interval <= 65535:
        raise InputError(f"restart_interval must be 0..65535, got {restart_interval!r}")
    n_comp = len(frame.components)
    if optimize_scans and progressive and scan_script is None:
        candidates = (
            write_jpeg(
                frame,
                progressive=True,
                scan_script=script,
                optimize_huffman=optimize_huffman,
                restart_interval=restart_interval,
                app_segments=app_segments,
                icc_profile=icc_profile,
                exif=exif,
                comment=comment,
                density=density,
                xmp=xmp,
            )
            for script in search_scripts(n_comp)
        )
        return min(candidates, key=len)
    if scan_script is None:
        scan_script = (
            default_progressive_script(n_comp) if progressive else sequential_script(n_comp)
        )
    script = validate_script(scan_script, frame, progressive=progressive)

    out = [M.SOI]
    if n_comp in (1, 3):
        out.append(M.jfif_segment(*density))
    if exif is not None:
        out.append(M.exif_segment(exif))
    if icc_profile is not None:
        out.extend(M.icc_segments(icc_profile))
    if xmp is not None:
        out.append(M.xmp_segment(xmp))
    out.extend(M.app_segment(n, payload) for n, payload in app_segments)
    if comment is not None:
        out.append(M.comment_segment(comment))
    used = sorted({c.quant_index for c in frame.components})
    quant = {i: np.asarray(frame.quant_tables[i]) for i in used}
    out.append(M.dqt_segment(quant))
    wide = any(int(q.max()) > 255 for q in quant.values())
    sof = M.SOF2 if progressive else (M.SOF1 if wide else M.SOF0)
    comps = [(c.ident, c.h_samp, c.v_samp, c.quant_index) for c in frame.components]
    out.append(M.sof_segment(sof, frame.width, frame.height, comps))

    blocks = ScanBlocks(frame, int(restart_interval))
    standard = standard_tables()
    sent: dict[int, HuffmanTable] = {}
    for number, scan in enumerate(script):
        symbols = scan_symbols(blocks, scan, progressive=progressive, eob_runs=optimize_huffman)
        slots = _scan_slots(scan)
        if optimize_huffman:
            counts = symbols.counts()
            tables = {s: optimal_table(counts[s]) for s in slots}
        else:
            tables = {s: standard[_STANDARD_SLOTS[s]] for s in slots}
        new = [s for s in slots if sent.get(s) != tables[s]]
        if new:
            out.append(M.dht_segment([(s // 2, s % 2, tables[s]) for s in new]))
            sent.update((s, tables[s]) for s in new)
        if number == 0 and restart_interval:
            out.append(M.dri_segment(int(restart_interval)))
        selectors = _sos_components(frame, scan, progressive)
        out.append(M.sos_segment(selectors, scan.ss, scan.se, scan.ah, scan.al))
        out.append(encode_symbols(symbols, tables))
    out.append(M.EOI)
    return b"".join(out)


def _scan_slots(scan: ScanSpec) -> list[int]:
    """Huffman table slots a scan codes with (0, 1 DC; 2, 3 AC)."""
    numbers = sorted({table_number(c) for c in scan.component_indices})
    slots = []
    if scan.ss == 0 and scan.ah == 0:
        slots += numbers
    if scan.se > 0:
        slots += [2 + n for n in numbers]
    return slots


def _sos_components(frame: Frame, scan: ScanSpec, progressive: bool) -> list[tuple[int, int, int]]:
    """(ident, Td, Ta) per scan component; unused selectors are 0, as libjpeg writes them."""
    result = []
    for ci in scan.component_indices:
        td = ta = table_number(ci)
        if progressive:
            if scan.ss == 0:
                ta = 0
                if scan.ah:
                    td = 0
            else:
                td = 0
        result.append((frame.components[ci].ident, td, ta))
    return result


def _check_frame(frame: Frame) -> None:
    """Raise InputError for a frame that no JPEG can hold."""
    if not (1 <= frame.width <= 65535 and 1 <= frame.height <= 65535):
        raise InputError(f"image size must be 1..65535 each way, got {frame.width}x{frame.height}")
    if not 1 <= len(frame.components) <= MAX_COMPS_IN_SCAN:
        raise InputError(f"a frame needs 1..4 components, got {len(frame.components)}")
    idents = [c.ident for c in frame.components]
    if len(set(idents)) != len(idents) or not all(0 <= i <= 255 for i in idents):
        raise InputError(f"component identifiers must be distinct 0..255, got {idents}")
    for i, c in enumerate(frame.components):
        if not (1 <= c.h_samp <= 4 and 1 <= c.v_samp <= 4):
            raise InputError(f"component {i}: sampling factors must be 1..4")
        if c.quant_index not in frame.quant_tables:
            raise InputError(f"component {i}: quantization table {c.quant_index} is missing")
        if not np.issubdtype(np.asarray(c.coeffs).dtype, np.integer):
            raise InputError(f"component {i}: coefficients must be integers")
