"""Fixtures for the tests of scripts/ (imported as ``scripts.<name>``, see scripts/__init__.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.images import tiny_photos


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return tiny_photos(tmp_path / "images")
