"""Damaged coded data: flagged (warning + ``image.info["hybrid_damage"]``) or refused with
``strict``, never decoded silently when it can be known.

JPEG has no checksum, and Huffman codes re-synchronise, so most bit flips in another
encoder's entropy-coded data are invisible to every decoder. hybrid's own files carry a
CRC-32 of their coefficients and tables in the APP11 metadata (format version 2), so there
every flip is caught; a lossless rewrite (jpegtran) keeps the checksum valid.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid.cli import cli
from hybrid.codec.metadata import find_metadata
from hybrid.errors import CorruptJPEGError, InputError, JpegDataWarning
from tests.helpers.corpus import find_segments, flip_bit, sample_image
from tests.helpers.hostile import with_lost_scan

JPEGTRAN = shutil.which("jpegtran")

CONFIGS = [
    {"quality": 75},
    {"quality": 40, "progressive": True, "restart_interval": 2},
    {"quality": 90, "subsampling": "4:4:4"},
]


def scan_flips(data: bytes, n: int, seed: int) -> list[bytes]:
    """``n`` copies of ``data``, each with one random bit of the entropy-coded data flipped."""
    start = find_segments(data, 0xDA)[0].offset
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        at = int(rng.integers(start + 14, len(data) - 2))
        out.append(flip_bit(data, at, int(rng.integers(8))))
    return out


def decode_flagged(data: bytes) -> str:
    """'error', 'flagged' or 'silent': what a plain decode of ``data`` does."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = hybrid.decode(data)
    except CorruptJPEGError:
        return "error"
    damage = image.info.get("hybrid_damage")
    warned = any(issubclass(w.category, JpegDataWarning) for w in caught)
    assert bool(damage) == warned, (damage, [str(w.message) for w in caught])
    return "flagged" if damage else "silent"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_every_flip_in_hybrid_coded_data_is_caught(config):
    data = hybrid.encode(sample_image(96, 80, 1), **config)
    assert find_metadata(data).checksum is not None
    reference = np.asarray(hybrid.decode(data))
    for damaged in scan_flips(data, 25, seed=len(str(config))):
        if decode_flagged(damaged) == "silent":
            # Only a flip in the 1-bit padding before a marker can leave the coded image as
            # it was; then the pixels are exactly the original's.
            assert np.array_equal(np.asarray(hybrid.decode(damaged)), reference)
    for damaged in scan_flips(data, 6, seed=99):
        if decode_flagged(damaged) == "silent":
            continue
        with pytest.raises(CorruptJPEGError):
            hybrid.decode(damaged, strict=True)
        with pytest.raises(CorruptJPEGError):
            hybrid.decode_array(damaged, enhance=False, strict=True)


def test_intact_files_decode_without_warnings():
    pillow = io.BytesIO()
    Image.fromarray(sample_image(64, 48, 2)).save(pillow, "JPEG", quality=70)
    files = [hybrid.encode(sample_image(64, 48, 3), **c) for c in CONFIGS] + [pillow.getvalue()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for data in files:
            image = hybrid.decode(data, strict=True)
            assert "hybrid_damage" not in image.info


def test_other_encoders_files_are_flagged_when_libjpeg_notices():
    buffer = io.BytesIO()
    Image.fromarray(sample_image(128, 96, 4)).save(buffer, "JPEG", quality=80)
    data = buffer.getvalue()
    eoi = len(data) - 2
    cut = data[: (find_segments(data, 0xDA)[0].offset + eoi) // 2] + b"\xff\xd9"
    assert decode_flagged(cut) == "flagged"  # premature end of the entropy-coded data
    results = [decode_flagged(d) for d in scan_flips(data, 30, seed=5)]
    # Without a checksum only what libjpeg detects is flagged; many flips re-synchronise.
    assert "flagged" in results or "error" in results


def test_changed_tables_break_the_checksum():
    data = hybrid.encode(sample_image(64, 64, 6), quality=60)
    dqt = find_segments(data, 0xDB)[0]
    at = dqt.offset + 5 + 10  # an entry of table 0, away from the DC entry
    changed = data[:at] + bytes([(data[at] % 200) + 1]) + data[at + 1 :]
    assert changed != data
    with pytest.warns(JpegDataWarning, match="CRC-32"):
        hybrid.decode(changed)


def _require_jpegtran() -> str:
    if JPEGTRAN is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("jpegtran (libjpeg-turbo-progs) is required when CI=true")
        pytest.skip("jpegtran is not installed")
    return JPEGTRAN


@pytest.mark.parametrize("args", [["-optimize"], ["-progressive"], ["-restart", "1"]])
def test_lossless_rewrites_keep_the_checksum_valid(args):
    tool = _require_jpegtran()
    data = hybrid.encode(sample_image(80, 72, 7), quality=70, subsampling="4:2:0")
    rewritten = subprocess.run(
        [tool, "-copy", "all", *args], input=data, capture_output=True, check=True
    ).stdout
    assert rewritten != data and find_metadata(rewritten) == find_metadata(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = hybrid.decode(rewritten, strict=True)
    assert np.array_equal(np.asarray(image), np.asarray(hybrid.decode(data)))


def test_cli_warns_in_one_line_and_strict_fails(tmp_path):
    data = hybrid.encode(sample_image(64, 64, 8), quality=75)
    damaged = next(d for d in scan_flips(data, 10, seed=3) if decode_flagged(d) == "flagged")
    src = tmp_path / "damaged.jpg"
    src.write_bytes(damaged)
    runner = CliRunner()
    result = runner.invoke(cli, ["decode", str(src), "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith(f"hybrid: warning: {src}: damaged JPEG data")
    assert (tmp_path / "out.png").exists()
    result = runner.invoke(cli, ["decode", "--strict", str(src), "-o", str(tmp_path / "s.png")])
    assert result.exit_code == 2
    assert result.stderr.startswith("hybrid: error:") and "damaged JPEG data" in result.stderr
    assert not (tmp_path / "s.png").exists()


def test_the_check_can_be_switched_off(tmp_path, monkeypatch):
    """check_damage=False / --no-damage-check: no libjpeg pass of its own, the pixels as
    viewers show them, no warning; it does not combine with strict (issue 14)."""
    from hybrid.codec import reader

    data = hybrid.encode(sample_image(64, 64, 8), quality=75)
    damaged = next(d for d in scan_flips(data, 10, seed=3) if decode_flagged(d) == "flagged")
    with pytest.warns(JpegDataWarning):
        checked = hybrid.decode(damaged)

    def no_check(*args: object) -> None:
        raise AssertionError("the damage check ran")

    monkeypatch.setattr(reader, "find_damage", no_check)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = hybrid.decode(damaged, check_damage=False)
        array = hybrid.decode_array(damaged, check_damage=False)
    assert "hybrid_damage" not in image.info
    assert np.array_equal(np.asarray(image), np.asarray(checked))
    assert np.array_equal(array, np.asarray(checked, dtype=np.float32) / 255.0)
    for call in (hybrid.decode, hybrid.decode_array):
        with pytest.raises(InputError, match="strict"):
            call(data, strict=True, check_damage=False)
    src = tmp_path / "damaged.jpg"
    src.write_bytes(damaged)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["decode", str(src), "-o", str(tmp_path / "o.png"), "--no-damage-check"]
    )
    assert result.exit_code == 0 and result.stderr == "", result.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "o.png")), np.asarray(checked))
    result = runner.invoke(
        cli, ["decode", str(src), "-o", str(tmp_path / "s.png"), "--strict", "--no-damage-check"]
    )
    assert result.exit_code == 2 and "--strict needs the damage check" in result.stderr


def test_one_scan_files_are_checked_in_memory_without_copying_coefficients(monkeypatch):
    """A one-scan sequential file, Pillow's or hybrid's, is checked by one in-memory
    libjpeg-turbo pass (hybrid.codec.turbo_pass; hybrid's checksum over libjpeg's arrays in
    place): jpeglib's reads never run. Other layouts take jpeglib's read, which copies the
    coefficients out only for a hybrid checksum."""
    from hybrid.codec import reader

    loads: list[object] = []
    reads: list[object] = []
    real_load, real_read = reader._load_coefficients, reader._libjpeg_dct
    monkeypatch.setattr(
        reader, "_load_coefficients", lambda jpeg, path: loads.append(jpeg) or real_load(jpeg, path)
    )
    monkeypatch.setattr(
        reader, "_libjpeg_dct", lambda *a, **k: reads.append(a) or real_read(*a, **k)
    )
    pixels = sample_image(64, 48, 2)
    for options in ({}, {"progressive": True}):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=70, **options)
        hybrid.decode(buffer.getvalue(), strict=True)
    hybrid.decode(hybrid.encode(pixels), strict=True)
    assert (len(reads), loads) == (1, [])  # the progressive file
    hybrid.decode(hybrid.encode(pixels, progressive=True), strict=True)
    assert (len(reads), len(loads)) == (2, 1)


def test_resized_decodes_are_flagged_too():
    data = hybrid.encode(sample_image(96, 96, 9), quality=70, scale=2)
    damaged = next(d for d in scan_flips(data, 10, seed=4) if decode_flagged(d) == "flagged")
    with pytest.warns(JpegDataWarning, match="damaged"):
        image = hybrid.decode(damaged, upscale=True)
    assert image.size == (96, 96) and image.info["hybrid_damage"]
    with pytest.raises(CorruptJPEGError):
        hybrid.decode_array(damaged, enhance=False, upscale=True, strict=True)


def _one_scan_per_component() -> bytes:
    """A 128x128 4:2:0 sequential JPEG coded as three scans (Y, Cb, Cr), with a DHT before
    the Cb scan and none before the Cr scan (it reuses the chroma table)."""
    from hybrid.codec.frame import ScanSpec
    from hybrid.codec.reader import pad_to_mcus
    from hybrid.codec.writer import write_jpeg

    buffer = io.BytesIO()
    Image.fromarray(sample_image(128, 128, 3)).save(buffer, "JPEG", quality=85)
    frame = pad_to_mcus(hybrid.read_coefficients(buffer.getvalue()))
    return write_jpeg(frame, scan_script=tuple(ScanSpec((c,), 0, 63, 0, 0) for c in range(3)))


@pytest.mark.parametrize(
    "scan, marker, zero_blocks",
    [(0, 0xC4, 256), (2, 0xD9, 64)],  # Y: 256 of 384 blocks; Cr: its 64, in the Cb data
    ids=["lost-luma-scan", "lost-chroma-scan"],
)
def test_a_lost_scan_is_damage_everywhere(weights, scan, marker, zero_blocks):
    """A scan whose SOS marker is destroyed is skipped by libjpeg as "extraneous bytes
    before marker" (after a DHT, or inside the previous scan's data): its blocks stay zero.
    That used to be a benign warning for the coefficient readers (read_coefficients and the
    enhanced decode returned the zeros silently, exit 0); it is damage, as for the plain
    decode: refused by read_coefficients and --strict, flagged by the decodes."""
    from hybrid.codec.reader import _libjpeg_dct

    data = _one_scan_per_component()
    lost = with_lost_scan(data, scan)
    jpeg, failure, messages = _libjpeg_dct(lost)
    assert failure is None and len(messages) == 1
    assert f"extraneous bytes before marker 0x{marker:02x}" in messages[0]
    zero = sum(int((np.abs(c).sum(axis=(2, 3)) == 0).sum()) for c in (jpeg.Y, jpeg.Cb, jpeg.Cr))
    assert zero == zero_blocks
    for kwargs in ({}, {"enhance": True, "weights": weights, "threads": 1}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = hybrid.decode(lost, **kwargs)
        damage = [str(w.message) for w in caught if issubclass(w.category, JpegDataWarning)]
        assert len(damage) == 1 and "damaged JPEG data" in damage[0], (kwargs, damage)
        assert "extraneous bytes" in image.info["hybrid_damage"]
    for call in (
        lambda: hybrid.decode(lost, strict=True),
        lambda: hybrid.read_coefficients(lost),
        lambda: hybrid.decode(lost, enhance=True, weights=weights, threads=1, strict=True),
    ):
        with pytest.raises(CorruptJPEGError, match="extraneous bytes"):
            call()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hybrid.decode(data, strict=True).size == (128, 128)  # intact: no warning
