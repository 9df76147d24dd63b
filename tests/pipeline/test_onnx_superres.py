"""Downscaled files (and ``scale``) through the onnx backends: the super-resolution network's
ONNX export in place of the torch call, the same pixels as torch, no torch import."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

pytest.importorskip("onnxruntime")

import hybrid  # noqa: E402
from hybrid.cli import cli  # noqa: E402
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, weights_dir  # noqa: E402
from hybrid.errors import MissingModelWarning, WeightsError  # noqa: E402
from hybrid.metrics import psnr  # noqa: E402
from tests.helpers.imports import imported_after  # noqa: E402

#: coffee (400x600): at x2 the coded image is 200x300, at x1.5 267x400 -- odd sizes, off the
#: 16-pixel grid, two and four SR tiles of 256 px.
COFFEE = data.coffee()


def _decodes(jpeg: bytes, **kw) -> dict[str, np.ndarray]:
    return {
        b: hybrid.decode_array(jpeg, enhance=True, backend=b, precision="fp32", threads=1, **kw)
        for b in ("torch", "onnx", "onnx-int8")
    }


@pytest.mark.parametrize(("scale", "quality"), [(2.0, 30), (1.5, 20)])
def test_sr_onnx_decode_matches_torch(scale, quality):
    """fp32: the torch backend's array within 1e-5 and its PSNR within 0.001 dB (measured:
    4e-7 and 3e-6 dB); int8: within 0.05 dB of it (measured 0.01)."""
    jpeg = hybrid.encode(COFFEE, scale=scale, quality=quality)
    out = _decodes(jpeg)
    assert {a.shape for a in out.values()} == {COFFEE.shape}
    ref = COFFEE / 255.0
    scores = {b: psnr(ref, np.round(a * 255) / 255, peak=1.0) for b, a in out.items()}
    assert np.abs(out["torch"] - out["onnx"]).max() < 1e-5
    assert abs(scores["onnx"] - scores["torch"]) < 1e-3
    assert abs(scores["onnx-int8"] - scores["torch"]) < 0.05
    assert np.abs(out["torch"] - out["onnx-int8"]).mean() < 0.01
    # and the network did run: well above the plain decode upscaled (bicubic)
    bicubic = hybrid.decode_array(jpeg, enhance=False, upscale=True)
    assert scores["onnx-int8"] > psnr(ref, bicubic, peak=1.0) + 0.3


def test_sr_onnx_greyscale_scale_and_flips():
    """A greyscale downscaled file keeps one channel; ``scale`` on an ordinary file and the
    self-ensemble of the quality model (flips 4) agree with torch too."""
    grey = data.camera()[100:260, 60:300]
    jpeg = hybrid.encode(grey, scale=2.0, quality=40)
    a, b = (hybrid.decode_array(jpeg, enhance=True, backend=k, precision="fp32") for k in
            ("torch", "onnx"))  # fmt: skip
    assert a.shape == b.shape == (160, 240, 1) and np.abs(a - b).max() < 1e-5
    plain = hybrid.encode(COFFEE[:96, :136], quality=50)
    a, b = (
        hybrid.decode_array(plain, enhance=True, backend=k, precision="fp32", scale=1.5,
                            sr_model="sr-quality-v1")
        for k in ("torch", "onnx")
    )  # fmt: skip
    assert a.shape == b.shape == (144, 204, 3) and np.abs(a - b).max() < 1e-5


def test_sr_onnx_decode_does_not_import_torch(tmp_path):
    src = tmp_path / "small.jpg"
    src.write_bytes(hybrid.encode(COFFEE[:90, :130], scale=2.0, quality=30))
    code = (
        "import hybrid\n"
        f"img = hybrid.decode({str(src)!r}, enhance=True, backend='onnx-int8')\n"
        "assert img.size == (130, 90), img.size\n"
        f"img = hybrid.decode({str(src)!r}, enhance=True, backend='onnx', scale=3)\n"
        "assert img.size == (195, 135), img.size\n"
    )
    assert imported_after(code, ["torch", "onnxruntime"]) == ["onnxruntime"]


def test_cli_decodes_downscaled_file_with_onnx(tmp_path):
    src = tmp_path / "small.jpg"
    src.write_bytes(hybrid.encode(COFFEE[:90, :130], scale=1.5, quality=30))
    for backend in ("onnx", "onnx-int8"):
        dst = tmp_path / f"{backend}.png"
        result = CliRunner().invoke(
            cli, ["decode", str(src), "-o", str(dst), "--enhance", "--backend", backend]
        )
        assert result.exit_code == 0, result.output
        assert Image.open(dst).size == (130, 90)


def test_sr_without_onnx_export_falls_back_or_names_the_command(tmp_path, monkeypatch):
    """An SR model without an ONNX export is passed over (the enhancement export plus
    bicubic, with a warning), and one named explicitly is an error naming export-onnx."""
    real = weights_dir()
    entries = json.loads((real / "onnx.json").read_text())
    entries["models"] = [m for m in entries["models"] if m["id"] == DEFAULT_ENHANCE_MODEL]
    (tmp_path / "onnx.json").write_text(json.dumps(entries))
    for name in ("manifest.json", f"{DEFAULT_ENHANCE_MODEL}.fp32.onnx"):
        shutil.copy(real / name, tmp_path / name)
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))
    jpeg = hybrid.encode(COFFEE[:64, :96], scale=2.0, quality=30)
    with pytest.warns(MissingModelWarning, match="ONNX export"):
        image = hybrid.decode(jpeg, enhance=True, backend="onnx", content="photo")
    assert image.size == (96, 64)
    with pytest.raises(WeightsError, match="export-onnx sr-fast-v1"):
        hybrid.decode(jpeg, enhance=True, backend="onnx", sr_model="sr-fast-v1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hybrid.decode(jpeg, enhance=True, backend="onnx", upscale=False).size == (48, 32)
