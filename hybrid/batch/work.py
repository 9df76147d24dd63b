"""Doing one image: the :mod:`hybrid.api` calls that ``hybrid encode`` / ``hybrid decode``
make, and the results row (:mod:`hybrid.batch.results`) that says what happened.

:func:`process` never raises for one image: a bad input (corrupt, truncated, not an image,
unreadable, an output that exists) and even a bug become a ``failed`` row with a one-line
error. The row is returned only after the output is in place (renamed, or moved on a remote
store).
"""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from hybrid.batch import storage
from hybrid.batch.inputs import Item
from hybrid.batch.jobs import BatchJob, DecodeSettings, EncodeSettings
from hybrid.errors import InputError


@dataclass(frozen=True)
class WorkerSetup:
    """How one worker runs: ``device`` (``cpu`` or ``cuda``) and torch ``threads`` of a
    network (None: torch's default)."""

    device: str = "cpu"
    threads: int | None = None


def allow_pixels(max_pixels: int | None) -> None:
    """In a worker process, as ``hybrid encode --max-pixels`` does in its own: switch off
    Pillow's fixed bomb check (178,956,970 pixels) when the job's limit is higher or None;
    hybrid checks the size itself before decoding."""
    from hybrid.io import DEFAULT_MAX_PIXELS

    if max_pixels is None or max_pixels > DEFAULT_MAX_PIXELS:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None


def one_line(text: object) -> str:
    """``text`` on one line, runs of white space as one space."""
    return " ".join(str(text).split())


def _jpeg_size(header: Any) -> tuple[int, int]:
    """(width, height) of the original image a JPEG was made from (a downscaled file records
    it), else of the JPEG itself."""
    meta = header.hybrid_metadata
    if meta is not None and meta.mode == "downscaled":
        return meta.original_width, meta.original_height
    return header.width, header.height


def _source_psnr(source: Any, data: bytes, max_pixels: int | None) -> float | None:
    """PSNR-RGB (dB) of the plain decode of ``data`` against the pixels of ``source``; None
    when the sizes differ (a downscaled file)."""
    import numpy as np

    from hybrid.api import decode_array
    from hybrid.io import load_image
    from hybrid.metrics import psnr

    original = load_image(source, max_pixels=max_pixels).pixels
    decoded = np.round(decode_array(data, enhance=False) * 255.0)
    decoded = decoded[:, :, 0] if original.ndim == 2 else decoded
    if decoded.shape != original.shape:
        return None
    return psnr(original, decoded)


def _encode(settings: EncodeSettings, item: Item, overwrite: bool) -> dict[str, Any]:
    from hybrid.api import encode, encode_to_target, info

    local_in = not storage.is_remote(item.input)
    source: Any = item.input if local_in else storage.read_bytes(item.input)
    bytes_in = storage.file_size(item.input) if local_in else len(source)
    local_out = not storage.is_remote(item.output)
    if local_out:
        storage.make_dirs(storage.split(item.output)[0])
    target = item.output if local_out else None  # a local file is written by the API
    if settings.planned:
        data, result = encode_to_target(
            source, target, force=overwrite, **settings.api_kwargs(), **settings.planning_kwargs()
        )
        quality, scale = result.quality, result.scale
        psnr = result.value if result.metric == "psnr" else None
    else:
        data = encode(source, target, force=overwrite, **settings.api_kwargs())
        quality, scale, psnr = float(settings.quality), 1.0, None
    if not local_out:
        storage.write_atomic(item.output, data, force=overwrite)
    header = info(data)
    width, height = _jpeg_size(header)
    if settings.measure_psnr and psnr is None:
        psnr = _source_psnr(source, data, settings.max_pixels)
    meta = header.hybrid_metadata
    return {
        "bytes_in": bytes_in,
        "bytes_out": len(data),
        "width": width,
        "height": height,
        "bpp": 8.0 * len(data) / (width * height),
        "quality": quality,
        "scale": scale,
        "model": (meta.model_id or None) if meta is not None else None,
        "psnr": psnr if psnr is None or math.isfinite(psnr) else None,
    }


def _model_used(settings: DecodeSettings, header: Any, resized: bool) -> str | None:
    """The network asked for, else the one the file records, else the default's name."""
    if not settings.enhance:
        return None
    if settings.weights:
        return os.path.basename(settings.weights)
    meta = header.hybrid_metadata
    recorded = meta.model_id if meta is not None and meta.model_id else None
    if resized:
        return settings.sr_model or recorded or "default super-resolution model"
    if settings.model:
        return settings.model
    if recorded and meta.mode != "downscaled":
        return recorded
    from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL

    return DEFAULT_ENHANCE_MODEL


def _decode(
    settings: DecodeSettings, item: Item, overwrite: bool, setup: WorkerSetup
) -> dict[str, Any]:
    from hybrid.api import decode, info
    from hybrid.io import check_output_path
    from hybrid.outputs import OUTPUT_FORMATS, encode_image

    data = storage.read_bytes(item.input)
    if not storage.is_remote(item.output):
        storage.make_dirs(storage.split(item.output)[0])
        check_output_path(item.output, overwrite)  # fail before decoding, as hybrid decode
    header = info(data)
    image = decode(data, settings.enhance, **settings.api_kwargs(setup.device, setup.threads))
    fmt, options = OUTPUT_FORMATS[settings.format]
    out = encode_image(image, fmt, options)
    storage.write_atomic(item.output, out, force=overwrite)
    width, height = image.size
    coded = header.width * header.height
    return {
        "bytes_in": len(data),
        "bytes_out": len(out),
        "width": width,
        "height": height,
        "bpp": 8.0 * len(data) / coded if coded else None,
        "quality": header.estimated_quality,
        "scale": width / header.width if header.width else None,
        "model": image.info.get("hybrid_model")  # the enhancement model chosen, if one ran
        or _model_used(settings, header, (width, height) != (header.width, header.height)),
    }


def _failure(item: Item, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, InputError):
        message = str(exc)
    elif isinstance(exc, OSError):
        message = f"{item.input}: {exc.strerror or exc}"
    elif isinstance(exc, MemoryError):
        message = f"{item.input}: out of memory"
    else:
        message = f"internal error: {type(exc).__name__}: {exc}"
    return {"status": "failed", "error": one_line(message), "error_type": type(exc).__name__}


def process(
    job: BatchJob, item: Item, *, overwrite: bool = False, setup: WorkerSetup = WorkerSetup()
) -> dict[str, Any]:
    """Do ``job`` to ``item`` and return its results row (a dict of
    :data:`hybrid.batch.results.COLUMNS`); never raises for the image's sake.

    ``overwrite``: replace an existing output (else that is a failure, as without
    ``--force`` in ``hybrid encode``).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {
        "input": item.input,
        "output": item.output,
        "job": job.kind,
        "settings": job.fingerprint(),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if job.encode is not None:
                row.update(_encode(job.encode, item, overwrite), status="ok")
            else:
                assert job.decode is not None
                row.update(_decode(job.decode, item, overwrite, setup), status="ok")
        except Exception as exc:  # noqa: BLE001 - one image's failure is a row, never a crash
            row.update(_failure(item, exc))
    if row.get("bytes_in") is None:
        try:
            row["bytes_in"] = storage.file_size(item.input)
        except InputError:
            pass
    messages = dict.fromkeys(one_line(w.message) for w in caught)
    row["warning"] = "; ".join(messages) or None
    row["seconds"] = time.perf_counter() - start
    row["cpu_seconds"] = time.process_time() - cpu_start
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    row["finished"] = datetime.now(timezone.utc)
    return row


def failure_row(job: BatchJob, item: Item, message: str, error_type: str) -> dict[str, Any]:
    """A ``failed`` row for an input that was never tried (a planning problem)."""
    return {
        "input": item.input,
        "output": item.output,
        "job": job.kind,
        "settings": job.fingerprint(),
        "status": "failed",
        "error": one_line(message),
        "error_type": error_type,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "finished": datetime.now(timezone.utc),
    }


__all__ = ["WorkerSetup", "allow_pixels", "failure_row", "one_line", "process"]
