"""hybrid's APP11 metadata: layout, round trip, tolerance of bad payloads, invisibility."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import warnings
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from hybrid.codec.metadata import (
    SIGNATURE,
    HybridMetadata,
    find_metadata,
    insert_segment,
    metadata_segment,
    pack_metadata,
    parse_metadata,
    replace_metadata,
)
from hybrid.errors import HybridMetadataWarning, InputError

DJPEG = shutil.which("djpeg")


def sample_jpeg() -> bytes:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


EXAMPLES = [
    HybridMetadata(mode="plain", original_width=640, original_height=480),
    HybridMetadata(mode="enhance", original_width=1, original_height=1, model_id="enh-small-v1"),
    HybridMetadata(mode="downscaled", original_width=4000, original_height=3000, scale=2.0),
    HybridMetadata(mode="downscaled", original_width=11, original_height=7, scale=1.1),
    HybridMetadata(mode="enhance", original_width=2**32 - 1, original_height=5, model_id="é" * 32),
    HybridMetadata(mode="plain", original_width=3, original_height=4, checksum=0),
    HybridMetadata(
        mode="downscaled",
        original_width=9,
        original_height=9,
        scale=2.0,
        model_id="sr",
        checksum=2**32 - 1,
    ),
    HybridMetadata(
        mode="enhance", original_width=5, original_height=6, checksum=9, content="screen"
    ),
    HybridMetadata(
        mode="downscaled",
        original_width=20,
        original_height=10,
        scale=2.0,
        model_id="sr-fast-v1",
        checksum=0,
        content="photo",
    ),
]


@pytest.mark.parametrize("meta", EXAMPLES)
def test_round_trip(meta):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_metadata(pack_metadata(meta)) == meta
        assert find_metadata(insert_segment(sample_jpeg(), metadata_segment(meta))) == meta


def test_layout_is_as_documented():
    meta = HybridMetadata(mode="enhance", original_width=640, original_height=480, model_id="m1")
    payload = pack_metadata(meta)
    assert payload == SIGNATURE + bytes([1, 1]) + struct.pack(">IId", 640, 480, 1.0) + b"\x02m1"
    assert meta.version == 1
    sealed = HybridMetadata(
        mode="enhance", original_width=640, original_height=480, model_id="m1", checksum=0x01020304
    )
    assert sealed.version == 2
    assert pack_metadata(sealed) == (
        SIGNATURE + bytes([2, 1]) + struct.pack(">IId", 640, 480, 1.0) + b"\x02m1\x01\x02\x03\x04"
    )
    classed = HybridMetadata(
        mode="enhance",
        original_width=640,
        original_height=480,
        model_id="m1",
        checksum=0x01020304,
        content="screen",
    )
    assert classed.version == 3
    assert pack_metadata(classed) == (
        SIGNATURE
        + bytes([3, 1])
        + struct.pack(">IId", 640, 480, 1.0)
        + b"\x02m1\x01\x02\x03\x04\x02"
    )
    assert pack_metadata(replace(classed, content="photo"))[-1] == 1
    segment = metadata_segment(meta)
    assert segment[:2] == b"\xff\xeb"
    assert struct.unpack(">H", segment[2:4])[0] == len(payload) + 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="fancy"), "mode"),
        (dict(original_width=0), "original_width"),
        (dict(original_height=2**32), "original_height"),
        (dict(scale=2.0), "scale must be 1.0"),
        (dict(mode="downscaled", scale=float("nan")), "finite"),
        (dict(mode="downscaled", scale=-1.0), "positive"),
        (dict(model_id="x" * 65), "64"),
        (dict(model_id="é" * 33), "64"),
        (dict(checksum=-1), "checksum"),
        (dict(checksum=2**32), "checksum"),
        (dict(checksum=1.5), "checksum"),
        (dict(checksum=1, content="drawing"), "content must be one of photo, screen"),
        (dict(content="photo"), "with a checksum"),
    ],
)
def test_invalid_metadata_is_refused(kwargs, match):
    base = dict(mode="plain", original_width=10, original_height=10)
    with pytest.raises(InputError, match=match):
        HybridMetadata(**{**base, **kwargs})


def malformed_payloads() -> list[tuple[str, bytes]]:
    good = pack_metadata(HybridMetadata(mode="enhance", original_width=9, original_height=9))
    cases = [(f"truncated-{n}", good[:n]) for n in range(len(SIGNATURE), len(good))]
    cases.append(("trailing", good + b"\x00"))
    cases.append(("version-5", good[:10] + b"\x05" + good[11:]))
    cases.append(("v1-claiming-v4", good[:10] + b"\x04" + good[11:]))
    sealed = pack_metadata(
        HybridMetadata(mode="enhance", original_width=9, original_height=9, checksum=7)
    )
    cases += [(f"v2-truncated-{n}", sealed[:n]) for n in range(len(good), len(sealed))]
    cases.append(("v1-claiming-v2", good[:10] + b"\x02" + good[11:]))
    cases.append(("v1-claiming-v3", good[:10] + b"\x03" + good[11:]))
    classed = pack_metadata(
        HybridMetadata(
            mode="enhance", original_width=9, original_height=9, checksum=7, content="photo"
        )
    )
    cases.append(("v3-truncated", classed[:-1]))
    cases.append(("v3-trailing", classed + b"\x01"))
    strong = pack_metadata(
        HybridMetadata(
            mode="enhance", original_width=9, original_height=9, checksum=7, model_id="m",
            strength=0.5,
        )
    )  # fmt: skip
    cases.append(("v4-truncated", strong[:-1]))
    cases.append(("v4-trailing", strong + b"\x01"))
    no_model = strong[:28] + b"\x00" + strong[30:]  # a strength for no model
    cases.append(("v4-without-model", no_model))
    cases.append(("version-0", good[:10] + b"\x00" + good[11:]))
    cases.append(("mode-7", good[:11] + b"\x07" + good[12:]))
    cases.append(("zero-width", good[:12] + b"\x00" * 4 + good[16:]))
    cases.append(("nan-scale", good[:20] + struct.pack(">d", float("nan")) + good[28:]))
    cases.append(("scale-in-plain", good[:20] + struct.pack(">d", 3.0) + good[28:]))
    cases.append(("bad-utf8", good[:28] + b"\x02\xff\xfe"))
    cases.append(("long-model", good[:28] + bytes([70]) + b"a" * 70))
    return cases


@pytest.mark.parametrize("name, payload", malformed_payloads())
def test_malformed_payloads_warn_and_give_none(name, payload):
    with pytest.warns(HybridMetadataWarning):
        assert parse_metadata(payload) is None
    jpeg = insert_segment(
        sample_jpeg(), b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload
    )
    with pytest.warns(HybridMetadataWarning):
        assert find_metadata(jpeg) is None


def test_versions_1_and_2_still_read():
    """Files written before version 3 (no content byte) read as before, class None."""
    v1 = SIGNATURE + bytes([1, 1]) + struct.pack(">IId", 64, 48, 1.0) + b"\x02m1"
    v2 = (
        SIGNATURE + bytes([2, 0]) + struct.pack(">IId", 64, 48, 1.0) + b"\x00" + b"\x00\x00\x01\x00"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first, second = parse_metadata(v1), parse_metadata(v2)
    assert first == HybridMetadata(
        mode="enhance", original_width=64, original_height=48, model_id="m1"
    )
    assert second == HybridMetadata(
        mode="plain", original_width=64, original_height=48, checksum=256
    )
    assert first.content is None and second.content is None and second.version == 2


@pytest.mark.parametrize("code", [0, 3, 255])
def test_unknown_content_byte_warns_and_keeps_the_rest(code):
    meta = HybridMetadata(
        mode="enhance", original_width=9, original_height=9, checksum=7, content="screen"
    )
    payload = pack_metadata(meta)[:-1] + bytes([code])
    with pytest.warns(HybridMetadataWarning, match=f"unknown content class code {code}"):
        parsed = parse_metadata(payload)
    assert parsed == replace(meta, content=None)


@pytest.mark.parametrize("payload", [b"", b"JP\x00\x01junk", b"HYBRIDJP", b"other app"])
def test_foreign_app11_is_silently_ignored(payload):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_metadata(payload) is None


def test_find_metadata_skips_other_app11_and_never_raises():
    meta = HybridMetadata(mode="plain", original_width=24, original_height=40)
    jumbf = b"\xff\xeb\x00\x08JP\x00\x01\x00\x00"
    data = insert_segment(insert_segment(sample_jpeg(), metadata_segment(meta)), jumbf)
    assert find_metadata(data) == meta
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for junk in (b"", b"\xff\xd8", b"not a jpeg", b"\xff\xd8\xff\xeb\xff\xff", sample_jpeg()):
            assert find_metadata(junk) is None
        assert find_metadata(12345) is None  # type: ignore[arg-type]


def test_pillow_ignores_the_segment():
    plain = sample_jpeg()
    meta = HybridMetadata(mode="enhance", original_width=40, original_height=24, model_id="m")
    tagged = insert_segment(plain, metadata_segment(meta))
    assert tagged != plain
    a = np.asarray(Image.open(io.BytesIO(plain)))
    b = np.asarray(Image.open(io.BytesIO(tagged)))
    np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(DJPEG is None, reason="djpeg (libjpeg-turbo-progs) not installed")
def test_djpeg_ignores_the_segment():
    plain = sample_jpeg()
    meta = HybridMetadata(mode="downscaled", original_width=80, original_height=48, scale=2.0)
    tagged = insert_segment(plain, metadata_segment(meta))
    outputs = [
        subprocess.run([DJPEG, "-pnm"], input=d, capture_output=True, check=True)
        for d in (plain, tagged)
    ]
    assert outputs[0].stdout == outputs[1].stdout
    assert outputs[1].stderr == b""  # no warning about the unknown segment


def test_version_4_carries_the_strength_for_the_recorded_model():
    meta = HybridMetadata(
        mode="enhance",
        original_width=640,
        original_height=480,
        model_id="m1",
        checksum=0x01020304,
        strength=0.8,
    )
    assert meta.version == 4 and meta.strength_code == 204 and meta.strength == 204 / 255
    assert pack_metadata(meta) == (
        SIGNATURE
        + bytes([4, 1])
        + struct.pack(">IId", 640, 480, 1.0)
        + b"\x02m1\x01\x02\x03\x04\x00\xcc"  # no content class (0), strength 204/255
    )
    classed = replace(meta, content="screen", strength=0.0)
    assert pack_metadata(classed)[-2:] == b"\x02\x00"
    for strength in (0.0, 1 / 255, 0.5, 254 / 255, 1.0):
        for content in (None, "photo"):
            value = replace(meta, strength=strength, content=content)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert parse_metadata(pack_metadata(value)) == value
            assert value.strength == round(strength * 255) / 255
    # a plain-mode file (rate control's) may carry a strength for its model
    plain = replace(meta, mode="plain")
    assert parse_metadata(pack_metadata(plain)) == plain
    # a downscaled file's strength is its super-resolution model's share
    small = replace(meta, mode="downscaled", scale=2.0, model_id="sr-fast-v1")
    assert parse_metadata(pack_metadata(small)) == small


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(strength=1.5), "0..1"),
        (dict(strength=-0.1), "0..1"),
        (dict(strength=float("nan")), "0..1"),
        (dict(strength="0.5"), "number"),
        (dict(strength=True), "number"),
        (dict(checksum=None), "with a checksum"),
        (dict(model_id=""), "model_id must be given"),
    ],
)
def test_invalid_strength_is_refused(kwargs, match):
    base = dict(mode="enhance", original_width=8, original_height=8, model_id="m", checksum=1)
    with pytest.raises(InputError, match=match):
        HybridMetadata(**{**base, "strength": 0.5, **kwargs})


def test_replace_metadata_swaps_the_record_and_keeps_the_rest():
    old = HybridMetadata(mode="enhance", original_width=40, original_height=24, checksum=3)
    new = replace(old, model_id="enhance-fast-v4", strength=0.25)
    jumbf = b"\xff\xeb\x00\x08JP\x00\x01\x00\x00"
    data = insert_segment(insert_segment(sample_jpeg(), metadata_segment(old)), jumbf)
    swapped = replace_metadata(data, new)
    assert find_metadata(swapped) == new
    assert swapped.replace(metadata_segment(new), metadata_segment(old)) == data
    assert jumbf in swapped
    # a file without a record gets one, where insert_segment puts it
    assert replace_metadata(sample_jpeg(), new) == insert_segment(
        sample_jpeg(), metadata_segment(new)
    )
    with pytest.raises(InputError):
        replace_metadata(b"not a jpeg", new)
