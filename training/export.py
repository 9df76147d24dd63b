"""Turn a training checkpoint into a released, verified registry entry."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from hybrid.enhance.registry import MANIFEST_NAME, ModelEntry, load_manifest, sha256_file, weights_dir


def export_checkpoint(
    checkpoint: str | Path,
    model_id: str,
    *,
    out_dir: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    licence: str = "MIT (weights); trained on research-use images, see training data",
    description: str = "",
    task: str = "enhance",
    inference: dict[str, Any] | None = None,
    force: bool = False,
) -> ModelEntry:
    """Write ``<out_dir>/<model_id>.pt`` (float32 state dict + architecture) and its manifest entry.

    The manifest is rewritten atomically; an existing entry with the same id is replaced only
    with ``force``.
    """
    out = Path(out_dir) if out_dir else weights_dir()
    out.mkdir(parents=True, exist_ok=True)
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    cfg = json.loads(ckpt["config"]) if "config" in ckpt else {}
    kwargs = {"channels": int(cfg["channels"]), "blocks": int(cfg["blocks"])} if cfg else dict(ckpt["kwargs"])
    state = {k: v.float().contiguous() for k, v in ckpt["model"].items()}
    entries = load_manifest(out)
    if model_id in entries and not force:
        raise FileExistsError(f"model {model_id!r} is already in the manifest (use --force)")
    file_name = f"{model_id}.pt"
    tmp = out / (file_name + ".tmp")
    torch.save({"model": state, "architecture": "EnhanceNet", "kwargs": kwargs}, tmp)
    os.replace(tmp, out / file_name)
    recipe = dict(training or {})
    if cfg:
        recipe.setdefault("config", {k: cfg[k] for k in ("train_dir", "iterations", "batch_size", "crop",
                                                          "lr", "loss", "consistency", "seed") if k in cfg})
        recipe.setdefault("iterations_done", int(ckpt.get("iteration", 0)))
    entry = ModelEntry(
        id=model_id,
        file=file_name,
        sha256=sha256_file(out / file_name),
        architecture="EnhanceNet",
        kwargs=kwargs,
        parameters=int(sum(v.numel() for v in state.values())),
        task=task,
        licence=licence,
        training=recipe,
        metrics=dict(metrics or {}),
        description=description,
        inference=dict(inference or {}),
    )
    entries[model_id] = entry
    manifest = {"format": 1, "models": [asdict(e) for e in sorted(entries.values(), key=lambda e: e.id)]}
    tmp_manifest = out / (MANIFEST_NAME + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp_manifest, out / MANIFEST_NAME)
    return entry
