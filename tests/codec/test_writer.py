"""write_jpeg: files that libjpeg reads back coefficient for coefficient."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from hybrid.codec.frame import Component, Frame
from hybrid.codec.huffman import standard_tables
from hybrid.codec.writer import write_jpeg
from hybrid.errors import InputError
from tests.helpers.jpeg import (
    PILLOW_SUBSAMPLING,
    SAMPLINGS,
    assert_reads_back,
    entropy_data,
    frame_from_jpeg,
    pillow_jpeg,
    random_frame,
    segments,
    smooth_rgb,
)


@pytest.mark.parametrize("layout", list(SAMPLINGS))
@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("optimize", [True, False])
def test_random_frames_read_back_exactly(layout, progressive, optimize):
    rng = np.random.default_rng(len(layout) + 2 * progressive + 4 * optimize)
    for width, height in [(1, 1), (17, 9), (64, 48)]:
        frame = random_frame(rng, width, height, layout, "small")
        for restart_interval in (0, 1, 7):
            data = write_jpeg(
                frame,
                progressive=progressive,
                optimize_huffman=optimize,
                restart_interval=restart_interval,
            )
            assert_reads_back(data, frame)


@pytest.mark.parametrize("layout", list(SAMPLINGS))
@pytest.mark.parametrize("progressive", [False, True])
def test_extreme_coefficients_read_back_exactly(layout, progressive):
    """AC +-1023 (10-bit magnitudes) and DC differences of +-2047 (11 bits)."""
    rng = np.random.default_rng(7)
    frame = random_frame(rng, 40, 24, layout, "extreme")
    dc = frame.components[0].coeffs[..., 0, 0].ravel()
    assert np.abs(np.diff(dc)).max() == 2047
    for optimize in (True, False):
        data = write_jpeg(frame, progressive=progressive, optimize_huffman=optimize)
        assert_reads_back(data, frame)


def test_large_odd_sized_image_reads_back():
    data = pillow_jpeg(smooth_rgb(1023, 769), quality=90, subsampling=2)
    frame = frame_from_jpeg(data)
    assert_reads_back(write_jpeg(frame, progressive=True, restart_interval=7), frame)
    assert_reads_back(write_jpeg(frame), frame)


@pytest.mark.parametrize("layout", ["grey", "444", "422", "420"])
@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("restart_blocks", [0, 1, 5])
def test_same_entropy_bytes_as_libjpeg_for_its_own_coefficients(
    layout, progressive, restart_blocks
):
    """Re-encoding libjpeg-turbo's coefficients reproduces its scans byte for byte.

    Only the headers differ: we put all tables in one DQT and one DHT per scan, which saves
    4 bytes per extra table, so our file is smaller by exactly that.
    """
    rgb = smooth_rgb(83, 45, seed=3)
    pixels = rgb[:, :, 0] if layout == "grey" else rgb
    extra = {} if layout == "grey" else {"subsampling": PILLOW_SUBSAMPLING[layout]}
    if restart_blocks:
        extra["restart_marker_blocks"] = restart_blocks
    theirs = pillow_jpeg(pixels, quality=75, optimize=True, progressive=progressive, **extra)
    frame = frame_from_jpeg(theirs)
    ours = write_jpeg(frame, progressive=progressive, restart_interval=restart_blocks)
    assert entropy_data(ours) == entropy_data(theirs)
    n_tables = 1 if layout == "grey" else 2
    saved = 4 * (n_tables - 1)  # DQT
    if not progressive:
        saved += 4 * (2 * n_tables - 1)  # DHT
    elif layout != "grey":
        saved += 4  # the interleaved DC scan's two tables
    assert len(theirs) - len(ours) == saved


def test_standard_tables_match_libjpeg_without_optimization():
    theirs = pillow_jpeg(smooth_rgb(40, 33), quality=60, optimize=False, subsampling=2)
    frame = frame_from_jpeg(theirs)
    ours = write_jpeg(frame, optimize_huffman=False)
    assert entropy_data(ours) == entropy_data(theirs)


def test_progressive_with_standard_tables_uses_plain_eobs():
    frame = random_frame(np.random.default_rng(1), 48, 40, "420", "small")
    data = write_jpeg(frame, progressive=True, optimize_huffman=False)
    assert_reads_back(data, frame)
    std = standard_tables()
    expect = {(std[k].bits, std[k].values) for k in std}
    for marker, payload in segments(data):
        if marker == 0xC4:
            pos = 0
            while pos < len(payload):
                bits = tuple(payload[pos + 1 : pos + 17])
                values = tuple(payload[pos + 17 : pos + 17 + sum(bits)])
                assert (bits, values) in expect
                pos += 17 + sum(bits)


def test_mcu_padded_coefficient_arrays_are_accepted():
    """Arrays covering whole MCUs (as the encoder makes them) are used as given."""
    frame = random_frame(np.random.default_rng(2), 33, 19, "420", "small")
    padded = []
    for comp in frame.components:
        rows, cols = frame.mcus_y * comp.v_samp, frame.mcus_x * comp.h_samp
        c = np.zeros((rows, cols, 8, 8), np.int16)
        c[..., 0, 0] = 9  # padding content is the encoder's choice
        c[: comp.coeffs.shape[0], : comp.coeffs.shape[1]] = comp.coeffs
        padded.append(Component(comp.ident, comp.h_samp, comp.v_samp, comp.quant_index, c))
    framed = Frame(frame.width, frame.height, tuple(padded), frame.quant_tables)
    for progressive in (False, True):
        assert_reads_back(write_jpeg(framed, progressive=progressive), framed)


def test_segment_order_and_metadata():
    frame = random_frame(np.random.default_rng(3), 16, 16, "444", "small")
    icc = bytes(range(256)) * 300  # 76800 bytes: two APP2 chunks
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"
    data = write_jpeg(
        frame,
        progressive=True,
        restart_interval=2,
        app_segments=((11, b"HYBRID\x00\x01"), (4, b"x")),
        icc_profile=icc,
        exif=exif,
        comment=b"made by hybrid",
        density=(1, 300, 300),
    )
    markers = [m for m, _ in segments(data)]
    head = markers[: markers.index(0xC2) + 1]
    assert head == [0xE0, 0xE1, 0xE2, 0xE2, 0xEB, 0xE4, 0xFE, 0xDB, 0xC2]
    assert markers[-1] == 0xD9
    assert markers.count(0xDD) == 1
    assert markers.index(0xDD) < markers.index(0xDA)
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.info["icc_profile"] == icc
        assert im.info["exif"] == exif
        assert im.info["comment"] == b"made by hybrid"
        assert im.info["dpi"] == (300, 300)
        assert im.info["jfif_version"] == (1, 1)
    payloads = dict(segments(data)[:7])
    assert payloads[0xEB] == b"HYBRID\x00\x01"
    assert_reads_back(data, frame)


def test_exif_header_is_added_when_missing():
    frame = random_frame(np.random.default_rng(3), 8, 8, "grey")
    tiff = b"II*\x00\x08\x00\x00\x00\x00\x00"
    data = write_jpeg(frame, exif=tiff)
    assert dict(segments(data))[0xE1] == b"Exif\x00\x00" + tiff


def test_frame_type_follows_tables_and_mode():
    frame = random_frame(np.random.default_rng(4), 24, 16, "420", "small")
    assert segments(write_jpeg(frame))[2][0] == 0xC0  # after APP0, DQT
    assert segments(write_jpeg(frame, progressive=True))[2][0] == 0xC2
    wide = dict(frame.quant_tables)
    wide[1] = np.full((8, 8), 300, np.uint16)
    frame16 = Frame(frame.width, frame.height, frame.components, wide)
    data = write_jpeg(frame16)
    segs = segments(data)
    assert segs[2][0] == 0xC1  # extended sequential: 16-bit DQT entries
    dqt = segs[1][1]
    assert dqt[0] == 0x00 and dqt[65] == 0x11 and len(dqt) == 65 + 129
    assert_reads_back(data, frame16)
    assert_reads_back(write_jpeg(frame16, progressive=True), frame16)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"app_segments": ((5, b"x" * 65534),)}, "65533"),
        ({"app_segments": ((16, b""),)}, "0..15"),
        ({"comment": b"c" * 70000}, "65533"),
        ({"icc_profile": b""}, "empty"),
        ({"restart_interval": 65536}, "restart_interval"),
        ({"restart_interval": -1}, "restart_interval"),
        ({"density": (3, 1, 1)}, "JFIF"),
    ],
)
def test_bad_options_raise_input_error(change, message):
    frame = random_frame(np.random.default_rng(0), 8, 8, "grey")
    with pytest.raises(InputError, match=message):
        write_jpeg(frame, **change)


def test_bad_frames_raise_input_error():
    frame = random_frame(np.random.default_rng(0), 20, 20, "420")
    y, cb, cr = frame.components

    def with_(y2, q=frame.quant_tables, size=(20, 20)):
        return Frame(size[0], size[1], (y2, cb, cr), q)

    small = Component(1, 2, 2, 0, y.coeffs[:2])
    with pytest.raises(InputError, match="needs"):
        write_jpeg(with_(small))
    big = y.coeffs.copy()
    big[0, 0, 0, 1] = 1024
    with pytest.raises(InputError, match="1023"):
        write_jpeg(with_(Component(1, 2, 2, 0, big)))
    with pytest.raises(InputError, match="table 0 is missing"):
        write_jpeg(with_(y, q={1: frame.quant_tables[1]}))
    with pytest.raises(InputError, match="1..65535"):
        write_jpeg(with_(y, size=(0, 20)))
    dc = y.coeffs.copy()
    dc[0, 0, 0, 0], dc[0, 1, 0, 0] = -2047, 2047  # a DC difference of 4094
    with pytest.raises(InputError, match="DC difference"):
        write_jpeg(with_(Component(1, 2, 2, 0, dc)))
    with pytest.raises(InputError, match="scan"):
        write_jpeg(frame, progressive=True, scan_script=())


@pytest.mark.slow
def test_baseline_speed_one_megapixel():
    """Brief: a 1 MP 4:2:0 quality-75 frame with optimized tables in <= 0.15 s."""
    frame = frame_from_jpeg(pillow_jpeg(smooth_rgb(1280, 800), quality=75, subsampling=2))
    write_jpeg(frame)
    best = min(_timed(lambda: write_jpeg(frame)) for _ in range(5))
    assert best <= 0.15, f"{best * 1000:.0f} ms"


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
