"""hybrid.workers: how many threads a call may use, named thread pools per process."""

from __future__ import annotations

from hybrid import workers


def test_worker_count_is_the_callers_or_the_usable_cpus_capped(monkeypatch):
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: set(range(16)))
    assert workers.worker_count(None) == workers.MAX_WORKERS
    assert workers.worker_count(1) == 1 and workers.worker_count(6) == 6
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda _pid: {3})
    assert workers.worker_count(None) == 1


def test_a_pool_is_kept_per_name_and_size():
    pool = workers.thread_pool("hybrid-test", 2)
    assert workers.thread_pool("hybrid-test", 2) is pool
    other = workers.thread_pool("hybrid-test", 3)
    assert other is not pool and workers.thread_pool("hybrid-test", 3) is other
