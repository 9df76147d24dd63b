"""Resource limits: decompression bombs are refused from the headers, before any large
allocation; the pixel limit is configurable (API ``max_pixels``, CLI ``--max-pixels``); scan
bombs (too many scans, or scans passing over the image too often: ``max_scan_passes``,
``--max-scan-passes``) are refused; a downscaled record asks for at most 4x per side;
enhancement of big images stays within its tiling bound."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid.cli import cli
from hybrid.codec.headers import DEFAULT_MAX_SCAN_PASSES, MAX_SCANS, read_info
from hybrid.errors import (
    HybridMetadataWarning,
    ImageTooLargeError,
    JpegDataWarning,
    UnsupportedImageError,
)
from tests.helpers.corpus import find_segments, sample_image
from tests.helpers.hostile import forged_upscale, progressive_scan_bomb

REPO = Path(__file__).resolve().parents[2]


def with_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` with its frame header claiming ``width`` x ``height``."""
    sof = (find_segments(data, 0xC0) + find_segments(data, 0xC2))[0]
    at = sof.offset + 5
    return data[:at] + struct.pack(">HH", height, width) + data[at + 4 :]


# Each case runs in a fresh interpreter under a 1 GiB address-space limit (so a regression
# that reached libjpeg with a 4-gigapixel frame fails cleanly instead of exhausting memory),
# with tracemalloc measuring Python/numpy allocations and torch's import as a tripwire.
_BOMB_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time, tracemalloc
    limit = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import hybrid
    data = sys.stdin.buffer.read()
    calls = {
        "info": lambda mp: hybrid.info(data),
        "decode": lambda mp: hybrid.decode(data, max_pixels=mp),
        "decode_array": lambda mp: hybrid.decode_array(data, enhance=False, max_pixels=mp),
        "coefficients": lambda mp: hybrid.read_coefficients(data, max_pixels=mp),
        "enhance": lambda mp: hybrid.decode(data, enhance=True, max_pixels=mp),
    }
    out = {}
    for limit_name, mp in (("default", hybrid.io.DEFAULT_MAX_PIXELS), ("none", None)):
        for name, call in calls.items():
            tracemalloc.start()
            start = time.perf_counter()
            try:
                call(mp)
                outcome = "ok"
            except Exception as exc:
                outcome = type(exc).__name__
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out[f"{name}/{limit_name}"] = [outcome, peak, seconds]
    out["torch imported"] = "torch" in sys.modules
    from tests.helpers.harness import proc_status_bytes
    out["maxrss"] = proc_status_bytes("VmHWM")
    print(json.dumps(out))
    """
)


def run_bomb(data: bytes) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _BOMB_SCRIPT],
        input=data,
        capture_output=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def small_jpeg() -> bytes:
    return hybrid.encode(sample_image(24, 40, 3), quality=80)


@pytest.mark.parametrize(
    "width, height, within_limit",
    [(65500, 65500, False), (65535, 65535, False), (20000, 10000, False), (10000, 10000, True)],
)
def test_tiny_file_claiming_a_huge_image(small_jpeg, width, height, within_limit):
    bomb = with_size(small_jpeg, width, height)
    assert len(bomb) < 2000
    result = run_bomb(bomb)
    # info has no pixel limit (it allocates nothing) but checks the data size.
    assert result["info/default"][0] == "CorruptJPEGError"
    for name in ("decode", "decode_array", "coefficients", "enhance"):
        # Over the limit: ImageTooLargeError. Within it (or with no limit): the scan data
        # is far too small for the declared blocks, so the file is corrupt (headers.py).
        expected = "CorruptJPEGError" if within_limit else "ImageTooLargeError"
        assert result[f"{name}/default"][0] == expected, (name, result)
        assert result[f"{name}/none"][0] == "CorruptJPEGError", (name, result)
    for key, value in result.items():
        if "/" in key:
            outcome, peak, seconds = value
            assert peak < 4 << 20, (key, peak)  # < 4 MiB traced: refused from the headers
            assert seconds < 1.0, (key, seconds)
    assert not result["torch imported"]  # refused before the enhancement half was loaded
    assert result["maxrss"] < 300 << 20


def test_enhance_module_entry_point_refuses_bombs_with_a_typed_error(small_jpeg, tmp_path):
    """Regression: hybrid.enhance.enhance_jpeg (which skips hybrid.decode's header check) let
    Pillow's DecompressionBombError escape untyped."""
    from hybrid.enhance import enhance_jpeg
    from tests.helpers.harness import tiny_weights

    weights = tiny_weights(tmp_path / "w.pt")
    with pytest.raises(ImageTooLargeError):
        enhance_jpeg(with_size(small_jpeg, 65500, 65500), weights=weights, threads=1)


def forge_downscaled(data: bytes, width: int, height: int, scale: float) -> bytes:
    """``data`` (a downscaled-mode file) with its APP11 record claiming another original."""
    from hybrid.codec.metadata import SIGNATURE

    app11 = find_segments(data, 0xEB)[0]
    at = app11.offset + 4 + len(SIGNATURE) + 2  # after the version and mode bytes
    return data[:at] + struct.pack(">IId", width, height, scale) + data[at + 16 :]


def test_downscaled_metadata_cannot_ask_for_more_than_max_pixels(
    corpus_by_name, weights, tmp_path, monkeypatch
):
    """A downscaled file decodes (enhanced, or with upscale=True) to the original size its
    APP11 record states. That record is untrusted, so the output size is held to
    ``max_pixels`` before any work (hybrid/upscale.py; see also tests/test_downscaled.py)."""
    import tracemalloc

    from hybrid.errors import MissingModelWarning

    data = corpus_by_name["hybrid-downscaled"]
    coded = hybrid.info(data)
    meta = coded.hybrid_metadata
    assert (meta.original_width, meta.original_height, meta.scale) == (37, 23, 2.0)
    assert (coded.width, coded.height) == (19, 12)
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))  # no SR model installed
    with pytest.warns(MissingModelWarning, match="upscaled it"):
        assert hybrid.decode(data, enhance=True, weights=weights, threads=1).size == (37, 23)
    with pytest.raises(ImageTooLargeError, match="decoded size 37x23"):
        hybrid.decode(data, enhance=True, weights=weights, max_pixels=300)
    # A record that does not describe the 19x12 frame, or whose scale is above the encoder's
    # 4 (even a consistent 64x: 1216x768), is ignored (with a warning): a tiny file can ask
    # for at most 4x per side ...
    for width, height, scale in ((60000, 60000, 2.0), (95000, 60000, 5000.0), (1216, 768, 64.0)):
        forged = forge_downscaled(data, width, height, scale)
        with pytest.warns(HybridMetadataWarning, match="the frame is 19x12|outside"):
            assert hybrid.decode(forged, upscale=True).size == (19, 12)
    # ... and one that does (coded size = round(original / scale)) is held to max_pixels.
    for width, height, limit in ((76, 48, 3000), (74, 46, 1000)):
        forged = forge_downscaled(data, width, height, 4.0)
        assert hybrid.info(forged).hybrid_metadata.original_width == width
        assert hybrid.decode(forged).size == (19, 12)  # the plain decode never upscales
        tracemalloc.start()
        for call, kwargs in (
            (hybrid.decode, {"enhance": True, "weights": weights}),
            (hybrid.decode, {"upscale": True}),
            (hybrid.decode_array, {"enhance": True, "weights": weights}),
        ):
            with pytest.raises(ImageTooLargeError, match=f"decoded size {width}x{height}"):
                call(forged, max_pixels=limit, **kwargs)
        assert tracemalloc.get_traced_memory()[1] < 4 << 20  # refused before allocating
        tracemalloc.stop()


def test_pixel_limit_is_configurable_in_the_api(small_jpeg):
    pixels = 24 * 40
    assert hybrid.decode(small_jpeg, max_pixels=pixels).size == (40, 24)
    assert hybrid.read_coefficients(small_jpeg, max_pixels=pixels).width == 40
    for call in (
        lambda: hybrid.decode(small_jpeg, max_pixels=pixels - 1),
        lambda: hybrid.decode_array(small_jpeg, enhance=False, max_pixels=pixels - 1),
        lambda: hybrid.read_coefficients(small_jpeg, max_pixels=pixels - 1),
        lambda: hybrid.decode(small_jpeg, enhance=True, max_pixels=pixels - 1),
        lambda: hybrid.encode(sample_image(24, 40, 0), max_pixels=pixels - 1),
    ):
        with pytest.raises(ImageTooLargeError, match=f"more than the limit of {pixels - 1}"):
            call()
    assert hybrid.encode(sample_image(24, 40, 0), max_pixels=pixels)


def test_pixel_limit_is_configurable_in_the_cli(tmp_path, small_jpeg, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after
    src = tmp_path / "in.jpg"
    src.write_bytes(small_jpeg)
    png = tmp_path / "in.png"
    Image.fromarray(sample_image(24, 40, 0)).save(png)
    runner = CliRunner()
    refused = runner.invoke(cli, ["decode", str(src), "-o", str(tmp_path / "a.png"),
                                  "--max-pixels", "959"])  # fmt: skip
    assert refused.exit_code == 2 and "more than the limit of 959" in refused.stderr
    assert not (tmp_path / "a.png").exists()
    refused = runner.invoke(cli, ["encode", str(png), "-o", str(tmp_path / "a.jpg"),
                                  "--max-pixels", "959"])  # fmt: skip
    assert refused.exit_code == 2 and "more than the limit of 959" in refused.stderr
    for args in (["decode", str(src), "-o", str(tmp_path / "b.png")],
                 ["encode", str(png), "-o", str(tmp_path / "b.jpg")]):  # fmt: skip
        assert runner.invoke(cli, [*args, "--max-pixels", "960"]).exit_code == 0
    assert Image.MAX_IMAGE_PIXELS is not None  # a lower limit leaves Pillow's check alone
    # --max-pixels 0 lifts the limit, Pillow's fixed one included (hybrid checks headers).
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(with_size(small_jpeg, 20000, 10000))
    result = runner.invoke(cli, ["decode", str(bomb), "-o", str(tmp_path / "c.png"),
                                 "--max-pixels", "0"])  # fmt: skip
    assert result.exit_code == 2 and "cannot hold" in result.stderr  # the data-size check
    assert Image.MAX_IMAGE_PIXELS is None


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_encoder_input_bombs_are_refused(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header_only(60000, 60000))
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError):
        hybrid.encode(huge)
    big = tmp_path / "big.png"
    big.write_bytes(_png_header_only(5000, 4000))
    with pytest.raises(ImageTooLargeError, match="more than the limit of 1000000"):
        hybrid.encode(big, max_pixels=1_000_000)
    assert time.perf_counter() - start < 1.0


def progressive_with_scans(total_scans: int, side: int = 64) -> bytes:
    """A valid progressive JPEG whose last scan is repeated up to ``total_scans`` scans."""
    buffer = io.BytesIO()
    Image.fromarray(sample_image(side, side, 2)).save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    sos = find_segments(data, 0xDA)
    eoi = find_segments(data, 0xD9)[-1].offset
    last = data[sos[-1].offset : eoi]
    return data[:eoi] + last * (total_scans - len(sos)) + b"\xff\xd9"


def test_scan_count_bomb_is_refused():
    assert MAX_SCANS == 500  # libjpeg-turbo's TJPARAM_SCANLIMIT
    at_limit = progressive_with_scans(MAX_SCANS)
    assert read_info(at_limit, max_scan_passes=None).num_scans == MAX_SCANS
    # The repeated scans refine coefficients they already finished: libjpeg's warning makes
    # it a decode flagged as damaged, not an error. (Each covers most of the frame, so the
    # scan-work limit refuses the file by default: see test_scan_work_bomb_is_refused.)
    with pytest.warns(JpegDataWarning, match="Inconsistent progression"):
        assert hybrid.decode(at_limit, max_scan_passes=MAX_SCANS).size == (64, 64)
    # 20,000 scans over a 2048x2048 frame: libjpeg would pass over every block per scan
    # (minutes of CPU from a 300 kB file); hybrid refuses from the headers at once.
    for bomb in (
        progressive_with_scans(MAX_SCANS + 1),
        with_size(progressive_with_scans(20000), 2048, 2048),
    ):
        start = time.perf_counter()
        for call in (hybrid.info, hybrid.decode, hybrid.read_coefficients):
            with pytest.raises(UnsupportedImageError, match=f"more than {MAX_SCANS} scans"):
                call(bomb)
        assert time.perf_counter() - start < 1.0


def scan_passes_of(data: bytes) -> float:
    return read_info(data, max_scan_passes=None).scan_passes


def test_real_encoders_scan_work_is_far_below_the_limit():
    """A baseline file is one pass over the frame's blocks (plus MCU padding); libjpeg's
    progressive scripts (Pillow, hybrid) 4.7-6, far below the default limit."""
    image = sample_image(64, 96, 1)
    baseline = hybrid.encode(image, quality=80)
    assert scan_passes_of(baseline) == 1.0
    passes = []
    for subsampling in ("4:2:0", "4:4:4"):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", progressive=True, subsampling=subsampling)
        passes.append(scan_passes_of(buffer.getvalue()))
        passes.append(
            scan_passes_of(hybrid.encode(image, progressive=True, subsampling=subsampling))
        )
    buffer = io.BytesIO()
    Image.fromarray(image[:, :, 0]).save(buffer, "JPEG", progressive=True)
    passes.append(scan_passes_of(buffer.getvalue()))
    assert [round(p, 2) for p in passes] == [5.33, 5.33, 4.67, 4.67, 6.0]
    assert max(passes) * 10 < DEFAULT_MAX_SCAN_PASSES


def test_scan_work_bomb_is_refused(tmp_path):
    """A small progressive file whose scans each cover the whole frame: libjpeg visits every
    block once per scan (500 such scans over 13000x13000, 0.4 MB, took 61 s to decode and
    521 s enhanced). Refused from the headers beyond ``max_scan_passes`` passes."""
    assert DEFAULT_MAX_SCAN_PASSES == 100
    over = progressive_scan_bomb(512, DEFAULT_MAX_SCAN_PASSES + 1)
    at = progressive_scan_bomb(512, DEFAULT_MAX_SCAN_PASSES)
    assert len(over) < 40_000 and scan_passes_of(over) == 101.0
    start = time.perf_counter()
    for call in (
        hybrid.info,
        hybrid.decode,
        lambda d: hybrid.decode_array(d, enhance=False),
        hybrid.read_coefficients,
        lambda d: hybrid.decode(d, enhance=True),
    ):
        with pytest.raises(ImageTooLargeError, match="pass over the image's blocks 101 times"):
            call(over)
    assert time.perf_counter() - start < 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid progression: libjpeg has nothing to say
        for data, limit in ((at, DEFAULT_MAX_SCAN_PASSES), (over, 101), (over, None)):
            assert hybrid.decode(data, max_scan_passes=limit, strict=True).size == (512, 512)
            frame = hybrid.read_coefficients(data, max_scan_passes=limit)
            assert not frame.components[0].coeffs.any()
    src = tmp_path / "bomb.jpg"
    src.write_bytes(over)
    runner = CliRunner()
    refused = runner.invoke(cli, ["decode", str(src), "-o", str(tmp_path / "a.png")])
    assert refused.exit_code == 2 and "--max-scan-passes raises it" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    for limit in ("101", "0"):
        args = [
            "decode",
            str(src),
            "-o",
            str(tmp_path / f"{limit}.png"),
            "--max-scan-passes",
            limit,
        ]
        assert runner.invoke(cli, args).exit_code == 0


def test_upscale_factor_is_capped(corpus_by_name):
    """A downscaled record, or ``scale``, asks for at most 4x per side (the encoder's most),
    so a file's output is at most 16x its coded pixels, and within max_pixels. A 9.9 kB file
    recording a consistent 64x upscale (203x203 -> 13000x13000) took 67 s and 6 GB."""
    from hybrid.codec.geometry import MAX_SCALE
    from hybrid.errors import InputError

    assert MAX_SCALE == 4.0
    data = corpus_by_name["hybrid-downscaled"]  # 19x12, recorded as 37x23 at scale 2
    with pytest.warns(
        HybridMetadataWarning, match=r"its scale 64 is outside the encoder's \(1, 4\]"
    ):
        assert hybrid.info(forged_upscale(data, 64.0)).hybrid_metadata is None
    at_cap = forged_upscale(data, 4.0)
    assert hybrid.decode(at_cap, upscale=True).size == (76, 48)
    with pytest.raises(ImageTooLargeError, match="decoded size 76x48"):
        hybrid.decode(at_cap, upscale=True, max_pixels=76 * 48 - 1)
    for scale in (4.01, 64):
        with pytest.raises(InputError, match="scale must be between 1 and 4"):
            hybrid.decode(data, scale=scale)
        with pytest.raises(InputError, match="scale must be between 1 and 4"):
            hybrid.encode(sample_image(64, 64, 0), scale=scale)
    assert hybrid.decode(data, scale=4).size == (76, 48)


def test_an_ignored_record_does_not_choose_the_enhancement_network():
    """Regression: enhance_jpeg took its model from the raw APP11 record, so an ignored
    downscaled record (here: 64x, above the cap) made it run the super-resolution model it
    names (sr-fast-v1) as an enhancement network: an untyped RuntimeError in the tiler."""
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, load_manifest

    manifest = load_manifest()
    if DEFAULT_ENHANCE_MODEL not in manifest or "sr-fast-v1" not in manifest:
        pytest.skip("the released weights are not installed")
    data = hybrid.encode(sample_image(40, 48, 3), scale=2)  # 24x20, names sr-fast-v1
    assert hybrid.info(data).hybrid_metadata.model_id == "sr-fast-v1"
    with pytest.warns(HybridMetadataWarning, match="outside"):
        image = hybrid.decode(forged_upscale(data, 64.0), enhance=True)
    assert image.size == (24, 20)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_enhancement_runs_tile_by_tile(tmp_path, precision):
    """The network never sees more than one tile plus its overlap, whatever the image size:
    its working memory is bounded by the tile, not the image. In bf16 as in fp32, tiles
    agree with the whole image (measured: 7.5e-8 and 3.0e-7)."""
    from hybrid.enhance import enhance_jpeg, get_network
    from tests.helpers.harness import tiny_weights

    weights = tiny_weights(tmp_path / "w.pt")
    data = hybrid.encode(sample_image(100, 150, 4), quality=60)
    net = get_network(weights=weights)
    seen: list[tuple[int, ...]] = []
    handle = net.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    try:
        tiled = enhance_jpeg(data, weights=weights, tile=32, threads=1, precision=precision)
        seen_tiled = list(seen)
        seen.clear()
        whole = enhance_jpeg(data, weights=weights, tile=1024, threads=1, precision=precision)
    finally:
        handle.remove()
    assert len(seen_tiled) == 4 * 5  # ceil(112 / 32) x ceil(160 / 32) tiles
    assert max(max(shape[-2:]) for shape in seen_tiled) <= 32 + 2 * 48  # tile + overlaps
    assert seen == [(1, 3, 112, 160)]
    assert np.abs(tiled - whole).max() < 1e-3


_ENHANCE_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    import hybrid
    import hybrid.enhance
    from tests.helpers.corpus import sample_image
    from tests.helpers.harness import proc_status_bytes
    path, weights = Path(sys.argv[1]), sys.argv[2]
    # 256-pixel tiles: both images have whole interior windows, so the network's working
    # set is the same and the difference between them is what grows with the image.
    hybrid.enhance.enhance_jpeg.__kwdefaults__["tile"] = 256
    warm = hybrid.encode(sample_image(700, 700, 0), quality=50)
    hybrid.decode(warm, enhance=True, weights=weights)  # imports, thread pools, a window's set
    data = path.read_bytes()
    before = proc_status_bytes("VmHWM")
    image = hybrid.decode(data, enhance=True, weights=weights)
    after = proc_status_bytes("VmHWM")
    print(json.dumps({"growth": after - before, "pixels": image.width * image.height}))
    """
)


@pytest.mark.slow
def test_enhancement_memory_of_a_big_image(tmp_path):
    """Peak memory of an enhanced decode (hybrid.decode, 48-channel network) grows with the
    image by its float32 output (12 bytes per pixel), the decoded input while the network
    runs (pixels and 4:2:0 coefficients, 6) or the 8-bit result at the end (3-8), nothing
    else: the network sees one tile plus its overlap, the input is padded one window at a
    time and the 8-bit result is converted in bands. Measured as the difference between a
    2040x2040 and a 4080x2040 image: 21-23 B/px (before those changes 27-44: padded copies
    of the input, float temporaries of the conversion)."""
    from tests.helpers.harness import tiny_weights

    weights = tiny_weights(tmp_path / "w48.pt", channels=48, blocks=2)
    results = []
    for width in (2040, 4080):
        image = tmp_path / f"{width}.jpg"
        pixels = np.tile(sample_image(255, 255, 1), (8, width // 255, 1))
        Image.fromarray(pixels).save(image, quality=75)
        proc = subprocess.run(
            [sys.executable, "-c", _ENHANCE_MEMORY_SCRIPT, str(image), str(weights)],
            capture_output=True,
            cwd=REPO,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        results.append(json.loads(proc.stdout))
    (small, big) = results
    slope = (big["growth"] - small["growth"]) / (big["pixels"] - small["pixels"])
    print(f"\nenhanced decode peak RSS growth: {small['growth'] / 2**20:.0f} MiB at "
          f"{small['pixels'] / 1e6:.1f} MP, {big['growth'] / 2**20:.0f} MiB at "
          f"{big['pixels'] / 1e6:.1f} MP: {slope:.1f} B per extra pixel")  # fmt: skip
    assert slope < 28
    assert big["growth"] < 28 * big["pixels"] + (64 << 20)
