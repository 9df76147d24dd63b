"""Butteraugli, the perceptual distance of libjxl, through its ``butteraugli_main`` tool.

``butteraugli_main REF DIST --pnorm 3`` (Debian/Ubuntu package ``libjxl-devtools``; libjxl
0.7 is what the project is measured with) prints two numbers: the max-norm distance (the
worst region of the image) and the 3-norm (a mean over the whole image weighted towards its
worse parts). Both are distances: 0 for identical images, larger is worse; around 1 is
"just noticeable" at the tool's default viewing conditions (an 80-nit display, which is
what it assumes for images without a profile; ours are sRGB). Values of this tool are not
comparable with the 2017 ``butteraugli`` package's, whose scale differs.

Why a subprocess and not a Python port: libjxl's implementation is the reference, a port
would need checking against it anyway, and one call costs about 0.13 s for a 481x321 image
(the tool's start-up and its own work), a little more than SSIM and MS-SSIM together.
The images go to the tool as binary PPM/PGM files in a private temporary directory
(``tempfile.TemporaryDirectory``: mode 0700, removed on return and on errors); PPM carries no
colour profile, so the tool reads the pixels as sRGB, as it does PNG without one.

Images under 8 pixels on a side are refused: the tool measures nothing there and reports 0
even for different images (checked with libjxl 0.7 on 1x1..7x7 crops).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybrid.errors import HybridError, InputError

__all__ = [
    "BUTTERAUGLI_TOOL",
    "INSTALL_HINT",
    "MIN_SIDE",
    "ButteraugliDistance",
    "butteraugli",
    "butteraugli_tool",
    "butteraugli_version",
    "require_butteraugli",
]

#: The libjxl command-line tool this module runs.
BUTTERAUGLI_TOOL = "butteraugli_main"
#: Where to get it, said in every "not installed" message.
INSTALL_HINT = "Debian/Ubuntu package libjxl-devtools"
#: The smallest side the tool measures (it reports 0 below this).
MIN_SIDE = 8
#: Seconds a single call may take before it counts as hung (a 12 MP image took 16 s here).
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ButteraugliDistance:
    """Butteraugli distances of a distorted image from its reference (0: identical).

    Attributes:
        pnorm3: the 3-norm over the image (the tool's ``3-norm:`` line), the one a single
            number stands for in hybrid's benchmarks and rate control.
        max_norm: the largest local distance (the tool's first line).
    """

    pnorm3: float
    max_norm: float


def butteraugli_tool() -> str | None:
    """The path of ``butteraugli_main``, or None when it is not installed."""
    return shutil.which(BUTTERAUGLI_TOOL)


def butteraugli_version() -> str:
    """Names the installed tool's build: ``butteraugli_main-`` and the first 12 hex digits of
    the sha256 of its executable (it prints no version), so results measured by another
    build can be told apart; :class:`~hybrid.errors.InputError` when it is missing."""
    return _file_version(os.path.realpath(require_butteraugli()))


@functools.lru_cache(maxsize=4)
def _file_version(path: str) -> str:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{BUTTERAUGLI_TOOL}-{digest[:12]}"


def require_butteraugli() -> str:
    """The tool's path; :class:`~hybrid.errors.InputError` (one line, saying how to install
    it) when it is missing."""
    path = butteraugli_tool()
    if path is None:
        raise InputError(f"butteraugli needs {BUTTERAUGLI_TOOL}, not installed ({INSTALL_HINT})")
    return path


def _netpbm(pixels: np.ndarray) -> bytes:
    """Binary PPM (H, W, 3) or PGM (H, W) of uint8 pixels."""
    height, width = pixels.shape[:2]
    magic = b"P6" if pixels.ndim == 3 else b"P5"
    return b"%s\n%d %d\n255\n" % (magic, width, height) + np.ascontiguousarray(pixels).tobytes()


def _as_uint8(image: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"{name} must be (H, W) or (H, W, 3), got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    values = np.asarray(array, np.float64)
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 255:
        raise ValueError(f"{name} must hold 0..255 values")
    return np.rint(values).astype(np.uint8)


def _parse(stdout: str) -> ButteraugliDistance:
    """The two numbers of ``butteraugli_main --pnorm 3``'s output: the max-norm on a line of
    its own, then ``3-norm: value``."""
    unexpected = ValueError(f"unexpected {BUTTERAUGLI_TOOL} output: {stdout.strip()[:200]!r}")
    max_norm = pnorm3 = None
    try:
        for line in stdout.splitlines():
            text = line.strip()
            if text.startswith("3-norm:"):
                pnorm3 = float(text.split(":", 1)[1])
            elif text and max_norm is None:
                max_norm = float(text)
    except ValueError:
        raise unexpected from None
    if max_norm is None or pnorm3 is None or not math.isfinite(max_norm + pnorm3):
        raise unexpected
    return ButteraugliDistance(pnorm3=pnorm3, max_norm=max_norm)


def butteraugli(reference: np.ndarray, distorted: np.ndarray) -> ButteraugliDistance:
    """Butteraugli distances of ``distorted`` from ``reference``.

    Args:
        reference, distorted: sRGB images of the same shape, (H, W, 3) or (H, W)
            (greyscale), H and W >= :data:`MIN_SIDE`; uint8, or any numeric dtype holding
            values in 0..255 (rounded to the nearest integer, as a decode to 8 bits would).

    Returns:
        The 3-norm and max-norm distances (>= 0; 0 for identical images).

    Raises:
        InputError: ``butteraugli_main`` is not installed.
        ValueError: shapes that differ or are not images, values outside 0..255, or an
            image smaller than 8x8.
        HybridError: the tool failed or printed something else than two distances.
    """
    ref = _as_uint8(reference, "reference")
    dist = _as_uint8(distorted, "distorted")
    if ref.shape != dist.shape:
        raise ValueError(f"images differ in shape: {ref.shape} vs {dist.shape}")
    if min(ref.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"butteraugli needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, "
            f"got {ref.shape[1]}x{ref.shape[0]}"
        )
    tool = require_butteraugli()
    suffix = ".ppm" if ref.ndim == 3 else ".pgm"
    with tempfile.TemporaryDirectory(prefix="hybrid-butteraugli-") as folder:
        paths = [Path(folder) / f"{name}{suffix}" for name in ("reference", "distorted")]
        for path, pixels in zip(paths, (ref, dist), strict=True):
            path.write_bytes(_netpbm(pixels))
        try:
            done = subprocess.run(
                [tool, str(paths[0]), str(paths[1]), "--pnorm", "3"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HybridError(f"{BUTTERAUGLI_TOOL} did not run: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise HybridError(f"{BUTTERAUGLI_TOOL} failed (exit {done.returncode}): {last}")
    try:
        return _parse(done.stdout)
    except ValueError as exc:
        raise HybridError(str(exc)) from None
