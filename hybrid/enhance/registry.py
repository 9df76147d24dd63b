"""The verified weights registry (after torchvision's ``Weights`` enums).

``weights/manifest.json`` lists every released network: id, file, sha256, architecture and
its keyword arguments, parameter count, training data and recipe, measured metrics, licence.
Released files are safetensors (:mod:`hybrid.enhance.safetensors_file`): no pickle, a
bounded header, the architecture in its metadata. Loading checks the hash of the very bytes
it parses, then that the file's architecture is the manifest's and its tensors fit it.
User files (``--weights``, ``--init``) are safetensors or, on a bounded legacy path, torch
zip files (:mod:`hybrid.enhance.torch_file`); every file is size-capped before it is read
(:data:`~hybrid.enhance.weights_schema.MAX_FILE_BYTES`) and ends in a checked
:class:`~hybrid.enhance.weights_schema.WeightsFile`, so a malformed one is a
:class:`~hybrid.errors.WeightsError` (exit code 2), never an internal error.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hybrid.codec.metadata import CONTENT_CODES
from hybrid.enhance.taper import TAPER_STEPS
from hybrid.errors import MissingModelWarning, WeightsError

MANIFEST_NAME = "manifest.json"
#: Model used when neither the caller nor the file's hybrid metadata names one, and for
#: photographs.
DEFAULT_ENHANCE_MODEL = "enhance-fast-v4"
#: The enhancement model per content class (the classes of the APP11 record,
#: :data:`hybrid.codec.metadata.CONTENT_CODES`), see :func:`default_model_for`. Each must be
#: a manifest entry of that ``content`` when installed (a test checks).
DEFAULT_CONTENT_MODELS: dict[str, str] = {
    "photo": DEFAULT_ENHANCE_MODEL,
    "screen": "enhance-screen-v1",
}


_CHECKOUT_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def weights_dir() -> Path:
    """Folder holding the manifest: ``$HYBRID_WEIGHTS_DIR`` or the checkout's ``weights/``."""
    env = os.environ.get("HYBRID_WEIGHTS_DIR")
    if env:
        return Path(env)
    return _CHECKOUT_WEIGHTS


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
    #: The kind of image it was trained on: ``photo`` or ``screen`` (text, UI, graphics).
    content: str = "photo"

    def __post_init__(self) -> None:
        if self.content not in CONTENT_CODES:
            known = ", ".join(CONTENT_CODES)
            raise WeightsError(f"manifest entry {self.id!r}: content must be one of {known}")
        flips = self.inference.get("flips", 1)
        if flips not in (1, 2, 4):
            raise WeightsError(f"manifest entry {self.id!r}: inference.flips must be 1, 2 or 4")
        inference_knots(self.inference, f"manifest entry {self.id!r}")  # checked here
        inference_sr_strength(self.inference, f"manifest entry {self.id!r}")
        path = PurePosixPath(self.file)
        if path.is_absolute() or len(path.parts) != 1 or self.file in ("", ".", ".."):
            raise WeightsError(
                f"manifest entry {self.id!r}: file must be a plain name inside weights/"
            )
        if len(self.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in self.sha256):
            raise WeightsError(
                f"manifest entry {self.id!r}: sha256 must be 64 lowercase hex digits"
            )


def inference_knots(inference: dict[str, Any], where: str) -> tuple[float, float]:
    """The fade-out knots ``(lo, hi)`` an entry's inference settings carry
    (``inference["fade_out"]``, two increasing non-negative finite quantizer steps), else
    :data:`hybrid.enhance.taper.TAPER_STEPS`; the manifest and onnx.json entries both read
    them here. WeightsError naming ``where`` when they are malformed."""
    if "fade_out" not in inference:
        return TAPER_STEPS
    knots = inference["fade_out"]
    numbers = (
        isinstance(knots, (list, tuple))
        and len(knots) == 2
        and all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in knots)
    )
    if not numbers or not 0.0 <= float(knots[0]) < float(knots[1]) < float("inf"):
        raise WeightsError(
            f"{where}: inference.fade_out must be two increasing non-negative quantizer "
            "steps [lo, hi]"
        )
    return float(knots[0]), float(knots[1])


def inference_sr_strength(inference: dict[str, Any], where: str) -> float | None:
    """The share (0..1) of a super-resolution network's change over the bicubic upscale that
    a decode keeps when the file records no strength for this model
    (``inference["strength"]``, measured per model by ``scripts/fit_sr_strength.py``), or
    None (the full output); the manifest and onnx.json entries both read it here.
    WeightsError naming ``where`` when it is malformed."""
    if "strength" not in inference:
        return None
    value = inference["strength"]
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not 0.0 <= float(value) <= 1.0
    ):
        raise WeightsError(f"{where}: inference.strength must be a number from 0 to 1")
    return float(value)


def load_manifest(directory: Path | None = None) -> dict[str, ModelEntry]:
    """Entries of the manifest by id (empty when there is no manifest).

    Parsed once per version of the file (its path, size and modification time): every
    enhanced decode asks, and a release, an export or a user's edit is read at once."""
    directory = directory or weights_dir()
    path = directory / MANIFEST_NAME
    try:
        stat = path.stat()
    except OSError:
        return {}
    return dict(_parsed_manifest(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _parsed_manifest(path: str, size: int, mtime_ns: int) -> dict[str, ModelEntry]:
    """The manifest at ``path`` parsed (``size`` and ``mtime_ns`` key the cache)."""
    try:
        raw = json.loads(Path(path).read_text())
        entries = [ModelEntry(**item) for item in raw["models"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"weights manifest {path} is malformed: {exc}") from None
    return {e.id: e for e in entries}


def default_model_for(content: str, directory: Path | None = None, *, warn: bool = True) -> str:
    """The enhancement model for images of ``content`` (a key of
    :data:`DEFAULT_CONTENT_MODELS`): its entry there, or :data:`DEFAULT_ENHANCE_MODEL` when
    that model is not in the manifest, then with a :class:`~hybrid.errors.MissingModelWarning`
    if ``warn``."""
    model = DEFAULT_CONTENT_MODELS[content]
    if model == DEFAULT_ENHANCE_MODEL:
        return model
    entry = load_manifest(directory).get(model)
    if entry is not None and entry.task == "enhance":
        return model
    if not warn:
        return DEFAULT_ENHANCE_MODEL
    warnings.warn(
        f"the {content} enhancement model {model} is not installed: using {DEFAULT_ENHANCE_MODEL}",
        MissingModelWarning,
        stacklevel=2,
    )
    return DEFAULT_ENHANCE_MODEL


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_weights(path: str | os.PathLike[str], *, sha256: str | None = None):
    """The checked contents (a :class:`~hybrid.enhance.weights_schema.WeightsFile`) of a
    weights file: safetensors, or a torch zip on the bounded legacy path.

    Args:
        path: a regular file of at most ``MAX_FILE_BYTES``.
        sha256: when given, the digest the file must have (for safetensors, checked on the
            bytes that are then parsed).

    Raises:
        WeightsError: missing, too large, not a weights file, a torch < 1.6 pickle, a failed
            hash, or any check of the format or the schema.
    """
    from hybrid.enhance.safetensors_file import is_safetensors, read_safetensors
    from hybrid.enhance.torch_file import (
        ZIP_MAGIC,
        is_legacy_pickle,
        load_torch_zip,
        weights_from_object,
    )
    from hybrid.enhance.weights_schema import MAX_FILE_BYTES

    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise WeightsError(f"{source}: {size:,} bytes, over the {MAX_FILE_BYTES:,} allowed")
        with path.open("rb") as fh:
            prefix = fh.read(16)
            # size + 1: a file that grew since stat() is caught, and no buffer of the cap
            rest = fh.read(size - len(prefix) + 1) if is_safetensors(prefix) else b""
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if prefix.startswith(ZIP_MAGIC):
        if sha256 is not None and sha256_file(path) != sha256:
            raise WeightsError(f"weights file {path} fails its sha256 check (tampered or corrupt)")
        return weights_from_object(load_torch_zip(path, source), source)
    if is_legacy_pickle(prefix):
        raise WeightsError(
            f"{source}: a torch < 1.6 pickle file, which hybrid does not read (unpickling can "
            "run code); save it again with a current torch, or use `hybrid export`"
        )
    if not is_safetensors(prefix):
        raise WeightsError(f"{source}: not a weights file (expected safetensors or a torch zip)")
    data = prefix + rest
    if len(data) != size:
        raise WeightsError(f"{source}: the file changed while it was read")
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise WeightsError(f"weights file {path} fails its sha256 check (tampered or corrupt)")
    return read_safetensors(data, source)


def inference_settings(model_id: str, directory: Path | None = None) -> dict[str, Any]:
    """The manifest's inference settings for ``model_id`` (empty for user weights files)."""
    entry = load_manifest(directory).get(model_id)
    return dict(entry.inference) if entry else {}


def fade_out_steps(model_id: str | None, directory: Path | None = None) -> tuple[float, float]:
    """The near-lossless fade-out knots ``(lo, hi)`` of ``model_id`` (mean luma quantizer
    steps: none of the network's change kept at or below ``lo``, all of it from ``hi``): the
    manifest entry's ``inference.fade_out``, measured per model by ``scripts/fit_fade_out.py``,
    else :data:`hybrid.enhance.taper.TAPER_STEPS` (also for user weights files, None)."""
    entry = load_manifest(directory).get(model_id) if model_id else None
    if entry is None:
        return TAPER_STEPS
    return inference_knots(entry.inference, f"manifest entry {entry.id!r}")


def sr_default_strength(model_id: str, directory: Path | None = None) -> float | None:
    """The share of super-resolution model ``model_id``'s change kept for a file whose record
    carries no strength for it (:func:`inference_sr_strength` of its manifest entry), or None
    (the full output; also for an id the manifest lacks)."""
    entry = load_manifest(directory).get(model_id)
    if entry is None:
        return None
    return inference_sr_strength(entry.inference, f"manifest entry {entry.id!r}")


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
    from hybrid.enhance.weights_schema import WeightsFile, build_network, check_state, make_spec

    spec = make_spec(entry.architecture, entry.kwargs, f"manifest entry {model_id!r}")
    weights = read_weights(path, sha256=entry.sha256)
    if weights.spec is None:  # a bare state dict (test registries): the manifest's spec
        weights = WeightsFile(state=check_state(weights.state, spec, str(path)), spec=spec)
    if weights.spec != spec:
        raise WeightsError(
            f"{path} holds {weights.spec.architecture}({dict(weights.spec.kwargs)}), manifest "
            f"entry {model_id!r} says {spec.architecture}({dict(spec.kwargs)})"
        )
    return build_network(weights, str(path))


def architecture_of_config(cfg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(architecture name, kwargs) of the network a training run's config (the JSON saved in
    its checkpoints) describes: ``SRNet`` for task ``"sr"`` (of the integer factor at or above
    the run's downscale, e.g. 2 for 1.5), else ``EnhanceNet``; WeightsError when malformed."""
    from hybrid.enhance.torch_file import spec_of_config

    spec = spec_of_config(cfg, "training config")
    return spec.architecture, dict(spec.kwargs)


def load_weights_file(path: str | os.PathLike[str]):
    """Build a network from a user weights file (``hybrid export`` output, an older exported
    torch file or a training checkpoint), which records its architecture; no hash is known,
    so none is checked. Every failure is a WeightsError."""
    from hybrid.enhance.weights_schema import build_network

    return build_network(read_weights(path), str(path))
