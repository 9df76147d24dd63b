"""training.data.list_images: one folder or several joined by os.pathsep (issue 18 trains on
screenshots and photos together)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from training.data import list_images


def _write(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / name)


def test_several_folders_are_listed_in_order(tmp_path):
    _write(tmp_path / "screens" / "docs", ["b.png", "a.png"])
    _write(tmp_path / "photos", ["z.png"])
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    joined = os.pathsep.join([str(tmp_path / "screens"), str(tmp_path / "photos")])
    assert [p.name for p in list_images(joined)] == ["a.png", "b.png", "z.png"]


def test_a_missing_or_empty_folder_is_named(tmp_path):
    _write(tmp_path / "photos", ["z.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="missing"):
        list_images(os.pathsep.join([str(tmp_path / "photos"), str(tmp_path / "missing")]))
    with pytest.raises(FileNotFoundError, match="no images"):
        list_images(os.pathsep.join([str(tmp_path / "photos"), str(tmp_path / "empty")]))
