"""The torch-free onnx decode backend: the same pixels as torch, no torch import."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

pytest.importorskip("onnxruntime")

import hybrid  # noqa: E402
from hybrid.cli import cli  # noqa: E402
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, weights_dir  # noqa: E402
from hybrid.errors import InputError, WeightsError  # noqa: E402
from hybrid.metrics import psnr  # noqa: E402
from tests.helpers.imports import imported_after  # noqa: E402


def _jpeg(img: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


@pytest.mark.parametrize("quality", [20, 50])
def test_onnx_decode_matches_torch(quality):
    """Pixel-identical but for float rounding; the same PSNR gain within 0.01 dB."""
    gains = {"torch": [], "onnx": [], "onnx-int8": []}
    for img in (data.astronaut()[:256, :320], data.coffee()[100:300, 200:520]):
        jpeg = _jpeg(img, quality)
        plain = hybrid.decode_array(jpeg, enhance=False)
        out = {
            b: hybrid.decode_array(jpeg, enhance=True, precision="fp32", backend=b, threads=1)
            for b in gains
        }
        steps = np.abs(np.round(out["torch"] * 255) - np.round(out["onnx"] * 255))
        assert (steps <= 1).mean() >= 0.999
        assert np.abs(out["torch"] - out["onnx"]).max() < 1e-3
        for b, arr in out.items():
            gains[b].append(psnr(img / 255.0, arr, peak=1.0) - psnr(img / 255.0, plain, peak=1.0))
    assert abs(np.mean(gains["onnx"]) - np.mean(gains["torch"])) < 0.01
    assert np.mean(gains["onnx-int8"]) > np.mean(gains["torch"]) - 0.2
    assert np.mean(gains["onnx-int8"]) > 0.5


def test_onnx_decode_of_greyscale_and_near_lossless():
    grey = np.asarray(Image.fromarray(data.camera()[:96, :136]))
    jpeg = _jpeg(grey, 30)
    # One model on both sides (the classifier calls this crop, sky and a coat, a screen;
    # the photo model is the one this test has always compared).
    a = hybrid.decode_array(jpeg, enhance=True, precision="fp32", content="photo")
    b = hybrid.decode_array(jpeg, enhance=True, backend="onnx", content="photo")
    assert a.shape == b.shape == (96, 136, 1) and np.abs(a - b).max() < 1e-3
    lossless = _jpeg(data.astronaut()[:64, :64], 97)
    plain = hybrid.decode_array(lossless, enhance=False)
    assert np.array_equal(hybrid.decode_array(lossless, enhance=True, backend="onnx"), plain)


def test_enhanced_onnx_decode_does_not_import_torch(tmp_path):
    src = tmp_path / "in.jpg"
    src.write_bytes(_jpeg(data.astronaut()[:64, :96], 25))
    code = (
        "import hybrid\n"
        f"img = hybrid.decode({str(src)!r}, enhance=True, backend='onnx')\n"
        "assert img.size == (96, 64), img.size\n"
    )
    assert imported_after(code, ["torch", "onnxruntime"]) == ["onnxruntime"]


def test_cli_decode_backend(tmp_path):
    src = tmp_path / "in.jpg"
    src.write_bytes(_jpeg(data.astronaut()[:64, :96], 25))
    runner = CliRunner()
    for backend in ("onnx", "onnx-int8"):
        dst = tmp_path / f"{backend}.png"
        result = runner.invoke(
            cli, ["decode", str(src), "-o", str(dst), "--enhance", "--backend", backend]
        )
        assert result.exit_code == 0, result.output
        assert Image.open(dst).size == (96, 64)
    result = runner.invoke(cli, ["decode", str(src), "-o", str(dst), "--backend", "tf"])
    assert result.exit_code == 2


def test_backend_errors(tmp_path, monkeypatch):
    jpeg = _jpeg(data.astronaut()[:32, :32], 40)
    with pytest.raises(InputError, match="backend must be"):
        hybrid.decode(jpeg, enhance=True, backend="tensorflow")
    with pytest.raises(InputError, match="weights file"):
        hybrid.decode(jpeg, enhance=True, backend="onnx", weights="x.safetensors")
    with pytest.raises(WeightsError, match="not super-resolution"):
        hybrid.decode(jpeg, enhance=True, backend="onnx", scale=2, sr_model="enhance-fast-v4")
    # an export that is not installed, and one whose bytes were changed
    real = weights_dir()
    for name in ("manifest.json", f"{DEFAULT_ENHANCE_MODEL}.fp32.onnx"):
        shutil.copy(real / name, tmp_path / name)
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="export-onnx"):
        hybrid.decode(jpeg, enhance=True, backend="onnx")
    manifest = json.loads((real / "onnx.json").read_text())
    (tmp_path / "onnx.json").write_text(json.dumps(manifest))
    with (tmp_path / f"{DEFAULT_ENHANCE_MODEL}.fp32.onnx").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(WeightsError, match="sha256"):
        hybrid.decode(jpeg, enhance=True, backend="onnx")
