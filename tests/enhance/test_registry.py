"""Weights registry: every released entry verified against its file; tampering refused."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from hybrid.enhance.nets import ARCHITECTURES, EnhanceNet
from hybrid.enhance.registry import (
    ModelEntry,
    load_manifest,
    load_model,
    load_weights_file,
    read_weights,
    sha256_file,
    weights_dir,
)
from hybrid.enhance.safetensors_file import encode_safetensors
from hybrid.enhance.weights_schema import NetworkSpec
from hybrid.errors import WeightsError
from tests.helpers.registry import register


def test_every_manifest_entry_matches_its_file():
    entries = load_manifest()
    for entry in entries.values():
        path = weights_dir() / entry.file
        assert path.is_file(), entry.id
        assert path.suffix == ".safetensors", entry.id  # released weights hold no pickle
        assert sha256_file(path) == entry.sha256, entry.id
        weights = read_weights(path)
        assert weights.spec == NetworkSpec(entry.architecture, entry.kwargs), entry.id
        n = sum(v.numel() for v in weights.state.values())
        assert n == entry.parameters, entry.id
        net = load_model(entry.id)
        assert isinstance(net, ARCHITECTURES[entry.architecture])
        assert entry.licence and entry.training and entry.metrics


def _write_registry(tmp_path: Path) -> Path:
    net = EnhanceNet(channels=8, blocks=1)
    path = tmp_path / "tiny.safetensors"
    spec = NetworkSpec("EnhanceNet", {"channels": 8, "blocks": 1})
    path.write_bytes(encode_safetensors(net.state_dict(), spec))
    entry = {
        "id": "tiny",
        "file": path.name,
        "sha256": sha256_file(path),
        "architecture": "EnhanceNet",
        "kwargs": {"channels": 8, "blocks": 1},
        "parameters": sum(p.numel() for p in net.parameters()),
        "licence": "MIT",
        "training": {"data": "none"},
        "metrics": {"none": 0},
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "models": [entry]}))
    return path


def test_load_verified_model(tmp_path):
    _write_registry(tmp_path)
    assert isinstance(load_model("tiny", tmp_path), EnhanceNet)


def test_tampered_file_refused(tmp_path):
    path = _write_registry(tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_model("tiny", tmp_path)


def test_manifest_and_file_must_agree_on_the_architecture(tmp_path):
    _write_registry(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["models"][0]["kwargs"] = {"channels": 8, "blocks": 1, "cond_hidden": 64}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="manifest entry 'tiny' says"):
        load_model("tiny", tmp_path)


def _torch_weights(kwargs: dict) -> dict:
    """What a legacy torch (pickle) weights file holds: an 8-channel, 1-block EnhanceNet's
    state, saying it is an EnhanceNet of ``kwargs``."""
    return {"model": EnhanceNet(8, 1).state_dict(), "architecture": "EnhanceNet", "kwargs": kwargs}


def test_legacy_torch_files_in_a_registry_still_load(tmp_path):
    kwargs = {"channels": 8, "blocks": 1}
    entry = {"id": "tiny", "file": "tiny.pt", "architecture": "EnhanceNet", "kwargs": kwargs,
             "parameters": 1}  # fmt: skip
    register(tmp_path, [entry], {"tiny.pt": _torch_weights(kwargs)})
    assert isinstance(load_model("tiny", tmp_path), EnhanceNet)


def test_missing_and_unknown(tmp_path):
    path = _write_registry(tmp_path)
    with pytest.raises(WeightsError, match="unknown model"):
        load_model("nope", tmp_path)
    path.unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_model("tiny", tmp_path)
    with pytest.raises(WeightsError, match="not found"):
        load_weights_file(tmp_path / "absent.pt")


@pytest.mark.parametrize("name", ["../evil.pt", "/etc/passwd", "sub/x.pt", ".."])
def test_manifest_paths_cannot_escape(name):
    with pytest.raises(WeightsError):
        ModelEntry(
            id="x", file=name, sha256="0" * 64, architecture="EnhanceNet", kwargs={}, parameters=1
        )


class _Boom:
    """Unpickling this would create a directory: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_malicious_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": _Boom(str(marker)), "architecture": "EnhanceNet"}, path)
    with pytest.raises(WeightsError):
        load_weights_file(path)
    path.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(WeightsError):
        load_weights_file(path)
    assert not marker.exists()


def test_wrong_shapes_refused(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(_torch_weights({"channels": 16, "blocks": 1}), path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_weights_file(path)
