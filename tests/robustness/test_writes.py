"""Writes: atomic outputs (a process killed mid-write leaves the old file intact), batches
that resume after an interruption without redoing or losing finished outputs, no
overwriting without --force, and never (even with --force) replacing anything that is not a
regular file: a device node, a FIFO, a symlink.

The writer is killed for real: a child process runs the CLI (or the API) with ``os.fsync``
patched to stall once the data of the K-th output has been written to its temp file, and the
parent kills it there with SIGKILL (no clean-up possible) or SIGTERM (handled like Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from stat import S_IFCHR, S_ISFIFO

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import hybrid
import hybrid.io
from hybrid.cli import cli
from hybrid.errors import InputError, OutputExistsError
from tests.helpers.corpus import sample_image

REPO = Path(__file__).resolve().parents[2]

_STALLING_CHILD = textwrap.dedent(
    """
    import os, sys, time
    stall_at, real_fsync, calls = int(sys.argv[1]), os.fsync, [0]

    def fsync(fd):
        calls[0] += 1
        if calls[0] == stall_at:  # the temp file is written; the rename has not happened
            print("stalled", flush=True)
            time.sleep(120)
        real_fsync(fd)

    os.fsync = fsync
    if sys.argv[2] == "api":
        import hybrid
        hybrid.encode(sys.argv[3], sys.argv[4], quality=90, force=True)
    else:
        from hybrid.cli import main
        main(sys.argv[2:])
    """
)


def kill_mid_write(stall_at: int, args: list[str], sig: int) -> subprocess.CompletedProcess:
    """Run the child until it stalls in the ``stall_at``-th fsync, then send ``sig``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _STALLING_CHILD, str(stall_at), *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "stalled", (line, proc.stderr.read() if proc.poll() else "")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def temp_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob(".*") if p.is_file())


def make_pngs(directory: Path, count: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"img{i}.png"
        Image.fromarray(sample_image(24 + i, 32, i)).save(path)
        paths.append(path)
    return paths


def test_kill_during_api_write_keeps_the_old_file(tmp_path):
    src = make_pngs(tmp_path / "in", 1)[0]
    out = tmp_path / "out.jpg"
    out.write_bytes(b"old contents")
    result = kill_mid_write(1, ["api", src, out], signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    assert out.read_bytes() == b"old contents"
    # SIGKILL cannot be cleaned up after: the finished temp file stays, hidden, beside it,
    # named after the dead writer's pid ...
    leftovers = temp_files(tmp_path)
    assert [p.name.startswith(".out.jpg.") and p.name.endswith(".tmp") for p in leftovers] == [True]
    hybrid.decode(leftovers[0].read_bytes())  # it is complete: the kill came before the rename
    # ... until the next write of that output removes it; a live writer's temp file stays.
    live = tmp_path / f".out.jpg.{os.getpid()}.abcd.tmp"
    live.write_bytes(b"being written")
    hybrid.encode(src, out, quality=50, force=True)
    assert temp_files(tmp_path) == [live]
    hybrid.decode(out)


def test_sigterm_during_cli_write_keeps_the_old_file_and_cleans_up(tmp_path):
    src = tmp_path / "in.jpg"
    src.write_bytes(hybrid.encode(sample_image(40, 48, 1)))
    out = tmp_path / "out.png"
    out.write_bytes(b"old png")
    result = kill_mid_write(1, ["decode", src, "-o", out, "--force"], signal.SIGTERM)
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "hybrid: error: interrupted"
    assert out.read_bytes() == b"old png"
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_interrupted_batch_resumes_without_redoing_or_losing_work(tmp_path, sig):
    inputs = tmp_path / "in"
    make_pngs(inputs, 5)
    reference = tmp_path / "reference"
    assert CliRunner().invoke(cli, ["encode", str(inputs), "-o", str(reference)]).exit_code == 0
    out = tmp_path / "out"

    result = kill_mid_write(3, ["encode", inputs, "-o", out], sig)  # dies writing output 3
    finished = sorted(p.name for p in out.glob("*.jpg"))
    assert finished == ["img0.jpg", "img1.jpg"]
    for name in finished:  # complete and exactly what an uninterrupted run writes
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    if sig == signal.SIGTERM:
        assert result.returncode == 130
        assert "2 ok, 0 failed; interrupted (run again to resume" in result.stderr
        assert temp_files(out) == []
    else:
        assert result.returncode == -signal.SIGKILL
        assert len(temp_files(out)) == 1  # the killed write's temp file, never renamed
    before = {name: (out / name).stat() for name in finished}

    resumed = CliRunner().invoke(cli, ["encode", str(inputs), "-o", str(out)])
    assert resumed.exit_code == 0, resumed.output
    assert "3 ok, 0 failed, 2 skipped because the output exists" in resumed.stderr
    for name, stat in before.items():  # not redone: same file, same inode, same mtime
        after = (out / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    for path in reference.glob("*.jpg"):  # nothing lost: every output, byte for byte
        assert (out / path.name).read_bytes() == path.read_bytes()


def test_never_overwrite_without_force(tmp_path):
    pixels = sample_image(16, 24, 0)
    src_png = make_pngs(tmp_path / "in", 1)[0]
    src_jpg = tmp_path / "in.jpg"
    src_jpg.write_bytes(hybrid.encode(pixels))
    runner = CliRunner()
    for name, command in (
        ("a.jpg", ["encode", str(src_png)]),
        ("a.png", ["decode", str(src_jpg)]),
    ):
        target = tmp_path / name
        target.write_bytes(b"keep me")
        result = runner.invoke(cli, [*command, "-o", str(target)])
        assert result.exit_code == 2 and "output exists" in result.stderr
        assert target.read_bytes() == b"keep me"
        assert runner.invoke(cli, [*command, "-o", str(target), "--force"]).exit_code == 0
        assert target.read_bytes() != b"keep me"
    target = tmp_path / "api.jpg"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        hybrid.encode(pixels, target)
    assert target.read_bytes() == b"keep me"
    hybrid.encode(pixels, target, force=True)
    assert np.asarray(hybrid.decode(target)).shape == (16, 24, 3)
    assert temp_files(tmp_path) == []
    assert not any(p.name.startswith(".") for p in os.scandir(tmp_path))


# --- outputs that are not regular files ----------------------------------------------------


def make_special(kind: str, path: Path) -> None:
    """A non-regular file at ``path``. The device is a private node of our own (a copy of
    /dev/null's numbers in tmp_path): the real /dev/null is never a test target."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("creating a device node needs root")
    elif kind == "symlink":
        (path.parent / "real").write_bytes(b"keep me")
        path.symlink_to("real")
    elif kind == "dangling symlink":
        path.symlink_to("missing")


def identity(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_mode, st.st_ino, st.st_rdev


@pytest.mark.parametrize("kind", ["fifo", "device", "symlink", "dangling symlink"])
@pytest.mark.parametrize("command", ["encode", "decode"])
def test_force_never_replaces_a_non_regular_file(tmp_path, kind, command):
    src = make_pngs(tmp_path / "in", 1)[0]
    if command == "decode":
        src = tmp_path / "in.jpg"
        src.write_bytes(hybrid.encode(sample_image(16, 24, 0)))
    out = tmp_path / "out" / f"target.{'jpg' if command == 'encode' else 'png'}"
    out.parent.mkdir()
    make_special(kind, out)
    before, names = identity(out), sorted(os.listdir(out.parent))
    result = CliRunner().invoke(cli, [command, str(src), "-o", str(out), "--force"])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert "\n" not in err and err.startswith(f"hybrid: error: {out}: not a regular file")
    assert "use -o -" in err
    assert identity(out) == before and sorted(os.listdir(out.parent)) == names
    if kind == "symlink":
        assert (out.parent / "real").read_bytes() == b"keep me"


def test_atomic_write_rechecks_the_target_just_before_the_rename(tmp_path, monkeypatch):
    """A FIFO that appears while the data is being written is still not replaced."""
    target = tmp_path / "out.jpg"
    real_fsync = os.fsync

    def fsync_then_fifo(fd):
        real_fsync(fd)
        os.mkfifo(target)

    monkeypatch.setattr(hybrid.io.os, "fsync", fsync_then_fifo)
    with pytest.raises(InputError, match="not a regular file \\(a FIFO\\)"):
        hybrid.io.atomic_write(target, b"data", force=True)
    assert S_ISFIFO(os.lstat(target).st_mode)
    assert os.listdir(tmp_path) == ["out.jpg"]
