"""The public API: hybrid.encode / decode / info / read_coefficients."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import hybrid
from hybrid.errors import (
    CorruptJPEGError,
    ImageTooLargeError,
    InputError,
    OutputExistsError,
    WeightsError,
)
from tests.helpers.jpeg import STANDARD_HUFFMAN_TABLES, huffman_tables


def photo(h: int = 40, w: int = 56) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(7)
    base = np.stack([x * 255 // w, y * 255 // h, (x + 2 * y) % 128 + 64], -1)
    return np.clip(base + rng.integers(-8, 9, (h, w, 3)), 0, 255).astype(np.uint8)


def test_import_is_light():
    code = (
        "import sys, hybrid; print([m for m in ('torch', 'kornia', 'jpeglib') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names():
    assert isinstance(hybrid.__version__, str) and hybrid.__version__
    assert hybrid.errors.InputError is InputError
    for name in ("encode", "decode", "info", "read_coefficients"):
        assert callable(getattr(hybrid, name))


# --- encode ------------------------------------------------------------------------------


def test_encode_returns_a_standard_jpeg(tmp_path):
    pixels = photo()
    data = hybrid.encode(pixels, quality=90)
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
    mse = np.mean((decoded - pixels) ** 2)
    reference = np.asarray(Image.open(io.BytesIO(pillow_jpeg(pixels, quality=90))), np.float64)
    assert mse <= np.mean((reference - pixels) ** 2) * 1.1  # no worse than libjpeg's
    assert 10 * np.log10(255**2 / mse) > 30
    info = hybrid.info(data)
    assert (info.width, info.height) == (56, 40)
    assert info.estimated_quality == 90 and info.quality_exact
    assert info.subsampling == "4:2:0" and info.baseline
    meta = info.hybrid_metadata
    assert meta is not None and meta.mode == "plain"
    assert (meta.original_width, meta.original_height) == (56, 40)


# Each option against the default encode (progressive=False, restart_interval=0,
# subsampling="4:2:0", mode="plain", optimize_huffman=True, rdo=False): what it changes.
@pytest.mark.parametrize(
    "kwargs, changed",
    [
        (dict(progressive=True), lambda new, old, _: new.progressive and not old.progressive),
        (
            dict(restart_interval=2),
            lambda new, old, _: (new.restart_interval, old.restart_interval) == (2, 0),
        ),
        (dict(subsampling="4:4:4"), lambda new, old, _: new.subsampling == "4:4:4"),
        (dict(subsampling="4:2:2"), lambda new, old, _: new.subsampling == "4:2:2"),
        (
            dict(mode="enhance"),
            lambda new, old, _: (
                (new.hybrid_metadata.mode, old.hybrid_metadata.mode) == ("enhance", "plain")
            ),
        ),
        # The standard (Annex K) Huffman tables instead of optimized ones: a larger file.
        (
            dict(optimize_huffman=False),
            lambda new, old, data: (
                new.file_size > old.file_size and huffman_tables(data) == STANDARD_HUFFMAN_TABLES
            ),
        ),
        # Trellis quantization: the same tables, fewer bytes.
        (dict(rdo=True), lambda new, old, _: new.file_size < old.file_size),
    ],
)
def test_encode_options_show_in_info(kwargs, changed):
    default = hybrid.encode(photo(24, 24))
    data = hybrid.encode(photo(24, 24), **kwargs)
    new, old = hybrid.info(data), hybrid.info(default)
    assert changed(new, old, data)
    assert Image.open(io.BytesIO(data)).size == (24, 24)
    # The default alongside: quality 75, 4:2:0, optimized tables; only the option differs.
    assert old.estimated_quality == new.estimated_quality == 75 and old.subsampling == "4:2:0"
    assert huffman_tables(default) != STANDARD_HUFFMAN_TABLES
    if "subsampling" not in kwargs:
        for index, table in old.quant_tables.items():
            np.testing.assert_array_equal(new.quant_tables[index], table)


def test_encode_greyscale_and_paths(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(photo()[:, :, 1]).save(src)
    out = tmp_path / "out.jpg"
    data = hybrid.encode(src, out)
    assert out.read_bytes() == data
    assert hybrid.info(out).subsampling == "greyscale"
    buf = io.BytesIO()
    assert hybrid.encode(Image.open(src), buf) == buf.getvalue() == data


def test_encode_refuses_existing_output(tmp_path):
    out = tmp_path / "out.jpg"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        hybrid.encode(photo(), out)
    assert out.read_bytes() == b"keep me"
    hybrid.encode(photo(), out, force=True)
    assert hybrid.info(out).width == 56
    with pytest.raises(InputError, match="directory"):
        hybrid.encode(photo(), tmp_path, force=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(quality=0),
        dict(quality=101),
        dict(quality="abc"),
        dict(subsampling="4:1:1"),
        dict(restart_interval=-1),
        dict(mode="downscaled"),
        dict(comment=123),
    ],
)
def test_encode_bad_options(kwargs):
    with pytest.raises(InputError):
        hybrid.encode(photo(8, 8), **kwargs)


def test_encode_metadata_carried_and_dropped(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down
    exif[0x010F] = "Maker"
    icc = b"icc-bytes" * 20
    src = tmp_path / "src.jpg"
    pixels = photo(16, 24)
    Image.fromarray(pixels).save(
        src, quality=95, exif=exif.tobytes(), icc_profile=icc, comment=b"hi"
    )
    kept = hybrid.info(hybrid.encode(src))
    assert kept.has_exif and kept.has_icc and kept.comments == (b"hi",)
    out = Image.open(io.BytesIO(hybrid.encode(src)))
    assert out.getexif()[0x0112] == 1 and out.info["icc_profile"] == icc
    # Rotated 180 degrees: the top-left pixel comes from the source's bottom-right.
    source = np.asarray(Image.open(src), dtype=np.int32)
    assert np.abs(np.asarray(out, dtype=np.int32)[0, 0] - source[-1, -1]).max() < 24
    dropped = hybrid.info(hybrid.encode(src, keep_metadata=False, comment="new"))
    assert not dropped.has_exif and not dropped.has_icc and dropped.comments == (b"new",)
    assert dropped.hybrid_metadata is not None


# --- decode, info, coefficients ----------------------------------------------------------


def pillow_jpeg(pixels: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def test_plain_decode_is_pillows(tmp_path):
    data = pillow_jpeg(photo(), quality=60)
    expected = np.asarray(Image.open(io.BytesIO(data)))
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    for source in (data, path, str(path), io.BytesIO(data)):
        image = hybrid.decode(source)
        assert image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), expected)
    grey = hybrid.decode(pillow_jpeg(photo()[:, :, 0]))
    assert grey.mode == "L"


def test_decode_applies_orientation_unless_asked_not_to():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = pillow_jpeg(photo(16, 32), exif=exif.tobytes())
    upright = hybrid.decode(data)
    assert upright.size == (16, 32)
    parsed = Image.Exif()
    parsed.load(upright.info["exif"])
    assert parsed[0x0112] == 1
    stored = hybrid.decode(data, apply_orientation=False)
    assert stored.size == (32, 16)
    parsed.load(stored.info["exif"])
    assert parsed[0x0112] == 6
    assert hybrid.decode_array(data, enhance=False).shape == (32, 16, 3)


def test_decode_and_decode_array_share_their_defaults():
    """Issue 14: decode_array used to enhance by default, decode not."""
    import inspect

    image = inspect.signature(hybrid.decode).parameters
    array = inspect.signature(hybrid.decode_array).parameters
    assert list(image) == list(array)
    assert {n: p.default for n, p in image.items()} == {n: p.default for n, p in array.items()}
    data = pillow_jpeg(photo())
    plain = np.asarray(hybrid.decode(data), dtype=np.float32) / 255.0
    assert np.array_equal(hybrid.decode_array(data), plain)  # no network ran


@pytest.mark.parametrize("data", [b"", b"text", pillow_jpeg(photo())[:300], b"\x89PNG\r\n\x1a\n"])
def test_decode_errors_are_typed(data):
    with pytest.raises(CorruptJPEGError):
        hybrid.decode(data)
    with pytest.raises(CorruptJPEGError):
        hybrid.info(data)
    with pytest.raises(CorruptJPEGError):
        hybrid.read_coefficients(data)


def test_decode_pixel_limit():
    with pytest.raises(ImageTooLargeError):
        hybrid.decode(pillow_jpeg(photo()), max_pixels=100)


def test_enhance_without_weights_is_a_clear_error(monkeypatch, tmp_path):
    data = pillow_jpeg(photo())
    with pytest.raises(WeightsError, match="unknown model"):
        hybrid.decode(data, enhance=True, model="no-such-model")
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))  # an empty registry
    with pytest.raises(WeightsError, match="none installed"):
        hybrid.decode(data, enhance=True)
    with pytest.raises(WeightsError, match="not found"):
        hybrid.decode(data, enhance=True, weights=tmp_path / "absent.pt")


def test_enhance_with_user_weights_file(tmp_path):
    import torch

    from hybrid.enhance.nets import EnhanceNet

    torch.manual_seed(0)
    net = EnhanceNet(channels=8, blocks=1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path / "tiny.pt"
    torch.save(
        {
            "model": net.state_dict(),
            "architecture": "EnhanceNet",
            "kwargs": {"channels": 8, "blocks": 1},
        },
        path,
    )
    data = pillow_jpeg(photo())
    image = hybrid.decode(data, enhance=True, weights=path)
    plain = hybrid.decode(data)
    assert image.mode == "RGB" and image.size == plain.size
    assert not np.array_equal(np.asarray(image), np.asarray(plain))
    array = hybrid.decode_array(data, enhance=True, weights=path)
    assert array.dtype == np.float32 and array.shape == (plain.size[1], plain.size[0], 3)
    eight_bit = np.clip(np.round(array * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(eight_bit, np.asarray(image))
    grey = pillow_jpeg(np.asarray(Image.fromarray(photo()).convert("L")))
    assert hybrid.decode(grey, enhance=True, weights=path).mode == "L"
    assert hybrid.decode_array(grey, enhance=True, weights=path).shape[2] == 1
    fp32 = hybrid.decode_array(data, enhance=True, weights=path, precision="fp32")
    bf16 = hybrid.decode_array(data, enhance=True, weights=path, precision="bf16")
    assert 0 < np.abs(bf16 - fp32).mean() < 0.5 / 255
    for call in (hybrid.decode, hybrid.decode_array):
        with pytest.raises(InputError, match="precision must be one of auto, fp32, bf16"):
            call(data, enhance=True, weights=path, precision="fp16")


def test_read_coefficients_of_encoded_file():
    pixels = photo(17, 33)
    data = hybrid.encode(pixels, quality=80)
    frame = hybrid.read_coefficients(data)
    assert (frame.width, frame.height) == (33, 17)
    assert frame.components[0].coeffs.shape == (3, 5, 8, 8)
    from hybrid.codec.encoder import image_to_frame
    from hybrid.codec.options import EncodeOptions
    from hybrid.codec.reader import pad_to_mcus

    expected = image_to_frame(pixels, EncodeOptions(quality=80))
    padded = pad_to_mcus(frame)
    for got, want, read in zip(
        padded.components, expected.components, frame.components, strict=True
    ):
        bv, bh = read.coeffs.shape[:2]
        np.testing.assert_array_equal(got.coeffs[:bv, :bh], want.coeffs[:bv, :bh])
        assert got.coeffs.shape == want.coeffs.shape
