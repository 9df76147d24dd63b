"""Rewrites of a traced ONNX graph before it is saved: the same function, faster kernels.

:func:`cubic_resize_as_conv` replaces SRNet's bicubic upsample of its input (torch's
``F.interpolate(mode="bicubic", align_corners=False)``, traced as an ONNX ``Resize`` with
``mode=cubic``, ``cubic_coeff_a=-0.75``, ``half_pixel``) by the same arithmetic in three
plain operators: ``Pad`` (edge, 2 pixels each side: torch clamps the taps to the image),
a depthwise ``Conv`` with fixed 5x5 kernels, one per output phase (the outer product of
the 4-tap cubic weights of the row and column phase, zero-padded to 5 taps) and
``DepthToSpace`` (``CRD``) interleaving the phases. ONNX Runtime's CPU cubic ``Resize``
took about half of the whole SR network's time (141 of ~260 ms at 352x352, one thread);
the convolution takes a few milliseconds, and the outputs agree with torch as closely as
before (max |diff| 5e-7 on 0..1 at 352x352). The rewritten node is named
:data:`BICUBIC_CONV` so the int8 quantizer can leave it (the image path) in float.
Importing this module imports neither torch nor onnx.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Name of the depthwise convolution that does the bicubic upsample (kept in float by the
#: int8 quantizer).
BICUBIC_CONV = "bicubic_upsample_conv"
#: Keys' cubic convolution parameter of torch's (and the traced Resize's) bicubic.
CUBIC_A = -0.75


def cubic_weight(t: float, a: float = CUBIC_A) -> float:
    """Keys' cubic convolution kernel at distance ``t``."""
    t = abs(t)
    if t <= 1.0:
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    if t < 2.0:
        return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    return 0.0


def phase_taps(scale: int) -> np.ndarray:
    """float64 (scale, 5): for output ``scale * i + p`` of a 1-D bicubic upsample
    (half-pixel centres: source ``i + (p + 0.5) / scale - 0.5``), the weights of inputs
    ``i - 2 .. i + 2``."""
    taps = np.zeros((scale, 5), dtype=np.float64)
    for p in range(scale):
        offset = (p + 0.5) / scale - 0.5
        first = math.floor(offset) - 1
        for k in range(first, first + 4):
            taps[p, k + 2] = cubic_weight(offset - k)
    return taps


def bicubic_kernel(scale: int, channels: int = 3) -> np.ndarray:
    """float32 (channels * scale**2, 1, 5, 5) depthwise kernels: output channel
    ``c * scale**2 + py * scale + px`` is input channel ``c``'s phase (py, px), the order
    ``DepthToSpace`` ``CRD`` expects."""
    taps = phase_taps(scale)
    kernel = np.zeros((channels * scale * scale, 1, 5, 5), dtype=np.float32)
    for c in range(channels):
        for py in range(scale):
            for px in range(scale):
                kernel[c * scale * scale + py * scale + px, 0] = np.outer(taps[py], taps[px])
    return kernel


def cubic_resize_as_conv(model: Any, scale: int) -> int:
    """Replace, in place, every cubic ``Resize`` of ``model`` (an ``onnx.ModelProto``)
    that upsamples a 3-channel input by the integer ``scale`` with Pad + Conv +
    DepthToSpace (see the module docstring). Returns how many were replaced.

    Raises:
        ValueError: a cubic Resize whose attributes are not torch's bicubic
            (``half_pixel``, a = -0.75, ``exclude_outside`` 0).
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
    replaced = 0
    for node in [n for n in graph.node if n.op_type == "Resize"]:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("mode") != b"cubic":
            continue
        expected = {"coordinate_transformation_mode": b"half_pixel", "cubic_coeff_a": CUBIC_A}
        if any(attrs.get(k) != v for k, v in expected.items()) or attrs.get("exclude_outside"):
            raise ValueError(f"Resize {node.name!r} is not torch's bicubic: {attrs}")
        prefix = f"{BICUBIC_CONV}_{replaced}" if replaced else BICUBIC_CONV
        kernel, pads = f"{prefix}_kernel", f"{prefix}_pads"
        graph.initializer.extend(
            [
                numpy_helper.from_array(bicubic_kernel(scale), kernel),
                numpy_helper.from_array(np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64), pads),
            ]
        )
        nodes = [
            helper.make_node("Pad", [node.input[0], pads], [f"{prefix}_padded"], mode="edge",
                             name=f"{prefix}_pad"),
            helper.make_node("Conv", [f"{prefix}_padded", kernel], [f"{prefix}_phases"],
                             group=3, kernel_shape=[5, 5], name=prefix),
            helper.make_node("DepthToSpace", [f"{prefix}_phases"], [node.output[0]],
                             blocksize=scale, mode="CRD", name=f"{prefix}_shuffle"),
        ]  # fmt: skip
        unused = [name for name in node.input[1:] if name in constants]
        index = list(graph.node).index(node)
        del graph.node[index]
        for offset, new in enumerate(nodes):
            graph.node.insert(index + offset, new)
        for name in unused:
            if not any(name in n.input for n in graph.node):
                graph.node.remove(constants[name])
        replaced += 1
    return replaced
