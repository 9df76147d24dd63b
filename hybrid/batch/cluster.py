"""The Ray side of a batch: where it runs (embedded or an existing cluster), how many
workers, on which device, with how many threads.

By default :func:`start_ray` starts Ray embedded in this process on the local machine
(``num_cpus`` = the workers asked for, else every core; no dashboard; only errors logged);
``address`` joins an existing cluster (``"auto"``, ``"ray://head:10001"``, ...).
:func:`plan_placement` is a pure function of the cluster's resources: a job that runs a
network goes to the GPUs when the cluster has some (several workers share one GPU, each
with its own copy of the network, so the CPU work of decoding and PNG coding overlaps the
GPU's), else one worker per core; everything else (the encoder is CPU code) runs one
worker per core.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any, Literal

from hybrid.errors import ClusterError, InputError

Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class ClusterSettings:
    """How to run a batch on Ray.

    Attributes:
        address: an existing cluster's address; None: start Ray on this machine.
        workers: worker processes (Ray actors); None: one per CPU (per GPU share on GPUs).
        batch_size: images per batch: a worker writes one part of the results table per
            batch, so a killed run loses at most the batches in flight.
        device: ``auto`` (GPU for a network when the cluster has one), ``cpu`` or ``cuda``.
        gpus_per_worker: GPU share of a worker on GPUs (0.25: four workers per GPU).
        threads: torch threads per worker for a network on CPU; None: cores / workers.
        retries: times a pipeline that lost a worker is re-planned from the results table
            and resumed before the run fails.

    Raises:
        InputError: a value out of range.
    """

    address: str | None = None
    workers: int | None = None
    batch_size: int = 4
    device: Device = "auto"
    gpus_per_worker: float = 0.25
    threads: int | None = None
    retries: int = 2

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise InputError(f"workers must be at least 1, got {self.workers}")
        if self.batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {self.batch_size}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise InputError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not 0 < self.gpus_per_worker <= 1:
            raise InputError(f"GPUs per worker must be in (0, 1], got {self.gpus_per_worker}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be at least 1, got {self.threads}")
        if self.retries < 0:
            raise InputError(f"retries must be at least 0, got {self.retries}")


@dataclass(frozen=True)
class Placement:
    """What :func:`plan_placement` chose: ``workers`` actors, each reserving
    ``cpus_per_worker`` CPUs and ``gpus_per_worker`` GPUs, running on ``device`` with
    ``threads`` torch threads (None: not set, no network)."""

    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    device: str
    threads: int | None


def plan_placement(
    settings: ClusterSettings, cpus: float, gpus: float, uses_network: bool, batches: int
) -> Placement:
    """Workers and resources for a job on a cluster of ``cpus`` CPUs and ``gpus`` GPUs,
    never more workers than ``batches`` (at least one).

    Raises:
        InputError: ``device="cuda"`` on a cluster without GPUs.
    """
    if settings.device == "cuda" and gpus <= 0:
        raise InputError("--device cuda: the Ray cluster has no GPU")
    on_gpu = uses_network and gpus > 0 and settings.device != "cpu"
    limit = max(1, batches)
    if on_gpu:
        share = settings.gpus_per_worker
        workers = settings.workers or max(1, int(math.floor(gpus / share + 1e-9)))
        return Placement(min(workers, limit), 1.0, share, "cuda", settings.threads or 1)
    cores = max(1, int(cpus))
    workers = settings.workers or cores
    if not uses_network:
        return Placement(min(workers, limit), 1.0, 0.0, "cpu", None)
    threads = settings.threads or max(1, cores // workers)
    return Placement(min(workers, limit), float(min(threads, cores)), 0.0, "cpu", threads)


def embedded_cpus(settings: ClusterSettings) -> int:
    """CPUs an embedded Ray gets: ``workers`` x ``threads`` when given, else every core."""
    if settings.workers is None:
        return os.cpu_count() or 1
    return settings.workers * (settings.threads or 1)


def quiet_ray_data() -> None:
    """Ray Data without its progress bars and its INFO logs (the CLI draws its own bar)."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.enable_auto_log_stats = False
    context.print_on_execution_start = False
    for name in ("ray", "ray.data", "ray.serve", "ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _signal_handlers() -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signal_handlers(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


def start_ray(settings: ClusterSettings) -> tuple[bool, dict[str, float]]:
    """Start or join Ray; (whether this call started it, the cluster's resources).

    Raises:
        InputError: Ray is not installed, or the cluster at ``address`` cannot be reached.
        ClusterError: Ray failed to start here.
    """
    try:
        import ray
    except ImportError:
        raise InputError(
            "hybrid batch needs Ray: pip install 'hybrid-jpeg-codec[cluster]'"
        ) from None
    started = False
    if not ray.is_initialized():
        # Ray's core worker installs its own SIGTERM/SIGINT handlers (a stack dump, then
        # death); the command line's (SIGTERM = Ctrl-C: stop, summarize, resume later) are
        # put back once Ray is up.
        handlers = _signal_handlers()
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "configure_logging": True,
        }
        try:
            if settings.address:
                ray.init(address=settings.address, **options)
            else:
                ray.init(num_cpus=embedded_cpus(settings), **options)
        except ConnectionError as exc:
            raise InputError(f"cannot reach the Ray cluster at {settings.address}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; one line for each
            where = f" at {settings.address}" if settings.address else ""
            raise ClusterError(f"Ray could not start{where}: {type(exc).__name__}: {exc}") from None
        finally:
            _restore_signal_handlers(handlers)
        started = True
    quiet_ray_data()
    resources = {k: float(v) for k, v in ray.cluster_resources().items()}
    return started, resources


def stop_ray() -> None:
    """Shut Ray down (its workers end with it); never raises."""
    try:
        import ray

        ray.shutdown()
    except Exception:  # noqa: BLE001 - shutting down must not hide the run's own outcome
        pass


__all__ = [
    "ClusterSettings",
    "Placement",
    "embedded_cpus",
    "plan_placement",
    "quiet_ray_data",
    "start_ray",
    "stop_ray",
]
