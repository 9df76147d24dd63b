"""Super-resolution decode: the interface a task-``"sr"`` network plugs into, and its tiled
inference.

The architecture is :class:`hybrid.enhance.nets.SRNet`; any network honouring this contract
and named in :data:`hybrid.enhance.nets.ARCHITECTURES` plugs in through a manifest entry:

* manifest entry: ``"task": "sr"``, ``"architecture"`` a name in ``ARCHITECTURES``, and
  ``"inference": {"scale": N}`` with the network's native integer factor N (default 2).
  The sha256 check and the checked safetensors loading are the registry's, as for
  enhancement (an architecture declaring ``KWARG_LIMITS`` gets its kwargs range-checked).
* ``net(rgb, cond)``: ``rgb`` float32 (B, 3, h, w) plain decode of the coded JPEG on the
  0..1 scale (greyscale replicated to 3 channels), ``cond`` float32 (B, COND_DIM) the file's
  conditioning vector (:func:`hybrid.enhance.jpeg_input.condition_vector`, the same one the
  enhancement network reads). It returns float (B, 3, N*h, N*w) on the 0..1 scale.
* the output is resized (bicubic, float) from N*h x N*w to the exact requested size, which
  covers odd original sizes and non-integer scales.

Inference is tiled by :func:`hybrid.enhance.tiling.tiles`, as enhancement is: tiles of the
coded image start on the 16-pixel MCU grid (block phase and chroma siting are those of the
whole image) and carry an overlap wider than the network's receptive field, so memory is
bounded and tiled and untiled results agree to float rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hybrid.codec.headers import JpegInfo
from hybrid.enhance.registry import ModelEntry, load_manifest
from hybrid.enhance.tiling import GRID, Tile, edge_window, round_up, tile_overlap, tiles
from hybrid.errors import WeightsError

if TYPE_CHECKING:  # torch is imported only when a network runs
    from torch import nn

    from hybrid.enhance.jpeg_input import JpegPlanes

__all__ = ["native_factor", "sr_entry", "sr_models", "upscale_jpeg", "upscale_planes"]


def sr_models() -> list[str]:
    """Ids of the installed super-resolution models (manifest entries with task ``"sr"``)."""
    return sorted(e.id for e in load_manifest().values() if e.task == "sr")


def sr_entry(model_id: str) -> ModelEntry:
    """The manifest entry of super-resolution model ``model_id``.

    Raises:
        WeightsError: no such entry, or an entry of another task.
    """
    entries = load_manifest()
    entry = entries.get(model_id)
    if entry is None:
        known = ", ".join(sr_models()) or "none installed"
        raise WeightsError(f"unknown super-resolution model {model_id!r} (available: {known})")
    if entry.task != "sr":
        raise WeightsError(
            f"model {model_id!r} is a {entry.task!r} model, not super-resolution (task 'sr')"
        )
    return entry


def native_factor(entry: ModelEntry) -> int:
    """The integer upscaling factor the network was built for (``inference.scale``, else 2)."""
    factor = entry.inference.get("scale", entry.kwargs.get("scale", 2))
    if isinstance(factor, bool) or not isinstance(factor, int) or not 1 <= factor <= 8:
        raise WeightsError(f"manifest entry {entry.id!r}: inference.scale must be an integer 1..8")
    return factor


def upscale_planes(
    net: nn.Module,
    planes: JpegPlanes,
    factor: int,
    *,
    tile: int = 256,
    overlap: int | None = None,
    device: str = "cpu",
    flips: int = 1,
    precision: str = "auto",
) -> np.ndarray:
    """Run a super-resolution network over one decoded JPEG, tile by tile.

    Args:
        net: an eval-mode network honouring the module's contract, on ``device``.
        planes: :class:`hybrid.enhance.jpeg_input.JpegPlanes` of the coded (small) image.
        factor: the network's integer factor N.
        tile: tile side in coded pixels (rounded up to a multiple of 16); an image no larger
            than one tile is processed whole.
        overlap: context around each tile in coded pixels (rounded up to a multiple of 16);
            default: see :func:`tile_overlap`.
        flips: 1, 2 or 4: average the outputs over this many mirrorings (identity,
            horizontal, vertical, both) -- geometric self-ensemble. Every window has sides
            that are multiples of 16, so mirroring maps the 8x8 block grid onto itself.
        precision: ``auto``, ``fp32`` or ``bf16``: the arithmetic of the network call
            (:func:`hybrid.enhance.precision.resolve_precision`; ``auto`` is bf16 where
            ``device`` computes it natively); its output is taken back to float32.

    Returns:
        float32 (N*h, N*w, 3) RGB clipped to [0, 1], for the (h, w) coded image.

    Raises:
        WeightsError: the network's output does not have the contract's shape.
        ValueError: ``precision`` is not one of :data:`~hybrid.enhance.precision.PRECISIONS`.
    """
    import torch

    from hybrid.enhance.forward import mirror_average
    from hybrid.enhance.jpeg_input import condition_vector
    from hybrid.enhance.precision import network_call

    run = network_call(net, precision, device)

    overlap = tile_overlap(net, overlap)
    h, w, _ = planes.pixels.shape
    hp, wp = round_up(h, GRID), round_up(w, GRID)
    dev = torch.device(device)
    cond = torch.from_numpy(condition_vector(planes))[None].to(dev)
    out = np.empty((factor * hp, factor * wp, 3), dtype=np.float32)
    with torch.inference_mode():
        for t in tiles(h, w, tile, overlap):
            # edge padding = the network's own replicate padding: whole and tiled runs agree
            pixels = edge_window(planes.pixels, t.wy0, t.wy1, t.wx0, t.wx1)
            window = torch.from_numpy(pixels.astype(np.float32) / 255.0)
            window = window.permute(2, 0, 1)[None].to(dev)
            result = mirror_average(lambda x: run(x, cond), window, flips)
            place_sr_tile(out, result.float().cpu().numpy(), t, factor)
    return np.clip(out[: factor * h, : factor * w], 0.0, 1.0)


def place_sr_tile(out: np.ndarray, result: np.ndarray, t: Tile, factor: int) -> None:
    """Write the core of one tile's super-resolved window into ``out`` (the torch and ONNX
    backends share it).

    Args:
        out: float32 (factor * H, factor * W, 3), written in place.
        result: float32 (1, 3, factor * window height, factor * window width), the
            network's output for tile ``t``'s window.
        t: the tile (:func:`hybrid.enhance.tiling.tiles`), in coded pixels.
        factor: the network's upscale factor.

    Raises:
        WeightsError: ``result`` does not have the contract's shape.
    """
    expected = (1, 3, factor * (t.wy1 - t.wy0), factor * (t.wx1 - t.wx0))
    if tuple(result.shape) != expected:
        raise WeightsError(
            f"super-resolution network returned shape {tuple(result.shape)}, "
            f"expected {expected} for its x{factor} factor"
        )
    rows = slice(factor * (t.y0 - t.wy0), factor * (t.y1 - t.wy0))
    cols = slice(factor * (t.x0 - t.wx0), factor * (t.x1 - t.wx0))
    out[factor * t.y0 : factor * t.y1, factor * t.x0 : factor * t.x1] = result[
        0, :, rows, cols
    ].transpose(1, 2, 0)


def upscale_jpeg(
    data: bytes,
    size: tuple[int, int],
    *,
    model: str,
    info: JpegInfo | None = None,
    device: str = "cpu",
    threads: int | None = None,
    tile: int = 256,
    precision: str = "auto",
) -> np.ndarray:
    """Super-resolved decode of JPEG bytes to exactly ``size`` = (width, height).

    Args:
        data: a baseline or progressive 8-bit JPEG (greyscale or YCbCr, chroma subsampled at
            most 2x).
        size: (width, height) of the result; the network's N-times output is resized to it
            (bicubic, float).
        model: registry id of a task-``"sr"`` model.
        info: ``data``'s parsed headers, when the caller has them (else parsed again).
        device: ``cpu`` or ``cuda[:N]``.
        threads: torch CPU threads for the network call (default: as found); torch's
            settings are restored afterwards (:mod:`hybrid.enhance.torch_state`).
        tile: tile side in coded pixels, see :func:`upscale_planes`.
        precision: ``auto``, ``fp32`` or ``bf16``, the network's arithmetic, see
            :func:`upscale_planes`.

    Returns:
        float32 (height, width, 3) RGB in [0, 1], or (height, width, 1) for a greyscale file.

    Raises:
        WeightsError: unknown model, a model of another task, a missing or tampered weights
            file, an architecture this version of hybrid does not have, or a network whose
            output breaks the contract.
        ValueError: ``precision`` is not one of :data:`~hybrid.enhance.precision.PRECISIONS`.
    """
    from hybrid.enhance import get_network
    from hybrid.enhance.jpeg_input import load_planes
    from hybrid.enhance.precision import check_precision
    from hybrid.enhance.torch_state import torch_settings
    from hybrid.resample import upscale_array

    check_precision(precision)
    entry = sr_entry(model)
    factor = native_factor(entry)
    net = get_network(model, None, device)
    planes = load_planes(data, info=info)
    flips = int(entry.inference.get("flips", 1))
    with torch_settings(threads=threads, deterministic=False):  # only the threads, as before
        array = upscale_planes(
            net, planes, factor, tile=tile, device=device, flips=flips, precision=precision
        )
    array = upscale_array(array, size)
    return array[:, :, :1] if planes.grey else array
