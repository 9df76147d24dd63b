"""libjpeg's accurate integer inverse DCT (``JDCT_ISLOW``, ``jidctint.c``), bit-exactly.

libjpeg-turbo decodes with it by default (Pillow among its callers). Its two passes are
linear in integer arithmetic up to each pass's final rounding shift, so each pass is one
integer matrix (built here by running the butterfly of ``jidctint.c`` on unit vectors)
followed by the same shift. Every product fits a float64 exactly (|coef * q| < 2**20,
|matrix entry| < 2**16, eight terms), which lets BLAS do the work without changing a bit;
the shift becomes a division of the matrix by a power of two (exact, and so are the
products' sums: their numerators stay under 2**53) and a floor after adding 1/2.

Blocks go through in chunks of :data:`CHUNK_BLOCKS`: the float64 working arrays of a whole
12 MP plane (~100 MB each) would be fresh memory pages on every call (allocations that
large are mapped and unmapped each time), which cost 3-5x the arithmetic; a chunk's arrays
stay in the cache and in the allocator's free lists.
"""

from __future__ import annotations

import numpy as np

CONST_BITS = 13
PASS1_BITS = 2
#: Blocks per chunk (512 KB of coefficient samples at float64: they stay in the cache).
CHUNK_BLOCKS = 1024


def _fix(x: float) -> int:
    return int(x * (1 << CONST_BITS) + 0.5)


def _butterfly(v: list[int]) -> list[int]:
    """One 1-D pass of ``jpeg_idct_islow`` on 8 integers, before its descale."""
    z2, z3 = v[2], v[6]
    z1 = (z2 + z3) * _fix(0.541196100)
    tmp2 = z1 + z3 * -_fix(1.847759065)
    tmp3 = z1 + z2 * _fix(0.765366865)
    tmp0 = (v[0] + v[4]) << CONST_BITS
    tmp1 = (v[0] - v[4]) << CONST_BITS
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    t0, t1, t2, t3 = v[7], v[5], v[3], v[1]
    z1, z2, z3, z4 = t0 + t3, t1 + t2, t0 + t2, t1 + t3
    z5 = (z3 + z4) * _fix(1.175875602)
    t0 *= _fix(0.298631336)
    t1 *= _fix(2.053119869)
    t2 *= _fix(3.072711026)
    t3 *= _fix(1.501321110)
    z1 *= -_fix(0.899976223)
    z2 *= -_fix(2.562915447)
    z3 = z3 * -_fix(1.961570560) + z5
    z4 = z4 * -_fix(0.390180644) + z5
    t0 += z1 + z3
    t1 += z2 + z4
    t2 += z2 + z3
    t3 += z1 + z4
    return [
        tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0,
        tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3,
    ]  # fmt: skip


# _ISLOW[k, n]: output sample k's weight of input coefficient n, in units of 2**-CONST_BITS
_ISLOW = np.array(
    [_butterfly([int(n == m) for m in range(8)]) for n in range(8)], dtype=np.float64
).T
# Each pass's descale folded into its matrix (division by a power of two: exact), so a pass
# is DESCALE(M @ x, bits) = floor(M' @ x + 1/2) with M' = M / 2**bits.
_PASS1 = _ISLOW / (1 << (CONST_BITS - PASS1_BITS))
_PASS2_T = np.ascontiguousarray((_ISLOW / (1 << (CONST_BITS + PASS1_BITS + 3))).T)


def idct_islow(coeffs: np.ndarray, qtable: np.ndarray) -> np.ndarray:
    """Sample blocks of quantized coefficients, as libjpeg's ``jpeg_idct_islow`` makes them.

    Args:
        coeffs: int16 (BH, BW, 8, 8) quantized coefficients, natural order (row = vertical
            frequency).
        qtable: (8, 8) quantization table, natural order.

    Returns:
        uint8 (BH * 8, BW * 8) samples. Results outside 0..255 are clamped, as libjpeg-turbo's
        SIMD code does (its C code wraps values beyond +-512 instead; only absurd coefficients
        reach them).
    """
    bh, bw = coeffs.shape[:2]
    out = np.empty((bh, 8, bw, 8), dtype=np.uint8)
    table = np.asarray(qtable, dtype=np.float64)[:, None, None, :]
    step = max(1, CHUNK_BLOCKS // max(1, bw))  # block rows per chunk
    for top in range(0, bh, step):
        out[top : top + step] = _idct_rows(coeffs[top : top + step], table)
    return out.reshape(bh * 8, bw * 8)


def _idct_rows(coeffs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """uint8 (R, 8, BW, 8) samples (block row, sample row, block, sample column) of int16
    (R, BW, 8, 8) blocks; ``table`` is the (8, 1, 1, 8) float64 quantization table.

    The coefficients are laid out sample-row first, (8, R * BW * 8), so that each pass is
    one matrix product over all blocks without a copy: pass 1 (columns) multiplies from the
    left, pass 2 (rows) from the right."""
    rows, cols = coeffs.shape[:2]
    n = rows * cols
    dequant = np.empty((8, rows, cols, 8), dtype=np.float64)
    np.multiply(coeffs.transpose(2, 0, 1, 3), table, out=dequant)
    # pass 1, columns: workspace = DESCALE(M @ x, CONST_BITS - PASS1_BITS)
    work = _PASS1 @ dequant.reshape(8, n * 8)  # (8 output rows, N * 8 columns)
    work += 0.5
    np.floor(work, out=work)
    # pass 2, rows: DESCALE(M @ row, CONST_BITS + PASS1_BITS + 3), then + 128 and clamp
    samples = work.reshape(8 * n, 8) @ _PASS2_T
    samples += 128.5
    np.floor(samples, out=samples)
    np.clip(samples, 0.0, 255.0, out=samples)
    return samples.astype(np.uint8).reshape(8, rows, cols, 8).transpose(1, 0, 2, 3)
