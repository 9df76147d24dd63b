"""Weights files that cannot run code or balloon (issue 15 point 8).

Released and exported weights are safetensors whose header is checked before a tensor is
read; user torch files (checkpoints, older exports) go through a bounded zip check before
``torch.load``; either way the contents must fit a validated architecture spec, and every
violation is a WeightsError (CLI exit code 2, one line).
"""

from __future__ import annotations

import inspect
import io
import json
import pickle
import resource
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from hybrid.enhance.nets import ARCHITECTURES, COND_DIM, EnhanceNet, SRNet
from hybrid.enhance.registry import (
    load_manifest,
    load_model,
    load_weights_file,
    read_weights,
    weights_dir,
)
from hybrid.enhance.safetensors_file import FORMAT, MAX_HEADER_BYTES, encode_safetensors
from hybrid.enhance.weights_schema import MAX_PARAMETERS, NetworkSpec
from hybrid.errors import WeightsError

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = {"channels": 8, "blocks": 1}


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return EnhanceNet(**TINY).state_dict()


def _safetensors(header: dict, data: bytes) -> bytes:
    """A safetensors file from a header dict written as given (no checks) and raw data."""
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data


def _meta(architecture: str = "EnhanceNet", kwargs: object = None) -> dict[str, str]:
    kw = json.dumps(TINY if kwargs is None else kwargs)
    return {"format": FORMAT, "architecture": architecture, "kwargs": kw}


class _Budget:
    """Wall time, peak Python allocation (tracemalloc, which slows Python down: ``trace``
    False where only torch would allocate) and growth of the process's peak resident size
    across a block."""

    def __init__(self, trace: bool = True) -> None:
        self.trace = trace

    def __enter__(self) -> _Budget:
        if self.trace:
            tracemalloc.start()
        self.rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.python_peak = tracemalloc.get_traced_memory()[1] if self.trace else 0
        if self.trace:
            tracemalloc.stop()
        self.rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.rss0) * 1024

    def assert_small(self) -> None:
        assert self.seconds < 2.0, self.seconds
        assert self.python_peak < 16 * 2**20, self.python_peak
        assert self.rss_growth < 128 * 2**20, self.rss_growth


# --- released weights ----------------------------------------------------------------------


def probe_input(architecture: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed input of tests/data/released_weights_outputs.json: (x, cond)."""
    g = torch.Generator().manual_seed(2024)
    cond = torch.rand(1, COND_DIM, generator=g)
    if architecture == "EnhanceNet":
        return torch.rand(1, 3, 32, 32, generator=g) * 255, cond
    return torch.rand(1, 3, 16, 16, generator=g), cond


def test_released_weights_compute_what_the_torch_files_did():
    """Outputs recorded from the .pt files (loaded with torch.load) before their conversion."""
    reference = json.loads((DATA / "released_weights_outputs.json").read_text())["files"]
    entries = load_manifest()
    assert {e.file for e in entries.values()} == set(reference)
    for entry in entries.values():
        ref = reference[entry.file]
        net = load_model(entry.id)
        with torch.no_grad():
            out = net(*probe_input(entry.architecture)).double().flatten()
        idx = torch.linspace(0, out.numel() - 1, len(ref["samples"])).round().long()
        scale = 255.0 if entry.architecture == "EnhanceNet" else 1.0
        np.testing.assert_allclose(out[idx].numpy(), ref["samples"], atol=1e-4 * scale)
        assert out.sum().item() == pytest.approx(ref["sum"], abs=1e-3 * scale * out.numel() ** 0.5)
        assert out.abs().sum().item() == pytest.approx(ref["abs_sum"], rel=1e-5)


def test_float16_release_stays_float16():
    entry = load_manifest()["enhance-quality-v4"]
    weights = read_weights(weights_dir() / entry.file, sha256=entry.sha256)
    assert {t.dtype for t in weights.state.values()} == {torch.float16}
    assert load_model("enhance-quality-v4").head.weight.dtype == torch.float32


def test_encoded_files_are_plain_safetensors_and_deterministic(tmp_path):
    from safetensors import safe_open

    state = {**_tiny_state(), "head.bias": torch.zeros(8, dtype=torch.bfloat16)}
    spec = NetworkSpec("EnhanceNet", TINY)
    data = encode_safetensors(state, spec)
    assert data == encode_safetensors(dict(reversed(list(state.items()))), spec)
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with safe_open(str(path), framework="pt") as f:  # the package reads what we write
        assert f.metadata() == _meta("EnhanceNet", dict(sorted(TINY.items())))
        for name, tensor in state.items():
            assert (
                torch.equal(f.get_tensor(name), tensor) and f.get_tensor(name).dtype == tensor.dtype
            )
    assert isinstance(load_weights_file(path), EnhanceNet)


def test_every_architecture_declares_the_arguments_of_its_constructor():
    for name, cls in ARCHITECTURES.items():
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert set(cls.KWARG_LIMITS) == params, name


# --- the typed schema: spec and state -------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "kwargs", "message"),
    [
        ("EvilNet", {}, "unknown architecture"),
        ("EnhanceNet", {"channels": 10**9}, "channels must be an integer 1..1024"),
        ("EnhanceNet", {"blocks": 0}, "blocks must be an integer 1..128"),
        ("EnhanceNet", {"channels": 8.0}, "channels must be an integer"),
        ("EnhanceNet", {"channels": True}, "channels must be an integer"),
        ("EnhanceNet", {"channels": "8"}, "channels must be an integer"),
        ("EnhanceNet", {"scale": 2}, "no argument 'scale'"),
        ("EnhanceNet", {"__class__": 1}, "no argument"),
        ("SRNet", {"scale": 8}, "scale must be an integer 2..4"),
        ("EnhanceNet", [8, 1], "must be a mapping"),
    ],
)
def test_spec_refuses_bad_architectures_and_kwargs(architecture, kwargs, message):
    with pytest.raises(WeightsError, match=message):
        NetworkSpec(architecture, kwargs)


def test_network_too_large_is_refused_before_anything_is_allocated(tmp_path):
    """Every argument in range, but 5 billion parameters: refused from the meta build."""
    path = tmp_path / "big.pt"
    kwargs = {"channels": 1024, "blocks": 128, "low_blocks": 128, "low_channels": 1024}
    torch.save({"model": {}, "architecture": "EnhanceNet", "kwargs": kwargs}, path)
    with (
        _Budget(trace=False) as budget,
        pytest.raises(WeightsError, match=f"at most {MAX_PARAMETERS:,}"),
    ):
        load_weights_file(path)
    budget.assert_small()


def _legacy_cases() -> dict[str, object]:
    state = _tiny_state()
    wrong = EnhanceNet(channels=16, blocks=1).state_dict()
    return {
        "not a dict": [state],
        "no model": {"architecture": "EnhanceNet", "kwargs": TINY},
        "model is a list": {"model": [1, 2], "architecture": "EnhanceNet", "kwargs": TINY},
        "model values are not tensors": {
            "model": {k: v.tolist() for k, v in state.items()},
            "architecture": "EnhanceNet",
            "kwargs": TINY,
        },
        "integer tensors": {
            "model": {k: v.long() for k, v in state.items()},
            "architecture": "EnhanceNet",
            "kwargs": TINY,
        },
        "missing keys": {
            "model": {k: v for k, v in state.items() if not k.startswith("tail")},
            "architecture": "EnhanceNet",
            "kwargs": TINY,
        },
        "unexpected keys": {
            "model": {**state, "extra": torch.zeros(1)},
            "architecture": "EnhanceNet",
            "kwargs": TINY,
        },
        "wrong shapes": {"model": wrong, "architecture": "EnhanceNet", "kwargs": TINY},
        "unknown architecture": {"model": state, "architecture": "EvilNet", "kwargs": TINY},
        "architecture not a string": {"model": state, "architecture": 3, "kwargs": TINY},
        "absurd kwargs": {
            "model": state,
            "architecture": "EnhanceNet",
            "kwargs": {"channels": 10**9},
        },
        "kwargs not a dict": {"model": state, "architecture": "EnhanceNet", "kwargs": "channels=8"},
        "config not JSON": {"model": state, "config": "{channels: 8"},
        "config not a string": {"model": state, "config": {"channels": 8}},
        "config lacks channels": {"model": state, "config": json.dumps({"blocks": 1})},
        "config of a bad task": {"model": state, "config": json.dumps({**TINY, "task": "x"})},
        "no architecture": {"model": state},
        "a name with a newline": {
            "model": {**state, "x\nhybrid: ok": torch.zeros(1)},
            "architecture": "EnhanceNet",
            "kwargs": TINY,
        },
    }


@pytest.mark.parametrize("case", sorted(_legacy_cases()))
def test_malformed_torch_weights_are_weights_errors(tmp_path, case):
    path = tmp_path / "w.pt"
    torch.save(_legacy_cases()[case], path)
    with pytest.raises(WeightsError) as info:
        load_weights_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_checkpoints_and_old_exports_still_load(tmp_path):
    state = _tiny_state()
    export = tmp_path / "export.pt"
    torch.save({"model": state, "architecture": "EnhanceNet", "kwargs": TINY}, export)
    ckpt = tmp_path / "last.pt"
    sr = SRNet(8, 1, scale=2)
    config = json.dumps({"task": "sr", "scale": 1.5, "channels": 8, "blocks": 1})
    optimizer = torch.optim.AdamW(sr.parameters()).state_dict()
    torch.save(
        {"model": sr.state_dict(), "optimizer": optimizer, "iteration": 3, "config": config}, ckpt
    )
    assert torch.equal(load_weights_file(export).head.weight, state["head.weight"])
    assert isinstance(load_weights_file(ckpt), SRNet)
    assert read_weights(ckpt).spec == NetworkSpec("SRNet", {"channels": 8, "blocks": 1, "scale": 2})


# --- torch zip: bounded before torch reads it -----------------------------------------------


def _torch_zip(tmp_path: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"model": _tiny_state(), "architecture": "EnhanceNet", "kwargs": TINY}, buffer)
    return buffer.getvalue()


def _rezip(data: bytes, *, pickle_payload: bytes | None = None, deflate: bool = False) -> bytes:
    """The torch zip ``data`` with its data.pkl replaced and/or deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("data.pkl") and pickle_payload is not None:
                body = pickle_payload
            kind = (
                zipfile.ZIP_DEFLATED
                if deflate and info.filename.endswith("data.pkl")
                else zipfile.ZIP_STORED
            )
            dst.writestr(zipfile.ZipInfo(info.filename), body, compress_type=kind)
    return out.getvalue()


def _claim_size(data: bytes, member_suffix: bytes, *, compressed: int, uncompressed: int) -> bytes:
    """Rewrite the central-directory sizes of the member ending in ``member_suffix``."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = int.from_bytes(out[pos + 28 : pos + 30], "little")
        name = bytes(out[pos + 46 : pos + 46 + name_len])
        if name.endswith(member_suffix):
            out[pos + 20 : pos + 24] = compressed.to_bytes(4, "little")
            out[pos + 24 : pos + 28] = uncompressed.to_bytes(4, "little")
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise AssertionError("member not found")


def test_zip_claiming_a_huge_member_is_refused_quickly(tmp_path):
    data = _torch_zip(tmp_path)
    lying = tmp_path / "lying.pt"
    lying.write_bytes(_claim_size(data, b"data/0", compressed=0xFFFFFFF0, uncompressed=0xFFFFFFF0))
    assert lying.stat().st_size < 100_000  # claims 4 GB
    with _Budget() as budget, pytest.raises(WeightsError, match="more than the file"):
        load_weights_file(lying)
    budget.assert_small()
    mismatched = tmp_path / "mismatched.pt"
    mismatched.write_bytes(_claim_size(data, b"data.pkl", compressed=200, uncompressed=0xFFFFFFF0))
    with _Budget() as budget, pytest.raises(WeightsError, match="sizes disagree"):
        load_weights_file(mismatched)
    budget.assert_small()


def test_zip_directory_claiming_absurd_entries_is_refused_before_zipfile_reads_it(tmp_path):
    data = bytearray(_torch_zip(tmp_path))
    end = data.rfind(b"PK\x05\x06")
    data[end + 10 : end + 12] = (60_000).to_bytes(2, "little")  # total entries
    path = tmp_path / "many.pt"
    path.write_bytes(bytes(data))
    with _Budget() as budget, pytest.raises(WeightsError, match="60,000 entries"):
        load_weights_file(path)
    budget.assert_small()
    (tmp_path / "not-a-zip.pt").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(WeightsError, match="no end of central directory"):
        load_weights_file(tmp_path / "not-a-zip.pt")


def test_deflate_bomb_is_refused_without_inflating(tmp_path):
    """A 64 MiB pickle deflated to about 64 kB: refused from the zip directory alone."""
    payload = pickle.dumps(b"\0" * (64 * 2**20), protocol=2)
    bomb = tmp_path / "bomb.pt"
    bomb.write_bytes(_rezip(_torch_zip(tmp_path), pickle_payload=payload, deflate=True))
    assert bomb.stat().st_size < 200_000
    del payload
    with _Budget() as budget, pytest.raises(WeightsError, match="compressed"):
        load_weights_file(bomb)
    budget.assert_small()


def test_oversized_pickle_is_refused(tmp_path, monkeypatch):
    import hybrid.enhance.torch_file as torch_file

    path = tmp_path / "w.pt"
    path.write_bytes(_torch_zip(tmp_path))
    assert isinstance(load_weights_file(path), EnhanceNet)
    monkeypatch.setattr(torch_file, "MAX_PICKLE_BYTES", 64)
    with pytest.raises(WeightsError, match="pickle .*data.pkl"):
        load_weights_file(path)


def test_pre_zip_torch_pickles_are_refused(tmp_path):
    path = tmp_path / "old.pt"
    state = {"model": _tiny_state(), "architecture": "EnhanceNet", "kwargs": TINY}
    torch.save(state, path, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightsError, match="torch < 1.6"):
        load_weights_file(path)


def test_oversized_files_are_refused_before_reading(tmp_path, monkeypatch):
    import hybrid.enhance.weights_schema as schema

    path = tmp_path / "w.pt"
    torch.save({"model": _tiny_state(), "architecture": "EnhanceNet", "kwargs": TINY}, path)
    monkeypatch.setattr(schema, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(WeightsError, match="over the"):
        load_weights_file(path)


# --- safetensors: the header is checked before a tensor is read -----------------------------


def _good_safetensors() -> bytes:
    return encode_safetensors(_tiny_state(), NetworkSpec("EnhanceNet", TINY))


def _header_of(data: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def _with_header(change) -> bytes:
    header, body = _header_of(_good_safetensors())
    change(header)
    return _safetensors(header, body)


def _set(key: str, value: object):
    return lambda h: h.__setitem__(key, value)


def _set_meta(key: str, value: object):
    return lambda h: h["__metadata__"].__setitem__(key, value)


SAFETENSORS_CASES = {
    "truncated": (lambda: _good_safetensors()[:-100], "file holds"),
    "truncated header": (lambda: _good_safetensors()[:40], "truncated"),
    "seven bytes": (lambda: _good_safetensors()[:7], "not a weights file"),
    "padded": (lambda: _good_safetensors() + b"\0" * 8, "file holds"),
    "huge tensor, tiny file": (
        lambda: _safetensors(
            {
                "__metadata__": _meta(),
                "head.weight": {
                    "dtype": "F32",
                    "shape": [10**6, 10**6],
                    "data_offsets": [0, 4 * 10**12],
                },
            },
            b"\0" * 64,
        ),  # fmt: skip
        "file holds",
    ),
    "header length 2**40": (lambda: (2**40).to_bytes(8, "little") + b"{}", "header of"),
    "header over the cap": (
        lambda: _safetensors({"__metadata__": {"pad": " " * MAX_HEADER_BYTES}}, b""),
        "header of",
    ),
    "deeply nested header": (
        lambda: (lambda h: len(h).to_bytes(8, "little") + h)(b'{"a":' + b"[" * 200_000),
        "not valid JSON",
    ),
    "duplicate keys": (
        lambda: (lambda h: len(h).to_bytes(8, "little") + h)(b'{"a": 1, "a": 2}'),
        "not valid JSON",
    ),
    "integer dtype": (
        lambda: _with_header(lambda h: h["head.bias"].__setitem__("dtype", "I32")),
        "not a float",
    ),
    "byte range not the shape": (
        lambda: _with_header(lambda h: h["head.bias"].__setitem__("shape", [7])),
        "do not hold",
    ),
    "overlapping tensors": (
        lambda: _with_header(
            lambda h: h["head.bias"].__setitem__(
                "data_offsets",
                [0, h["head.bias"]["data_offsets"][1] - h["head.bias"]["data_offsets"][0]],
            )
        ),
        "does not start where",
    ),
    "malformed entry": (lambda: _with_header(_set("head.bias", [1, 2])), "malformed"),
    "negative shape": (
        lambda: _with_header(lambda h: h["head.bias"].__setitem__("shape", [-8])),
        "malformed shape",
    ),
    "no metadata": (lambda: _with_header(lambda h: h.pop("__metadata__")), "metadata format"),
    "metadata value not a string": (
        lambda: _with_header(_set_meta("kwargs", {"channels": 8})),
        "strings",
    ),
    "foreign format": (lambda: _with_header(_set_meta("format", "other/1")), "metadata format"),
    "unknown metadata key": (lambda: _with_header(_set_meta("exec", "print(1)")), "metadata keys"),
    "kwargs not JSON": (lambda: _with_header(_set_meta("kwargs", "{channels")), "not JSON"),
    "kwargs not an object": (lambda: _with_header(_set_meta("kwargs", "[8, 1]")), "JSON object"),
    "unknown architecture": (
        lambda: _with_header(_set_meta("architecture", "EvilNet")),
        "unknown architecture",
    ),
    "absurd channels": (
        lambda: _with_header(_set_meta("kwargs", json.dumps({"channels": 10**9, "blocks": 1}))),
        "channels must be an integer 1..1024",
    ),
    "kwargs of another network": (
        lambda: _with_header(_set_meta("kwargs", json.dumps({"channels": 16, "blocks": 1}))),
        "do not fit",
    ),
    "missing tensor": (
        lambda: encode_safetensors(
            {k: v for k, v in _tiny_state().items() if k != "tail.bias"},
            NetworkSpec("EnhanceNet", TINY),
        ),
        "missing 'tail.bias'",
    ),
}


@pytest.mark.parametrize("case", sorted(SAFETENSORS_CASES))
def test_malformed_safetensors_are_refused(tmp_path, case):
    make, message = SAFETENSORS_CASES[case]
    path = tmp_path / "w.safetensors"
    path.write_bytes(make())
    with _Budget() as budget, pytest.raises(WeightsError, match=message) as info:
        load_weights_file(path)
    budget.assert_small()
    assert "\n" not in str(info.value)


def test_safetensors_refuses_what_the_package_also_refuses(tmp_path):
    """The package's own caps agree with ours (header length, coverage of the data)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    for bad in (SAFETENSORS_CASES["truncated"][0](), SAFETENSORS_CASES["header length 2**40"][0]()):
        with pytest.raises(SafetensorError):
            load(bad)


# --- the front doors: CLI exit 2, the API, hybrid train --init ------------------------------


def _jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "x.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(path, quality=50)
    return path


@pytest.mark.parametrize("kind", ["safetensors", "torch"])
def test_cli_decode_with_bad_weights_exits_2_with_one_line(tmp_path, kind):
    from hybrid.cli import cli

    if kind == "safetensors":
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(SAFETENSORS_CASES["absurd channels"][0]())
        expected = "channels must be an integer 1..1024"
    else:
        bad = tmp_path / "bad.pt"
        torch.save({"model": [1, 2], "architecture": "EnhanceNet", "kwargs": TINY}, bad)
        expected = "not a dict"
    out = tmp_path / "y.png"
    args = ["decode", str(_jpeg(tmp_path)), "-o", str(out), "--enhance", "--weights", str(bad)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert "\n" not in err and err.startswith("hybrid: error: ") and expected in err, err
    assert not out.exists()


def test_api_decode_with_bad_weights_raises_weights_error(tmp_path):
    import hybrid

    bad = tmp_path / "bad.pt"
    torch.save({"architecture": "EnhanceNet", "kwargs": TINY}, bad)
    with pytest.raises(WeightsError, match="no 'model' state dict"):
        hybrid.decode(_jpeg(tmp_path).read_bytes(), enhance=True, weights=bad)


def test_train_init_reads_weights_through_the_same_checks(tmp_path):
    from training.loop import init_shape, read_init_file

    exported = tmp_path / "w.safetensors"
    kwargs = {"channels": 8, "blocks": 2, "low_blocks": 1, "low_channels": 8}
    exported.write_bytes(
        encode_safetensors(EnhanceNet(**kwargs).state_dict(), NetworkSpec("EnhanceNet", kwargs))
    )
    assert init_shape(str(exported)) == kwargs
    bare = tmp_path / "bare.pt"
    torch.save(_tiny_state(), bare)
    assert init_shape(str(bare)) == {} and set(read_init_file(str(bare)).state) == set(
        _tiny_state()
    )
    bad = tmp_path / "bad.pt"
    torch.save({"model": {"head.weight": "x"}, "config": json.dumps(TINY)}, bad)
    with pytest.raises(ValueError, match="cannot read --init weights"):
        init_shape(str(bad))
    bomb = tmp_path / "bomb.pt"
    bomb.write_bytes(_rezip(_torch_zip(tmp_path), deflate=True))
    with pytest.raises(WeightsError, match="compressed"):
        read_init_file(str(bomb))
