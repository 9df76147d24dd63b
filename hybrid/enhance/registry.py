"""The verified weights registry (after torchvision's ``Weights`` enums).

``weights/manifest.json`` lists every released network: id, file, sha256, architecture and
its keyword arguments, parameter count, training data and recipe, measured metrics, licence.
Loading checks the hash before unpickling anything and unpickles with
``torch.load(weights_only=True)``, so a tampered or malicious file is refused, never run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hybrid.errors import WeightsError

MANIFEST_NAME = "manifest.json"
#: Model used when neither the caller nor the file's hybrid metadata names one.
DEFAULT_ENHANCE_MODEL = "enhance-fast-v3"


def weights_dir() -> Path:
    """Folder holding the manifest: ``$HYBRID_WEIGHTS_DIR`` or the checkout's ``weights/``."""
    env = os.environ.get("HYBRID_WEIGHTS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "weights"


@dataclass(frozen=True)
class ModelEntry:
    """One released network, as recorded in the manifest."""

    id: str
    file: str
    sha256: str
    architecture: str
    kwargs: dict[str, Any]
    parameters: int
    task: str = "enhance"
    licence: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    #: Inference settings of this release, e.g. ``{"flips": 4}`` for a self-ensembled variant
    #: that shares its weights file with another entry.
    inference: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        flips = self.inference.get("flips", 1)
        if flips not in (1, 2, 4):
            raise WeightsError(f"manifest entry {self.id!r}: inference.flips must be 1, 2 or 4")
        path = PurePosixPath(self.file)
        if path.is_absolute() or len(path.parts) != 1 or self.file in ("", ".", ".."):
            raise WeightsError(f"manifest entry {self.id!r}: file must be a plain name inside weights/")
        if len(self.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in self.sha256):
            raise WeightsError(f"manifest entry {self.id!r}: sha256 must be 64 lowercase hex digits")


def load_manifest(directory: Path | None = None) -> dict[str, ModelEntry]:
    """Entries of the manifest by id (empty when there is no manifest)."""
    directory = directory or weights_dir()
    path = directory / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        entries = [ModelEntry(**item) for item in raw["models"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"weights manifest {path} is malformed: {exc}") from None
    return {e.id: e for e in entries}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _build(architecture: str, kwargs: dict[str, Any], state: dict, source: str):
    import torch

    from hybrid.enhance.nets import ARCHITECTURES

    if architecture not in ARCHITECTURES:
        raise WeightsError(f"{source}: unknown architecture {architecture!r}")
    try:
        net = ARCHITECTURES[architecture](**kwargs)
        net.load_state_dict(state)
    except (TypeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{source}: weights do not fit {architecture}({kwargs}): {first}") from None
    net.eval()
    net.to(memory_format=torch.channels_last)
    for p in net.parameters():
        p.requires_grad_(False)
    assert isinstance(net, torch.nn.Module)
    return net


def _torch_load(path: Path) -> dict:
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"cannot load weights {path}: {first}") from None
    if not isinstance(obj, dict):
        raise WeightsError(f"weights file {path} does not hold a state dict")
    return obj


def inference_settings(model_id: str, directory: Path | None = None) -> dict[str, Any]:
    """The manifest's inference settings for ``model_id`` (empty for user weights files)."""
    entry = load_manifest(directory).get(model_id)
    return dict(entry.inference) if entry else {}


def load_model(model_id: str, directory: Path | None = None):
    """Build the released network ``model_id`` after verifying its file's sha256."""
    directory = directory or weights_dir()
    entries = load_manifest(directory)
    if model_id not in entries:
        known = ", ".join(sorted(entries)) or "none installed"
        raise WeightsError(f"unknown model {model_id!r} (available: {known})")
    entry = entries[model_id]
    path = directory / entry.file
    if not path.is_file():
        raise WeightsError(f"weights file for {model_id!r} is missing: {path}")
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise WeightsError(f"weights file {path} fails its sha256 check (tampered or corrupt)")
    state = _torch_load(path)
    return _build(entry.architecture, entry.kwargs, state.get("model", state), str(path))


def architecture_of_config(cfg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(architecture name, kwargs) of the network a training run's config (the JSON saved in
    its checkpoints) describes: ``SRNet`` for task ``"sr"`` (of the integer factor at or above
    the run's downscale, e.g. 2 for 1.5), else ``EnhanceNet``."""
    kwargs: dict[str, Any] = {"channels": int(cfg["channels"]), "blocks": int(cfg["blocks"])}
    if cfg.get("task", "enhance") == "sr":
        return "SRNet", {**kwargs, "scale": math.ceil(float(cfg.get("scale", 2)))}
    if int(cfg.get("low_blocks", 0)):
        kwargs.update(low_blocks=int(cfg["low_blocks"]), low_channels=int(cfg.get("low_channels", 64)))
    return "EnhanceNet", kwargs


def load_weights_file(path: str | Path):
    """Build a network from a user weights file (``hybrid export`` output or a training
    checkpoint), which records its architecture; no hash is known, so none is checked."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    obj = _torch_load(path)
    if "architecture" in obj:
        return _build(str(obj["architecture"]), dict(obj.get("kwargs", {})), obj["model"], str(path))
    if "config" in obj and "model" in obj:
        architecture, kwargs = architecture_of_config(json.loads(obj["config"]))
        return _build(architecture, kwargs, obj["model"], str(path))
    raise WeightsError(f"{path} records no architecture: export it with `hybrid export`")
