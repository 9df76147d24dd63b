// Downscaled hybrid files at their full size in the browser: the JavaScript twin of
// hybrid.enhance.onnx_superres (its docstring is the contract followed here step by step) and
// of the super-resolution model choice of hybrid.pipeline.upscale. Pure functions, no DOM.

import { conditionVector, mirrorSum, tiles } from "./enhance-core.js";

// hybrid.downscaled: the default model, and the model per downscale it was trained for.
export const DEFAULT_SR_MODEL = "sr-fast-v1";
export const SR_MODEL_BY_SCALE = [[1.5, "sr-fast-x1.5-v1"], [2.0, "sr-fast-v1"]];
// hybrid.enhance.onnx_superres.SR_TILE: tile side in coded pixels.
export const SR_TILE = 256;

/** downscaled.default_sr_model: the model whose scale is nearest ``scale`` in ratio (ties go
 * to the smaller scale). */
export function defaultSrModel(scale) {
  let best = null;
  for (const [s, id] of SR_MODEL_BY_SCALE) {
    const key = [Math.abs(Math.log(scale / s)), s];
    if (best === null || key[0] < best[0][0] || (key[0] === best[0][0] && key[1] < best[0][1])) {
      best = [key, id];
    }
  }
  return best[1];
}

/** The super-resolution model for a downscaled file's record upscaled by ``ratio`` (output /
 * coded size), or null (pipeline.upscale.sr_model_for with no model named): the first of
 * the record's model id, defaultSrModel(ratio) and DEFAULT_SR_MODEL that the manifest
 * lists. Throws when that one is not a super-resolution network, as Python does. */
export function chooseSrModel(record, manifest, ratio) {
  const candidates = [...(record.modelId ? [record.modelId] : []), defaultSrModel(ratio), DEFAULT_SR_MODEL];
  const id = candidates.find((c) => manifest.models.some((m) => m.id === c));
  if (id === undefined) return null;
  const entry = manifest.models.find((m) => m.id === id);
  if (entry.architecture !== "SRNet") throw new Error(`${id} is not a super-resolution model`);
  return id;
}

/** onnx_superres.upscale_planes_numpy: ``run(x, h, w, cond)`` is the SR network (Promise of
 * its (3, factor*h, factor*w) output for the (3, h, w) RGB 0..1 window ``x``). ``rgba``: the
 * plain decode (width x height). Returns Float32Array (factor*height, factor*width, 3)
 * interleaved, clipped to [0, 1]. */
export async function upscalePlanes(run, rgba, width, height, info, { factor, overlap, tile = SR_TILE, flips = 1, progress = null }) {
  const cond = conditionVector(info);
  const ow = factor * width, oh = factor * height;
  const out = new Float32Array(ow * oh * 3);
  const grid = tiles(height, width, tile, overlap);
  let done = 0;
  for (const { y0, y1, x0, x1, wy0, wy1, wx0, wx1 } of grid) {
    const h = wy1 - wy0, w = wx1 - wx0, n = h * w;
    const window = new Float32Array(3 * n); // edge-replicated past the image, uint8 / 255
    for (let y = 0; y < h; y++) {
      const sy = Math.min(wy0 + y, height - 1);
      for (let x = 0; x < w; x++) {
        const s = (sy * width + Math.min(wx0 + x, width - 1)) * 4;
        for (let c = 0; c < 3; c++) window[c * n + y * w + x] = Math.fround(rgba[s + c] / 255);
      }
    }
    const fh = factor * h, fw = factor * w, fn = fh * fw;
    const checkedRun = async (x) => {
      const y = await run(x, h, w, cond);
      if (y.length !== 3 * fn) throw new Error(`super-resolution network returned ${y.length} values, expected ${3 * fn}`);
      return y;
    };
    const sum = await mirrorSum(checkedRun, window, h, w, fh, fw, flips);
    const ty1 = Math.min(height, y1), tx1 = Math.min(width, x1);
    for (let y = factor * y0; y < factor * ty1; y++) for (let x = factor * x0; x < factor * tx1; x++) {
      const s = (y - factor * wy0) * fw + (x - factor * wx0), d = (y * ow + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = Math.fround(sum[c * fn + s] / flips);
        out[d + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    done += 1;
    if (progress) progress(done, grid.length);
  }
  return out;
}

// Pillow's bicubic filter (libImaging/Resample.c): Keys' kernel with a = -0.5, support 2.
function bicubic(x) {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Resample.c's precompute_coeffs for BICUBIC: per output pixel [first input, count] and
 * ksize normalised weights. */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2), kk = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      kk[xx * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) kk[xx * ksize + x] /= ww;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

/** resample.upscale_array: interleaved float (h, w, c) resized to (outH, outW) as Pillow
 * resizes an ``F`` image with BICUBIC, channel by channel (horizontal pass first, float64
 * sums stored as float32), clipped to [0, 1]. Returns the input when the size agrees. */
export function resizeBicubic(pixels, w, h, c, outW, outH) {
  if (w === outW && h === outH) return pixels;
  let src = pixels, sw = w;
  if (outW !== w) {
    const { bounds, kk, ksize } = coefficients(w, outW);
    const tmp = new Float32Array(outW * h * c);
    for (let y = 0; y < h; y++) for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[2 * xx], n = bounds[2 * xx + 1], k = xx * ksize;
      for (let ch = 0; ch < c; ch++) {
        let ss = 0;
        for (let x = 0; x < n; x++) ss += src[((y * sw) + xmin + x) * c + ch] * kk[k + x];
        tmp[(y * outW + xx) * c + ch] = ss;
      }
    }
    src = tmp;
    sw = outW;
  }
  if (outH !== h) {
    const { bounds, kk, ksize } = coefficients(h, outH);
    const tmp = new Float32Array(outW * outH * c);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[2 * yy], n = bounds[2 * yy + 1], k = yy * ksize;
      for (let x = 0; x < outW; x++) for (let ch = 0; ch < c; ch++) {
        let ss = 0;
        for (let y = 0; y < n; y++) ss += src[((ymin + y) * sw + x) * c + ch] * kk[k + y];
        tmp[(yy * outW + x) * c + ch] = ss;
      }
    }
    src = tmp;
  }
  for (let i = 0; i < src.length; i++) src[i] = src[i] < 0 ? 0 : src[i] > 1 ? 1 : src[i];
  return src;
}

/** registry.inference_sr_strength: the share of a super-resolution model's change an onnx.json
 * entry keeps for files that record no strength for it (inference.strength, 0..1), else null
 * (the network's full output). */
export function srDefaultStrength(entry) {
  const share = entry && entry.inference && entry.inference.strength;
  return typeof share === "number" && share >= 0 && share <= 1 ? share : null;
}

/** pipeline.upscale.bicubic_base + sr_blend: ``base + strength * (sr - base)`` in float32,
 * clipped to [0, 1], where ``base`` is the plain decode ``rgba`` (width x height) upscaled
 * by resizeBicubic to (outW, outH) and ``sr`` the network's output at that size (Float32Array
 * interleaved RGB, or null for strength 0: the base alone). The file's recorded strength for
 * its super-resolution model (0 .. 1). */
export function blendUpscale(rgba, width, height, sr, outW, outH, strength) {
  const plain = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    for (let c = 0; c < 3; c++) plain[3 * i + c] = Math.fround(rgba[j + c] / 255);
  }
  const base = resizeBicubic(plain, width, height, 3, outW, outH);
  if (sr === null) return base;
  const s = Math.fround(strength);
  for (let i = 0; i < base.length; i++) {
    const p = base[i];
    const v = Math.fround(p + Math.fround(s * Math.fround(sr[i] - p)));
    base[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return base;
}
