"""The onnx backends and a file whose record names a model without an ONNX export: the
decode falls back to the model chosen as if the record named none, with one warning; a model
the caller names without an export stays an error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

pytest.importorskip("onnxruntime")

import hybrid  # noqa: E402
from hybrid.cli import cli  # noqa: E402
from hybrid.codec.metadata import HybridMetadata  # noqa: E402
from hybrid.enhance.choice import choose_model  # noqa: E402
from hybrid.enhance.onnx_registry import load_onnx_manifest  # noqa: E402
from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS, load_manifest  # noqa: E402
from hybrid.errors import MissingModelWarning, WeightsError  # noqa: E402
from tests.helpers.screens import text_page  # noqa: E402

#: A released enhancement model that has no ONNX export (weights/manifest.json has it,
#: weights/onnx.json does not).
UNEXPORTED = "enhance-quality-v4"


def test_the_model_has_no_export():
    assert load_manifest()[UNEXPORTED].task == "enhance"
    assert UNEXPORTED not in load_onnx_manifest()


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_recorded_model_without_export_falls_back(backend):
    img = data.astronaut()[:128, :160]
    recorded = hybrid.encode(img, quality=30, model_id=UNEXPORTED)
    unrecorded = hybrid.encode(img, quality=30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = hybrid.decode(recorded, enhance=True, backend=backend)
    messages = [str(w.message) for w in caught if issubclass(w.category, MissingModelWarning)]
    assert len(messages) == 1, messages
    assert UNEXPORTED in messages[0] and DEFAULT_CONTENT_MODELS["photo"] in messages[0]
    assert "hybrid export-onnx" in messages[0]
    # the model and pixels of the same coded image without a record
    reference = hybrid.decode(unrecorded, enhance=True, backend=backend)
    assert image.info["hybrid_model"] == reference.info["hybrid_model"]
    assert image.info["hybrid_model"] == DEFAULT_CONTENT_MODELS["photo"]
    assert image.info["hybrid_content"] == "photo"
    assert image.info["hybrid_model_reason"].startswith("photo, classified p=")
    assert image.info["hybrid_model_reason"].endswith(f", recorded {UNEXPORTED} has no ONNX export")
    assert np.array_equal(np.asarray(image), np.asarray(reference))
    plain = np.asarray(hybrid.decode(recorded, enhance=False), dtype=np.int16)
    assert np.abs(np.asarray(image, dtype=np.int16) - plain).mean() > 0.5  # the network ran


def test_recorded_model_without_export_falls_back_to_the_recorded_class():
    page = text_page(seed=3, size=(192, 128))
    jpeg = hybrid.encode(page, quality=40, model_id=UNEXPORTED, content="screen")
    with pytest.warns(MissingModelWarning, match="enhance-screen-v1") as caught:
        image = hybrid.decode(jpeg, enhance=True, backend="onnx")
    assert len([w for w in caught if issubclass(w.category, MissingModelWarning)]) == 1
    assert image.info["hybrid_model"] == DEFAULT_CONTENT_MODELS["screen"]
    assert image.info["hybrid_model_reason"] == (
        f"screen, recorded, recorded {UNEXPORTED} has no ONNX export"
    )


def test_choose_model_passes_over_only_what_the_backend_cannot_run():
    meta = HybridMetadata(
        mode="plain",
        original_width=8,
        original_height=8,
        model_id=UNEXPORTED,
        checksum=0,
        content="photo",
    )
    kept = choose_model(meta, None, exported=None)
    assert (kept.model, kept.reason, kept.passed_over) == (UNEXPORTED, "recorded model", None)
    kept = choose_model(meta, None, exported={UNEXPORTED})
    assert kept.model == UNEXPORTED
    passed = choose_model(meta, None, exported=set(load_onnx_manifest()))
    assert (passed.model, passed.reason, passed.passed_over) == (
        DEFAULT_CONTENT_MODELS["photo"],
        "recorded",
        UNEXPORTED,
    )
    # a model or class the caller names: the record is not consulted, nothing passed over
    given = choose_model(meta, None, model="enhance-fast-v4", exported=set())
    assert (given.reason, given.passed_over) == ("given model", None)


def test_given_model_without_export_is_an_error(tmp_path):
    img = data.astronaut()[:64, :96]
    jpeg = hybrid.encode(img, quality=30)
    with pytest.raises(WeightsError, match=f"hybrid export-onnx {UNEXPORTED}"):
        hybrid.decode(jpeg, enhance=True, backend="onnx", model=UNEXPORTED)
    src = tmp_path / "in.jpg"
    src.write_bytes(jpeg)
    result = CliRunner().invoke(
        cli,
        ["decode", str(src), "-o", str(tmp_path / "out.png"), "--enhance", "--backend", "onnx",
         "--model", UNEXPORTED],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "hybrid export-onnx" in lines[0], result.output
    assert not (tmp_path / "out.png").exists()
