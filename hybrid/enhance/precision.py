"""Arithmetic precision of a network call: float32, or bfloat16 where the hardware has it.

Only the network runs in bfloat16 (``torch.autocast``); its output is returned as float32,
and everything around it -- the JFIF colour transforms (:mod:`hybrid.enhance.ycc`) and the
quantization-consistency projection's DCT (:mod:`hybrid.enhance.consistency`) -- stays
float32: bfloat16 keeps 8 significant bits, so a DC coefficient near 1000 would be rounded to
a multiple of 8, several quantizer steps of a fine table.

Measured on an AMD EPYC with ``avx512_bf16`` (torch 2.13, 2 threads, enhance-fast-v2):

* speed: the network forward on 768x512 takes 0.12 s in bf16 against 0.29 s in fp32 (2.3x);
* quality: over 15 JPEGs (5 scikit-image photos x IJG quality 20 / 50 / 80, 4:2:0) the PSNR
  gain over the plain decode changes by -0.0002 dB on average (each image within
  +-0.004 dB); pixels differ from fp32 by 2.6e-4 on average (0.07 of an 8-bit step), at
  most 3.3e-3 (0.84 of a step);
* tiling: tiled and whole-image bf16 decodes agree to float rounding, as in fp32 (max
  difference 0 for enhance-fast-v2 and sr-fast-v1 at tiles of 48 to 200 px; 7.5e-8 for a
  small random network at 32 px, where fp32 gives 3e-7).

``auto`` picks bf16 only where it is native; elsewhere (AVX-512 without bf16 instructions,
AVX2, Arm -- not measured there) it is fp32.

Importing this module does not import torch (the CLI and :mod:`hybrid.api` read
:data:`PRECISIONS` and :func:`check_precision` from it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Accepted ``precision`` values: ``auto`` (bf16 where the device computes it natively,
#: else fp32), ``fp32``, ``bf16``.
PRECISIONS = ("auto", "fp32", "bf16")

#: /proc/cpuinfo flags of x86 CPUs that compute bfloat16 dot products in hardware.
_NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})

Network = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def check_precision(precision: str) -> str:
    """``precision`` itself if it is one of :data:`PRECISIONS`, else ValueError."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively through oneDNN.

    ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` alone is not enough: it is also true on
    AVX-512 CPUs without bf16 instructions, where oneDNN emulates bf16 (slower than fp32). So
    the CPU flags must also list ``avx512_bf16`` or ``amx_bf16`` (read from /proc/cpuinfo;
    where that file does not exist, e.g. macOS or Windows, the answer is False).
    """
    import torch

    if not torch.backends.mkldnn.is_available():
        return False
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if probe is not None and not probe():
        return False
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return cpuinfo_lists_native_bf16(text)


def cpuinfo_lists_native_bf16(text: str) -> bool:
    """Whether the first ``flags`` line of a Linux /proc/cpuinfo ``text`` names a native bf16
    instruction set (``avx512_bf16`` or ``amx_bf16``)."""
    for line in text.splitlines():
        if line.startswith("flags"):
            return not _NATIVE_BF16_FLAGS.isdisjoint(line.partition(":")[2].split())
    return False


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """The precision a network call on ``device`` runs in: ``"fp32"`` or ``"bf16"``.

    ``auto`` is bf16 on a CPU with native bf16 arithmetic (:func:`cpu_has_native_bf16`) and
    on a CUDA device where ``torch.cuda.is_bf16_supported()``; fp32 elsewhere. ``fp32`` and
    ``bf16`` are taken as asked (bf16 on a CPU without native support runs, emulated, and is
    slower).

    Raises:
        ValueError: ``precision`` is not one of :data:`PRECISIONS`.
    """
    import torch

    check_precision(precision)
    if precision != "auto":
        return precision
    kind = torch.device(device).type
    if kind == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if kind == "cuda":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return "fp32"


def network_call(net: Network, precision: str, device: str | torch.device) -> Network:
    """``net(x, cond)`` run in the resolved ``precision`` on ``device``, float32 out.

    fp32 gives ``net`` itself. bf16 gives a function that runs ``net`` under
    ``torch.autocast(dtype=torch.bfloat16)`` and casts its output back to float32, so callers
    keep their float32 pipeline; the network object (and its ``receptive_radius``, which the
    tilers read) is untouched.
    """
    import torch

    if resolve_precision(precision, device) == "fp32":
        return net
    kind = torch.device(device).type

    def run(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        with torch.autocast(kind, dtype=torch.bfloat16):
            return net(x, cond).float()

    return run
