"""scripts/fit_sr_strength.py: the share kept is the grid strength with the largest mean gain
that keeps every image above the floor; a tiny run measures and chooses."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from scripts import fit_sr_strength as fit


def _row(image: str, quality: int, gains_db) -> dict:
    """A row whose blend gains ``gains_db`` (one per GRID strength; the first 0) over a
    bicubic upscale with squared error 10."""
    return {"image": image, "quality": quality, "mse": [10.0 / 10 ** (g / 10) for g in gains_db]}


def _arch(peak: float, top: float, end: float) -> list[float]:
    """Gains that rise from 0 to ``top`` at strength ``peak`` and fall to ``end`` at 1."""
    return [top * s / peak if s <= peak else top + (end - top) * (s - peak) / (1 - peak)
            for s in fit.GRID]  # fmt: skip


def test_the_share_stops_where_an_image_would_lose():
    rows = [_row("a", 30, _arch(0.5, 0.2, -0.3)), _row("b", 30, _arch(0.8, 1.0, 0.9))]
    rows += [_row(n, 75, _arch(0.9, 0.6, 0.5)) for n in "ab"]
    share, score = fit.choose(rows, floor=-0.08)
    gains = fit.grid_gains(rows)[:, int(round(share * (len(fit.GRID) - 1)))]
    assert gains.min() >= -0.08 and share == pytest.approx(0.75)
    # one step further, image a would be below the floor
    assert fit.grid_gains(rows)[0, int(round(share * (len(fit.GRID) - 1))) + 1] < -0.08
    assert score == pytest.approx(np.mean([gains[:2].mean(), gains[2:].mean()]))
    # a network that only hurts keeps nothing
    assert fit.choose([_row("a", 30, _arch(0.05, 0.0, -1.0))], floor=-0.08) == (0.0, 0.0)
    # one that always helps keeps all of it
    assert fit.choose([_row("a", 30, _arch(1.0, 0.5, 0.5))], floor=-0.08)[0] == 1.0


def test_the_worst_file_is_the_one_the_full_output_hurts_most():
    rows = [_row("a", 30, _arch(0.5, 0.2, -0.3)), _row("b", 30, _arch(0.8, 1.0, 0.9))]
    worst = fit.worst_file(rows, 0.5)
    assert (worst["image"], worst["quality"]) == ("a", 30)
    assert worst["gain_db"] == pytest.approx(0.2, abs=1e-3)
    assert worst["gain_db_at_full_strength"] == pytest.approx(-0.3, abs=1e-3)


def test_a_tiny_run_measures_and_chooses(photos, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rows.json"
    argv = ["fit", "--model", "sr-fast-x1.5-v1", "--data", str(photos), "--images", "1"]
    monkeypatch.setattr(sys, "argv", argv + ["--qualities", "30", "--json", str(out)])
    fit.main()
    text = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["scale"] == 1.5 and len(saved["rows"]) == 1
    assert saved["rows"][0]["mse"][0] > saved["rows"][0]["mse"][-1]  # the network helps here
    assert "its share now" in text and "chosen: share" in text
    monkeypatch.setattr(sys, "argv", ["fit", "--from-json", str(out)])
    fit.main()
    assert capsys.readouterr().out.count("| 30 |") == 2


def test_an_enhancement_model_is_refused(photos, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fit", "--model", "enhance-fast-v4", "--data", str(photos)])
    with pytest.raises(SystemExit) as exc:
        fit.main()
    assert exc.value.code == 2 and "not a super-resolution model" in capsys.readouterr().err


def test_each_downscale_has_a_mode_of_bench_own_files():
    from scripts.bench_own_files import HYBRID_MODES

    for scale, mode in fit.MODE_BY_SCALE.items():
        assert HYBRID_MODES[mode] == {"best": True, "scale": scale}
