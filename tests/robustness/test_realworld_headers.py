"""Real-world header oddities (``../shared/realworld``, Pillow's, libjpeg-turbo's and mozjpeg's
test images): hybrid decodes what libjpeg and Pillow decode, warns where libjpeg warns, and
flags as damaged exactly what libjpeg had to invent.

- Garbage between header segments (junk text, a stray 0xFF00, a truncated APP14's leftover
  byte, Photoshop's broken APP13): libjpeg skips it with "N extraneous bytes before marker";
  so does hybrid's header walk, with one ``JpegDataWarning``.
- More than 50 APPn segments (a big ICC profile in many APP2 chunks): jpeglib's libjpeg
  failed ("Improper call to JPEG library in state 201"); the coefficient pass now reads only
  the segments that define the coded image.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import hybrid
from hybrid.codec.headers import parse_info
from hybrid.codec.reader import find_damage
from hybrid.errors import CorruptJPEGError, InputError, JpegDataWarning
from tests.helpers.corpus import sample_image
from tests.helpers.hostile import with_icc_chunks

REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld"
DJPEG = shutil.which("djpeg")

#: Files with garbage between header segments: name -> libjpeg's count and marker.
GARBAGE = {
    "junk_jpeg_header.jpg": "5 extraneous bytes before marker 0xdb",  # "hello" after COM
    "jpeg_ff00_header.jpg": "4 extraneous bytes before marker 0xdb",  # FF 00 00 02
    "truncated_app14.jpg": "1 extraneous bytes before marker 0xdb",  # APP14 length one short
    "photoshop-200dpi-broken.jpg": "16 extraneous bytes before marker 0xe1",
}


def realworld(path: str) -> bytes:
    file = REALWORLD / path
    if not file.exists():
        pytest.skip(f"{file} is not available")
    return file.read_bytes()


def jpeg_data_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, JpegDataWarning)]


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_between_header_segments_decodes_as_in_libjpeg(name, weights):
    data = realworld(f"pillow/{name}")
    expected = np.asarray(Image.open(io.BytesIO(data)))
    with pytest.warns(JpegDataWarning, match=GARBAGE[name]) as caught:
        info = parse_info(data)
    assert len(caught) == 1  # once, as libjpeg
    assert [e.describe().split(" at ")[0] for e in info.extraneous] == [GARBAGE[name]]
    assert info.extraneous[0].before_frame
    calls = {
        "decode": lambda: hybrid.decode(data),
        "strict": lambda: hybrid.decode(data, strict=True),
        "coefficients": lambda: hybrid.read_coefficients(data),
        "enhance": lambda: hybrid.decode(data, enhance=True, weights=weights, threads=1),
    }
    results = {}
    for what, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results[what] = call()
        assert jpeg_data_warnings(caught) == [
            "garbage between header segments, skipped as libjpeg does: "
            + info.extraneous[0].describe()
        ], what
    for what in ("decode", "strict"):
        assert "hybrid_damage" not in results[what].info
        assert np.array_equal(np.asarray(results[what]), expected)  # Pillow's pixels exactly
    frame = results["coefficients"]
    assert (frame.width, frame.height) == (expected.shape[1], expected.shape[0])
    reference = hybrid.read_coefficients(_without_garbage(data, info))
    for got, want in zip(frame.components, reference.components, strict=True):
        np.testing.assert_array_equal(got.coeffs, want.coeffs)
    assert results["enhance"].size == (frame.width, frame.height)


def _without_garbage(data: bytes, info) -> bytes:
    junk = info.extraneous[0]
    return data[: junk.offset] + data[junk.offset + junk.length :]


def test_many_app_segments_are_read(weights):
    """60 APP2 ICC chunks of a real sRGB profile: decoded, --strict, enhanced and as
    coefficients, with the profile intact and no damage flag."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.fromarray(sample_image(48, 64, 5)).save(buffer, "JPEG", quality=85)
    plain = buffer.getvalue()
    data = with_icc_chunks(plain, profile, 60)
    info = hybrid.info(data)
    assert sum(s.label == "ICC" for s in info.segments) == 60
    assert info.icc_profile_size == len(profile)
    assert Image.open(io.BytesIO(data)).info["icc_profile"] == profile
    assert find_damage(data, info) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = hybrid.decode(data, strict=True)
        frame = hybrid.read_coefficients(data)
        enhanced = hybrid.decode(data, enhance=True, weights=weights, threads=1)
    assert "hybrid_damage" not in image.info
    assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(plain))))
    reference = hybrid.read_coefficients(plain)
    for got, want in zip(frame.components, reference.components, strict=True):
        np.testing.assert_array_equal(got.coeffs, want.coeffs)
    assert enhanced.size == (64, 48)
    assert np.array_equal(
        np.asarray(enhanced), np.asarray(hybrid.decode(plain, enhance=True, weights=weights))
    )


def test_garbage_after_the_frame_header_is_not_skipped_silently():
    """Between the frame header and the last scan, garbage may be a scan whose marker was
    lost; it is left for libjpeg to report, which makes the decode a flagged one."""
    buffer = io.BytesIO()
    Image.fromarray(sample_image(32, 32, 6)).save(buffer, "JPEG", quality=80)
    data = buffer.getvalue()
    sos = data.index(b"\xff\xda")
    junk = data[:sos] + b"hello" + data[sos:]
    info = parse_info(junk)  # no warning: not known to be harmless
    assert [e.before_frame for e in info.extraneous] == [False]
    with pytest.warns(JpegDataWarning, match="5 extraneous bytes before marker 0xda"):
        image = hybrid.decode(junk)
    assert "extraneous" in image.info["hybrid_damage"]
    with pytest.raises(CorruptJPEGError, match="extraneous"):
        hybrid.decode(junk, strict=True)


def libjpeg_verdict(path: Path) -> str:
    """What libjpeg-turbo's djpeg does with ``path``: 'clean', 'invented' (a warning after
    which it pads, guesses or skips coded data) or 'refused' (an error)."""
    result = subprocess.run(
        [DJPEG, "-verbose", "-outfile", os.devnull, str(path)], capture_output=True, text=True
    )
    if result.returncode == 1:
        return "refused"
    frame_seen = False
    for line in result.stderr.splitlines():
        frame_seen = frame_seen or line.startswith("Start Of Frame")
        if "extraneous bytes" in line and not frame_seen:
            continue  # garbage before the frame header: nothing of the image was skipped
        if line.startswith(("Corrupt JPEG data", "Premature end", "Inconsistent progression",
                            "Invalid SOS")):  # fmt: skip
            return "invented"
    return "clean"


def hybrid_verdict(path: Path) -> str:
    """What ``hybrid.decode`` does: 'clean', 'invented' (the damage flag) or 'refused'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = hybrid.decode(path)
    except InputError:
        return "refused"
    return "invented" if image.info.get("hybrid_damage") else "clean"


def test_damage_verdicts_agree_with_libjpeg_on_the_realworld_corpus():
    """For every file: hybrid's damage flag is set exactly when djpeg reports invented data.
    hybrid refuses what Pillow refuses (truncated files, which djpeg pads) and 12-bit
    files (which libjpeg's 8-bit build refuses too); it never refuses a clean file."""
    if not REALWORLD.is_dir():
        pytest.skip(f"{REALWORLD} is not available")
    if DJPEG is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("djpeg (libjpeg-turbo-progs) is required when CI=true")
        pytest.skip("djpeg is not installed")
    files = sorted(p for p in REALWORLD.glob("*/*") if p.suffix.lower() in (".jpg", ".mpo"))
    assert len(files) >= 70
    verdicts = {p.relative_to(REALWORLD).as_posix(): (libjpeg_verdict(p), hybrid_verdict(p))
                for p in files}  # fmt: skip
    mismatches = {
        name: pair
        for name, pair in verdicts.items()
        if pair[0] != pair[1] and not (pair == ("invented", "refused"))
    }
    assert mismatches == {}
    refused_invented = sorted(n for n, pair in verdicts.items() if pair == ("invented", "refused"))
    assert refused_invented == ["pillow/truncated_jpeg.jpg", "pillow/ultrahdr.jpg"]
    assert verdicts["pillow/hopper_bad_exif.jpg"] == ("invented", "invented")
    for name in GARBAGE:
        assert verdicts[f"pillow/{name}"] == ("clean", "clean")
