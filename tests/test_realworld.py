"""Every file of the real-world corpus (../shared/realworld: phone, camera and other
encoders' JPEG/MPO files from Pillow's, libjpeg-turbo's and mozjpeg's test suites) through
info, plain decode, enhanced decode, coefficients and re-encode, against what Pillow and
libjpeg (djpeg) do with the same file.

What holds for each file:
- every outcome is a result or a typed, one-line refusal (exit 2), never exit 1 or a
  traceback;
- a file Pillow decodes decodes to Pillow's pixels with the EXIF orientation applied
  (``ImageOps.exif_transpose``), as browsers show it;
- a file Pillow decodes as 8-bit Huffman-coded YCbCr or greyscale (MPO included) enhances,
  at the same size, and its coefficients read;
- outputs keep the source's ICC profile and EXIF (the orientation reset to 1), re-encodes
  keep XMP and IPTC too;
- no damage flag on a file djpeg decodes without a warning.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

import hybrid
from hybrid.cli import cli
from hybrid.errors import InputError, JpegDataWarning

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".mpo"))

if not FILES:
    if os.environ.get("CI"):
        raise RuntimeError(f"the real-world corpus is missing: {CORPUS}")
    pytest.skip(f"no real-world corpus at {CORPUS}", allow_module_level=True)


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


@cache
def pillow_reference(path: Path) -> tuple[np.ndarray, str] | None:
    """Pillow's upright pixels and mode, or None when Pillow cannot decode the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.load()
                return np.asarray(ImageOps.exif_transpose(image)), image.mode
    except (OSError, SyntaxError, ValueError):
        return None


@cache
def source_metadata(path: Path) -> tuple[bool, bool, bool]:
    """(has an ICC profile, has EXIF, has XMP) as Pillow reads them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as image:
            info = image.info
            return bool(info.get("icc_profile")), bool(info.get("exif")), bool(info.get("xmp"))


def enhanceable(path: Path) -> bool:
    """Pillow decodes it as 8-bit L/RGB, and it is Huffman-coded (the network reads the
    coefficients through libjpeg's Huffman decoder)."""
    reference = pillow_reference(path)
    if reference is None or reference[1] not in ("L", "RGB"):
        return False
    return not hybrid.info(path).arithmetic


def djpeg_is_silent(path: Path) -> bool:
    run = subprocess.run(
        ["djpeg", "-outfile", os.devnull, str(path)], capture_output=True, check=False
    )
    return run.returncode == 0 and not run.stderr.strip()


def run_cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def exif_orientation(payload: bytes) -> int:
    """The Orientation tag of an EXIF block; 1 (what viewers assume) when unreadable."""
    parsed = Image.Exif()
    try:
        parsed.load(payload)
    except (SyntaxError, ValueError, OSError, struct.error):
        return 1
    return int(parsed.get(0x0112, 1))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_info_and_plain_decode_match_pillow(path):
    try:
        hybrid.info(path)
    except InputError:
        pass
    reference = pillow_reference(path)
    if reference is None:
        with pytest.raises(InputError):
            hybrid.decode(path)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = hybrid.decode(path)
    np.testing.assert_array_equal(np.asarray(image), reference[0])
    messages = [str(w.message) for w in caught if issubclass(w.category, JpegDataWarning)]
    assert len(messages) == len(set(messages)), f"a warning came twice: {messages}"
    if shutil.which("djpeg") and djpeg_is_silent(path):
        assert "hybrid_damage" not in image.info
        assert not [m for m in messages if "damage" in m]


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_coefficients(path):
    """Exact coefficients of every enhanceable file whose data is intact (damaged data,
    where libjpeg invents coefficients, is refused: see tests/robustness)."""
    if enhanceable(path) and not (shutil.which("djpeg") and not djpeg_is_silent(path)):
        frame = hybrid.read_coefficients(path)
        assert frame.components
    else:
        try:
            hybrid.read_coefficients(path)
        except InputError:
            pass


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_cli_decodes_keep_colour_and_orientation(path, tmp_path):
    has_icc, has_exif, _ = source_metadata(path) if pillow_reference(path) else (0, 0, 0)
    for extra in ([], ["--enhance"]):
        out = tmp_path / f"out{len(extra)}.png"
        code, output = run_cli("decode", path, "-o", out, *extra)
        assert "Traceback" not in output
        assert code in (0, 2), output
        expect_ok = pillow_reference(path) is not None and (not extra or enhanceable(path))
        assert code == (0 if expect_ok else 2), output
        if code == 2:
            assert output.count("hybrid: error:") == 1
            assert not out.exists()
            continue
        with Image.open(out) as png:
            png.load()
            assert png.size == pillow_reference(path)[0].shape[1::-1]  # upright size
            if has_icc:
                assert png.info.get("icc_profile"), "the ICC profile was dropped"
            if has_exif and exif_orientation(png.info.get("exif", b"")) != 1:
                raise AssertionError("the orientation was applied but the EXIF tag kept")
            if has_exif:
                assert png.info.get("exif"), "the EXIF block was dropped"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_reencode_keeps_metadata(path):
    reference = pillow_reference(path)
    if reference is None:
        with pytest.raises(InputError):
            hybrid.encode(path)
        return
    data = hybrid.encode(path, quality=90)  # CMYK: to sRGB through its profile
    has_icc, has_exif, has_xmp = source_metadata(path)
    with Image.open(io.BytesIO(data)) as out:
        assert out.size == reference[0].shape[1::-1]
        assert bool(out.info.get("icc_profile")) == has_icc
        assert bool(out.info.get("exif")) == has_exif
        if has_exif:
            assert exif_orientation(out.info["exif"]) == 1
        assert bool(out.info.get("xmp")) == has_xmp
    stripped = hybrid.info(hybrid.encode(path, quality=90, strip="all"))
    assert not (stripped.has_icc or stripped.has_exif or stripped.has_xmp)


def test_damaged_files_enhance_with_a_warning_and_strict_refuses(tmp_path):
    """A file whose scan data libjpeg had to skip (hopper_bad_exif.jpg: 1215 extraneous
    bytes before RST0) enhances as it decodes, from the coefficients libjpeg fills in, with
    one warning line; ``--strict`` refuses it."""
    path = CORPUS / "pillow" / "hopper_bad_exif.jpg"
    code, output = run_cli("decode", path, "-o", tmp_path / "e.png", "--enhance")
    assert code == 0, output
    assert output.count("hybrid: warning:") == 1 and "damaged" in output
    code, output = run_cli("decode", path, "-o", tmp_path / "s.png", "--enhance", "--strict")
    assert code == 2 and output.count("hybrid: error:") == 1
    assert not (tmp_path / "s.png").exists()
