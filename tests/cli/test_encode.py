"""``hybrid encode`` (hybrid/cli/encode.py): options reach the file, bad images are one-line
errors."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import assert_one_line_error, no_temp_files, run, save_png
from tests.helpers.jpeg import STANDARD_HUFFMAN_TABLES, huffman_tables


def test_encode_single_file(tmp_path):
    src = save_png(tmp_path / "a.png")
    out = tmp_path / "a.jpg"
    result = run("encode", src, "-o", out, "--quality", "85", "--subsampling", "4:4:4")
    assert result.exit_code == 0, result.output
    info = json.loads(run("info", out, "--json").stdout)
    assert info["width"] == 32 and info["height"] == 24
    assert info["estimated_quality"] == 85 and info["subsampling"] == "4:4:4"
    assert info["hybrid_metadata"]["mode"] == "plain"


# Each option against the default encode of the same image (every option here is off or 0 by
# default): the option must change what it names, and only --best may change the tables.
@pytest.mark.parametrize(
    "flags, changed",
    [
        (["--progressive"], lambda f, d: f["progressive"] and not d["progressive"]),
        (["--best"], lambda f, d: f["progressive"] and not d["progressive"]),
        (["--restart", "2"], lambda f, d: (f["restart_interval"], d["restart_interval"]) == (2, 0)),
        # Standard Huffman tables: a larger file than the default's optimized ones.
        (["--no-optimize"], lambda f, d: f["file_size"] > d["file_size"] and f["standard"]),
        # Trellis quantization: the same tables (quality 75), fewer bytes.
        (["--rdo"], lambda f, d: f["file_size"] < d["file_size"] and not f["standard"]),
        (["--mode", "enhance"], lambda f, d: (f["mode"], d["mode"]) == ("enhance", "plain")),
    ],
    ids=["progressive", "best", "restart", "no-optimize", "rdo", "mode"],
)
def test_encode_flags(tmp_path, flags, changed):
    src = save_png(tmp_path / "a.png")
    infos = {}
    for name, extra in (("flag", flags), ("default", [])):
        out = tmp_path / f"{name}.jpg"
        assert run("encode", src, "-o", out, *extra).exit_code == 0
        info = json.loads(run("info", out, "--json").stdout)
        info["mode"] = info["hybrid_metadata"]["mode"]
        info["standard"] = huffman_tables(out.read_bytes()) == STANDARD_HUFFMAN_TABLES
        infos[name] = info
    flag, default = infos["flag"], infos["default"]
    assert changed(flag, default), flags
    assert not default["standard"] and default["estimated_quality"] == 75
    if flags != ["--best"]:  # --best uses its own (PSNR) tables
        assert flag["quant_tables"] == default["quant_tables"]


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
