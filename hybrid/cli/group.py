"""The ``hybrid`` command line: the click group, its commands, and the entry point.

Each command is a thin click layer in a module of its own (``hybrid.cli.encode``,
``decode``, ``info``, ``models``, ``bench``, ``batch``, ``onnx``, ``web``); this module
gathers them under :data:`cli` and adds the commands other installed packages contribute
(entry-point group ``hybrid.commands``: ``hybrid train`` and ``hybrid export`` from
hybrid_training), loaded only when run.

Exit codes: 0 success; 2 bad input (any :class:`hybrid.errors.InputError`, a usage error,
or in batch mode any file that failed); 1 internal error (a bug: one line
``hybrid: internal error: ...``, with a traceback only when ``HYBRID_DEBUG=1``);
130 interrupted. Every message is one line on stderr, errors prefixed ``hybrid: error:``
(:mod:`hybrid.cli.messages`).
"""

from __future__ import annotations

import signal
import sys
import warnings
from typing import Any

import click

from hybrid.cli.batch import batch
from hybrid.cli.bench import bench
from hybrid.cli.decode import decode
from hybrid.cli.encode import encode
from hybrid.cli.info import info
from hybrid.cli.messages import error, internal_error, show_warning
from hybrid.cli.models import models
from hybrid.cli.onnx import export_onnx
from hybrid.cli.web import web
from hybrid.errors import InputError

PLUGIN_GROUP = "hybrid.commands"

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
        shown, warnings.showwarning = warnings.showwarning, show_warning
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
            error(exc.format_message() + hint)
            return 2
        except click.ClickException as exc:
            error(exc.format_message())
            return exc.exit_code
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except (click.Abort, KeyboardInterrupt):
            error("interrupted")
            return 130
        except InputError as exc:
            error(str(exc))
            return 2
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
            internal_error(exc)
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


cli.add_command(encode)  # hybrid encode (hybrid.cli.encode)
cli.add_command(decode)  # hybrid decode (hybrid.cli.decode)
cli.add_command(info)  # hybrid info (hybrid.cli.info)
cli.add_command(models)  # hybrid models (hybrid.cli.models)
cli.add_command(bench)  # hybrid bench (hybrid.cli.bench): hybrid against its peers
cli.add_command(batch)  # hybrid batch (hybrid.cli.batch): a corpus on a Ray cluster
cli.add_command(export_onnx)  # hybrid export-onnx (hybrid.cli.onnx): networks as ONNX
cli.add_command(web)  # hybrid web (hybrid.cli.web): a gallery enhanced in the browser


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. SIGTERM is handled like Ctrl-C, so a killed batch removes
    its temp file, prints its summary and can be resumed."""
    signal.signal(signal.SIGTERM, _interrupt)
    cli.main(args=argv, prog_name="hybrid")


__all__ = ["cli", "main"]
