"""Convert the registry's torch weights files (.pt) to safetensors and update the manifest.

Each .pt named by a manifest entry is read on the bounded legacy path after its sha256 is
checked, its architecture checked against every entry that names it, and written as
``<stem>.safetensors`` with the tensors in their stored dtype (a float16 file stays float16)
and the architecture in the header metadata. The new file is read back and compared tensor
by tensor (bit-exact) before the entries' ``file`` and ``sha256`` are changed. Entries
already on safetensors are left alone, so running it twice changes nothing; the output is
deterministic. The .pt files are left in place (remove them with ``git rm``).

    python scripts/convert_weights.py [--dir weights]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from hybrid.enhance.registry import (
    MANIFEST_NAME,
    read_weights,
    sha256_file,
    weights_dir,
)
from hybrid.enhance.safetensors_file import encode_safetensors
from hybrid.enhance.weights_schema import make_spec


def convert_file(directory: Path, name: str, entries: list[dict]) -> str:
    """Write ``<stem>.safetensors`` for the .pt ``name`` shared by ``entries`` (manifest
    dicts); returns the new file's name."""
    source = directory / name
    weights = read_weights(source, sha256=entries[0]["sha256"])
    for entry in entries:
        spec = make_spec(entry["architecture"], entry["kwargs"], f"manifest entry {entry['id']!r}")
        if entry["sha256"] != entries[0]["sha256"] or weights.spec != spec:
            raise SystemExit(f"{name}: entry {entry['id']} disagrees with the file")
    assert weights.spec is not None
    target = directory / (Path(name).stem + ".safetensors")
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(encode_safetensors(weights.state, weights.spec))
    back = read_weights(tmp)
    same = back.spec == weights.spec and back.state.keys() == weights.state.keys()
    for key, tensor in weights.state.items():
        same = same and back.state[key].dtype == tensor.dtype
        same = same and torch.equal(back.state[key], tensor)
    if not same:
        tmp.unlink()
        raise SystemExit(f"{name}: the safetensors copy does not read back identically")
    os.replace(tmp, target)
    return target.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, default=None, help="weights folder (default: the registry's)"
    )
    args = parser.parse_args(argv)
    directory = args.dir or weights_dir()
    manifest_path = directory / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    by_file: dict[str, list[dict]] = {}
    for entry in manifest["models"]:
        if entry["file"].endswith(".pt"):
            by_file.setdefault(entry["file"], []).append(entry)
    for name, entries in sorted(by_file.items()):
        new_name = convert_file(directory, name, entries)
        digest = sha256_file(directory / new_name)
        for entry in entries:
            entry["file"], entry["sha256"] = new_name, digest
        ids = ", ".join(e["id"] for e in entries)
        print(f"{name} -> {new_name} sha256 {digest[:16]}... ({ids})")
    tmp = manifest_path.with_name(MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
