// The JPEG headers the browser module needs, from the file's bytes: quantization tables, frame
// size and sampling, hybrid's APP11 record, the EXIF orientation and the ICC profile. Pure
// functions, no DOM. Each field is read as hybrid's Python reader reads it
// (hybrid.codec.headers, hybrid.codec.metadata, hybrid.exif); tests/web check the two agree.

// T.81 Figure A.6: natural index of the k-th zig-zag coefficient (DQT stores zig-zag order).
export const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
  20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
  59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2]); // baseline, extended, progressive Huffman
// hybrid.codec.metadata: signature, readable format versions, mode and content codes.
const APP11_SIGNATURE = "HYBRIDJPG\0";
export const RECORD_VERSIONS = [1, 2, 3, 4];
// hybrid.codec.metadata.STRENGTH_LEVELS: a recorded strength is k / 255.
export const STRENGTH_LEVELS = 255;
export const MODE_CODES = { plain: 0, enhance: 1, downscaled: 2 };
export const CONTENT_CODES = { photo: 1, screen: 2 };
export const MAX_MODEL_ID_BYTES = 64;
// hybrid.codec.geometry.MAX_SCALE: the largest downscale factor the encoder writes.
export const MAX_SCALE = 4.0;
const EXIF_PREFIX = "Exif\0\0";
const ICC_PREFIX = "ICC_PROFILE\0";
const ORIENTATION_TAG = 0x0112;

export class UnsupportedJpeg extends Error {}

const startsWith = (bytes, text) => {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
};

/** The headers enhancement needs, from JPEG bytes (Uint8Array):
 *   width, height: the frame (stored orientation); grey; factors: chroma [fy, fx];
 *   qtables: per component Float32Array (64,), natural order;
 *   record: hybrid's APP11 record checked against the frame ({ version, mode, width, height,
 *     scale, modelId, content, strength }) or null, as hybrid.codec.headers gives it;
 *   orientation: the EXIF orientation 1..8 (1 when absent or invalid);
 *   icc: the ICC profile (Uint8Array) or null;
 *   exifSegments: [start, end) byte ranges of the APP1 Exif segments (see withoutExif).
 * Throws UnsupportedJpeg for anything enhancement does not take. */
export function parseJpeg(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new UnsupportedJpeg("not a JPEG");
  const tables = {};
  let frame = null;
  let recordPayload = null;
  let orientation = null;
  const iccChunks = [];
  const exifSegments = [];
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw new UnsupportedJpeg("bad marker");
    const marker = bytes[pos + 1];
    if (marker === 0xff) { pos += 1; continue; }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { pos += 2; continue; }
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    const seg = bytes.subarray(pos + 4, pos + 2 + length);
    if (marker === 0xdb) parseDqt(seg, tables);
    else if (SOF_MARKERS.has(marker)) frame = parseSof(seg);
    else if ((marker >= 0xc3 && marker <= 0xcf) && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw new UnsupportedJpeg("lossless, hierarchical or arithmetic JPEG");
    } else if (marker === 0xeb && recordPayload === null && startsWith(seg, APP11_SIGNATURE)) {
      recordPayload = seg; // the first record decides, as in hybrid.codec.headers
    } else if (marker === 0xe1 && startsWith(seg, EXIF_PREFIX)) {
      exifSegments.push([pos, pos + 2 + length]);
      if (orientation === null) orientation = exifOrientation(seg.subarray(EXIF_PREFIX.length));
    } else if (marker === 0xe2 && startsWith(seg, ICC_PREFIX) && seg.length >= 14) {
      iccChunks.push([seg[12], seg.subarray(14)]);
    } else if (marker === 0xda) break; // tables that come later (between scans) are not read
    pos += 2 + length;
  }
  if (frame === null) throw new UnsupportedJpeg("no frame header");
  const comps = frame.components;
  if (comps.length !== 1 && comps.length !== 3) throw new UnsupportedJpeg("not greyscale or YCbCr");
  const qtables = comps.map((c) => {
    if (!tables[c.tq]) throw new UnsupportedJpeg("missing quantization table");
    return tables[c.tq];
  });
  if (qtables.some((q) => q.some((v) => v === 0))) throw new UnsupportedJpeg("zero quantizer");
  let factors = [1, 1];
  if (comps.length === 3) {
    const [y, cb, cr] = comps;
    if (cb.h !== cr.h || cb.v !== cr.v || y.v % cb.v || y.h % cb.h) {
      throw new UnsupportedJpeg("unsupported chroma sampling");
    }
    factors = [y.v / cb.v, y.h / cb.h];
    if (Math.max(...factors) > 2) throw new UnsupportedJpeg("chroma subsampled more than 2x");
  }
  const parsed = recordPayload && parseRecord(recordPayload.subarray(APP11_SIGNATURE.length));
  return {
    width: frame.width, height: frame.height, grey: comps.length === 1,
    qtables, factors,
    record: parsed ? checkRecord(parsed, frame.width, frame.height) : null,
    orientation: orientation ?? 1,
    icc: joinIcc(iccChunks),
    exifSegments,
  };
}

function parseDqt(seg, tables) {
  let i = 0;
  while (i < seg.length) {
    const precision = seg[i] >> 4;
    const id = seg[i] & 15;
    i += 1;
    const table = new Float32Array(64);
    for (let k = 0; k < 64; k++) {
      table[ZIGZAG[k]] = precision ? (seg[i + 2 * k] << 8) | seg[i + 2 * k + 1] : seg[i + k];
    }
    i += precision ? 128 : 64;
    tables[id] = table;
  }
}

function parseSof(seg) {
  if (seg[0] !== 8) throw new UnsupportedJpeg("not 8-bit");
  const height = (seg[1] << 8) | seg[2];
  const width = (seg[3] << 8) | seg[4];
  const components = [];
  for (let c = 0; c < seg[5]; c++) {
    const o = 6 + 3 * c;
    components.push({ id: seg[o], h: seg[o + 1] >> 4, v: seg[o + 1] & 15, tq: seg[o + 2] });
  }
  return { width, height, components };
}

const MODE_NAMES = Object.fromEntries(Object.entries(MODE_CODES).map(([k, v]) => [v, k]));
const CONTENT_NAMES = Object.fromEntries(Object.entries(CONTENT_CODES).map(([k, v]) => [v, k]));

/** hybrid.codec.metadata.parse_metadata of the payload after the signature: version (1),
 * mode (1), original width (4), height (4), scale (float64), model id length (1), model id,
 * [CRC-32 (4), versions 2-4], [content class (1), versions 3-4; 0 none in 4], [strength
 * k (1): k / 255 of the recorded model's change, version 4]; big-endian. null for anything
 * Python would ignore; an unknown content code keeps the rest of the record, as in Python. */
export function parseRecord(body) {
  if (body.length < 19 || !RECORD_VERSIONS.includes(body[0])) return null;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = body[0];
  const width = view.getUint32(2), height = view.getUint32(6), scale = view.getFloat64(10);
  const tailSize = { 1: 0, 2: 4, 3: 5, 4: 6 }[version];
  const modelBytes = body.subarray(19, body.length - tailSize);
  if (body.length - 19 < tailSize || modelBytes.length !== body[18]) return null;
  const mode = MODE_NAMES[body[1]];
  if (mode === undefined || modelBytes.length > MAX_MODEL_ID_BYTES) return null;
  if (width < 1 || height < 1 || !Number.isFinite(scale) || scale <= 0) return null;
  if (mode !== "downscaled" && scale !== 1.0) return null;
  let modelId;
  try {
    modelId = new TextDecoder("utf-8", { fatal: true }).decode(modelBytes);
  } catch {
    return null;
  }
  const tail = body.length - tailSize;
  const content = version >= 3 ? (CONTENT_NAMES[body[tail + 4]] ?? null) : null;
  const strength = version === 4 ? body[tail + 5] / STRENGTH_LEVELS : null;
  if (version === 4 && modelId === "") return null;
  return { version, mode, width, height, scale, modelId, content, strength };
}

const roundHalfUp = (x) => Math.floor(x + 0.5);

/** hybrid.codec.geometry.coded_size: the coded size of a downscaled original. */
export function codedSize(width, height, scale) {
  return [Math.max(1, roundHalfUp(width / scale)), Math.max(1, roundHalfUp(height / scale))];
}

/** The record if it describes this frame (hybrid.codec.headers._check_record), else null. */
function checkRecord(record, width, height) {
  if (record.mode === "downscaled") {
    if (!(record.scale > 1.0 && record.scale <= MAX_SCALE)) return null;
    const [cw, ch] = codedSize(record.width, record.height, record.scale);
    return cw === width && ch === height ? record : null;
  }
  return record.width === width && record.height === height ? record : null;
}

/** The Orientation (1..8) in IFD0 of an EXIF TIFF block, 1 when absent or not a valid
 * SHORT 1..8 (hybrid.exif.orientation_of). */
export function exifOrientation(tiff) {
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    const type = view.getUint16(entry + 2, little); // SHORT, or LONG as some writers use
    if ((type !== 3 && type !== 4) || view.getUint32(entry + 4, little) !== 1) return 1;
    const value = type === 3 ? view.getUint16(entry + 8, little) : view.getUint32(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/** The ICC profile from its APP2 chunks [sequence number, bytes], in sequence order. */
function joinIcc(chunks) {
  if (!chunks.length) return null;
  chunks.sort((a, b) => a[0] - b[0]);
  const out = new Uint8Array(chunks.reduce((n, [, c]) => n + c.length, 0));
  let at = 0;
  for (const [, c] of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** ``bytes`` without its APP1 Exif segments (``ranges`` from parseJpeg), so that a browser
 * decodes the stored orientation: createImageBitmap turns by EXIF whatever its
 * imageOrientation option says (Chromium 156). */
export function withoutExif(bytes, ranges) {
  if (!ranges.length) return bytes;
  const kept = [];
  let at = 0;
  for (const [start, end] of ranges) { kept.push(bytes.subarray(at, start)); at = end; }
  kept.push(bytes.subarray(at));
  const out = new Uint8Array(kept.reduce((n, part) => n + part.length, 0));
  let pos = 0;
  for (const part of kept) { out.set(part, pos); pos += part.length; }
  return out;
}

/** Interleaved ``pixels`` (h, w, c) of the stored orientation turned upright for EXIF
 * ``orientation`` (hybrid.exif.orient_array). Returns [pixels, width, height]. */
export function orientPixels(pixels, w, h, c, orientation) {
  if (orientation === 1) return [pixels, w, h];
  const swap = orientation >= 5;
  const ow = swap ? h : w, oh = swap ? w : h;
  const out = new pixels.constructor(pixels.length);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    let sy, sx;
    switch (orientation) {
      case 2: sy = y; sx = w - 1 - x; break;
      case 3: sy = h - 1 - y; sx = w - 1 - x; break;
      case 4: sy = h - 1 - y; sx = x; break;
      case 5: sy = x; sx = y; break;
      case 6: sy = h - 1 - x; sx = y; break;
      case 7: sy = h - 1 - x; sx = w - 1 - y; break;
      default: sy = x; sx = w - 1 - y; break; // 8
    }
    const s = (sy * w + sx) * c, d = (y * ow + x) * c;
    for (let k = 0; k < c; k++) out[d + k] = pixels[s + k];
  }
  return [out, ow, oh];
}
