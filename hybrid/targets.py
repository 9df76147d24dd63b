"""Rate-control targets: parsing ``--target-size`` text and checking that exactly one target
(size, bits per pixel, PSNR, MS-SSIM, butteraugli) is given. The search itself is
:mod:`hybrid.ratecontrol`'s.

The butteraugli target is the 3-norm distance of libjxl's ``butteraugli_main``
(:mod:`hybrid.perceptual`): smoother in the quality than the max-norm, which follows the one
worst region of the image and jumps about from one quality to the next, so a search on it
would be less predictable; the 3-norm is also the butteraugli figure the benchmarks report
first. It is an upper bound (a distance: lower is better), the other quality targets lower
bounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.errors import InputError
from hybrid.metrics import MS_SSIM_MIN_SIDE
from hybrid.perceptual import MIN_SIDE, require_butteraugli

_UNITS = {"": 1, "k": 1000, "ki": 1024, "m": 1000**2, "mi": 1024**2, "g": 1000**3, "gi": 1024**3}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmg]i?)?(?:b|bytes?)?\s*$", re.IGNORECASE)


def parse_size(value: Any) -> int:
    """Bytes from an int or text: ``"20000"``, ``"150KB"`` (150000), ``"1.5MB"``,
    ``"64KiB"`` (65536); fractions of a byte are dropped. Raises :class:`InputError`."""
    if isinstance(value, bool):
        raise InputError(f"target size must be a number of bytes, got {value!r}")
    if isinstance(value, (int, np.integer)):
        size = int(value)
    elif isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match is None:
            raise InputError(
                f"cannot read target size {value!r}: use bytes or a unit, e.g. 20000, 150KB, 1.5MB"
            )
        size = math.floor(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    else:
        raise InputError(f"target size must be an int or text such as '150KB', got {value!r}")
    if size < 1:
        raise InputError(f"target size must be at least 1 byte, got {value!r}")
    return size


@dataclass(frozen=True)
class Target:
    """One rate-control goal: ``kind`` ``"size"`` (``value`` bytes, an upper bound), a
    metric ``"psnr"`` (dB) / ``"ms-ssim"`` (``value`` a lower bound) or ``"butteraugli"``
    (the 3-norm distance, ``value`` an upper bound)."""

    kind: str
    value: float
    text: str

    @property
    def upper_bound(self) -> bool:
        """Whether ``value`` bounds the measure from above (size, butteraugli)."""
        return self.kind in ("size", "butteraugli")


#: The target keywords of :func:`hybrid.encode`, in the order they are checked.
TARGET_NAMES = ("target_size", "target_bpp", "target_psnr", "target_msssim", "target_butteraugli")
#: The largest butteraugli target accepted (distances of 15 and more are images in ruins).
MAX_BUTTERAUGLI = 100.0


def check_targets(
    *,
    target_size: Any = None,
    target_bpp: Any = None,
    target_psnr: Any = None,
    target_msssim: Any = None,
    target_butteraugli: Any = None,
) -> str | None:
    """The name of the one target given (None for none), its value checked as far as it can
    be without the image (:func:`make_target` converts it once the size is known).

    Raises:
        InputError: several targets, a value that is not one (a size that cannot be read,
            a number out of range), or a butteraugli target without ``butteraugli_main``.
    """
    values = (target_size, target_bpp, target_psnr, target_msssim, target_butteraugli)
    given = [name for name, value in zip(TARGET_NAMES, values, strict=True) if value is not None]
    if len(given) > 1:
        raise InputError(f"give one target, not {' and '.join(given)}")
    if target_size is not None:
        parse_size(target_size)
    if target_bpp is not None:
        _number(target_bpp, "target_bpp", low=0.0, high=64.0)
    if target_psnr is not None:
        _number(target_psnr, "target_psnr", low=0.0, high=100.0)
    if target_msssim is not None:
        _number(target_msssim, "target_msssim", low=0.0, high=1.0)
    if target_butteraugli is not None:
        _number(target_butteraugli, "target_butteraugli", low=0.0, high=MAX_BUTTERAUGLI)
        require_butteraugli()  # before any image is read or encoded
    return given[0] if given else None


def make_target(
    width: int,
    height: int,
    *,
    target_size: Any = None,
    target_bpp: Any = None,
    target_psnr: Any = None,
    target_msssim: Any = None,
    target_butteraugli: Any = None,
) -> Target | None:
    """The one target given for a ``width`` x ``height`` image (None for none);
    InputError for several, a bad value (:func:`check_targets`) or one the image cannot
    have (less than a byte, MS-SSIM of an image smaller than
    :data:`hybrid.metrics.MS_SSIM_MIN_SIDE` a side, butteraugli of one
    smaller than 8x8)."""
    check_targets(
        target_size=target_size,
        target_bpp=target_bpp,
        target_psnr=target_psnr,
        target_msssim=target_msssim,
        target_butteraugli=target_butteraugli,
    )
    if target_size is not None:
        size = parse_size(target_size)
        return Target("size", size, f"size <= {size} bytes")
    if target_bpp is not None:
        bpp = _number(target_bpp, "target_bpp", low=0.0, high=64.0)
        size = math.floor(bpp * width * height / 8)
        if size < 1:
            raise InputError(f"target_bpp {bpp:g} is less than one byte for {width}x{height}")
        return Target("size", size, f"{bpp:g} bpp = size <= {size} bytes")
    if target_psnr is not None:
        db = _number(target_psnr, "target_psnr", low=0.0, high=100.0)
        return Target("psnr", db, f"PSNR >= {db:g} dB")
    if target_msssim is not None:
        value = _number(target_msssim, "target_msssim", low=0.0, high=1.0)
        if min(width, height) < MS_SSIM_MIN_SIDE:
            side = MS_SSIM_MIN_SIDE
            raise InputError(
                f"target_msssim needs an image of at least {side}x{side}, got {width}x{height}"
            )
        return Target("ms-ssim", value, f"MS-SSIM >= {value:g}")
    if target_butteraugli is not None:
        distance = _number(target_butteraugli, "target_butteraugli", low=0.0, high=MAX_BUTTERAUGLI)
        if min(width, height) < MIN_SIDE:
            raise InputError(
                f"target_butteraugli needs an image of at least {MIN_SIDE}x{MIN_SIDE}, "
                f"got {width}x{height}"
            )
        return Target("butteraugli", distance, f"butteraugli 3-norm <= {distance:g}")
    return None


def _number(value: Any, name: str, *, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low < number <= high:
        raise InputError(f"{name} must be in ({low:g}, {high:g}], got {value!r}")
    return number
