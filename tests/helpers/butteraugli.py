"""libjxl's ``butteraugli_main`` for the tests that need it: skipped where it is missing,
except under CI=true, where ``.ci/run`` installs it (libjxl-devtools) and its absence fails."""

from __future__ import annotations

import os

import pytest


def need_butteraugli() -> str:
    """The tool's path; skip the test without it (fail under CI=true)."""
    from hybrid.perceptual import BUTTERAUGLI_TOOL, INSTALL_HINT, butteraugli_tool

    path = butteraugli_tool()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{BUTTERAUGLI_TOOL} is required when CI=true ({INSTALL_HINT})")
        pytest.skip(f"{BUTTERAUGLI_TOOL} is not installed ({INSTALL_HINT})")
    return path
