"""``hybrid decode`` (hybrid/cli/decode.py): output formats, 16-bit PNG, --precision, and
one-line errors for unknown formats and missing or tampered weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers.cli import assert_one_line_error, run, save_jpeg


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


def test_unknown_decode_format(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg")
    assert "--format" in assert_one_line_error(run("decode", src, "-o", tmp_path / "a.xyz"))


def test_enhance_without_weights(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg")
    out = tmp_path / "a.png"
    assert_one_line_error(run("decode", src, "-o", out, "--enhance", "--model", "no-such-model"))
    assert not out.exists()


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
