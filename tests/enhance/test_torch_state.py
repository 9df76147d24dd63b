"""Library calls leave torch's process-wide settings as they found them (issue 14):
``threads=`` and the deterministic flag hold only while the network runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybrid
from hybrid.enhance.torch_state import torch_settings
from tests.helpers.registry import register


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """The default enhancement model and the x2 super-resolution model, tiny and untrained."""
    import hybrid.enhance as enhance_pkg
    from hybrid.enhance.nets import EnhanceNet, SRNet
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(enhance_pkg, "_CACHE", {})
    entries, files = [], {}
    for model_id, cls, task, kwargs in (
        (DEFAULT_ENHANCE_MODEL, EnhanceNet, "enhance", {"channels": 8, "blocks": 1}),
        ("sr-fast-v1", SRNet, "sr", {"channels": 8, "blocks": 1, "scale": 2}),
    ):
        name = f"{model_id}.pt"
        files[name] = {"model": cls(**kwargs).state_dict(), "architecture": cls.__name__,
                       "kwargs": kwargs}  # fmt: skip
        entries.append({"id": model_id, "file": name, "architecture": cls.__name__,
                        "kwargs": kwargs, "task": task})  # fmt: skip
    register(tmp_path, entries, files)
    return tmp_path


@pytest.fixture
def found_state():
    """torch set to 3 threads and not deterministic (unlike what a decode asks for); the
    test's starting state, put back afterwards."""
    saved = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(3)
    torch.use_deterministic_algorithms(False)
    yield 3, False
    torch.set_num_threads(saved[0])
    torch.use_deterministic_algorithms(saved[1])


def state() -> tuple[int, bool]:
    return torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()


def sample_jpeg(scale: float | None = None) -> bytes:
    y, x = np.mgrid[0:40, 0:56]
    rgb = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.uint8)
    return hybrid.encode(rgb, quality=40, scale=scale)


def test_enhanced_decode_restores_threads_and_determinism(registry, found_state):
    data = sample_jpeg()
    assert hybrid.decode(data, enhance=True, threads=1).size == (56, 40)
    assert state() == found_state
    hybrid.decode_array(data, enhance=True)
    assert state() == found_state


def test_super_resolved_decode_restores_threads(registry, found_state):
    assert hybrid.decode(sample_jpeg(scale=2), enhance=True, threads=1).size == (56, 40)
    assert state() == found_state


def test_settings_hold_inside_the_block_only_and_survive_errors(found_state):
    with torch_settings(threads=1):
        assert state() == (1, True)
        with torch_settings(threads=2, deterministic=False):  # nested: the flag stays on
            assert state() == (2, True)
    assert state() == found_state
    with pytest.raises(RuntimeError), torch_settings(threads=1):
        raise RuntimeError("the network failed")
    assert state() == found_state
