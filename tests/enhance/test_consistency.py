"""Quantization-consistency projection: exact properties and gradients."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from hybrid.enhance.consistency import dct_basis, from_blocks, project_plane, project_ycc, to_blocks
from hybrid.enhance.jpeg_input import load_planes
from hybrid.enhance.ycc import rgb_to_ycbcr, ycbcr_to_rgb


def test_dct_basis_matches_t81_formula():
    c = dct_basis(torch.float64)
    f = torch.arange(64, dtype=torch.float64).reshape(8, 8)
    ours = c @ f @ c.t()
    direct = torch.zeros(8, 8, dtype=torch.float64)
    for u in range(8):
        for v in range(8):
            cu = 1 / np.sqrt(2) if u == 0 else 1.0
            cv = 1 / np.sqrt(2) if v == 0 else 1.0
            s = sum(
                f[y, x]
                * np.cos((2 * x + 1) * v * np.pi / 16)
                * np.cos((2 * y + 1) * u * np.pi / 16)
                for y in range(8)
                for x in range(8)
            )
            direct[u, v] = 0.25 * cu * cv * s
    assert torch.allclose(ours, direct, atol=1e-9)
    assert torch.allclose(c @ c.t(), torch.eye(8, dtype=torch.float64), atol=1e-12)


def test_blocks_round_trip():
    x = torch.randn(2, 24, 40)
    assert torch.equal(from_blocks(to_blocks(x)), x)


def _planes(sub: int, quality: int = 20):
    img = data.astronaut()[:100, :131]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality, subsampling=sub)
    return img, load_planes(buf.getvalue())


def _tensors(planes):
    co = [torch.from_numpy(c.astype(np.float32))[None] for c in planes.coeffs]
    qs = [torch.from_numpy(q.astype(np.float32)) for q in planes.qtables]
    return co, qs


@pytest.mark.parametrize("sub", [0, 1, 2])
def test_projection_keeps_decoded_and_original_nearly_fixed(sub):
    img, planes = _planes(sub)
    co, qs = _tensors(planes)
    for rgb in (planes.pixels, img):
        x = rgb_to_ycbcr(torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None])
        y = project_ycc(x, co, qs, planes.chroma_factors)
        # Both lie (up to libjpeg's integer DCT/rounding) inside the intervals already.
        assert (y - x).abs().mean() < 0.05


def test_projection_is_idempotent_and_lands_in_the_box():
    _, planes = _planes(0)
    co, qs = _tensors(planes)
    x = torch.rand(1, 100, 131) * 255
    y = project_plane(x, co[0], qs[0])
    z = project_plane(y, co[0], qs[0])
    # Whole interior blocks are exactly idempotent; edge blocks include replicated padding.
    assert torch.allclose(y[:, :96, :128], z[:, :96, :128], atol=1e-3)
    c = dct_basis()
    pad = torch.nn.functional.pad(y[:, None], (0, 5, 0, 4), mode="replicate")[:, 0]
    spec = c @ (to_blocks(pad) - 128) @ c.t()
    k = co[0][:, : spec.shape[1], : spec.shape[2]]
    inner = spec[:, :-1, :-1]  # edge blocks are partially replicated padding
    assert torch.all(inner >= (k[:, :-1, :-1] - 0.5) * qs[0] - 1e-2)
    assert torch.all(inner <= (k[:, :-1, :-1] + 0.5) * qs[0] + 1e-2)


def test_projection_improves_a_noisy_image():
    img, planes = _planes(0, quality=90)
    co, qs = _tensors(planes)
    orig = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None]
    noisy = orig + torch.randn(orig.shape, generator=torch.Generator().manual_seed(0)) * 10
    out = ycbcr_to_rgb(project_ycc(rgb_to_ycbcr(noisy), co, qs, planes.chroma_factors))
    assert ((out - orig) ** 2).mean() < 0.7 * ((noisy - orig) ** 2).mean()


def test_projection_gradcheck():
    _, planes = _planes(0)
    co, qs = _tensors(planes)
    x = (torch.rand(1, 16, 16, dtype=torch.float64) * 255).requires_grad_()
    k = co[0][:, :2, :2].double()
    assert torch.autograd.gradcheck(
        lambda t: project_plane(t, k, qs[0].double()), (x,), eps=1e-6, atol=1e-5
    )
