"""Turn a training checkpoint into a released, verified registry entry."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from hybrid.enhance.registry import (
    MANIFEST_NAME,
    ModelEntry,
    load_manifest,
    sha256_file,
    weights_dir,
)
from hybrid.enhance.safetensors_file import encode_safetensors
from hybrid.enhance.torch_file import load_torch_zip, weights_from_object
from hybrid.errors import WeightsError


def export_checkpoint(
    checkpoint: str | Path,
    model_id: str,
    *,
    out_dir: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    licence: str = "MIT (weights); trained on research-use images, see training data",
    description: str = "",
    task: str | None = None,
    inference: dict[str, Any] | None = None,
    force: bool = False,
    half: bool = False,
    content: str = "photo",
) -> ModelEntry:
    """Write ``<out_dir>/<model_id>.safetensors`` (float32 tensors, the architecture in its
    metadata; see :mod:`hybrid.enhance.safetensors_file`) and its manifest entry.

    The checkpoint is read on the bounded torch path (:mod:`hybrid.enhance.torch_file`); a
    malformed one is a WeightsError. The architecture, its kwargs and the task come from
    the checkpoint's training config
    (``SRNet`` and task ``"sr"`` for a super-resolution run, whose entry also records
    ``inference.scale``); ``task`` and ``inference`` given here override them. The manifest
    is rewritten atomically; an existing entry with the same id is replaced only with
    ``force``. ``half`` stores the tensors as float16 (half the file; the registry loads them
    into the float32 network, and bf16 inference rounds weights further anyway). ``content``
    is the kind of image it was trained for (``photo`` or ``screen``; see
    :data:`hybrid.enhance.registry.DEFAULT_CONTENT_MODELS`).
    """
    out = Path(out_dir) if out_dir else weights_dir()
    out.mkdir(parents=True, exist_ok=True)
    ckpt = load_torch_zip(Path(checkpoint), str(checkpoint))
    weights = weights_from_object(ckpt, str(checkpoint))
    if weights.spec is None:
        raise WeightsError(f"{checkpoint} records no architecture (no config or kwargs)")
    architecture, kwargs = weights.spec.architecture, dict(weights.spec.kwargs)
    cfg = json.loads(ckpt["config"]) if "config" in ckpt and "architecture" not in ckpt else {}
    iteration = ckpt.get("iteration", 0)
    if isinstance(iteration, bool) or not isinstance(iteration, int):
        raise WeightsError(f"{checkpoint}: iteration {iteration!r} is not an integer")
    if task is None:
        default = "sr" if architecture == "SRNet" else "enhance"
        task = str(cfg.get("task", default))
    if inference is None and task == "sr":
        inference = {"scale": int(kwargs.get("scale", 2))}
        trained = float(cfg.get("scale", inference["scale"]))
        if trained != inference["scale"]:
            inference["trained_scale"] = trained  # e.g. 1.5: the downscale it was trained for
    dtype = torch.float16 if half else torch.float32
    state = {k: v.to(dtype).contiguous() for k, v in weights.state.items()}
    entries = load_manifest(out)
    if model_id in entries and not force:
        raise FileExistsError(f"model {model_id!r} is already in the manifest (use --force)")
    file_name = f"{model_id}.safetensors"
    tmp = out / (file_name + ".tmp")
    tmp.write_bytes(encode_safetensors(state, weights.spec))
    os.replace(tmp, out / file_name)
    recipe = dict(training or {})
    if cfg:
        keys = ("task", "train_dir", "iterations", "batch_size", "crop", "lr", "loss", "seed")
        keys += ("scale",) if task == "sr" else ("consistency",)
        recipe.setdefault("config", {k: cfg[k] for k in keys if k in cfg})
        recipe.setdefault("iterations_done", iteration)
    entry = ModelEntry(
        id=model_id,
        file=file_name,
        sha256=sha256_file(out / file_name),
        architecture=architecture,
        kwargs=kwargs,
        parameters=int(sum(v.numel() for v in state.values())),
        task=task,
        licence=licence,
        training=recipe,
        metrics=dict(metrics or {}),
        description=description,
        inference=dict(inference or {}),
        content=content,
    )
    entries[model_id] = entry
    manifest = {
        "format": 1,
        "models": [asdict(e) for e in sorted(entries.values(), key=lambda e: e.id)],
    }
    tmp_manifest = out / (MANIFEST_NAME + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp_manifest, out / MANIFEST_NAME)
    return entry
