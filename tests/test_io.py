"""hybrid.io: atomic writes and the image loader's mode rule."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hybrid import io as hio
from hybrid.errors import (
    ImageTooLargeError,
    InputError,
    OutputExistsError,
    UnsupportedImageError,
)
from hybrid.io import atomic_write, load_image, read_bytes, remove_stale_temps


def listing(path) -> list[str]:
    return sorted(os.listdir(path))


@pytest.fixture
def unwritable_dir(tmp_path):
    """A directory this process cannot create files in (root ignores permission bits)."""
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o555)
        yield d
        d.chmod(0o755)
        return
    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        yield "/sys"
        return
    os.close(fd)
    os.unlink(name)
    pytest.skip("no unwritable directory available to root here")


# --- atomic_write ------------------------------------------------------------------------


def test_atomic_write_creates_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, b"first")
    assert target.read_bytes() == b"first"
    with pytest.raises(OutputExistsError, match="exists"):
        atomic_write(target, b"second")
    assert target.read_bytes() == b"first"
    atomic_write(target, b"third", force=True)
    assert target.read_bytes() == b"third"
    assert listing(tmp_path) == ["out.bin"]


def test_atomic_write_uses_umask_permissions(tmp_path):
    target = tmp_path / "perm.bin"
    atomic_write(target, b"x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_atomic_write_bad_targets(tmp_path, unwritable_dir):
    with pytest.raises(InputError, match="is a directory"):
        atomic_write(tmp_path, b"x", force=True)
    with pytest.raises(InputError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "out.bin", b"x")
    with pytest.raises(InputError, match="cannot write"):
        atomic_write(os.path.join(unwritable_dir, "out.bin"), b"x")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("fail_in", ["fsync", "replace", "link"])
def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch, fail_in):
    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hio.os, fail_in, boom)
    with pytest.raises(InputError, match="No space left"):
        atomic_write(tmp_path / "out.bin", b"data", force=fail_in == "replace")
    assert listing(tmp_path) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    monkeypatch.setattr(hio.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(5, "EIO")))
    with pytest.raises(InputError):
        atomic_write(target, b"new", force=True)
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["out.bin"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_remove_stale_temps_treats_a_zombie_writer_as_gone(tmp_path):
    """A writer SIGKILLed and not yet reaped (a zombie) still answers kill(pid, 0); its temp
    is removed, a live writer's is kept."""
    target = tmp_path / "out.bin"
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while "Z" not in Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1][:3]:
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.02)
    try:
        dead = tmp_path / f".out.bin.{child.pid}.abcd1234.tmp"
        live = tmp_path / f".out.bin.{os.getpid()}.efgh5678.tmp"
        dead.write_bytes(b"x")
        live.write_bytes(b"x")
        assert remove_stale_temps(target) == [dead]
        assert listing(tmp_path) == [live.name]
    finally:
        child.wait()


def test_read_bytes_sources(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert read_bytes(path) == read_bytes(str(path)) == b"abc"
    assert read_bytes(bytearray(b"abc")) == read_bytes(io.BytesIO(b"abc")) == b"abc"
    with pytest.raises(InputError, match="binary mode"):
        read_bytes(io.StringIO("abc"))
    with pytest.raises(InputError, match="directory"):
        read_bytes(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_bytes(tmp_path / "nope")


# --- load_image ----------------------------------------------------------------------------


def test_modes_to_pixels():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    assert np.array_equal(load_image(Image.fromarray(rgb)).pixels, rgb)
    grey = rgb[:, :, 0]
    assert np.array_equal(load_image(Image.fromarray(grey)).pixels, grey)
    bilevel = Image.fromarray(grey > 50).convert("1")
    assert set(np.unique(load_image(bilevel).pixels)) <= {0, 255}
    pal = Image.fromarray(rgb).convert("P")
    assert load_image(pal).pixels.shape == (2, 3, 3)
    hsv = Image.fromarray(rgb).convert("HSV")
    assert load_image(hsv).pixels.shape == (2, 3, 3)


def test_alpha_is_composited_on_white():
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (100, 0, 200, 255)  # opaque: unchanged
    rgba[0, 1] = (100, 0, 200, 0)  # transparent: white
    rgba[0, 2] = (100, 0, 200, 128)
    out = load_image(Image.fromarray(rgba, "RGBA")).pixels
    assert out.tolist()[0][:2] == [[100, 0, 200], [255, 255, 255]]
    expected = [(c * 128 + 255 * 127 + 127) // 255 for c in (100, 0, 200)]
    assert out[0, 2].tolist() == expected
    la = Image.fromarray(np.array([[[10, 0], [10, 255]]], dtype=np.uint8), "LA")
    assert load_image(la).pixels.tolist() == [[255, 10]]
    pal = Image.new("P", (2, 1))
    pal.putpalette([0, 0, 0, 50, 60, 70] + [0] * 762)
    pal.putpixel((1, 0), 1)
    pal.info["transparency"] = 0
    assert load_image(pal).pixels.tolist() == [[[255, 255, 255], [50, 60, 70]]]


def test_sixteen_bit_and_float_greyscale(tmp_path):
    values = np.array([[0, 255, 256, 65535]], dtype=np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert load_image(path).pixels.tolist() == [[0, 0, 1, 255]]
    as_i = Image.fromarray(values.astype(np.int32))
    assert as_i.mode == "I"
    assert load_image(as_i).pixels.tolist() == [[0, 0, 1, 255]]
    as_f = Image.fromarray(np.array([[-3.0, 12.4, 12.6, 300.0]], dtype=np.float32))
    assert load_image(as_f).pixels.tolist() == [[0, 12, 13, 255]]


def test_cmyk_becomes_rgb():
    """Without a profile, Pillow's uncalibrated conversion (as browsers do); with one, see
    tests/test_photo_metadata.py."""
    loaded = load_image(Image.new("CMYK", (4, 4), (0, 255, 255, 0)))  # pure cyan ink
    assert loaded.pixels.shape == (4, 4, 3)
    assert loaded.pixels[0, 0].tolist() == [255, 0, 0]
    assert loaded.metadata.icc_profile is None
    bad = Image.new("CMYK", (4, 4))
    bad.info["icc_profile"] = b"not a profile"
    with pytest.raises(UnsupportedImageError, match="ICC profile"):
        load_image(bad)


def test_arrays():
    a = np.zeros((4, 5, 1), dtype=np.uint8)
    assert load_image(a).pixels.shape == (4, 5)
    assert load_image(np.zeros((4, 5, 3), np.uint8)[:, ::-1]).pixels.flags.c_contiguous
    with pytest.raises(InputError, match="uint8"):
        load_image(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((4, 4, 4), dtype=np.uint8))
    with pytest.raises(InputError, match="empty"):
        load_image(np.zeros((0, 4), dtype=np.uint8))
    with pytest.raises(ImageTooLargeError):
        load_image(np.zeros((10, 10), dtype=np.uint8), max_pixels=99)


def test_image_file_bytes_are_a_source(tmp_path):
    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    assert np.array_equal(load_image(buf.getvalue()).pixels, pixels)
    assert np.array_equal(load_image(memoryview(buf.getvalue())).pixels, pixels)
    with pytest.raises(InputError, match="^not an image file hybrid can read$"):
        load_image(b"no file name to report")


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="expected a path"):
        load_image(io.BytesIO(b"file objects are not accepted"))
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("just text")
    with pytest.raises(InputError, match="not an image"):
        load_image(text)
    truncated = tmp_path / "cut.png"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(buf, format="PNG")
    truncated.write_bytes(buf.getvalue()[:60])
    with pytest.raises(InputError):
        load_image(truncated)


def exif_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    exif[0x010F] = "TestMaker"
    return exif.tobytes()


def test_exif_orientation_is_applied_and_reset(tmp_path):
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0)  # top-left marker
    path = tmp_path / "rot.png"
    raw = exif_with_orientation(6)  # "rotate 90 CW to display"
    Image.fromarray(pixels).save(path, exif=raw)
    loaded = load_image(path)
    assert loaded.pixels.shape == (3, 2, 3)
    assert loaded.pixels[0, 1].tolist() == [255, 0, 0]  # now top-right
    assert loaded.metadata.exif is not None and loaded.metadata.exif.startswith(b"Exif\x00\x00")
    parsed = Image.Exif()
    parsed.load(loaded.metadata.exif)
    assert parsed[0x0112] == 1 and parsed[0x010F] == "TestMaker"
    # Only the orientation value changed (patched in place).
    original = raw if raw.startswith(b"Exif") else b"Exif\x00\x00" + raw
    carried = loaded.metadata.exif
    diff = [i for i, (a, b) in enumerate(zip(original, carried, strict=True)) if a != b]
    assert len(diff) == 1


def test_icc_exif_comment_are_carried(tmp_path):
    icc = b"fake-icc-profile" * 10
    path = tmp_path / "m.jpg"
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(
        path, icc_profile=icc, exif=exif_with_orientation(1), comment=b"a comment"
    )
    loaded = load_image(path)
    assert loaded.metadata.icc_profile == icc
    assert loaded.metadata.comment == b"a comment"
    assert loaded.metadata.exif is not None and b"TestMaker" in loaded.metadata.exif
    assert loaded.pixels.shape == (8, 8, 3)
