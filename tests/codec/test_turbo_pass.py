"""The damage check's in-memory libjpeg-turbo pass (hybrid.codec.turbo_pass): the same
checksum as the coefficient reader, at least libjpeg 6b's verdicts, and no way for damaged
headers to reach a libjpeg error outside jpeglib's exception handler."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hybrid
from hybrid.codec import reader, turbo_pass
from hybrid.codec.headers import coded_image_bytes, parse_info
from hybrid.codec.metadata import frame_checksum
from hybrid.codec.reader import find_damage, read_frame
from hybrid.errors import CorruptJPEGError
from tests.helpers.corpus import sample_image, seed_corpus


def pillow_jpeg(pixels: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def turbo_check(data: bytes, checksum: bool = False) -> turbo_pass.TurboPass | None:
    return reader._turbo_check(data, parse_info(data), checksum)


def jpeglib_verdict(data: bytes, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """find_damage through jpeglib's libjpeg 6b reads (the path before the turbo pass)."""
    with monkeypatch.context() as patch:
        patch.setattr(reader, "turbo_library", lambda: None)
        return find_damage(data, parse_info(data))


def test_the_pass_is_available_here():
    """jpeglib is the version whose structure layout turbo_pass knows (constraints.txt): a
    jpeglib upgrade fails here instead of silently making every check slower."""
    assert turbo_pass.turbo_library() is not None


def test_checksum_equals_the_coefficient_readers():
    """Every one-scan layout of the seed corpus (4:4:4, 4:2:2, 4:2:0, greyscale, restart
    intervals, partial MCUs whose padding blocks the CRC skips row by row): the CRC over
    libjpeg's arrays in place equals frame_checksum of read_frame's copy."""
    checked = 0
    for name, data in seed_corpus():
        info = parse_info(data)
        if info.unsupported_reason is not None or info.num_scans != 1:
            continue
        result = turbo_check(data, checksum=True)
        assert result is not None, name
        assert result.messages == ()
        assert result.checksum == frame_checksum(read_frame(data)), name
        checked += 1
    assert checked >= 10
    big = hybrid.encode(sample_image(333, 517, 4), quality=80)  # whole-component CRC
    assert turbo_check(big, checksum=True).checksum == parse_info(big).hybrid_metadata.checksum


def test_invalid_huffman_codes_are_flagged():
    """Sixteen 1-bits are no code in Annex K's tables. libjpeg-turbo's fast Huffman path
    decodes them as 0 without a word; the pass forces the slow path, which warns as libjpeg
    6b does."""
    data = pillow_jpeg(sample_image(320, 480, 5), quality=90)
    start = data.index(b"\xff\xda") + 14
    flagged = unflagged_fast = 0
    for at in range(start + 200, len(data) - 4000, 499):
        damaged = data[:at] + b"\xff\x00" * 3 + data[at:]
        flagged += "bad Huffman code" in turbo_check(damaged).messages[0]
        original = turbo_pass._NEVER_RESTART
        try:
            turbo_pass._NEVER_RESTART = 0  # leave turbo's fast path on
            unflagged_fast += turbo_check(damaged).messages == ()
        finally:
            turbo_pass._NEVER_RESTART = original
    assert flagged >= 10 and flagged == len(range(start + 200, len(data) - 4000, 499))
    assert unflagged_fast >= 10


@pytest.mark.parametrize("count", range(1, 9))
def test_left_over_bytes_are_flagged(count):
    """Bytes after the last code of a scan or restart interval: libjpeg reports them only
    when its bit buffer has not already read the marker (6b: most; turbo: hardly any), so
    the pass counts them itself."""
    pixels = sample_image(64, 96, 6)
    data = pillow_jpeg(pixels, quality=80)
    damage = find_damage(data[:-2] + b"\x55" * count + data[-2:], parse_info(data))
    assert damage is not None and "extraneous bytes" in damage
    restart = hybrid.encode(pixels, quality=80, restart_interval=1)
    rst = restart.index(b"\xff\xd3")
    padded = restart[:rst] + b"\x00" * count + restart[rst:]
    assert "extraneous bytes" in find_damage(padded, parse_info(padded))


def test_verdicts_include_libjpeg_6bs(monkeypatch):
    """Seeded damage in the entropy-coded data of Pillow's and hybrid's files: whatever the
    jpeglib (libjpeg 6b) path flags, the turbo pass flags; intact files stay clean."""
    pixels = sample_image(80, 120, 7)
    rng = np.random.default_rng(14)
    fast = 0
    for data in (
        pillow_jpeg(pixels, quality=75),
        pillow_jpeg(pixels[:, :, 0], quality=60),
        hybrid.encode(pixels, quality=50, restart_interval=3),
    ):
        assert find_damage(data, parse_info(data)) is None
        start = data.index(b"\xff\xda") + 14
        for _ in range(40):
            damaged = bytearray(data)
            at = int(rng.integers(start, len(data) - 2))
            if rng.random() < 0.5:
                damaged[at] ^= 1 << int(rng.integers(8))
            else:
                damaged[at : at + 1] = b""
            damaged = bytes(damaged)
            try:
                parse_info(damaged)
            except CorruptJPEGError:  # refused before any check
                continue
            old = jpeglib_verdict(damaged, monkeypatch)
            fast += turbo_check(damaged) is not None
            if old is not None:
                assert find_damage(damaged, parse_info(damaged)) is not None, old
    assert fast >= 80


def test_other_layouts_take_jpeglib():
    """Progressive files and a marker inside the data (a second scan, say) are not the
    pass's to take (libjpeg could meet an error after the headers); find_damage answers
    through jpeglib."""
    pixels = sample_image(48, 64, 8)
    progressive = pillow_jpeg(pixels, quality=80, progressive=True)
    baseline = pillow_jpeg(pixels, quality=80)
    middle = (baseline.index(b"\xff\xda") + len(baseline)) // 2
    for data in (progressive, baseline[:middle] + b"\xff\xc4\x00\x02" + baseline[middle:]):
        coded = coded_image_bytes(data, parse_info(data))
        assert turbo_pass.sequential_layout(coded, 3) is None
    assert turbo_check(progressive) is None
    assert find_damage(progressive, parse_info(progressive)) is None
    assert turbo_pass.sequential_layout(coded_image_bytes(baseline), 3) is not None


def test_concurrent_checks_keep_their_own_messages():
    """libjpeg's messages are collected per decompressor: checks in several threads (ctypes
    releases the GIL) do not mix them."""
    pixels = sample_image(64, 64, 9)
    clean = pillow_jpeg(pixels, quality=70)
    damaged = clean[:-2] + b"\x00" * 40 + clean[-2:]
    results: dict[int, list[str | None]] = {0: [], 1: []}

    def work(index: int, data: bytes) -> None:
        for _ in range(30):
            results[index].append(find_damage(data, parse_info(data)))

    threads = [threading.Thread(target=work, args=(i, d)) for i, d in enumerate((clean, damaged))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == [None] * 30
    assert all(r is not None and "extraneous bytes" in r for r in results[1])


def test_damaged_headers_never_crash():
    """Random damage to the headers of one-scan files, in a subprocess: libjpeg errors stay
    inside jpeglib's handler (the header probe), nothing reaches stderr, the pass is used."""
    script = textwrap.dedent(
        """
        import io, random, warnings
        from PIL import Image
        import hybrid
        from hybrid.codec import reader
        from hybrid.errors import HybridError
        from tests.helpers.corpus import sample_image
        warnings.simplefilter("ignore")
        pixels = sample_image(40, 56, 10)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=75)
        bases = [buffer.getvalue(), hybrid.encode(pixels, quality=60, restart_interval=2)]
        real, taken = reader._turbo_check, []
        reader._turbo_check = lambda *a: taken.append(real(*a)) or taken[-1]
        rng = random.Random(14)
        for _ in range(600):
            data = bytearray(rng.choice(bases))
            sos = data.index(b"\\xff\\xda")
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(2, sos + 14)] = rng.randrange(256)
            try:
                hybrid.decode(bytes(data))
            except HybridError:
                pass
        print(sum(t is not None for t in taken))
        """
    )
    root = Path(__file__).resolve().parents[2]  # for tests.helpers
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, cwd=root)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stderr == b""
    assert int(out.stdout) >= 100


@pytest.mark.parametrize("memfd", [True, False])
def test_the_header_probe_prints_nothing(memfd, monkeypatch, capfd):
    """libjpeg warns about the probe copy's missing data; that goes nowhere, with the kept
    memfd pair or with scratch files where there is no memfd."""
    monkeypatch.setattr(reader, "_USE_MEMFD", memfd and reader._USE_MEMFD)
    data = pillow_jpeg(sample_image(40, 56, 11), quality=75)
    damaged = data[:-2] + b"\x00" * 20 + data[-2:]
    for _ in range(3):
        assert turbo_check(data) == turbo_pass.TurboPass((), None)
        assert "extraneous bytes" in turbo_check(damaged).messages[0]
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
