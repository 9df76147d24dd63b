"""The end-of-run summary of a batch: counts, throughput, bytes saved, failures."""

from __future__ import annotations

from hybrid.batch.pipeline import BatchReport


def human_bytes(count: float) -> str:
    """``count`` bytes in decimal units: ``512 B``, ``12.3 kB``, ``4.56 GB``; signed."""
    sign = "-" if count < 0 else ""
    value = abs(float(count))
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def summary_line(report: BatchReport) -> str:
    """One line: ``N ok, M failed, K skipped (done before); X images/s, Y MP/s on W workers
    (device) ...; bytes saved S (in -> out)`` (a decode: only ``in -> out``)."""
    parts = [f"{report.ok} ok", f"{report.failed} failed"]
    if report.skipped:
        parts.append(f"{report.skipped} skipped (done before)")
    line = ", ".join(parts)
    if report.ok and report.seconds > 0:
        rate = report.ok / report.seconds
        megapixels = report.pixels / 1e6 / report.seconds
        line += f"; {rate:.2f} images/s, {megapixels:.2f} MP/s"
        if report.placement is not None:
            p = report.placement
            line += f" on {p.workers} worker{'s' if p.workers != 1 else ''} ({p.device})"
        line += f" in {report.seconds:.1f} s (+{report.startup_seconds:.1f} s start-up)"
    if report.ok:
        sizes = f"{human_bytes(report.bytes_in)} -> {human_bytes(report.bytes_out)}"
        if report.job == "decode":
            line += f"; {sizes}"
        else:
            line += f"; bytes saved {human_bytes(report.bytes_in - report.bytes_out)} ({sizes})"
    if report.temps_removed:
        line += f"; {report.temps_removed} temp files of a killed run removed"
    if report.interrupted:
        line += "; interrupted (run again to resume: finished images are skipped)"
    return line


__all__ = ["human_bytes", "summary_line"]
