"""A batch's inputs and the output each one gets.

An input spec is a folder (its whole tree, hidden files and folders left out), a glob
(``photos/**/*.png``, ``s3://bucket/raw/*.jpg``), or a file; a manifest lists one path per
line (blank lines and ``#`` comments skipped; relative local paths are relative to the
manifest's folder). Folder and glob inputs keep only files whose suffix the job reads.

Outputs mirror the inputs' layout under the output folder: a file found in a folder (or
under a glob's fixed prefix) keeps its path relative to that folder; manifest entries keep
their path relative to the folder all of them share; the name is the input's stem plus
the job's suffix. Two inputs that would write the same output, or an output that would
replace its own input, are problems (rows with a one-line error), not errors.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from hybrid.batch import storage
from hybrid.errors import InputError

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Item:
    """One image to do: ``input`` and the ``output`` it is written to (normalized paths)."""

    input: str
    output: str


@dataclass(frozen=True)
class Plan:
    """What a batch will do: ``items`` in input order, and ``problems`` (path, one-line
    reason) for inputs that cannot be done."""

    items: tuple[Item, ...]
    problems: tuple[tuple[str, str], ...]


def _is_glob(spec: str) -> bool:
    return any(c in _GLOB_CHARS for c in spec)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _suffix(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def _inside(path: str, folder: str) -> bool:
    sep = "/" if storage.is_remote(folder) else os.sep
    return path == folder or path.startswith(folder.rstrip(sep) + sep)


def _walk_local(folder: str, accept: frozenset[str], skip: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            d for d in dirs if not _hidden(d) and not _inside(os.path.join(root, d), skip)
        )
        found += [
            os.path.join(root, f) for f in sorted(files) if not _hidden(f) and _suffix(f) in accept
        ]
    return found


def _walk_remote(folder: str, accept: frozenset[str], skip: str) -> list[str]:
    return sorted(
        path
        for path in storage.list_files(folder)
        if _suffix(path) in accept
        and not _inside(path, skip)
        and not any(_hidden(part) for part in path[len(folder) :].split("/"))
    )


def _glob_base(spec: str) -> str:
    """The fixed folder a glob starts from: its parts before the first wildcard."""
    sep = "/" if storage.is_remote(spec) else os.sep
    parts = spec.split(sep)
    fixed = []
    for part in parts[:-1]:
        if _is_glob(part):
            break
        fixed.append(part)
    return sep.join(fixed) or "."


def _glob(spec: str, accept: frozenset[str], skip: str) -> list[str]:
    return [p for p in storage.glob_files(spec) if _suffix(p) in accept and not _inside(p, skip)]


def expand(
    spec: str, accept: frozenset[str], skip: str
) -> tuple[list[tuple[str, str]], str | None]:
    """The files of one input spec as (path, base folder) pairs, and a problem if none.

    ``accept``: lower-case suffixes kept from folders and globs (a file named on its own is
    always taken); ``skip``: a folder never descended into (the output folder).
    """
    if _is_glob(spec):
        base = storage.normalize(_glob_base(spec))
        found = _glob(spec, accept, skip)
        return [(p, base) for p in found], None if found else "no files match"
    path = storage.normalize(spec)
    if storage.is_dir(path):
        walk = _walk_remote if storage.is_remote(path) else _walk_local
        found = walk(path, accept, skip)
        return [(p, path) for p in found], None if found else "no input files found"
    if storage.exists(path):
        return [(path, storage.split(path)[0])], None
    return [], "no such file or directory"


def read_manifest(path: str) -> list[str]:
    """The paths a manifest lists, normalized (see the module docstring).

    Raises:
        InputError: the manifest cannot be read or is not UTF-8 text.
    """
    try:
        text = storage.read_bytes(storage.normalize(path)).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: a manifest is UTF-8 text, one path per line") from None
    folder = storage.split(storage.normalize(path))[0]
    entries = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if not storage.is_remote(entry) and not storage.is_remote(folder):
            entry = os.path.join(folder, os.path.expanduser(entry))
        elif not storage.is_remote(entry):
            entry = posixpath.join(folder, entry)
        entries.append(storage.normalize(entry))
    return entries


def _common_folder(paths: list[str]) -> str | None:
    """The deepest folder holding every path, or None when they share none (several
    file systems)."""
    if not paths:
        return None
    if all(storage.is_remote(p) for p in paths):
        schemes = {p.split("://", 1)[0] for p in paths}
        if len(schemes) != 1:
            return None
        scheme = schemes.pop()
        inner = [posixpath.dirname(p.split("://", 1)[1]) for p in paths]
        common = posixpath.commonpath(inner) if inner else ""
        return f"{scheme}://{common}" if common else None
    if any(storage.is_remote(p) for p in paths):
        return None
    return os.path.commonpath([os.path.dirname(p) for p in paths])


def output_for(path: str, base: str, output_root: str, suffix: str) -> str:
    """The output of ``path`` found under ``base``: its relative folder under
    ``output_root``, its stem plus ``suffix``."""
    folder, name = storage.split(path)
    stem = posixpath.splitext(name)[0] if storage.is_remote(path) else os.path.splitext(name)[0]
    relative = ""
    if _inside(folder, base) and folder != base:
        relative = folder[len(base) :].lstrip("/" if storage.is_remote(folder) else os.sep)
    if storage.is_remote(output_root) and not storage.is_remote(path):
        relative = relative.replace(os.sep, "/")
    return storage.join(output_root, relative, stem + suffix)


def plan_inputs(
    specs: Iterable[str],
    manifests: Iterable[str],
    output_root: str,
    suffix: str,
    accept: frozenset[str],
) -> Plan:
    """Every input of ``specs`` and ``manifests`` paired with its output under
    ``output_root`` (normalized), in order, each input once.

    Raises:
        InputError: a manifest cannot be read.
    """
    output_root = storage.normalize(output_root)
    found: list[tuple[str, str]] = []
    problems: list[tuple[str, str]] = []
    for spec in specs:
        pairs, problem = expand(spec, accept, output_root)
        found += pairs
        if problem:
            problems.append((spec, problem))
    for manifest in manifests:
        entries = read_manifest(manifest)
        common = _common_folder(entries)
        for entry in entries:
            found.append((entry, common if common is not None else storage.split(entry)[0]))
        if not entries:
            problems.append((manifest, "the manifest lists no files"))
    items: list[Item] = []
    seen_inputs: set[str] = set()
    writers: dict[str, str] = {}
    for path, base in found:
        if path in seen_inputs:
            continue
        seen_inputs.add(path)
        out = output_for(path, base, output_root, suffix)
        if out == path:
            problems.append((path, f"the output {out} would replace the input"))
        elif out in writers:
            problems.append((path, f"output {out} would also be written from {writers[out]}"))
        else:
            writers[out] = path
            items.append(Item(path, out))
    return Plan(tuple(items), tuple(problems))


__all__ = ["Item", "Plan", "expand", "output_for", "plan_inputs", "read_manifest"]
