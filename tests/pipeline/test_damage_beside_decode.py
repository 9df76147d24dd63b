"""A plain decode runs its damage check beside Pillow's decode (hybrid.pipeline.pixels.
checked_plain_image): the same image, the same verdict, warning and strict error as the check
run first, and a forked child makes its own worker thread."""

from __future__ import annotations

import multiprocessing
import threading
import warnings

import numpy as np
import pytest

import hybrid
import hybrid.codec.reader as reader
from hybrid import workers
from hybrid.errors import CorruptJPEGError, JpegDataWarning
from tests.helpers.corpus import sample_image
from tests.helpers.jpeg import pillow_jpeg


def _checked_in(monkeypatch) -> list[str]:
    """Names of the threads find_damage runs in, from now on."""
    threads: list[str] = []
    original = reader.find_damage

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(reader, "find_damage", recording)
    return threads


def _damaged() -> bytes:
    data = pillow_jpeg(sample_image(64, 64, seed=3), quality=60)
    return data[: len(data) - 300] + b"\xff\xd9"


def test_a_sequential_file_is_checked_in_the_worker_thread(monkeypatch):
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {0, 1})
    threads = _checked_in(monkeypatch)
    data = pillow_jpeg(sample_image(48, 40, seed=1), quality=70)
    image = hybrid.decode(data)
    assert threads and threads[0].startswith("hybrid-damage-check")
    assert "hybrid_damage" not in image.info
    assert np.array_equal(np.asarray(image), np.asarray(hybrid.decode(data, check_damage=False)))


def test_a_progressive_file_threads_1_or_one_cpu_is_checked_first_in_the_caller(monkeypatch):
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {0, 1})
    threads = _checked_in(monkeypatch)
    hybrid.decode(pillow_jpeg(sample_image(48, 40, seed=1), quality=70, progressive=True))
    hybrid.decode(pillow_jpeg(sample_image(48, 40, seed=1), quality=70), threads=1)
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {0})
    hybrid.decode(pillow_jpeg(sample_image(48, 40, seed=1), quality=70))
    assert threads == [threading.current_thread().name] * 3


def test_damage_found_beside_the_decode_is_warned_about_at_the_callers_line(monkeypatch):
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {0, 1})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = hybrid.decode(_damaged())
    found = [w for w in caught if issubclass(w.category, JpegDataWarning)]
    assert len(found) == 1 and "damaged JPEG data" in str(found[0].message)
    assert found[0].filename == __file__
    assert "premature end" in image.info["hybrid_damage"].lower()
    with pytest.raises(CorruptJPEGError, match="damaged JPEG data"):
        hybrid.decode(_damaged(), strict=True)


def _decode_in_child(queue) -> None:
    image = hybrid.decode(pillow_jpeg(sample_image(32, 32, seed=2), quality=50))
    queue.put((image.size, threading.current_thread().name))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_a_forked_child_makes_its_own_worker(monkeypatch):
    """The parent's executor, copied into a forked child, has no thread behind it: a child
    that used it would wait forever. The child makes its own (the decode returns)."""
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {0, 1})
    hybrid.decode(pillow_jpeg(sample_image(32, 32, seed=2), quality=50))  # the parent's worker
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_decode_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert queue.get(timeout=5)[0] == (32, 32)
