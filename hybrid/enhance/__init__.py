"""The learned half of hybrid: enhancement networks, consistency step, tiled inference, weights.

Importing this package imports torch; ``import hybrid`` does not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from hybrid.codec.headers import JpegInfo, parse_info
from hybrid.codec.reader import DctRead
from hybrid.enhance.choice import ModelChoice, check_content, choose_model
from hybrid.enhance.registry import (
    DEFAULT_ENHANCE_MODEL,
    fade_out_steps,
    inference_settings,
    load_model,
    load_weights_file,
    weights_dir,
)
from hybrid.io import DEFAULT_MAX_PIXELS

__all__ = ["enhance_jpeg", "get_network"]

_CACHE: dict[tuple[str, str], object] = {}


def get_network(
    model: str | None = None, weights: str | os.PathLike[str] | None = None, device: str = "cpu"
):
    """A ready (eval-mode) network: from a user ``weights`` file, else the registry ``model``."""
    import torch

    from hybrid.errors import InputError

    if device != "cpu" and not device.startswith("cuda"):
        raise InputError(f"device must be cpu or cuda[:N], got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device cuda was asked for but no CUDA device is available")
    if weights:
        path = Path(weights)
        stat = path.stat() if path.is_file() else None
        key = (f"file:{path.resolve()}:{stat and (stat.st_size, stat.st_mtime_ns)}", device)
    else:
        key = (f"id:{model or DEFAULT_ENHANCE_MODEL}@{weights_dir()}", device)
    if key not in _CACHE:
        net = load_weights_file(weights) if weights else load_model(model or DEFAULT_ENHANCE_MODEL)
        _CACHE[key] = net.to(device)
    return _CACHE[key]


def enhance_jpeg(
    data: bytes,
    *,
    info: JpegInfo | None = None,
    model: str | None = None,
    weights: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    threads: int | None = None,
    tile: int = 1024,
    precision: str = "auto",
    tolerate_damage: bool = False,
    content: str = "auto",
    report: Callable[[ModelChoice], None] | None = None,
    read: DctRead | None = None,
    strength: float | None = None,
) -> np.ndarray:
    """Enhanced decode of JPEG bytes.

    Args:
        data: a baseline or progressive 8-bit JPEG (greyscale or YCbCr, any sampling).
        info: ``data``'s parsed headers (:func:`hybrid.codec.headers.parse_info`), when the
            caller has them; else parsed here. Its checked APP11 record
            (``info.hybrid_metadata``) is the only reading of the record.
        model: registry id; default: chosen by :func:`hybrid.enhance.choice.choose_model`
            (the content class's model: given, recorded in the file, or classified).
        weights: a user weights file (overrides ``model``).
        device: ``cpu`` or ``cuda[:N]``.
        threads: torch CPU threads for the network call (default: as found); torch's
            settings are restored afterwards (:mod:`hybrid.enhance.torch_state`).
        tile: tile side for bounded-memory inference (1024: a 768x512 image is one tile;
            a 24 MP image needs about 1.2 GiB).
        precision: ``auto``, ``fp32`` or ``bf16``: the arithmetic of the network call only
            (:mod:`hybrid.enhance.precision`); ``auto`` is bf16 on a CPU with native bf16
            (avx512_bf16 / amx_bf16) or a bf16-capable CUDA device, else fp32. Measured on
            an AVX-512-BF16 EPYC: the network runs 2.3x faster, the mean PSNR gain moves by
            at most 0.001 dB.
        tolerate_damage: enhance a file with damaged entropy-coded data (which the caller
            has reported) from the coefficients libjpeg fills in, instead of raising
            :class:`~hybrid.errors.CorruptJPEGError`.
        content: ``auto``, ``photo`` or ``screen``: the model family when neither ``model``
            nor ``weights`` is given (:mod:`hybrid.enhance.choice`).
        report: called with the :class:`~hybrid.enhance.choice.ModelChoice` made, with the
            strength kept.
        read: ``data``'s :func:`~hybrid.codec.reader.read_dct` pass, when the caller has
            made it (libjpeg then does not run again).
        strength: the share (0..1) of the network's change kept; None (default): the
            strength the file's record carries for the model chosen, else the near-lossless
            fade-out (:func:`hybrid.enhance.taper.kept_share`); 1.0: the full change (what
            the encoder fits a strength from).

    Returns:
        float32 (H, W, 3) RGB in [0, 1] with more than 8 bits of precision, or (H, W, 1)
        for a greyscale file.

    Raises:
        ValueError: ``precision`` is not one of :data:`~hybrid.enhance.precision.PRECISIONS`.
        InputError: ``content`` is not one of :data:`~hybrid.enhance.choice.CONTENT_CHOICES`.
    """
    from hybrid.enhance.infer import enhance_planes
    from hybrid.enhance.jpeg_input import load_planes
    from hybrid.enhance.precision import check_precision
    from hybrid.enhance.taper import KeptShare, kept_share
    from hybrid.enhance.torch_state import torch_settings

    check_precision(precision)
    check_content(content)
    if info is None:
        # Pillow's own pixel limit (the same number) would refuse a larger image later
        info = parse_info(data, max_pixels=DEFAULT_MAX_PIXELS, max_scan_passes=None)

    planes = load_planes(data, info=info, tolerate_damage=tolerate_damage, read=read)
    named = bool(model or weights) or content != "auto"
    meta = None if named else info.hybrid_metadata  # the record as the header parse checked it
    choice = choose_model(meta, planes, model=model, weights=weights, content=content)
    model = None if weights else choice.model
    net = get_network(model, weights, device)
    flips = (
        1 if weights else int(inference_settings(model or DEFAULT_ENHANCE_MODEL).get("flips", 1))
    )
    share = (
        KeptShare(float(strength), "given")
        if strength is not None
        else kept_share(planes.qtables[0], info.hybrid_metadata, model, fade_out_steps(model))
    )
    with torch_settings(threads=threads):  # restored after: torch_state.py
        out = enhance_planes(
            net, planes, tile=tile, device=device, flips=flips, precision=precision,
            strength=share.strength,
        )  # fmt: skip
    if report is not None:
        report(replace(choice, strength=share.strength, strength_source=share.source))
    return out[:, :, :1] if planes.grey else out
