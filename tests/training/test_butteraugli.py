"""training.butteraugli, the differentiable port of libjxl's butteraugli: its distances are
libjxl 0.7 ``butteraugli_main``'s (through hybrid.perceptual) on JPEG-compressed photo crops,
identical images score 0, and its gradients are finite and agree with finite differences."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers.butteraugli import need_butteraugli
from training.butteraugli import (
    HF_MALTA_LINES,
    LF_MALTA_LINES,
    ButteraugliLoss,
    blur_matrix,
    butteraugli_diffmap,
    butteraugli_distance,
    butteraugli_max,
    gaussian_blur,
    pnorm,
)

VAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "val"
CROP = (160, 192)  # (H, W)
QUALITIES = (10, 30, 70)
#: Relative agreement asserted with the tool, 3-norm and max-norm (measured: ~1e-5).
TOOL_TOLERANCE = 1e-3


def photo_crops(count: int = 3) -> list[np.ndarray]:
    """``count`` uint8 (160, 192, 3) crops: the centres of the first val images, or of
    skimage's sample photos where ../shared/data/val is absent."""
    paths = sorted(VAL.glob("*.png"))[:count] if VAL.is_dir() else []
    if len(paths) == count:
        images = [np.asarray(Image.open(path).convert("RGB")) for path in paths]
    else:
        from skimage import data

        images = [data.astronaut(), data.coffee(), data.chelsea()]
    crops = []
    for image in images[:count]:
        y, x = (image.shape[0] - CROP[0]) // 2, (image.shape[1] - CROP[1]) // 2
        crops.append(np.ascontiguousarray(image[y : y + CROP[0], x : x + CROP[1]]))
    return crops


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` through Pillow's JPEG encoder at ``quality`` and back, (H, W, 3) uint8."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def as_batch(images: list[np.ndarray], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, 3, H, W) sRGB in 0..1 of uint8 (H, W, 3) images."""
    stacked = np.stack(images).astype(np.float64) / 255.0
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).to(dtype)


def test_distances_match_libjxl_butteraugli_main():
    from hybrid.perceptual import butteraugli

    need_butteraugli()  # skipped without the tool, failed without it under CI=true

    refs, dists = [], []
    for crop in photo_crops():
        for quality in QUALITIES:
            refs.append(crop)
            dists.append(jpeg(crop, quality))
    tool = [butteraugli(ref, dist) for ref, dist in zip(refs, dists, strict=True)]
    with torch.no_grad():
        diffmap = butteraugli_diffmap(as_batch(dists), as_batch(refs))
    port_p3 = pnorm(diffmap, 3.0).numpy()
    port_max = diffmap.flatten(1).amax(1).numpy()
    tool_p3 = np.array([t.pnorm3 for t in tool])
    tool_max = np.array([t.max_norm for t in tool])

    np.testing.assert_allclose(port_p3, tool_p3, rtol=TOOL_TOLERANCE)
    np.testing.assert_allclose(port_max, tool_max, rtol=TOOL_TOLERANCE)
    assert list(np.argsort(port_p3)) == list(np.argsort(tool_p3))
    assert list(np.argsort(port_max)) == list(np.argsort(tool_max))
    # Worse JPEG, larger distance, for every crop.
    assert np.all(np.diff(port_p3.reshape(-1, len(QUALITIES)), axis=1) < 0)


def test_identical_images_score_zero():
    refs = as_batch(photo_crops(2))
    assert torch.count_nonzero(butteraugli_diffmap(refs, refs)) == 0
    assert butteraugli_distance(refs, refs).tolist() == [0.0, 0.0]
    assert butteraugli_max(refs, refs).tolist() == [0.0, 0.0]


def test_gradients_are_finite_and_match_finite_differences():
    crop = photo_crops(1)[0][:48, :40]
    ref = as_batch([crop], torch.float64)
    pred = as_batch([jpeg(crop, 20)], torch.float64).requires_grad_()
    distance = butteraugli_distance(pred, ref)[0]
    (grad,) = torch.autograd.grad(distance, pred)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0

    direction = torch.randn(
        pred.shape, generator=torch.Generator().manual_seed(0), dtype=pred.dtype
    )
    # The map is piecewise smooth with kinks (libjxl's clamps, branches and the erosion's
    # minima) within 1e-6 of a JPEG's pixels along most directions: a small step avoids them.
    step = 1e-8
    with torch.no_grad():
        ahead = butteraugli_distance(pred + step * direction, ref)[0]
        behind = butteraugli_distance(pred - step * direction, ref)[0]
    numeric = float(ahead - behind) / (2 * step)
    assert float((grad * direction).sum()) == pytest.approx(numeric, rel=1e-5)

    # At equality the distance has a minimum: zero, finite gradients (no 0/0 from the roots).
    same = ref.clone().requires_grad_()
    ButteraugliLoss()(same, ref).backward()
    assert torch.isfinite(same.grad).all() and float(same.grad.abs().max()) == 0.0


def test_float32_agrees_with_float64():
    refs = photo_crops(1)
    dists = [jpeg(refs[0], 30)]
    single = butteraugli_distance(as_batch(dists), as_batch(refs))
    double = butteraugli_distance(as_batch(dists, torch.float64), as_batch(refs, torch.float64))
    assert float(single[0]) == pytest.approx(float(double[0]), rel=1e-5)


def test_blurs_keep_flat_fields_and_mirror_the_five_tap_borders():
    flat = torch.full((1, 2, 20, 11), 0.25, dtype=torch.float64)
    for sigma in (1.2, 1.56416327805, 2.7, 3.22489901262, 7.15593339443):
        torch.testing.assert_close(gaussian_blur(flat, sigma), flat)
    # sigma 1.2: 5 taps; row 0 sees samples -2, -1 as 1, 0 (libjxl's Mirror).
    taps = np.exp(-(np.arange(-2, 3) ** 2) / (2 * 1.2**2))
    taps /= taps.sum()
    row0 = blur_matrix(8, 1.2, torch.float64, torch.device("cpu"))[0].numpy()
    np.testing.assert_allclose(row0[:3], [taps[2] + taps[1], taps[3] + taps[0], taps[4]])
    # sigma 2.7: 13 taps, renormalised over the 7 inside the image at the first sample.
    taps = np.exp(-(np.arange(0, 7) ** 2) / (2 * 2.7**2))
    row0 = blur_matrix(20, 2.7, torch.float64, torch.device("cpu"))[0].numpy()
    np.testing.assert_allclose(row0[:8], np.append(taps / taps.sum(), 0.0))


def test_malta_lines_pass_through_the_centre_symmetrically():
    for lines, taps in ((HF_MALTA_LINES, {7, 9}), (LF_MALTA_LINES, {5})):
        assert len(lines) == 16
        for line in lines:
            assert len(line) in taps and (0, 0) in line
            assert sorted(line) == sorted((-dy, -dx) for dy, dx in line)
            assert all(max(abs(dy), abs(dx)) <= 4 for dy, dx in line)


@pytest.mark.parametrize(
    ("shape", "message"),
    [((1, 3, 7, 20), "H, W >= 8"), ((1, 1, 16, 16), r"\(B, 3, H, W\)")],
)
def test_refuses_what_butteraugli_cannot_measure(shape, message):
    with pytest.raises(ValueError, match=message):
        butteraugli_distance(torch.zeros(shape), torch.zeros(shape))
