"""scripts/bench_tune_decoders.py: `--tune perceptual` files decoded by each network, with
BD-rates against `--tune psnr` + the default model, and the training proxy's agreement."""

from __future__ import annotations

import math
import sys

import pytest

from scripts import bench_tune_decoders as bench
from tests.helpers.butteraugli import need_butteraugli


def test_every_decoder_has_a_row_and_the_reference_is_zero(photos, tmp_path, monkeypatch):
    need_butteraugli()
    out = tmp_path / "table.md"
    argv = ["bench", "--data", str(photos), "--images", "2", "--every", "1", "--start", "0"]
    argv += ["--qualities", "15,40,75", "--models", "enhance-fast-v4", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    text = out.read_text()
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")[1:]]
        for line in text.splitlines()
        if line.startswith("| ") and "%" in line
    }
    assert set(rows) == {f"{bench.REFERENCE} (reference)", "plain", "`enhance-fast-v4`"}
    assert rows[f"{bench.REFERENCE} (reference)"] == ["+0.00 %"] * 3
    assert "correlation" in text and "2 images" in text
    assert "one network only, so no pairs to rank" in text and "nan" not in text


def test_agreement_counts_pairs_of_networks():
    """Two networks on one image and quality: the tool and the proxy both find ``a`` better
    (lower distance) than ``b``; with one image the correlation is of two changes."""

    def point(codec: str, setting: int, ba: float, proxy: float) -> dict:
        return {"codec": codec, "setting": setting, "image": "x.png", "bpp": 0.5} | {
            "butteraugli": ba,
            "proxy": proxy,
        }

    rows = [
        point(bench.REFERENCE, 30, 2.0, 0.0),
        point(bench.PLAIN, 30, 2.0, 0.010),
        point(bench.PLAIN, 60, 1.5, 0.008),
        point("a", 30, 1.8, 0.009),
        point("a", 60, 1.4, 0.0075),
        point("b", 30, 1.9, 0.0095),
        point("b", 60, 1.45, 0.0070),
    ]
    agree = bench.agreement(rows)
    assert agree["pairs_agree"] == pytest.approx(0.5)
    assert -1.0 <= agree["correlation"] <= 1.0 and not math.isnan(agree["correlation"])


def test_bad_arguments_exit_2(photos, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench", "--data", str(photos), "--images", "0"])
    with pytest.raises(SystemExit) as exc:
        bench.main()
    assert exc.value.code == 2 and "bench_tune_decoders: error" in capsys.readouterr().err


def test_weights_files_of_one_name_get_a_row_each():
    labels = bench.decoders(["enhance-fast-v4"], ["runs/a/last.pt", "runs/b/last.pt"])
    assert list(labels) == [bench.PLAIN, "enhance-fast-v4", "runs/a/last.pt", "runs/b/last.pt"]
    assert labels["runs/b/last.pt"] == {"weights": "runs/b/last.pt"}
