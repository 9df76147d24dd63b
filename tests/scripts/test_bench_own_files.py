"""scripts/bench_own_files.py: the downscaled modes compare the super-resolution decode with
the plain decode upscaled to the original size, under the file's or the given SR model."""

from __future__ import annotations

import sys

import pytest

from scripts import bench_own_files as bench


@pytest.mark.parametrize(("mode", "sr_model"), [("downscaled-x1.5", "sr-quality-x1.5-v1")])
def test_a_downscaled_mode_under_a_given_sr_model(
    photos, tmp_path, monkeypatch, capsys, mode, sr_model
):
    out = tmp_path / "table.md"
    argv = ["bench", "--data", str(photos), "--images", "1", "--qualities", "40"]
    argv += ["--modes", mode, "--no-reference", "--sr-model", sr_model, "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    text = out.read_text()
    assert f"super-resolution `{sr_model}`" in text and f"### {mode}" in text
    row = next(line for line in text.splitlines() if line.startswith("| 40 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # the coded image is 1/1.5 of the original per axis: about 1/2.25 of the bits per pixel
    # of a full-size file; the gain is finite and the file recorded a strength
    assert 0.0 < float(cells[1]) < 2.0 and abs(float(cells[3])) < 5.0
    assert len(cells) == 9 and cells[-1].endswith(" of 1")  # strength columns: recorded


def test_an_unknown_mode_is_refused(photos, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench", "--data", str(photos), "--modes", "downscaled-x3"])
    with pytest.raises(SystemExit) as exc:
        bench.main()
    assert exc.value.code == 2 and "unknown mode" in capsys.readouterr().err
