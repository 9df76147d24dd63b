// Which network enhances a JPEG in the browser: the JavaScript twin of hybrid.enhance.choice
// and of the photo / screen classifier hybrid.enhance.content. Pure functions, no DOM.
//
// The order is Python's: a model the caller names, a class the caller names, the model id the
// file's APP11 record names, the class it records, then the classifier (a logistic regression
// over 7 features of the luma coefficients and a sample of pixels). tests/web check that the
// constants below are Python's and that the browser chooses as Python does.

// hybrid.enhance.registry: the photo model and the model of each content class.
export const DEFAULT_ENHANCE_MODEL = "enhance-fast-v4";
export const DEFAULT_CONTENT_MODELS = { photo: "enhance-fast-v4", screen: "enhance-screen-v1" };
export const CONTENT_CLASSES = ["photo", "screen"];

// hybrid.enhance.content: how much is read, and the diagonal u + v that counts as high.
export const MAX_SAMPLED_BLOCKS = 1024;
export const MAX_SAMPLED_DC_PAIRS = 1024;
export const MAX_SAMPLED_PIXELS = 2048;
export const HIGH_DIAGONAL = 6;
const PLASTIC = 1.324717957244746;
const R2 = [1 / PLASTIC, 1 / (PLASTIC * PLASTIC)];

// hybrid.enhance.content_params (written by scripts/fit_content.py).
export const FEATURE_MEAN = [
  0.05928110082078955, 0.10185795424472911, 0.16560070395342916, 6.646903308092468,
  0.4941861349348922, 0.44198332023802434, 0.4421678747114856,
];
export const FEATURE_SCALE = [
  0.0961063011178684, 0.11437826730604761, 0.1314659925324271, 0.8715758641382775,
  0.3232361016844524, 0.36599217322489513, 0.34141975272229835,
];
export const WEIGHTS = [
  -1.07882843877613, 0.5961062855580098, 1.5091555750831191, 0.8390206662607502,
  1.8525866078421245, 1.9175916414276595, 1.9907211122220705,
];
export const BIAS = 0.4030219119324434;
export const THRESHOLD = 0.5;

/** Raster indices row * stride + col of at most n spread positions in an h x w grid: all of
 * them when n >= h * w, else n points of the R2 sequence (content._sample_index). */
export function sampleIndex(h, w, n, stride) {
  let index;
  if (n >= h * w) {
    index = new Float64Array(h * w);
    for (let i = 0; i < h * w; i++) index[i] = Math.floor(i / w) * stride + (i % w);
  } else {
    index = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = i + 0.5;
      index[i] = Math.trunc(((k * R2[0]) % 1.0) * h) * stride + Math.trunc(((k * R2[1]) % 1.0) * w);
    }
  }
  return index.sort();
}

const DIAGONAL = Array.from({ length: 64 }, (_, k) => (k >> 3) + (k & 7));

/** float64 (7,) features of content.content_features, in its FEATURE_NAMES order, from the
 * luma coefficients (Int32Array, 64 per block, natural order) of a grid ``cbw`` blocks wide,
 * of which the image covers bh x bw blocks, its luma table (64,) and its RGBA pixels. */
export function contentFeatures(luma, bh, bw, cbw, qtable, rgba, width, height) {
  const sampled = sampleIndex(bh, bw, MAX_SAMPLED_BLOCKS, bw);
  const histogram = new Float64Array(64);
  const dcs = new Int32Array(sampled.length);
  let busy = 0, highShareSum = 0, energySum = 0;
  sampled.forEach((index, i) => {
    const o = (Math.floor(index / bw) * cbw + (index % bw)) * 64;
    let count = 0, all = 0, high = 0;
    for (let k = 1; k < 64; k++) {
      const c = luma[o + k];
      if (c === 0) continue;
      count += 1;
      const e = Math.abs(c) * qtable[k];
      all += e;
      if (DIAGONAL[k] >= HIGH_DIAGONAL) high += e;
    }
    histogram[count] += 1;
    dcs[i] = luma[o];
    if (count > 0) { busy += 1; highShareSum += high / all; energySum += all; }
  });
  const n = sampled.length;
  return [
    (histogram[1] + histogram[2]) / n,
    (histogram[3] + histogram[4] + histogram[5] + histogram[6]) / n,
    busy ? highShareSum / busy : 0,
    busy ? Math.log1p(energySum / busy) : 0,
    dcRepeatShare(luma, bh, bw, cbw),
    topColourShare(rgba, width, height),
    topDcShare(dcs),
  ];
}

/** Share of sampled horizontally (vertically, for one block column) adjacent block pairs with
 * the same DC; 0 for a single block. */
function dcRepeatShare(luma, bh, bw, cbw) {
  let dc = (y, x) => luma[(y * cbw + x) * 64];
  let h = bh, w = bw;
  if (w === 1) { const at = dc; dc = (y, x) => at(x, y); h = bw; w = bh; }
  if (w === 1) return 0;
  const left = sampleIndex(h, w - 1, MAX_SAMPLED_DC_PAIRS, w);
  let same = 0;
  for (const index of left) {
    const y = Math.floor(index / w), x = index % w;
    if (dc(y, x) === dc(y, x + 1)) same += 1;
  }
  return same / left.length;
}

/** Share of the values equal to one of the ``top`` most frequent. */
function topValuesShare(values, top) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
  const sorted = [...counts.values()].sort((a, b) => b - a);
  return sorted.slice(0, top).reduce((s, c) => s + c, 0) / values.length;
}

function topDcShare(dcs) {
  let lo = Infinity, hi = -Infinity;
  for (const v of dcs) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (hi - lo + 1 <= 2) return 1.0;
  return topValuesShare(dcs, 2);
}

function topColourShare(rgba, width, height) {
  const sampled = sampleIndex(height, width, MAX_SAMPLED_PIXELS, width);
  const packed = Array.from(sampled, (i) => rgba[4 * i] * 65536 + rgba[4 * i + 1] * 256 + rgba[4 * i + 2]);
  return topValuesShare(packed, 4);
}

/** The logistic model's screen probability (0..1) for the 7 features. */
export function screenProbability(features) {
  let logit = BIAS;
  for (let i = 0; i < features.length; i++) {
    logit += ((features[i] - FEATURE_MEAN[i]) / FEATURE_SCALE[i]) * WEIGHTS[i];
  }
  return 0.5 * (1 + Math.tanh(0.5 * logit));
}

/** An ONNX manifest entry (onnx.json's ``models``) of an enhancement network, or undefined. */
const enhancer = (manifest, id) =>
  manifest.models.find((m) => m.id === id && m.architecture === "EnhanceNet");

/** The model id the record names when it is an enhancement model (choice.recorded_model): not
 * for downscaled files (their record names the super-resolution model), nor an id the
 * manifest knows as another kind of network. */
export function recordedModel(record, manifest) {
  if (!record || !record.modelId || record.mode === "downscaled") return null;
  const entry = manifest.models.find((m) => m.id === record.modelId);
  return !entry || entry.architecture === "EnhanceNet" ? record.modelId : null;
}

/** The network for a file and why, in choice.choose_model's order. ``classify()`` gives the
 * screen probability; it runs only when nothing before decides. A class whose model the
 * manifest lacks gets the photo model (``missing`` names the one it wanted), and a recorded
 * model the manifest lacks is passed over (``passedOver`` names it: the steps after the record
 * choose), as the Python ONNX backend does. Returns { model, reason, content,
 * screenProbability, missing, passedOver, why }. */
export function chooseModel({ record, manifest, modelId = null, content = "auto", classify }) {
  if (content !== "auto" && !CONTENT_CLASSES.includes(content)) {
    throw new Error(`content must be one of auto, ${CONTENT_CLASSES.join(", ")}, got ${content}`);
  }
  const recorded = modelId || content !== "auto" ? null : recordedModel(record, manifest);
  const passedOver = recorded && !enhancer(manifest, recorded) ? recorded : null;
  let choice;
  if (modelId) choice = { model: modelId, reason: "given model", content: null };
  else if (content !== "auto") choice = forClass(content, "given", null, manifest);
  else if (recorded && !passedOver) choice = { model: recorded, reason: "recorded model", content: null };
  else if (record && record.content) choice = forClass(record.content, "recorded", null, manifest);
  else {
    const p = classify();
    choice = forClass(p >= THRESHOLD ? "screen" : "photo", "classified", p, manifest);
  }
  choice = { screenProbability: null, missing: null, ...choice, passedOver };
  return { ...choice, why: why(choice) };
}

function forClass(content, reason, screenProbability, manifest) {
  const wanted = DEFAULT_CONTENT_MODELS[content];
  const model = enhancer(manifest, wanted) ? wanted : DEFAULT_ENHANCE_MODEL;
  return { model, reason, content, screenProbability, missing: model === wanted ? null : wanted };
}

/** ModelChoice.why: "screen, classified p=0.97", "photo, recorded", "given model" ... */
function why({ reason, content, screenProbability, missing, passedOver }) {
  if (!content) return reason;
  let text = `${content}, ${reason}`;
  if (screenProbability !== null && screenProbability !== undefined) {
    const p = content === "screen" ? screenProbability : 1 - screenProbability;
    text += ` p=${p.toFixed(2)}`;
  }
  if (missing) text += `, ${missing} not installed`;
  if (passedOver) text += `, recorded ${passedOver} has no ONNX export`;
  return text;
}
