"""The verified registry of ONNX exports: ``weights/onnx.json`` next to ``manifest.json``.

Each entry names a released model id (:mod:`hybrid.enhance.registry`), the sha256 of the
safetensors file it was exported from, and per variant (``fp32``, ``int8`` static QDQ) the
``.onnx`` file, its sha256 and its measured largest difference from the torch network.
``hybrid export-onnx MODEL_ID -o weights`` writes the files and the entry
(:mod:`hybrid.enhance.onnx_export`). Loading checks the hash of the very bytes it hands to
ONNX Runtime. Importing this module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hybrid.enhance.registry import inference_knots, inference_sr_strength, weights_dir
from hybrid.errors import WeightsError

ONNX_MANIFEST_NAME = "onnx.json"
#: Variants an export writes: float32, and int8 weights and activations (static QDQ).
VARIANTS = ("fp32", "int8")


@dataclass(frozen=True)
class OnnxFile:
    """One exported variant: ``file`` (a plain name in the manifest's folder), its sha256,
    and the largest and mean absolute difference of its output from the torch network's on
    held-out JPEG crops (the entry's ``calibration["checked_on"]``), on the network's own
    scale (0..255 residual for EnhanceNet, 0..1 RGB for SRNet)."""

    file: str
    sha256: str
    max_abs_diff: float
    mean_abs_diff: float

    def __post_init__(self) -> None:
        path = PurePosixPath(self.file)
        if path.is_absolute() or len(path.parts) != 1 or not self.file.endswith(".onnx"):
            raise WeightsError(f"onnx manifest: {self.file!r} is not a plain .onnx file name")
        if len(self.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in self.sha256):
            raise WeightsError(f"onnx manifest: {self.file}: sha256 must be 64 lowercase hex")


@dataclass(frozen=True)
class OnnxEntry:
    """The ONNX export of one released model.

    Attributes:
        id: the registry model id.
        source_sha256: sha256 of the safetensors file the graph was exported from.
        architecture: ``EnhanceNet`` or ``SRNet``; inputs ``x`` float32 (N, 3, H, W) and
            ``cond`` float32 (N, COND_DIM), output ``y``, as the torch module's forward.
        receptive_radius: the network's, for the tiler's overlap.
        size_multiple: H and W of ``x`` must be multiples of this (8 for EnhanceNet, 16 for
            SRNet, whose export fixes its internal padding).
        inference: the registry entry's inference settings (``flips``, ``scale`` ...).
        opset: ONNX opset of the graph.
        variants: ``fp32`` and ``int8`` files.
        calibration: how the int8 variant was calibrated (data, crops, seed).
    """

    id: str
    source_sha256: str
    architecture: str
    receptive_radius: int
    size_multiple: int
    variants: dict[str, OnnxFile]
    opset: int = 18
    inference: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        inference_knots(self.inference, f"onnx manifest entry {self.id!r}")  # checked at load
        inference_sr_strength(self.inference, f"onnx manifest entry {self.id!r}")

    @property
    def fade_out(self) -> tuple[float, float]:
        """The model's near-lossless fade-out knots (as
        :func:`hybrid.enhance.registry.fade_out_steps` reads them from the registry entry)."""
        return inference_knots(self.inference, f"onnx manifest entry {self.id!r}")

    @property
    def sr_strength(self) -> float | None:
        """A super-resolution model's share kept for files that record none for it (as
        :func:`hybrid.enhance.registry.sr_default_strength` reads it from the registry
        entry), or None: the full output."""
        return inference_sr_strength(self.inference, f"onnx manifest entry {self.id!r}")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def load_onnx_manifest(directory: Path | None = None) -> dict[str, OnnxEntry]:
    """Entries of ``onnx.json`` by model id (empty when there is none). WeightsError when
    it is malformed."""
    path = (directory or weights_dir()) / ONNX_MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        entries = []
        for item in raw["models"]:
            variants = {k: OnnxFile(**v) for k, v in item.pop("variants").items()}
            entries.append(OnnxEntry(variants=variants, **item))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WeightsError(f"onnx manifest {path} is malformed: {exc}") from None
    return {e.id: e for e in entries}


def write_onnx_manifest(entries: dict[str, OnnxEntry], directory: Path) -> Path:
    """Write ``entries`` (sorted by id) as ``directory/onnx.json``, atomically."""
    path = directory / ONNX_MANIFEST_NAME
    body = {"format": 1, "models": [entries[k].as_json() for k in sorted(entries)]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def onnx_entry(model_id: str, directory: Path | None = None) -> OnnxEntry:
    """The entry of ``model_id``; WeightsError naming the command that makes it if absent."""
    entries = load_onnx_manifest(directory)
    if model_id not in entries:
        raise WeightsError(
            f"no ONNX export of {model_id!r} is installed (make it with "
            f"`hybrid export-onnx {model_id} -o {directory or weights_dir()}`)"
        )
    return entries[model_id]


def read_onnx_bytes(model_id: str, variant: str, directory: Path | None = None) -> bytes:
    """The verified bytes of ``model_id``'s ``variant`` (``fp32`` or ``int8``).

    Raises:
        WeightsError: no entry, an unknown variant, a missing file or a failed sha256.
    """
    directory = directory or weights_dir()
    entry = onnx_entry(model_id, directory)
    if variant not in entry.variants:
        raise WeightsError(f"{model_id!r} has no ONNX variant {variant!r} ({', '.join(VARIANTS)})")
    item = entry.variants[variant]
    path = directory / item.file
    if not path.is_file():
        raise WeightsError(
            f"ONNX file for {model_id!r} is missing: {path} (make it with "
            f"`hybrid export-onnx {model_id} -o {directory}`)"
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise WeightsError(f"ONNX file {path} fails its sha256 check (tampered or corrupt)")
    return data
