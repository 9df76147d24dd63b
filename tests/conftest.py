"""Fixtures shared by tests in more than one folder (a folder's own conftest.py adds more)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def empty_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty weights folder, ``tmp_path / 'weights'``, set as ``HYBRID_WEIGHTS_DIR``: no
    model is installed, whatever weights the checkout has, unless the test writes a manifest
    into the returned folder (``tests.helpers.registry.register``)."""
    directory = tmp_path / "weights"
    directory.mkdir()
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(directory))
    return directory
