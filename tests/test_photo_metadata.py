"""What phone and camera files carry, kept through every decode and re-encode path (issue 15
points 2, 3, 4, 9 and 11): MPO files enhance, ICC profiles and EXIF reach every output
(enhanced, 16-bit, super-resolved), CMYK becomes correct RGB, EXIF orientation is applied as
browsers do, every warning is one line, and re-encodes keep XMP, IPTC, comments and density
unless ``--strip`` says otherwise."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

import hybrid
from hybrid.cli import cli
from hybrid.colour import cmyk_to_rgb
from hybrid.errors import InputError

CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/ps_cmyk.icc")  # Debian libgs-common


def photo(height: int = 64, width: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth colour image with some texture (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 2.5, y * 3.0, (x + y) * 1.5], axis=-1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def srgb_profile() -> bytes:
    """A real ICC profile (made once: its header records the creation time)."""
    return SRGB_PROFILE


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    return exif.tobytes()


def jpeg(pixels: np.ndarray, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=40, **save)
    return buffer.getvalue()


def run(*args: object, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def orientation_of(exif: bytes) -> int:
    parsed = Image.Exif()
    parsed.load(exif)
    return int(parsed.get(0x0112, 1))


# --- point 2: MPO and APP2 MPF ------------------------------------------------------------


def test_mpo_files_enhance_their_primary_image(tmp_path):
    left, right = photo(seed=1), photo(seed=2)
    path = tmp_path / "stereo.mpo"
    Image.fromarray(left).save(path, format="MPO", save_all=True, quality=40,
                               append_images=[Image.fromarray(right)])  # fmt: skip
    assert Image.open(path).format == "MPO" and b"MPF\x00" in path.read_bytes()
    plain = np.asarray(hybrid.decode(path))
    np.testing.assert_array_equal(plain, np.asarray(Image.open(path)))  # frame 0
    enhanced = np.asarray(hybrid.decode(path, enhance=True), dtype=np.float64)
    assert enhanced.shape == plain.shape
    err_plain = np.mean((plain.astype(np.float64) - left) ** 2)
    err_enhanced = np.mean((enhanced - left) ** 2)
    assert err_enhanced < err_plain  # it enhanced the primary image, not the second one
    result = run("decode", path, "-o", tmp_path / "out.png", "--enhance")
    assert result.exit_code == 0, result.output


# --- point 3: colour ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [[], ["--enhance"], ["--enhance", "--bits", "16"], ["--bits", "16"],
     ["--enhance", "--scale", "2"], ["--format", "tiff"], ["--format", "webp"]],
    ids=lambda e: " ".join(e) or "plain",
)  # fmt: skip
def test_every_decode_path_keeps_the_icc_profile_and_exif(tmp_path, extra):
    icc = srgb_profile()
    src = tmp_path / "p3.jpg"
    src.write_bytes(jpeg(photo(), icc_profile=icc, exif=exif_bytes(1)))
    suffix = {"tiff": ".tiff", "webp": ".webp"}.get(extra[-1] if extra else "", ".png")
    out = tmp_path / ("out" + suffix)
    result = run("decode", src, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        image.load()
        assert image.info.get("icc_profile") == icc
        exif = image.getexif()
        assert exif.get(0x010F) == "PhoneMaker"
        if "16" in extra:
            assert image.mode.startswith("I;16") or image.mode in ("RGB", "I")
    if "16" in extra:  # the chunks are well-formed: Pillow reads them and the pixels
        assert out.read_bytes().find(b"iCCP") < out.read_bytes().find(b"IDAT")


def test_cmyk_becomes_rgb_through_its_profile(tmp_path):
    if not CMYK_PROFILE.is_file():
        if os.environ.get("CI"):
            raise AssertionError(f"{CMYK_PROFILE} missing: .ci/run installs libgs-common")
        pytest.skip("no CMYK profile installed (apt-get install libgs-common)")
    profile = CMYK_PROFILE.read_bytes()
    cmyk = Image.fromarray(photo(32, 48, seed=3).repeat(2, axis=2)[:, :, :4], "CMYK")
    src = tmp_path / "print.jpg"
    cmyk.save(src, quality=95, icc_profile=profile)
    decoded = hybrid.decode(src)
    assert decoded.mode == "CMYK" and decoded.info["icc_profile"] == profile  # as stored
    out = tmp_path / "print.png"
    assert run("decode", src, "-o", out).exit_code == 0
    with Image.open(out) as png:
        assert png.mode == "RGB"
        carried = ImageCms.ImageCmsProfile(io.BytesIO(png.info["icc_profile"]))
        assert carried.profile.xcolor_space.strip() == "RGB"  # never a CMYK profile on RGB
        managed = ImageCms.profileToProfile(
            Image.open(src), ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), outputMode="RGB",
        )  # fmt: skip
        np.testing.assert_array_equal(np.asarray(png), np.asarray(managed))
    # TIFF keeps CMYK with its own profile.
    tiff = tmp_path / "print.tiff"
    assert run("decode", src, "-o", tiff).exit_code == 0
    with Image.open(tiff) as kept:
        assert kept.mode == "CMYK" and kept.info["icc_profile"] == profile


def test_cmyk_with_an_unusable_profile_is_refused_in_one_line(tmp_path):
    cmyk = Image.fromarray(np.full((16, 16, 4), 60, np.uint8), "CMYK")
    src = tmp_path / "bad.jpg"
    cmyk.save(src, icc_profile=b"not a profile" * 20)
    result = run("decode", src, "-o", tmp_path / "bad.png")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "ICC profile" in result.output
    assert not (tmp_path / "bad.png").exists()
    plain = Image.fromarray(np.full((16, 16, 4), 60, np.uint8), "CMYK")
    assert cmyk_to_rgb(plain).mode == "RGB"  # no profile: uncalibrated, as browsers do


# --- point 4: orientation -------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_decodes_apply_exif_orientation_like_pillow(orientation, tmp_path):
    from PIL import ImageOps

    src = tmp_path / "phone.jpg"
    src.write_bytes(jpeg(photo(32, 48), exif=exif_bytes(orientation)))
    with Image.open(src) as stored:
        expected = np.asarray(ImageOps.exif_transpose(stored))
    image = hybrid.decode(src)
    np.testing.assert_array_equal(np.asarray(image), expected)
    assert orientation_of(image.info["exif"]) == 1
    array = hybrid.decode_array(src, enhance=True)
    assert array.shape[:2] == expected.shape[:2]
    kept = hybrid.decode(src, apply_orientation=False)
    assert orientation_of(kept.info["exif"]) == orientation
    out = tmp_path / "kept.png"
    assert run("decode", src, "-o", out, "--keep-orientation").exit_code == 0
    with Image.open(out) as png:
        assert png.size == (48, 32) and png.getexif()[0x0112] == orientation


# --- point 9: warnings ----------------------------------------------------------------------


def test_every_warning_is_one_line_once(tmp_path):
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x0f"  # truncated IFD
    src = tmp_path / "odd.jpg"
    src.write_bytes(jpeg(photo(), exif=exif))
    for extra in ([], ["--enhance"]):
        result = run("decode", src, "-o", tmp_path / f"o{len(extra)}.png", *extra)
        assert result.exit_code == 0, result.output
        lines = [line for line in result.output.splitlines() if line]
        assert all(line.startswith(f"hybrid: warning: {src}: ") for line in lines), lines
        assert len(lines) == len(set(lines))
        assert ".py:" not in result.output


def test_encode_turns_pillows_warnings_into_hybrids(tmp_path):
    import warnings

    from hybrid.errors import JpegDataWarning

    src = tmp_path / "odd.jpg"
    src.write_bytes(jpeg(photo(), exif=b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hybrid.encode(src)
    assert caught and all(issubclass(w.category, JpegDataWarning) for w in caught)


# --- point 11: metadata on re-encode --------------------------------------------------------

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
IPTC = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x07\x1c\x02\x05\x00\x02Hi\x00"


def rich_jpeg(path: Path, exif_size: int = 0) -> None:
    """A JPEG with EXIF, ICC, XMP, IPTC, a comment and a 300 dpi JFIF density."""
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    exif[0x010E] = "x" * exif_size  # ImageDescription padding
    Image.fromarray(photo()).save(
        path, quality=90, exif=exif.tobytes(), icc_profile=srgb_profile(), xmp=XMP,
        comment=b"shot on a phone", dpi=(300, 300),
    )  # fmt: skip
    data = path.read_bytes()  # Pillow writes no APP13: add it after APP0
    segment = b"\xff\xed" + (len(IPTC) + 2).to_bytes(2, "big") + IPTC
    path.write_bytes(data[:2] + segment + data[2:])


def test_reencode_keeps_all_metadata_by_default(tmp_path):
    src = tmp_path / "rich.jpg"
    rich_jpeg(src)
    out = Image.open(io.BytesIO(hybrid.encode(src)))
    assert out.getexif()[0x010F] == "Maker"
    assert out.info["icc_profile"] == srgb_profile()
    assert out.info["xmp"] == XMP
    assert out.info["comment"] == b"shot on a phone"
    assert out.info["dpi"] == (300, 300)
    assert ("APP13", IPTC) in out.applist


@pytest.mark.parametrize(
    "strip, gone",
    [("all", {"exif", "icc", "xmp", "iptc", "comment", "density"}),
     ("exif,xmp", {"exif", "xmp"}), (["icc"], {"icc"}), ("iptc, comment", {"iptc", "comment"})],
)  # fmt: skip
def test_strip_removes_exactly_what_it_names(tmp_path, strip, gone):
    src = tmp_path / "rich.jpg"
    rich_jpeg(src)
    out = Image.open(io.BytesIO(hybrid.encode(src, strip=strip)))
    present = {
        "exif": bool(out.info.get("exif")),
        "icc": bool(out.info.get("icc_profile")),
        "xmp": bool(out.info.get("xmp")),
        "iptc": any(m == "APP13" for m, _ in out.applist),
        "comment": bool(out.info.get("comment")),
        "density": out.info.get("dpi") == (300, 300),
    }
    assert {k for k, v in present.items() if not v} == gone
    with pytest.raises(InputError, match="unknown metadata kind"):
        hybrid.encode(src, strip="gps")


def test_size_target_counts_kept_metadata_and_strip_meets_it(tmp_path):
    src = tmp_path / "small.jpg"
    rich_jpeg(src, exif_size=20_000)
    out = tmp_path / "out.jpg"
    refused = run("encode", src, "-o", out, "--target-size", "12KB")
    assert refused.exit_code == 2 and not out.exists()
    met = run("encode", src, "-o", out, "--target-size", "12KB", "--strip")
    assert met.exit_code == 0, met.output
    assert out.stat().st_size <= 12_000
    assert not hybrid.info(out).has_exif


def test_a_clean_enhanced_decode_prints_nothing(tmp_path):
    """A fresh process (torch warns once per process, e.g. about read-only arrays) decodes
    an ordinary file with --enhance and prints nothing at all."""
    import subprocess
    import sys

    src = tmp_path / "clean.jpg"
    src.write_bytes(jpeg(photo()))
    code = "import sys; from hybrid.cli import main; main(sys.argv[1:])"
    run = subprocess.run(
        [sys.executable, "-c", code, "decode", str(src), "-o", str(tmp_path / "o.png"),
         "--enhance"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""


def test_cmyk_reencodes_to_rgb_through_its_profile(tmp_path):
    if not CMYK_PROFILE.is_file():
        if os.environ.get("CI"):
            raise AssertionError(f"{CMYK_PROFILE} missing: .ci/run installs libgs-common")
        pytest.skip("no CMYK profile installed (apt-get install libgs-common)")
    cmyk = Image.fromarray(photo(32, 48, seed=4).repeat(2, axis=2)[:, :, :4], "CMYK")
    src = tmp_path / "print.jpg"
    cmyk.save(src, quality=95, icc_profile=CMYK_PROFILE.read_bytes())
    out = Image.open(io.BytesIO(hybrid.encode(src, quality=95, subsampling="4:4:4")))
    assert out.mode == "RGB"
    carried = ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))
    assert carried.profile.xcolor_space.strip() == "RGB"
    decoded = hybrid.decode(src)
    managed = np.asarray(cmyk_to_rgb(decoded), dtype=np.int32)
    naive = np.asarray(decoded.convert("RGB"), dtype=np.int32)
    pixels = np.asarray(out, dtype=np.int32)
    assert np.abs(pixels - managed).mean() < 4.0  # JPEG error of a noisy image at q95
    assert np.abs(pixels - naive).mean() > 3 * np.abs(pixels - managed).mean()
