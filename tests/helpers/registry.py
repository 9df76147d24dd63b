"""Writing throw-away weights registries for tests (test helper, not product code)."""

from __future__ import annotations

import json
from pathlib import Path


def register(directory: Path, entries: list[dict], files: dict[str, dict]) -> None:
    """Save ``files`` (name -> state dict) with torch and write a manifest of ``entries``
    (sha256, kwargs and parameters filled in when absent)."""
    import torch

    from hybrid.enhance.registry import sha256_file

    for name, state in files.items():
        torch.save(state, directory / name)
    for entry in entries:
        entry.setdefault("sha256", sha256_file(directory / entry["file"]))
        entry.setdefault("kwargs", {})
        entry.setdefault("parameters", 0)
    (directory / "manifest.json").write_text(json.dumps({"format": 1, "models": entries}))


def register_tiny_enhancer(directory: Path) -> None:
    """An untrained 1-block EnhanceNet installed as the default enhancement model."""
    from hybrid.enhance.nets import EnhanceNet
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    kwargs = {"channels": 8, "blocks": 1}
    net = EnhanceNet(**kwargs)
    state = {"model": net.state_dict(), "architecture": "EnhanceNet", "kwargs": kwargs}
    entry = {"id": DEFAULT_ENHANCE_MODEL, "file": "enhance.pt", "architecture": "EnhanceNet",
             "kwargs": kwargs, "task": "enhance"}  # fmt: skip
    register(directory, [entry], {"enhance.pt": state})


def register_content_enhancers(directory: Path, *, screen: bool = True) -> None:
    """Untrained 1-block EnhanceNets as the photo default and (``screen``) as the screen
    default of :data:`hybrid.enhance.registry.DEFAULT_CONTENT_MODELS`, with different
    weights so that their outputs differ."""
    import torch

    from hybrid.enhance.nets import EnhanceNet
    from hybrid.enhance.registry import DEFAULT_CONTENT_MODELS

    kwargs = {"channels": 8, "blocks": 1}
    entries, files = [], {}
    for seed, content in enumerate(("photo", "screen") if screen else ("photo",)):
        torch.manual_seed(seed)
        net = EnhanceNet(**kwargs)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        name = f"{content}.pt"
        files[name] = {"model": net.state_dict(), "architecture": "EnhanceNet", "kwargs": kwargs}
        entries.append({"id": DEFAULT_CONTENT_MODELS[content], "file": name,
                        "architecture": "EnhanceNet", "kwargs": kwargs, "task": "enhance",
                        "content": content})  # fmt: skip
    register(directory, entries, files)
