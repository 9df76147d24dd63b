"""hybrid.perceptual: butteraugli through libjxl's butteraugli_main, against known relations
and against the tool's own output on PNG files."""

from __future__ import annotations

import io
import subprocess
import tempfile

import numpy as np
import pytest
from PIL import Image

from hybrid import perceptual
from hybrid.errors import HybridError, InputError
from hybrid.perceptual import ButteraugliDistance, butteraugli
from tests.helpers.butteraugli import need_butteraugli


def photo(size: tuple[int, int] = (96, 128)) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize(size[::-1], Image.Resampling.LANCZOS)
    return np.asarray(image)


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


@pytest.fixture
def tool() -> str:
    return need_butteraugli()


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's folder pointed at an empty directory, to see what is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_identical_images_are_at_distance_zero(tool):
    pixels = photo()
    assert butteraugli(pixels, pixels) == ButteraugliDistance(0.0, 0.0)
    grey = pixels[:, :, 1].copy()
    assert butteraugli(grey, grey) == ButteraugliDistance(0.0, 0.0)


def test_more_compression_is_a_larger_distance(tool):
    pixels = photo()
    distances = [butteraugli(pixels, jpeg(pixels, q)) for q in (95, 75, 40, 10)]
    for finer, coarser in zip(distances, distances[1:], strict=False):
        assert 0 < finer.pnorm3 < coarser.pnorm3
        assert finer.max_norm < coarser.max_norm
    # The max-norm is the worst region, the 3-norm a mean: never above it.
    assert all(d.pnorm3 <= d.max_norm for d in distances)


def test_a_hand_made_pair(tool):
    # A flat mid-grey field with one bright 6x6 square: a local difference, so the max-norm
    # is large while the 3-norm, spread over 64x64 pixels, stays well under it; a square of
    # half the contrast is closer on both norms.
    flat = np.full((64, 64, 3), 128, np.uint8)
    bright, faint = flat.copy(), flat.copy()
    bright[29:35, 29:35] = 255
    faint[29:35, 29:35] = 192
    strong, weak = butteraugli(flat, bright), butteraugli(flat, faint)
    assert strong.max_norm > 2 * strong.pnorm3 > 0
    assert 0 < weak.pnorm3 < strong.pnorm3 and 0 < weak.max_norm < strong.max_norm
    # A change that is the same everywhere has no worst region: both norms agree.
    uniform = butteraugli(flat, flat + 1)
    assert uniform.pnorm3 > 0 and uniform.pnorm3 == pytest.approx(uniform.max_norm, rel=1e-3)


def test_equals_the_tool_run_on_png_files(tool, tmp_path):
    pixels = photo()
    distorted = jpeg(pixels, 30)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(distorted).save(tmp_path / "b.png")
    out = subprocess.run(
        [tool, str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--pnorm", "3"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    # e.g. "4.4555258751", "3-norm:", "2.207814"
    expected = ButteraugliDistance(pnorm3=float(out[2]), max_norm=float(out[0]))
    assert out[1] == "3-norm:"
    assert butteraugli(pixels, distorted) == expected
    # A float image holding the same whole values, as rate control passes, gives the same.
    assert butteraugli(pixels.astype(np.float64), distorted.astype(np.float32)) == expected


def test_bad_input_is_refused_before_the_tool_runs(monkeypatch):
    monkeypatch.setattr(perceptual, "butteraugli_tool", lambda: "/nonexistent/tool")
    pixels = photo()
    with pytest.raises(ValueError, match="differ in shape"):
        butteraugli(pixels, pixels[:64])
    with pytest.raises(ValueError, match="at least 8x8"):
        butteraugli(pixels[:7, :50], pixels[:7, :50])
    with pytest.raises(ValueError, match="0..255"):
        butteraugli(pixels, pixels * 2.0)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        butteraugli(pixels[None], pixels[None])


def test_missing_tool_is_one_clear_input_error(monkeypatch):
    monkeypatch.setattr(perceptual.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="butteraugli_main, not installed .*libjxl-devtools"):
        butteraugli(photo(), photo())


def test_no_temporary_files_are_left_behind(tool, private_tmp, monkeypatch):
    pixels = photo()
    butteraugli(pixels, jpeg(pixels, 50))
    assert list(private_tmp.iterdir()) == []
    # Nor when the tool fails or prints something else than two distances.
    monkeypatch.setattr(perceptual, "butteraugli_tool", lambda: "/bin/false")
    with pytest.raises(HybridError, match=r"butteraugli_main failed \(exit 1\)"):
        butteraugli(pixels, pixels)
    monkeypatch.setattr(perceptual, "butteraugli_tool", lambda: "/bin/echo")
    with pytest.raises(HybridError, match="unexpected butteraugli_main output"):
        butteraugli(pixels, pixels)
    assert list(private_tmp.iterdir()) == []


def test_version_names_the_build(tool):
    version = perceptual.butteraugli_version()
    assert version.startswith("butteraugli_main-") and len(version) == len("butteraugli_main-") + 12
    assert version == perceptual.butteraugli_version()
