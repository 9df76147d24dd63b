"""``hybrid info``: what a JPEG's headers say (:func:`hybrid.api.info`), and its content
class: the one its hybrid record names and the classifier's guess (issue 18)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import click

from hybrid.cli.files import file_message
from hybrid.cli.messages import error
from hybrid.cli.options import inputs_argument
from hybrid.cli.stdio import is_stdio, label, source
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS, read_bytes


def content_report(data: bytes, header: Any) -> dict[str, Any]:
    """What ``hybrid info`` says about a file's content: the class its hybrid record names
    (``recorded``, None when none), and the classifier's guess (``guess``: label and
    screen probability) or why there is none (``guess_error``). The guess decodes the image
    (:func:`hybrid.enhance.jpeg_input.load_planes`); files over the default pixel limit are
    not decoded."""
    meta = header.hybrid_metadata
    report: dict[str, Any] = {"recorded": meta.content if meta is not None else None}
    if header.width * header.height > DEFAULT_MAX_PIXELS:
        report["guess_error"] = f"over {DEFAULT_MAX_PIXELS} pixels, not decoded"
        return report
    try:
        from hybrid.enhance.content import classify_content
        from hybrid.enhance.jpeg_input import load_planes

        with warnings.catch_warnings():  # damage is the decode's to report, not info's
            warnings.simplefilter("ignore")
            guess = classify_content(load_planes(data, info=header))
    except InputError as exc:
        report["guess_error"] = str(exc)
        return report
    report["guess"] = {
        "label": guess.label,
        "screen_probability": round(float(guess.screen_probability), 4),
    }
    return report


def content_line(report: dict[str, Any]) -> str:
    """``content_report`` as one line of ``hybrid info``'s text."""
    recorded = report["recorded"] or "not recorded"
    guess = report.get("guess")
    if guess is None:
        said = f"none ({report.get('guess_error')})"
    else:
        p = guess["screen_probability"]
        said = f"{guess['label']} (p(screen)={p:.2f})"
    return f"  content: {recorded}; classifier: {said}"


def _describe(path: Path, header: Any) -> list[str]:
    comps = ", ".join(
        f"#{c.ident} {c.h_samp}x{c.v_samp} q{c.quant_index}" for c in header.components
    )
    lines = [
        f"{label(path)}: {header.width}x{header.height} JPEG, {header.process} "
        f"(SOF{header.sof_marker - 0xC0}"
        f"{', arithmetic' if header.arithmetic else ''}), {header.precision}-bit, "
        f"{header.color_space}, {header.subsampling}",
        f"  components: {comps}",
    ]
    if header.estimated_quality is not None:
        exact = "exact IJG table" if header.quality_exact else "approximate"
        lines.append(f"  estimated quality: {header.estimated_quality:g} ({exact})")
    lines.append(f"  scans: {header.num_scans}, restart interval: {header.restart_interval}")
    segs = ", ".join(f"{s.name}{' ' + s.label if s.label else ''}" for s in header.segments)
    lines.append(f"  segments: {segs or 'none'}")
    meta = header.hybrid_metadata
    if meta is not None:
        lines.append(
            f"  hybrid: mode {meta.mode}, original {meta.original_width}x"
            f"{meta.original_height}, scale {meta.scale:g}, model {meta.model_id or '-'}"
            + ("" if meta.strength is None else f", strength {meta.strength:.3f}")
        )
    for index, table in sorted(header.quant_tables.items()):
        lines.append(f"  quantization table {index} ({header.quant_precision[index]}-bit):")
        lines.extend("    " + " ".join(f"{v:3d}" for v in row) for row in table.tolist())
    lines.append(f"  file size: {header.file_size} bytes")
    if header.unsupported_reason:
        lines.append(f"  note: {header.unsupported_reason}")
    return lines


@click.command()
@inputs_argument
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(inputs: tuple[Path, ...], as_json: bool) -> int:
    """Show what a JPEG's headers say: size, sampling, tables, quality, hybrid metadata;
    and its content class: recorded, and the classifier's guess (which decodes the image).

    INPUTS are JPEG files, or - for standard input (as the only input).
    """
    from hybrid.api import info as api_info

    if len(inputs) > 1 and any(is_stdio(p) for p in inputs):
        raise InputError("- (standard input) must be the only input")
    records: list[dict[str, Any]] = []
    failed = 0
    for path in inputs:
        try:
            data = read_bytes(source(path))
            header = api_info(data)
        except InputError as exc:
            if len(inputs) == 1:
                raise InputError(file_message(path, path, exc)) from None
            error(f"{path}: {exc}")
            failed += 1
            continue
        content = content_report(data, header)
        if as_json:
            records.append({"file": label(path), **header.to_dict(), "content": content})
        else:
            click.echo("\n".join([*_describe(path, header), content_line(content)]))
    if as_json:
        click.echo(json.dumps(records[0] if len(inputs) == 1 else records, indent=2))
    return 2 if failed else 0
