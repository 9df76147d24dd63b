"""scripts/bench_strength_optimum.py: the gain formula agrees with a blend measured directly,
and a tiny run writes a table per encoder."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from scripts import bench_strength_optimum as bench


def test_the_gain_of_a_blend_is_measured_from_its_inner_products():
    rng = np.random.default_rng(3)
    reference = rng.uniform(0, 255, (16, 16, 3))
    plain = reference + rng.normal(0, 6, reference.shape)
    enhanced = reference + 0.5 * (plain - reference) + rng.normal(0, 2, reference.shape)
    row = {
        "mse_plain": float(np.mean((plain - reference) ** 2)),
        "a": float(np.sum((enhanced - plain) * (reference - plain))),
        "b": float(np.sum((enhanced - plain) ** 2)),
        "n": reference.size,
    }
    for strength in (0.0, 0.3, 1.0, 1.7):
        blend = plain + strength * (enhanced - plain)
        direct = 10 * np.log10(row["mse_plain"] / np.mean((blend - reference) ** 2))
        assert bench.gain(row, strength) == pytest.approx(direct, abs=1e-9)
    assert bench.gain(row, 0.0) == 0.0


def test_a_tiny_run_prints_a_table_per_encoder(photos, monkeypatch, capsys):
    monkeypatch.setattr(bench, "QUALITIES", (50, 95))
    monkeypatch.setattr(
        sys,
        "argv",
        ["bench", "--data", str(photos), "--images", "2", "--step", "1", "--crop", "48"],
    )
    bench.main()
    out = capsys.readouterr().out
    for encoder in bench.ENCODERS:
        assert f"#### {encoder}" in out
    assert out.count("| 50 |") == 3 and out.count("| 95 |") == 3
