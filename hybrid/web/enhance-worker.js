// Module worker: decodes a JPEG's pixels, recovers its coefficients, runs the ONNX network
// tile by tile with onnxruntime-web and posts the enhanced image back (see hybrid-enhance.js).
import { chooseModel, contentFeatures, screenProbability } from "./content.js";
import { enhancePlanes, preparePlanes } from "./enhance-core.js";
import { orientPixels, parseJpeg, withoutExif } from "./jpeg-headers.js";

let ortPromise = null;
const sessions = new Map();
const manifests = new Map();

// WebAssembly threads need SharedArrayBuffer, which a page only gets when it is
// cross-origin isolated (served with COOP: same-origin and COEP: require-corp); elsewhere
// one thread always works. Fixed by the first image: onnxruntime-web starts its runtime once.
const MAX_THREADS = 4;

function threadCount(requested) {
  if (!self.crossOriginIsolated) return 1;
  const cores = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS));
  return requested ? Math.max(1, Math.min(requested, cores)) : cores;
}

async function loadOrt(ortUrl, wasmPaths, threads) {
  if (!ortPromise) {
    ortPromise = import(ortUrl).then((ort) => {
      ort.env.wasm.wasmPaths = wasmPaths;
      ort.env.wasm.numThreads = threadCount(threads);
      return ort;
    });
  }
  return ortPromise;
}

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

async function loadModel(ort, weightsBase, manifest, modelId, variant) {
  const key = `${weightsBase}|${modelId}|${variant}`;
  if (!sessions.has(key)) {
    sessions.set(key, (async () => {
      const entry = manifest.models.find((m) => m.id === modelId);
      if (!entry || entry.architecture !== "EnhanceNet" || !entry.variants[variant]) {
        throw new Error(`no ${variant} ONNX export of ${modelId}`);
      }
      const item = entry.variants[variant];
      const bytes = new Uint8Array(await (await fetch(new URL(item.file, weightsBase))).arrayBuffer());
      if ((await sha256Hex(bytes)) !== item.sha256) throw new Error(`${item.file} fails its sha256 check`);
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      return { session, entry };
    })());
  }
  return sessions.get(key);
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

self.onmessage = async (event) => {
  const { id, bytes, options } = event.data;
  try {
    const info = parseJpeg(bytes);
    if (info.record && info.record.mode === "downscaled") throw new Error("a downscaled hybrid file");
    const ort = await loadOrt(options.ortUrl, options.wasmPaths, options.threads);
    const manifest = await loadManifest(options.weightsBase);
    const { width, height } = info;
    const rgba = await decodePixels(bytes, info);
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
    if (choice.missing && choice.reason !== "classified") {
      console.warn(`hybrid: the ${choice.content} model ${choice.missing} is not on the site: using ${choice.model}`);
    }
    const variant = options.variant || "fp32";
    const { session, entry } = await loadModel(ort, options.weightsBase, manifest, choice.model, variant);
    const run = async (ycc, h, w, cond) => {
      const feeds = {
        x: new ort.Tensor("float32", ycc, [1, 3, h, w]),
        cond: new ort.Tensor("float32", cond, [1, cond.length]),
      };
      const out = await session.run(feeds);
      return out.y.data;
    };
    const stored = await enhancePlanes(run, rgba, width, height, info, {
      overlap: entry.receptive_radius + 1 + 16,
      tile: options.tile || 1024,
      flips: (entry.inference && entry.inference.flips) || 1,
      planes,
      progress: (done, total) => self.postMessage({ id, progress: [done, total] }),
    });
    const [pixels, w, h] = orientPixels(stored, width, height, 3, info.orientation);
    const threads = ort.env.wasm.numThreads;
    self.postMessage({
      id, width: w, height: h, pixels, grey: info.grey, threads, icc: info.icc,
      orientation: info.orientation, choice: { ...choice, variant },
    }, [pixels.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
};
