"""The ``hybrid`` command line: a thin click layer over :mod:`hybrid.api`.

Exit codes: 0 success; 2 bad input (any :class:`hybrid.errors.InputError`, a usage error,
or in batch mode any file that failed); 1 internal error (a bug: one line
``hybrid: internal error: ...``, with a traceback only when ``HYBRID_DEBUG=1``);
130 interrupted. Every message is one line on stderr, errors prefixed ``hybrid: error:``.

Several inputs, or a directory, make a batch: ``-o`` is then a directory (created if
needed), ``--recursive`` descends into subdirectories and mirrors them under ``-o``, bad files
are reported and skipped, outputs that already exist are skipped unless ``--force`` (so an
interrupted batch resumes where it stopped), and a summary ends the run. ``-o DIR/`` (a
trailing slash) is a directory, created if needed, for a single input too.

``-`` as the only input reads standard input, ``-o -`` writes standard output
(:mod:`hybrid.cli.stdio`). Outputs are only ever regular files (:func:`hybrid.io.atomic_write`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click

from hybrid.cli.batch import batch
from hybrid.cli.content import (
    content_line,
    content_report,
    decode_content_option,
    encode_content_option,
    model_choice_lines,
    verbose_option,
)
from hybrid.cli.onnx import export_onnx
from hybrid.cli.options import (
    decode_options,
    encode_options,
    keep_orientation_option,
    max_pixels_option,
    max_scan_passes_option,
    planned_encoder,
    resized_decoder,
    strip_option,
)
from hybrid.cli.stdio import (
    STDIO,
    InputPath,
    check_output,
    check_stdout,
    is_stdio,
    label,
    source,
    write_output,
)
from hybrid.cli.web import web
from hybrid.enhance.backends import BACKENDS
from hybrid.enhance.precision import PRECISIONS
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS, parse_strip, read_bytes, read_metadata
from hybrid.outputs import OUTPUT_FORMATS, encode_image, png16

IMAGE_SUFFIXES = frozenset(
    ".png .jpg .jpeg .jpe .jfif .bmp .tif .tiff .webp .gif .ppm .pgm .pbm .pnm .tga".split()
)
PLUGIN_GROUP = "hybrid.commands"
JPEG_SUFFIXES = frozenset(".jpg .jpeg .jpe .jfif".split())
#: --format choices -> (Pillow format name, save options). JPEG output is a lossy re-encode.


def _debug() -> bool:
    return os.environ.get("HYBRID_DEBUG", "") not in ("", "0")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _err(message: str) -> None:
    click.echo(f"hybrid: error: {_one_line(message)}", err=True)


def _internal(exc: BaseException, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    click.echo(f"hybrid: internal error: {prefix}{type(exc).__name__}: {_one_line(exc)}", err=True)
    if _debug():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


# click >= 8.2 raises this (a UsageError) for a bare ``hybrid``; older click exits 0 itself.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class HybridGroup(click.Group):
    """A click group that turns every outcome into one line and a documented exit code."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        shown, warnings.showwarning = warnings.showwarning, _show_warning
        try:
            code = self._run(args, prog_name, complete_var, **extra)
        finally:
            warnings.showwarning = shown
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args: Any, prog_name: str | None, complete_var: str | None, **extra: Any) -> int:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:
            click.echo(
                exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), err=True
            )
            return 2
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _err(exc.format_message() + hint)
            return 2
        except click.ClickException as exc:
            _err(exc.format_message())
            return exc.exit_code
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except (click.Abort, KeyboardInterrupt):
            _err("interrupted")
            return 130
        except InputError as exc:
            _err(str(exc))
            return 2
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
            _internal(exc)
            return 1
        return result if isinstance(result, int) else 0

    # Commands contributed by other installed packages (entry-point group "hybrid.commands",
    # e.g. ``hybrid train`` from training/) are listed without importing them and loaded only
    # when run, so ``hybrid info`` never pays for torch and hybrid never imports training.

    def _plugins(self) -> dict[str, Any]:
        from importlib.metadata import entry_points

        try:
            found = entry_points(group=PLUGIN_GROUP)
        except Exception:  # noqa: BLE001 - broken package metadata must not break the CLI
            return {}
        return {ep.name: ep for ep in found if ep.name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        plugin = self._plugins().get(cmd_name)
        if plugin is None:
            return None
        try:
            loaded = plugin.load()
        except Exception as exc:  # noqa: BLE001 - e.g. training extras not installed
            raise click.ClickException(
                f"the '{cmd_name}' command ({plugin.value}) cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"the '{cmd_name}' entry point is not a click command")
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(60)) for name, cmd in sorted(self.commands.items())]
        rows += [(name, f"(extension: {ep.value})") for name, ep in sorted(self._plugins().items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=HybridGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hybrid-jpeg-codec", prog_name="hybrid")
def cli() -> None:
    """hybrid: standard JPEG files, decoded better."""


cli.add_command(batch)  # hybrid batch (hybrid.cli.batch): a corpus on a Ray cluster


cli.add_command(export_onnx)  # hybrid export-onnx (hybrid.cli.onnx): networks as ONNX


cli.add_command(web)  # hybrid web (hybrid.cli.web): a gallery enhanced in the browser


# --- planning inputs and outputs ---------------------------------------------------------


@dataclass
class _Plan:
    jobs: list[tuple[Path, Path]]
    problems: list[tuple[Path, str]]
    batch: bool
    make_dir: bool = False  # a single output inside ``-o DIR/`` that does not exist yet


def _walk(directory: Path, recursive: bool, suffixes: frozenset[str]) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in suffixes:
                found.append(Path(root) / name)
    return found


def _plan(
    inputs: Iterable[Path],
    target: str,
    suffix: str,
    recursive: bool,
    accept: frozenset[str],
) -> _Plan:
    """Pair every input file with its output path; bad inputs become problems, not errors.

    ``-`` (standard input, :data:`STDIO`) and ``-o -`` (standard output) take a single input
    only. An ``-o`` (``target``) ending in a slash is a directory, created if missing.
    """
    inputs = list(inputs)
    if len(inputs) > 1 and any(is_stdio(p) for p in inputs):
        raise InputError("- (standard input) must be the only input")
    batch = len(inputs) > 1 or any(p.is_dir() for p in inputs if not is_stdio(p))
    if target == "-":
        if batch:
            raise InputError("-o - (standard output) takes a single input file")
        check_stdout()
        return _Plan([(inputs[0], STDIO)], [], False)
    wants_dir = target.endswith(("/", os.sep))
    output = Path(target)
    if wants_dir and output.exists() and not output.is_dir():
        raise InputError(f"{target}: not a directory")
    if not batch:
        src = inputs[0]
        if not (wants_dir or output.is_dir()):
            return _Plan([(src, output)], [], False)
        if is_stdio(src):
            raise InputError(f"{output}: is a directory; with - (standard input) give a file name")
        return _Plan([(src, output / (src.stem + suffix))], [], False, not output.is_dir())
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: with several inputs or a directory, -o must be a directory")
    jobs: list[tuple[Path, Path]] = []
    problems: list[tuple[Path, str]] = []
    for src in inputs:
        if src.is_dir():
            files = _walk(src, recursive, accept)
            if not files:
                problems.append(
                    (
                        src,
                        "no input files found"
                        + ("" if recursive else " (use --recursive for subdirectories)"),
                    )
                )
            for f in files:
                rel = f.relative_to(src).parent
                jobs.append((f, output / rel / (f.stem + suffix)))
        elif src.exists():
            jobs.append((src, output / (src.stem + suffix)))
        else:
            problems.append((src, "no such file or directory"))
    seen: dict[Path, Path] = {}
    unique = []
    for src, dst in jobs:
        if dst in seen:
            problems.append((src, f"output {dst} would also be written from {seen[dst]}"))
        else:
            seen[dst] = src
            unique.append((src, dst))
    return _Plan(unique, problems, True)


def _naming(src: Path, dst: Path, exc: BaseException) -> str:
    """The error message, prefixed with the input's name unless it already names a file."""
    message = str(exc)
    if label(src) in message or label(dst, output=True) in message:
        return message
    return f"{label(src)}: {message}"


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; the ones created, outermost first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            raise InputError(f"{created}: cannot create the directory: {exc.strerror}") from None
    return missing[::-1]


def _warning_line(message: object) -> str:
    return _one_line(str(message).removeprefix("libjpeg: ").removeprefix("Pillow: "))


def _reporting_warnings(work: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    """``work`` with every warning it raises printed once, as one line
    ``hybrid: warning: FILE: ...`` (the same message twice for one file is one line)."""

    def run(src: Path, dst: Path) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                work(src, dst)
            finally:
                lines = dict.fromkeys(_warning_line(w.message) for w in caught)
                for line in lines:
                    click.echo(f"hybrid: warning: {label(src)}: {line}", err=True)

    return run


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the command line: one ``hybrid: warning:`` line, no
    source path or code line."""
    click.echo(f"hybrid: warning: {_warning_line(message)}", err=True)


def _run_plan(plan: _Plan, work: Callable[[Path, Path], None], force: bool, what: str) -> int:
    work = _reporting_warnings(work)
    if not plan.batch:
        src, dst = plan.jobs[0]
        created = _make_dirs(dst.parent) if plan.make_dir else []
        done = False
        try:
            work(src, dst)
            done = True
        except InputError as exc:
            _err(_naming(src, dst, exc))
            return 2
        finally:
            for directory in reversed(created if not done else []):
                with contextlib.suppress(OSError):  # left alone unless still empty
                    directory.rmdir()
        return 0
    messages = [f"{src}: {why}" for src, why in plan.problems]
    ok, failed, skipped = 0, len(plan.problems), 0
    internal = interrupted = False
    stderr = sys.stderr
    try:
        with click.progressbar(plan.jobs, label=what, file=stderr) as bar:
            for src, dst in bar:
                if dst.exists() and not force:
                    skipped += 1
                    continue
                try:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    work(src, dst)
                    ok += 1
                except InputError as exc:
                    failed += 1
                    messages.append(_naming(src, dst, exc))
                except OSError as exc:
                    failed += 1
                    messages.append(f"{src}: {exc.strerror or exc}")
                except Exception as exc:  # noqa: BLE001 - keep going past one file's bug
                    failed += 1
                    internal = True
                    _internal(exc, str(src))
    except KeyboardInterrupt:
        interrupted = True
    for message in messages:
        _err(message)
    summary = f"hybrid: {ok} ok, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped because the output exists (use --force to overwrite)"
    if interrupted:
        summary += "; interrupted (run again to resume: finished outputs are skipped)"
    click.echo(summary, err=True)
    if interrupted:
        return 130
    if internal:
        return 1
    return 2 if failed else 0


# --- commands ------------------------------------------------------------------------------


_inputs_argument = click.argument("inputs", nargs=-1, required=True, type=InputPath())
# A plain string: a trailing slash ("-o newdir/") means a directory, and Path drops it.
_output_option = click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output file, or directory (a trailing slash creates it; always one for several "
    "inputs), or - for standard output.",
)


def _pixel_limit(max_pixels: int) -> int | None:
    """``--max-pixels`` as the API takes it (0: None). Pillow's own bomb check (a fixed
    178,956,970 pixels) is switched off when the user's limit is higher: hybrid checks the
    size itself before any pixel is decoded."""
    if max_pixels == 0 or max_pixels > DEFAULT_MAX_PIXELS:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None
    return max_pixels or None


@cli.command()
@_inputs_argument
@_output_option
@click.option(
    "-q",
    "--quality",
    type=click.IntRange(1, 100),
    default=75,
    show_default=True,
    help="IJG quality 1..100.",
)
@click.option(
    "--subsampling",
    type=click.Choice(["4:4:4", "4:2:2", "4:2:0", "auto"]),
    default="4:2:0",
    show_default=True,
    help="Chroma subsampling.",
)
@click.option("--progressive", is_flag=True, help="Progressive JPEG (SOF2).")
@click.option("--rdo", is_flag=True, help="Trellis (rate-distortion optimised) quantization.")
@click.option(
    "--best",
    is_flag=True,
    help="Smallest file for its PSNR: RGB-weighted trellis, PSNR tables, scan search.",
)
@click.option(
    "--restart",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="MCUs between restart markers (0: none).",
)
@click.option("--no-optimize", is_flag=True, help="Standard Huffman tables (one pass).")
@click.option(
    "--mode",
    type=click.Choice(["plain", "enhance"]),
    default="plain",
    show_default=True,
    help="What the file is for (recorded in its metadata).",
)
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

    api_encode = planned_encoder(api_encode, planning)  # --scale, --target-*

    limit = _pixel_limit(max_pixels)
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

    plan = _plan(inputs, output, ".jpg", recursive, IMAGE_SUFFIXES)
    return _run_plan(plan, work, force, "encoding")


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


@cli.command()
@_inputs_argument
@_output_option
@click.option("--enhance", is_flag=True, help="Decode with the enhancement network.")
@click.option("--model", help="Enhancement model id (default: the registry's default).")
@click.option("--weights", type=click.Path(path_type=Path), help="A weights file to use.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for enhancement.")
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
@verbose_option
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

    limit = _pixel_limit(max_pixels)

    suffix = "." + (fmt.lower() if fmt else "png")
    plan = _plan(inputs, output, suffix, recursive, JPEG_SUFFIXES)

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

    return _run_plan(plan, work, force, "decoding")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models(as_json: bool) -> int:
    """List the released enhancement networks in the weights registry."""
    from hybrid.enhance.registry import (
        DEFAULT_CONTENT_MODELS,
        DEFAULT_ENHANCE_MODEL,
        load_manifest,
        weights_dir,
    )

    entries = load_manifest()
    if as_json:
        from dataclasses import asdict

        click.echo(json.dumps([asdict(e) for e in entries.values()], indent=2))
        return 0
    if not entries:
        click.echo(f"no models installed in {weights_dir()}")
        return 0
    from hybrid.downscaled import SR_MODEL_BY_SCALE

    largest = max(SR_MODEL_BY_SCALE)
    for entry in entries.values():
        mark = " (default)" if entry.id == DEFAULT_ENHANCE_MODEL else ""
        for content, model_id in DEFAULT_CONTENT_MODELS.items():
            if entry.id == model_id and model_id != DEFAULT_ENHANCE_MODEL:
                mark = f" (default for {content} content)"
        for scale, model_id in SR_MODEL_BY_SCALE.items():
            if entry.id == model_id:
                more = " and larger" if scale == largest else ""
                mark = f" (default for files downscaled x{scale:g}{more})"
        over = "plain decode"
        gains = entry.metrics.get("psnr_rgb_gain_db_libjpeg_turbo_420", {})
        if not gains:
            over = "bicubic upscale"
            gains = entry.metrics.get("psnr_rgb_gain_db_over_bicubic_libjpeg_turbo_420", {})
        gain_text = ", ".join(f"q{q} {g:+.2f} dB" for q, g in gains.items())
        click.echo(
            f"{entry.id}{mark}: {entry.task}, {entry.content} content, "
            f"{entry.architecture}{entry.kwargs}, "
            f"{entry.parameters:,} parameters; {entry.description}"
        )
        if gain_text:
            click.echo(f"    val PSNR gain over the {over}: {gain_text}")
    return 0


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
        )
    for index, table in sorted(header.quant_tables.items()):
        lines.append(f"  quantization table {index} ({header.quant_precision[index]}-bit):")
        lines.extend("    " + " ".join(f"{v:3d}" for v in row) for row in table.tolist())
    lines.append(f"  file size: {header.file_size} bytes")
    if header.unsupported_reason:
        lines.append(f"  note: {header.unsupported_reason}")
    return lines


@cli.command()
@_inputs_argument
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
                raise InputError(_naming(path, path, exc)) from None
            _err(f"{path}: {exc}")
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


# --- bench: hybrid against its peers (hybrid.bench) -------------------------------------------


def _codec_list(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for results.json, report.md, the plots and report.html.",
)
@click.option(
    "--screens",
    "screens",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A folder of screenshots (text, UI, graphics), measured too and reported as content "
    "class 'screen' (DIRECTORY's images: 'photo'); may be given more than once.",
)
@click.option("--quick", is_flag=True, help="3-4 settings per codec, not the full sweep.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Only the first N images (by name) of each class; screenshots from the --screens "
    "folders in turn.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Images measured in parallel (one process each).",
)
@click.option("--codecs", help="Comma-separated codec names (default: all; see --list-codecs).")
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Reuse points cached in OUTDIR/points.jsonl by an earlier run.",
)
@click.option(
    "--crops",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Images with side-by-side crops in the HTML report.",
)
@click.option(
    "--list-codecs",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _p, v: _list_codecs(ctx) if v else None,
    help="List the codecs, whether each is usable here, and exit.",
)
def bench(
    directory: Path, outdir: Path, screens: tuple[Path, ...], quick: bool, limit: int | None,
    jobs: int, codecs: str | None, resume: bool, crops: int,
) -> int:  # fmt: skip
    """Measure hybrid against its peers on the images of DIRECTORY (and of --screens).

    Every image is encoded at a sweep of settings by every installed codec (libjpeg-turbo,
    mozjpeg, jpegqs, WebP, AVIF, JPEG XL, hybrid's plain, enhanced, SR and automatic modes);
    bits per pixel, PSNR, PSNR-Y, SSIM, MS-SSIM and speeds go to OUTDIR with BD-rates against
    libjpeg-turbo 4:2:0, and against WebP and AVIF when they ran. hybrid's enhanced modes
    decode with the default model choice (content auto). With --screens, every table is
    given for all images and for each content class (photo, screen). Codecs that are not
    installed are skipped with a note.
    """
    from hybrid.bench.runner import plan_bench, progress_printer, run_bench
    from hybrid.bench.write import write_all

    plan = plan_bench(
        directory, codecs=_codec_list(codecs), quick=quick, limit=limit, screens=screens
    )
    for name, why in plan.skipped:
        click.echo(f"hybrid: note: skipping {name}: {why}", err=True)
    with progress_printer(plan) as bar:
        points = run_bench(
            plan,
            outdir / "points.jsonl",
            jobs=jobs,
            resume=resume,
            on_image=lambda _i: bar.update(1),
        )
    command = " ".join(
        ["hybrid bench", str(directory), "-o", str(outdir)]
        + [f"--screens {folder}" for folder in screens]
        + (["--quick"] if quick else [])
        + ([f"--limit {limit}"] if limit else [])
        + ([f"--jobs {jobs}"] if jobs != 1 else [])
        + ([f"--codecs {codecs}"] if codecs else [])
    )
    summary = write_all(outdir, plan, points, command=command, crops=crops)
    failed = len(summary["failures"])
    click.echo(
        f"{len(plan.images)} images, {len(points)} points ({failed} failed), "
        f"{len(plan.skipped)} codec(s) skipped; report: {outdir / 'report.html'}"
    )
    return 0


def _list_codecs(ctx: click.Context) -> None:
    from hybrid.bench.codecs import CODECS

    for codec in CODECS:
        ok, note = codec.available()
        click.echo(f"{codec.name}: {'yes' if ok else 'no'}{f' ({note})' if note else ''}")
    ctx.exit(0)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. SIGTERM is handled like Ctrl-C, so a killed batch removes
    its temp file, prints its summary and can be resumed."""
    signal.signal(signal.SIGTERM, _interrupt)
    cli.main(args=argv, prog_name="hybrid")


__all__ = ["cli", "main"]
