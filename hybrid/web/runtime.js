// onnxruntime-web for the worker (enhance-worker.js): which build, which execution provider,
// how many threads. Loaded once per worker, by the first image's options.
//
// WebGPU when navigator.gpu offers a hardware adapter (options.webgpu: "auto", the default;
// true also takes a software fallback adapter such as SwiftShader, slower than WebAssembly;
// false never asks), from onnxruntime-web's WebGPU build (options.ortWebgpuUrl, default
// ort.webgpu.min.mjs beside options.ortUrl; it runs the WebAssembly provider too, for the
// nodes WebGPU does not take). Otherwise, or when that build does not load, the
// WebAssembly-only build of options.ortUrl. One console line says which runs and why.

// WebAssembly threads need SharedArrayBuffer, which a page only gets when it is
// cross-origin isolated (served with COOP: same-origin and COEP: require-corp); elsewhere
// one thread always works.
export const MAX_THREADS = 4;
export const WEBGPU_BUILD = "ort.webgpu.min.mjs";

let runtimePromise = null;

export function threadCount(requested) {
  if (!self.crossOriginIsolated) return 1;
  const cores = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS));
  return requested ? Math.max(1, Math.min(requested, cores)) : cores;
}

const message = (err) => String(err && err.message ? err.message : err);

/** { adapter, name } of the WebGPU adapter to run on, or { adapter: null, why }. */
export async function webgpuAdapter(webgpu = "auto") {
  if (webgpu === false) return { adapter: null, why: "WebGPU not asked for" };
  if (typeof navigator === "undefined" || !navigator.gpu) return { adapter: null, why: "no navigator.gpu" };
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter();
  } catch (err) {
    return { adapter: null, why: `requestAdapter failed: ${message(err)}` };
  }
  if (!adapter) return { adapter: null, why: "no WebGPU adapter" };
  const info = adapter.info || {};
  const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  const name = [info.vendor, info.architecture].filter(Boolean).join(" ") || "unnamed adapter";
  if (fallback && webgpu !== true) {
    return { adapter: null, why: `the WebGPU adapter (${name}) is a software fallback` };
  }
  return { adapter, name: fallback ? `${name}, software fallback` : name };
}

/** onnxruntime-web, once per worker: Promise of { ort, provider: "webgpu" | "wasm",
 * threads, why } (why: the adapter's name, or why not WebGPU). */
export function loadRuntime(options) {
  if (!runtimePromise) {
    runtimePromise = (async () => {
      const threads = threadCount(options.threads);
      const { adapter, name, why } = await webgpuAdapter(options.webgpu ?? "auto");
      let ort = null;
      let reason = why;
      if (adapter) {
        try {
          ort = await import(options.ortWebgpuUrl || new URL(WEBGPU_BUILD, options.ortUrl).href);
          ort.env.webgpu.adapter = adapter;
        } catch (err) {
          ort = null;
          reason = `the WebGPU build did not load: ${message(err)}`;
        }
      }
      const provider = ort ? "webgpu" : "wasm";
      ort ??= await import(options.ortUrl);
      ort.env.wasm.wasmPaths = options.wasmPaths;
      ort.env.wasm.numThreads = threads;
      const plural = threads === 1 ? "thread" : "threads";
      console.info(provider === "webgpu"
        ? `hybrid: onnxruntime-web runs on WebGPU (${name})`
        : `hybrid: onnxruntime-web runs on WebAssembly, ${threads} ${plural} (${reason})`);
      return { ort, provider, threads, why: provider === "webgpu" ? name : reason };
    })();
    runtimePromise.catch(() => { runtimePromise = null; });
  }
  return runtimePromise;
}

/** The execution providers of an InferenceSession on ``provider``. */
export const executionProviders = (provider) => (provider === "webgpu" ? ["webgpu", "wasm"] : ["wasm"]);
