"""Which engine runs the enhancement network of a decode (torch-free; the CLI and
:mod:`hybrid.api` read :data:`BACKENDS` from here, as :data:`PRECISIONS` from
:mod:`hybrid.enhance.precision`)."""

from __future__ import annotations

from typing import Any

from hybrid.errors import InputError

#: ``torch``; ``onnx``: the float32 ONNX export in ONNX Runtime (no torch import);
#: ``onnx-int8``: its static int8 (QDQ) export.
BACKENDS = ("torch", "onnx", "onnx-int8")
#: The ONNX variant (:data:`hybrid.enhance.onnx_registry.VARIANTS`) of each onnx backend.
ONNX_VARIANT = {"onnx": "fp32", "onnx-int8": "int8"}


def check_backend(backend: Any) -> str:
    """``backend`` itself if it is one of :data:`BACKENDS`, else InputError."""
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return backend
