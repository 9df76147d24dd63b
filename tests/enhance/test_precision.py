"""bfloat16 network calls: choosing the precision, and what bf16 does to released networks'
outputs (close to fp32, deterministic, tiled exactly like the whole image)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from hybrid.enhance import precision as precision_module
from hybrid.enhance.infer import enhance_planes
from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.precision import (
    PRECISIONS,
    cpuinfo_lists_native_bf16,
    network_call,
    resolve_precision,
)
from hybrid.enhance.registry import load_model
from hybrid.enhance.superres import upscale_planes
from tests.helpers.jpeg import pillow_jpeg

#: An 8-bit step on the 0..1 scale.
STEP = 1.0 / 255.0


@pytest.fixture(scope="module")
def enhance_net():
    return load_model("enhance-fast-v2")


@pytest.fixture(scope="module")
def sr_net():
    return load_model("sr-fast-v1")


def test_explicit_precisions_are_kept_and_bad_ones_refused():
    assert PRECISIONS == ("auto", "fp32", "bf16")
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")
    for bad in ("fp16", "BF16", "", None):
        with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16") as info:
            resolve_precision(bad, "cpu")
        assert "\n" not in str(info.value)


def test_auto_is_bf16_only_where_it_is_native(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == "bf16"
    if not torch.cuda.is_available():
        assert resolve_precision("auto", "cuda") == "fp32"


def test_cpu_flags_that_mean_native_bf16():
    zen4 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_bf16 avx512vl\n"
    sapphire_rapids = "flags\t\t: avx512f avx512_fp16 amx_bf16 amx_tile amx_int8\n"
    skylake_x = "flags\t\t: fpu avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni\n"
    assert cpuinfo_lists_native_bf16(zen4)
    assert cpuinfo_lists_native_bf16(sapphire_rapids)
    assert not cpuinfo_lists_native_bf16(skylake_x)  # oneDNN would emulate bf16 there
    assert not cpuinfo_lists_native_bf16("Features\t: fp asimd bf16\n")  # Arm: not probed


def test_network_call_keeps_float32_around_the_network(enhance_net):
    x = torch.rand(1, 3, 32, 48) * 255.0
    cond = torch.rand(1, 131)
    assert network_call(enhance_net, "fp32", "cpu") is enhance_net
    run = network_call(enhance_net, "bf16", "cpu")
    with torch.inference_mode():
        out = run(x, cond)
        reference = enhance_net(x, cond)
    assert out.dtype == torch.float32 and out.shape == reference.shape
    assert 0 < (out - reference).abs().max() < 2.0  # 0..255 scale: bf16 ran, and is close
    assert enhance_net.receptive_radius == 26  # the tilers read it from the network itself


@pytest.mark.parametrize("sub", [0, 2])
def test_bf16_enhancement_is_close_to_fp32(enhance_net, sub):
    planes = load_planes(pillow_jpeg(data.astronaut()[:96, :136], quality=30, subsampling=sub))
    fp32 = enhance_planes(enhance_net, planes, precision="fp32")
    bf16 = enhance_planes(enhance_net, planes, precision="bf16")
    diff = np.abs(bf16 - fp32)
    # measured: mean 2.7e-4 to 2.9e-4, max 2.0e-3
    assert 0 < diff.mean() < 0.5 * STEP
    assert diff.max() < 2 * STEP
    assert np.abs(fp32 - planes.pixels / 255.0).mean() > 10 * diff.mean()  # a real change


def test_bf16_enhancement_is_deterministic(enhance_net):
    planes = load_planes(pillow_jpeg(data.chelsea()[:80, :112], quality=20, subsampling=2))
    first = enhance_planes(enhance_net, planes, precision="bf16")
    assert np.array_equal(first, enhance_planes(enhance_net, planes, precision="bf16"))


@pytest.mark.parametrize("sub", [0, 2])
def test_bf16_enhancement_tiles_like_the_whole_image(enhance_net, sub):
    """As in fp32 (tests/enhance/test_infer.py), within 1e-3: measured 0 on this image."""
    planes = load_planes(pillow_jpeg(data.astronaut()[:150, :203], quality=25, subsampling=sub))
    whole = enhance_planes(enhance_net, planes, tile=1024, precision="bf16")
    tiled = enhance_planes(enhance_net, planes, tile=48, precision="bf16")
    assert np.abs(whole - tiled).max() < 1e-3


def test_bf16_super_resolution_is_close_to_fp32_and_tiles_exactly(sr_net):
    planes = load_planes(pillow_jpeg(data.astronaut()[:150, :203], quality=25, subsampling=2))
    fp32 = upscale_planes(sr_net, planes, 2, tile=1024, precision="fp32")
    bf16 = upscale_planes(sr_net, planes, 2, tile=1024, precision="bf16")
    diff = np.abs(bf16 - fp32)
    assert 0 < diff.mean() < 0.5 * STEP and diff.max() < 2 * STEP  # measured 2.0e-4, 1.7e-3
    tiled = upscale_planes(sr_net, planes, 2, tile=48, precision="bf16")
    assert np.abs(bf16 - tiled).max() < 1e-3
    assert np.array_equal(bf16, upscale_planes(sr_net, planes, 2, tile=1024, precision="bf16"))


def test_bad_precision_is_refused_before_any_work(enhance_net):
    planes = load_planes(pillow_jpeg(data.astronaut()[:32, :32], quality=95))  # no network run
    with pytest.raises(ValueError, match="precision"):
        enhance_planes(enhance_net, planes, precision="half")
    with pytest.raises(ValueError, match="precision"):
        upscale_planes(enhance_net, planes, 2, precision="half")


def test_super_resolved_decode_passes_precision_down():
    import hybrid

    jpeg = pillow_jpeg(data.astronaut()[:48, :64], quality=30, subsampling=2)
    fp32 = hybrid.decode_array(jpeg, enhance=True, scale=2, precision="fp32")
    bf16 = hybrid.decode_array(jpeg, enhance=True, scale=2, precision="bf16")
    assert fp32.shape == bf16.shape == (96, 128, 3)
    assert 0 < np.abs(bf16 - fp32).mean() < 0.5 * STEP
