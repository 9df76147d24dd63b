"""Inputs to outputs for ``hybrid encode`` and ``hybrid decode``: which files a run reads and
writes, and the run itself.

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
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from hybrid.cli.messages import error, internal_error, warning_line
from hybrid.cli.stdio import STDIO, check_stdout, is_stdio, label
from hybrid.errors import InputError

#: What ``hybrid encode`` reads from a directory (and ``hybrid batch encode``: the same).
IMAGE_SUFFIXES = frozenset(
    ".png .jpg .jpeg .jpe .jfif .bmp .tif .tiff .webp .gif .ppm .pgm .pbm .pnm .tga".split()
)
#: What ``hybrid decode`` (and ``hybrid batch decode/transcode``) reads from a directory.
JPEG_SUFFIXES = frozenset(".jpg .jpeg .jpe .jfif".split())


@dataclass
class Plan:
    """What a run does: (input, output) pairs, the inputs it cannot read (with why), and
    whether it is a batch (several inputs or a directory)."""

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


def plan_files(
    inputs: Iterable[Path],
    target: str,
    suffix: str,
    recursive: bool,
    accept: frozenset[str],
) -> Plan:
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
        return Plan([(inputs[0], STDIO)], [], False)
    wants_dir = target.endswith(("/", os.sep))
    output = Path(target)
    if wants_dir and output.exists() and not output.is_dir():
        raise InputError(f"{target}: not a directory")
    if not batch:
        src = inputs[0]
        if not (wants_dir or output.is_dir()):
            return Plan([(src, output)], [], False)
        if is_stdio(src):
            raise InputError(f"{output}: is a directory; with - (standard input) give a file name")
        return Plan([(src, output / (src.stem + suffix))], [], False, not output.is_dir())
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
    return Plan(unique, problems, True)


def file_message(src: Path, dst: Path, exc: BaseException) -> str:
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


def _reporting_warnings(work: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    """``work`` with every warning it raises printed once, as one line
    ``hybrid: warning: FILE: ...`` (the same message twice for one file is one line)."""

    def run(src: Path, dst: Path) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                work(src, dst)
            finally:
                lines = dict.fromkeys(warning_line(w.message) for w in caught)
                for line in lines:
                    click.echo(f"hybrid: warning: {label(src)}: {line}", err=True)

    return run


def run_plan(plan: Plan, work: Callable[[Path, Path], None], force: bool, what: str) -> int:
    """Run ``work(src, dst)`` for each job of ``plan``; the exit code (module docstring of
    :mod:`hybrid.cli.group`). One input: its error is the message, exit 2. A batch: a
    progress bar labelled ``what``, existing outputs skipped unless ``force``, each failure
    one line, then the summary; 2 when any failed, 1 after a bug, 130 when interrupted."""
    work = _reporting_warnings(work)
    if not plan.batch:
        src, dst = plan.jobs[0]
        created = _make_dirs(dst.parent) if plan.make_dir else []
        done = False
        try:
            work(src, dst)
            done = True
        except InputError as exc:
            error(file_message(src, dst, exc))
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
                    messages.append(file_message(src, dst, exc))
                except OSError as exc:
                    failed += 1
                    messages.append(f"{src}: {exc.strerror or exc}")
                except Exception as exc:  # noqa: BLE001 - keep going past one file's bug
                    failed += 1
                    internal = True
                    internal_error(exc, str(src))
    except KeyboardInterrupt:
        interrupted = True
    for message in messages:
        error(message)
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
