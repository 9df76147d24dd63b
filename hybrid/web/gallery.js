// The gallery page of `hybrid web DIR -o SITE`: every <img data-hybrid> inside a <figure>
// is enhanced in place (one after another: they share one worker), and the figure's button
// toggles between the plain decode and the enhanced image.
//
//   import { enhanceGallery } from "./web/gallery.js";
//   enhanceGallery({ weightsBase: "weights/", ortUrl: "ort/ort.wasm.min.mjs", wasmPaths: "ort/" });
//
// The page's query string may override ?variant=int8, ?threads=N and ?content=photo|screen.
// Each enhanced <img> fires a bubbling "hybrid-enhanced" event whose detail is enhanceImage's
// result; window.hybridGallery holds { isolated, finished, results: { name: { enhanced,
// reason, threads, provider, ms, model, why } } }.
import { enhanceImage } from "./hybrid-enhance.js";

function overrides(options) {
  const query = new URLSearchParams(location.search);
  const out = { ...options };
  if (query.get("variant")) out.variant = query.get("variant");
  if (query.get("threads")) out.threads = Number(query.get("threads"));
  if (query.get("content")) out.content = query.get("content");
  return out;
}

function showToggle(img, button, plain, enhanced) {
  button.textContent = "show plain";
  button.disabled = false;
  button.onclick = () => {
    const toPlain = img.src === enhanced;
    img.src = toPlain ? plain : enhanced;
    button.textContent = toPlain ? "show enhanced" : "show plain";
    img.closest("figure").dataset.showing = toPlain ? "plain" : "enhanced";
  };
}

export async function enhanceGallery(options = {}, root = document) {
  const opts = overrides(options);
  const state = { isolated: self.crossOriginIsolated === true, finished: false, results: {} };
  window.hybridGallery = state;
  for (const img of root.querySelectorAll("img[data-hybrid]")) {
    const figure = img.closest("figure");
    const status = figure.querySelector(".status");
    const button = figure.querySelector("button");
    const plain = img.src;
    await img.decode().catch(() => {});
    const start = performance.now();
    const result = await enhanceImage(img, {
      ...opts,
      onProgress: (done, total) => { status.textContent = `enhancing: tile ${done} of ${total}`; },
    });
    const ms = performance.now() - start;
    const name = img.dataset.name || plain;
    const model = result.model || {};
    state.results[name] = {
      enhanced: result.enhanced, reason: result.reason, threads: result.threads,
      provider: result.provider, ms,
      model: model.model, why: model.why,
    };
    if (result.enhanced) {
      const threads = result.provider === "webgpu"
        ? "WebGPU" : `${result.threads} thread${result.threads === 1 ? "" : "s"}`;
      const seconds = (ms / 1000).toFixed(1);
      status.textContent = `enhanced by ${model.model} (${model.why}) in ${seconds} s (${threads})`;
      figure.dataset.showing = "enhanced";
      showToggle(img, button, plain, img.src);
      img.dispatchEvent(new CustomEvent("hybrid-enhanced", { bubbles: true, detail: result }));
    } else {
      status.textContent = `plain decode (${result.reason})`;
    }
  }
  state.finished = true;
  return state;
}
