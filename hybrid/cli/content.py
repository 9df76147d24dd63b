"""``--content`` for ``hybrid encode`` / ``decode``, the ``-v`` line saying which enhancement
model ran and why, and the content lines of ``hybrid info`` (issue 18).

Kept beside :mod:`hybrid.cli` so the commands stay thin; the choice itself is
:mod:`hybrid.enhance.choice`'s, reported through its logger.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import click

from hybrid.cli.stdio import label
from hybrid.enhance.choice import CONTENT_CHOICES
from hybrid.enhance.choice import logger as choice_logger
from hybrid.errors import InputError
from hybrid.io import DEFAULT_MAX_PIXELS

decode_content_option = click.option(
    "--content",
    type=click.Choice(CONTENT_CHOICES),
    default="auto",
    show_default=True,
    help="Which enhancement model family (--enhance, without --model/--weights): photo, "
    "screen (text, UI, graphics), or auto: decided from the file (its recorded class, else "
    "a classifier of its coefficients and pixels).",
)
encode_content_option = click.option(
    "--content",
    type=click.Choice([*CONTENT_CHOICES[1:], "auto"]),
    help="Record what the image is (photo, screen: text, UI, graphics; auto: classify it) "
    "so an enhancing decoder picks the model made for it. Default: record nothing.",
)
verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Say which enhancement model decoded each file and why (given, recorded in the "
    "file, or classified with its probability).",
)


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
