"""Released weights files: safetensors, the network's spec in the header metadata.

A safetensors file is an 8-byte little-endian header length, a JSON header (tensor name ->
dtype, shape, byte range; ``__metadata__``: string -> string) and the raw tensor bytes. No
pickle, so nothing in the file can run. The header is checked here before the
``safetensors`` package touches the bytes: at most :data:`MAX_HEADER_BYTES` (the package
itself refuses 100 MB), float dtypes only, each byte range exactly its tensor's size, the
ranges tiling the data to the file's end, and names and shapes equal to those of the
network the metadata describes (:mod:`hybrid.enhance.weights_schema`).

Metadata (all values strings): ``format`` = :data:`FORMAT`, ``architecture`` = a name in
:data:`hybrid.enhance.nets.ARCHITECTURES`, ``kwargs`` = JSON object of its integer arguments.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from hybrid.enhance.weights_schema import (
    NetworkSpec,
    WeightsFile,
    check_names_and_shapes,
    check_tensors,
    first_line,
    make_spec,
    shown,
    state_shapes,
)
from hybrid.errors import WeightsError

#: Value of the ``format`` metadata key of a hybrid weights file.
FORMAT = "hybrid-weights/1"
#: Largest JSON header accepted (bytes). A released header is about 10 kB.
MAX_HEADER_BYTES = 1 << 20
#: safetensors dtype code -> bytes per element, for the float types a network may store.
FLOAT_DTYPES: Mapping[str, int] = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
_DTYPE_CODES = {
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F32": torch.float32,
    "F64": torch.float64,
}
_METADATA_KEYS = frozenset({"format", "architecture", "kwargs"})
_MAX_RANK = 8


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors header: dtype code, shape, byte range in the data."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    """A checked header: tensors by name, ``__metadata__``, and where the data starts."""

    tensors: Mapping[str, TensorEntry]
    metadata: Mapping[str, str]
    data_start: int


def is_safetensors(prefix: bytes) -> bool:
    """Whether a file's first bytes (at least 9) look like safetensors: a header length then
    a JSON object."""
    return len(prefix) >= 9 and prefix[8:9] == b"{"


def parse_header(data: bytes, source: str) -> SafetensorsHeader:
    """The checked header of a whole safetensors file ``data``.

    Raises:
        WeightsError: truncated file, header over :data:`MAX_HEADER_BYTES`, malformed JSON
            or entries, non-float dtypes, byte ranges that do not match the shapes or do not
            cover the data exactly (a header claiming more tensor bytes than the file holds).
    """
    if len(data) < 8:
        raise WeightsError(f"{source}: truncated safetensors file ({len(data)} bytes)")
    size = int.from_bytes(data[:8], "little")
    if size > MAX_HEADER_BYTES:
        raise WeightsError(f"{source}: safetensors header of {size:,} bytes, over the limit")
    if 8 + size > len(data):
        raise WeightsError(f"{source}: truncated safetensors file (header runs past the end)")
    try:
        raw = json.loads(data[8 : 8 + size], object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        raise WeightsError(
            f"{source}: safetensors header is not valid JSON: {first_line(exc)}"
        ) from None
    if not isinstance(raw, dict):
        raise WeightsError(f"{source}: safetensors header is not a JSON object")
    metadata = raw.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise WeightsError(f"{source}: safetensors __metadata__ must map strings to strings")
    tensors = {name: _entry(name, value, source) for name, value in raw.items()}
    end = 0
    for name, entry in sorted(tensors.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != end:
            raise WeightsError(f"{source}: tensor {shown(name)} does not start where the last ends")
        end = entry.end
    if end != len(data) - 8 - size:
        raise WeightsError(
            f"{source}: safetensors header describes {end:,} bytes of tensors, the file holds "
            f"{len(data) - 8 - size:,} (truncated or padded)"
        )
    return SafetensorsHeader(tensors=tensors, metadata=metadata, data_start=8 + size)


def spec_of_metadata(metadata: Mapping[str, str], source: str) -> NetworkSpec:
    """The :class:`NetworkSpec` the header metadata records (see the module docstring)."""
    if metadata.get("format") != FORMAT:
        found = metadata.get("format")
        raise WeightsError(f"{source}: metadata format {shown(found)}, expected {FORMAT!r}")
    unknown = sorted(set(metadata) - _METADATA_KEYS)
    if unknown or "architecture" not in metadata or "kwargs" not in metadata:
        expected = sorted(_METADATA_KEYS)
        raise WeightsError(
            f"{source}: metadata keys must be {expected}, got {shown(sorted(metadata))}"
        )
    try:
        kwargs = json.loads(metadata["kwargs"])
    except (ValueError, RecursionError):
        raise WeightsError(f"{source}: metadata kwargs is not JSON") from None
    if not isinstance(kwargs, dict):
        raise WeightsError(f"{source}: metadata kwargs must be a JSON object")
    return make_spec(metadata["architecture"], kwargs, source)


def read_safetensors(data: bytes, source: str) -> WeightsFile:
    """The checked :class:`WeightsFile` of the whole file ``data`` (tensors as stored:
    float16 stays float16). Header, metadata and shapes are checked before any tensor is
    built."""
    header = parse_header(data, source)
    spec = spec_of_metadata(header.metadata, source)
    found = {name: entry.shape for name, entry in header.tensors.items()}
    check_names_and_shapes(found, state_shapes(spec, source), source)
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        state = load(data)
    except SafetensorError as exc:  # checked above, so this is a safetensors/format disagreement
        raise WeightsError(f"{source}: cannot read safetensors: {first_line(exc)}") from None
    return WeightsFile(state=check_tensors(state, source), spec=spec)


def encode_safetensors(state: Mapping[str, torch.Tensor], spec: NetworkSpec) -> bytes:
    """A safetensors file of ``state`` (float tensors, kept in their dtype) with ``spec`` in
    its metadata.

    Written here rather than by ``safetensors.torch.save``, whose metadata order changes from
    run to run: the same weights always give the same bytes (and sha256). The layout is the
    package's: tensors by descending element size then name (so each is aligned), the JSON
    header padded with spaces to a multiple of 8 bytes, little-endian data.
    """
    if sys.byteorder != "little":  # the bytes below are the machine's own order
        raise WeightsError("writing safetensors needs a little-endian machine")
    dtypes = {v: k for k, v in _DTYPE_CODES.items()}
    tensors = {}
    for name, tensor in state.items():
        if tensor.dtype not in dtypes:
            raise WeightsError(f"{name}: dtype {tensor.dtype} cannot be stored in a weights file")
        tensors[name] = tensor.detach().cpu().contiguous()
    metadata = {
        "architecture": spec.architecture,
        "format": FORMAT,
        "kwargs": json.dumps(dict(spec.kwargs), sort_keys=True),
    }
    header: dict[str, object] = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        raw = tensors[name].reshape(-1).view(torch.uint8).numpy().tobytes()
        code = dtypes[tensors[name].dtype]
        shape = list(tensors[name].shape)
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(chunks)


def _entry(name: str, value: object, source: str) -> TensorEntry:
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data_offsets"}:
        raise WeightsError(f"{source}: malformed safetensors entry for {shown(name)}")
    dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
    if dtype not in FLOAT_DTYPES:
        raise WeightsError(f"{source}: tensor {shown(name)} has dtype {shown(dtype)}, not a float")
    if not (isinstance(shape, list) and len(shape) <= _MAX_RANK and all(map(_is_count, shape))):
        raise WeightsError(f"{source}: tensor {shown(name)} has a malformed shape {shown(shape)}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise WeightsError(
            f"{source}: tensor {shown(name)}: malformed data_offsets {shown(offsets)}"
        )
    begin, end = offsets
    if end - begin != math.prod(shape) * FLOAT_DTYPES[dtype]:
        raise WeightsError(
            f"{source}: tensor {shown(name)}: bytes {begin}..{end} do not hold a {dtype} "
            f"{shown(shape)} tensor"
        )
    return TensorEntry(dtype=dtype, shape=tuple(shape), begin=begin, end=end)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result
