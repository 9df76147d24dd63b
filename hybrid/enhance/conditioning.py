"""Layout of the conditioning vector the networks read (torch-free, so the ONNX decode path
and the network architectures share one definition)."""

from __future__ import annotations

#: Conditioning vector layout: 64 luma + 64 chroma table entries (log2 scaled), chroma
#: subsampled horizontally, vertically, greyscale flag.
COND_DIM = 64 + 64 + 3
