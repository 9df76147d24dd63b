"""Worker threads of the decode engine: a process's thread pools by name, made again in a
forked child.

Pillow's decoders and ctypes calls into libjpeg release the GIL, so a plain decode can run
its damage check on a second core (:func:`hybrid.pipeline.pixels.checked_plain_image`).
:func:`thread_pool` gives the pool of a name, made on first use; a child forked from a
process that had one gets a new pool (the copy inherited from the parent has no threads
behind it: work sent there would never run). :func:`worker_count` is how many threads a
call may use: the caller's ``threads=`` (:func:`hybrid.decode`), else what the process may
run on.

Not used for the pixel path made from coefficients (:mod:`hybrid.codec.decoder`): its numpy
steps on 64K-pixel bands are bound by interpreter overhead under the GIL, and spreading the
bands over two threads was measured slower (0.4 MP: 8.7 ms against 7.6 ms on one thread).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["thread_pool", "usable_cpus", "worker_count"]

#: Most threads :func:`worker_count` gives when the caller names no count.
MAX_WORKERS = 4

_lock = threading.Lock()
_pools: dict[str, tuple[int, int, ThreadPoolExecutor]] = {}  # name -> (pid, size, pool)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(threads: int | None) -> int:
    """Threads for one call's work: ``threads`` when the caller gave it, else
    :func:`usable_cpus` up to :data:`MAX_WORKERS`."""
    return max(1, threads) if threads is not None else min(MAX_WORKERS, usable_cpus())


def thread_pool(name: str, size: int) -> ThreadPoolExecutor:
    """This process's pool called ``name`` with ``size`` threads (made now if there is none
    of that size, or if it was made before a fork)."""
    with _lock:
        found = _pools.get(name)
        if found is None or found[0] != os.getpid() or found[1] != size:
            if found is not None and found[0] == os.getpid():
                found[2].shutdown(wait=False)
            pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
            _pools[name] = (os.getpid(), size, pool)
            return pool
        return found[2]
