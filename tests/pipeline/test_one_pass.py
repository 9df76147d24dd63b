"""An enhanced decode reads its file once, runs libjpeg once and writes no temporary file."""

from __future__ import annotations

import builtins
import io
import os
import tempfile
from collections import Counter
from pathlib import Path

import jpeglib
import numpy as np
import pytest
from PIL import Image

import hybrid
import hybrid.codec.reader as reader
from tests.helpers.corpus import sample_image
from tests.helpers.harness import tiny_weights
from tests.helpers.jpeg import pillow_jpeg

LINUX_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.pt")


def _counting(monkeypatch, counts: Counter, path: Path) -> None:
    """Count libjpeg passes (jpeglib.read_dct, PIL.Image.open), temp files and opens of
    ``path``."""

    def wrap(owner, name, key, only=None):
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            if only is None or only(*args):
                counts[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    wrap(jpeglib, "read_dct", "libjpeg")
    wrap(Image.core, "jpeg_decoder", "libjpeg")  # a Pillow decode (Image.open only parses)
    for name in ("mkstemp", "mkdtemp", "TemporaryFile", "NamedTemporaryFile"):
        wrap(tempfile, name, "temp files")
    target = os.path.realpath(path)

    def is_path(file, *_):
        return isinstance(file, str | os.PathLike) and os.path.realpath(file) == target

    wrap(builtins, "open", "reads", is_path)
    wrap(io, "open", "reads", is_path)


@pytest.mark.parametrize("subsampling", [0, 2])
def test_enhanced_decode_runs_libjpeg_once(monkeypatch, tmp_path, weights, subsampling):
    path = tmp_path / "in.jpg"
    path.write_bytes(pillow_jpeg(sample_image(48, 64, seed=4), quality=30, subsampling=subsampling))
    expected = hybrid.decode_array(path, enhance=True, weights=weights, threads=1)  # warm
    counts: Counter = Counter()
    _counting(monkeypatch, counts, path)
    array = hybrid.decode_array(path, enhance=True, weights=weights, threads=1)
    assert np.array_equal(array, expected)
    assert counts["libjpeg"] == 1 and counts["reads"] == 1, counts
    assert counts["temp files"] == (0 if LINUX_MEMFD else 2), counts


def test_without_memfd_temp_files_are_used_and_removed(monkeypatch, tmp_path):
    """The fallback where memfd_create is missing: a temporary file for the JPEG and one
    for libjpeg's messages, both removed; the coefficients and messages are the same."""
    data = pillow_jpeg(sample_image(40, 40, seed=2), quality=50)
    info = hybrid.info(data)
    in_memory = reader.read_dct(data, info)
    made: list[str] = []
    mkstemp = tempfile.mkstemp

    def recording(*args, **kwargs):
        fd, name = mkstemp(*args, **kwargs)
        made.append(name)
        return fd, name

    monkeypatch.setattr(reader, "_USE_MEMFD", False)
    monkeypatch.setattr(tempfile, "mkstemp", recording)
    on_disk = reader.read_dct(data, info)
    assert len(made) == 2 and not any(os.path.exists(name) for name in made)
    assert on_disk.failure is None and on_disk.messages == in_memory.messages
    assert np.array_equal(on_disk.jpeg.Y, in_memory.jpeg.Y)
    assert np.array_equal(on_disk.jpeg.Cr, in_memory.jpeg.Cr)


def test_libjpeg_messages_are_captured_in_memory(capfd):
    """A warning libjpeg prints reaches the reader's messages, not the process's stderr."""
    data = bytearray(pillow_jpeg(sample_image(32, 32, seed=1), quality=50))
    cut = bytes(data[: len(data) - 40]) + b"\xff\xd9"
    read = reader.read_dct(cut)
    assert read.damage is not None and "premature end" in read.damage
    assert capfd.readouterr().err == ""
