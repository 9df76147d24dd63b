"""image_to_frame: validation, layout, padding, exact DC, libjpeg agreement, round trip."""

from __future__ import annotations

import jpeglib
import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw

from hybrid.codec.color import rgb_to_ycbcr, ycbcr_to_rgb_uint8
from hybrid.codec.dct import inverse_dct, unblockify
from hybrid.codec.encoder import choose_subsampling, image_to_frame, prepare_pixels
from hybrid.codec.frame import Frame
from hybrid.codec.options import EncodeOptions
from hybrid.codec.quant import default_quant_tables, dequantize
from hybrid.codec.sampling import upsample
from hybrid.errors import InputError, UnsupportedImageError
from hybrid.metrics import psnr

SUBSAMPLINGS = ["4:4:4", "4:2:2", "4:2:0"]


def decode_frame(frame: Frame) -> np.ndarray:
    """Our own inverse path: dequantize, IDCT, crop, fancy upsample, YCbCr -> RGB."""
    planes = []
    for comp in frame.components:
        table = frame.quant_tables[comp.quant_index]
        plane = unblockify(inverse_dct(dequantize(comp.coeffs, table))) + 128.0
        comp_h, comp_w = frame.component_size(comp)
        fy = frame.max_v_samp // comp.v_samp
        fx = frame.max_h_samp // comp.h_samp
        planes.append(upsample(plane[:comp_h, :comp_w], fy, fx, frame.height, frame.width))
    if len(planes) == 1:
        return np.clip(np.rint(planes[0]), 0, 255).astype(np.uint8)
    return ycbcr_to_rgb_uint8(np.stack(planes, axis=-1))


def photo(height: int, width: int) -> np.ndarray:
    img = skimage.data.astronaut()
    reps = (-(-height // 512), -(-width // 512), 1)
    return np.ascontiguousarray(np.tile(img, reps)[:height, :width])


def red_text_on_blue(height: int = 96, width: int = 256) -> np.ndarray:
    image = Image.new("RGB", (width, height), (0, 0, 255))
    draw = ImageDraw.Draw(image)
    for row in range(0, height, 16):
        draw.text((2, row), "Red text on blue, 0123456789 ABCDEFG", fill=(255, 0, 0))
    return np.array(image)


# --- validation ---


def test_prepare_pixels_accepts_and_normalizes() -> None:
    grey = np.zeros((5, 7, 1), dtype=np.uint8)
    assert prepare_pixels(grey).shape == (5, 7)
    rgb = np.zeros((7, 5, 3), dtype=np.uint8)[::-1]
    out = prepare_pixels(rgb)
    assert out.shape == (7, 5, 3) and out.flags.c_contiguous


@pytest.mark.parametrize(
    ("image", "error"),
    [
        ([[1, 2], [3, 4]], InputError),
        (np.zeros((4, 4, 3), dtype=np.float32), UnsupportedImageError),
        (np.zeros((4, 4), dtype=np.uint16), UnsupportedImageError),
        (np.zeros((4, 4, 4), dtype=np.uint8), UnsupportedImageError),
        (np.zeros((4, 4, 3, 1), dtype=np.uint8), UnsupportedImageError),
        (np.zeros(16, dtype=np.uint8), UnsupportedImageError),
        (np.zeros((0, 4, 3), dtype=np.uint8), InputError),
        (np.zeros((1, 65536), dtype=np.uint8), UnsupportedImageError),
    ],
)
def test_prepare_pixels_rejects(image, error) -> None:
    with pytest.raises(error) as info:
        prepare_pixels(image)
    message = str(info.value)
    assert message and "\n" not in message


# --- layout and padding ---


def check_layout(frame: Frame, height: int, width: int, h_samp: int, v_samp: int) -> None:
    assert (frame.height, frame.width) == (height, width)
    for comp in frame.components:
        assert comp.coeffs.dtype == np.int16
        assert comp.coeffs.shape == (frame.mcus_y * comp.v_samp, frame.mcus_x * comp.h_samp, 8, 8)
        # Blocks past the component's own size are libjpeg's dummy blocks.
        comp_h, comp_w = frame.component_size(comp)
        real_y, real_x = -(-comp_h // 8), -(-comp_w // 8)
        q = comp.coeffs
        for extra in (q[:, real_x:], q[real_y:]):
            ac = extra.reshape(*extra.shape[:2], 64)[..., 1:]
            assert not ac.any()
        if real_x < q.shape[1]:
            left = q[:real_y, real_x - 1 : real_x, 0, 0]
            np.testing.assert_array_equal(
                q[:real_y, real_x:, 0, 0], np.broadcast_to(left, (real_y, q.shape[1] - real_x))
            )
        if real_y < q.shape[0]:
            above = q[real_y - 1 : real_y, :, 0, 0]
            np.testing.assert_array_equal(
                q[real_y:, :, 0, 0], np.broadcast_to(above, (q.shape[0] - real_y, q.shape[1]))
            )
    assert frame.components[0].h_samp == h_samp and frame.components[0].v_samp == v_samp


@pytest.mark.parametrize("size", [(1, 1), (17, 9), (9, 17), (16, 16), (33, 47)])
@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
def test_colour_layout(size: tuple[int, int], subsampling: str) -> None:
    height, width = size
    frame = image_to_frame(photo(height, width), EncodeOptions(subsampling=subsampling))
    h_samp, v_samp = {"4:4:4": (1, 1), "4:2:2": (2, 1), "4:2:0": (2, 2)}[subsampling]
    assert [(c.ident, c.h_samp, c.v_samp, c.quant_index) for c in frame.components] == [
        (1, h_samp, v_samp, 0),
        (2, 1, 1, 1),
        (3, 1, 1, 1),
    ]
    assert sorted(frame.quant_tables) == [0, 1]
    check_layout(frame, height, width, h_samp, v_samp)


@pytest.mark.parametrize("size", [(1, 1), (17, 9), (8, 8)])
def test_greyscale_layout(size: tuple[int, int]) -> None:
    grey = photo(*size)[..., 1]
    frame = image_to_frame(grey, EncodeOptions(subsampling="4:2:0"))
    (comp,) = frame.components
    assert (comp.ident, comp.h_samp, comp.v_samp, comp.quant_index) == (1, 1, 1, 0)
    assert list(frame.quant_tables) == [0]
    np.testing.assert_array_equal(frame.quant_tables[0], default_quant_tables(75)[0])
    check_layout(frame, *size, 1, 1)


def test_greyscale_with_channel_axis_equals_2d() -> None:
    grey = photo(20, 30)[..., 0]
    a = image_to_frame(grey, EncodeOptions()).components[0].coeffs
    b = image_to_frame(grey[..., None], EncodeOptions()).components[0].coeffs
    np.testing.assert_array_equal(a, b)


# --- exact values ---


def round_half_away(x: float) -> int:
    assert abs(abs(x) % 1 - 0.5) > 1e-3, "test value too close to a rounding tie"
    return int(np.sign(x) * np.floor(abs(x) + 0.5))


@pytest.mark.parametrize("rgb", [(200, 200, 200), (255, 0, 0), (12, 180, 99)])
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0"])
def test_flat_image_dc_is_exact(rgb: tuple[int, int, int], subsampling: str) -> None:
    image = np.empty((13, 21, 3), dtype=np.uint8)
    image[:] = rgb
    frame = image_to_frame(image, EncodeOptions(quality=50, subsampling=subsampling))
    ycc = rgb_to_ycbcr(np.array(rgb, dtype=np.uint8)).astype(np.float64)
    for comp, value in zip(frame.components, ycc, strict=True):
        step = float(frame.quant_tables[comp.quant_index][0, 0])
        expected = round_half_away(8.0 * (value - 128.0) / step)
        assert np.all(comp.coeffs[..., 0, 0] == expected)
        assert not comp.coeffs.reshape(-1, 64)[:, 1:].any()


def test_grey_flat_dc_known_value() -> None:
    frame = image_to_frame(np.full((8, 8), 200, dtype=np.uint8), EncodeOptions(quality=75))
    assert frame.components[0].coeffs[0, 0, 0, 0] == 72  # 8 * (200 - 128) / 8


def test_agrees_with_libjpeg(tmp_path) -> None:
    """libjpeg's float-DCT encoder (via jpeglib) on the same pixels: >= 98 % identical."""
    image = photo(37, 53)
    path = str(tmp_path / "ref.jpg")
    for subsampling, factors in (("4:4:4", ((1, 1), (1, 1), (1, 1))), ("4:2:0", None)):
        spatial = jpeglib.from_spatial(image)
        if factors:
            spatial.samp_factor = factors
        spatial.write_spatial(path, qt=75, dct_method=jpeglib.JDCT_FLOAT)
        ref = jpeglib.read_dct(path)
        frame = image_to_frame(image, EncodeOptions(quality=75, subsampling=subsampling))
        pairs = list(zip(frame.components, (ref.Y, ref.Cb, ref.Cr), strict=True))
        if subsampling == "4:2:0":  # libjpeg's box downsampling differs from ours
            pairs = pairs[:1]
        for comp, theirs in pairs:
            ours = comp.coeffs[: theirs.shape[0], : theirs.shape[1]].astype(int)
            assert ours.shape == theirs.shape
            diff = np.abs(ours - theirs)
            assert diff.max() <= 1 and (diff == 0).mean() >= 0.98


# --- round trip ---


@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
@pytest.mark.parametrize("rdo", [False, True])
def test_round_trip_psnr_at_quality_95(subsampling: str, rdo: bool) -> None:
    image = photo(67, 91)
    frame = image_to_frame(image, EncodeOptions(quality=95, subsampling=subsampling, rdo=rdo))
    floor = {"4:4:4": 40.0, "4:2:2": 38.5, "4:2:0": 37.0}[subsampling] - (0.5 if rdo else 0.0)
    assert psnr(image, decode_frame(frame)) > floor


def test_large_odd_image_round_trip() -> None:
    image = photo(769, 1023)
    frame = image_to_frame(image, EncodeOptions(quality=95, subsampling="4:2:0"))
    check_layout(frame, 769, 1023, 2, 2)
    assert frame.mcus_y == 49 and frame.mcus_x == 64
    assert psnr(image, decode_frame(frame)) > 38.0


def test_greyscale_round_trip_and_pillow_decode(tmp_path) -> None:
    grey = photo(45, 61)[..., 0]
    frame = image_to_frame(grey, EncodeOptions(quality=95))
    ours = decode_frame(frame)
    assert psnr(grey, ours) > 42.0
    path = str(tmp_path / "grey.jpg")
    jpeglib.from_dct(frame.components[0].coeffs, qt=frame.quant_tables[0][None]).write_dct(path)
    with Image.open(path) as im:
        pillow = np.asarray(im)[:45, :61]
    assert np.abs(pillow.astype(int) - ours).max() <= 2


def test_pillow_decodes_like_our_inverse_path(tmp_path) -> None:
    image = photo(40, 56)
    frame = image_to_frame(image, EncodeOptions(quality=90, subsampling="4:2:0"))
    y, cb, cr = (c.coeffs for c in frame.components)
    tables = np.stack([frame.quant_tables[0], frame.quant_tables[1]])
    path = str(tmp_path / "colour.jpg")
    jpeglib.from_dct(y, cb, cr, qt=tables).write_dct(path)
    with Image.open(path) as im:
        pillow = np.asarray(im.convert("RGB"))[:40, :56]
    assert psnr(pillow, decode_frame(frame)) > 45.0


# --- options ---


def test_single_and_16_bit_tables() -> None:
    table = np.full((8, 8), 300, dtype=np.uint16)
    table[0, 0] = 2
    frame = image_to_frame(photo(16, 16), EncodeOptions(quant_tables=(table,)))
    assert [c.quant_index for c in frame.components] == [0, 0, 0]
    assert list(frame.quant_tables) == [0]
    np.testing.assert_array_equal(frame.quant_tables[0], table)
    # |AC| of 8-bit samples stays below 930, so steps of 300 leave at most 3; DC step 2 is fine.
    for comp in frame.components:
        flat = comp.coeffs.reshape(-1, 64)
        assert np.abs(flat[:, 1:]).max() <= 3
    assert np.abs(frame.components[0].coeffs[..., 0, 0]).max() > 100


def test_two_tables_and_quality() -> None:
    luma, chroma = default_quant_tables(30)
    frame = image_to_frame(photo(16, 16), EncodeOptions(quant_tables=(chroma, luma), quality=90))
    np.testing.assert_array_equal(frame.quant_tables[0], chroma)
    np.testing.assert_array_equal(frame.quant_tables[1], luma)


def test_choose_subsampling() -> None:
    assert choose_subsampling(red_text_on_blue()) == "4:4:4"
    assert choose_subsampling(photo(256, 256)) == "4:2:0"
    assert choose_subsampling(np.zeros((1, 1, 3), dtype=np.uint8)) == "4:4:4"
    frame = image_to_frame(red_text_on_blue(), EncodeOptions(subsampling="auto"))
    assert frame.components[0].h_samp == 1 and frame.components[0].v_samp == 1
    frame = image_to_frame(photo(64, 64), EncodeOptions(subsampling="auto"))
    assert frame.components[0].h_samp == 2 and frame.components[0].v_samp == 2
