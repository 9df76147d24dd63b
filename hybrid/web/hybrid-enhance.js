// hybrid in the browser: enhance JPEG <img> elements where they are viewed.
//
//   import { enhanceImage } from "./hybrid-enhance.js";
//   await enhanceImage(document.querySelector("img"), {
//     weightsBase: "/weights/",                        // folder with onnx.json and .onnx files
//     ortUrl: "/ort/ort.wasm.min.mjs", wasmPaths: "/ort/",  // onnxruntime-web (npm)
//     threads: 2,  // optional; default min(cores, 4) when crossOriginIsolated, else always 1
//     variant: "fp32",  // or "int8", where the site ships it
//     content: "auto",  // or "photo" / "screen"; modelId: "enhance-screen-v1" names one
//     webgpu: "auto",  // WebGPU on a hardware adapter (true: any adapter; false: never)
//     ortWebgpuUrl: "/ort/ort.webgpu.min.mjs",  // optional; default beside ortUrl
//   });
//
// The plain decode stays on screen while a Web Worker parses the headers (DQT, SOF, APP11),
// recovers the quantized coefficients from the decoded pixels, picks the network as hybrid's
// Python decoder does (the model or content class the file's record names, else the photo /
// screen classifier), runs it tile by tile with onnxruntime-web, applies the
// quantization-consistency projection and the near-lossless fade-out as the Python decoder
// does, turns the result upright by the EXIF orientation and tags it with the file's ICC
// profile (so it shows as the browser shows the plain decode), and it replaces the plain
// image. A downscaled hybrid file is shown at its original size by the super-resolution
// network, as the Python decoder shows it (superres.js). The network runs on WebGPU when the
// browser offers a hardware adapter, else on WebAssembly (runtime.js; one console line says
// which). Anything that
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
 * threads, provider, model } (pixels: Float32Array, RGB in [0, 1], interleaved, upright;
 * threads: onnxruntime-web's WebAssembly threads; provider: "webgpu" or "wasm", the
 * execution provider asked for; model: { model, reason, content,
 * screenProbability, missing, why, variant }, the network and why it was chosen) or
 * { enhanced: false, reason }. */
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
      threads: result.threads, provider: result.provider, model: result.choice,
    };
  } catch (err) {
    return { enhanced: false, reason: String(err && err.message ? err.message : err) };
  }
}

function resolveUrls(options) {
  const base = document.baseURI;
  const out = { ...options };
  delete out.onProgress;
  for (const key of ["weightsBase", "ortUrl", "ortWebgpuUrl", "wasmPaths"]) {
    if (out[key]) out[key] = new URL(out[key], base).href;
  }
  return out;
}

async function swapIn(img, { width, height, pixels, icc }) {
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
  let blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  if (icc) blob = await withIccProfile(blob, icc);
  img.src = URL.createObjectURL(blob);
  await img.decode().catch(() => {});
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG ``blob`` with an iCCP chunk for ``icc`` after IHDR (PNG 1.2 section 4.2.2.4, as
 * hybrid.outputs writes it): the browser colour-manages the enhanced image as it does the
 * JPEG, whose pixels were read without colour conversion. */
async function withIccProfile(blob, icc) {
  const png = new Uint8Array(await blob.arrayBuffer());
  const compressed = new Uint8Array(
    await new Response(new Blob([icc]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer(),
  );
  const name = new TextEncoder().encode("ICC Profile\0\0"); // keyword, NUL, method 0
  const body = new Uint8Array(4 + name.length + compressed.length);
  body.set([0x69, 0x43, 0x43, 0x50]); // "iCCP"
  body.set(name, 4);
  body.set(compressed, 4 + name.length);
  const chunk = new Uint8Array(body.length + 8);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, body.length - 4);
  chunk.set(body, 4);
  view.setUint32(chunk.length - 4, crc32(body));
  const ihdrEnd = 8 + 12 + 13; // signature, IHDR (length, type, 13 bytes, CRC)
  return new Blob([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)], { type: "image/png" });
}
