"""``hybrid models`` (hybrid/cli/models.py): the registry's networks and their defaults."""

from __future__ import annotations

import json

from tests.helpers.cli import run


def test_models_lists_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_WEIGHTS_DIR", str(tmp_path))
    result = run("models")
    assert result.exit_code == 0 and "no models installed" in result.output
    result = run("models", "--json")
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_models_marks_the_default_of_each_task():
    from hybrid.downscaled import SR_MODEL_BY_SCALE
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, load_manifest

    result = run("models")
    assert result.exit_code == 0
    lines = {line.split(" ", 1)[0].rstrip(":"): line for line in result.output.splitlines()}
    installed = load_manifest()
    if DEFAULT_ENHANCE_MODEL in installed:
        assert "(default)" in lines[DEFAULT_ENHANCE_MODEL]
    for scale, model_id in SR_MODEL_BY_SCALE.items():
        if model_id in installed:
            assert f"(default for files downscaled x{scale:g}" in lines[model_id]
    assert SR_MODEL_BY_SCALE[1.5] in installed and SR_MODEL_BY_SCALE[2.0] in installed
