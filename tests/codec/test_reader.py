"""Reader: header parse (JpegInfo) and exact coefficients against libjpeg (jpeglib)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jpeglib
import numpy as np
import pytest
from PIL import Image
from scipy.fft import idctn

from hybrid.codec.frame import Frame
from hybrid.codec.headers import parse_info
from hybrid.codec.metadata import HybridMetadata, insert_segment, metadata_segment
from hybrid.codec.reader import pad_to_mcus, read_frame, read_info
from hybrid.errors import (
    CorruptJPEGError,
    ImageTooLargeError,
    InputError,
    JpegDataWarning,
    UnsupportedImageError,
)

CJPEG = shutil.which("cjpeg")


def smooth_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A test image with edges and texture (not pure noise, so quality matters)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 64 * 4], -1)
    noise = rng.integers(-20, 21, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def pillow_jpeg(pixels: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def assert_matches_libjpeg(data: bytes, tmp_path: Path) -> Frame:
    path = tmp_path / "ref.jpg"
    path.write_bytes(data)
    frame = read_frame(data)
    ref = jpeglib.read_dct(str(path))
    planes = [ref.Y] if len(frame.components) == 1 else [ref.Y, ref.Cb, ref.Cr]
    assert len(frame.components) == len(planes)
    for comp, plane, index in zip(frame.components, planes, ref.quant_tbl_no, strict=True):
        assert comp.coeffs.dtype == np.int16
        np.testing.assert_array_equal(comp.coeffs, plane)
        assert comp.quant_index == index
        np.testing.assert_array_equal(frame.quant_tables[comp.quant_index], ref.qt[index])
        h, w = frame.component_size(comp)
        assert comp.coeffs.shape == (-(-h // 8), -(-w // 8), 8, 8)
    return frame


CASES = {
    "baseline": dict(quality=75),
    "progressive": dict(quality=80, progressive=True),
    "optimize": dict(quality=60, optimize=True),
    "422": dict(quality=85, subsampling=1),
    "444": dict(quality=90, subsampling=0),
    "low-quality": dict(quality=5),
    "q100": dict(quality=100, subsampling=0),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("size", [(37, 53), (1, 1), (16, 16), (9, 70)])
def test_coefficients_bit_exact_colour(name, size, tmp_path):
    data = pillow_jpeg(smooth_rgb(*size), **CASES[name])
    frame = assert_matches_libjpeg(data, tmp_path)
    assert (frame.height, frame.width) == size
    expected = {"422": (2, 1), "444": (1, 1), "q100": (1, 1)}.get(name, (2, 2))
    assert (frame.components[0].h_samp, frame.components[0].v_samp) == expected


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("size", [(23, 41), (8, 8)])
def test_coefficients_bit_exact_greyscale(progressive, size, tmp_path):
    grey = smooth_rgb(*size)[:, :, 0]
    data = pillow_jpeg(grey, quality=70, progressive=progressive)
    frame = assert_matches_libjpeg(data, tmp_path)
    assert len(frame.components) == 1
    assert frame.components[0].h_samp == frame.components[0].v_samp == 1


def test_coefficients_reconstruct_pixels():
    """Independent of jpeglib: dequantize + inverse DCT of the coefficients ~ Pillow's decode.

    Catches a transposed or zig-zag-ordered coefficient layout.
    """
    grey = smooth_rgb(24, 40)[:, :, 0]
    data = pillow_jpeg(grey, quality=95)
    frame = read_frame(data)
    comp = frame.components[0]
    q = frame.quant_tables[comp.quant_index].astype(np.float64)
    blocks = idctn(comp.coeffs * q, axes=(-2, -1), norm="ortho") + 128
    pixels = blocks.transpose(0, 2, 1, 3).reshape(24, 40)
    decoded = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float64)
    assert np.abs(np.clip(np.round(pixels), 0, 255) - decoded).max() <= 1


def test_info_fields():
    data = pillow_jpeg(smooth_rgb(37, 53), quality=80, progressive=True, comment=b"hello")
    info = read_info(data)
    assert (info.width, info.height, info.precision) == (53, 37, 8)
    assert info.progressive and not info.baseline and info.process == "progressive"
    assert not info.arithmetic and not info.lossless and not info.hierarchical
    assert info.sof_marker == 0xC2
    assert [(c.ident, c.h_samp, c.v_samp, c.quant_index) for c in info.components] == [
        (1, 2, 2, 0),
        (2, 1, 1, 1),
        (3, 1, 1, 1),
    ]
    assert info.subsampling == "4:2:0" and info.color_space == "ycbcr"
    assert info.num_scans > 1 and info.restart_interval == 0
    assert info.has_jfif and not info.has_exif and not info.has_icc
    assert info.comments == (b"hello",)
    assert info.file_size == len(data) and info.trailing_bytes == 0
    assert info.quant_precision == {0: 8, 1: 8}
    assert info.estimated_quality == 80.0 and info.quality_exact
    assert info.unsupported_reason is None
    d = info.to_dict()
    assert d["quant_tables"]["0"]["values"] == info.quant_tables[0].tolist()


def test_info_segments_and_trailing_bytes():
    exif = Image.Exif()
    exif[0x010F] = "maker"
    icc = b"\x00" * 200
    data = pillow_jpeg(smooth_rgb(16, 16), exif=exif.tobytes(), icc_profile=icc)
    meta = HybridMetadata(mode="enhance", original_width=16, original_height=16)
    data = insert_segment(data, metadata_segment(meta)) + b"junk"
    info = read_info(data)
    labels = [s.label for s in info.segments]
    assert labels[:1] == ["JFIF"] and {"Exif", "ICC", "hybrid"} <= set(labels)
    assert info.has_exif and info.has_icc
    assert info.icc_profile_size == len(icc)
    assert info.hybrid_metadata == meta
    assert info.trailing_bytes == 4


@pytest.mark.parametrize("quality", [1, 10, 50, 75, 90, 100])
def test_estimated_quality_of_pillow_files(quality):
    info = read_info(pillow_jpeg(smooth_rgb(16, 16), quality=quality))
    assert info.estimated_quality == quality
    assert info.quality_exact


def test_greyscale_and_422_info():
    assert read_info(pillow_jpeg(smooth_rgb(8, 8)[:, :, 0])).subsampling == "greyscale"
    assert read_info(pillow_jpeg(smooth_rgb(8, 8), subsampling=1)).subsampling == "4:2:2"


# --- libjpeg-turbo's cjpeg: restart markers, arithmetic coding, RGB --------------------------


def cjpeg(pixels: np.ndarray, tmp_path: Path, *args: str) -> bytes:
    src = tmp_path / "in.ppm"
    Image.fromarray(pixels).save(src)
    out = subprocess.run([CJPEG, *args, str(src)], capture_output=True, check=True)
    return out.stdout


@pytest.mark.skipif(CJPEG is None, reason="cjpeg (libjpeg-turbo-progs) not installed")
@pytest.mark.parametrize("restart, expected", [("3B", 3), ("1", 4)])
def test_restart_markers(restart, expected, tmp_path):
    pixels = smooth_rgb(40, 50)  # 4:2:0: 4 MCUs per row
    data = cjpeg(pixels, tmp_path, "-quality", "80", "-restart", restart)
    assert b"\xff\xd0" in data
    info = read_info(data)
    assert info.restart_interval == expected
    assert info.estimated_quality == 80.0
    assert_matches_libjpeg(data, tmp_path)


@pytest.mark.skipif(CJPEG is None, reason="cjpeg (libjpeg-turbo-progs) not installed")
def test_arithmetic_and_rgb_are_reported_unsupported(tmp_path):
    arith = cjpeg(smooth_rgb(16, 16), tmp_path, "-arithmetic")
    info = read_info(arith)
    assert info.arithmetic and info.sof_marker == 0xC9
    with pytest.raises(UnsupportedImageError, match="arithmetic"):
        read_frame(arith)
    rgb = cjpeg(smooth_rgb(16, 16), tmp_path, "-rgb")
    assert read_info(rgb).color_space == "rgb"
    with pytest.raises(UnsupportedImageError, match="RGB"):
        read_frame(rgb)


def test_cmyk_12bit_lossless_unsupported():
    buf = io.BytesIO()
    Image.new("CMYK", (8, 8), (10, 20, 30, 40)).save(buf, format="JPEG")
    with pytest.raises(UnsupportedImageError, match="4 components"):
        read_frame(buf.getvalue())
    data = bytearray(pillow_jpeg(smooth_rgb(8, 8)))
    sof = data.index(b"\xff\xc0")
    twelve = bytearray(data)
    twelve[sof + 4] = 12
    assert read_info(bytes(twelve)).precision == 12
    with pytest.raises(UnsupportedImageError, match="12-bit"):
        read_frame(bytes(twelve))
    lossless = bytearray(data)
    lossless[sof + 1] = 0xC3
    assert read_info(bytes(lossless)).lossless
    with pytest.raises(UnsupportedImageError, match="lossless"):
        read_frame(bytes(lossless))


# --- damaged and foreign input -------------------------------------------------------------


def test_every_truncation_is_a_corrupt_jpeg_error():
    data = pillow_jpeg(smooth_rgb(20, 20), quality=50)
    for cut in range(len(data)):
        with pytest.raises(CorruptJPEGError):
            parse_info(data[:cut])


@pytest.mark.parametrize("cut", [0, 1, 2, 100, 400, -200, -2, -1])
def test_truncated_read_frame(cut):
    data = pillow_jpeg(smooth_rgb(32, 32), quality=90, progressive=True)
    with pytest.raises(CorruptJPEGError):
        read_frame(data[:cut])


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "PNG"),
        (b"hello, this is text\n", "not a JPEG"),
        (bytes(range(256)) * 4, "not a JPEG"),
        (b"\xff\xd8" + bytes(range(256)), "corrupt|truncated"),
        (b"\xff\xd8\xff\xd9", "no frame header"),
        (b"\xff\xd8\xff\xe0\x00\x01\xff\xd9", "length"),
    ],
)
def test_foreign_and_garbage_input(data, match):
    with pytest.raises(CorruptJPEGError, match=match):
        read_frame(data)


def test_png_file_is_not_a_jpeg(tmp_path):
    path = tmp_path / "x.jpg"
    Image.fromarray(smooth_rgb(8, 8)).save(path, format="PNG")
    with pytest.raises(CorruptJPEGError, match="PNG"):
        read_info(path)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="directory"):
        read_frame(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_info(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="expected a path"):
        read_info(12345)


def test_pixel_limit_checked_from_header():
    data = pillow_jpeg(smooth_rgb(20, 30))
    with pytest.raises(ImageTooLargeError, match="600 pixels"):
        read_frame(data, max_pixels=599)
    assert read_frame(data, max_pixels=600).width == 30
    huge = bytearray(data)
    sof = huge.index(b"\xff\xc0")
    huge[sof + 5 : sof + 9] = bytes([0xEA, 0x60, 0xEA, 0x60])  # 60000 x 60000
    with pytest.raises(ImageTooLargeError):
        read_frame(bytes(huge))
    # Without a limit the header parse still refuses a frame its data cannot fill.
    with pytest.raises(CorruptJPEGError, match="cannot hold"):
        read_frame(bytes(huge), max_pixels=None)


def test_damaged_scan_data_raises():
    """A marker spliced into the scan makes libjpeg warn; that must be an error, not zeros."""
    data = pillow_jpeg(smooth_rgb(64, 64), quality=90)
    sos = data.index(b"\xff\xda")
    mid = (sos + len(data)) // 2
    damaged = data[:mid] + b"\xff\xd3" + data[mid:]
    with pytest.raises(CorruptJPEGError, match="damaged"):
        read_frame(damaged)


def test_extraneous_bytes_in_scan_data_are_damage():
    """Bytes libjpeg skips inside the entropy-coded data ("extraneous bytes before marker")
    may be padding or a lost scan; libjpeg cannot tell, so the coefficient reader refuses,
    as find_damage flags the plain decode (they used to disagree)."""
    data = pillow_jpeg(smooth_rgb(16, 16), quality=90)
    padded = data[:-2] + b"\x00" * 32 + data[-2:]  # a few are eaten by the bit buffer
    with pytest.raises(CorruptJPEGError, match="extraneous bytes before marker 0xd9"):
        read_frame(padded)


def test_garbage_between_header_segments_warns_but_reads_exactly():
    """libjpeg skips garbage before a marker between segments and loses nothing."""
    data = pillow_jpeg(smooth_rgb(16, 16), quality=90)
    dqt = data.index(b"\xff\xdb")
    junk = data[:dqt] + b"hello\xff\x00" + data[dqt:]
    with pytest.warns(JpegDataWarning, match="7 extraneous bytes before marker 0xdb") as caught:
        frame = read_frame(junk)
    assert len(caught) == 1
    clean = read_frame(data)
    for a, b in zip(frame.components, clean.components, strict=True):
        np.testing.assert_array_equal(a.coeffs, b.coeffs)


def test_fuzzed_files_never_crash_or_print(tmp_path):
    """Random damage in a subprocess: only typed errors, no crash, nothing on stderr."""
    sample = tmp_path / "sample.jpg"
    sample.write_bytes(pillow_jpeg(smooth_rgb(24, 24), quality=80, progressive=True))
    script = textwrap.dedent(
        f"""
        import random, warnings
        from hybrid.codec.reader import read_frame
        from hybrid.errors import HybridError
        warnings.simplefilter("ignore")
        src = open({str(sample)!r}, "rb").read()
        rng = random.Random(1234)
        for _ in range(150):
            b = bytearray(src)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            if rng.random() < 0.2:
                b = b[: rng.randrange(len(b))]
            try:
                read_frame(bytes(b))
            except HybridError:
                pass
        print("done")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.strip() == b"done"
    assert out.stderr == b""


def test_pad_to_mcus():
    frame = read_frame(pillow_jpeg(smooth_rgb(37, 53), quality=75))
    padded = pad_to_mcus(frame)
    assert (frame.mcus_y, frame.mcus_x) == (3, 4)
    for comp, orig in zip(padded.components, frame.components, strict=True):
        assert comp.coeffs.shape[:2] == (3 * comp.v_samp, 4 * comp.h_samp)
        bv, bh = orig.coeffs.shape[:2]
        np.testing.assert_array_equal(comp.coeffs[:bv, :bh], orig.coeffs)
        pad_ac = comp.coeffs.reshape(*comp.coeffs.shape[:2], 64)[:, :, 1:]
        assert not pad_ac[bv:].any() and not pad_ac[:, bh:].any()
        np.testing.assert_array_equal(
            comp.coeffs[bv:, :bh, 0, 0],
            orig.coeffs[-1:, :, 0, 0].repeat(comp.coeffs.shape[0] - bv, 0),
        )
    grey = read_frame(pillow_jpeg(smooth_rgb(9, 9)[:, :, 0]))
    assert pad_to_mcus(grey) is grey


def test_read_pad_write_round_trip():
    """A read frame, padded to MCUs, written by hybrid's writer reads back identically."""
    writer = pytest.importorskip("hybrid.codec.writer")
    frame = read_frame(pillow_jpeg(smooth_rgb(37, 53), quality=75))
    data = writer.write_jpeg(pad_to_mcus(frame))
    again = read_frame(data)
    for a, b in zip(frame.components, again.components, strict=True):
        np.testing.assert_array_equal(a.coeffs, b.coeffs)


def test_single_component_sampling_is_normalised():
    """A greyscale SOF declaring 2x2 sampling codes the same blocks; the frame says 1x1."""
    data = pillow_jpeg(smooth_rgb(37, 45)[:, :, 0])
    declared = bytearray(data)
    sof = declared.index(b"\xff\xc0")
    declared[sof + 11] = 0x22
    assert read_info(bytes(declared)).components[0].h_samp == 2
    frame = read_frame(bytes(declared))
    assert (frame.components[0].h_samp, frame.components[0].v_samp) == (1, 1)
    np.testing.assert_array_equal(frame.components[0].coeffs, read_frame(data).components[0].coeffs)
