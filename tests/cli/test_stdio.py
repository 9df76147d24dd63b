"""Standard input and output (hybrid/cli/stdio.py): ``-`` and ``-o -``, byte-identical to
file outputs, single input only, terminals refused."""

from __future__ import annotations

import json
import os
import subprocess

from tests.helpers.cli import HYBRID, assert_one_line_error, piped, run, save_jpeg, save_png


def test_standard_output_is_byte_identical_to_the_file_output(tmp_path):
    src = save_png(tmp_path / "a.png")
    cases = [
        (["encode", src], "a.jpg", []),
        (["encode", src, "--target-size", "1500"], "t.jpg", []),
        (["decode", save_jpeg(tmp_path / "b.jpg")], "b.png", []),  # no suffix: PNG
        (["decode", tmp_path / "b.jpg"], "b.tiff", ["--format", "tiff"]),
        (["decode", tmp_path / "b.jpg", "--bits", "16"], "b16.png", []),
    ]
    for command, name, extra in cases:
        assert run(*command, "-o", tmp_path / name).exit_code == 0
        result = piped(*command, "-o", "-", *extra)
        assert result.exit_code == 0, result.stderr
        assert result.stdout_bytes == (tmp_path / name).read_bytes(), name
    # With the image on stdout, the report of --target-size goes to stderr.
    assert result.stderr == "" and "<stdout>:" not in result.stdout
    targeted = piped("encode", src, "-o", "-", "--target-size", "1500")
    assert f"{src} -> <stdout>: " in targeted.stderr


def test_standard_input_for_encode_decode_and_info(tmp_path):
    png = save_png(tmp_path / "a.png")
    jpg = tmp_path / "a.jpg"
    assert run("encode", png, "-o", jpg).exit_code == 0
    assert run("decode", jpg, "-o", tmp_path / "a.out.png").exit_code == 0

    assert piped("encode", "-", "-o", tmp_path / "s.jpg", stdin=png.read_bytes()).exit_code == 0
    assert (tmp_path / "s.jpg").read_bytes() == jpg.read_bytes()
    assert piped("decode", "-", "-o", tmp_path / "s.png", stdin=jpg.read_bytes()).exit_code == 0
    assert (tmp_path / "s.png").read_bytes() == (tmp_path / "a.out.png").read_bytes()
    both = piped("encode", "-", "-o", "-", stdin=png.read_bytes())
    assert both.exit_code == 0 and both.stdout_bytes == jpg.read_bytes()
    both = piped("decode", "-", "-o", "-", stdin=jpg.read_bytes())
    assert both.exit_code == 0 and both.stdout_bytes == (tmp_path / "a.out.png").read_bytes()

    info = json.loads(piped("info", "-", "--json", stdin=jpg.read_bytes()).stdout)
    assert info == {**json.loads(run("info", jpg, "--json").stdout), "file": "<stdin>"}
    assert piped("info", "-", stdin=jpg.read_bytes()).stdout.startswith("<stdin>: 32x24 JPEG")

    err = assert_one_line_error(piped("decode", "-", "-o", tmp_path / "x.png", stdin=b"hello"))
    assert err.startswith("hybrid: error: <stdin>: not a JPEG file")
    err = assert_one_line_error(piped("encode", "-", "-o", tmp_path / "x.jpg", stdin=b"hello"))
    assert err == "hybrid: error: <stdin>: not an image file hybrid can read"
    err = assert_one_line_error(piped("info", "-", stdin=b""))
    assert err.startswith("hybrid: error: <stdin>: ")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.jpg").exists()


def test_a_file_named_dash_is_still_a_file(tmp_path, monkeypatch):
    save_jpeg(tmp_path / "-")
    monkeypatch.chdir(tmp_path)
    result = run("info", "./-")
    assert result.exit_code == 0 and result.stdout.startswith("-: 32x24 JPEG")


def test_standard_streams_take_a_single_input(tmp_path):
    a, b = save_png(tmp_path / "in" / "a.png"), save_png(tmp_path / "in" / "b.png")
    jpg = save_jpeg(tmp_path / "c.jpg")
    for args in (
        ["encode", a, b, "-o", "-"],
        ["encode", tmp_path / "in", "-o", "-"],
        ["decode", jpg, jpg, "-o", "-"],
    ):
        assert "-o - (standard output) takes a single input" in assert_one_line_error(run(*args))
    for args in (["encode", "-", a, "-o", tmp_path / "out"], ["info", jpg, "-"]):
        assert "must be the only input" in assert_one_line_error(piped(*args, stdin=b""))
    err = assert_one_line_error(piped("encode", "-", "-o", f"{tmp_path}/", stdin=b""))
    assert "with - (standard input) give a file name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jpg", "in"]


def test_terminals_are_refused_as_standard_streams(tmp_path):
    """Binary image data is not written to a terminal, nor read from one (it would wait)."""
    import pty

    src = save_png(tmp_path / "a.png")
    master, terminal = pty.openpty()
    try:
        out = subprocess.run(
            [str(HYBRID), "encode", str(src), "-o", "-"],
            stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
        into = subprocess.run(
            [str(HYBRID), "decode", "-", "-o", str(tmp_path / "x.png")],
            stdin=terminal, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(master)
    assert out.returncode == 2 and out.stderr == (
        "hybrid: error: -o -: standard output is a terminal; redirect it to a file or a pipe "
        "(hybrid writes binary image data there)\n"
    )
    assert into.returncode == 2
    assert into.stderr.startswith("hybrid: error: <stdin>: standard input is a terminal")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
