"""Content-aware model choice (issue 18): which enhancement network decodes a file, and why.

The classifier itself is tested beside it; here it is replaced by a counting fake, so these
tests hold whatever it guesses, and the registry is a throw-away one (tiny untrained nets as
the photo and the screen default) so they do not depend on released weights.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import hybrid
from hybrid.codec.metadata import CONTENT_CODES, HybridMetadata
from hybrid.enhance import content as classifier
from hybrid.enhance.choice import CONTENT_CHOICES, ModelChoice, check_content, choose_model
from hybrid.enhance.content import ContentGuess
from hybrid.enhance.registry import (
    DEFAULT_CONTENT_MODELS,
    DEFAULT_ENHANCE_MODEL,
    default_model_for,
    load_manifest,
)
from hybrid.errors import InputError, MissingModelWarning
from tests.helpers.registry import register_content_enhancers

SCREEN = DEFAULT_CONTENT_MODELS["screen"]


class FakeClassifier:
    """``classify_content`` that answers ``label`` and counts its calls."""

    def __init__(self, label: str = "screen", p: float = 0.97):
        self.guess = ContentGuess(label, p)
        self.calls = 0

    def __call__(self, planes) -> ContentGuess:
        assert planes.pixels.dtype == np.uint8 and planes.coeffs  # the decode's planes
        self.calls += 1
        return self.guess


@pytest.fixture
def classify(monkeypatch) -> FakeClassifier:
    fake = FakeClassifier()
    monkeypatch.setattr(classifier, "classify_content", fake, raising=False)
    return fake


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """Photo and screen defaults installed (tiny untrained nets)."""
    directory = tmp_path / "weights"
    directory.mkdir()
    register_content_enhancers(directory)
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(directory))
    return directory


@pytest.fixture
def photo_only(tmp_path, monkeypatch):
    """Only the photo default installed: the screen model is still being trained."""
    directory = tmp_path / "weights"
    directory.mkdir()
    register_content_enhancers(directory, screen=False)
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(directory))
    return directory


def page(h: int = 48, w: int = 64) -> np.ndarray:
    """A screen-like test image: black strokes on white."""
    pixels = np.full((h, w, 3), 255, np.uint8)
    pixels[8:40:8, 4:60] = 0
    pixels[:, 30:32] = (20, 60, 200)
    return pixels


def record(**fields) -> HybridMetadata:
    return HybridMetadata(mode="enhance", original_width=64, original_height=48, **fields)


# --- the choice itself --------------------------------------------------------------------


def test_content_classes_agree_everywhere():
    """The record's codes, the registry's defaults and the classifier's labels name the same
    classes, and each default that is installed is a manifest entry of its class."""
    assert tuple(CONTENT_CODES) == tuple(DEFAULT_CONTENT_MODELS) == classifier.CONTENT_CLASSES
    assert CONTENT_CHOICES == ("auto", "photo", "screen")
    assert DEFAULT_CONTENT_MODELS["photo"] == DEFAULT_ENHANCE_MODEL
    installed = load_manifest()
    for content, model_id in DEFAULT_CONTENT_MODELS.items():
        if model_id in installed:
            assert installed[model_id].content == content
            assert installed[model_id].task == "enhance"


PHOTO = DEFAULT_ENHANCE_MODEL
SCREEN_FILE = record(checksum=1, content="screen")


@pytest.mark.parametrize(
    "kwargs, meta, expected",
    [
        # the caller's weights file or model wins over everything
        (dict(weights="/w/t.pt", content="screen"), SCREEN_FILE, ("t.pt", "weights file", None)),
        (dict(model="x", content="screen"), SCREEN_FILE, ("x", "given model", None)),
        # the caller's class wins over the record
        (dict(content="photo"), SCREEN_FILE, (PHOTO, "given", "photo")),
        (dict(content="screen"), record(model_id="enhance-x"), (SCREEN, "given", "screen")),
        # then the record: its model, then its class
        (dict(), record(model_id="x", checksum=1, content="screen"), ("x", "recorded model", None)),
        (dict(), SCREEN_FILE, (SCREEN, "recorded", "screen")),
        (dict(), record(checksum=1, content="photo"), (PHOTO, "recorded", "photo")),
    ],
)  # fmt: skip
def test_named_or_recorded_choices_never_classify(registry, classify, kwargs, meta, expected):
    choice = choose_model(meta, planes=None, **kwargs)  # type: ignore[arg-type]
    assert (choice.model, choice.reason, choice.content) == expected
    assert choice.screen_probability is None
    assert classify.calls == 0


def test_auto_classifies_when_nothing_else_decides(registry, classify):
    from hybrid.enhance.jpeg_input import load_planes

    planes = load_planes(hybrid.encode(page(), quality=40))
    for meta in (None, record(), record(checksum=5)):  # no record, or one without a class
        choice = choose_model(meta, planes)
        assert choice == ModelChoice(SCREEN, "classified", "screen", 0.97)
    assert classify.calls == 3
    assert choice.describe() == f"{SCREEN} (screen, classified p=0.97)"
    classify.guess = ContentGuess("photo", 0.1)
    choice = choose_model(None, planes)
    assert choice.model == DEFAULT_ENHANCE_MODEL and choice.why() == "photo, classified p=0.90"


def test_a_downscaled_records_sr_model_is_not_an_enhancement_choice(registry, classify):
    meta = HybridMetadata(
        mode="downscaled", original_width=64, original_height=48, scale=2.0, model_id="sr-fast-v1"
    )
    assert choose_model(meta, planes=None, content="screen").model == SCREEN  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Screen", "text", "", None, 3, ["auto"]])
def test_bad_content_is_an_input_error(bad):
    with pytest.raises(InputError, match="content must be one of auto, photo, screen"):
        check_content(bad)


def test_missing_screen_model_falls_back_to_photo_with_one_warning(photo_only):
    with pytest.warns(MissingModelWarning) as caught:
        assert default_model_for("screen") == DEFAULT_ENHANCE_MODEL
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"the screen enhancement model {SCREEN} is not installed: using {DEFAULT_ENHANCE_MODEL}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert default_model_for("photo") == DEFAULT_ENHANCE_MODEL
        assert default_model_for("screen", warn=False) == DEFAULT_ENHANCE_MODEL


# --- through hybrid.decode / decode_array -------------------------------------------------


def test_auto_classifies_once_per_enhanced_decode_and_never_on_plain(registry, classify):
    data = hybrid.encode(page(), quality=30)
    assert hybrid.info(data).hybrid_metadata.content is None
    plain = hybrid.decode(data)
    hybrid.decode_array(data, enhance=False)
    assert classify.calls == 0 and "hybrid_model" not in plain.info
    image = hybrid.decode(data, enhance=True)
    assert classify.calls == 1
    assert image.info["hybrid_model"] == SCREEN
    assert image.info["hybrid_content"] == "screen"
    assert image.info["hybrid_model_reason"] == "screen, classified p=0.97"
    hybrid.decode_array(data, enhance=True)
    assert classify.calls == 2


def test_the_chosen_model_is_the_one_that_runs(registry, classify):
    data = hybrid.encode(page(), quality=30)
    screen = hybrid.decode_array(data, enhance=True)
    assert np.array_equal(screen, hybrid.decode_array(data, enhance=True, model=SCREEN))
    photo = hybrid.decode_array(data, enhance=True, content="photo")
    assert np.array_equal(
        photo, hybrid.decode_array(data, enhance=True, model=DEFAULT_ENHANCE_MODEL)
    )
    assert not np.array_equal(screen, photo)


def test_explicit_model_or_weights_wins_over_content(registry, classify):
    data = hybrid.encode(page(), quality=30, content="screen")
    image = hybrid.decode(data, enhance=True, model=DEFAULT_ENHANCE_MODEL, content="screen")
    assert image.info["hybrid_model"] == DEFAULT_ENHANCE_MODEL
    assert image.info["hybrid_model_reason"] == "given model"
    assert "hybrid_content" not in image.info
    weights = registry / "photo.pt"
    image = hybrid.decode(data, enhance=True, weights=weights)
    assert image.info["hybrid_model"] == "photo.pt" and "hybrid_content" not in image.info
    assert classify.calls == 0


def test_recorded_class_wins_over_auto(registry, classify):
    data = hybrid.encode(page(), quality=30, content="photo")
    assert hybrid.info(data).hybrid_metadata.content == "photo"
    image = hybrid.decode(data, enhance=True)
    assert (image.info["hybrid_model"], image.info["hybrid_model_reason"]) == (
        DEFAULT_ENHANCE_MODEL,
        "photo, recorded",
    )
    assert classify.calls == 0
    given = hybrid.decode(data, enhance=True, content="screen")  # the caller's class wins
    assert (
        given.info["hybrid_model"] == SCREEN
        and given.info["hybrid_model_reason"] == "screen, given"
    )


def test_encode_content_screen_records_it_and_decode_picks_the_screen_model(registry, classify):
    data = hybrid.encode(page(), quality=30, content="screen")
    meta = hybrid.info(data).hybrid_metadata
    assert (meta.version, meta.content, meta.mode) == (3, "screen", "plain")
    assert meta.checksum is not None
    assert hybrid.decode(data, enhance=True).info["hybrid_model"] == SCREEN
    # an enhance-mode file also records the strength fitted for that model (version 4)
    data = hybrid.encode(page(), quality=30, mode="enhance", content="screen")
    meta = hybrid.info(data).hybrid_metadata
    assert (meta.version, meta.content, meta.mode, meta.model_id) == (
        4,
        "screen",
        "enhance",
        SCREEN,
    )
    assert meta.strength is not None
    assert hybrid.decode(data, enhance=True).info["hybrid_model"] == SCREEN
    assert classify.calls == 0


def test_encode_without_content_stays_version_2(registry):
    meta = hybrid.info(hybrid.encode(page(), quality=30)).hybrid_metadata
    assert (meta.version, meta.content) == (2, None)


def test_encode_auto_classifies_one_plain_encode(registry, classify):
    data = hybrid.encode(page(), quality=30, best=True, content="auto")
    assert classify.calls == 1
    assert hybrid.info(data).hybrid_metadata.content == "screen"
    classify.guess = ContentGuess("photo", 0.02)
    data = hybrid.encode(page(), quality=30, content="auto")
    assert hybrid.info(data).hybrid_metadata.content == "photo"


def test_auto_classifies_a_quality_75_encode_below_it(registry, classify, monkeypatch):
    """The classifier is validated from quality 20 up: ``auto`` at quality 10 classifies a
    baseline encode at 75 (its luma table is IJG's at 75), at 90 the request's own."""
    seen: list[float] = []
    guess = classify.__call__

    def recording(planes):
        seen.append(float(np.mean(planes.qtables[0])))
        return guess(planes)

    monkeypatch.setattr(classifier, "classify_content", recording)
    hybrid.encode(page(), quality=10, content="auto")
    hybrid.encode(page(), quality=90, content="auto")
    ijg = [
        float(np.mean(hybrid.info(hybrid.encode(page(), quality=q)).quant_tables[0]))
        for q in (75, 90)
    ]
    assert seen == ijg


def test_low_quality_best_encodes_record_their_class(registry, classify):
    """A ``best`` encode below quality 20 records the class (the decoder's classifier is not
    to be trusted on such files: val photo 196073's flattened sand looks like a screen to it
    at quality 5-10); from 20 up, and for other encodes, nothing is recorded unless asked."""
    classify.guess = ContentGuess("photo", 0.01)
    low = hybrid.info(hybrid.encode(page(), quality=10, best=True)).hybrid_metadata
    assert (low.version, low.content, classify.calls) == (3, "photo", 1)
    tuned = hybrid.info(hybrid.encode(page(), quality=10, tune="perceptual")).hybrid_metadata
    assert tuned.content == "photo" and classify.calls == 2
    for options in ({"quality": 20, "best": True}, {"quality": 10}):
        meta = hybrid.info(hybrid.encode(page(), **options)).hybrid_metadata
        assert (meta.version, meta.content) == (2, None), options
    assert classify.calls == 2
    decoded = hybrid.decode(hybrid.encode(page(), quality=5, best=True), enhance=True)
    assert decoded.info["hybrid_model_reason"].startswith("photo, recorded")


@pytest.mark.parametrize("bad", ["Screen", "text", 1])
def test_encode_refuses_an_unknown_content(bad):
    with pytest.raises(InputError, match="content must be None, auto or one of photo, screen"):
        hybrid.encode(page(), content=bad)


def test_decode_refuses_an_unknown_content_even_plain():
    data = hybrid.encode(page())
    for call in (hybrid.decode, hybrid.decode_array):
        with pytest.raises(InputError, match="content must be one of auto, photo, screen"):
            call(data, enhance=False, content="text")


@pytest.mark.parametrize("how", ["recorded", "given"])
def test_screen_class_without_its_model_warns_and_uses_the_photo_model(photo_only, classify, how):
    data = hybrid.encode(page(), quality=30, content="screen" if how == "recorded" else None)
    kwargs = {"content": "screen"} if how == "given" else {}
    with pytest.warns(MissingModelWarning, match="screen enhancement model") as caught:
        image = hybrid.decode(data, enhance=True, **kwargs)
    assert len(caught) == 1
    assert image.info["hybrid_model"] == DEFAULT_ENHANCE_MODEL
    assert image.info["hybrid_content"] == "screen"
    assert image.info["hybrid_model_reason"] == f"screen, {how}, {SCREEN} not installed"
    assert classify.calls == 0


def test_a_guessed_screen_without_its_model_is_no_warning(photo_only, classify):
    """Nobody asked for the screen model: the photo model stands in silently while it is
    not released, and the reason says so."""
    data = hybrid.encode(page(), quality=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = hybrid.decode(data, enhance=True)
    assert image.info["hybrid_model"] == DEFAULT_ENHANCE_MODEL
    assert image.info["hybrid_model_reason"] == (
        f"screen, classified p=0.97, {SCREEN} not installed"
    )


def test_the_choice_is_logged(registry, classify, caplog):
    data = hybrid.encode(page(), quality=30)
    with caplog.at_level(logging.INFO, logger="hybrid.enhance.choice"):
        hybrid.decode_array(data, enhance=True)
    assert [r.getMessage() for r in caplog.records] == [
        f"enhanced with {SCREEN} (screen, classified p=0.97)"
    ]


# --- the command line -----------------------------------------------------------------------


def cli_run(*args):
    from click.testing import CliRunner

    from hybrid.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def save_page(tmp_path):
    from PIL import Image

    path = tmp_path / "page.png"
    Image.fromarray(page()).save(path)
    return path


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_cli_bad_content_is_one_line_exit_2(tmp_path, command):
    src = save_page(tmp_path) if command == "encode" else tmp_path / "a.jpg"
    if command == "decode":
        src.write_bytes(hybrid.encode(page()))
    result = cli_run(command, src, "-o", tmp_path / "out", "--content", "text")
    assert result.exit_code == 2
    err = result.stderr.strip()
    assert "\n" not in err and err.startswith("hybrid: error: Invalid value for '--content'")
    assert not (tmp_path / "out").exists()


def test_cli_encode_content_screen_then_decode_verbose(tmp_path, registry, classify):
    jpg = tmp_path / "page.jpg"
    result = cli_run("encode", save_page(tmp_path), "-o", jpg, "-q", "30", "--content", "screen")
    assert result.exit_code == 0, result.output
    meta = hybrid.info(jpg).hybrid_metadata
    assert (meta.version, meta.content) == (3, "screen")
    result = cli_run("decode", jpg, "-o", tmp_path / "out.png", "--enhance", "-v")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"hybrid: {jpg}: enhanced with {SCREEN} (screen, recorded)\n"
    result = cli_run("decode", jpg, "-o", tmp_path / "m.png", "--enhance", "-v",
                     "--model", DEFAULT_ENHANCE_MODEL, "--content", "screen")  # fmt: skip
    assert result.stderr == f"hybrid: {jpg}: enhanced with {DEFAULT_ENHANCE_MODEL} (given model)\n"
    assert classify.calls == 0


def test_cli_decode_auto_says_the_classifiers_probability(tmp_path, registry, classify):
    jpg = tmp_path / "page.jpg"
    jpg.write_bytes(hybrid.encode(page(), quality=30))
    result = cli_run("decode", jpg, "-o", tmp_path / "out.png", "--enhance", "--bits", "16", "-v")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"hybrid: {jpg}: enhanced with {SCREEN} (screen, classified p=0.97)\n"
    assert classify.calls == 1
    assert cli_run("decode", jpg, "-o", tmp_path / "plain.png", "-v").stderr == ""
    assert classify.calls == 1  # a plain decode never classifies
    assert logging.getLogger("hybrid.enhance.choice").level == logging.NOTSET  # as found


def test_cli_decode_warns_once_when_the_screen_model_is_missing(tmp_path, photo_only, classify):
    jpg = tmp_path / "page.jpg"
    jpg.write_bytes(hybrid.encode(page(), quality=30, content="screen"))
    result = cli_run("decode", jpg, "-o", tmp_path / "out.png", "--enhance")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"hybrid: warning: {jpg}: the screen enhancement model {SCREEN} is not installed: "
        f"using {DEFAULT_ENHANCE_MODEL}\n"
    )
    guessed = tmp_path / "guessed.jpg"
    guessed.write_bytes(hybrid.encode(page(), quality=30))
    result = cli_run("decode", guessed, "-o", tmp_path / "g.png", "--enhance", "-v")
    assert result.stderr == (
        f"hybrid: {guessed}: enhanced with {DEFAULT_ENHANCE_MODEL} "
        f"(screen, classified p=0.97, {SCREEN} not installed)\n"
    )


def test_cli_info_shows_recorded_class_and_guess(tmp_path, classify):
    import json

    jpg = tmp_path / "page.jpg"
    jpg.write_bytes(hybrid.encode(page(), content="photo"))
    result = cli_run("info", jpg)
    assert result.exit_code == 0
    assert "  content: photo; classifier: screen (p(screen)=0.97)\n" in result.stdout
    record = json.loads(cli_run("info", jpg, "--json").stdout)
    assert record["hybrid_metadata"]["content"] == "photo"
    assert record["content"] == {
        "recorded": "photo",
        "guess": {"label": "screen", "screen_probability": 0.97},
    }
    cmyk = tmp_path / "cmyk.jpg"
    from PIL import Image

    Image.new("CMYK", (16, 16)).save(cmyk)
    result = cli_run("info", cmyk)
    assert result.exit_code == 0
    assert "  content: not recorded; classifier: none (enhancement supports" in result.stdout
    assert classify.calls == 2


def test_cli_models_lists_the_content_class(registry):
    result = cli_run("models")
    assert result.exit_code == 0
    lines = {line.split(" ", 1)[0].rstrip(":"): line for line in result.stdout.splitlines()}
    assert lines[DEFAULT_ENHANCE_MODEL].startswith(
        f"{DEFAULT_ENHANCE_MODEL} (default): enhance, photo content, "
    )
    assert lines[SCREEN].startswith(
        f"{SCREEN} (default for screen content): enhance, screen content"
    )


def test_batch_decode_takes_content_and_records_the_model_chosen(tmp_path, registry, classify):
    from hybrid.batch.inputs import Item
    from hybrid.batch.jobs import BatchJob, DecodeSettings
    from hybrid.batch.work import process
    from hybrid.cli import cli

    with pytest.raises(InputError, match="content must be one of auto, photo, screen"):
        DecodeSettings(content="text")
    src = tmp_path / "page.jpg"
    src.write_bytes(hybrid.encode(page(), quality=30))
    rows = {}
    for content in ("auto", "photo"):
        job = BatchJob("decode", decode=DecodeSettings(enhance=True, content=content))
        rows[content] = process(job, Item(str(src), str(tmp_path / f"{content}.png")))
    assert rows["auto"]["status"] == rows["photo"]["status"] == "ok"
    assert (rows["auto"]["model"], rows["photo"]["model"]) == (SCREEN, DEFAULT_ENHANCE_MODEL)
    assert rows["auto"]["settings"] != rows["photo"]["settings"]
    assert classify.calls == 1
    decode, batch_decode = cli.commands["decode"], cli.commands["batch"].commands["decode"]
    option = {p.name: p for p in decode.params}["content"]
    assert {p.name: p for p in batch_decode.params}[
        "content"
    ].to_info_dict() == option.to_info_dict()


def test_onnx_backend_falls_back_when_a_class_model_has_no_export(registry, monkeypatch):
    """The ONNX backend chooses as the torch one; a class's model without an ONNX export
    (``hybrid export-onnx`` not run for it yet) gives the photo model and a warning."""
    from hybrid.enhance import onnx_backend
    from hybrid.errors import WeightsError

    asked: list[str] = []

    def entry(model_id):
        asked.append(model_id)
        raise WeightsError("stop here: the choice is made")

    monkeypatch.setattr(onnx_backend, "load_onnx_manifest", lambda: {})
    monkeypatch.setattr(onnx_backend, "onnx_entry", entry)
    data = hybrid.encode(page(), quality=30, content="screen")
    with pytest.warns(MissingModelWarning, match=f"{SCREEN} has no ONNX export"):
        with pytest.raises(WeightsError, match="stop here"):
            onnx_backend.enhance_jpeg_onnx(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WeightsError, match="stop here"):
            onnx_backend.enhance_jpeg_onnx(data, model="enhance-x", content="screen")
    assert asked == [DEFAULT_ENHANCE_MODEL, "enhance-x"]
