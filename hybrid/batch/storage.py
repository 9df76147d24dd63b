"""Where a batch's files live: local paths, or URLs of any fsspec file system (``s3://``,
``gs://``, ``abfs://``, ``hdfs://`` ... with that file system's package and the user's
credentials).

Local outputs are written by :func:`hybrid.io.atomic_write` (temp file in the same folder,
fsync, rename; never a partial file). Remote stores have no rename that readers see all at
once, so a remote output is written to a temp name beside it and then moved; readers of the
final name see nothing or the whole file on object stores, whose "move" is copy + delete.

Paths are strings: absolute local paths, or full URLs (``s3://bucket/key``).
"""

from __future__ import annotations

import glob as globbing
import os
import posixpath
import re
import uuid
from pathlib import Path
from typing import Any

from hybrid import io as hybrid_io
from hybrid.errors import InputError, OutputExistsError

#: Temp names: :func:`hybrid.io.atomic_write`'s ``.NAME.PID.XXXXXXXX.tmp``, and ours for
#: remote stores, ``.NAME.r<32 hex>.tmp``.
_LOCAL_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
_REMOTE_TEMP = re.compile(r"^\..+\.r[0-9a-f]{32}\.tmp$")


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL of a non-local file system (``file://`` is local)."""
    return "://" in path and not path.startswith("file://")


def normalize(path: str) -> str:
    """An absolute local path (``file://`` dropped, ``~`` expanded), or the URL unchanged."""
    if is_remote(path):
        stripped = path.rstrip("/")
        return stripped if "://" in stripped else path
    if path.startswith("file://"):
        path = path[len("file://") :]
    return os.path.abspath(os.path.expanduser(path))


def join(root: str, *parts: str) -> str:
    """``root`` joined with ``parts`` ('/'-separated for URLs)."""
    parts = tuple(p for p in parts if p)
    return posixpath.join(root, *parts) if is_remote(root) else os.path.join(root, *parts)


def split(path: str) -> tuple[str, str]:
    """(folder, name) of ``path``."""
    return posixpath.split(path) if is_remote(path) else os.path.split(path)


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the path inside it.

    Raises:
        InputError: fsspec, or the package of that file system, is not installed.
    """
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(f"{url}: remote paths need fsspec (pip install fsspec)") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InputError(f"{url}: no file system for this URL: {exc}") from None


def _remote_error(url: str, exc: BaseException, doing: str) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{url}: no such file")
    if isinstance(exc, PermissionError):
        return InputError(f"{url}: permission denied")
    return InputError(f"{url}: cannot {doing}: {type(exc).__name__}: {exc}")


def read_bytes(path: str) -> bytes:
    """The bytes of the file at ``path``.

    Raises:
        InputError: missing, a folder, unreadable.
    """
    if not is_remote(path):
        return hybrid_io.read_bytes(path)
    fs, inner = filesystem(path)
    try:
        return bytes(fs.cat_file(inner))
    except (OSError, ValueError) as exc:
        raise _remote_error(path, exc, "read") from None


def read_many(paths: list[str]) -> dict[str, bytes | InputError]:
    """The bytes of each path, or the :class:`InputError` reading it raised; remote paths
    of one file system are fetched concurrently (one fsspec ``cat``)."""
    found: dict[str, bytes | InputError] = {}
    remote = [p for p in paths if is_remote(p)]
    for path in paths:
        if not is_remote(path):
            try:
                found[path] = read_bytes(path)
            except InputError as exc:
                found[path] = exc
    if remote:
        fs, _ = filesystem(remote[0])
        inner = {filesystem(p)[1]: p for p in remote}
        try:
            fetched = fs.cat(list(inner), on_error="return")
        except OSError as exc:
            fetched = {key: exc for key in inner}
        for key, path in inner.items():
            data = fetched.get(key, FileNotFoundError(key))
            found[path] = (
                _remote_error(path, data, "read") if isinstance(data, BaseException) else data
            )
    return {path: found[path] for path in paths}


def file_size(path: str) -> int:
    """Size in bytes of the file at ``path``.

    Raises:
        InputError: missing or unreadable.
    """
    try:
        if not is_remote(path):
            return os.stat(path).st_size
        fs, inner = filesystem(path)
        return int(fs.size(inner))
    except OSError as exc:
        raise _remote_error(path, exc, "stat") from None


def exists(path: str) -> bool:
    """Whether ``path`` exists (a file or a folder); False when it cannot be checked."""
    if not is_remote(path):
        return os.path.exists(path)
    fs, inner = filesystem(path)
    try:
        return bool(fs.exists(inner))
    except OSError:
        return False


def is_dir(path: str) -> bool:
    """Whether ``path`` is a folder; False when it cannot be checked."""
    if not is_remote(path):
        return os.path.isdir(path)
    fs, inner = filesystem(path)
    try:
        return bool(fs.isdir(inner))
    except OSError:
        return False


def glob_files(pattern: str) -> list[str]:
    """The files matching a glob (``**`` descends), sorted; local ones normalized.

    Raises:
        InputError: the remote store cannot be listed.
    """
    if not is_remote(pattern):
        matched = globbing.glob(os.path.expanduser(pattern), recursive=True)
        return sorted(normalize(p) for p in matched if os.path.isfile(p))
    fs, inner = filesystem(pattern)
    try:
        matched = fs.glob(inner, detail=True)
    except OSError as exc:
        raise _remote_error(pattern, exc, "list") from None
    return sorted(
        fs.unstrip_protocol(key) for key, info in matched.items() if info.get("type") == "file"
    )


def make_dirs(path: str) -> None:
    """Create the folder ``path`` and its parents (nothing to do on object stores).

    Raises:
        InputError: it cannot be created.
    """
    try:
        if not is_remote(path):
            os.makedirs(path, exist_ok=True)
            return
        fs, inner = filesystem(path)
        fs.makedirs(inner, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot create the folder: {exc.strerror or exc}") from None


def write_atomic(path: str, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` all at once (see the module docstring); the folder is made.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        InputError: the write fails.
    """
    folder, name = split(path)
    make_dirs(folder)
    if not is_remote(path):
        hybrid_io.atomic_write(path, data, force=force)
        return
    fs, inner = filesystem(path)
    if not force and fs.exists(inner):
        raise OutputExistsError(f"{path}: output exists (use --force to overwrite)")
    temp = posixpath.join(posixpath.dirname(inner), f".{name}.r{uuid.uuid4().hex}.tmp")
    try:
        fs.pipe_file(temp, data)
        fs.mv(temp, inner)
    except OSError as exc:
        raise _remote_error(path, exc, "write") from None
    finally:
        try:
            if fs.exists(temp):
                fs.rm(temp)
        except OSError:
            pass


def remove(path: str) -> None:
    """Delete the file ``path`` if it exists (never raises)."""
    try:
        if not is_remote(path):
            os.unlink(path)
            return
        fs, inner = filesystem(path)
        fs.rm(inner)
    except (OSError, InputError):
        pass


def list_files(root: str) -> dict[str, int]:
    """Every file under the folder ``root`` (any depth), path -> size; empty when ``root``
    does not exist. Names are what :func:`join` gives under ``root``."""
    if not is_remote(root):
        found: dict[str, int] = {}
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    found[path] = os.lstat(path).st_size
                except OSError:
                    continue
        return found
    fs, inner = filesystem(root)
    try:
        listing = fs.find(inner, detail=True)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise _remote_error(root, exc, "list") from None
    prefix = root.rstrip("/")
    base = inner.rstrip("/")
    return {
        prefix + key[len(base) :]: int(info.get("size") or 0)
        for key, info in listing.items()
        if info.get("type", "file") == "file" and key.startswith(base)
    }


def sweep_temps(root: str, files: dict[str, int] | None = None) -> list[str]:
    """Delete the temp files that writers killed mid-write (SIGKILL, a lost node) left under
    ``root``: locally :func:`hybrid.io.remove_stale_temps`'s rule (the writing process no
    longer exists on this machine), remotely every temp of ours (one batch writes to a
    folder at a time). ``files``: :func:`list_files` of ``root``, if at hand. Returns what was
    removed."""
    files = list_files(root) if files is None else files
    removed: list[str] = []
    for path in files:
        folder, name = split(path)
        if is_remote(path):
            if _REMOTE_TEMP.match(name):
                remove(path)
                removed.append(path)
            continue
        match = _LOCAL_TEMP.match(name)
        if match:
            gone = hybrid_io.remove_stale_temps(Path(folder) / match["target"])
            removed.extend(str(p) for p in gone)
    return sorted(set(removed))


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of the temp names above."""
    return bool(_LOCAL_TEMP.match(name) or _REMOTE_TEMP.match(name))


__all__ = [
    "exists",
    "file_size",
    "filesystem",
    "glob_files",
    "is_dir",
    "is_remote",
    "is_temp_name",
    "join",
    "list_files",
    "make_dirs",
    "normalize",
    "read_bytes",
    "read_many",
    "remove",
    "split",
    "sweep_temps",
    "write_atomic",
]
