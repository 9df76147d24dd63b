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
from tests.helpers.corpus import sample_image, seed_corpus
from tests.helpers.harness import tiny_weights
from tests.helpers.jpeg import pillow_jpeg

LINUX_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.pt")


def _counting(monkeypatch, counts: Counter, path: Path) -> None:
    """Count libjpeg passes over the coded data (the in-memory libjpeg-turbo pass, jpeglib's
    read_dct, a Pillow decode), temp files and opens of ``path``."""

    def wrap(owner, name, key, only=None):
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            if only is None or only(*args):
                counts[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    wrap(reader, "turbo_pass", "libjpeg")
    wrap(jpeglib, "read_dct", "libjpeg")
    wrap(Image.core, "jpeg_decoder", "libjpeg")  # a Pillow decode (Image.open only parses)
    for name in ("mkstemp", "mkdtemp", "TemporaryFile", "NamedTemporaryFile"):
        wrap(tempfile, name, "temp files")
    target = os.path.realpath(path)

    def is_path(file, *_):
        return isinstance(file, str | os.PathLike) and os.path.realpath(file) == target

    wrap(builtins, "open", "reads", is_path)
    wrap(io, "open", "reads", is_path)


@pytest.mark.parametrize(("subsampling", "progressive"), [(0, False), (2, False), (2, True)])
def test_enhanced_decode_runs_libjpeg_once(
    monkeypatch, tmp_path, weights, subsampling, progressive
):
    """Sequential files take the in-memory libjpeg-turbo pass, progressive ones jpeglib's:
    either way one pass over the coded data, the file opened once."""
    path = tmp_path / "in.jpg"
    image = sample_image(48, 64, seed=4)
    path.write_bytes(
        pillow_jpeg(image, quality=30, subsampling=subsampling, progressive=progressive)
    )
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
    assert on_disk.coefficients is not None and in_memory.coefficients is not None
    for ours, theirs in zip(on_disk.coefficients, in_memory.coefficients, strict=True):
        assert np.array_equal(ours, theirs)


def test_libjpeg_messages_are_captured_in_memory(capfd):
    """A warning libjpeg prints reaches the reader's messages, not the process's stderr."""
    data = bytearray(pillow_jpeg(sample_image(32, 32, seed=1), quality=50))
    cut = bytes(data[: len(data) - 40]) + b"\xff\xd9"
    read = reader.read_dct(cut)
    assert read.damage is not None and "premature end" in read.damage
    assert capfd.readouterr().err == ""


def test_the_in_memory_pass_reads_what_jpeglib_reads(monkeypatch):
    """Every one-scan file of the seed corpus: read_dct's in-memory libjpeg-turbo pass gives
    jpeglib's coefficients, tables, sampling and messages (the enhanced decode's input does
    not depend on which pass read the file), without jpeglib's scratch-file read."""
    scratch_reads: list[bytes] = []
    jpeglib_read = reader._libjpeg_dct

    def counted(data, **options):
        scratch_reads.append(data)
        return jpeglib_read(data, **options)

    monkeypatch.setattr(reader, "_libjpeg_dct", counted)
    compared = 0
    for name, data in seed_corpus():
        info = hybrid.info(data)
        if info.unsupported_reason is not None or info.num_scans != 1:
            continue
        fast = reader.read_dct(data, info)
        assert not scratch_reads, name
        with monkeypatch.context() as patch:
            patch.setattr(reader, "turbo_library", lambda: None)
            slow = reader.read_dct(data, info)
        assert len(scratch_reads) == 1, name
        scratch_reads.clear()
        assert fast.coefficients is not None and slow.coefficients is not None, name
        for ours, theirs in zip(fast.coefficients, slow.coefficients, strict=True):
            assert ours.dtype == np.int16 and np.array_equal(ours, theirs), name
        assert fast.qtables is not None and slow.qtables is not None
        for ours, theirs in zip(fast.qtables, slow.qtables, strict=True):
            assert np.array_equal(ours, theirs), name
        assert fast.messages == slow.messages, name
        compared += 1
    assert compared >= 5
