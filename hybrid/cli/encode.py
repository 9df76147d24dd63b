"""``hybrid encode``: images to standard JPEG files (thin click layer over
:func:`hybrid.api.encode`, or :func:`hybrid.api.encode_to_target` with a target or --scale)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hybrid.cli.files import IMAGE_SUFFIXES, plan_files, run_plan
from hybrid.cli.options import (
    codec_options,
    encode_content_option,
    encode_options,
    inputs_argument,
    max_pixels_option,
    output_option,
    pixel_limit,
    planned_encoder,
    strip_option,
)
from hybrid.cli.stdio import is_stdio, source, write_output
from hybrid.io import parse_strip
from hybrid.pipeline.requests import scale_choosing


@click.command()
@inputs_argument
@output_option
@codec_options
@encode_content_option
@strip_option
@max_pixels_option
@encode_options
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-r", "--recursive", is_flag=True, help="Descend into subdirectories.")
def encode(
    inputs: tuple[Path, ...],
    output: str,
    quality: int,
    subsampling: str,
    progressive: bool,
    rdo: bool,
    best: bool,
    tune: str | None,
    restart: int,
    no_optimize: bool,
    mode: str,
    content: str | None,
    strip: str | None,
    max_pixels: int,
    force: bool,
    recursive: bool,
    **planning: Any,
) -> int:
    """Encode images (PNG, TIFF, JPEG ...) as standard JPEG files.

    INPUTS are image files, directories, or - for standard input.
    """
    from hybrid.api import encode as api_encode

    # --scale, --target-*, --no-downscale
    api_encode = planned_encoder(api_encode, planning, chooses_scale=scale_choosing(tune, mode))

    limit = pixel_limit(max_pixels)
    parse_strip(strip)  # an unknown kind is a usage error before any work

    def work(src: Path, dst: Path) -> None:
        data = api_encode(
            source(src),
            None if is_stdio(dst) else dst,  # a file is written by the API, atomically
            quality=quality,
            subsampling=subsampling,
            progressive=progressive,
            rdo=rdo,
            best=best,
            tune=tune,
            optimize_huffman=not no_optimize,
            restart_interval=restart,
            force=force,
            mode=mode,  # type: ignore[arg-type]
            content=content,
            strip=strip,
            max_pixels=limit,
        )
        if is_stdio(dst):
            write_output(dst, data, force)

    plan = plan_files(inputs, output, ".jpg", recursive, IMAGE_SUFFIXES)
    return run_plan(plan, work, force, "encoding")
