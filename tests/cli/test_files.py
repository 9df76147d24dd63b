"""Inputs to outputs (hybrid/cli/files.py): batches over several files and directories,
skipped and forced outputs, -o DIR/, and outputs that cannot or must not be written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.cli import assert_one_line_error, no_temp_files, run, save_jpeg, save_png


def test_batch_directory_recursive_with_bad_files(tmp_path):
    inp = tmp_path / "in"
    save_png(inp / "a.png", 1)
    save_png(inp / "sub" / "b.png", 2)
    (inp / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (inp / "notes.txt").write_text("ignored: not an image suffix")
    out = tmp_path / "out"
    result = run("encode", inp, "-o", out, "--recursive")
    assert result.exit_code == 2
    assert (out / "a.jpg").is_file() and (out / "sub" / "b.jpg").is_file()
    assert not (out / "broken.jpg").exists()
    assert "hybrid: 2 ok, 1 failed" in result.stderr
    assert "broken.png" in result.stderr and "Traceback" not in result.output
    assert no_temp_files(out)
    # Without --recursive only the top level is read.
    flat = tmp_path / "flat"
    result = run("encode", inp, "-o", flat)
    assert (flat / "a.jpg").is_file() and not (flat / "sub").exists()


def test_batch_skips_existing_outputs_unless_forced(tmp_path):
    inp = tmp_path / "in"
    save_png(inp / "a.png")
    save_png(inp / "b.png")
    out = tmp_path / "out"
    assert run("encode", inp, "-o", out).exit_code == 0
    (out / "a.jpg").write_bytes(b"stale")
    result = run("encode", inp, "-o", out)
    assert result.exit_code == 0
    assert "0 ok, 0 failed, 2 skipped because the output exists" in result.stderr
    assert (out / "a.jpg").read_bytes() == b"stale"
    result = run("encode", inp, "-o", out, "--force")
    assert result.exit_code == 0 and "2 ok, 0 failed" in result.stderr
    assert (out / "a.jpg").read_bytes() != b"stale"


def test_batch_decode_several_inputs(tmp_path):
    a = save_jpeg(tmp_path / "a.jpg")
    b = save_jpeg(tmp_path / "b.jpeg", progressive=True)
    missing = tmp_path / "missing.jpg"
    out = tmp_path / "out"
    result = run("decode", a, b, missing, "-o", out, "--format", "bmp")
    assert result.exit_code == 2
    assert (out / "a.bmp").is_file() and (out / "b.bmp").is_file()
    assert "2 ok, 1 failed" in result.stderr and "missing.jpg" in result.stderr


def test_batch_output_must_be_a_directory(tmp_path):
    a, b = save_png(tmp_path / "a.png"), save_png(tmp_path / "b.png")
    target = tmp_path / "file.jpg"
    target.write_bytes(b"x")
    assert_one_line_error(run("encode", a, b, "-o", target))


def test_directory_as_input(tmp_path):
    assert_one_line_error(run("info", tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("encode", empty, "-o", tmp_path / "out")
    assert result.exit_code == 2 and "no input files found" in result.stderr


def test_output_exists_without_force(tmp_path):
    src = save_png(tmp_path / "a.png")
    out = tmp_path / "a.jpg"
    out.write_bytes(b"precious")
    err = assert_one_line_error(run("encode", src, "-o", out))
    assert "exists" in err and out.read_bytes() == b"precious"
    jpg = save_jpeg(tmp_path / "b.jpg")
    png = tmp_path / "b.png"
    png.write_bytes(b"precious")
    assert "exists" in assert_one_line_error(run("decode", jpg, "-o", png))
    assert png.read_bytes() == b"precious"


def test_unwritable_output_directory(tmp_path):
    src = save_png(tmp_path / "a.png")
    if os.geteuid() != 0:
        target_dir = tmp_path / "ro"
        target_dir.mkdir()
        target_dir.chmod(0o555)
    else:
        try:
            fd, name = tempfile.mkstemp(dir="/sys")
        except OSError:
            target_dir = Path("/sys")
        else:
            os.close(fd)
            os.unlink(name)
            pytest.skip("no unwritable directory available to root here")
    err = assert_one_line_error(run("encode", src, "-o", target_dir / "a.jpg"))
    assert "cannot write" in err
    assert_one_line_error(run("encode", src, "-o", tmp_path / "no" / "such" / "dir.jpg"))


def test_trailing_slash_output_is_a_directory(tmp_path):
    jpg = save_jpeg(tmp_path / "a.jpg")
    png = save_png(tmp_path / "b.png")
    assert run("decode", jpg, "-o", f"{tmp_path}/new/sub/").exit_code == 0
    expected = np.asarray(Image.open(jpg))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "new/sub/a.png")), expected)
    assert run("encode", png, "-o", f"{tmp_path}/jpegs/").exit_code == 0
    assert (tmp_path / "jpegs" / "b.jpg").is_file()
    assert run("encode", png, "-o", f"{tmp_path}/jpegs/").exit_code == 2  # exists, no --force
    # A failure leaves no directory behind; a file is not a directory.
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"hello")
    assert_one_line_error(run("decode", bad, "-o", f"{tmp_path}/made/deeper/"))
    assert not (tmp_path / "made").exists()
    err = assert_one_line_error(run("decode", jpg, "-o", f"{png}/"))
    assert err == f"hybrid: error: {png}/: not a directory"
    assert no_temp_files(tmp_path)
