"""``hybrid encode`` (hybrid/cli/encode.py): options reach the file, bad images are one-line
errors."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import assert_one_line_error, no_temp_files, run, save_png


def test_encode_single_file(tmp_path):
    src = save_png(tmp_path / "a.png")
    out = tmp_path / "a.jpg"
    result = run("encode", src, "-o", out, "--quality", "85", "--subsampling", "4:4:4")
    assert result.exit_code == 0, result.output
    info = json.loads(run("info", out, "--json").stdout)
    assert info["width"] == 32 and info["height"] == 24
    assert info["estimated_quality"] == 85 and info["subsampling"] == "4:4:4"
    assert info["hybrid_metadata"]["mode"] == "plain"


@pytest.mark.parametrize(
    "flags, key, value",
    [
        (["--progressive"], "progressive", True),
        (["--best"], "progressive", True),
        (["--restart", "2"], "restart_interval", 2),
        (["--no-optimize"], "process", "baseline"),
        (["--rdo"], "estimated_quality", 75),
        (["--mode", "enhance"], "hybrid_metadata", "enhance"),
    ],
)
def test_encode_flags(tmp_path, flags, key, value):
    src = save_png(tmp_path / "a.png")
    out = tmp_path / "a.jpg"
    assert run("encode", src, "-o", out, *flags).exit_code == 0
    info = json.loads(run("info", out, "--json").stdout)
    got = info[key]["mode"] if key == "hybrid_metadata" else info[key]
    assert got == value


def test_encode_into_existing_directory(tmp_path):
    src = save_png(tmp_path / "pic.png")
    outdir = tmp_path / "out"
    outdir.mkdir()
    assert run("encode", src, "-o", outdir).exit_code == 0
    assert (outdir / "pic.jpg").is_file()


@pytest.mark.parametrize("content", [b"", b"plain text", b"\x89PNG\r\n\x1a\ntruncated"])
def test_bad_image_inputs_for_encode(tmp_path, content):
    src = tmp_path / "in.png"
    src.write_bytes(content)
    out = tmp_path / "out.jpg"
    assert_one_line_error(run("encode", src, "-o", out))
    assert not out.exists() and no_temp_files(tmp_path)
