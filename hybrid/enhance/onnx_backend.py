"""Enhanced decode without torch: the exported network in ONNX Runtime, numpy around it.

The same tiles, overlap, projection and near-lossless fade-out as the torch backend
(:func:`hybrid.enhance.infer.enhance_planes`), with the numpy twins of its tensor code
(:mod:`hybrid.enhance.numpy_ops`). Importing this module imports neither torch nor
onnxruntime; running it imports onnxruntime (the ``[onnx]`` extra).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from hybrid.codec.headers import JpegInfo, parse_info
from hybrid.codec.reader import DctRead
from hybrid.enhance.backends import ONNX_VARIANT, check_backend
from hybrid.enhance.choice import ModelChoice, check_content, choose_model
from hybrid.enhance.jpeg_input import JpegPlanes, condition_vector, load_planes
from hybrid.enhance.numpy_ops import enhance_window
from hybrid.enhance.onnx_registry import load_onnx_manifest, onnx_entry, read_onnx_bytes
from hybrid.enhance.registry import DEFAULT_ENHANCE_MODEL, weights_dir
from hybrid.enhance.taper import KeptShare, kept_share, residual_strength
from hybrid.enhance.tiling import GRID, edge_window, round_up, tiles
from hybrid.errors import InputError, MissingModelWarning, WeightsError
from hybrid.io import DEFAULT_MAX_PIXELS

_SESSIONS: dict[tuple[str, str, str, int | None], Any] = {}


def onnx_session(model_id: str, variant: str = "fp32", threads: int | None = None) -> Any:
    """A cached ONNX Runtime CPU session of ``model_id``'s verified ``variant``.

    Raises:
        WeightsError: onnxruntime is not installed, or :func:`read_onnx_bytes`' errors.
    """
    directory = weights_dir()
    key = (model_id, variant, str(directory), threads)
    if key not in _SESSIONS:
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
        except ImportError:
            raise WeightsError(
                "the onnx backend needs onnxruntime: pip install 'hybrid-jpeg-codec[onnx]'"
            ) from None
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        data = read_onnx_bytes(model_id, variant, directory)
        _SESSIONS[key] = ort.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    return _SESSIONS[key]


def session_runner(session: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``session`` as a function (x, cond) -> y of float32 arrays."""

    def run(x: np.ndarray, cond: np.ndarray) -> np.ndarray:
        feed = {"x": np.ascontiguousarray(x, dtype=np.float32), "cond": cond}
        return session.run(["y"], feed)[0]

    return run


def enhance_planes_numpy(
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    planes: JpegPlanes,
    *,
    overlap: int,
    tile: int = 1024,
    flips: int = 1,
    consistency: bool = True,
    taper: bool = True,
    strength: float | None = None,
) -> np.ndarray:
    """Enhance one decoded JPEG tile by tile (:func:`hybrid.enhance.tiling.tiles`, as the
    torch backend).

    Args:
        run: the network as (1, 3, h, w) YCbCr 0..255, (1, COND_DIM) -> residual, float32.
        planes: from :func:`hybrid.enhance.jpeg_input.load_planes`.
        overlap: context around each tile in pixels (rounded up to 16); must exceed the
            network's receptive radius plus one MCU, as
            :func:`hybrid.enhance.tiling.tile_overlap` gives it.
        tile: tile side (rounded up to 16).
        flips: 1, 2 or 4 mirrorings averaged.
        consistency: apply the quantization-consistency projection.
        taper: keep only :func:`~hybrid.enhance.taper.residual_strength` of the change.
        strength: the share (0..1) kept, overriding ``taper``, as the torch backend's.

    Returns:
        float32 (H, W, 3) enhanced RGB on the 0..1 scale, clipped to [0, 1].
    """
    h, w, _ = planes.pixels.shape
    if strength is None:
        strength = residual_strength(planes.qtables[0]) if taper else 1.0
    if strength == 0.0:
        return planes.pixels[:h, :w, :3].astype(np.float32) / np.float32(255.0)
    hp, wp = round_up(h, GRID), round_up(w, GRID)
    rgb = planes.pixels
    fy, fx = planes.chroma_factors
    # libjpeg's block counts may exceed the MCU grid's for chroma: crop (a view)
    coeffs = [planes.coeffs[0][: hp // 8, : wp // 8]]
    coeffs += [c[: hp // (8 * fy), : wp // (8 * fx)] for c in planes.coeffs[1:]]
    cond = condition_vector(planes)
    out = np.empty((h, w, 3), dtype=np.float32)
    for t in tiles(h, w, tile, overlap):
        window = edge_window(rgb, t.wy0, t.wy1, t.wx0, t.wx1)
        window = window.transpose(2, 0, 1).astype(np.float32)
        win_coeffs = [edge_window(coeffs[0], t.wy0 // 8, t.wy1 // 8, t.wx0 // 8, t.wx1 // 8)]
        for c in coeffs[1:]:
            by0, by1, bx0, bx1 = t.wy0 // fy, t.wy1 // fy, t.wx0 // fx, t.wx1 // fx
            win_coeffs.append(edge_window(c, by0 // 8, by1 // 8, bx0 // 8, bx1 // 8))
        result = enhance_window(
            run,
            window,
            cond,
            win_coeffs if consistency else None,
            list(planes.qtables) if consistency else None,
            planes.chroma_factors,
            planes.grey,
            flips,
        )
        ty1, tx1 = min(h, t.y1), min(w, t.x1)  # the padding is dropped
        rows, cols = slice(t.y0 - t.wy0, ty1 - t.wy0), slice(t.x0 - t.wx0, tx1 - t.wx0)
        part: np.ndarray = np.clip(result[:, rows, cols] * np.float32(1.0 / 255.0), 0.0, 1.0)
        if strength != 1.0:  # hybrid.enhance.strength.blend's arithmetic (float32 throughout)
            plain = window[:, rows, cols] / np.float32(255.0)
            part = plain + np.float32(strength) * (part - plain)
        out[t.y0 : ty1, t.x0 : tx1] = part.transpose(1, 2, 0)
    return out


def enhance_jpeg_onnx(
    data: bytes,
    *,
    info: JpegInfo | None = None,
    model: str | None = None,
    backend: str = "onnx",
    threads: int | None = None,
    tile: int = 1024,
    tolerate_damage: bool = False,
    content: str = "auto",
    report: Callable[[ModelChoice], None] | None = None,
    read: DctRead | None = None,
    strength: float | None = None,
) -> np.ndarray:
    """Enhanced decode of JPEG bytes through the ONNX export (no torch import).

    Args:
        data: a baseline or progressive 8-bit JPEG (greyscale or YCbCr).
        info: ``data``'s parsed headers, as :func:`hybrid.enhance.enhance_jpeg`'s.
        model: registry id; default: chosen by :func:`hybrid.enhance.choice.choose_model`.
            A content class's model without an ONNX export falls back to the photo model,
            and a model the file's record names without one to the model chosen as if the
            record named none (its content class, else the classifier's), each with one
            :class:`~hybrid.errors.MissingModelWarning`. A ``model`` given without an export
            is an error.
        backend: ``onnx`` (float32 graph) or ``onnx-int8`` (static QDQ graph).
        threads: ONNX Runtime intra-op threads (default: its choice).
        tile: tile side for bounded-memory inference.
        tolerate_damage, content, report, read, strength: as
            :func:`hybrid.enhance.enhance_jpeg`.

    Returns:
        float32 (H, W, 3) RGB in [0, 1], or (H, W, 1) for a greyscale file.

    Raises:
        WeightsError: no verified export of the given or fallback model, onnxruntime
            missing, or the model is not an enhancement network.
    """
    if check_backend(backend) == "torch":
        raise InputError("enhance_jpeg_onnx runs the onnx backends only")
    check_content(content)
    if info is None:
        # Pillow's own pixel limit (the same number) would refuse a larger image later
        info = parse_info(data, max_pixels=DEFAULT_MAX_PIXELS, max_scan_passes=None)
    planes = load_planes(data, info=info, tolerate_damage=tolerate_damage, read=read)
    meta = None if model or content != "auto" else info.hybrid_metadata
    exported = load_onnx_manifest()
    choice = choose_model(meta, planes, model=model, content=content, exported=exported)
    fallback = choice.content is not None and choice.model != DEFAULT_ENHANCE_MODEL
    if fallback and choice.model not in exported:
        if choice.passed_over is None:  # else the one warning below says it all
            warnings.warn(
                f"the {choice.content} enhancement model {choice.model} has no ONNX export: "
                f"using {DEFAULT_ENHANCE_MODEL}",
                MissingModelWarning,
                stacklevel=2,
            )
        choice = replace(choice, model=DEFAULT_ENHANCE_MODEL, missing=choice.model)
    if choice.passed_over is not None:
        warnings.warn(
            f"the file's record names {choice.passed_over}, which has no ONNX export: "
            f"enhanced with {replace(choice, passed_over=None).describe()}; "
            f"`hybrid export-onnx {choice.passed_over}` makes the export",
            MissingModelWarning,
            stacklevel=2,
        )
    model = choice.model
    entry = onnx_entry(model)
    if entry.architecture != "EnhanceNet":
        raise WeightsError(f"{model!r} is not an enhancement network ({entry.architecture})")
    run = session_runner(onnx_session(model, ONNX_VARIANT[backend], threads))
    share = (
        KeptShare(float(strength), "given")
        if strength is not None
        else kept_share(planes.qtables[0], info.hybrid_metadata, model, entry.fade_out)
    )
    if report is not None:
        report(replace(choice, strength=share.strength, strength_source=share.source))
    out = enhance_planes_numpy(
        run,
        planes,
        overlap=entry.receptive_radius + 1 + GRID,
        tile=tile,
        flips=int(entry.inference.get("flips", 1)),
        strength=share.strength,
    )
    return out[:, :, :1] if planes.grey else out
