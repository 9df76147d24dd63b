"""The ``hybrid`` command line: click commands over :mod:`hybrid.api` and the applications.

``cli`` is the click group, ``main`` the console-script entry point (``hybrid =
"hybrid.cli:main"``); both live in :mod:`hybrid.cli.group`.
"""

from hybrid.cli.group import cli, main

__all__ = ["cli", "main"]
