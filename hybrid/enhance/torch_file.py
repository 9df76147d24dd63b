"""The bounded legacy path: torch zip files (``torch.save``) as user weights.

Training checkpoints (``last.pt``, with optimizer state) and older exported files are torch
zip archives of a pickle and raw tensor records. ``torch.load(weights_only=True)`` keeps the
pickle from running code but not from ballooning: a deflated ``data.pkl`` can inflate to
gigabytes (torch inflates it), and a long pickle takes long to run. So the archive is
checked before torch reads it: its end records first (at most :data:`MAX_ZIP_MEMBERS`
entries in :data:`MAX_DIRECTORY_BYTES`, before :mod:`zipfile` makes an object per entry),
then with :mod:`zipfile`: every member stored (torch never compresses), sizes consistent
and summing to no more than the file, a pickle of at most :data:`MAX_PICKLE_BYTES`. Only
then is it loaded, memory-mapped, and the object checked against a schema
(:func:`weights_from_object`). Pre-zip (torch < 1.6) pickle files are refused.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path

from hybrid.enhance.weights_schema import (
    MAX_FILE_BYTES,
    NetworkSpec,
    WeightsFile,
    check_state,
    check_tensors,
    first_line,
    make_spec,
    shown,
)
from hybrid.errors import WeightsError

#: Most members a torch zip may have (a checkpoint of the largest release has about 400).
MAX_ZIP_MEMBERS = 10_000
#: Largest pickle (``data.pkl``) accepted; a checkpoint's is about 60 kB.
MAX_PICKLE_BYTES = 16 * 2**20
#: Largest central directory accepted (bytes), checked before :mod:`zipfile` reads it (one
#: Python object per entry): room for :data:`MAX_ZIP_MEMBERS` entries with long names.
MAX_DIRECTORY_BYTES = MAX_ZIP_MEMBERS * 512
#: First bytes of a zip archive (a local file header).
ZIP_MAGIC = b"PK\x03\x04"


def is_legacy_pickle(prefix: bytes) -> bool:
    """Whether a file's first bytes are a bare pickle (torch < 1.6 ``torch.save``)."""
    return prefix[:1] == b"\x80"


def check_torch_zip(path: Path, file_size: int, source: str) -> None:
    """Refuse a torch zip whose members could balloon when torch reads it.

    Raises:
        WeightsError: not a zip, too many members, a compressed member, a member whose
            sizes disagree, members summing to more than ``file_size``, or an oversized
            pickle.
    """
    entries, directory = directory_extent(path, file_size, source)
    if entries > MAX_ZIP_MEMBERS or directory > MAX_DIRECTORY_BYTES:
        raise WeightsError(
            f"{source}: zip directory of {entries:,} entries, {directory:,} bytes "
            f"(at most {MAX_ZIP_MEMBERS:,} entries, {MAX_DIRECTORY_BYTES:,} bytes)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception as exc:  # BadZipFile, OSError, struct or unicode errors ...
        raise WeightsError(f"{source}: not a torch zip weights file ({first_line(exc)})") from None
    if not members or len(members) > MAX_ZIP_MEMBERS:
        count = len(members)
        raise WeightsError(f"{source}: torch zip of {count} members (1..{MAX_ZIP_MEMBERS} allowed)")
    total = 0
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED:
            raise WeightsError(
                f"{source}: torch zip member {shown(member.filename)} is compressed "
                "(torch stores members uncompressed; refusing a possible zip bomb)"
            )
        if member.compress_size != member.file_size:
            name = shown(member.filename)
            raise WeightsError(f"{source}: torch zip member {name}: sizes disagree")
        if member.filename.endswith(".pkl") and member.file_size > MAX_PICKLE_BYTES:
            raise WeightsError(
                f"{source}: pickle {shown(member.filename)} of {member.file_size:,} bytes "
                f"(at most {MAX_PICKLE_BYTES:,})"
            )
        total += member.file_size
    if total > file_size:
        raise WeightsError(
            f"{source}: torch zip members claim {total:,} bytes, more than the file's {file_size:,}"
        )


def directory_extent(path: Path, file_size: int, source: str) -> tuple[int, int]:
    """(entries, bytes) of a zip's central directory as its end records claim: the larger of
    the classic record's and, where there is one, the zip64 record's (torch writes both).

    Raises:
        WeightsError: no end record, or a zip64 locator pointing at no zip64 record.
    """
    tail_size = min(file_size, 22 + 0xFFFF + 20)  # end record, longest comment, zip64 locator
    try:
        with path.open("rb") as fh:
            fh.seek(file_size - tail_size)
            tail = fh.read(tail_size)
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or at + 22 > len(tail):
                raise WeightsError(f"{source}: not a zip file (no end of central directory)")
            entries = int.from_bytes(tail[at + 10 : at + 12], "little")
            size = int.from_bytes(tail[at + 12 : at + 16], "little")
            if at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
                fh.seek(int.from_bytes(tail[at - 12 : at - 4], "little"))
                record = fh.read(56)
                if len(record) != 56 or record[:4] != b"PK\x06\x06":
                    raise WeightsError(f"{source}: zip64 locator points at no zip64 record")
                entries = max(entries, int.from_bytes(record[32:40], "little"))
                size = max(size, int.from_bytes(record[40:48], "little"))
    except WeightsError:
        raise
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{source}: cannot read the zip directory: {first_line(exc)}") from None
    return entries, size


def load_torch_zip(path: Path, source: str) -> dict:
    """The top-level dict of a torch zip of at most ``MAX_FILE_BYTES`` that passes
    :func:`check_torch_zip`, loaded with ``weights_only=True`` and memory-mapped onto CPU
    tensors."""
    import torch

    try:
        file_size = path.stat().st_size
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if file_size > MAX_FILE_BYTES:
        raise WeightsError(f"{source}: {file_size:,} bytes, over the {MAX_FILE_BYTES:,} allowed")
    check_torch_zip(path, file_size, source)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # what a malformed archive raises varies with torch's version
        raise WeightsError(f"{source}: cannot load torch weights: {first_line(exc)}") from None
    if not isinstance(obj, dict):
        raise WeightsError(f"{source}: holds a {type(obj).__name__}, not a dict of weights")
    return obj


def weights_from_object(obj: Mapping, source: str) -> WeightsFile:
    """The :class:`WeightsFile` of a loaded torch object, one of:

    - an exported file: ``{"model": state, "architecture": str, "kwargs": {str: int}}``;
    - a training checkpoint: ``{"model": state, "config": JSON str, ...}`` (other keys, such
      as the optimizer state, are not read);
    - a bare state dict ``{str: tensor}`` (``spec`` None: usable as ``--init`` weights, or
      where a manifest entry gives the architecture).

    Raises:
        WeightsError: anything else, non-tensor or non-float values, or a state dict whose
            names and shapes differ from the recorded architecture's.
    """
    if "model" not in obj:
        if "architecture" in obj or "config" in obj:
            raise WeightsError(f"{source}: no 'model' state dict in the weights file")
        return WeightsFile(state=check_tensors(obj, source), spec=None)
    if "architecture" in obj:
        spec = make_spec(obj["architecture"], obj.get("kwargs", {}), source)
    elif "config" in obj:
        try:
            config = json.loads(obj["config"]) if isinstance(obj["config"], str) else None
        except (ValueError, RecursionError):
            config = None
        spec = spec_of_config(config, source)
    else:
        return WeightsFile(state=check_tensors(obj["model"], source), spec=None)
    return WeightsFile(state=check_state(obj["model"], spec, source), spec=spec)


def spec_of_config(cfg: object, source: str) -> NetworkSpec:
    """The :class:`~hybrid.enhance.weights_schema.NetworkSpec` a training run's config (its
    TrainConfig as a dict, as saved in its checkpoints) describes: ``SRNet`` for task
    ``"sr"`` (of the integer factor at or above the run's downscale, e.g. 2 for 1.5), else
    ``EnhanceNet``."""
    if not isinstance(cfg, dict):
        raise WeightsError(f"{source}: checkpoint config is not a JSON object")
    try:
        kwargs: dict[str, object] = {k: _int(cfg[k]) for k in ("channels", "blocks")}
        if cfg.get("task", "enhance") == "sr":
            scale = cfg.get("scale", 2)
            if isinstance(scale, bool) or not isinstance(scale, (int, float)):
                raise ValueError(f"scale {scale!r}")
            if not 1 <= scale <= 4:
                raise ValueError(f"scale {scale!r}")
            return make_spec("SRNet", {**kwargs, "scale": math.ceil(scale)}, source)
        if cfg.get("task", "enhance") != "enhance":
            raise ValueError(f"task {cfg.get('task')!r}")
        if _int(cfg.get("low_blocks", 0)):
            low = {"low_blocks": cfg["low_blocks"], "low_channels": cfg.get("low_channels", 64)}
            kwargs.update({k: _int(v) for k, v in low.items()})
    except (KeyError, ValueError) as exc:
        raise WeightsError(
            f"{source}: checkpoint config lacks or has a bad {first_line(exc)}"
        ) from None
    return make_spec("EnhanceNet", kwargs, source)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"integer (got {value!r})")
    return value
