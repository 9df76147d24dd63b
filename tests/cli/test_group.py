"""The hybrid command line: results, batches, and one-line errors with the right exit code."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from hybrid.cli import cli

HYBRID = Path(sys.executable).parent / "hybrid"


def photo(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) % 64 * 3], -1)
    return np.clip(base + rng.integers(-6, 7, (h, w, 3)), 0, 255).astype(np.uint8)


def save_png(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo(seed=seed)).save(path)
    return path


def save_jpeg(path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo()).save(path, format="JPEG", **kw)
    return path


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def assert_one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert "\n" not in err, err
    assert err.startswith("hybrid: error: "), err
    assert "Traceback" not in result.output
    return err


def no_temp_files(directory: Path) -> bool:
    return not any(p.name.startswith(".") for p in directory.rglob("*"))


# --- success -----------------------------------------------------------------------------


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


def test_decode_single_file(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg", quality=70)
    out = tmp_path / "a.png"
    result = run("decode", src, "-o", out)
    assert result.exit_code == 0, result.output
    expected = np.asarray(Image.open(src))
    np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)
    tiff = tmp_path / "a.out"
    assert run("decode", src, "-o", tiff, "--format", "tiff").exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tiff)), expected)


def test_info_text(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg", quality=60, progressive=True)
    result = run("info", src)
    assert result.exit_code == 0
    assert "32x24 JPEG, progressive" in result.stdout
    assert "estimated quality: 60" in result.stdout
    assert "quantization table 0" in result.stdout


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


# --- bad input: exit 2, one line, no traceback, no partial file ----------------------------


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


@pytest.mark.parametrize("content", [b"", b"plain text", b"\x89PNG\r\n\x1a\ntruncated"])
def test_bad_image_inputs_for_encode(tmp_path, content):
    src = tmp_path / "in.png"
    src.write_bytes(content)
    out = tmp_path / "out.jpg"
    assert_one_line_error(run("encode", src, "-o", out))
    assert not out.exists() and no_temp_files(tmp_path)


def test_directory_as_input(tmp_path):
    assert_one_line_error(run("info", tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("encode", empty, "-o", tmp_path / "out")
    assert result.exit_code == 2 and "no input files found" in result.stderr


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


def test_unknown_decode_format(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg")
    assert "--format" in assert_one_line_error(run("decode", src, "-o", tmp_path / "a.xyz"))


def test_enhance_without_weights(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg")
    out = tmp_path / "a.png"
    assert_one_line_error(run("decode", src, "-o", out, "--enhance", "--model", "no-such-model"))
    assert not out.exists()


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


def _tiny_weights(path: Path) -> Path:
    import torch

    from hybrid.enhance.nets import EnhanceNet

    torch.manual_seed(0)
    net = EnhanceNet(channels=8, blocks=1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    torch.save(
        {
            "model": net.state_dict(),
            "architecture": "EnhanceNet",
            "kwargs": {"channels": 8, "blocks": 1},
        },
        path,
    )
    return path


def test_decode_enhance_16_bit_png(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg")
    weights = _tiny_weights(tmp_path / "w.pt")
    out = tmp_path / "a16.png"
    result = run(
        "decode", str(src), "-o", str(out), "--enhance", "--weights", str(weights), "--bits", "16"
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.size == (32, 24)
    import imagecodecs

    arr = imagecodecs.png_decode(out.read_bytes())
    assert arr.dtype == np.uint16 and arr.shape == (24, 32, 3)
    assert len(np.unique(arr % 257)) > 1  # real 16-bit values, not 8-bit ones scaled up
    bad = run("decode", str(src), "-o", str(tmp_path / "a.jpg2"), "--bits", "16", "--format", "jpg")
    assert_one_line_error(bad)


def test_decode_precision_option(tmp_path):
    import imagecodecs

    src = save_jpeg(tmp_path / "a.jpg", quality=30)
    weights = _tiny_weights(tmp_path / "w.pt")
    arrays = {}
    for precision in ("fp32", "bf16", "auto"):
        out = tmp_path / f"{precision}.png"
        result = run("decode", src, "-o", out, "--enhance", "--weights", weights, "--bits", "16",
                     "--precision", precision)  # fmt: skip
        assert result.exit_code == 0, result.output
        arrays[precision] = imagecodecs.png_decode(out.read_bytes()).astype(np.float64) / 65535
    diff = np.abs(arrays["bf16"] - arrays["fp32"])
    assert 0 < diff.mean() < 0.5 / 255  # bf16 ran, and stays close to fp32
    from hybrid.enhance.precision import resolve_precision

    assert np.array_equal(arrays["auto"], arrays[resolve_precision("auto", "cpu")])
    err = assert_one_line_error(run("decode", src, "-o", tmp_path / "x.png", "--enhance",
                                    "--weights", weights, "--precision", "fp16"))  # fmt: skip
    assert "--precision" in err and "fp16" in err
    assert not (tmp_path / "x.png").exists()


def test_decode_enhance_with_tampered_or_missing_weights(tmp_path, monkeypatch):
    src = save_jpeg(tmp_path / "a.jpg")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a weights file")
    assert_one_line_error(
        run(
            "decode",
            str(src),
            "-o",
            str(tmp_path / "x.png"),
            "--enhance",
            "--weights",
            str(garbage),
        )
    )
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path / "empty"))
    message = assert_one_line_error(
        run("decode", str(src), "-o", str(tmp_path / "y.png"), "--enhance")
    )
    assert "model" in message
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


def test_models_lists_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))
    result = run("models")
    assert result.exit_code == 0 and "no models installed" in result.output
    result = run("models", "--json")
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_models_marks_the_default_of_each_task():
    from hybrid.downscaled import SR_MODEL_BY_SCALE
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, load_manifest

    result = run("models")
    assert result.exit_code == 0
    lines = {line.split(" ", 1)[0].rstrip(":"): line for line in result.output.splitlines()}
    installed = load_manifest()
    if DEFAULT_ENHANCE_MODEL in installed:
        assert "(default)" in lines[DEFAULT_ENHANCE_MODEL]
    for scale, model_id in SR_MODEL_BY_SCALE.items():
        if model_id in installed:
            assert f"(default for files downscaled x{scale:g}" in lines[model_id]
    assert SR_MODEL_BY_SCALE[1.5] in installed and SR_MODEL_BY_SCALE[2.0] in installed


# --- standard input and output, -o DIR/ --------------------------------------------------


def piped(*args, stdin: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=stdin)


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
