"""scripts/fit_fade_out.py: the knot search keeps every image above the floor and fades out
no later than the default; a tiny run measures, chooses and re-measures between grid points."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from hybrid.enhance.taper import TAPER_STEPS
from scripts import fit_fade_out as fit


def _row(image: str, quality: int, step: float, full_gain_db: float) -> dict:
    """A row whose squared error moves linearly from 10 (plain) to the value that gives
    ``full_gain_db`` at strength 1."""
    end = 10.0 / 10 ** (full_gain_db / 10)
    return {
        "image": image,
        "mode": "best",
        "quality": quality,
        "step": step,
        "mse": list(np.linspace(10.0, end, len(fit.GRID))),
    }


def test_the_knots_fade_out_where_an_image_loses():
    # one image loses 0.3 dB at step 15; everything helps at steps 20 and 40
    rows = [_row("a", 90, 15.0, -0.3), _row("b", 90, 15.0, +0.5)]
    rows += [_row(n, q, s, +0.6) for n in "ab" for q, s in ((80, 20.0), (50, 40.0))]
    knots, score = fit.choose(rows, floor=-0.09)
    steps = np.array([r["step"] for r in rows])
    share = fit.strengths(steps, knots)
    gains = fit.gains(np.array([r["mse"] for r in rows]), share)
    assert gains.min() >= -0.09 and share[0] <= 0.3  # the loser keeps at most 0.3 of it
    assert share[2:].min() == 1.0  # steps 20 and 40 keep all of it
    assert knots[0] >= TAPER_STEPS[0] and knots[1] >= TAPER_STEPS[1]
    assert score > 0
    # a loss everywhere cannot be faded away above the knots' reach
    assert fit.choose([_row("a", 50, 90.0, -1.0)], floor=-0.09) is None


def test_gains_interpolate_the_squared_error_between_grid_strengths():
    row = _row("a", 90, 15.0, 1.0)
    mse = np.array([row["mse"]])
    for share in (0.0, 0.5, 0.525, 1.0):
        err = 10.0 + share * (row["mse"][-1] - 10.0)  # linear by construction
        expected = 10 * np.log10(10.0 / err)
        assert fit.gains(mse, np.array([share]))[0] == pytest.approx(expected, abs=1e-9)


def test_a_tiny_run_measures_chooses_and_checks(photos, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rows.json"
    argv = ["fit", "--data", str(photos), "--images", "1", "--qualities", "30,94"]
    monkeypatch.setattr(sys, "argv", argv + ["--json", str(out)])
    fit.main()
    text = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert len(saved["rows"]) == 2 * len(fit.MODES)
    assert all(len(r["mse"]) == len(fit.GRID) for r in saved["rows"])
    assert "its knots now" in text and text.count("| best | 94 |") >= 1
    monkeypatch.setattr(sys, "argv", ["fit", "--from-json", str(out)])
    fit.main()
    assert capsys.readouterr().out.count("| libjpeg-turbo | 30 |") >= 1


def test_write_knots_records_them_in_both_manifests(tmp_path):
    from pathlib import Path

    from hybrid.enhance.onnx_registry import load_onnx_manifest
    from hybrid.enhance.registry import fade_out_steps, load_manifest

    released = Path(fit.ROOT) / "weights"
    for name in ("manifest.json", "onnx.json"):
        (tmp_path / name).write_text((released / name).read_text())
    model = "enhance-perceptual-v1"  # exported to ONNX too
    metrics = {"knots": [10.0, 20.0], "worst": None}
    written = fit.write_knots(model, (10.0, 20.0), metrics, tmp_path)
    assert [p.name for p in written] == ["manifest.json", "onnx.json"]
    assert fade_out_steps(model, tmp_path) == (10.0, 20.0)
    assert load_manifest(tmp_path)[model].metrics["fade_out"] == metrics
    assert load_onnx_manifest(tmp_path)[model].fade_out == (10.0, 20.0)
    other = load_manifest(tmp_path)["enhance-fast-v4"]
    assert other.inference == load_manifest(released)["enhance-fast-v4"].inference


def test_the_worst_file_is_the_one_the_knots_spare():
    rows = [_row("a", 90, 15.0, -0.3), _row("b", 90, 15.0, +0.5), _row("c", 50, 40.0, +0.6)]
    worst = fit.worst_file(rows, (12.0, 20.0), {})
    assert worst["image"] == "a" and worst["quality"] == 90
    assert worst["gain_db_at_default_knots"] == pytest.approx(-0.3, abs=1e-3)
    assert -0.3 < worst["gain_db"] < 0
    assert fit.worst_file(rows, fit.TAPER_STEPS, {}) is None  # nothing spared


def test_shards_measure_every_nth_image_and_merge_to_one_run(photos, tmp_path, monkeypatch):
    base = ["fit", "--data", str(photos), "--images", "2", "--qualities", "50"]
    whole, parts = tmp_path / "whole.json", [tmp_path / f"part{i}.json" for i in range(2)]
    monkeypatch.setattr(sys, "argv", base + ["--json", str(whole)])
    fit.main()
    for i, part in enumerate(parts):
        monkeypatch.setattr(sys, "argv", base + ["--shard", f"{i}/2", "--json", str(part)])
        fit.main()
    bodies = [json.loads(p.read_text()) for p in parts]
    assert [len({r["image"] for r in b["rows"]}) for b in bodies] == [1, 1]
    merged = fit.merge_saved(bodies)

    def key(row):
        return (row["image"], row["mode"], row["quality"])

    expected = json.loads(whole.read_text())["rows"]
    assert sorted(map(key, merged["rows"])) == sorted(map(key, expected))
    by_key = {key(r): r for r in expected}
    for row in merged["rows"]:  # the same numbers, whichever process measured them
        assert row["mse"] == pytest.approx(by_key[key(row)]["mse"], rel=1e-9)
    with pytest.raises(ValueError, match="twice"):
        fit.merge_saved([bodies[0], bodies[0]])
    with pytest.raises(ValueError, match="differ in model"):
        fit.merge_saved([bodies[0], {**bodies[1], "model": "enhance-fast-v3"}])


@pytest.mark.parametrize("shard", ["2/2", "-1/2", "a/b", "1"])
def test_a_bad_shard_is_refused(shard):
    with pytest.raises(ValueError, match="--shard"):
        fit.shard_files([], shard)


def test_a_shard_needs_a_json_file(photos, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fit", "--data", str(photos), "--shard", "0/2"])
    with pytest.raises(SystemExit) as exc:
        fit.main()
    assert exc.value.code == 2 and "--shard needs --json" in capsys.readouterr().err


def test_a_folder_of_subfolders_is_read_every_nth_image(photos, tmp_path, monkeypatch):
    """Screenshots live in one subfolder per kind: ``--data`` takes subfolders too, rows name
    each image by its path under the folder, ``--every`` thins the sorted list, and the
    recorded command repeats the folder and the step."""
    from PIL import Image

    sources = sorted(p for p in photos.iterdir() if p.suffix == ".png")[:2]
    for i, kind in enumerate(("charts", "docs", "pages")):
        (tmp_path / "set" / kind).mkdir(parents=True)
        with Image.open(sources[i % len(sources)]) as im:
            im.save(tmp_path / "set" / kind / "a.png")
    out = tmp_path / "rows.json"
    argv = ["fit", "--data", str(tmp_path / "set"), "--every", "2", "--qualities", "50"]
    monkeypatch.setattr(sys, "argv", argv + ["--modes", "best", "--json", str(out)])
    fit.main()
    saved = json.loads(out.read_text())
    assert sorted({r["image"] for r in saved["rows"]}) == ["charts/a.png", "pages/a.png"]
    assert saved["every"] == 2
    assert fit.data_flags(str(tmp_path / "set"), 2) == f" --data {tmp_path / 'set'} --every 2"
    assert fit.data_flags(fit.DEFAULT_DATA, 1) == ""
    # the recheck of a file between grid strengths opens it by that path
    row = saved["rows"][0]
    errors = fit.exact_errors(
        [row], np.array([0.5 + 0.5 / (len(fit.GRID) - 1)]), tmp_path / "set", None, None, 1
    )
    assert list(errors) == [0] and errors[0] > 0
