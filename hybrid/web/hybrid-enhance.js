// hybrid in the browser: enhance JPEG <img> elements where they are viewed.
//
//   import { enhanceImage } from "./hybrid-enhance.js";
//   await enhanceImage(document.querySelector("img"), {
//     weightsBase: "/weights/",                        // folder with onnx.json and .onnx files
//     ortUrl: "/ort/ort.wasm.min.mjs", wasmPaths: "/ort/",  // onnxruntime-web (npm)
//     threads: 2,  // optional; default min(cores, 4) when crossOriginIsolated, else always 1
//   });
//
// The plain decode stays on screen while a Web Worker parses the headers (DQT, SOF, APP11),
// recovers the quantized coefficients from the decoded pixels, runs the network tile by tile
// with onnxruntime-web, applies the quantization-consistency projection and the near-lossless
// fade-out as hybrid's Python decoder does, and the enhanced image replaces it. Anything that
// fails (no worker, no WebAssembly, an unsupported JPEG, a missing model) leaves the plain
// image and resolves with { enhanced: false, reason }.

const WORKER_URL = new URL("./enhance-worker.js", import.meta.url);
let worker = null;
let nextId = 0;
const pending = new Map();

function getWorker() {
  if (!worker) {
    worker = new Worker(WORKER_URL, { type: "module" });
    worker.onmessage = (event) => {
      const job = pending.get(event.data.id);
      if (!job) return;
      if (event.data.progress) { if (job.onProgress) job.onProgress(...event.data.progress); return; }
      pending.delete(event.data.id);
      job.resolve(event.data);
    };
    worker.onerror = (event) => {
      for (const job of pending.values()) job.resolve({ error: event.message || "worker failed" });
      pending.clear();
      worker = null;
    };
  }
  return worker;
}

/** Enhance the JPEG shown by ``img``. Resolves with { enhanced: true, width, height, pixels,
 * threads } (pixels: Float32Array, RGB in [0, 1], interleaved; threads: onnxruntime-web's
 * WebAssembly threads) or { enhanced: false, reason }. */
export async function enhanceImage(img, options = {}) {
  try {
    if (typeof Worker === "undefined" || typeof WebAssembly === "undefined") {
      return { enhanced: false, reason: "no Web Worker or WebAssembly" };
    }
    const response = await fetch(img.currentSrc || img.src);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const id = nextId++;
    const result = await new Promise((resolve) => {
      pending.set(id, { resolve, onProgress: options.onProgress });
      getWorker().postMessage({ id, bytes, options: resolveUrls(options) }, [bytes.buffer]);
    });
    if (result.error) return { enhanced: false, reason: result.error };
    await swapIn(img, result);
    img.dataset.hybridEnhanced = "true";
    return {
      enhanced: true, width: result.width, height: result.height, pixels: result.pixels,
      threads: result.threads,
    };
  } catch (err) {
    return { enhanced: false, reason: String(err && err.message ? err.message : err) };
  }
}

function resolveUrls(options) {
  const base = document.baseURI;
  const out = { ...options };
  delete out.onProgress;
  for (const key of ["weightsBase", "ortUrl", "wasmPaths"]) {
    if (out[key]) out[key] = new URL(out[key], base).href;
  }
  return out;
}

async function swapIn(img, { width, height, pixels }) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    image.data[j] = Math.round(pixels[3 * i] * 255);
    image.data[j + 1] = Math.round(pixels[3 * i + 1] * 255);
    image.data[j + 2] = Math.round(pixels[3 * i + 2] * 255);
    image.data[j + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  img.src = URL.createObjectURL(blob);
  await img.decode().catch(() => {});
}
