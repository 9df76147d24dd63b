"""The ``hybrid`` group (hybrid/cli/group.py): one-line errors with the documented exit
codes for bad input, usage errors and bugs; the installed console script; extension
commands loaded only when run."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.helpers.cli import HYBRID, assert_one_line_error, no_temp_files, photo, run, save_png


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo()).save(buf, format="JPEG")
    return buf.getvalue()


BAD_JPEGS = {
    "empty.jpg": b"",
    "cut-10.jpg": jpeg_bytes()[:10],
    "cut-200.jpg": jpeg_bytes()[:200],
    "cut-end.jpg": jpeg_bytes()[:-1],
    "png.jpg": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    "text.jpg": b"hello world\n",
    "garbage.jpg": bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)),
}


@pytest.mark.parametrize("name", sorted(BAD_JPEGS))
@pytest.mark.parametrize("command", ["decode", "info"])
def test_bad_jpeg_inputs(tmp_path, name, command):
    src = tmp_path / name
    src.write_bytes(BAD_JPEGS[name])
    out = tmp_path / "out.png"
    args = ["decode", src, "-o", out] if command == "decode" else ["info", src]
    err = assert_one_line_error(run(*args))
    assert name in err or "empty" in err or "JPEG" in err or "truncated" in err
    assert not out.exists() and no_temp_files(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "--bogus"],
        ["frobnicate"],
        ["encode", "IN", "-o", "OUT", "--quality", "0"],
        ["encode", "IN", "-o", "OUT", "--quality", "101"],
        ["encode", "IN", "-o", "OUT", "--quality", "abc"],
        ["encode", "IN", "-o", "OUT", "--subsampling", "4:1:1"],
        ["encode", "IN"],
        ["decode", "IN", "-o", "OUT", "--device", "tpu"],
        ["decode", "IN", "-o", "OUT", "--threads", "0"],
    ],
)
def test_usage_errors(tmp_path, args):
    src = save_png(tmp_path / "in.png")
    args = [str(src) if a == "IN" else str(tmp_path / "o.jpg") if a == "OUT" else a for a in args]
    assert_one_line_error(run(*args))
    assert not (tmp_path / "o.jpg").exists()


def test_internal_error_is_one_line_exit_1(tmp_path, monkeypatch):
    import hybrid.api

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(hybrid.api, "encode", broken)
    src = save_png(tmp_path / "a.png")
    result = run("encode", src, "-o", tmp_path / "a.jpg")
    assert result.exit_code == 1
    assert result.stderr.strip() == "hybrid: internal error: RuntimeError: simulated bug"
    debug = run("encode", src, "-o", tmp_path / "a.jpg", env={"HYBRID_DEBUG": "1"})
    assert debug.exit_code == 1 and "Traceback" in debug.stderr


def test_real_console_script(tmp_path):
    """The installed entry point, as a user runs it."""
    src = save_png(tmp_path / "a.png")
    out = tmp_path / "a.jpg"
    ok = subprocess.run(
        [str(HYBRID), "encode", str(src), "-o", str(out), "-q", "90"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    info = subprocess.run(
        [str(HYBRID), "info", "--json", str(out)], capture_output=True, text=True, timeout=120
    )
    assert info.returncode == 0 and json.loads(info.stdout)["estimated_quality"] == 90
    bad = subprocess.run(
        [str(HYBRID), "decode", str(src), "-o", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"hybrid: error: {src}: not a JPEG file (it looks like PNG)"
    assert not (tmp_path / "x.png").exists()


class _FakeEntryPoint:
    def __init__(self, name, target):
        self.name, self.value, self._target = name, f"fake.module:{name}", target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_extension_commands_are_lazy(monkeypatch):
    import click

    from hybrid.cli.group import HybridGroup

    @click.command("hello")
    def hello():
        click.echo("hi from an extension")

    plugins = {
        "hello": _FakeEntryPoint("hello", hello),
        "broken": _FakeEntryPoint("broken", ImportError("No module named 'torch'")),
    }
    monkeypatch.setattr(HybridGroup, "_plugins", lambda self: plugins)
    listing = run("--help")
    assert "hello" in listing.stdout and "(extension: fake.module:hello)" in listing.stdout
    ran = run("hello")
    assert ran.exit_code == 0 and ran.stdout.strip() == "hi from an extension"
    err = assert_one_line_error(run("broken"), code=1)
    assert "cannot be loaded" in err and "torch" in err
