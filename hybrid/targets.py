"""Rate-control targets: parsing ``--target-size`` text and checking that exactly one target
(size, bits per pixel, PSNR, MS-SSIM) is given. The search itself is
:mod:`hybrid.ratecontrol`'s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybrid.errors import InputError

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
    """One rate-control goal: ``kind`` ``"size"`` (``value`` bytes, an upper bound) or a
    metric ``"psnr"`` (dB) / ``"ms-ssim"`` (``value`` a lower bound)."""

    kind: str
    value: float
    text: str


#: The target keywords of :func:`hybrid.encode`, in the order they are checked.
TARGET_NAMES = ("target_size", "target_bpp", "target_psnr", "target_msssim")


def check_targets(
    *,
    target_size: Any = None,
    target_bpp: Any = None,
    target_psnr: Any = None,
    target_msssim: Any = None,
) -> str | None:
    """The name of the one target given (None for none), its value checked as far as it can
    be without the image (:func:`make_target` converts it once the size is known).

    Raises:
        InputError: several targets, or a value that is not one (a size that cannot be read,
            a number out of range).
    """
    values = (target_size, target_bpp, target_psnr, target_msssim)
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
    return given[0] if given else None


def make_target(
    width: int,
    height: int,
    *,
    target_size: Any = None,
    target_bpp: Any = None,
    target_psnr: Any = None,
    target_msssim: Any = None,
) -> Target | None:
    """The one target given for a ``width`` x ``height`` image (None for none);
    InputError for several, a bad value (:func:`check_targets`) or one the image cannot
    have (less than a byte, MS-SSIM of an image smaller than 176x176)."""
    check_targets(
        target_size=target_size,
        target_bpp=target_bpp,
        target_psnr=target_psnr,
        target_msssim=target_msssim,
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
        if min(width, height) < 176:
            raise InputError(
                f"target_msssim needs an image of at least 176x176, got {width}x{height}"
            )
        return Target("ms-ssim", value, f"MS-SSIM >= {value:g}")
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
