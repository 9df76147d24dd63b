"""hybrid.pipeline.requests: the keyword lists of decode and encode are written once (the
requests' fields, with the API's names and defaults), the requests are frozen, and every
field is checked at construction with one InputError message."""

from __future__ import annotations

import dataclasses
import inspect
import io

import numpy as np
import pytest
from PIL import Image

import hybrid
from hybrid.codec.options import EncodeOptions
from hybrid.errors import InputError
from hybrid.io import METADATA_KINDS
from hybrid.pipeline.decode import decode_source
from hybrid.pipeline.requests import DecodeRequest, EncodeRequest


def _keywords(function, skip):
    return {
        name: param.default
        for name, param in inspect.signature(function).parameters.items()
        if name not in skip and param.kind is not param.VAR_KEYWORD
    }


def _defaults(request_type):
    return {f.name: f.default for f in dataclasses.fields(request_type) if f.init}


@pytest.mark.parametrize("function", [hybrid.decode, hybrid.decode_array])
def test_decode_keywords_are_the_requests_fields(function):
    assert _keywords(function, {"source"}) == _defaults(DecodeRequest)


def test_encode_keywords_are_the_requests_fields():
    assert _keywords(hybrid.encode, {"image", "fp", "force"}) == _defaults(EncodeRequest)
    assert EncodeRequest.keywords() == tuple(_defaults(EncodeRequest))


def test_requests_are_frozen():
    for request in (DecodeRequest(), EncodeRequest()):
        with pytest.raises(dataclasses.FrozenInstanceError):
            request.max_pixels = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"enhance": "yes"}, "enhance must be True or False"),
        ({"strict": True, "check_damage": False}, "strict=True needs the damage check"),
        ({"precision": "fp16"}, "precision must be one of"),
        ({"backend": "tensorrt"}, "backend must be one of"),
        ({"backend": "onnx", "enhance": True, "weights": "w.pt"}, "registry models only"),
        ({"backend": "onnx", "enhance": True, "device": "cuda"}, "on the CPU only"),
        ({"content": "drawing"}, "content must be one of auto, photo, screen"),
        ({"model": 3}, "model must be a string"),
        ({"weights": 3}, "weights must be a path"),
        ({"device": "gpu"}, "device must be cpu or cuda"),
        ({"threads": 0}, "threads must be a positive integer"),
        ({"threads": True}, "threads must be a positive integer"),
        ({"max_pixels": 0}, "max_pixels must be a positive integer"),
        ({"max_scan_passes": -1}, "max_scan_passes must be a positive number"),
        ({"upscale": "yes"}, "upscale must be True, False or None"),
        ({"scale": 9}, "scale must be between 1 and 4"),
        ({"scale": 2, "upscale": False}, "cannot be combined with upscale=False"),
    ],
)
def test_decode_request_checks_each_field(changes, message):
    with pytest.raises(InputError, match=message):
        DecodeRequest(**changes)


def test_a_bad_decode_keyword_fails_before_the_file_is_read(tmp_path):
    missing = tmp_path / "missing.jpg"
    with pytest.raises(InputError, match="threads must be a positive integer"):
        hybrid.decode(missing, threads=-2)
    with pytest.raises(InputError, match="give one target"):
        hybrid.encode(tmp_path / "missing.png", target_size=1000, target_bpp=1.0)


def test_decode_request_keeps_the_checked_scale():
    scale = DecodeRequest(scale=np.int64(2)).scale
    assert scale == 2.0 and type(scale) is float


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "fast"}, "mode must be 'plain', 'enhance' or 'downscaled'"),
        ({"mode": "downscaled"}, "mode 'downscaled' needs a scale above 1"),
        ({"scale": 0.5}, "scale must be between 1 and"),
        ({"model_id": 7}, "model_id must be a string"),
        ({"allow_downscale": "no"}, "allow_downscale must be True, False or None"),
        ({"rdo": "yes"}, "rdo must be True or False"),
        ({"quality": 101}, "quality must be in 1..100"),
        ({"subsampling": "4:1:1"}, "subsampling must be one of"),
        ({"max_pixels": -5}, "max_pixels must be a positive integer"),
        ({"strip": "exif,gps"}, "unknown metadata kind 'gps'"),
        ({"comment": 5}, "comment must be str or bytes"),
        ({"content": "drawing"}, "content must be None, auto or one of photo, screen"),
        ({"target_size": 100, "target_psnr": 30}, "give one target, not target_size and"),
        ({"target_psnr": 200}, "target_psnr must be in"),
        ({"target_size": "lots"}, "cannot read target size"),
        ({"allow_downscale": True}, "allow_downscale applies only with a target"),
        ({"target_size": 9000, "quant_tables": (np.full((8, 8), 4),)}, "quant_tables fix"),
        ({"target_size": 9000, "scale": 2, "allow_downscale": True}, "fixed scale or allow"),
    ],
)
def test_encode_request_checks_each_field(changes, message):
    with pytest.raises(InputError, match=message):
        EncodeRequest(**changes)


def test_encode_request_normalises_what_it_checked():
    request = EncodeRequest(strip=iter(["exif", "ICC"]), comment="hi", scale=2, best=True)
    assert request.strip == frozenset({"exif", "icc"})
    assert request.comment == b"hi"
    assert request.scale == 2.0
    assert request.options == EncodeOptions.best(75, "4:2:0")
    assert EncodeRequest(strip=True).strip == frozenset(METADATA_KINDS)
    assert request.planned and EncodeRequest(target_bpp=1.0).planned
    assert not EncodeRequest(mode="enhance").planned


def test_the_engine_is_what_the_api_runs():
    pixels = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=50)
    data = buf.getvalue()
    image = decode_source(data, DecodeRequest())
    assert np.array_equal(np.asarray(image), np.asarray(hybrid.decode(data)))
    array = decode_source(data, DecodeRequest(scale=1.5), as_array=True)
    assert array.shape == (60, 84, 3)
    np.testing.assert_array_equal(array, hybrid.decode_array(data, scale=1.5))
