"""The SR graph's bicubic Resize rewritten as Pad + depthwise Conv + DepthToSpace: torch's
bicubic upsample to float rounding at every SRNet factor."""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from hybrid.enhance.onnx_graph import (  # noqa: E402
    BICUBIC_CONV,
    bicubic_kernel,
    cubic_resize_as_conv,
    phase_taps,
)
from hybrid.enhance.onnx_registry import load_onnx_manifest  # noqa: E402
from hybrid.enhance.registry import weights_dir  # noqa: E402


def _resize_model(scale: int):
    from onnx import TensorProto, helper, numpy_helper

    scales = numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")
    node = helper.make_node(
        "Resize", ["x", "", "scales"], ["y"], mode="cubic", cubic_coeff_a=-0.75,
        coordinate_transformation_mode="half_pixel", nearest_mode="floor",
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["scales"], value=scales), node],
        "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "oh", "ow"])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_rewrite_is_torch_bicubic(scale):
    import torch
    import torch.nn.functional as F

    model = _resize_model(scale)
    assert cubic_resize_as_conv(model, scale) == 1
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    assert ops == ["Pad", "Conv", "DepthToSpace"]  # the scales Constant is gone too
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(scale)
    for h, w in ((1, 1), (2, 7), (16, 48), (37, 21)):
        x = torch.rand(1, 3, h, w, generator=gen)
        ref = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
        got = session.run(["y"], {"x": x.numpy()})[0]
        assert got.shape == tuple(ref.shape)
        # torch computes the scale-3 source coordinates in float32: ~3e-6 there
        assert np.abs(got - ref.numpy()).max() < 1e-5


def test_taps_and_kernel():
    taps = phase_taps(2)
    assert np.allclose(taps.sum(axis=1), 1.0)
    # Keys a=-0.75 at distances 1.75, 0.75, 0.25, 1.25 (phase 0) and mirrored (phase 1)
    assert np.allclose(taps[0], [-0.03515625, 0.26171875, 0.87890625, -0.10546875, 0.0])
    assert np.allclose(taps[1], taps[0][::-1])
    kernel = bicubic_kernel(2)
    assert kernel.shape == (12, 1, 5, 5)
    assert np.allclose(kernel[4 + 2, 0], np.outer(taps[1], taps[0]))  # channel 1, phase (1, 0)


def test_other_resizes_are_refused_or_left():
    from onnx import helper

    model = _resize_model(2)
    node = model.graph.node[1]
    del node.attribute[:]
    node.attribute.extend([helper.make_attribute("mode", "linear")])
    assert cubic_resize_as_conv(model, 2) == 0
    model = _resize_model(2)
    model.graph.node[1].attribute.append(helper.make_attribute("exclude_outside", 1))
    with pytest.raises(ValueError, match="not torch's bicubic"):
        cubic_resize_as_conv(model, 2)


def test_committed_sr_graphs_upsample_by_convolution_kept_in_float():
    entries = load_onnx_manifest()
    for model_id in ("sr-fast-v1", "sr-fast-x1.5-v1"):
        for variant in ("fp32", "int8"):
            graph = onnx.load(str(weights_dir() / entries[model_id].variants[variant].file)).graph
            assert not [n for n in graph.node if n.op_type == "Resize"]
            conv = next(n for n in graph.node if n.name == BICUBIC_CONV)
            # float in the int8 graph too: its inputs come straight from Pad and the kernel
            assert conv.input[1] == f"{BICUBIC_CONV}_kernel"
            assert conv.input[0] == f"{BICUBIC_CONV}_padded"
