"""Super-resolution decode: the interface a task-``"sr"`` network plugs into.

No super-resolution architecture exists yet; this module fixes the contract so a later
network only needs an architecture in :data:`hybrid.enhance.nets.ARCHITECTURES` and a
manifest entry:

* manifest entry: ``"task": "sr"``, ``"architecture"`` a name in ``ARCHITECTURES``, and
  ``"inference": {"scale": N}`` with the network's native integer factor N (default 2).
  The sha256 check and ``weights_only`` loading are the registry's, as for enhancement.
* ``net(rgb, cond)``: ``rgb`` float32 (B, 3, h, w) plain decode of the coded JPEG on the
  0..1 scale (greyscale replicated to 3 channels), ``cond`` float32 (B, COND_DIM) the file's
  conditioning vector (:func:`hybrid.enhance.jpeg_input.condition_vector`, the same one the
  enhancement network reads). It returns float (B, 3, N*h, N*w) on the 0..1 scale.
* the output is resized (bicubic, float) from N*h x N*w to the exact requested size, which
  covers odd original sizes and non-integer scales.

Images are processed whole for now; a tiled path like :mod:`hybrid.enhance.infer` comes
with the first real network.
"""

from __future__ import annotations

import numpy as np

from hybrid.enhance.registry import ModelEntry, load_manifest
from hybrid.errors import WeightsError

__all__ = ["native_factor", "sr_entry", "sr_models", "upscale_jpeg"]


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


def upscale_jpeg(
    data: bytes,
    size: tuple[int, int],
    *,
    model: str,
    device: str = "cpu",
    threads: int | None = None,
) -> np.ndarray:
    """Super-resolved decode of JPEG bytes to exactly ``size`` = (width, height).

    Returns:
        float32 (height, width, 3) RGB in [0, 1], or (height, width, 1) for a greyscale file.

    Raises:
        WeightsError: unknown model, a model of another task, a missing or tampered weights
            file, or an architecture this version of hybrid does not have.
    """
    import torch

    from hybrid.enhance import get_network
    from hybrid.enhance.jpeg_input import condition_vector, load_planes
    from hybrid.resample import upscale_array

    entry = sr_entry(model)
    factor = native_factor(entry)
    if threads is not None:
        torch.set_num_threads(int(threads))
    net = get_network(model, None, device)
    planes = load_planes(data)
    dev = torch.device(device)
    rgb = torch.from_numpy(planes.pixels.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    cond = torch.from_numpy(condition_vector(planes))[None]
    with torch.inference_mode():
        out = net(rgb.to(dev), cond.to(dev))
    h, w = planes.pixels.shape[:2]
    if tuple(out.shape) != (1, 3, factor * h, factor * w):
        raise WeightsError(
            f"model {model!r} returned shape {tuple(out.shape)}, expected "
            f"(1, 3, {factor * h}, {factor * w}) for its x{factor} factor"
        )
    array = out[0].permute(1, 2, 0).float().clamp(0.0, 1.0).cpu().numpy()
    array = upscale_array(array, size)
    return array[:, :, :1] if planes.grey else array
