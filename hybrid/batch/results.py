"""The results table: one Parquet row per image done or failed, which is also the resume log.

Rows live in ``OUTPUT/_hybrid_results/part-*.parquet``. Each worker writes one part per
batch it finishes, atomically (:func:`hybrid.batch.storage.write_atomic`), after every
output of the batch is in place, so a row that says ``ok`` always names a complete file; a
run killed with SIGKILL loses only the rows of batches in flight, whose images are redone.
Rows are only ever added: an image redone later has several rows, and the newest one
(``finished``) counts.

Columns (:func:`schema`): ``input``, ``output``, ``job``, ``status`` (``ok``/``failed``),
``error`` (one line, failed rows), ``error_type`` (its exception class, e.g.
``CorruptJPEGError``, ``OutputExistsError``), ``warning`` (one line, e.g. damaged data
decoded), ``bytes_in``, ``bytes_out``, ``width``/``height`` (pixels of the original image:
the source of an encode, the decoded output of a decode), ``bpp`` (bits per pixel of the
JPEG side), ``quality`` (chosen or given; a decode: the input's estimated quality),
``scale``, ``model`` (the network asked for or recorded), ``psnr`` (dB, where measured),
``seconds`` (wall time in the worker), ``cpu_seconds`` (CPU time of the worker process
for the image), ``worker`` (host:pid), ``finished`` (UTC) and ``settings``
(:meth:`hybrid.batch.jobs.BatchJob.fingerprint`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hybrid.batch import storage
from hybrid.errors import InputError

RESULTS_FOLDER = "_hybrid_results"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
#: Parts merged into one at the end of a run when there are more than this many.
COMPACT_ABOVE = 64

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("input", "string"),
    ("output", "string"),
    ("job", "string"),
    ("status", "string"),
    ("error", "string"),
    ("error_type", "string"),
    ("warning", "string"),
    ("bytes_in", "int64"),
    ("bytes_out", "int64"),
    ("width", "int64"),
    ("height", "int64"),
    ("bpp", "float64"),
    ("quality", "float64"),
    ("scale", "float64"),
    ("model", "string"),
    ("psnr", "float64"),
    ("seconds", "float64"),
    ("cpu_seconds", "float64"),
    ("worker", "string"),
    ("finished", "timestamp"),
    ("settings", "string"),
)
COLUMNS: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)


def _pyarrow() -> Any:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401 - reads, writes parts
    except ImportError:
        raise InputError(
            "the results table needs pyarrow: pip install 'hybrid-jpeg-codec[cluster]'"
        ) from None
    return pa


def schema() -> Any:
    """The results table's ``pyarrow.Schema``."""
    pa = _pyarrow()
    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(name, types[kind]) for name, kind in _COLUMNS])


def results_folder(output_root: str) -> str:
    """``OUTPUT/_hybrid_results``."""
    return storage.join(output_root, RESULTS_FOLDER)


def to_table(rows: Iterable[dict[str, Any]]) -> Any:
    """Rows (dicts; missing columns are null) as a ``pyarrow.Table`` of :func:`schema`."""
    pa = _pyarrow()
    return pa.Table.from_pylist([{c: row.get(c) for c in COLUMNS} for row in rows], schema())


def parquet_bytes(table: Any) -> bytes:
    """``table`` as the bytes of a Parquet file (zstd)."""
    pa = _pyarrow()
    sink = pa.BufferOutputStream()
    pa.parquet.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_part(output_root: str, rows: list[dict[str, Any]]) -> str | None:
    """Write ``rows`` as a new part file, atomically; its path (None for no rows).

    Raises:
        InputError: the part cannot be written.
    """
    if not rows:
        return None
    return _write_table(output_root, to_table(rows))


def _write_table(output_root: str, table: Any) -> str:
    name = f"{PART_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:12]}{PART_SUFFIX}"
    path = storage.join(results_folder(output_root), name)
    storage.write_atomic(path, parquet_bytes(table))
    return path


def part_files(output_root: str) -> list[str]:
    """The part files present, in name order (time order)."""
    folder = results_folder(output_root)
    return sorted(
        path
        for path in storage.list_files(folder)
        if storage.split(path)[1].startswith(PART_PREFIX) and path.endswith(PART_SUFFIX)
    )


@dataclass(frozen=True)
class Snapshot:
    """The results table as read at one moment: every row (a ``pyarrow.Table`` of
    :func:`schema`), the parts they came from, and parts that could not be read (never
    expected: parts are written whole; such a part is left alone and its images redone)."""

    table: Any
    parts: tuple[str, ...]
    unreadable: tuple[str, ...]


def read_snapshot(output_root: str) -> Snapshot:
    """Read every part (concurrently from a remote store)."""
    pa = _pyarrow()
    paths = part_files(output_root)
    tables, parts, unreadable = [], [], []
    for path, data in storage.read_many(paths).items():
        try:
            if isinstance(data, BaseException):
                raise InputError(str(data))
            # Read in this thread only (no pre-buffering, no thread pool): otherwise an
            # arrow I/O thread may drop the last reference to the buffer (a Python bytes
            # object) after the call returns, even while the interpreter shuts down, and
            # taking the GIL then aborts the process.
            with pa.parquet.ParquetFile(pa.BufferReader(data), pre_buffer=False) as part:
                table = part.read(use_threads=False)
            tables.append(table.select(list(COLUMNS)).cast(schema()))
            parts.append(path)
        except (InputError, OSError, ValueError, KeyError, pa.ArrowException):
            unreadable.append(path)
    table = pa.concat_tables(tables) if tables else schema().empty_table()
    return Snapshot(table, tuple(parts), tuple(unreadable))


def read_results(output_root: str) -> tuple[Any, list[str]]:
    """Every row as one ``pyarrow.Table``, and the parts that could not be read."""
    snapshot = read_snapshot(output_root)
    return snapshot.table, list(snapshot.unreadable)


def latest_rows(table: Any) -> dict[str, dict[str, Any]]:
    """The newest row of each input (by ``finished``), input -> row (every column; for
    inspecting small tables: a million rows as dicts take gigabytes, see :func:`last_rows`)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(table.to_pylist(), key=lambda r: r["finished"] or 0):
        latest[row["input"]] = row
    return latest


@dataclass(frozen=True)
class LastRow:
    """What resuming needs of an input's newest row."""

    output: str
    ok: bool
    same_settings: bool
    bytes_out: int | None
    error_type: str | None


def last_rows(table: Any, fingerprint: str) -> dict[str, LastRow]:
    """The newest row of each input (by ``finished``), input -> :class:`LastRow`;
    ``same_settings``: made with the job whose fingerprint is ``fingerprint``."""
    pa = _pyarrow()
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    ordered = table.take(pc.sort_indices(table, sort_keys=[("finished", "ascending")]))
    same = pc.fill_null(pc.equal(ordered.column("settings"), pa.scalar(fingerprint)), False)
    columns = zip(
        ordered.column("input").to_pylist(),
        ordered.column("output").to_pylist(),
        ordered.column("status").to_pylist(),
        same.to_pylist(),
        ordered.column("bytes_out").to_pylist(),
        ordered.column("error_type").to_pylist(),
        strict=True,
    )
    return {
        name: LastRow(output, status == "ok", bool(settings), size, error_type)
        for name, output, status, settings, size, error_type in columns
    }


def completed(last: dict[str, LastRow], present: dict[str, int]) -> set[str]:
    """Inputs that need no work: the newest row says ``ok`` with these settings, and its
    output is ``present`` (path -> size) at the size the row recorded."""
    return {
        name
        for name, row in last.items()
        if row.ok and row.same_settings and present.get(row.output) == row.bytes_out
    }


def compact(output_root: str, snapshot: Snapshot | None = None) -> int:
    """Merge the parts of ``snapshot`` (default: read now) into one when there are more than
    :data:`COMPACT_ABOVE`; how many were merged (0: none). Parts written since the snapshot
    are left alone. The merged part is written before the old ones are deleted, so an
    interruption leaves duplicate rows (harmless: the newest row counts), never lost ones."""
    snapshot = read_snapshot(output_root) if snapshot is None else snapshot
    if len(snapshot.parts) <= COMPACT_ABOVE:
        return 0
    _write_table(output_root, snapshot.table)
    for path in snapshot.parts:
        storage.remove(path)
    return len(snapshot.parts)


__all__ = [
    "COLUMNS",
    "RESULTS_FOLDER",
    "LastRow",
    "Snapshot",
    "compact",
    "completed",
    "last_rows",
    "latest_rows",
    "read_snapshot",
    "parquet_bytes",
    "part_files",
    "read_results",
    "results_folder",
    "schema",
    "to_table",
    "write_part",
]
