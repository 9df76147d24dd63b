// hybrid's enhanced decode in the browser: pure functions, no DOM (used by enhance-worker.js).
//
// Each function is the twin of a Python one (hybrid.enhance.numpy_ops, onnx_backend, taper,
// jpeg_input.condition_vector); tests/web/test_browser.py checks that the enhanced pixels
// equal the Python ONNX decoder's within 1/255. Arrays are planar Float32Array (C, H, W).

// hybrid.enhance.taper: share of the change kept, by the mean luma quantizer step; a model's
// onnx.json entry may carry its own knots (inference.fade_out).
export const TAPER_STEPS = [9.0, 13.0];
export const TAPER_STRENGTHS = [0.0, 1.0];
// hybrid.enhance.tiling.GRID: tile origins and the padded size snap to one 4:2:0 MCU.
export const GRID = 16;

/** float32 (131,) conditioning vector: log2(luma / chroma tables) / 8, chroma flags, grey. */
export function conditionVector(info) {
  const cond = new Float32Array(131);
  const chroma = info.qtables[info.qtables.length > 1 ? 1 : 0];
  for (let i = 0; i < 64; i++) {
    cond[i] = Math.log2(info.qtables[0][i]) / 8;
    cond[64 + i] = Math.log2(chroma[i]) / 8;
  }
  cond[128] = info.factors[1] > 1 ? 1 : 0;
  cond[129] = info.factors[0] > 1 ? 1 : 0;
  cond[130] = info.grey ? 1 : 0;
  return cond;
}

/** registry.fade_out_steps: an onnx.json entry's own fade-out knots, else TAPER_STEPS. */
export function fadeOutSteps(entry) {
  const knots = entry && entry.inference && entry.inference.fade_out;
  return Array.isArray(knots) && knots.length === 2 ? knots : TAPER_STEPS;
}

/** Share (0..1) of the enhancement kept for this (64,) luma table, fading out between the
 * knots ``steps`` (a model's own, fadeOutSteps, or the default). */
export function residualStrength(luma, steps = TAPER_STEPS) {
  let sum = 0;
  for (const v of luma) sum += v;
  const step = sum / 64;
  const [s0, s1] = steps;
  const [v0, v1] = TAPER_STRENGTHS;
  if (step <= s0) return v0;
  if (step >= s1) return v1;
  return v0 + ((step - s0) / (s1 - s0)) * (v1 - v0);
}

export const roundUp = (value, step) => Math.ceil(value / step) * step;

/** tiling.tiles, the one tile loop: the tiles of a ``height`` x ``width`` image padded to the
 * GRID, row by row. Each is { y0, y1, x0, x1 }, what it produces, and { wy0, wy1, wx0, wx1 },
 * the window the network reads (the tile and its ``overlap`` context, cut at the padded
 * image's edges); ``tile`` and ``overlap`` are rounded up to the GRID. */
export function tiles(height, width, tile, overlap) {
  tile = roundUp(Math.max(1, tile), GRID);
  overlap = roundUp(Math.max(0, overlap), GRID);
  const hp = roundUp(height, GRID), wp = roundUp(width, GRID), out = [];
  for (let y0 = 0; y0 < hp; y0 += tile) for (let x0 = 0; x0 < wp; x0 += tile) {
    out.push({
      y0, y1: Math.min(hp, y0 + tile), x0, x1: Math.min(wp, x0 + tile),
      wy0: Math.max(0, y0 - overlap), wy1: Math.min(hp, y0 + tile + overlap),
      wx0: Math.max(0, x0 - overlap), wx1: Math.min(wp, x0 + tile + overlap),
    });
  }
  return out;
}

// JFIF (T.871) full range, as hybrid.codec.tables.
const RGB2YCC = [
  [0.299, 0.587, 0.114],
  [-0.168735892, -0.331264108, 0.5],
  [0.5, -0.418687589, -0.081312411],
];
const YCC2RGB = [
  [1.0, 0.0, 1.402],
  [1.0, -0.344136286, -0.714136286],
  [1.0, 1.772, 0.0],
];

/** (3, H, W) RGB 0..255 -> (3, H, W) YCbCr 0..255. */
export function rgbToYcc(rgb, n) {
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const r = rgb[i], g = rgb[n + i], b = rgb[2 * n + i];
    out[i] = RGB2YCC[0][0] * r + RGB2YCC[0][1] * g + RGB2YCC[0][2] * b;
    out[n + i] = RGB2YCC[1][0] * r + RGB2YCC[1][1] * g + RGB2YCC[1][2] * b + 128;
    out[2 * n + i] = RGB2YCC[2][0] * r + RGB2YCC[2][1] * g + RGB2YCC[2][2] * b + 128;
  }
  return out;
}

/** (3, H, W) YCbCr 0..255 -> (3, H, W) RGB 0..255, in place, not clipped. */
export function yccToRgbInPlace(ycc, n) {
  for (let i = 0; i < n; i++) {
    const y = ycc[i], cb = ycc[n + i] - 128, cr = ycc[2 * n + i] - 128;
    ycc[i] = y + YCC2RGB[0][2] * cr;
    ycc[n + i] = y + YCC2RGB[1][1] * cb + YCC2RGB[1][2] * cr;
    ycc[2 * n + i] = y + YCC2RGB[2][1] * cb;
  }
  return ycc;
}

// (8, 8) orthonormal DCT-II matrix (T.81 A.3.3), row-major.
const DCT = (() => {
  const c = new Float64Array(64);
  for (let u = 0; u < 8; u++) {
    for (let x = 0; x < 8; x++) {
      c[u * 8 + x] = Math.cos(((2 * x + 1) * u * Math.PI) / 16) * 0.5 * (u === 0 ? Math.SQRT1_2 : 1);
    }
  }
  return c;
})();

function dct8(block, out) { // out = C @ block @ C.T
  const tmp = new Float64Array(64);
  for (let u = 0; u < 8; u++) for (let x = 0; x < 8; x++) {
    let s = 0;
    for (let y = 0; y < 8; y++) s += DCT[u * 8 + y] * block[y * 8 + x];
    tmp[u * 8 + x] = s;
  }
  for (let u = 0; u < 8; u++) for (let v = 0; v < 8; v++) {
    let s = 0;
    for (let x = 0; x < 8; x++) s += tmp[u * 8 + x] * DCT[v * 8 + x];
    out[u * 8 + v] = s;
  }
}

function idct8(spec, out) { // out = C.T @ spec @ C
  const tmp = new Float64Array(64);
  for (let y = 0; y < 8; y++) for (let v = 0; v < 8; v++) {
    let s = 0;
    for (let u = 0; u < 8; u++) s += DCT[u * 8 + y] * spec[u * 8 + v];
    tmp[y * 8 + v] = s;
  }
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
    let s = 0;
    for (let v = 0; v < 8; v++) s += tmp[y * 8 + v] * DCT[v * 8 + x];
    out[y * 8 + x] = s;
  }
}

/** Box average of an (h, w) plane (h, w multiples of fy, fx) to (h/fy, w/fx). */
export function boxDown(plane, h, w, fy, fx) {
  if (fy === 1 && fx === 1) return plane;
  const ch = h / fy, cw = w / fx, out = new Float32Array(ch * cw);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) {
    let s = 0;
    for (let dy = 0; dy < fy; dy++) for (let dx = 0; dx < fx; dx++) s += plane[(y * fy + dy) * w + x * fx + dx];
    out[y * cw + x] = s / (fy * fx);
  }
  return out;
}

/** Quantized coefficients of an (h, w) plane (multiples of 8): round(DCT(plane - 128) / Q),
 * the file's own (exact for 99.9 % of coefficients at q10-75). Int32Array (h/8 * w/8 * 64). */
export function recoverCoefficients(plane, h, w, qtable) {
  const bh = h / 8, bw = w / 8, out = new Int32Array(bh * bw * 64);
  const block = new Float64Array(64), spec = new Float64Array(64);
  for (let by = 0; by < bh; by++) for (let bx = 0; bx < bw; bx++) {
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[(by * 8 + y) * w + bx * 8 + x] - 128;
    dct8(block, spec);
    const o = (by * bw + bx) * 64;
    for (let k = 0; k < 64; k++) out[o + k] = Math.round(spec[k] / qtable[k]);
  }
  return out;
}

/** Project an (h, w) plane (multiples of 8) in place onto [(k-1/2)Q, (k+1/2)Q]; ``coeffs``
 * covers a (cbw)-blocks-wide grid from block (by0, bx0). Returns the correction (h, w). */
export function projectPlane(plane, h, w, coeffs, cbw, by0, bx0, qtable) {
  const bh = h / 8, bw = w / 8, delta = new Float32Array(h * w);
  const block = new Float64Array(64), spec = new Float64Array(64), back = new Float64Array(64);
  for (let by = 0; by < bh; by++) for (let bx = 0; bx < bw; bx++) {
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[(by * 8 + y) * w + bx * 8 + x] - 128;
    dct8(block, spec);
    const o = ((by0 + by) * cbw + bx0 + bx) * 64;
    for (let k = 0; k < 64; k++) {
      const q = qtable[k], kq = coeffs[o + k];
      const lo = (kq - 0.5) * q, hi = (kq + 0.5) * q;
      const s = spec[k];
      spec[k] = (s > hi ? hi : s < lo ? lo : s) - s;
    }
    idct8(spec, back);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) delta[(by * 8 + y) * w + bx * 8 + x] = back[y * 8 + x];
  }
  return delta;
}

/** Centred bilinear upsampling by (fy, fx) in {1, 2} (torch, align_corners=False). */
export function upsample(plane, h, w, fy, fx) {
  const oh = h * fy, ow = w * fx, out = new Float32Array(oh * ow);
  const axis = (n, f) => {
    const i0 = new Int32Array(n * f), i1 = new Int32Array(n * f), lam = new Float32Array(n * f);
    for (let i = 0; i < n * f; i++) {
      const src = Math.max((i + 0.5) / f - 0.5, 0);
      i0[i] = Math.floor(src); i1[i] = Math.min(i0[i] + 1, n - 1); lam[i] = src - i0[i];
    }
    return [i0, i1, lam];
  };
  const [y0, y1, ly] = axis(h, fy), [x0, x1, lx] = axis(w, fx);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    const a = plane[y0[y] * w + x0[x]] * (1 - lx[x]) + plane[y0[y] * w + x1[x]] * lx[x];
    const b = plane[y1[y] * w + x0[x]] * (1 - lx[x]) + plane[y1[y] * w + x1[x]] * lx[x];
    out[y * ow + x] = a * (1 - ly[y]) + b * ly[y];
  }
  return out;
}

/** Dequantized (h, w) plane of coefficients (inverse of recoverCoefficients), + 128. */
function dequantizePlane(coeffs, h, w, qtable) {
  const bw = w / 8, plane = new Float32Array(h * w);
  const spec = new Float64Array(64), back = new Float64Array(64);
  for (let by = 0; by < h / 8; by++) for (let bx = 0; bx < bw; bx++) {
    const o = (by * bw + bx) * 64;
    for (let k = 0; k < 64; k++) spec[k] = coeffs[o + k] * qtable[k];
    idct8(spec, back);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) plane[(by * 8 + y) * w + bx * 8 + x] = back[y * 8 + x] + 128;
  }
  return plane;
}

/** Coefficients of every component from planar RGB (3, hp, wp) on the 16-pixel grid. */
function coefficientsOf(rgb, hp, wp, info) {
  const n = hp * wp, ycc = rgbToYcc(rgb, n), [fy, fx] = info.factors;
  const coeffs = [recoverCoefficients(ycc.subarray(0, n), hp, wp, info.qtables[0])];
  if (!info.grey) {
    for (let c = 1; c < 3; c++) {
      const coded = boxDown(ycc.subarray(c * n, (c + 1) * n), hp, wp, fy, fx);
      coeffs.push(recoverCoefficients(coded, hp / fy, wp / fx, info.qtables[c]));
    }
  }
  return coeffs;
}

/** Rounds of de-clipping in coefficient recovery: where the decoder clipped a sample to 0 or
 * 255, the coded value lay beyond it; each round puts back the value the current estimate of
 * the coefficients decodes to there (if it is beyond the clip) and recovers again. On a q50
 * 4:2:0 photo with saturated areas this takes exact luma coefficients from 99.71 % to 99.96 %
 * (chroma 99.96 to 100 %); all remaining misses are in blocks with clipped samples. */
export const DECLIP_ROUNDS = 3;

/** The planes of a decoded JPEG: RGBA pixels (ImageData.data) of width x height, padded by edge
 * replication to the 16-pixel grid, as planar float RGB, and each component's coefficients
 * recovered on that grid (with DECLIP_ROUNDS rounds of de-clipping). */
export function preparePlanes(rgba, width, height, info) {
  const hp = roundUp(height, GRID), wp = roundUp(width, GRID), n = hp * wp;
  const rgb = new Float32Array(3 * n);
  for (let y = 0; y < hp; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < wp; x++) {
      const s = (sy * width + Math.min(x, width - 1)) * 4, d = y * wp + x;
      rgb[d] = rgba[s]; rgb[n + d] = rgba[s + 1]; rgb[2 * n + d] = rgba[s + 2];
    }
  }
  let coeffs = coefficientsOf(rgb, hp, wp, info);
  if (!rgb.some((v) => v <= 0 || v >= 255)) return { rgb, hp, wp, coeffs };
  const [fy, fx] = info.factors;
  for (let round = 0; round < DECLIP_ROUNDS; round++) {
    const rec = new Float32Array(3 * n).fill(128);
    rec.set(dequantizePlane(coeffs[0], hp, wp, info.qtables[0]), 0);
    for (let c = 1; c < coeffs.length; c++) {
      const coded = dequantizePlane(coeffs[c], hp / fy, wp / fx, info.qtables[c]);
      const plane = rec.subarray(c * n, (c + 1) * n);
      for (let y = 0; y < hp; y++) for (let x = 0; x < wp; x++) {
        plane[y * wp + x] = coded[Math.floor(y / fy) * (wp / fx) + Math.floor(x / fx)];
      }
    }
    const decoded = yccToRgbInPlace(rec, n);
    const estimate = Float32Array.from(rgb);
    for (let i = 0; i < 3 * n; i++) {
      if (rgb[i] <= 0) estimate[i] = Math.min(decoded[i], 0);
      else if (rgb[i] >= 255) estimate[i] = Math.max(decoded[i], 255);
    }
    coeffs = coefficientsOf(estimate, hp, wp, info);
  }
  return { rgb, hp, wp, coeffs };
}

function crop(planes, c, hp, wp, y0, y1, x0, x1) {
  const h = y1 - y0, w = x1 - x0, out = new Float32Array(c * h * w);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) {
    const s = ci * hp * wp + (y0 + y) * wp + x0;
    out.set(planes.subarray(s, s + w), ci * h * w + y * w);
  }
  return out;
}

function flip(x, c, h, w, flipY, flipX) {
  const out = new Float32Array(x.length);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    const sy = flipY ? h - 1 - y : y, sx = flipX ? w - 1 - xx : xx;
    out[ci * h * w + y * w + xx] = x[ci * h * w + sy * w + sx];
  }
  return out;
}

/** The geometric self-ensemble (numpy_ops.mirror_average) before its division by ``flips``:
 * the sum of ``run(m)``'s (3, oh, ow) outputs (Promises) over the first ``flips`` mirrorings
 * m of the (3, h, w) ``x`` (as is, left-right, up-down, both), each output mirrored back.
 * Shared by the enhancement and the super-resolution tile loops. */
export async function mirrorSum(run, x, h, w, oh, ow, flips) {
  const sum = new Float32Array(3 * oh * ow);
  const mirrors = [[false, false], [false, true], [true, false], [true, true]].slice(0, flips);
  for (const [flipY, flipX] of mirrors) {
    const mirrored = flipY || flipX;
    let y = await run(mirrored ? flip(x, 3, h, w, flipY, flipX) : x);
    if (mirrored) y = flip(y, 3, oh, ow, flipY, flipX);
    for (let i = 0; i < sum.length; i++) sum[i] += y[i];
  }
  return sum;
}

/** Enhance one window (numpy_ops.enhance_window): ``run(ycc, h, w, cond)`` is the network
 * (Promise of the (3, h, w) residual). Returns (3, h, w) RGB 0..255, not clipped. */
async function enhanceWindow(run, window, h, w, cond, coeffs, info, by0, bx0, cbws, flips) {
  const n = h * w, ycc = rgbToYcc(window, n);
  const residual = await mirrorSum((x) => run(x, h, w, cond), ycc, h, w, h, w, flips);
  for (let i = 0; i < 3 * n; i++) ycc[i] += residual[i] / flips;
  const luma = ycc.subarray(0, n);
  const dl = projectPlane(luma, h, w, coeffs[0], cbws[0], by0, bx0, info.qtables[0]);
  for (let i = 0; i < n; i++) luma[i] += dl[i];
  if (info.grey) {
    const out = new Float32Array(3 * n);
    out.set(luma, 0); out.set(luma, n); out.set(luma, 2 * n);
    return out;
  }
  const [fy, fx] = info.factors;
  for (let c = 1; c < 3; c++) {
    const plane = ycc.subarray(c * n, (c + 1) * n);
    const coded = boxDown(plane, h, w, fy, fx);
    const d = projectPlane(coded, h / fy, w / fx, coeffs[c], cbws[1], by0 * 8 / (8 * fy), bx0 * 8 / (8 * fx), info.qtables[c]);
    const up = fy === 1 && fx === 1 ? d : upsample(d, h / fy, w / fx, fy, fx);
    for (let i = 0; i < n; i++) plane[i] += up[i];
  }
  return yccToRgbInPlace(ycc, n);
}

/** The whole enhanced decode (onnx_backend.enhance_planes_numpy): tiles of ``tile`` pixels with
 * ``overlap`` context, self-ensemble of ``flips``, projection, fade-out, clip. Returns
 * Float32Array (height * width * 3) RGB in [0, 1], interleaved. ``planes``: preparePlanes'
 * result when the caller has it already; ``strength``: the share of the change kept (the
 * file's recorded strength for the model run), null for the fade-out; ``progress(done, total)``. */
export async function enhancePlanes(run, rgba, width, height, info, { overlap, tile = 1024, flips = 1, planes = null, strength = null, progress = null }) {
  const out = new Float32Array(height * width * 3);
  strength ??= residualStrength(info.qtables[0]);
  if (strength === 0) {
    for (let i = 0, j = 0; i < width * height; i++, j += 4) {
      out[3 * i] = rgba[j] / 255; out[3 * i + 1] = rgba[j + 1] / 255; out[3 * i + 2] = rgba[j + 2] / 255;
    }
    return out;
  }
  const { rgb, hp, wp, coeffs } = planes ?? preparePlanes(rgba, width, height, info);
  const [fy, fx] = info.factors;
  const cbws = [wp / 8, wp / (8 * fx)];
  const cond = conditionVector(info);
  const grid = tiles(height, width, tile, overlap);
  let done = 0;
  for (const { y0, y1, x0, x1, wy0, wy1, wx0, wx1 } of grid) {
    const h = wy1 - wy0, w = wx1 - wx0, n = h * w;
    const window = crop(rgb, 3, hp, wp, wy0, wy1, wx0, wx1);
    const result = await enhanceWindow(run, window, h, w, cond, coeffs, info, wy0 / 8, wx0 / 8, cbws, flips);
    const ty1 = Math.min(height, y1), tx1 = Math.min(width, x1);
    for (let y = y0; y < ty1; y++) for (let x = x0; x < tx1; x++) {
      const s = (y - wy0) * w + (x - wx0), d = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        let v = result[c * n + s] / 255;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        // the blend on the 0..1 scale, in the order of hybrid.enhance.strength.blend
        // (float64 here: within rounding of the Python backends' float32)
        if (strength !== 1) { const p = window[c * n + s] / 255; v = p + strength * (v - p); }
        out[d + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    done += 1;
    if (progress) progress(done, grid.length);
  }
  return out;
}
