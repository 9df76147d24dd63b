"""The downscaled mode: encode smaller, record the original size, restore it on decode."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid.cli import cli
from hybrid.codec.geometry import coded_size
from hybrid.codec.metadata import (
    SIGNATURE,
    HybridMetadata,
    frame_checksum,
    insert_segment,
    metadata_segment,
)
from hybrid.codec.reader import read_frame
from hybrid.downscaled import SR_MODEL_BY_SCALE, default_sr_model
from hybrid.errors import (
    HybridMetadataWarning,
    ImageTooLargeError,
    InputError,
    MissingModelWarning,
    WeightsError,
)
from hybrid.metrics import psnr
from tests.helpers.decoders import decode_djpeg, djpeg_path
from tests.helpers.registry import register, register_tiny_enhancer

# No weights installed unless a test writes a manifest into its ``empty_registry``.
pytestmark = pytest.mark.usefixtures("empty_registry")


def smooth(h: int = 77, w: int = 101, seed: int = 3) -> np.ndarray:
    """A smooth colour image with mild texture (odd size on purpose)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(seed)
    base = np.stack(
        [
            128 + 90 * np.sin(x / 9.0),
            128 + 90 * np.cos(y / 7.0),
            128 + 60 * np.sin((x + y) / 13.0),
        ],
        axis=-1,
    )
    return np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def no_model_warnings(record: list[warnings.WarningMessage]) -> bool:
    return not any(issubclass(w.category, MissingModelWarning) for w in record)


# --- encode -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "small"), [(2, (51, 39)), (1.5, (67, 51)), (3, (34, 26)), (1.0, (101, 77))]
)
def test_coded_size_rounds_half_up(scale, small):
    assert coded_size(101, 77, scale) == small
    assert coded_size(1, 1, 64) == (1, 1)


@pytest.mark.parametrize("scale", [2.0, 1.5])
def test_metadata_round_trip(scale):
    data = hybrid.encode(smooth(), scale=scale, quality=85)
    info = hybrid.info(data)
    assert (info.width, info.height) == coded_size(101, 77, scale)
    assert info.hybrid_metadata == HybridMetadata(
        mode="downscaled", original_width=101, original_height=77, scale=scale,
        model_id=default_sr_model(scale), checksum=frame_checksum(read_frame(data)),
    )  # fmt: skip
    custom = hybrid.info(hybrid.encode(smooth(), scale=scale, model_id="sr-big-v2"))
    assert custom.hybrid_metadata.model_id == "sr-big-v2"


def test_scale_one_is_an_ordinary_file():
    meta = hybrid.info(hybrid.encode(smooth(), scale=1.0, mode="enhance")).hybrid_metadata
    assert (meta.mode, meta.scale, meta.original_width) == ("enhance", 1.0, 101)


@pytest.mark.parametrize("scale", [0.5, 0, -2, float("nan"), float("inf"), 65, "2", True])
def test_bad_scale_is_an_input_error(scale):
    with pytest.raises(InputError, match="scale"):
        hybrid.encode(smooth(), scale=scale)


def test_mode_downscaled_needs_a_scale():
    with pytest.raises(InputError, match="scale"):
        hybrid.encode(smooth(), mode="downscaled")


def test_other_decoders_show_the_small_image():
    data = hybrid.encode(smooth(), scale=2, quality=90)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (51, 39)
        pillow = np.asarray(image.convert("RGB"))
    if djpeg_path() is None:
        pytest.skip("djpeg is not installed")
    djpeg = decode_djpeg(data)
    assert djpeg.shape == (39, 51, 3)
    assert np.abs(djpeg.astype(int) - pillow.astype(int)).max() <= 1


def test_greyscale_downscaled():
    grey = smooth()[:, :, 1]
    data = hybrid.encode(grey, scale=2)
    assert len(hybrid.info(data).components) == 1
    assert hybrid.decode(data).size == (51, 39)
    restored = hybrid.decode(data, upscale=True)
    assert restored.mode == "L" and restored.size == (101, 77)
    assert psnr(np.asarray(restored), grey) > 28


# --- decode -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2.0, 1.5])
def test_plain_decode_is_small_and_upscale_restores_the_exact_size(scale):
    pixels = smooth()
    data = hybrid.encode(pixels, scale=scale, quality=95)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        small = hybrid.decode(data)
        big = hybrid.decode(data, upscale=True)
        array = hybrid.decode_array(data, enhance=False, upscale=True)
    assert no_model_warnings(record)  # a plain decode asked for nothing missing
    assert small.size == coded_size(101, 77, scale)
    assert big.size == (101, 77) and big.mode == "RGB"
    assert array.shape == (77, 101, 3) and array.dtype == np.float32
    # decode and decode_array agree (same bicubic on the same 8-bit decode)
    assert np.array_equal(np.round(array * 255).astype(np.uint8), np.asarray(big))
    assert psnr(np.asarray(big), pixels) > (30 if scale == 1.5 else 27)


def test_enhance_without_any_weights_gives_the_small_image_and_a_warning():
    data = hybrid.encode(smooth(), scale=2)
    with pytest.warns(MissingModelWarning, match=r"sr-fast-v1.*51x39.*101x77"):
        image = hybrid.decode(data, enhance=True)
    assert image.size == (51, 39)
    with pytest.warns(MissingModelWarning, match="upscaled"):
        image = hybrid.decode(data, enhance=True, upscale=True)
    assert image.size == (101, 77)
    with pytest.warns(MissingModelWarning):
        array = hybrid.decode_array(data, enhance=True, upscale=True)
    assert array.shape == (77, 101, 3)


def test_ordinary_jpeg_scale_upsamples():
    data = hybrid.encode(smooth(), quality=90)
    assert hybrid.decode(data, scale=2).size == (202, 154)
    assert hybrid.decode(data, scale=1.5).size == (152, 116)  # round(151.5), round(115.5)
    assert hybrid.decode(data, upscale=True).size == (101, 77)  # nothing recorded to restore
    with pytest.raises(WeightsError):  # --enhance on an ordinary file needs weights, as before
        hybrid.decode(data, enhance=True, scale=2)
    with pytest.raises(InputError, match="upscale=False"):
        hybrid.decode(data, scale=2, upscale=False)


def test_upscale_respects_max_pixels():
    # A consistent record (coded 101x77 = round(404/4) x round(308/4)) asking for 124,432
    # pixels, at the largest scale a record may have (hybrid.codec.geometry.MAX_SCALE).
    meta = HybridMetadata(mode="downscaled", original_width=404, original_height=308, scale=4)
    buffer = io.BytesIO()
    Image.fromarray(smooth()).save(buffer, "JPEG")
    data = insert_segment(buffer.getvalue(), metadata_segment(meta))
    assert hybrid.decode(data).size == (101, 77)  # the plain decode never upscales
    with pytest.raises(ImageTooLargeError):
        hybrid.decode(data, upscale=True, max_pixels=100_000)
    with pytest.raises(ImageTooLargeError):
        hybrid.decode(data, scale=4, max_pixels=10_000)


def test_a_record_that_does_not_describe_the_frame_is_ignored():
    """A forged (or stale: the image was resized by another tool) record cannot steer the
    decoder into a huge "original size"."""
    buffer = io.BytesIO()
    Image.fromarray(smooth()).save(buffer, "JPEG")
    for meta in (
        HybridMetadata(mode="downscaled", original_width=60000, original_height=60000, scale=2),
        HybridMetadata(mode="enhance", original_width=100, original_height=77),
    ):
        data = insert_segment(buffer.getvalue(), metadata_segment(meta))
        with pytest.warns(HybridMetadataWarning, match="does not|describes"):
            assert hybrid.info(data).hybrid_metadata is None
        with pytest.warns(HybridMetadataWarning):
            assert hybrid.decode(data, upscale=True).size == (101, 77)


# --- networks: the super-resolution interface and the enhancement fallback -----------------------


def test_sr_entry_with_unknown_architecture_is_a_weights_error(empty_registry):
    register(
        empty_registry,
        [{"id": "sr-fast-v1", "file": "sr.pt", "architecture": "NotYetWritten", "task": "sr"}],
        {"sr.pt": {}},
    )
    data = hybrid.encode(smooth(), scale=2)
    with pytest.raises(WeightsError, match="unknown architecture 'NotYetWritten'"):
        hybrid.decode(data, enhance=True)
    with pytest.raises(WeightsError, match="unknown super-resolution model 'nope'"):
        hybrid.decode(data, enhance=True, sr_model="nope")


def test_named_sr_model_of_another_task_is_refused(empty_registry):
    register(
        empty_registry,
        [{"id": "enh", "file": "e.pt", "architecture": "EnhanceNet", "task": "enhance"}],
        {"e.pt": {}},
    )
    with pytest.raises(WeightsError, match="not super-resolution"):
        hybrid.decode(hybrid.encode(smooth(), scale=2), enhance=True, sr_model="enh")


def test_sr_network_plugs_in_through_the_registry(empty_registry, monkeypatch):
    import torch

    import hybrid.enhance as enhance_pkg
    from hybrid.enhance import nets

    class NearestX2(torch.nn.Module):
        """A stand-in network honouring the contract: (B,3,h,w), cond -> (B,3,2h,2w)."""

        def forward(self, rgb: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
            assert cond.shape == (rgb.shape[0], nets.COND_DIM)
            return torch.nn.functional.interpolate(rgb, scale_factor=2, mode="nearest")

    monkeypatch.setitem(nets.ARCHITECTURES, "NearestX2", NearestX2)
    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    register(
        empty_registry,
        [{"id": "sr-test-x2", "file": "x2.pt", "architecture": "NearestX2", "task": "sr",
          "inference": {"scale": 2}}],
        {"x2.pt": {}},
    )  # fmt: skip
    pixels = smooth()
    data = hybrid.encode(pixels, scale=2, quality=95, model_id="sr-test-x2")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        image = hybrid.decode(data, enhance=True)
    assert no_model_warnings(record)
    assert image.size == (101, 77)  # 102x78 from the network, resized to the exact size
    assert psnr(np.asarray(image), pixels) > 24
    assert hybrid.decode(data, enhance=True, scale=3).size == (153, 117)
    # the model a file names is only a default: another installed one can be asked for
    other = hybrid.encode(pixels, scale=2)  # names sr-fast-v1, which is not installed
    assert hybrid.decode(other, enhance=True, sr_model="sr-test-x2").size == (101, 77)


@pytest.mark.parametrize(
    ("scale", "expected"),
    [(1.5, 1.5), (1.7, 1.5), (1.75, 2.0), (2.0, 2.0), (3.0, 2.0), (64.0, 2.0)],
)
def test_default_sr_model_is_the_nearest_trained_scale(scale, expected):
    assert default_sr_model(scale) == SR_MODEL_BY_SCALE[expected]


def test_sr_model_follows_the_scale_and_falls_back(empty_registry, monkeypatch):
    import torch

    import hybrid.enhance as enhance_pkg
    from hybrid.enhance import nets

    class FlatX2(torch.nn.Module):
        """A stand-in x2 network whose output is one grey level, to tell models apart."""

        def __init__(self, level: float = 0.0) -> None:
            super().__init__()
            self.level = level

        def forward(self, rgb: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
            b, _, h, w = rgb.shape
            return torch.full((b, 3, 2 * h, 2 * w), self.level)

    monkeypatch.setitem(nets.ARCHITECTURES, "FlatX2", FlatX2)

    def install(levels: dict[str, float]) -> None:
        monkeypatch.setattr(enhance_pkg, "_CACHE", {})
        entries = [
            {"id": i, "file": f"{i}.pt", "architecture": "FlatX2", "task": "sr",
             "kwargs": {"level": v}, "inference": {"scale": 2}}
            for i, v in levels.items()
        ]  # fmt: skip
        register(empty_registry, entries, {f"{i}.pt": {} for i in levels})

    def level(data: bytes, **kw: object) -> float:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            image = hybrid.decode(data, enhance=True, **kw)
        assert no_model_warnings(record)
        return round(float(np.asarray(image).mean()) / 255.0, 2)

    x15, x2 = SR_MODEL_BY_SCALE[1.5], SR_MODEL_BY_SCALE[2.0]
    # encoded with no model installed: no strength fitted, the decodes are the models' own
    small15, small2 = hybrid.encode(smooth(), scale=1.5), hybrid.encode(smooth(), scale=2)
    assert hybrid.info(small15).hybrid_metadata.strength is None
    install({x15: 0.75, x2: 0.25})
    assert hybrid.info(small15).hybrid_metadata.model_id == x15
    assert level(small15) == 0.75 and level(small2) == 0.25
    ordinary = hybrid.encode(smooth(), quality=80)
    assert level(ordinary, scale=1.5) == 0.75 and level(ordinary, scale=2) == 0.25
    assert level(small15, sr_model=x2) == 0.25  # a named model wins
    # the x1.5 model not installed: its files use the x2 model, without a warning
    install({x2: 0.25})
    assert level(small15) == 0.25 and level(ordinary, scale=1.5) == 0.25


def test_enhancement_fallback_upscales_with_a_warning(empty_registry, monkeypatch):
    import hybrid.enhance as enhance_pkg

    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    register_tiny_enhancer(empty_registry)
    data = hybrid.encode(smooth(), scale=2)
    with pytest.warns(MissingModelWarning, match="enhanced the 51x39 image"):
        image = hybrid.decode(data, enhance=True)
    assert image.size == (101, 77)
    assert hybrid.decode(data, enhance=True, upscale=False).size == (51, 39)
    ordinary = hybrid.encode(smooth(), quality=80)
    with pytest.warns(MissingModelWarning):
        assert hybrid.decode(ordinary, enhance=True, scale=2).size == (202, 154)


def install_networks(directory) -> None:
    """Tiny networks with random weights: the default enhancer, another enhancer
    (``enhance-other-v1``) and the x2 super-resolution model downscaled files name."""
    import torch

    from hybrid.enhance.nets import EnhanceNet, SRNet
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    generator = torch.Generator().manual_seed(5)
    entries, files = [], {}
    for model_id, cls, task, kwargs in (
        (DEFAULT_ENHANCE_MODEL, EnhanceNet, "enhance", {"channels": 8, "blocks": 1}),
        ("enhance-other-v1", EnhanceNet, "enhance", {"channels": 8, "blocks": 1}),
        ("sr-fast-v1", SRNet, "sr", {"channels": 8, "blocks": 1, "scale": 2}),
    ):
        net = cls(**kwargs)
        with torch.no_grad():  # untrained nets may start as the identity: make them differ
            for param in net.parameters():
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
        name = f"{model_id}.pt"
        files[name] = {"model": net.state_dict(), "architecture": cls.__name__, "kwargs": kwargs}
        entries.append({"id": model_id, "file": name, "architecture": cls.__name__,
                        "kwargs": kwargs, "task": task})  # fmt: skip
    register(directory, entries, files)


def with_record(data: bytes, meta: HybridMetadata | None) -> bytes:
    """``data`` with its hybrid APP11 segment replaced by one of ``meta`` (None: removed)."""
    start = data.index(SIGNATURE) - 4  # marker and length before the signature
    end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    return data[:start] + (metadata_segment(meta) if meta else b"") + data[end:]


def forged_records() -> dict[str, bytes]:
    """A downscaled 51x39 file whose record does not describe its frame: as encoded (it
    names the super-resolution model), naming another enhancement model, and naming a
    model the registry does not have (that was a WeightsError)."""
    from skimage import data as skimage_data

    photo = skimage_data.astronaut()[100:177, 150:251]  # 101x77, a photograph
    data = hybrid.encode(photo, scale=2, quality=50)
    meta = hybrid.info(data).hybrid_metadata
    assert meta is not None and meta.model_id == "sr-fast-v1"
    # enhancement records of a 50x39 original; the two differ only in the model they name
    enhance = replace(meta, mode="enhance", scale=1.0, original_width=50, original_height=39)
    return {
        "downscaled": with_record(data, replace(meta, original_width=141)),
        "enhance": with_record(data, replace(enhance, model_id="enhance-other-v1")),
        "unknown": with_record(data, replace(enhance, model_id="enhance-unknown-v9")),
    }


def hybrid_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, Warning)]


@pytest.mark.parametrize("kind", ["downscaled", "enhance", "unknown"])
def test_a_dropped_record_does_not_steer_the_decode(empty_registry, monkeypatch, kind):
    """Regression (issue 14): the header parse drops a record that does not describe the
    frame, but the enhanced decode read the raw record again: a downscaled one made it run
    the super-resolution model it names as an enhancement network (a bare RuntimeError),
    another one chose the enhancement model. Now the parsed header is the only reading: the
    file decodes as one without a record, the photo model at the coded size, one warning."""
    import hybrid.enhance as enhance_pkg
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    install_networks(empty_registry)
    forged = forged_records()[kind]
    bare = with_record(forged, None)
    for enhance in (False, True):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            image = hybrid.decode(forged, enhance=enhance)
        messages = hybrid_warnings(record)
        assert len(messages) == 1 and "ignoring hybrid metadata" in messages[0], messages
        assert image.size == (51, 39)
        expected = hybrid.decode(bare, enhance=enhance, model=DEFAULT_ENHANCE_MODEL)
        assert np.array_equal(np.asarray(image), np.asarray(expected))
    other = hybrid.decode(bare, enhance=True, model="enhance-other-v1")
    assert not np.array_equal(np.asarray(other), np.asarray(expected))  # the test can tell


# --- CLI ----------------------------------------------------------------------------------------


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_scale_encode_and_decode(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(smooth()).save(src)
    jpg = tmp_path / "out.jpg"
    result = run("encode", src, "-o", jpg, "--scale", "1.5")
    assert result.exit_code == 0, result.output
    assert "scale 1.5, mode downscaled" in result.stdout
    assert Image.open(jpg).size == (67, 51)
    assert run("decode", jpg, "-o", tmp_path / "small.png").exit_code == 0
    assert Image.open(tmp_path / "small.png").size == (67, 51)
    assert run("decode", jpg, "-o", tmp_path / "big.png", "--upscale").exit_code == 0
    assert Image.open(tmp_path / "big.png").size == (101, 77)
    result = run("decode", jpg, "-o", tmp_path / "enh.png", "--enhance")
    assert result.exit_code == 0
    warning = result.stderr.strip()
    assert "\n" not in warning and warning.startswith("hybrid: warning: ")
    assert default_sr_model(1.5) in warning
    assert Image.open(tmp_path / "enh.png").size == (67, 51)
    result = run("decode", jpg, "-o", tmp_path / "b16.png", "--upscale", "--bits", "16")
    assert result.exit_code == 0 and Image.open(tmp_path / "b16.png").size == (101, 77)


@pytest.mark.parametrize("kind", ["downscaled", "enhance", "unknown"])
def test_cli_decodes_a_dropped_record_with_one_warning(empty_registry, monkeypatch, tmp_path, kind):
    """The forged files of :func:`test_a_dropped_record_does_not_steer_the_decode` decode
    plainly and with --enhance: exit 0, one warning line, the photo model's image at the
    coded size (issue 14; it used to be exit 1, "internal error")."""
    import hybrid.enhance as enhance_pkg
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    install_networks(empty_registry)
    src = tmp_path / "forged.jpg"
    src.write_bytes(forged_records()[kind])
    for flags in ([], ["--enhance"]):
        out = tmp_path / f"out{len(flags)}.png"
        result = run("decode", src, "-o", out, *flags)
        assert result.exit_code == 0, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hybrid: warning: "), lines
        assert "ignoring hybrid metadata" in lines[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HybridMetadataWarning)
            expected = hybrid.decode(src, enhance=bool(flags), model=DEFAULT_ENHANCE_MODEL)
        assert np.array_equal(np.asarray(Image.open(out)), np.asarray(expected))
        assert expected.size == (51, 39)


@pytest.mark.parametrize("bad", ["0.5", "abc", "100"])
def test_cli_bad_scale_is_one_line_exit_2(tmp_path, bad):
    src = tmp_path / "in.png"
    Image.fromarray(smooth()).save(src)
    result = run("encode", src, "-o", tmp_path / "o.jpg", "--scale", bad)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("hybrid: error: ") and "\n" not in result.stderr.strip()
