// Module worker: decodes a JPEG's pixels, recovers its coefficients, runs the ONNX network
// tile by tile with onnxruntime-web and posts the enhanced image back (see hybrid-enhance.js);
// a downscaled hybrid file comes back at its original size (superres.js).
import { chooseModel, contentFeatures, screenProbability } from "./content.js";
import { enhancePlanes, fadeOutSteps, preparePlanes, residualStrength } from "./enhance-core.js";
import { orientPixels, parseJpeg, withoutExif } from "./jpeg-headers.js";
import { blendUpscale, chooseSrModel, resizeBicubic, srDefaultStrength, upscalePlanes } from "./superres.js";
import { executionProviders, loadRuntime } from "./runtime.js";

const sessions = new Map();
const manifests = new Map();

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function loadManifest(weightsBase) {
  if (!manifests.has(weightsBase)) {
    manifests.set(weightsBase, fetch(new URL("onnx.json", weightsBase)).then((r) => {
      if (!r.ok) throw new Error(`no model manifest at ${weightsBase} (HTTP ${r.status})`);
      return r.json();
    }));
  }
  return manifests.get(weightsBase);
}

async function loadModel(runtime, weightsBase, manifest, modelId, variant, architecture) {
  const { ort, provider } = runtime;
  const key = `${weightsBase}|${modelId}|${variant}`;
  if (!sessions.has(key)) {
    sessions.set(key, (async () => {
      const entry = manifest.models.find((m) => m.id === modelId);
      if (!entry || !entry.variants[variant]) throw new Error(`no ${variant} ONNX export of ${modelId}`);
      const item = entry.variants[variant];
      const bytes = new Uint8Array(await (await fetch(new URL(item.file, weightsBase))).arrayBuffer());
      if ((await sha256Hex(bytes)) !== item.sha256) throw new Error(`${item.file} fails its sha256 check`);
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: executionProviders(provider),
        logSeverityLevel: 3,  // errors only: not WebGPU's note that shape ops run on the CPU
      });
      return { session, entry };
    })());
  }
  const loaded = await sessions.get(key);
  if (loaded.entry.architecture !== architecture) {
    throw new Error(`${modelId} is not an ${architecture} network (${loaded.entry.architecture})`);
  }
  return loaded;
}

/** The network as (x planar float32 (3, h, w), h, w, cond) -> Promise of its output data. */
function runner(ort, session) {
  return async (x, h, w, cond) => {
    const feeds = {
      x: new ort.Tensor("float32", x, [1, 3, h, w]),
      cond: new ort.Tensor("float32", cond, [1, cond.length]),
    };
    return (await session.run(feeds)).y.data;
  };
}

/** RGBA pixels (Uint8ClampedArray) of the browser's own decode, in the stored orientation. */
async function decodePixels(bytes, info) {
  const stored = withoutExif(bytes, info.exifSegments);
  const bitmap = await createImageBitmap(new Blob([stored], { type: "image/jpeg" }), {
    colorSpaceConversion: "none", premultiplyAlpha: "none",
  });
  const { width, height } = bitmap;
  if (width !== info.width || height !== info.height) throw new Error("resized decode");
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, width, height).data;
}

/** The enhancement network's decode of the coded image (onnx_backend.enhance_jpeg_onnx):
 * interleaved float (height, width, 3) in the stored orientation, and the model choice. */
async function enhanceCoded(ctx) {
  const { runtime, manifest, info, rgba, options, variant, progress } = ctx;
  const { ort } = runtime;
  const { width, height } = info;
  let planes = null;
  const prepared = () => (planes ??= preparePlanes(rgba, width, height, info));
  const choice = chooseModel({
    record: info.record, manifest, modelId: options.modelId, content: options.content,
    classify: () => {
      const { wp, coeffs } = prepared();
      const features = contentFeatures(
        coeffs[0], Math.ceil(height / 8), Math.ceil(width / 8), wp / 8, info.qtables[0],
        rgba, width, height,
      );
      return screenProbability(features);
    },
  });
  if (choice.passedOver) {
    console.warn(`hybrid: the file's record names ${choice.passedOver}, which is not on the site: using ${choice.model} (${choice.content})`);
  } else if (choice.missing && choice.reason !== "classified") {
    console.warn(`hybrid: the ${choice.content} model ${choice.missing} is not on the site: using ${choice.model}`);
  }
  const { session, entry } = await loadModel(runtime, options.weightsBase, manifest, choice.model, variant, "EnhanceNet");
  // hybrid.enhance.taper.kept_share: the record's strength when it names the model run
  const record = info.record;
  const recorded = record != null && record.strength != null && record.modelId === choice.model;
  const strength = recorded ? record.strength : residualStrength(info.qtables[0], fadeOutSteps(entry));
  const pixels = await enhancePlanes(runner(ort, session), rgba, width, height, info, {
    overlap: entry.receptive_radius + 1 + 16,
    tile: options.tile || 1024,
    flips: (entry.inference && entry.inference.flips) || 1,
    planes,
    strength,
    progress,
  });
  return { pixels, width, height, choice: { ...choice, strength, strengthSource: recorded ? "recorded" : "taper" } };
}

/** A downscaled file at its recorded original size (pipeline.upscale.decode_resized with
 * enhance): the super-resolution network (onnx_superres.upscale_jpeg_onnx) when the site has
 * one, else the enhancement network on the coded image and a bicubic upscale (with a console
 * warning), as the Python ONNX decoder falls back. */
async function superResolved(ctx) {
  const { runtime, manifest, info, rgba, options, variant, progress } = ctx;
  const { ort } = runtime;
  const { width, height, record } = info;
  const size = [record.width, record.height];
  const ratio = Math.max(size[0] / width, size[1] / height);
  const srId = chooseSrModel(record, manifest, ratio);
  if (srId === null) {
    const coded = await enhanceCoded(ctx);
    console.warn(`hybrid: no super-resolution model on the site: enhanced the ${width}x${height} image and upscaled it (bicubic)`);
    const pixels = resizeBicubic(coded.pixels, width, height, 3, size[0], size[1]);
    return { pixels, width: size[0], height: size[1], choice: coded.choice };
  }
  // pipeline.upscale.sr_strength: the record's strength when it names the model run, else
  // sr_model_strength: the model's own share for such files (inference.strength), else null
  const recorded = record.strength != null && record.modelId === srId;
  const ownShare = srDefaultStrength(manifest.models.find((m) => m.id === srId));
  const strength = recorded ? record.strength : ownShare;
  const source = recorded ? "recorded" : ownShare !== null ? "model default" : null;
  const why = `super-resolution, ${width}x${height} to ${size[0]}x${size[1]}`;
  const choice = { model: srId, reason: "super-resolution", content: null, why, strength, strengthSource: source };
  if (strength === 0) {
    return { pixels: blendUpscale(rgba, width, height, null, size[0], size[1], 0), width: size[0], height: size[1], choice };
  }
  const { session, entry } = await loadModel(runtime, options.weightsBase, manifest, srId, variant, "SRNet");
  const factor = (entry.inference && entry.inference.scale) || 2;
  const native = await upscalePlanes(runner(ort, session), rgba, width, height, info, {
    factor, overlap: entry.receptive_radius + 1,
    flips: (entry.inference && entry.inference.flips) || 1,
    progress,
  });
  let pixels = resizeBicubic(native, factor * width, factor * height, 3, size[0], size[1]);
  if (strength !== null && strength !== 1) {
    pixels = blendUpscale(rgba, width, height, pixels, size[0], size[1], strength);
  }
  return { pixels, width: size[0], height: size[1], choice };
}

self.onmessage = async (event) => {
  const { id, bytes, options } = event.data;
  try {
    const info = parseJpeg(bytes);
    const runtime = await loadRuntime(options);
    const ctx = {
      runtime, info, options,
      manifest: await loadManifest(options.weightsBase),
      rgba: await decodePixels(bytes, info),
      variant: options.variant || "fp32",
      progress: (done, total) => self.postMessage({ id, progress: [done, total] }),
    };
    const downscaled = info.record && info.record.mode === "downscaled";
    const result = await (downscaled ? superResolved(ctx) : enhanceCoded(ctx));
    const [pixels, w, h] = orientPixels(result.pixels, result.width, result.height, 3, info.orientation);
    self.postMessage({
      id, width: w, height: h, pixels, grey: info.grey, threads: runtime.threads,
      provider: runtime.provider,
      icc: info.icc, orientation: info.orientation, choice: { ...result.choice, variant: ctx.variant },
    }, [pixels.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
};
