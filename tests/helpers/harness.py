"""A crash-isolating fuzz harness for hybrid's readers (tests/robustness and scripts/fuzz.py).

Inputs run in a separate *worker process* (``multiprocessing`` spawn), because Pillow and
jpeglib run libjpeg in-process: a segfault there must show up as a finding, not kill pytest.
For every input the worker calls the four readers -- :func:`hybrid.info`,
:func:`hybrid.read_coefficients`, :func:`hybrid.decode` and ``hybrid.decode(enhance=True)``
with a small random network -- and classifies each outcome:

* ``ok`` (a result consistent with the headers), ``partial`` (a decode flagged as damaged,
  ``image.info["hybrid_damage"]``) or a :mod:`hybrid.errors` exception class name:
  acceptable;
* ``escape``: any other exception; ``memory``: :class:`MemoryError` (the worker runs under an
  address-space limit, ``RLIMIT_AS``); ``warning``: a warning other than the documented
  :class:`~hybrid.errors.JpegDataWarning` / :class:`~hybrid.errors.HybridMetadataWarning`;
  ``inconsistent``: a result whose size disagrees with the headers;
* ``crash``: the worker died (signal or exit status); ``hang``: no answer within the per-input
  time limit (the worker is killed). A fresh worker then goes on with the next input.

All but the first two kinds are findings. Inputs come from :mod:`tests.helpers.corpus`.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.helpers.corpus import sample_image

TARGETS = ("info", "coefficients", "decode", "enhance")
FINDINGS = ("crash", "hang", "memory", "escape", "warning", "inconsistent")

# --- the worker process -----------------------------------------------------------------------


def proc_status_bytes(field: str) -> int:
    """A ``/proc/self/status`` size field (``VmSize``, ``VmRSS``, ``VmHWM`` ...) in bytes.

    ``VmHWM`` is this process's own peak RSS. ``ru_maxrss`` is not: Linux carries the parent's
    high-water mark across fork + exec, so a child started by a big pytest process would
    report the parent's size.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _check_consistent(target: str, result: object, header: object) -> str | None:
    """Why a successful ``result`` contradicts the headers, or None."""
    if header is None:
        return None
    size = (header.width, header.height)  # type: ignore[attr-defined]
    if target in ("decode", "enhance"):
        meta = header.hybrid_metadata  # type: ignore[attr-defined]
        if target == "enhance" and meta is not None and meta.mode == "downscaled":
            size = (meta.original_width, meta.original_height)  # upscaled to the original
        got = getattr(result, "size", None)
        if got != size:
            return f"image size {got}, headers say {size}"
    if target == "coefficients":
        got = (result.width, result.height)  # type: ignore[attr-defined]
        if got != size:
            return f"frame size {got}, headers say {size}"
        for comp in result.components:  # type: ignore[attr-defined]
            if comp.coeffs.dtype != np.int16 or comp.coeffs.shape[2:] != (8, 8):
                return f"coefficients {comp.coeffs.dtype} {comp.coeffs.shape}"
    return None


def result_digest(result: object) -> str:
    """A short SHA-256 of a decoded image's pixels or a :class:`Frame`'s coefficients."""
    import hashlib

    if hasattr(result, "mode"):  # a PIL image
        arrays = [np.asarray(result)]
    else:
        arrays = [c.coeffs for c in result.components]  # type: ignore[attr-defined]
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _selftest(target: str) -> None:
    """Misbehaviours on purpose, to prove that the harness notices each kind."""
    if target == "selftest-crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif target == "selftest-hang":
        time.sleep(3600)
    elif target == "selftest-memory":
        bytearray(1 << 32)  # 4 GiB: more than the worker's address-space budget
    elif target == "selftest-escape":
        raise RuntimeError("escaped")
    elif target == "selftest-warning":
        warnings.warn("stray", UserWarning, stacklevel=1)
    else:
        raise ValueError(f"unknown target {target!r}")


def _run_target(target: str, data: bytes, weights: str | None, max_pixels: int | None,
                header: object) -> tuple[str, str, object]:  # fmt: skip
    """(outcome, detail, result or None) of one reader on ``data`` (see the module docstring)."""
    import hybrid
    from hybrid import errors
    from hybrid.errors import HybridError

    documented = tuple(
        w for w in vars(errors).values() if isinstance(w, type) and issubclass(w, Warning)
    )
    result: object = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if target == "info":
                result = hybrid.info(data)
            elif target == "coefficients":
                result = hybrid.read_coefficients(data, max_pixels=max_pixels)
            elif target == "decode":
                result = hybrid.decode(data, max_pixels=max_pixels)
            elif target == "enhance":
                result = hybrid.decode(data, enhance=True, weights=weights, max_pixels=max_pixels)
            else:
                _selftest(target)
            outcome, detail = "ok", ""
            problem = _check_consistent(target, result, header)
            if problem:
                outcome, detail = "inconsistent", problem
            elif getattr(result, "info", {}).get("hybrid_damage"):
                outcome, detail = "partial", result.info["hybrid_damage"]
        except HybridError as exc:
            outcome, detail = type(exc).__name__, str(exc)
        except MemoryError:
            outcome, detail = "memory", "MemoryError"
        except Exception as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(tb.filename).name}:{tb.lineno}"
            outcome, detail = "escape", f"{type(exc).__name__}: {exc} ({where})"
    if outcome in ("ok", "partial") and target in ("coefficients", "decode", "enhance"):
        detail = result_digest(result)
    stray = [w for w in caught if not issubclass(w.category, documented)]
    if stray and outcome not in FINDINGS:
        w = stray[0]
        outcome = "warning"
        detail = f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})"
    return outcome, detail, result if outcome in ("ok", "partial") else None


def _worker_main(conn, targets: tuple[str, ...], weights: str | None, max_pixels: int | None,
                 memory_budget: int) -> None:  # fmt: skip
    """Worker loop: receive (label, bytes), send per-target outcomes, until None."""
    import hybrid

    if "enhance" in targets:
        import torch

        torch.set_num_threads(1)
        # Warm up (imports, thread pools, the network cache) before the memory limit is set.
        warm = hybrid.encode(sample_image(16, 16, 0), quality=50)
        hybrid.decode(warm, enhance=True, weights=weights)
    baseline = proc_status_bytes("VmRSS")
    if memory_budget:
        limit = proc_status_bytes("VmSize") + memory_budget
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", baseline))
    while True:
        job = conn.recv()
        if job is None:
            break
        label, data, wanted = job
        start = time.perf_counter()
        results: dict[str, tuple[str, str]] = {}
        header = None
        if "info" in wanted:  # its result is also the reference for the other readers
            outcome, detail, header = _run_target("info", data, weights, max_pixels, None)
            results["info"] = (outcome, detail)
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    header = hybrid.info(data)
            except Exception:  # noqa: BLE001 - not a target here
                header = None
        for target in wanted:
            if target != "info":
                outcome, detail, _ = _run_target(target, data, weights, max_pixels, header)
                results[target] = (outcome, detail)
        conn.send(("done", results, time.perf_counter() - start, proc_status_bytes("VmHWM")))
    conn.close()


# --- the driver ---------------------------------------------------------------------------------


@dataclass
class Finding:
    label: str
    kind: str
    target: str
    detail: str


@dataclass
class Report:
    """What a run found. ``outcomes`` counts (target, outcome) pairs."""

    inputs: int = 0
    findings: list[Finding] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    slowest_input_s: float = 0.0
    baseline_rss: int = 0
    max_rss: int = 0
    workers_started: int = 0
    by_input: dict[str, dict[str, str]] = field(default_factory=dict)
    details_by_input: dict[str, dict[str, str]] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    def summary(self) -> str:
        mib = 1 << 20
        lines = [
            f"inputs fuzzed: {self.inputs}",
            *(f"{kind}: {self.count(kind)}" for kind in FINDINGS),
            f"max memory (worker peak RSS): {self.max_rss / mib:.0f} MiB "
            f"(after imports: {self.baseline_rss / mib:.0f} MiB, "
            f"growth {max(0, self.max_rss - self.baseline_rss) / mib:.0f} MiB)",
            f"slowest input: {self.slowest_input_s:.2f} s; total {self.seconds:.0f} s "
            f"({self.inputs / max(self.seconds, 1e-9):.0f} inputs/s)",
        ]
        by_target: dict[str, Counter] = {}
        for (target, outcome), k in self.outcomes.items():
            by_target.setdefault(target, Counter())[outcome] = k
        for target in TARGETS:
            if target in by_target:
                parts = ", ".join(f"{o} {k}" for o, k in by_target[target].most_common())
                lines.append(f"  {target}: {parts}")
        for f in self.findings[:20]:
            lines.append(f"  FINDING {f.kind} [{f.target}] input {f.label}: {f.detail}")
        return "\n".join(lines)


class _Worker:
    def __init__(self, targets, weights, max_pixels, memory_budget, startup_timeout=120.0):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main,
            args=(child, targets, weights, max_pixels, memory_budget),
            daemon=True,
        )
        self.process.start()
        child.close()
        if not self.conn.poll(startup_timeout):
            self.kill()
            raise RuntimeError("the fuzz worker did not start")
        tag, self.baseline = self.conn.recv()
        assert tag == "ready"

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)
        self.conn.close()


def _death(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Harness:
    """A reusable crash-isolated runner (its worker survives between :meth:`run` calls).

    Args:
        targets: readers to call per input (see :data:`TARGETS`).
        weights: a user weights file for the ``enhance`` target (a :func:`tiny_weights`
            network is made if None and ``enhance`` is asked for).
        timeout_s: per-input limit for all targets together; past it the input is a hang.
        memory_budget_mib: address space the worker may add after its imports (RLIMIT_AS).
        max_pixels: the readers' pixel limit (the default keeps a legitimate decode of a
            mutated header within the memory budget).
    """

    def __init__(
        self,
        targets: Sequence[str] = TARGETS,
        *,
        weights: str | os.PathLike[str] | None = None,
        timeout_s: float = 20.0,
        memory_budget_mib: int = 1024,
        max_pixels: int | None = 20_000_000,
    ) -> None:
        self.targets = tuple(targets)
        self._tmp = None
        if "enhance" in self.targets and weights is None:
            self._tmp = tempfile.TemporaryDirectory()
            weights = tiny_weights(Path(self._tmp.name) / "tiny.pt")
        self.weights = os.fspath(weights) if weights is not None else None
        self.timeout_s = timeout_s
        self.memory_budget = memory_budget_mib << 20
        self.max_pixels = max_pixels
        self._worker: _Worker | None = None

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def run(
        self,
        inputs: Iterable[tuple[str, bytes]],
        progress_every: int = 0,
        keep_outcomes: bool = False,
        targets: Sequence[str] | None = None,
    ) -> Report:
        """Run every (label, bytes) input; print progress to stderr every so many inputs;
        with ``keep_outcomes`` record each input's outcomes in ``Report.by_input`` (and the
        details: the message, or a digest of the pixels/coefficients, in ``details_by_input``);
        ``targets``: a subset of the harness's readers for this run."""
        wanted = tuple(targets) if targets is not None else self.targets
        if not set(wanted) <= set(self.targets):
            raise ValueError(f"targets {wanted} are not all among {self.targets}")
        report = Report()
        start = time.perf_counter()
        for label, data in inputs:
            if self._worker is None:
                self._worker = _Worker(
                    self.targets, self.weights, self.max_pixels, self.memory_budget
                )
                report.workers_started += 1
            worker = self._worker
            report.baseline_rss = max(report.baseline_rss, worker.baseline)
            report.inputs += 1
            try:
                worker.conn.send((label, data, wanted))
                answered = worker.conn.poll(self.timeout_s)
                reply = worker.conn.recv() if answered else None
            except (EOFError, OSError):
                answered, reply = True, None
            if reply is None:
                if keep_outcomes:
                    report.by_input[label] = {"*": "hang" if not answered else "crash"}
                if not answered:
                    worker.kill()
                    detail = f"no answer in {self.timeout_s:g} s"
                    report.findings.append(Finding(label, "hang", "*", detail))
                else:
                    worker.process.join(10)
                    report.findings.append(Finding(label, "crash", "*", _death(worker.process)))
                    worker.kill()
                self._worker = None
                continue
            _, results, seconds, maxrss = reply
            report.slowest_input_s = max(report.slowest_input_s, seconds)
            report.max_rss = max(report.max_rss, maxrss)
            if keep_outcomes:
                report.by_input[label] = {t: o for t, (o, _) in results.items()}
                report.details_by_input[label] = {t: d for t, (_, d) in results.items()}
            for target, (outcome, detail) in results.items():
                report.outcomes[(target, outcome)] += 1
                if outcome in FINDINGS:
                    report.findings.append(Finding(label, outcome, target, detail))
            if progress_every and report.inputs % progress_every == 0:
                print(
                    f"[fuzz] {report.inputs} inputs, {len(report.findings)} findings, "
                    f"{time.perf_counter() - start:.0f} s, peak RSS {report.max_rss >> 20} MiB",
                    file=sys.stderr,
                    flush=True,
                )
        report.seconds = time.perf_counter() - start
        return report


def run_inputs(
    inputs: Iterable[tuple[str, bytes]],
    targets: Sequence[str] = TARGETS,
    *,
    progress_every: int = 0,
    **options: object,
) -> Report:
    """One :class:`Harness` run with a fresh worker (``options`` as for :class:`Harness`)."""
    with Harness(targets, **options) as harness:  # type: ignore[arg-type]
        return harness.run(inputs, progress_every)


def tiny_weights(path: Path, channels: int = 8, blocks: int = 1, seed: int = 0) -> Path:
    """A user weights file holding a randomly initialised :class:`EnhanceNet` (non-zero tail,
    so the network really changes pixels)."""
    import torch

    from hybrid.enhance.nets import EnhanceNet

    torch.manual_seed(seed)
    net = EnhanceNet(channels, blocks)
    with torch.no_grad():
        for p in net.parameters():
            if not p.abs().sum():
                p.normal_(0.0, 0.02)
    torch.save(
        {"model": net.state_dict(), "architecture": "EnhanceNet",
         "kwargs": {"channels": channels, "blocks": blocks}},
        path,
    )  # fmt: skip
    return path
