"""Standard input and output on the command line, as cjpeg and djpeg users expect:
``-`` as the input reads standard input, ``-o -`` writes standard output
(``hybrid decode - -o - < a.jpg > a.png``), each for a single input only.

Both streams are binary. A terminal is refused on either side: image bytes on a terminal are
noise, and reading an image from one would wait forever. Messages name the streams
``<stdin>`` and ``<stdout>``.

The input ``-`` becomes :data:`STDIO`, recognised by identity, so ``./-`` still names a file
called ``-``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from hybrid.errors import InputError
from hybrid.io import atomic_write, check_output_path

#: The input ``-`` or the output ``-o -``; compare with :func:`is_stdio` (identity).
STDIO = Path("-")


def is_stdio(path: object) -> bool:
    return path is STDIO


class InputPath(click.ParamType):
    """A click argument type: ``-`` gives :data:`STDIO`, anything else a :class:`Path`."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            return value
        return STDIO if value == "-" else Path(value)


def label(path: object, *, output: bool = False) -> str:
    """How messages name an input (``output=False``) or an output. In-memory input (the bytes
    read from standard input) is ``<stdin>``; no output path (None) is ``<stdout>``."""
    if is_stdio(path) or path is None or isinstance(path, (bytes, bytearray, memoryview)):
        return "<stdout>" if output else "<stdin>"
    return str(path)


def source(path: Path) -> Path | bytes:
    """What the API reads: ``path`` itself, or the bytes of standard input for ``-``."""
    if not is_stdio(path):
        return path
    stream = _binary(sys.stdin, "<stdin>")
    if stream.isatty():
        raise InputError("<stdin>: standard input is a terminal; redirect an image into it")
    return stream.read()


def _binary(stream: Any, name: str) -> Any:
    binary = getattr(stream, "buffer", None)
    if binary is None:
        raise InputError(f"{name}: not available as a binary stream in this process")
    return binary


def check_stdout() -> None:
    """Refuse ``-o -`` before any work when standard output is a terminal."""
    if sys.stdout is not None and sys.stdout.isatty():
        raise InputError(
            "-o -: standard output is a terminal; redirect it to a file or a pipe "
            "(hybrid writes binary image data there)"
        )


def check_output(dst: Path, force: bool) -> None:
    """:func:`hybrid.io.check_output_path` for a file; nothing to check for standard output."""
    if not is_stdio(dst):
        check_output_path(dst, force)


def write_output(dst: Path, data: bytes, force: bool) -> None:
    """Write ``data`` to the file ``dst`` atomically, or to standard output for ``-o -``."""
    if not is_stdio(dst):
        atomic_write(dst, data, force=force)
        return
    stream = _binary(sys.stdout, "<stdout>")
    try:
        sys.stdout.flush()  # any text written before comes first
        stream.write(data)
        stream.flush()
    except BrokenPipeError:
        raise InputError("<stdout>: the reading end of the pipe was closed") from None
