"""Encoder configurations, test images and metrics shared by the cross-decoder test and
``scripts/record_cross_decoder_limits.py`` (which records the bits-per-pixel and PSNR limits).

The covering set (``CASES``), chosen so the whole tier runs in well under a minute:

- 1x1 and 17x9 (partial MCUs, odd sizes): the full product of quality {5, 50, 95} x
  subsampling {4:4:4, 4:2:2, 4:2:0, grey} x {baseline, progressive} x restart interval
  {0, 1}; at 17x9 also x trellis RDO {off, on}. Restart interval 1 puts a marker after every
  MCU, the only interval that produces any at these sizes (1x1 still gets a DRI segment).
- 1023x769 (many MCUs, odd width and height): twelve configurations in which every
  subsampling mode meets both modes, every quality and the restart interval 3 appear
  with both modes, and RDO appears once per mode.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hybrid import metrics

SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0", "grey")
QUALITIES = (5, 50, 95)


@dataclass(frozen=True)
class Case:
    """One encoder configuration applied to one test image.

    Attributes:
        width, height: image size in pixels.
        subsampling: "4:4:4", "4:2:2" or "4:2:0" for an RGB image, "grey" for a greyscale one.
        quality: IJG quality 1..100.
        progressive: progressive (SOF2) instead of baseline output.
        restart_interval: MCUs between restart markers, 0 for none.
        rdo: trellis quantization.
    """

    width: int
    height: int
    subsampling: str
    quality: int
    progressive: bool
    restart_interval: int
    rdo: bool = False

    @property
    def id(self) -> str:
        mode = "prog" if self.progressive else "base"
        sub = self.subsampling.replace(":", "")
        rdo = "-rdo" if self.rdo else ""
        size = f"{self.width}x{self.height}"
        return f"{size}-{sub}-q{self.quality}-{mode}-ri{self.restart_interval}{rdo}"


def _small_cases() -> list[Case]:
    cases = []
    for (width, height), rdos in (((1, 1), (False,)), ((17, 9), (False, True))):
        for sub in SUBSAMPLINGS:
            for q in QUALITIES:
                for prog in (False, True):
                    for ri in (0, 1):
                        for rdo in rdos:
                            cases.append(Case(width, height, sub, q, prog, ri, rdo))
    return cases


_LARGE = [
    # subsampling, quality, progressive, restart interval, rdo
    ("4:4:4", 95, False, 0, False),
    ("4:4:4", 5, True, 3, False),
    ("4:2:2", 5, False, 3, False),
    ("4:2:2", 50, True, 0, False),
    ("4:2:0", 50, False, 0, False),
    ("4:2:0", 95, False, 3, False),
    ("4:2:0", 5, True, 0, False),
    ("4:2:0", 95, True, 3, False),
    ("4:2:0", 50, False, 3, True),
    ("4:2:0", 50, True, 0, True),
    ("grey", 50, False, 3, False),
    ("grey", 95, True, 0, False),
]

CASES: tuple[Case, ...] = tuple(
    _small_cases() + [Case(1023, 769, s, q, p, ri, rdo) for s, q, p, ri, rdo in _LARGE]
)


@functools.cache
def _skimage(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()


def _resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS))


@functools.cache
def synthetic_image(width: int, height: int, grey: bool) -> np.ndarray:
    """A deterministic photo-like test image: uint8 (H, W) if ``grey`` else (H, W, 3) RGB.

    Colour: 1x1 is astronaut()'s most saturated pixel (orange), 17x9 the astronaut crop with
    the most chroma and luma detail; larger sizes put astronaut() (square) beside a crop of
    chelsea(), which leaves a hard vertical seam between them. Grey: crops or a resize of
    camera().
    """
    if grey:
        camera = _skimage("camera")
        if (width, height) == (1, 1):
            return camera[100:101, 100:101].copy()
        if width <= 64 and height <= 64:
            return camera[200 : 200 + height, 240 : 240 + width].copy()
        return _resize(camera, width, height)
    astronaut = _skimage("astronaut")
    if (width, height) == (1, 1):
        return astronaut[296:297, 154:155].copy()
    if width <= 64 and height <= 64:
        return astronaut[368 : 368 + height, 264 : 264 + width].copy()
    left = _resize(astronaut, height, height)[:, : min(width, height)]
    if width <= height:
        return np.ascontiguousarray(left)
    chelsea = _skimage("chelsea")
    scaled_w = round(chelsea.shape[1] * height / chelsea.shape[0])
    cat = _resize(chelsea, scaled_w, height)
    start = max(0, (scaled_w - (width - height)) // 2)
    right = cat[:, start : start + width - height]
    return np.ascontiguousarray(np.concatenate([left, right], axis=1))


def case_image(case: Case) -> np.ndarray:
    return synthetic_image(case.width, case.height, case.subsampling == "grey")


@functools.cache
def encode_case(case: Case) -> bytes:
    """Encode ``case`` with the project's encoder (frame builder + JPEG writer)."""
    from hybrid.codec.encoder import image_to_frame
    from hybrid.codec.options import EncodeOptions
    from hybrid.codec.writer import write_jpeg

    options = EncodeOptions(
        quality=case.quality,
        subsampling="4:2:0" if case.subsampling == "grey" else case.subsampling,
        rdo=case.rdo,
        progressive=case.progressive,
        restart_interval=case.restart_interval,
    )
    frame = image_to_frame(case_image(case), options)
    return write_jpeg(frame, progressive=case.progressive, restart_interval=case.restart_interval)


def bits_per_pixel(data: bytes, case: Case) -> float:
    """Whole-file size (headers included) in bits per image pixel."""
    return 8.0 * len(data) / (case.width * case.height)


#: PSNR reported for an exact reconstruction (JSON has no infinity).
PSNR_CAP_DB = 99.0


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all samples (all channels) of two uint8 images of the same shape."""
    if reference.shape != decoded.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {decoded.shape}")
    return min(PSNR_CAP_DB, metrics.psnr(reference, decoded))
