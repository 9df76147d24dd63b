"""``hybrid decode``: JPEG files to PNG (or --format), plain or enhanced, resized or not
(thin click layer over :func:`hybrid.api.decode` / :func:`hybrid.api.decode_array`); with
``-v``, one line per file saying which enhancement model ran and why."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from hybrid.cli.files import JPEG_SUFFIXES, plan_files, run_plan
from hybrid.cli.options import (
    decode_content_option,
    decode_options,
    inputs_argument,
    keep_orientation_option,
    max_pixels_option,
    max_scan_passes_option,
    output_option,
    pixel_limit,
    resized_decoder,
)
from hybrid.cli.stdio import check_output, is_stdio, label, source, write_output
from hybrid.enhance.backends import BACKENDS
from hybrid.enhance.choice import logger as choice_logger
from hybrid.enhance.precision import PRECISIONS
from hybrid.errors import InputError
from hybrid.io import read_bytes, read_metadata
from hybrid.outputs import OUTPUT_FORMATS, encode_image, png16


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def model_choice_lines(src: Any, verbose: bool) -> Iterator[None]:
    """With ``verbose``: after the body, each enhancement model choice it made as one line
    ``hybrid: FILE: enhanced with MODEL (why)`` on stderr. The logger's level is restored."""
    if not verbose:
        yield
        return
    handler = _Lines()
    level = choice_logger.level
    choice_logger.setLevel(logging.INFO)
    choice_logger.addHandler(handler)
    try:
        yield
    finally:
        choice_logger.removeHandler(handler)
        choice_logger.setLevel(level)
        for line in handler.lines:
            click.echo(f"hybrid: {label(src)}: {line}", err=True)


def _output_format(fmt: str | None, path: Path, batch: bool) -> tuple[str, dict[str, Any]]:
    if fmt is not None:
        return OUTPUT_FORMATS[fmt.lower()]
    if batch or is_stdio(path):
        return OUTPUT_FORMATS["png"]
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        raise InputError(
            f"{path}: cannot tell the output format from the name; use --format "
            f"({', '.join(sorted(OUTPUT_FORMATS))})"
        )
    return OUTPUT_FORMATS[suffix]


@click.command()
@inputs_argument
@output_option
@click.option("--enhance", is_flag=True, help="Decode with the enhancement network.")
@click.option("--model", help="Enhancement model id (default: the registry's default).")
@click.option("--weights", type=click.Path(path_type=Path), help="A weights file to use.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="CPU threads for enhancement; 1 also keeps the damage check on one thread.",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="auto",
    show_default=True,
    help="Arithmetic of the network (--enhance): auto = bf16 where the CPU (avx512_bf16, "
    "amx_bf16) or GPU computes it natively, else fp32. bf16: about 2.3x faster network on "
    "such a CPU, PSNR within 0.001 dB on average.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="torch",
    show_default=True,
    help="Engine of the network (--enhance): onnx runs the verified ONNX export in ONNX "
    "Runtime without torch (within 1e-4 of torch); onnx-int8 its int8 export, faster, a few "
    "hundredths of a dB lower. Needs the [onnx] extra and `hybrid export-onnx MODEL`.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(OUTPUT_FORMATS), case_sensitive=False),
    help="Output format (default: from -o's suffix; png in batch mode and for -o -). "
    "jpg re-encodes lossily at Pillow quality 95.",
)
@click.option(
    "--bits",
    type=click.Choice(["8", "16"]),
    default="8",
    show_default=True,
    help="Bits per sample of the output; 16 keeps the enhanced image's extra precision (PNG).",
)
@decode_content_option
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Say which enhancement model decoded each file and why (given, recorded in the "
    "file, or classified with its probability).",
)
@keep_orientation_option
@max_pixels_option
@max_scan_passes_option
@decode_options
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-r", "--recursive", is_flag=True, help="Descend into subdirectories.")
def decode(
    inputs: tuple[Path, ...],
    output: str,
    enhance: bool,
    model: str | None,
    weights: Path | None,
    device: str,
    threads: int | None,
    precision: str,
    backend: str,
    fmt: str | None,
    bits: str,
    content: str,
    verbose: bool,
    keep_orientation: bool,
    max_pixels: int,
    max_scan_passes: float,
    force: bool,
    recursive: bool,
    **resizing: Any,
) -> int:
    """Decode JPEG files to PNG (or --format), optionally enhanced.

    INPUTS are JPEG files, directories, or - for standard input.
    """
    from hybrid.api import decode as api_decode

    api_decode = resized_decoder(api_decode, resizing)  # --upscale, --scale, --sr-model

    limit = pixel_limit(max_pixels)

    suffix = "." + (fmt.lower() if fmt else "png")
    plan = plan_files(inputs, output, suffix, recursive, JPEG_SUFFIXES)

    decoding: dict[str, Any] = {
        "model": model,
        "weights": weights,
        "device": device,
        "threads": threads,
        "max_pixels": limit,
        "max_scan_passes": max_scan_passes or None,
        "precision": precision,
        "apply_orientation": not keep_orientation,
        "backend": backend,
        "content": content,
    }

    def work(src: Path, dst: Path) -> None:
        with model_choice_lines(src, verbose):
            decode_one(src, dst)

    def decode_one(src: Path, dst: Path) -> None:
        pil_format, options = _output_format(fmt, dst, plan.batch)
        if bits == "16" and pil_format != "PNG":
            raise InputError("--bits 16 writes PNG only; use a .png output or --format png")
        check_output(dst, force)  # fail before decoding, not after
        if bits == "16":
            from hybrid.api import decode_array

            data = read_bytes(source(src))
            array = resized_decoder(decode_array, resizing)(data, enhance, **decoding)
            carried, _ = read_metadata(data, upright=not keep_orientation)
            png = png16(array, icc_profile=carried.icc_profile, exif=carried.exif)
            write_output(dst, png, force)
            return
        image = api_decode(source(src), enhance, **decoding)
        write_output(dst, encode_image(image, pil_format, options), force)

    return run_plan(plan, work, force, "decoding")
