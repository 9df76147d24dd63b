"""What the command line says: every message one line on stderr, prefixed ``hybrid:``.

Errors are ``hybrid: error: ...``, bugs ``hybrid: internal error: ...`` (with a traceback
only when ``HYBRID_DEBUG=1``), warnings ``hybrid: warning: ...`` without Python's source
path and code line.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TextIO

import click


def _debug() -> bool:
    return os.environ.get("HYBRID_DEBUG", "") not in ("", "0")


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) as one space."""
    return " ".join(str(text).split())


def error(message: str) -> None:
    """``hybrid: error: MESSAGE`` on stderr."""
    click.echo(f"hybrid: error: {one_line(message)}", err=True)


def internal_error(exc: BaseException, where: str = "") -> None:
    """``hybrid: internal error: [WHERE: ]Type: message`` on stderr: a bug, not bad input."""
    prefix = f"{where}: " if where else ""
    click.echo(f"hybrid: internal error: {prefix}{type(exc).__name__}: {one_line(exc)}", err=True)
    if _debug():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def warning_line(message: object) -> str:
    """A warning's text as one line, without the decoder's own ``libjpeg:`` / ``Pillow:``."""
    return one_line(str(message).removeprefix("libjpeg: ").removeprefix("Pillow: "))


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the command line: one ``hybrid: warning:`` line, no
    source path or code line."""
    click.echo(f"hybrid: warning: {warning_line(message)}", err=True)
