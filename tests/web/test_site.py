"""``hybrid web``: the static gallery site's files, its refusals, the npm metadata and the
preview server. The site in Chromium, with and without cross-origin isolation, is
tests/web/test_agreement.py.

Needs onnxruntime-web in build/web-deps (``scripts/fetch_web_deps.sh``): skipped without it,
failed under CI=true.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

import hybrid
from hybrid.cli import cli
from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS, DEFAULT_ENHANCE_MODEL
from hybrid.web_site import ORT_FILES, ORT_WEBGPU_FILES, WEB_DIR, find_jpegs, sr_models_for
from tests.web.browser import require_ort

ROOT = Path(__file__).resolve().parents[2]
#: The models a site ships by default: each content class's, the photo model first.
SHIPPED = (DEFAULT_ENHANCE_MODEL, DEFAULT_CONTENT_MODELS["screen"])


@pytest.fixture
def ort_installed() -> None:
    require_ort()


def _jpeg(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=2)  # 4:2:0
    return buf.getvalue()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    (folder / "q20.jpg").write_bytes(_jpeg(data.astronaut()[:200, 100:340], 20))
    (folder / "coffee & q50.jpeg").write_bytes(_jpeg(data.coffee()[150:310, 200:424], 50))
    (folder / "notes.txt").write_text("not an image")
    return folder


def _web(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["web", *args], standalone_mode=False)
    return result.return_value, result.output


def test_site_files(ort_installed, photos, tmp_path):
    site = tmp_path / "site"
    code, _ = _web(str(photos), "-o", str(site))
    assert code == 0
    files = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    models = [f"{model}.fp32.onnx" for model in SHIPPED]
    assert files == sorted(
        ["_headers", "index.html", "images/q20.jpg", "images/coffee & q50.jpeg",
         "weights/onnx.json"]
        + [f"weights/{name}" for name in models]
        + [f"ort/{name}" for name in ORT_FILES + ORT_WEBGPU_FILES]
        + [f"web/{p.name}" for p in WEB_DIR.glob("*.js")]
    )  # fmt: skip
    for name in ("q20.jpg", "coffee & q50.jpeg"):
        assert (site / "images" / name).read_bytes() == (photos / name).read_bytes()
    assert (site / "_headers").read_text() == (
        "/*\n  Cross-Origin-Opener-Policy: same-origin\n"
        "  Cross-Origin-Embedder-Policy: require-corp\n"
    )
    manifest = json.loads((site / "weights/onnx.json").read_text())
    assert [entry["id"] for entry in manifest["models"]] == list(SHIPPED)
    for entry, name in zip(manifest["models"], models, strict=True):
        assert list(entry["variants"]) == ["fp32"]
        digest = hashlib.sha256((site / "weights" / name).read_bytes()).hexdigest()
        assert digest == entry["variants"]["fp32"]["sha256"]
    page = (site / "index.html").read_text()
    assert page.count("data-hybrid>") == 2
    assert 'src="images/coffee%20%26%20q50.jpeg"' in page and "coffee &amp; q50.jpeg" in page
    assert not list(site.rglob(".*.tmp"))


def test_site_ships_the_super_resolution_models_its_downscaled_files_need(tmp_path):
    """A downscaled file brings the SR model the Python ONNX decoder would run (here its
    record's); ordinary files bring none."""
    image = data.astronaut()[:96, :128]
    (tmp_path / "x2.jpg").write_bytes(hybrid.encode(image, quality=30, scale=2.0))
    (tmp_path / "x1.5.jpg").write_bytes(hybrid.encode(image, quality=30, scale=1.5))
    (tmp_path / "plain.jpg").write_bytes(hybrid.encode(image, quality=30))
    jpegs = find_jpegs(tmp_path)
    assert sr_models_for(jpegs) == ["sr-fast-x1.5-v1", "sr-fast-v1"]
    assert sr_models_for([tmp_path / "plain.jpg"]) == []


def test_site_refusals(ort_installed, photos, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "old.txt").write_text("x")
    code, out = _web(str(photos), "-o", str(site))
    assert code == 2 and out == f"hybrid: error: {site}: not empty (use --force to write into it)\n"
    assert sorted(p.name for p in site.iterdir()) == ["old.txt"]
    code, _ = _web(
        str(photos), "-o", str(site), "--force", "--variant", "int8", "--variant", "fp32"
    )
    assert code == 0
    assert list(json.loads((site / "weights/onnx.json").read_text())["models"][0]["variants"]) == [
        "int8",
        "fp32",
    ]
    assert '"variant": "int8"' in (site / "index.html").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = _web(str(empty), "-o", str(tmp_path / "s2"))
    assert code == 2 and out.count("\n") == 1 and "no JPEG files" in out
    (empty / "fake.jpg").write_text("hello")
    code, out = _web(str(empty), "-o", str(tmp_path / "s2"))
    assert (
        code == 2
        and out == f"hybrid: error: {empty / 'fake.jpg'}: not a JPEG file (no SOI marker)\n"
    )
    code, out = _web(str(photos), "-o", str(tmp_path / "s3"), "--ort-dir", str(empty))
    assert code == 2 and out.count("\n") == 1 and "run scripts/fetch_web_deps.sh" in out
    assert not (tmp_path / "s2").exists() and not (tmp_path / "s3").exists()


def test_npm_package_metadata():
    """hybrid/web/package.json: publishable as is, its version the Python package's and its
    onnxruntime-web pin the one scripts/fetch_web_deps.sh installs."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    package = json.loads((WEB_DIR / "package.json").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert package["version"] == project["project"]["version"]
    assert package["type"] == "module"
    pin = re.search(r"onnxruntime-web@(\S+)", (ROOT / "scripts/fetch_web_deps.sh").read_text())
    assert package["dependencies"] == {"onnxruntime-web": pin.group(1)}
    shipped = {p.name for p in WEB_DIR.glob("*.js")}
    assert set(package["files"]) == shipped
    targets = {v.removeprefix("./") for v in package["exports"].values()}
    assert targets <= shipped and "hybrid-enhance.js" in targets
    assert "web/package.json" in project["tool"]["setuptools"]["package-data"]["hybrid"]


def test_serve_command_binds_localhost_with_isolation_headers(ort_installed, photos, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "hybrid"), "web", str(photos), "-o", str(site),
         "--serve", "--port", "0"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
        # Ctrl-C as at a terminal, even when the suite itself runs in the background (a
        # shell's `cmd &` starts it with SIGINT ignored, and children inherit that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert proc.stderr.readline().startswith(f"hybrid: wrote {site}: 2 images")
        line = proc.stderr.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)", line).group(1)
        with urllib.request.urlopen(url + "ort/ort-wasm-simd-threaded.wasm") as response:
            assert response.headers["Content-Type"] == "application/wasm"
            assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        with urllib.request.urlopen(url + "web/gallery.js") as response:
            assert response.headers["Content-Type"] == "text/javascript"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and err == "hybrid: stopped\n"
