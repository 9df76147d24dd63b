"""ONNX export of released networks: a float32 graph and a static int8 (QDQ) graph.

The graph is traced by torch's TorchScript-based exporter (``dynamo=False``, opset 18) with
a batch of two, so the traced FiLM blocks are the batched ones (the one-image path folds
FiLM into the convolution weights, which would leave no constant weights to quantize), and
with dynamic batch, height and width. An SRNet graph's bicubic ``Resize`` is then rewritten
as the same arithmetic in Pad + depthwise Conv + DepthToSpace
(:func:`hybrid.enhance.onnx_graph.cubic_resize_as_conv`: ONNX Runtime's cubic Resize was
half of the network's time). The int8 graph is calibrated (MinMax) on JPEG-coded
crops of the training images, drawn from a fixed seed, so an export is a pure function of
(weights, training images, library versions): exporting twice gives the same bytes
(tests/enhance/test_onnx_export.py).

Measured (enhance-fast-v3, 2-core EPYC): fp32 graph vs torch max abs diff ~6e-5 on the
0..255 residual (SR networks: ~4e-7 on 0..1 RGB); see BENCHMARKS.md for speeds and the int8
variant's PSNR cost. What a super-resolution graph takes and returns, and the decode steps
around it, are written down in :mod:`hybrid.enhance.onnx_superres`; the enhancement graph's
in :mod:`hybrid.enhance.onnx_backend` and :mod:`hybrid.enhance.numpy_ops`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from hybrid.enhance.conditioning import COND_DIM
from hybrid.enhance.jpeg_input import condition_vector, load_planes
from hybrid.enhance.nets import SRNet
from hybrid.enhance.numpy_ops import rgb_to_ycbcr
from hybrid.enhance.onnx_graph import BICUBIC_CONV, cubic_resize_as_conv
from hybrid.enhance.onnx_registry import (
    OnnxEntry,
    OnnxFile,
    load_onnx_manifest,
    write_onnx_manifest,
)
from hybrid.enhance.registry import load_manifest, load_model, weights_dir
from hybrid.errors import InputError

OPSET = 18
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class CalibrationConfig:
    """How the int8 variant is calibrated: ``crops`` JPEG-coded crops of ``crop`` pixels
    (a multiple of 16) from the images in ``train_dir``, IJG quality drawn from
    [``quality_low``, ``quality_high``], 4:2:0 or 4:4:4, all from ``seed``."""

    train_dir: Path = Path("../shared/data/train")
    crops: int = 32
    crop: int = 128
    quality_low: int = 5
    quality_high: int = 75
    seed: int = 0

    def __post_init__(self) -> None:
        if self.crop % 16 or self.crop < 16:
            raise InputError(f"calibration crop must be a positive multiple of 16: {self.crop}")
        if self.crops < 1:
            raise InputError(f"calibration needs at least one crop, got {self.crops}")
        if not 1 <= self.quality_low <= self.quality_high <= 100:
            raise InputError("calibration qualities must satisfy 1 <= low <= high <= 100")

    def describe(self) -> dict[str, Any]:
        return {
            "data": str(self.train_dir),
            "crops": self.crops,
            "crop": self.crop,
            "quality": [self.quality_low, self.quality_high],
            "seed": self.seed,
            "method": "onnxruntime quantize_static, QDQ, Conv but the first, MinMax, "
            "u8 activations, per-channel s8 weights",
        }


def calibration_inputs(cfg: CalibrationConfig, architecture: str) -> list[dict[str, np.ndarray]]:
    """The network inputs of ``cfg``'s crops: ``x`` float32 (1, 3, crop, crop) -- JFIF
    YCbCr 0..255 for EnhanceNet, RGB 0..1 for SRNet -- and ``cond`` float32 (1, COND_DIM).

    Raises:
        InputError: ``cfg.train_dir`` holds no image of at least ``cfg.crop`` pixels a side.
    """
    root = Path(cfg.train_dir)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no calibration images in {root}")
    rng = np.random.default_rng(cfg.seed)
    out: list[dict[str, np.ndarray]] = []
    attempts = 0
    while len(out) < cfg.crops:
        attempts += 1
        if attempts > 20 * cfg.crops:
            raise InputError(f"too few images of at least {cfg.crop} px a side in {root}")
        with Image.open(files[int(rng.integers(len(files)))]) as im:
            img = np.asarray(im.convert("RGB"))
        h, w, _ = img.shape
        if min(h, w) < cfg.crop:
            continue
        y, x = int(rng.integers(h - cfg.crop + 1)), int(rng.integers(w - cfg.crop + 1))
        crop = img[y : y + cfg.crop, x : x + cfg.crop]
        quality = int(rng.integers(cfg.quality_low, cfg.quality_high + 1))
        subsampling = 2 if rng.random() < 0.75 else 0
        buf = io.BytesIO()
        Image.fromarray(crop).save(buf, "JPEG", quality=quality, subsampling=subsampling)
        planes = load_planes(buf.getvalue())
        rgb = planes.pixels.transpose(2, 0, 1).astype(np.float32)
        x_in = rgb_to_ycbcr(rgb) if architecture == "EnhanceNet" else rgb / np.float32(255.0)
        out.append({"x": x_in[None], "cond": condition_vector(planes)[None]})
    return out


def export_fp32(net: torch.nn.Module, path: Path) -> None:
    """Write ``net`` (an EnhanceNet or SRNet) as an opset-18 ONNX graph with inputs ``x``
    (N, 3, H, W), ``cond`` (N, COND_DIM), output ``y``; N, H, W dynamic (SRNet: H, W
    multiples of 16; its bicubic upsample rewritten by
    :func:`~hybrid.enhance.onnx_graph.cubic_resize_as_conv`)."""
    import onnx

    side = 64  # a multiple of 16: SRNet's traced padding is then none at any such size
    sr = isinstance(net, SRNet)
    scale = 1.0 if sr else 255.0
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, side, side, generator=gen) * scale
    cond = torch.rand(2, COND_DIM, generator=gen)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        # the exporter's deprecation notice, and the tracer's note on the one-image branch
        # of FiLMResBlock (the batch of two takes the batched branch, as intended)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            net.eval(),
            (x, cond),
            str(tmp),
            dynamo=False,
            opset_version=OPSET,
            input_names=["x", "cond"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "cond": {0: "n"},
                          "y": {0: "n", 2: "oh", 3: "ow"}},
        )  # fmt: skip
    if sr:
        graph = onnx.load(str(tmp))
        if not isinstance(net, SRNet) or cubic_resize_as_conv(graph, net.scale) != 1:
            tmp.unlink()
            raise RuntimeError("the traced SRNet graph has no single bicubic Resize to rewrite")
        onnx.save(graph, str(tmp))
    os.replace(tmp, path)


def quantize_int8(fp32_path: Path, int8_path: Path, inputs: list[dict[str, np.ndarray]]) -> None:
    """Write a static int8 QDQ version of the graph at ``fp32_path`` (per-channel int8
    weights, uint8 activations calibrated by MinMax on ``inputs``; only convolutions are
    quantized, and of them not the first nor SRNet's bicubic upsample; ``cond``, the FiLM
    MLP and the image path stay float)."""
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._items, None)

    import onnx

    nodes = onnx.load(str(fp32_path)).graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv" and n.name != BICUBIC_CONV]
    keep_float = [convs[0]] + [n.name for n in nodes if n.name == BICUBIC_CONV]
    tmp = int8_path.with_name(f".{int8_path.name}.{os.getpid()}.tmp")
    # onnxruntime's quantizer logs a pre-processing hint on the root logger: not for users.
    logging.disable(logging.WARNING)
    try:
        quantize_static(
            str(fp32_path),
            str(tmp),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            # uint8 activations with int8 weights: x86's fast path (VNNI); int8 activations ran
            # 2.4x slower on this EPYC (0.54 against 1.30 MP/s for the network alone)
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv"],
            calibrate_method=CalibrationMethod.MinMax,
            # the first convolution stays float: quantizing the colour planes it reads cost
            # enhance-fast-v3 0.06 / 0.11 dB at q20 / q50 (6 val images), 0.03 / 0.05 with
            # it in float; the network alone runs 2.5x fp32's speed (1 thread, 768x512)
            nodes_to_exclude=keep_float,
        )
        os.replace(tmp, int8_path)
    finally:
        logging.disable(logging.NOTSET)
        tmp.unlink(missing_ok=True)


def output_diff(
    net: torch.nn.Module, path: Path, inputs: list[dict[str, np.ndarray]]
) -> tuple[float, float]:
    """(max, mean) |ONNX - torch| output difference of the graph at ``path`` over
    ``inputs`` (dicts of ``x`` and ``cond``, as :func:`calibration_inputs` makes them)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst, total, count = 0.0, 0.0, 0
    for feed in inputs:
        with torch.no_grad():
            ref = net(torch.from_numpy(feed["x"]), torch.from_numpy(feed["cond"])).numpy()
        diff = np.abs(session.run(["y"], feed)[0] - ref)
        worst = max(worst, float(diff.max()))
        total, count = total + float(diff.sum()), count + diff.size
    return worst, total / count


def export_model(
    model_id: str,
    out_dir: Path,
    calibration: CalibrationConfig | None = None,
    int8: bool = True,
) -> OnnxEntry:
    """Export the released ``model_id`` to ``out_dir`` (``<weights file stem>.fp32.onnx``
    and ``.int8.onnx``) and record it in ``out_dir/onnx.json``.

    Raises:
        WeightsError: unknown model or a weights file failing its check.
        InputError: no calibration images.
    """
    registry = load_manifest(weights_dir())
    net = load_model(model_id).eval()
    entry = registry[model_id]
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(entry.file).stem
    calibration = calibration or CalibrationConfig()
    held_out = replace(calibration, crops=8, seed=calibration.seed + 1)
    checks = calibration_inputs(held_out, entry.architecture)
    variants: dict[str, OnnxFile] = {}
    fp32 = out_dir / f"{stem}.fp32.onnx"
    export_fp32(net, fp32)
    variants["fp32"] = _record(fp32, *output_diff(net, fp32, checks))
    if int8:
        q8 = out_dir / f"{stem}.int8.onnx"
        quantize_int8(fp32, q8, calibration_inputs(calibration, entry.architecture))
        variants["int8"] = _record(q8, *output_diff(net, q8, checks))
    record = OnnxEntry(
        id=model_id,
        source_sha256=entry.sha256,
        architecture=entry.architecture,
        receptive_radius=int(net.receptive_radius),
        size_multiple=16 if entry.architecture == "SRNet" else 8,
        variants=variants,
        opset=OPSET,
        inference=dict(entry.inference),
        calibration={**calibration.describe(), "checked_on": held_out.describe()}
        if int8
        else {"checked_on": held_out.describe()},
    )
    entries = load_onnx_manifest(out_dir)
    entries[model_id] = record
    write_onnx_manifest(entries, out_dir)
    return record


def _record(path: Path, worst: float, mean: float) -> OnnxFile:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return OnnxFile(
        file=path.name,
        sha256=digest,
        max_abs_diff=float(f"{worst:.3g}"),
        mean_abs_diff=float(f"{mean:.3g}"),
    )
