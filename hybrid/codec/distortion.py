"""What rate-distortion optimization minimizes: RGB squared error, seen from each component.

The trellis (:mod:`hybrid.codec.rdo`, :mod:`hybrid.codec.rdo_dc`) weighs an error ``e`` on DCT
coefficient ``k`` of a component by ``w_k e^2``, so that one Lagrange multiplier serves the
whole image and the sum over components approximates the squared error of the decoded RGB
image, which PSNR-RGB measures.

* Colour: decoded RGB is ``M (Y, Cb, Cr)`` with ``M`` the JFIF matrix (T.871 section 7). For
  independent component errors the mean squared error over R, G, B is
  ``e_Y^2 + 1.086 e_Cb^2 + 0.825 e_Cr^2``: a component's weight is the mean of its column of
  ``M`` squared (1 for luma).
* Subsampling: a chroma block's error reaches the output through the decoder's upsampler
  (libjpeg's "fancy" triangle filter for factor 2, replication otherwise), which spreads it
  over ``fy * fx`` pixels and damps high frequencies. The weight of coefficient ``(v, u)`` is
  the energy of its basis function, alone in a zero plane, after upsampling: at 2x2 from
  3.63 for DC (``(15.25 / 8)^2``: the triangle filter blurs the block's edges into its
  neighbours) down to 0.30 at (7, 7). Blocks are treated as independent (cross terms between
  neighbours' errors are ignored).

In this unit the image's multiplier is :func:`image_lambda`, a multiple of the luma table's
mean squared step. Keeping chroma on the luma multiplier, with these weights, instead of giving
each component a multiplier from its own table, saves 4 % BD-rate (PSNR-RGB) with the Annex K
tables (train crops of ../shared/data, 4:2:0).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hybrid.codec.dct import inverse_dct
from hybrid.codec.sampling import upsample
from hybrid.codec.tables import JFIF_YCBCR_TO_RGB

#: Multiplier of :func:`image_lambda` in units of the luma table's geometric-mean squared AC
#: step; the best BD-rate (PSNR-RGB, 0.15..1 bpp) on train crops for both the Annex K and
#: the PSNR tables (flat between 0.04 and 0.05).
RGB_LAMBDA_SCALE = 0.045
#: The same for greyscale images: :data:`hybrid.codec.rdo.MSE_LAMBDA_SCALE` (0.0289), the
#: luma-only optimum; 0.045 costs 2 % BD-rate there (-7.7 % against -9.9 % vs libjpeg-turbo
#: on the green channel of the train crops).
GREY_LAMBDA_SCALE = 0.25 * 2.0 * np.log(2.0) / 12.0


def rgb_weight(component: int) -> float:
    """Mean over R, G, B of the squared error caused by a unit error on ``component``.

    Args:
        component: 0 (Y), 1 (Cb) or 2 (Cr).

    Returns:
        1.0 for Y, 1.0862 for Cb, 0.8252 for Cr.
    """
    column = JFIF_YCBCR_TO_RGB[:, component]
    return float((column**2).sum() / 3.0)


@lru_cache(maxsize=16)
def upsampling_gain(fy: int, fx: int) -> np.ndarray:
    """Energy of each 8x8 DCT basis function after the decoder's upsampling by (fy, fx).

    Returns:
        float64 array (8, 8), natural order, read-only; all ones for (1, 1).
    """
    gain = np.ones((8, 8))
    if (fy, fx) == (1, 1):
        gain.flags.writeable = False
        return gain
    for v in range(8):
        for u in range(8):
            basis = np.zeros((8, 8))
            basis[v, u] = 1.0
            plane = np.zeros((24, 24), dtype=np.float32)
            plane[8:16, 8:16] = inverse_dct(basis)
            up = upsample(plane, fy, fx, 24 * fy, 24 * fx).astype(np.float64)
            gain[v, u] = float((up**2).sum())
    gain.flags.writeable = False
    return gain


def component_weights(component: int, fy: int = 1, fx: int = 1, colour: bool = True) -> np.ndarray:
    """Distortion weight of each DCT coefficient of a component, in luma units.

    Args:
        component: 0 (Y), 1 (Cb) or 2 (Cr).
        fy, fx: the component's vertical and horizontal subsampling factors (2, 2 for 4:2:0
            chroma; 1, 1 for luma and 4:4:4).
        colour: False for greyscale images (the weight is then 1 everywhere).

    Returns:
        float64 array (8, 8), natural order.
    """
    if not colour:
        return np.ones((8, 8))
    return rgb_weight(component) * upsampling_gain(fy, fx)


def image_lambda(luma_table: np.ndarray, scale: float = RGB_LAMBDA_SCALE) -> float:
    """The image's Lagrange multiplier for ``J = sum_k w_k e_k^2 + lambda * bits``.

    Args:
        luma_table: array (8, 8) of luma quantizer steps.
        scale: multiplier of the geometric mean of the squared AC steps.
    """
    q_ac = np.asarray(luma_table, dtype=np.float64).reshape(64)[1:]
    return float(scale * np.exp(np.mean(np.log(q_ac**2))))


#: Offset, in squared quantizer steps, of :func:`activity_lambdas`' block activity.
ACTIVITY_OFFSET = 1.0


def activity_lambdas(
    coeffs: np.ndarray, table: np.ndarray, lam: float, exponent: float
) -> np.ndarray:
    """Per-block multipliers that let busy blocks lose more (visual masking, as mozjpeg).

    ``lambda_b = lam * ((m_b + c) / (mean(m) + c)) ** exponent`` with ``m_b`` the block's mean
    squared AC coefficient in quantizer steps and ``c = ACTIVITY_OFFSET``: textured blocks,
    where errors are masked, trade more distortion for rate, smooth blocks less; the mean
    multiplier stays near ``lam``. Exponent 0 is plain MSE. On train crops of
    ../shared/data (best mode, 4:2:0) exponent 0.5 moves BD-rate from -25.9 % to -25.4 %
    in PSNR-RGB and from -18.8 % to -20.3 % in MS-SSIM (exponent 1: -23.4 % and -21.6 %).

    Args:
        coeffs: float array (..., 8, 8) of unquantized DCT coefficients, natural order.
        table: array (8, 8) of quantizer steps.
        lam: the image's multiplier (:func:`image_lambda`).
        exponent: strength of the adaptation, >= 0.

    Returns:
        float32 array (N,), one multiplier per block.
    """
    flat = np.asarray(coeffs, dtype=np.float32).reshape(-1, 64)
    if exponent == 0 or flat.shape[0] == 0:
        return np.full(flat.shape[0], lam, dtype=np.float32)
    inv_q2 = 1.0 / np.asarray(table, dtype=np.float32).reshape(64)[1:] ** 2
    activity = (flat[:, 1:] ** 2 * inv_q2).mean(axis=1)
    ratio = (activity + ACTIVITY_OFFSET) / (float(activity.mean()) + ACTIVITY_OFFSET)
    return (lam * ratio**exponent).astype(np.float32)
