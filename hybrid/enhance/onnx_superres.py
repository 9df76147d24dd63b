"""Super-resolved decode without torch: the exported SR network in ONNX Runtime, numpy
around it -- the steps of :func:`hybrid.enhance.superres.upscale_jpeg`, with the ONNX graph
in place of the torch call. Importing this module imports neither torch nor onnxruntime;
running it imports onnxruntime (the ``[onnx]`` extra).

The SR graph (``weights/onnx.json`` entries with ``"architecture": "SRNet"``; files
``sr-*.fp32.onnx`` and ``sr-*.int8.onnx``, made by ``hybrid export-onnx``):

* input ``x``: float32 (N, 3, h, w), the plain decode of the coded (small) JPEG as RGB on the
  0..1 scale (``uint8 / 255``; a greyscale file's one plane replicated to 3), h and w
  multiples of the entry's ``size_multiple`` (16; the graph gives wrong shapes otherwise).
* input ``cond``: float32 (N, 131): ``log2(luma table) / 8`` (64 entries, natural order, not
  zig-zag), ``log2(chroma table) / 8`` (the second table; the luma one again for a greyscale
  file), then three flags: chroma subsampled horizontally, vertically, greyscale (0 or 1).
  Tables are the file's DQT tables of component 0 and 1
  (:func:`hybrid.enhance.jpeg_input.condition_vector`).
* output ``y``: float32 (N, 3, s*h, s*w) RGB on the 0..1 scale, not clipped, s the entry's
  ``inference.scale`` (2 for every released SR model; the x1.5 models are x2 networks
  whose output is resized down, see step 6).
* operators: Conv, Gemm, Pad (edge), DepthToSpace, elementwise and shape ops; no Resize
  (the bicubic base is a fixed depthwise Conv, :mod:`hybrid.enhance.onnx_graph`). The int8
  graph is QDQ (QuantizeLinear / DequantizeLinear around the trunk's convolutions).

The decode around it, step by step (a browser mirroring it must do the same):

1. Pixels: the plain decode of the file (libjpeg-turbo's, bit-identical to Pillow's and
   Chromium's), uint8 (H, W, 3).
2. ``cond`` as above, once per file.
3. Tiles (:func:`hybrid.enhance.tiling.tiles`): the image is padded to multiples of 16
   (bottom/right, edge-replicated); tiles of ``tile`` = 256 pixels start on the 16-pixel grid;
   each window is the tile plus ``overlap`` = ``round_up(receptive_radius + 1, 16)`` = 48
   pixels of context on each side, cut at the padded image's edge (so every window side is a
   multiple of 16), edge-replicated where it passes the image.
4. ``y = run(window / 255, cond)``; with ``inference.flips`` = 2 or 4 (the ``sr-quality``
   entries), the mean of the outputs of the window mirrored left-right, then also top-bottom,
   then both, each output mirrored back.
5. The output rows ``s*(y0-wy0) : s*(y1-wy0)`` and columns likewise are the tile's share, put
   at ``s*y0, s*x0`` of an (s*Hp, s*Wp) canvas; the canvas is cropped to (s*H, s*W) and
   clipped to [0, 1].
6. Resized to the target size (a downscaled file's recorded original size, or
   ``round(coded size * scale)``) by :func:`hybrid.resample.upscale_array`: Pillow's float
   (``F``) BICUBIC per channel (Keys kernel, a = -0.5; pixel centres at ``(i + 0.5) * in /
   out``; kernel support widened by ``in / out`` when shrinking, as for the x1.5 models'
   x2 output; taps outside the image dropped and the weights renormalised; horizontal pass
   first), clipped to [0, 1]; no resize when the sizes already agree.
7. Rounded to 8 bits (``round(v * 255)``); a greyscale file keeps the first (R) channel
   of the network's output.

Nothing else differs from the torch path: no consistency projection and no near-lossless
fade-out (the SR networks are trained to take the decode as it is).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hybrid.codec.headers import JpegInfo
from hybrid.enhance.backends import ONNX_VARIANT, check_backend
from hybrid.enhance.jpeg_input import JpegPlanes, condition_vector, load_planes
from hybrid.enhance.numpy_ops import mirror_average
from hybrid.enhance.onnx_backend import onnx_session, session_runner
from hybrid.enhance.onnx_registry import onnx_entry
from hybrid.enhance.superres import native_factor, place_sr_tile, sr_entry
from hybrid.enhance.tiling import GRID, edge_window, round_up, tiles
from hybrid.errors import InputError, WeightsError

__all__ = ["upscale_jpeg_onnx", "upscale_planes_numpy"]

#: Tile side of the SR tile loop, as :func:`hybrid.enhance.superres.upscale_planes`'.
SR_TILE = 256


def upscale_planes_numpy(
    run: Any,
    planes: JpegPlanes,
    factor: int,
    *,
    overlap: int,
    tile: int = SR_TILE,
    flips: int = 1,
) -> np.ndarray:
    """Run a super-resolution network over one decoded JPEG, tile by tile (the numpy twin of
    :func:`hybrid.enhance.superres.upscale_planes`).

    Args:
        run: the network, (x, cond) -> y as the module docstring's graph: float32
            (1, 3, h, w) RGB 0..1 and (1, COND_DIM) -> (1, 3, factor*h, factor*w).
        planes: :class:`~hybrid.enhance.jpeg_input.JpegPlanes` of the coded (small) image.
        factor: the network's integer factor.
        overlap: context around each tile in coded pixels (rounded up to 16); must exceed
            the network's receptive radius.
        tile: tile side in coded pixels (rounded up to 16).
        flips: 1, 2 or 4 mirrorings averaged.

    Returns:
        float32 (factor*H, factor*W, 3) RGB clipped to [0, 1].

    Raises:
        WeightsError: the network's output does not have the contract's shape.
    """
    h, w, _ = planes.pixels.shape
    hp, wp = round_up(h, GRID), round_up(w, GRID)
    cond = np.ascontiguousarray(condition_vector(planes)[None], dtype=np.float32)
    out = np.empty((factor * hp, factor * wp, 3), dtype=np.float32)
    for t in tiles(h, w, tile, overlap):
        pixels = edge_window(planes.pixels, t.wy0, t.wy1, t.wx0, t.wx1)
        window = (pixels.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        result = mirror_average(lambda x: run(x, cond), np.ascontiguousarray(window), flips)
        place_sr_tile(out, result, t, factor)
    return np.clip(out[: factor * h, : factor * w], 0.0, 1.0)


def upscale_jpeg_onnx(
    data: bytes,
    size: tuple[int, int],
    *,
    model: str,
    info: JpegInfo | None = None,
    backend: str = "onnx",
    threads: int | None = None,
    tile: int = SR_TILE,
) -> np.ndarray:
    """Super-resolved decode of JPEG bytes to exactly ``size`` = (width, height) through
    the ONNX export (no torch import); :func:`hybrid.enhance.superres.upscale_jpeg`'s
    result but for float rounding (int8: quantization).

    Args:
        data: a baseline or progressive 8-bit JPEG (greyscale or YCbCr).
        size: (width, height) of the result.
        model: registry id of a task-``"sr"`` model with an ONNX export.
        info: ``data``'s parsed headers, when the caller has them.
        backend: ``onnx`` (float32 graph) or ``onnx-int8`` (static QDQ graph).
        threads: ONNX Runtime intra-op threads (default: its choice).
        tile: tile side in coded pixels.

    Returns:
        float32 (height, width, 3) RGB in [0, 1], or (height, width, 1) for a greyscale file.

    Raises:
        WeightsError: unknown model, a model of another task, no verified export of it,
            onnxruntime missing, or a graph whose output breaks the contract.
    """
    from hybrid.resample import upscale_array

    if check_backend(backend) == "torch":
        raise InputError("upscale_jpeg_onnx runs the onnx backends only")
    factor = native_factor(sr_entry(model))
    entry = onnx_entry(model)
    if entry.architecture != "SRNet":
        raise WeightsError(f"{model!r} is not a super-resolution network ({entry.architecture})")
    run = session_runner(onnx_session(model, ONNX_VARIANT[backend], threads))
    planes = load_planes(data, info=info)
    array = upscale_planes_numpy(
        run,
        planes,
        factor,
        overlap=entry.receptive_radius + 1,
        tile=tile,
        flips=int(entry.inference.get("flips", 1)),
    )
    array = upscale_array(array, size)
    return array[:, :, :1] if planes.grey else array
