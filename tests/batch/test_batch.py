"""hybrid batch: a real (local, 2-CPU) Ray pipeline against the single-process CLI, a SIGKILL
of the driver midway and the resume, bad inputs as rows, exit codes; and the pure parts
(planning, placement, results logic, remote storage through fsspec's memory file system)
without Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
from hybrid.batch import results, storage
from hybrid.batch.cluster import ClusterSettings, plan_placement
from hybrid.batch.inputs import Item, plan_inputs
from hybrid.batch.jobs import BatchJob, DecodeSettings, EncodeSettings
from hybrid.batch.pipeline import WorkSplit, plan_work
from hybrid.batch.work import process
from hybrid.cli import cli
from hybrid.cli.files import IMAGE_SUFFIXES, JPEG_SUFFIXES
from hybrid.errors import InputError

HYBRID = Path(sys.executable).parent / "hybrid"
PNG = frozenset({".png"})


def photo(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth RGB 'photo' with noise: uint8 (h, w, 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack(
        [
            128 + 100 * np.sin(x / (9 + seed % 5) + seed),
            128 + 90 * np.cos(y / (13 + seed % 7)),
            (x + y) * 255 / (h + w),
        ],
        -1,
    )
    return np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def make_photos(folder: Path, count: int) -> list[Path]:
    """``count`` PNGs of 64x64 .. 256x256 under ``folder`` (a third in ``sub/``)."""
    paths = []
    for i in range(count):
        side_h, side_w = 64 + (i * 37) % 193, 64 + (i * 53) % 193
        path = folder / ("sub" if i % 3 == 0 else "") / f"img{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo(side_h, side_w, i)).save(path)
        paths.append(path)
    return paths


def make_bad_inputs(folder: Path, good: Path) -> list[Path]:
    """Corrupt, truncated, not an image, unreadable (a dangling link)."""
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    truncated = folder / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:120])
    text = folder / "notes.png"
    text.write_text("this is not an image\n")
    dangling = folder / "unreadable.png"
    dangling.symlink_to(folder / "gone-missing.png")
    return [corrupt, truncated, text, dangling]


def table_rows(out: Path) -> list[dict]:
    table, unreadable = results.read_results(str(out))
    assert unreadable == []
    return table.to_pylist()


def assert_one_line(message: str | None) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message


def ray_processes_gone(session: int, timeout: float = 30.0) -> None:
    """SIGKILL what is left of the killed driver's session (its Ray head processes, and the
    workers, which Ray puts in process groups of their own) and wait until none of it runs,
    so the rerun never races an orphaned worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = subprocess.run(
            ["ps", "-eo", "pid=,sid=,stat="], capture_output=True, text=True
        ).stdout.split("\n")
        alive = [
            int(pid)
            for pid, sid, stat in (line.split() for line in table if line.strip())
            if int(sid) == session and not stat.startswith("Z")  # zombies hold no files
        ]
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"processes of session {session} still running")


# --- the real pipeline (Ray embedded, 2 CPUs) --------------------------------------------


def test_encode_matches_cli_and_resumes_after_sigkill(tmp_path):
    """The acceptance test: byte-identical to `hybrid encode`, a complete results table, and a
    driver SIGKILLed midway resumed with nothing lost, half-written or redone."""
    pytest.importorskip("ray")
    src, out, ref = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    good = make_photos(src, 20)
    bad = make_bad_inputs(src, good[0])
    command = [str(HYBRID), "batch", "encode", str(src), "-o", str(out), "--best"]
    command += ["--workers", "2", "--batch-size", "1"]

    driver = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 150
    while len(results.part_files(str(out))) < 4:
        assert driver.poll() is None, driver.stderr.read().decode()
        assert time.monotonic() < deadline, "no results after 150 s"
        time.sleep(0.02)
    driver.kill()  # SIGKILL: no clean-up of any kind in the driver
    driver.wait()
    driver.stderr.close()
    ray_processes_gone(driver.pid)

    before = table_rows(out)
    finished = {r["input"]: r for r in before if r["status"] == "ok"}
    assert 0 < len(finished) < len(good), "the kill should land midway"
    stats = {name: os.stat(r["output"]) for name, r in finished.items()}

    rerun = subprocess.run(command + ["--strict"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 2, rerun.stderr  # --strict: bad inputs failed
    last = rerun.stderr.strip().splitlines()[-1]
    assert f"{len(bad)} failed" in last and f"{len(finished)} skipped" in last, last

    rows = table_rows(out)
    latest = results.latest_rows(results.to_table(rows))
    assert set(latest) == {str(p) for p in good + bad}
    for path in good:
        ok_rows = [r for r in rows if r["input"] == str(path) and r["status"] == "ok"]
        assert len(ok_rows) == 1, f"{path.name} done {len(ok_rows)} times"
    for name, row in finished.items():  # untouched: same file, same inode, same mtime
        now = os.stat(row["output"])
        assert (now.st_ino, now.st_mtime_ns) == (stats[name].st_ino, stats[name].st_mtime_ns)
    for path in bad:
        row = latest[str(path)]
        assert row["status"] == "failed" and row["output"].endswith(path.stem + ".jpg")
        assert_one_line(row["error"])
        assert not os.path.exists(row["output"])
    assert not [p for p in out.rglob("*") if p.name.startswith(".")], "temp files left"

    reference = CliRunner().invoke(cli, ["encode", str(src), "-o", str(ref), "-r", "--best"])
    assert reference.exit_code == 2  # the same four bad inputs
    for path in good:
        row = latest[str(path)]
        output = Path(row["output"])
        assert output == out / path.relative_to(src).with_suffix(".jpg")
        expected = ref / path.relative_to(src).with_suffix(".jpg")
        assert output.read_bytes() == expected.read_bytes(), path.name
        with Image.open(output) as image:
            image.load()
            assert image.size == (row["width"], row["height"])
        assert row["bytes_out"] == output.stat().st_size
        assert row["bytes_in"] == path.stat().st_size
        assert row["bpp"] == pytest.approx(8 * row["bytes_out"] / (row["width"] * row["height"]))
        assert (row["quality"], row["scale"], row["job"]) == (75.0, 1.0, "encode")
        assert row["seconds"] > 0 and row["error"] is None


def test_decode_manifest_failures_are_rows_and_exit_zero(tmp_path):
    """decode --enhance from a manifest: outputs equal `hybrid decode --enhance`'s, bad and
    missing inputs are failed rows, and the run exits 0 with the failure count."""
    pytest.importorskip("ray")
    jpegs = tmp_path / "jpegs"
    jpegs.mkdir()
    good = []
    for i in range(5):
        path = jpegs / f"photo{i}.jpg"
        hybrid.encode(photo(48 + 16 * i, 64 + 8 * i, i), path, quality=30 + 10 * i)
        good.append(path)
    corrupt = jpegs / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(300))
    truncated = jpegs / "truncated.jpg"
    truncated.write_bytes(good[-1].read_bytes()[:400])
    missing = jpegs / "missing.jpg"
    manifest = tmp_path / "list.txt"
    names = [p.name for p in [*good, corrupt, truncated, missing]]
    manifest.write_text("# photos\n" + "\n".join(f"jpegs/{n}" for n in names) + "\n\n")
    out, ref = tmp_path / "out", tmp_path / "ref"

    run = subprocess.run(
        [str(HYBRID), "batch", "decode", "--manifest", str(manifest), "-o", str(out)]
        + ["--enhance", "--workers", "2", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "5 ok, 3 failed" in run.stderr.strip().splitlines()[-1], run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("hybrid: error: ")]
    assert len(errors) == 3 and all(str(jpegs) in line for line in errors), errors

    reference = CliRunner().invoke(
        cli, ["decode", *map(str, good), "-o", str(ref), "--enhance", "--threads", "1"]
    )
    assert reference.exit_code == 0, reference.output
    latest = results.latest_rows(results.to_table(table_rows(out)))
    assert len(latest) == 8
    for path in good:
        row = latest[str(path)]
        assert row["status"] == "ok" and row["model"] == "enhance-fast-v4"
        output = out / (path.stem + ".png")
        assert output.read_bytes() == (ref / (path.stem + ".png")).read_bytes()
    for path in (corrupt, truncated, missing):
        row = latest[str(path)]
        assert row["status"] == "failed", row
        assert_one_line(row["error"])
    assert "no such file" in latest[str(missing)]["error"]


# --- without Ray -------------------------------------------------------------------------


def test_plan_mirrors_folders_globs_and_manifests(tmp_path):
    src = tmp_path / "in"
    paths = make_photos(src, 4)
    (src / ".hidden.png").write_bytes(paths[1].read_bytes())
    (src / "readme.txt").write_text("x")
    out = tmp_path / "out"
    plan = plan_inputs([str(src)], [], str(out), ".jpg", IMAGE_SUFFIXES)
    assert plan.problems == ()
    assert {(Path(i.input), Path(i.output)) for i in plan.items} == {
        (p, out / p.relative_to(src).with_suffix(".jpg")) for p in paths
    }
    glob_plan = plan_inputs([f"{src}/**/*.png"], [], str(out), ".jpg", PNG)
    assert [i.output for i in glob_plan.items] == sorted(i.output for i in plan.items)
    manifest = tmp_path / "list.txt"
    manifest.write_text("\n".join(str(p.relative_to(tmp_path)) for p in paths))
    listed = plan_inputs([], [str(manifest)], str(out), ".jpg", PNG)
    assert [Path(i.input) for i in listed.items] == paths
    assert {i.output for i in listed.items} == {i.output for i in plan.items}


def test_plan_problems_never_lose_an_input(tmp_path):
    src = tmp_path / "in"
    make_photos(src, 2)
    (src / "img01.jpg").write_bytes((src / "img01.png").read_bytes())  # same output name
    plan = plan_inputs(
        [str(src), str(tmp_path / "nope"), str(src / "img01.png")], [], str(src), ".png", PNG
    )
    reasons = dict(plan.problems)
    assert reasons[str(tmp_path / "nope")] == "no such file or directory"
    assert "would replace the input" in reasons[str(src / "img01.png")]
    clash = plan_inputs([str(src)], [], str(tmp_path / "o"), ".jpg", IMAGE_SUFFIXES)
    assert len(clash.items) == 2 and "would also be written" in clash.problems[0][1]


def test_settings_are_validated_once():
    with pytest.raises(InputError, match="one target"):
        EncodeSettings(target_size=1000, target_psnr=30.0)
    with pytest.raises(InputError, match="--best or a --target"):
        BatchJob("transcode", encode=EncodeSettings())
    with pytest.raises(InputError, match="decode settings"):
        BatchJob("decode", encode=EncodeSettings())
    assert BatchJob("transcode", encode=EncodeSettings(best=True)).suffix == ".jpg"
    job = BatchJob("decode", decode=DecodeSettings(enhance=True, format="webp"))
    assert (job.suffix, job.uses_network) == (".webp", True)
    assert job.fingerprint() != BatchJob("decode", decode=DecodeSettings()).fingerprint()


def test_placement_gpus_for_networks_cores_otherwise():
    cpu = plan_placement(ClusterSettings(), cpus=16, gpus=0, uses_network=True, batches=100)
    assert (cpu.workers, cpu.device, cpu.threads, cpu.cpus_per_worker) == (16, "cpu", 1, 1.0)
    gpu = plan_placement(ClusterSettings(), cpus=16, gpus=2, uses_network=True, batches=100)
    assert (gpu.workers, gpu.device, gpu.gpus_per_worker) == (8, "cuda", 0.25)
    encode = plan_placement(ClusterSettings(), cpus=16, gpus=2, uses_network=False, batches=3)
    assert (encode.workers, encode.device, encode.gpus_per_worker) == (3, "cpu", 0.0)
    few = plan_placement(ClusterSettings(workers=4), cpus=16, gpus=0, uses_network=True, batches=9)
    assert (few.workers, few.threads, few.cpus_per_worker) == (4, 4, 4.0)
    with pytest.raises(InputError, match="no GPU"):
        plan_placement(ClusterSettings(device="cuda"), cpus=4, gpus=0, uses_network=True, batches=1)


def test_process_is_the_api_and_failures_are_rows(tmp_path):
    src = make_photos(tmp_path / "in", 1)[0]
    job = BatchJob("encode", encode=EncodeSettings(quality=60, best=True, measure_psnr=True))
    row = process(job, Item(str(src), str(tmp_path / "o" / "a.jpg")))
    assert row["status"] == "ok", row
    expected = hybrid.encode(str(src), quality=60, best=True)
    assert (tmp_path / "o" / "a.jpg").read_bytes() == expected
    assert 25 < row["psnr"] < 60 and row["bytes_out"] == len(expected)
    again = process(job, Item(str(src), str(tmp_path / "o" / "a.jpg")))
    assert again["status"] == "failed" and again["error_type"] == "OutputExistsError"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnope")
    row = process(job, Item(str(broken), str(tmp_path / "o" / "b.jpg")))
    assert row["status"] == "failed" and row["bytes_in"] == 12
    assert_one_line(row["error"])
    assert not (tmp_path / "o" / "b.jpg").exists()


def test_resume_rules_and_an_existing_folder(tmp_path):
    src = tmp_path / "in"
    make_photos(src, 3)
    out = tmp_path / "out"
    job = BatchJob("encode", encode=EncodeSettings())
    plan = plan_inputs([str(src)], [], str(out), ".jpg", PNG)
    results.write_part(str(out), [process(job, item) for item in plan.items[:2]])

    def split(job=job, owned=True):
        return plan_work(plan, job, str(out), False, owned)[0]

    assert split() == WorkSplit((plan.items[2],), (), frozenset(), 2)
    # An output whose row is missing (killed before its row) is redone, replaced.
    Path(plan.items[2].output).parent.mkdir(parents=True, exist_ok=True)
    Path(plan.items[2].output).write_bytes(b"half a run")
    assert split().overwrite == {plan.items[2].input}
    # In a folder new to batches the same file is someone else's: a failure, kept.
    new = split(owned=False)
    assert new.todo == () and new.problems[0]["error_type"] == "OutputExistsError"
    # Other settings, or an output of the wrong size, are not done.
    assert split(job=BatchJob("encode", encode=EncodeSettings(quality=90))).skipped == 0
    Path(plan.items[0].output).write_bytes(b"changed")
    assert split().skipped == 1


def test_compaction_keeps_every_row(tmp_path):
    out = str(tmp_path / "out")
    for i in range(results.COMPACT_ABOVE + 3):
        results.write_part(out, [{"input": f"/in/{i}.png", "status": "ok", "bytes_out": i}])
    before = results.read_snapshot(out)
    assert results.compact(out, before) == results.COMPACT_ABOVE + 3
    after = results.read_snapshot(out)
    assert len(after.parts) == 1 and after.table.num_rows == before.table.num_rows
    assert results.compact(out) == 0


def test_remote_outputs_through_fsspec(tmp_path):
    """A remote store (fsspec's in-memory file system stands in for s3://): temp name, then
    move; listing, reading, sweeping killed writers' temps, and a part of the table."""
    pytest.importorskip("fsspec")
    root = "memory://bucket/run"
    storage.write_atomic(f"{root}/a/x.jpg", b"12345")
    with pytest.raises(InputError, match="exists"):
        storage.write_atomic(f"{root}/a/x.jpg", b"6")
    storage.write_atomic(f"{root}/a/x.jpg", b"678", force=True)
    assert storage.read_bytes(f"{root}/a/x.jpg") == b"678"
    leftover = f"{root}/a/.y.jpg.r{'0' * 32}.tmp"
    storage.write_atomic(leftover, b"half")
    assert storage.list_files(root) == {f"{root}/a/x.jpg": 3, leftover: 4}
    assert storage.sweep_temps(root) == [leftover]
    row = {"input": "s3://in/x.png", "output": f"{root}/a/x.jpg", "status": "ok", "bytes_out": 3}
    results.write_part(root, [row])
    table, _ = results.read_results(root)
    assert table.column("output").to_pylist() == [f"{root}/a/x.jpg"]
    with pytest.raises(InputError, match="no such file"):
        storage.read_bytes(f"{root}/missing.png")


def test_batch_cli_help_and_options():
    runner = CliRunner()
    help_text = runner.invoke(cli, ["batch", "--help"]).output
    assert "Ray" in help_text and "resum" in help_text
    encode_params = {p.name: p for p in cli.commands["encode"].params}
    batch_params = {p.name: p for p in cli.commands["batch"].commands["encode"].params}
    shared = set(encode_params) & set(batch_params) - {"inputs", "output", "force"}
    assert {"quality", "best", "subsampling", "target_size", "target_psnr", "scale"} <= shared
    for name in shared:
        assert batch_params[name].default == encode_params[name].default, name
        assert batch_params[name].opts == encode_params[name].opts, name
    assert JPEG_SUFFIXES < IMAGE_SUFFIXES
    result = runner.invoke(cli, ["batch", "transcode", "x", "-o", "y"])
    assert result.exit_code == 2 and "--best or a --target" in result.output


def test_the_cli_imports_no_ray():
    code = "import sys, hybrid.cli; print([m for m in ('ray', 'pyarrow') if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr
