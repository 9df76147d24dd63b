"""torch's process-wide settings, changed only for as long as hybrid's networks run.

torch keeps its CPU thread count and its deterministic-algorithms flag per process, not per
call. A library must not leave them changed behind its caller (``decode(..., threads=1)``
used to set the thread count for the rest of the process, and every enhanced decode turned
deterministic mode on for good), so :func:`torch_settings` sets them around the network
call and puts back what it found.

The settings are still process-wide while the block runs: another thread that runs torch
at the same time sees them. Nested and overlapping blocks (threads running decodes at once)
restore the state found by the first one to enter, once the last one leaves.

The one place that sets torch's thread count for good is a batch worker process
(:class:`hybrid.batch.pipeline.BatchWorker`), which owns its process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, bool, bool] | None = None


@contextmanager
def torch_settings(*, threads: int | None = None, deterministic: bool = True) -> Iterator[None]:
    """Run a block with torch's CPU thread count and deterministic flag set, then restore them.

    Args:
        threads: torch's intra-op CPU threads for the block (None: leave as found).
        deterministic: ``torch.use_deterministic_algorithms(True, warn_only=True)`` for the
            block: the same pixels run to run, where a kernel has a deterministic variant.

    The thread count and the flag (with its ``warn_only``) found on entry are restored on
    exit, also when the block raises.
    """
    import torch

    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = (
                torch.get_num_threads(),
                torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
            )
        _depth += 1
        _apply(torch, threads, deterministic)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                found_threads, found_deterministic, found_warn_only = _saved
                _saved = None
                if torch.get_num_threads() != found_threads:
                    torch.set_num_threads(found_threads)
                torch.use_deterministic_algorithms(found_deterministic, warn_only=found_warn_only)


def _apply(torch: Any, threads: int | None, deterministic: bool) -> None:
    if threads is not None and torch.get_num_threads() != int(threads):
        torch.set_num_threads(int(threads))
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
