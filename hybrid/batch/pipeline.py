"""The batch engine: plan the inputs, skip what the results table says is done, and run the
rest through a Ray Data pipeline of worker actors.

Each worker (an actor of a ``map_batches`` callable class) loads the network once, does
its batches image by image (:func:`hybrid.batch.work.process`) and writes one part of the
results table per batch, after the batch's outputs are in place. The driver only plans,
counts and reports: killing it (Ctrl-C, SIGTERM, even SIGKILL) loses at most the batches
in flight, and the next run with the same arguments redoes exactly those.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybrid.batch import results, storage
from hybrid.batch.cluster import (
    ClusterSettings,
    Placement,
    plan_placement,
    start_ray,
    stop_ray,
)
from hybrid.batch.inputs import Item, Plan, plan_inputs
from hybrid.batch.jobs import BatchJob
from hybrid.batch.work import WorkerSetup, allow_pixels, failure_row, process
from hybrid.errors import ClusterError, InputError

#: Columns a worker sends back to the driver for the progress bar and the summary.
REPORT_COLUMNS = ("input", "status", "error", "bytes_in", "bytes_out", "width", "height")
#: Failure messages a report keeps (the results table has all of them).
KEEP_FAILURES = 20
#: At most this many Ray blocks (a block holds whole batches).
MAX_BLOCKS = 20_000


@dataclass(frozen=True)
class BatchRequest:
    """A batch: ``job`` over ``inputs`` (folders, globs, files) and the files the
    ``manifests`` list, into the folder ``output``.

    Attributes:
        accept: lower-case suffixes taken from folders and globs (e.g. ``{".png", ".jpg"}``).
        force: redo every input, replacing outputs the results table says are done.
        cluster: where and how to run (:class:`~hybrid.batch.cluster.ClusterSettings`).

    Raises:
        InputError: no inputs, or no output folder.
    """

    job: BatchJob
    inputs: tuple[str, ...]
    output: str
    manifests: tuple[str, ...] = ()
    accept: frozenset[str] = frozenset()
    force: bool = False
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    def __post_init__(self) -> None:
        if not self.inputs and not self.manifests:
            raise InputError("give inputs (folders, globs, files) or --manifest")
        if not self.output or self.output == "-":
            raise InputError("a batch writes to an output folder (-o DIR)")


@dataclass(frozen=True)
class BatchReport:
    """What a run did.

    Attributes:
        found: inputs planned (problems included); skipped: done by an earlier run.
        ok, failed: images done and failed in this run (planning problems count as failed).
        pixels, bytes_in, bytes_out: totals over this run's ``ok`` images.
        seconds: wall time of the processing (from the first dispatch to the last row);
            startup_seconds: Ray's start and the planning before it.
        failures: the first :data:`KEEP_FAILURES` failures, ``input: error``.
        interrupted: the run was stopped (Ctrl-C / SIGTERM) before the end.
        temps_removed: temp files of killed writers deleted before and after the run.
        placement: the workers used (None when nothing ran).
        job: the job's kind (``encode``, ``decode``, ``transcode``).
    """

    found: int
    skipped: int
    ok: int
    failed: int
    pixels: int
    bytes_in: int
    bytes_out: int
    seconds: float
    startup_seconds: float
    failures: tuple[str, ...]
    interrupted: bool
    temps_removed: int
    placement: Placement | None
    job: str = "encode"


@dataclass
class _Tally:
    """Running totals of the rows coming back (the driver's only state)."""

    ok: int = 0
    failed: int = 0
    pixels: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    failures: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.seen.add(row["input"])
            if row["status"] == "ok":
                self.ok += 1
                self.pixels += (row["width"] or 0) * (row["height"] or 0)
                self.bytes_in += row["bytes_in"] or 0
                self.bytes_out += row["bytes_out"] or 0
            else:
                self.failed += 1
                if len(self.failures) < KEEP_FAILURES:
                    error, name = row["error"] or "", row["input"]
                    self.failures.append(error if name in error else f"{name}: {error}")


class BatchWorker:
    """The ``map_batches`` callable class: built once per worker process, where it loads
    the network (if the job has one) and sets torch's threads; then called per batch."""

    def __init__(self, job: BatchJob, output_root: str, setup: WorkerSetup) -> None:
        self.job, self.output_root, self.setup = job, output_root, setup
        settings = job.encode if job.encode is not None else job.decode
        allow_pixels(settings.max_pixels if settings is not None else None)
        if job.uses_network:
            import torch

            if setup.threads:  # for good: the worker owns its process (enhance/torch_state.py)
                torch.set_num_threads(setup.threads)
            if job.decode is not None:
                from hybrid.enhance import get_network

                try:
                    get_network(job.decode.model, job.decode.weights, setup.device)
                except InputError:
                    pass  # no usable weights: every image fails with its own one-line row

    def __call__(self, batch: Any) -> Any:
        """``batch``: a pyarrow table of ``input``, ``output``, ``overwrite``; returns a
        pyarrow table of :data:`REPORT_COLUMNS`, one row per image."""
        rows = [
            process(self.job, Item(src, dst), overwrite=bool(over), setup=self.setup)
            for src, dst, over in zip(
                batch.column("input").to_pylist(),
                batch.column("output").to_pylist(),
                batch.column("overwrite").to_pylist(),
                strict=True,
            )
        ]
        _write_rows(self.output_root, rows)
        return results.to_table(rows).select(list(REPORT_COLUMNS))


def _write_rows(output_root: str, rows: list[dict[str, Any]], attempts: int = 3) -> None:
    """:func:`hybrid.batch.results.write_part`, retried (a remote store's hiccup)."""
    for attempt in range(attempts):
        try:
            results.write_part(output_root, rows)
            return
        except InputError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * 2**attempt)


@dataclass(frozen=True)
class WorkSplit:
    """What a run does: ``todo`` (in input order), ``problems`` (failure rows for inputs
    that cannot be done), ``overwrite`` (inputs whose existing output may be replaced) and
    ``skipped`` (inputs done by an earlier run)."""

    todo: tuple[Item, ...]
    problems: tuple[dict[str, Any], ...]
    overwrite: frozenset[str]
    skipped: int


def split_work(
    plan: Plan,
    job: BatchJob,
    last: dict[str, results.LastRow],
    present: dict[str, int],
    force: bool,
    owned: bool,
) -> WorkSplit:
    """Split ``plan`` by the results table's newest rows (``last``) and the files
    ``present`` under the output folder (path -> size).

    An existing output is replaced with ``force``, or when the folder is the batch's own
    (``owned``: its results table existed before this run) and no ``ok`` row stands for it:
    it was written by a run killed before its row. In a folder new to batches an existing
    output is a failure (``OutputExistsError``), and stays one on later runs.
    """
    done = set() if force else results.completed(last, present)
    problems = [
        failure_row(job, Item(storage.normalize(src), ""), why, "InputError")
        for src, why in plan.problems
    ]
    todo, overwrite = [], set()
    for item in plan.items:
        if item.input in done:
            continue
        previous = last.get(item.input)
        refused = previous is not None and previous.error_type == "OutputExistsError"
        if item.output in present and (force or (owned and not refused)):
            overwrite.add(item.input)
        elif item.output in present:
            message = f"{item.output}: output exists (use --force to overwrite)"
            problems.append(failure_row(job, item, message, "OutputExistsError"))
            continue
        todo.append(item)
    return WorkSplit(tuple(todo), tuple(problems), frozenset(overwrite), len(done))


def plan_work(
    plan: Plan, job: BatchJob, output_root: str, force: bool, owned: bool
) -> tuple[WorkSplit, results.Snapshot, list[str]]:
    """Read the results table and list the output folder, delete killed writers' temp
    files, and :func:`split_work`; (the split, the table read, the temps removed)."""
    snapshot = results.read_snapshot(output_root)
    present = storage.list_files(output_root)
    removed = storage.sweep_temps(output_root, present)
    last = results.last_rows(snapshot.table, job.fingerprint())
    return split_work(plan, job, last, present, force, owned), snapshot, removed


def _dataset(todo: tuple[Item, ...], overwrite: frozenset[str], batch_size: int) -> Any:
    import ray.data

    blocks = min(MAX_BLOCKS, max(1, math.ceil(len(todo) / batch_size)))
    items = [
        {"input": i.input, "output": i.output, "overwrite": i.input in overwrite} for i in todo
    ]
    try:
        return ray.data.from_items(items, override_num_blocks=blocks)
    except TypeError:  # Ray < 2.10 names it parallelism
        return ray.data.from_items(items, parallelism=blocks)


def _run_ray(
    job: BatchJob,
    output_root: str,
    todo: tuple[Item, ...],
    overwrite: frozenset[str],
    settings: ClusterSettings,
    resources: dict[str, float],
    tally: _Tally,
    on_progress: Callable[[int], None],
) -> Placement:
    import ray.data

    batches = math.ceil(len(todo) / settings.batch_size)
    placement = plan_placement(
        settings, resources.get("CPU", 1.0), resources.get("GPU", 0.0), job.uses_network, batches
    )
    setup = WorkerSetup(device=placement.device, threads=placement.threads)
    remote_args: dict[str, Any] = {"num_cpus": placement.cpus_per_worker}
    if placement.gpus_per_worker:
        remote_args["num_gpus"] = placement.gpus_per_worker
    # No actor restarts and no task retries inside Ray: a worker that dies (a lost node, an
    # image that exhausts memory) fails the pipeline, and run_batch re-plans from the results
    # table, a bounded number of times, instead of Ray retrying a poisonous batch forever.
    # (max_restarts is only accepted as a "remote arg", which Ray Data calls deprecated.)
    dataset = _dataset(todo, overwrite, settings.batch_size)
    options: dict[str, Any] = {
        "fn_constructor_args": (job, output_root, setup),
        "batch_size": settings.batch_size,
        "batch_format": "pyarrow",
        # Two batches in flight per worker: Ray Data's default (4) queues most of a short
        # job on whichever actor is ready first while the others still start (2 workers
        # gave 1.0-1.5x); one in flight leaves each worker idle ~30 % of the time waiting
        # for its next batch. Two keep both busy (92 % CPU each; 1.75x baseline, 1.93x
        # --best over 360 images, BENCHMARKS.md).
        "compute": ray.data.ActorPoolStrategy(
            size=placement.workers, max_tasks_in_flight_per_actor=2
        ),
        **remote_args,
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        try:
            mapped = dataset.map_batches(BatchWorker, max_restarts=0, **options)
        except TypeError:  # a Ray without remote args in map_batches: its own retries
            mapped = dataset.map_batches(BatchWorker, **options)
    for batch in mapped.iter_batches(batch_size=None, batch_format="pyarrow"):
        rows = batch.to_pylist()
        tally.add(rows)
        on_progress(len(rows))
    return placement


def run_batch(
    request: BatchRequest, on_start: Callable[[int, int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BatchReport:  # fmt: skip
    """Run ``request``; a report of what this run did.

    ``on_start(todo, skipped)`` is called once the work is planned, ``on_progress(n)``
    after every ``n`` images. Ctrl-C (KeyboardInterrupt) stops the run and returns a report
    with ``interrupted``: finished work is kept and a rerun resumes.

    Raises:
        InputError: unusable options or output folder, Ray missing or unreachable.
        ClusterError: Ray failed beyond retrying.
    """
    started_at = time.perf_counter()
    job, output_root = request.job, storage.normalize(request.output)
    plan = plan_inputs(request.inputs, request.manifests, output_root, job.suffix, request.accept)
    owned = storage.exists(results.results_folder(output_root))
    storage.make_dirs(results.results_folder(output_root))
    split, snapshot, removed = plan_work(plan, job, output_root, request.force, owned)
    results.compact(output_root, snapshot)  # a killed run's many small parts become one
    results.write_part(output_root, list(split.problems))
    tally = _Tally()
    tally.add(list(split.problems))
    if on_start is not None:
        on_start(len(split.todo), split.skipped)
    todo, overwrite = split.todo, split.overwrite
    placement, interrupted, ray_started = None, False, False
    run_started = time.perf_counter()
    try:
        if todo:
            ray_started, resources = start_ray(request.cluster)
            run_started = time.perf_counter()
        for attempt in range(request.cluster.retries + 1):
            if not todo:
                break
            try:
                placement = _run_ray(
                    job, output_root, todo, overwrite, request.cluster, resources, tally,
                    on_progress or (lambda _n: None),
                )  # fmt: skip
                break
            except (InputError, ClusterError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - Ray's own failures, as one line
                if attempt == request.cluster.retries:
                    raise ClusterError(
                        f"the Ray pipeline failed {attempt + 1} times, last: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None
            # A worker was lost: what it had not logged is redone (its outputs replaced).
            again, _, _ = plan_work(plan, job, output_root, request.force, True)
            todo = tuple(item for item in again.todo if item.input not in tally.seen)
            overwrite = again.overwrite
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if ray_started:
            stop_ray()
    finished = time.perf_counter()
    if not interrupted:
        results.compact(output_root)
    # Again now that this run's workers are stopped: a killed run's writer that was still
    # alive when this run began (an orphaned Ray worker on its way out) has gone since.
    removed = sorted({*removed, *storage.sweep_temps(output_root)})
    return BatchReport(
        found=len(plan.items) + len(plan.problems),
        skipped=split.skipped,
        ok=tally.ok,
        failed=tally.failed,
        pixels=tally.pixels,
        bytes_in=tally.bytes_in,
        bytes_out=tally.bytes_out,
        seconds=finished - run_started,
        startup_seconds=run_started - started_at,
        failures=tuple(tally.failures),
        interrupted=interrupted,
        temps_removed=len(removed),
        placement=placement,
        job=job.kind,
    )


__all__ = [
    "BatchReport",
    "BatchRequest",
    "BatchWorker",
    "WorkSplit",
    "plan_work",
    "run_batch",
    "split_work",
]
