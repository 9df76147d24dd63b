"""Clean images in, degraded (JPEG-decoded) training pairs out, generated on the fly.

Every batch is a pure function of ``(seed, iteration)``: resuming a run replays exactly the
same batches, which is what makes resume bit-identical.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import hybrid
from hybrid.codec.quant import ijg_scale_factor
from hybrid.codec.tables import STD_CHROMA_QUANT, STD_LUMA_QUANT
from hybrid.enhance.jpeg_input import JpegPlanes, condition_vector, load_planes

IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm"}

#: Pillow's ``subsampling`` argument for each chroma mode.
_PIL_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}

#: hybrid's own encoder modes a training crop can be coded with, and their ``hybrid.encode``
#: options: ``best`` (PSNR-tuned tables, trellis, progressive), trellis, progressive, baseline,
#: and the best mode's perceptual tune (``--tune perceptual``: its tables and trellis, for any
#: decoder; the file records the tune's model).
HYBRID_MODES: dict[str, dict[str, bool | str]] = {
    "best": {"best": True},
    "rdo": {"rdo": True},
    "progressive": {"progressive": True},
    "baseline": {},
    "perceptual": {"tune": "perceptual"},
}


def list_images(folder: str | Path) -> list[Path]:
    """Image files below ``folder`` (recursive, sorted, symbolic links to files followed).

    ``folder`` may name several folders joined by ``os.pathsep`` (``screens:photos``): their
    files, each folder's sorted, one folder after the other.
    """
    files: list[Path] = []
    for part in str(folder).split(os.pathsep):
        root = Path(part)
        if not root.is_dir():
            raise FileNotFoundError(f"image folder not found: {root}")
        found = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise FileNotFoundError(f"no images in {root}")
        files += found
    return files


def load_images(files: list[Path], min_side: int) -> list[np.ndarray]:
    """Decode files to uint8 (H, W, 3) RGB, skipping images smaller than ``min_side``."""
    images = []
    for f in files:
        with Image.open(f) as im:
            arr = np.asarray(im.convert("RGB"))
        if min(arr.shape[:2]) >= min_side:
            images.append(arr)
    return images


@dataclass(frozen=True)
class DegradationConfig:
    """How clean crops are degraded.

    Attributes:
        crop: crop side in pixels (multiple of 16, so every chroma mode has whole MCUs).
        quality_low, quality_high: IJG quality range of the main mixture component.
        p_high_quality: probability of a quality in 90..100 instead.
        p_custom_tables: probability of non-IJG tables (randomly perturbed Annex K tables).
        subsampling_weights: probabilities of 4:2:0, 4:4:4, 4:2:2.
        p_grey: probability of a greyscale batch.
        p_hybrid: probability that a crop is coded by hybrid's own encoder instead of Pillow
            (libjpeg-turbo); 0 draws nothing, so batches are those of a run without it.
        hybrid_mode_weights: relative weights of the :data:`HYBRID_MODES` (best, rdo,
            progressive, baseline, perceptual) for those crops; the perceptual tune's weight
            is 0 by default, so runs recorded before it draw the same crops.
        hybrid_quality_low, hybrid_quality_high: quality range of those crops.
        hybrid_focus_low, p_hybrid_focus: with probability ``p_hybrid_focus`` their quality
            is drawn from ``hybrid_focus_low..hybrid_quality_high`` instead (where a network
            trained on libjpeg-turbo files harms hybrid's own: high qualities).
    """

    crop: int = 128
    quality_low: int = 5
    quality_high: int = 90
    p_high_quality: float = 0.12
    p_custom_tables: float = 0.15
    subsampling_weights: tuple[float, float, float] = (0.65, 0.2, 0.15)
    p_grey: float = 0.05
    p_hybrid: float = 0.0
    hybrid_mode_weights: tuple[float, float, float, float, float] = (0.4, 0.2, 0.2, 0.2, 0.0)
    hybrid_quality_low: int = 5
    hybrid_quality_high: int = 95
    hybrid_focus_low: int = 60
    p_hybrid_focus: float = 0.5

    def __post_init__(self) -> None:
        if self.crop % 16 or self.crop < 16:
            raise ValueError(f"crop must be a positive multiple of 16, got {self.crop}")
        if not 1 <= self.quality_low <= self.quality_high <= 100:
            raise ValueError(
                "quality range must satisfy 1 <= low <= high <= 100, "
                f"got {self.quality_low}..{self.quality_high}"
            )
        for name in ("p_high_quality", "p_hybrid", "p_hybrid_focus"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        low, focus, high = self.hybrid_quality_low, self.hybrid_focus_low, self.hybrid_quality_high
        if not 1 <= low <= focus <= high <= 100:
            raise ValueError(
                "hybrid qualities must satisfy 1 <= low <= focus_low <= high <= 100, got "
                f"{low}, {focus}, {high}"
            )
        weights = self.hybrid_mode_weights
        if len(weights) != len(HYBRID_MODES) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(
                f"hybrid_mode_weights must be {len(HYBRID_MODES)} non-negative weights "
                f"({', '.join(HYBRID_MODES)}) with a positive sum, got {weights}"
            )


def random_tables(rng: np.random.Generator, quality: int) -> list[list[int]]:
    """Non-IJG tables: Annex K tables with a random smooth tilt and jitter, as cameras use."""
    scale = ijg_scale_factor(quality)
    u = np.add.outer(np.arange(8), np.arange(8)) / 14.0
    tables = []
    for base in (STD_LUMA_QUANT, STD_CHROMA_QUANT):
        tilt = np.exp(rng.uniform(-0.7, 0.7) * (u - 0.5))
        jitter = np.exp(rng.normal(0, 0.15, (8, 8)))
        t = np.clip(np.round(base * scale / 100 * tilt * jitter), 1, 255).astype(int)
        tables.append(t.reshape(-1).tolist())
    return tables


def degrade(
    clean: np.ndarray, rng: np.random.Generator, cfg: DegradationConfig, mode: str, grey: bool
):
    """JPEG-compress one clean crop with random settings; returns (planes, quality).

    With probability ``cfg.p_hybrid`` the crop is coded by :func:`degrade_hybrid`, else by
    Pillow (libjpeg-turbo) with ``cfg``'s quality mixture and custom-table share.
    """
    if cfg.p_hybrid > 0 and rng.random() < cfg.p_hybrid:
        return degrade_hybrid(clean, rng, cfg, mode, grey)[:2]
    if rng.random() < cfg.p_high_quality:
        quality = int(rng.integers(90, 101))
    else:
        quality = int(rng.integers(cfg.quality_low, cfg.quality_high + 1))
    im = Image.fromarray(clean).convert("L") if grey else Image.fromarray(clean)
    kwargs: dict = {"subsampling": _PIL_SUBSAMPLING[mode]}
    if rng.random() < cfg.p_custom_tables:
        kwargs["qtables"] = random_tables(rng, quality)
    else:
        kwargs["quality"] = quality
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kwargs)
    return load_planes(buf.getvalue()), quality


def degrade_hybrid(
    clean: np.ndarray, rng: np.random.Generator, cfg: DegradationConfig, mode: str, grey: bool
) -> tuple[JpegPlanes, int, str, bytes]:
    """Code one clean crop with hybrid's own encoder in a random :data:`HYBRID_MODES` mode.

    Args:
        clean: uint8 (C, C, 3) RGB crop.
        mode: chroma subsampling (``"4:2:0"``, ``"4:4:4"``, ``"4:2:2"``); ignored when ``grey``.
        grey: code the crop's luma (Pillow's ``L`` conversion, the batch's target) as a
            single-component file.

    Returns:
        (planes, quality, encoder mode name, JPEG bytes); the file carries hybrid's APP11 record.
    """
    weights = np.asarray(cfg.hybrid_mode_weights, dtype=np.float64)
    encoder_mode = tuple(HYBRID_MODES)[int(rng.choice(len(weights), p=weights / weights.sum()))]
    low = cfg.hybrid_focus_low if rng.random() < cfg.p_hybrid_focus else cfg.hybrid_quality_low
    quality = int(rng.integers(low, cfg.hybrid_quality_high + 1))
    pixels = np.asarray(Image.fromarray(clean).convert("L")) if grey else clean
    data = hybrid.encode(pixels, quality=quality, subsampling=mode, **HYBRID_MODES[encoder_mode])
    return load_planes(data), quality, encoder_mode, data


def make_batch(
    images: list[np.ndarray], seed: int, iteration: int, batch_size: int, cfg: DegradationConfig
) -> dict[str, object]:
    """A training batch, a pure function of (seed, iteration).

    Returns a dict with ``clean`` and ``rgb`` float (B, 3, C, C) 0..255, ``cond`` (B, D),
    ``coeffs``/``qtables`` lists per component, ``chroma_factors`` and ``grey``.
    """
    rng = np.random.default_rng([seed, iteration])
    grey = rng.random() < cfg.p_grey
    mode = ("4:2:0", "4:4:4", "4:2:2")[int(rng.choice(3, p=cfg.subsampling_weights))]
    c = cfg.crop
    clean, rgb, cond, qualities = [], [], [], []
    coeffs: list[list[np.ndarray]] = []
    qtables: list[list[np.ndarray]] = []
    for _ in range(batch_size):
        img = images[int(rng.integers(len(images)))]
        y = int(rng.integers(img.shape[0] - c + 1))
        x = int(rng.integers(img.shape[1] - c + 1))
        crop = img[y : y + c, x : x + c]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crop = np.ascontiguousarray(np.rot90(crop, int(rng.integers(4))))
        planes, quality = degrade(crop, rng, cfg, mode, grey)
        target = (
            crop
            if not grey
            else np.repeat(np.asarray(Image.fromarray(crop).convert("L"))[..., None], 3, 2)
        )
        clean.append(target)
        rgb.append(planes.pixels)
        cond.append(condition_vector(planes))
        coeffs.append(list(planes.coeffs))
        qtables.append(list(planes.qtables))
        qualities.append(quality)

    def stack_images(arrs):
        return torch.from_numpy(np.stack(arrs).astype(np.float32)).permute(0, 3, 1, 2).contiguous()

    n_comp = len(coeffs[0])
    return {
        "clean": stack_images(clean),
        "rgb": stack_images(rgb),
        "cond": torch.from_numpy(np.stack(cond)),
        "coeffs": [
            torch.from_numpy(np.stack([s[i] for s in coeffs]).astype(np.float32))
            for i in range(n_comp)
        ],
        "qtables": [
            torch.from_numpy(np.stack([s[i] for s in qtables]).astype(np.float32))
            for i in range(n_comp)
        ],
        "chroma_factors": (1, 1)
        if grey
        else {"4:2:0": (2, 2), "4:4:4": (1, 1), "4:2:2": (1, 2)}[mode],
        "grey": grey,
        "quality": torch.tensor(qualities),
    }


#: Chroma modes of super-resolution pairs (hybrid's downscaled encode writes 4:2:0 unless asked).
_SR_MODES = ("4:2:0", "4:4:4")


def make_sr_batch(
    images: list[np.ndarray],
    seed: int,
    iteration: int,
    batch_size: int,
    cfg: DegradationConfig,
    scale: float = 2,
) -> dict[str, object]:
    """A super-resolution training batch, a pure function of (seed, iteration).

    Each sample: a random ``scale * cfg.crop`` square (a whole number of pixels) of a clean
    image, randomly flipped and rotated; downscaled to ``cfg.crop`` with
    :func:`hybrid.resample.downscale` (the filter of ``hybrid encode --scale``); JPEG-coded
    by :func:`degrade` (Pillow with cfg's quality mixture and custom-table share, or hybrid's
    own encoder for a ``p_hybrid`` share; 4:2:0 or 4:4:4 in the ratio of the first two
    ``subsampling_weights``; greyscale batches with ``p_grey``). Huffman optimisation is not
    asked for: it changes no decoded pixel.

    Returns:
        dict with ``input`` float32 (B, 3, crop, crop) plain decode on 0..1, ``cond`` float32
        (B, COND_DIM), ``target`` float32 (B, 3, scale*crop, scale*crop) clean image on 0..1
        (luma replicated for a greyscale batch), ``quality`` int (B,), ``grey`` bool.
    """
    from hybrid.resample import downscale

    rng = np.random.default_rng([seed, iteration])
    grey = bool(rng.random() < cfg.p_grey)
    weights = np.asarray(cfg.subsampling_weights[:2], dtype=np.float64)
    weights = weights / weights.sum() if weights.sum() > 0 else np.array([1.0, 0.0])
    c, side = cfg.crop, round(scale * cfg.crop)
    inputs, targets, cond, qualities = [], [], [], []
    for _ in range(batch_size):
        img = images[int(rng.integers(len(images)))]
        y = int(rng.integers(img.shape[0] - side + 1))
        x = int(rng.integers(img.shape[1] - side + 1))
        hr = img[y : y + side, x : x + side]
        if rng.random() < 0.5:
            hr = hr[:, ::-1]
        hr = np.ascontiguousarray(np.rot90(hr, int(rng.integers(4))))
        mode = _SR_MODES[int(rng.choice(2, p=weights))]
        planes, quality = degrade(downscale(hr, (c, c)), rng, cfg, mode, grey)
        if grey:
            hr = np.repeat(np.asarray(Image.fromarray(hr).convert("L"))[..., None], 3, 2)
        inputs.append(planes.pixels)
        targets.append(hr)
        cond.append(condition_vector(planes))
        qualities.append(quality)

    def stack_unit(arrs: list[np.ndarray]) -> torch.Tensor:
        stacked = torch.from_numpy(np.stack(arrs).astype(np.float32) / 255.0)
        return stacked.permute(0, 3, 1, 2).contiguous()

    return {
        "input": stack_unit(inputs),
        "cond": torch.from_numpy(np.stack(cond)),
        "target": stack_unit(targets),
        "quality": torch.tensor(qualities),
        "grey": grey,
    }
