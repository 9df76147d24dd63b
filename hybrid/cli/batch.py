"""``hybrid batch``: encode, decode or transcode a corpus on a Ray cluster (thin click layer
over :mod:`hybrid.batch`; Ray is imported only when a batch runs).

Exit codes: 0 when the run finished, failed images or not (their count ends the summary;
``--strict``: 2 when any failed); 2 bad options or inputs that stop the whole run; 1 when
Ray itself fails; 130 interrupted (run again to resume).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import click

from hybrid.cli.files import IMAGE_SUFFIXES, JPEG_SUFFIXES
from hybrid.cli.options import (
    codec_options,
    decode_content_option,
    encode_options,
    keep_orientation_option,
    max_pixels_option,
    max_scan_passes_option,
    strip_option,
)
from hybrid.codec.geometry import MAX_SCALE
from hybrid.enhance.precision import PRECISIONS
from hybrid.errors import ClusterError
from hybrid.io import parse_strip
from hybrid.outputs import OUTPUT_FORMATS


def _suffixes(kind: str) -> frozenset[str]:
    """What folders and globs contribute to a job (a file named on its own always counts):
    ``hybrid encode``'s image suffixes, or its JPEG suffixes."""
    return IMAGE_SUFFIXES if kind == "encode" else JPEG_SUFFIXES


def _apply(options: list[Callable[..., Any]], command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(options):
        command = option(command)
    return command


def batch_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """INPUTS, --manifest, -o and the Ray options every batch job takes."""
    return _apply(
        [
            click.argument("inputs", nargs=-1),
            click.option(
                "--manifest",
                "manifests",
                multiple=True,
                metavar="FILE",
                help="A text file listing inputs, one path or URL per line (repeatable).",
            ),
            click.option(
                "-o",
                "--output",
                required=True,
                help="Output folder (a local path or a URL such as s3://bucket/out); inputs' "
                "folders are mirrored under it, and the results table goes to "
                "OUTPUT/_hybrid_results/.",
            ),
            click.option(
                "--workers",
                type=click.IntRange(min=1),
                help="Worker processes (Ray actors). Default: one per CPU core of the "
                "cluster, or per --gpus-per-worker share of its GPUs for a network.",
            ),
            click.option(
                "--address",
                help="Join an existing Ray cluster ('auto', 'ray://HEAD:10001'); default: start "
                "Ray on this machine.",
            ),
            click.option(
                "--batch-size",
                type=click.IntRange(min=1),
                default=4,
                show_default=True,
                help="Images per batch; each batch's rows are flushed to the results table "
                "together, so a killed run redoes at most the batches in flight.",
            ),
            click.option(
                "--device",
                type=click.Choice(["auto", "cpu", "cuda"]),
                default="auto",
                show_default=True,
                help="Where a network runs: auto = on the cluster's GPUs when it has some.",
            ),
            click.option(
                "--gpus-per-worker",
                type=click.FloatRange(0.0, 1.0, min_open=True),
                default=0.25,
                show_default=True,
                help="GPU share of one worker (0.25: four workers, four copies of the network, "
                "per GPU, overlapping their CPU work).",
            ),
            click.option(
                "--threads",
                type=click.IntRange(min=1),
                help="Torch threads per worker for a network on CPU (default: cores / workers).",
            ),
            click.option(
                "--force",
                is_flag=True,
                help="Redo every input, replacing outputs the results table says are done (and "
                "outputs that were there before the first run).",
            ),
            click.option(
                "--strict", is_flag=True, help="Exit with status 2 when any image failed."
            ),
        ],
        command,
    )


def _encode_job_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``hybrid encode``'s options, same names, defaults and meaning."""
    return _apply(
        [
            codec_options,
            strip_option,
            max_pixels_option,
            click.option(
                "--psnr",
                "measure_psnr",
                is_flag=True,
                help="Also decode each output and record its PSNR-RGB against the source "
                "(a --target-psnr records its own).",
            ),
        ],
        encode_options(command),
    )


def _encode_job(kind: str, opts: dict[str, Any]) -> Any:
    from hybrid.batch.jobs import BatchJob, EncodeSettings

    parse_strip(opts["strip"])  # an unknown kind is a usage error before any work
    settings = EncodeSettings(
        quality=opts["quality"],
        subsampling=opts["subsampling"],
        progressive=opts["progressive"],
        rdo=opts["rdo"],
        best=opts["best"],
        tune=opts["tune"],
        restart_interval=opts["restart"],
        optimize_huffman=not opts["no_optimize"],
        mode=opts["mode"],
        strip=opts["strip"],
        max_pixels=opts["max_pixels"] or None,
        scale=opts["scale"],
        model_id=opts["model_id"],
        target_size=opts["target_size"],
        target_bpp=opts["target_bpp"],
        target_psnr=opts["target_psnr"],
        target_msssim=opts["target_msssim"],
        target_butteraugli=opts["target_butteraugli"],
        allow_downscale=False if opts["no_downscale"] else None,
        measure_psnr=opts["measure_psnr"],
    )
    return BatchJob(kind, encode=settings)  # type: ignore[arg-type]


def _run(job: Any, accept: frozenset[str], opts: dict[str, Any], label: str) -> int:
    from hybrid.batch.cluster import ClusterSettings
    from hybrid.batch.pipeline import BatchRequest, run_batch
    from hybrid.batch.summary import summary_line

    request = BatchRequest(
        job=job,
        inputs=tuple(opts["inputs"]),
        output=opts["output"],
        manifests=tuple(opts["manifests"]),
        accept=accept,
        force=opts["force"],
        cluster=ClusterSettings(
            address=opts["address"],
            workers=opts["workers"],
            batch_size=opts["batch_size"],
            device=opts["device"],
            gpus_per_worker=opts["gpus_per_worker"],
            threads=opts["threads"],
        ),
    )
    with ExitStack() as stack:
        bars: list[Any] = []

        def on_start(todo: int, skipped: int) -> None:
            if skipped:
                click.echo(f"hybrid: {skipped} inputs done by an earlier run, skipped", err=True)
            bar = click.progressbar(length=todo, label=label, file=sys.stderr)
            bars.append(stack.enter_context(bar))

        def on_progress(done: int) -> None:
            if bars:
                bars[0].update(done)

        try:
            report = run_batch(request, on_start=on_start, on_progress=on_progress)
        except ClusterError as exc:
            stack.close()
            click.echo(f"hybrid: error: {' '.join(str(exc).split())}", err=True)
            return 1
    for failure in report.failures:
        click.echo(f"hybrid: error: {' '.join(failure.split())}", err=True)
    if report.failed > len(report.failures):
        more = report.failed - len(report.failures)
        click.echo(
            f"hybrid: error: ... and {more} more failures (the results table has them all)",
            err=True,
        )
    click.echo(f"hybrid: {summary_line(report)}", err=True)
    if report.interrupted:
        return 130
    return 2 if opts["strict"] and report.failed else 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def batch() -> None:
    """Encode, decode or transcode a whole corpus on a Ray cluster, resumably.

    A Ray Data pipeline over folders, globs and manifests (local paths or fsspec URLs such
    as s3://), Ray started on this machine unless --address joins a cluster. Outputs are
    written atomically; OUTPUT/_hybrid_results/part-*.parquet records every image (sizes,
    bpp, quality, PSNR where measured, seconds, a one-line error for failures) and is the
    resume log: run the same command again after a crash or Ctrl-C and only what is
    missing is done. Needs the 'cluster' extra: pip install 'hybrid-jpeg-codec[cluster]'.
    """


@batch.command("encode")
@batch_options
@_encode_job_options
def batch_encode(**opts: Any) -> int:
    """Encode images (PNG, TIFF, JPEG ...) as JPEG files, as 'hybrid encode' does.

    INPUTS are folders (whole trees), globs ('photos/**/*.png', quoted) or files.
    """
    return _run(_encode_job("encode", opts), _suffixes("encode"), opts, "encoding")


@batch.command("transcode")
@batch_options
@_encode_job_options
def batch_transcode(**opts: Any) -> int:
    """Re-encode existing JPEGs smaller: with --best and/or a --target-* option.

    INPUTS are folders, globs or files; folders and globs contribute their JPEG files.
    """
    return _run(_encode_job("transcode", opts), _suffixes("transcode"), opts, "transcoding")


@batch.command("decode")
@batch_options
@click.option("--enhance", is_flag=True, help="Decode with the enhancement network.")
@click.option("--model", help="Enhancement model id (default: the registry's default).")
@click.option("--weights", help="A weights file to use (a path every worker can read).")
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="auto",
    show_default=True,
    help="Arithmetic of the network: auto = bf16 where the CPU or GPU computes it natively.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(OUTPUT_FORMATS), case_sensitive=False),
    default="png",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--upscale/--no-upscale",
    default=None,
    help="Downscaled files: resize to the recorded original size (default: with --enhance).",
)
@click.option(
    "--scale",
    type=click.FloatRange(1.0, MAX_SCALE),
    help="Upsample by this factor (with --enhance: the super-resolution model if installed).",
)
@click.option("--sr-model", help="Super-resolution model id (default: the file's).")
@click.option(
    "--strict-data",
    is_flag=True,
    help="Fail images whose data is damaged (hybrid decode --strict) instead of decoding them "
    "with a warning in the results table.",
)
@decode_content_option
@keep_orientation_option
@max_pixels_option
@max_scan_passes_option
def batch_decode(**opts: Any) -> int:
    """Decode JPEG files to PNG (or --format), optionally enhanced, as 'hybrid decode' does.

    INPUTS are folders, globs or files; folders and globs contribute their JPEG files.
    """
    from hybrid.batch.jobs import BatchJob, DecodeSettings

    settings = DecodeSettings(
        enhance=opts["enhance"],
        model=opts["model"],
        weights=opts["weights"],
        precision=opts["precision"],
        format=opts["fmt"].lower(),
        upscale=opts["upscale"],
        scale=opts["scale"],
        sr_model=opts["sr_model"],
        strict=opts["strict_data"],
        apply_orientation=not opts["keep_orientation"],
        max_pixels=opts["max_pixels"] or None,
        max_scan_passes=opts["max_scan_passes"] or None,
        content=opts["content"],
    )
    return _run(BatchJob("decode", decode=settings), _suffixes("decode"), opts, "decoding")


__all__ = ["batch"]
