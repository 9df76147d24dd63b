"""The benchmark sweep: planning, measured values, shared files, the resumable cache."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from hybrid.bench import codecs as codecs_module
from hybrid.bench import runner
from hybrid.bench.codecs import CODECS, REFERENCE, get_codec
from hybrid.bench.runner import load_cache, measure_image, plan_bench, run_bench
from hybrid.errors import InputError
from hybrid.metrics import psnr


def test_every_codec_has_sane_sweeps():
    assert len({c.name for c in CODECS}) == len(CODECS)
    for codec in CODECS:
        assert len(codec.quick) >= 3 and len(codec.full) >= len(codec.quick)
        assert set(codec.quick) <= set(codec.full)  # a full run reuses a quick run's points
        assert codec.family in ("hybrid", "jpeg", "modern")
        get_codec(codec.encoder_name)  # decoder-side variants name a known encoder
        ok, note = codec.available()
        assert isinstance(ok, bool) and isinstance(note, str)


def test_plan_always_measures_the_reference_and_skips_missing_codecs(photos, monkeypatch):
    monkeypatch.setattr(codecs_module, "_jpegqs_path", lambda: None)
    plan = plan_bench(photos, codecs=["webp", "jpegqs"], quick=True, limit=1)
    assert plan.codecs == (REFERENCE, "webp")
    assert dict(plan.skipped) == {"jpegqs": "jpegqs is not installed (Debian package jpegqs)"}
    assert [i.name for i in plan.images] == ["photo0.png"]
    assert len(plan.tasks()) == 8
    with pytest.raises(InputError, match="unknown codec"):
        plan_bench(photos, codecs=["jpeg2000"])
    empty = photos.parent / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no images"):
        plan_bench(empty, codecs=["webp"])
    with pytest.raises(InputError, match="not a directory"):
        plan_bench(photos / "photo0.png", codecs=["webp"])


def test_measured_values_are_the_files_and_their_decodes(photos):
    plan = plan_bench(photos, codecs=["webp", "jpegqs"], quick=True, limit=1)
    image = plan.images[0]
    tasks = [(c, s, plan.key(c, s, image)) for c, s in plan.tasks()]
    points = {(p["codec"], p["setting"]): p for p in measure_image(image, tasks)}
    rgb = np.asarray(Image.open(image.path).convert("RGB"))
    h, w = rgb.shape[:2]
    for (codec, setting), point in points.items():
        assert point["error"] is None
        data = get_codec(get_codec(codec).encoder_name).encode(rgb, setting)
        assert point["bytes"] == len(data)  # every encoder here is deterministic
        assert point["bpp"] == pytest.approx(8 * len(data) / (w * h))
        if codec == REFERENCE:
            decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            assert point["psnr"] == pytest.approx(psnr(rgb, decoded), abs=1e-9)
        assert 0.3 < point["ssim"] < 1 and 0.5 < point["ms_ssim"] < 1
        assert point["encode_s"] > 0 and point["decode_s"] > 0
    # jpegqs decodes the very same libjpeg-turbo files: same size, same encode time.
    for setting in get_codec("jpegqs").quick:
        qs, ref = points[("jpegqs", setting)], points[(REFERENCE, setting)]
        assert qs["bytes"] == ref["bytes"] and qs["encode_s"] == ref["encode_s"]
    # ... and bpp grows along the sweep.
    bpps = [points[(REFERENCE, s)]["bpp"] for s in get_codec(REFERENCE).quick]
    assert bpps == sorted(bpps)


def test_a_failing_codec_gives_error_points_not_an_exception(photos, monkeypatch):
    broken = codecs_module._BY_NAME["webp"]

    def fail(rgb, setting):
        raise RuntimeError("no luck")

    monkeypatch.setitem(codecs_module._BY_NAME, "webp", _replace(broken, encode_fn=fail))
    plan = plan_bench(photos, codecs=["webp"], quick=True, limit=1)
    image = plan.images[0]
    points = measure_image(image, [("webp", 50.0, "k")])
    assert points[0]["error"] == "encode: RuntimeError: no luck"
    assert points[0]["bpp"] is None


def _replace(codec, **changes):
    from dataclasses import replace

    return replace(codec, **changes)


def test_cache_resumes_and_remeasures_what_changed(photos, tmp_path, monkeypatch):
    cache = tmp_path / "out" / "points.jsonl"
    plan = plan_bench(photos, codecs=["webp"], quick=True)
    seen = []
    first = run_bench(plan, cache, on_image=lambda i: seen.append(i.name))
    assert seen == ["photo0.png", "photo1.png"]
    assert len(first) == 16 and len(load_cache(cache)) == 16

    # A resumed run measures nothing (and still reports every image done).
    def must_not_run(*args):
        raise AssertionError("a cached point was measured again")

    monkeypatch.setattr(runner, "measure_image", must_not_run)
    again = run_bench(plan, cache, on_image=lambda i: seen.append(i.name))
    assert again == first and len(seen) == 4

    # A torn last line (interrupted write) is ignored; the missing points are measured.
    lines = cache.read_text().splitlines()
    cache.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:25])
    monkeypatch.undo()
    measured = []
    real = runner.measure_image
    monkeypatch.setattr(
        runner,
        "measure_image",
        lambda image, tasks, *rest: measured.append(len(tasks)) or real(image, tasks, *rest),
    )
    third = run_bench(plan, cache)
    assert measured == [1] and [p["key"] for p in third] == [p["key"] for p in first]

    # A new codec version invalidates its points; --no-resume starts afresh.
    changed = plan_bench(photos, codecs=["webp"], quick=True, limit=1)
    changed.versions["webp"] += " patched"
    measured.clear()
    run_bench(changed, cache)
    assert measured == [4]  # only webp's points; the reference's version is unchanged
    measured.clear()
    run_bench(plan, cache, resume=False)
    assert measured == [8, 8]
    assert all(json.loads(line)["codec"] for line in cache.read_text().splitlines())


def test_parallel_jobs_give_the_same_points(photos, tmp_path):
    plan = plan_bench(photos, codecs=["libjpeg-turbo-444"], quick=True)
    serial = run_bench(plan, tmp_path / "a.jsonl", jobs=1)
    parallel = run_bench(plan, tmp_path / "b.jsonl", jobs=2)
    strip = lambda ps: [{k: v for k, v in p.items() if not k.endswith("_s")} for p in ps]  # noqa: E731
    assert strip(serial) == strip(parallel)


def test_automatic_mode_meets_its_bpp_target(photos):
    plan = plan_bench(photos, codecs=["hybrid-auto"], quick=True, limit=1)
    image = plan.images[0]
    (point,) = measure_image(image, [("hybrid-auto", 0.7, "k")])
    assert point["error"] is None
    assert 0.6 < point["bpp"] <= 0.7
    assert point["psnr"] > 25
