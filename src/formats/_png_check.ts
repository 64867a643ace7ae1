// A PNG's structure checked before decoding: every chunk's CRC (PNG's own
// integrity check, which the decoder skips), IHDR first, IEND last, and
// the claimed width x height against what the compressed data can hold,
// and the compressed data itself (inflated here, Adler-32 checked).
import { inflateSync } from "node:zlib";
import { CorruptFileError } from "../errors.ts";

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG uses it) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** zlib cannot inflate more than 1032 bytes from one. */
const MAX_RATIO = 1032;

/** Channels of each PNG colour type, and the bit depths it allows. */
const COLOUR: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] }, // grey
  2: { channels: 3, depths: [8, 16] }, // RGB
  3: { channels: 1, depths: [1, 2, 4, 8] }, // palette index
  4: { channels: 2, depths: [8, 16] }, // grey + alpha
  6: { channels: 4, depths: [8, 16] }, // RGBA
};

/** The seven Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** A PNG whose structure checked out, with its pixel data inflated. */
export interface CheckedPng {
  width: number;
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  depth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colourType: number;
  interlaced: boolean;
  /** The inflated IDAT data: filtered scanlines (per pass when interlaced). */
  raw: Uint8Array;
  /** PLTE: RGB triples. */
  palette?: Uint8Array;
  /** tRNS: for a palette, the alpha of each entry. */
  transparency?: Uint8Array;
}

/** The sub-images of a PNG: `[firstX, firstY, stepX, stepY, width, height]` of each non-empty one. */
export function pngPasses(
  width: number,
  height: number,
  interlaced: boolean,
): [number, number, number, number, number, number][] {
  const passes = interlaced ? ADAM7 : [[0, 0, 1, 1] as const];
  return passes.map(([x, y, dx, dy]) =>
    [x, y, dx, dy, Math.ceil((width - x) / dx), Math.ceil((height - y) / dy)] as [
      number,
      number,
      number,
      number,
      number,
      number,
    ]
  ).filter((p) => p[4] > 0 && p[5] > 0);
}

/** Bytes of filtered scanlines a PNG's header calls for (a filter byte a row, rows padded to bytes). */
function rawSize(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  let n = 0;
  for (const [, , , , w, h] of pngPasses(width, height, interlaced)) {
    n += h * (1 + Math.ceil((w * bitsPerPixel) / 8));
  }
  return n;
}

/**
 * Check the chunks of the PNG `bytes` and inflate its pixel data;
 * `CorruptFileError` naming `label` when a CRC fails, the chunks run past
 * the end, IHDR/IEND are missing, the header is invalid (a zero width or
 * height, an unknown colour type or bit depth), the image claims more
 * pixels than its compressed data can hold, or the compressed data is
 * damaged (zlib's Adler-32 check, which the decoder skips) or cut short.
 */
export function checkPng(bytes: Uint8Array, label: string): CheckedPng {
  const bad = (what: string): never => {
    throw new CorruptFileError(`"${label}" is a damaged PNG: ${what}`);
  };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || SIG.some((b, i) => bytes[i] !== b)) bad("bad signature");
  let at = 8, first = true, ended = false;
  let width = 0, height = 0, depth = 0, colourType = 0, interlaced = false;
  let palette: Uint8Array | undefined, transparency: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (at < bytes.length) {
    if (at + 12 > bytes.length) bad(`a chunk header at byte ${at} is cut off`);
    const len = v.getUint32(at);
    if (at + 12 + len > bytes.length) bad(`the chunk at byte ${at} runs past the end of the file`);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const stored = v.getUint32(at + 8 + len);
    if (crc32(bytes.subarray(at + 4, at + 8 + len)) !== stored) {
      bad(`the ${JSON.stringify(type)} chunk at byte ${at} fails its CRC`);
    }
    if (first && type !== "IHDR") bad("it does not start with IHDR");
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      if (len < 13) bad("IHDR is too short");
      width = v.getUint32(at + 8), height = v.getUint32(at + 12), depth = bytes[at + 16];
      colourType = bytes[at + 17], interlaced = bytes[at + 20] === 1;
      if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
        bad(`its size ${width}x${height} is not allowed (each side 1 to 2^31-1)`);
      }
      if (!COLOUR[colourType]?.depths.includes(depth)) {
        bad(`colour type ${colourType} with bit depth ${depth} is not a PNG pixel format`);
      }
      if (bytes[at + 18] !== 0 || bytes[at + 19] !== 0 || bytes[at + 20] > 1) {
        bad("IHDR names an unknown compression, filter or interlace method");
      }
    }
    if (type === "PLTE") palette = body;
    if (type === "tRNS") transparency = body;
    if (type === "IDAT") idat.push(body);
    first = false;
    at += 12 + len;
    if (type === "IEND") {
      ended = true;
      break;
    }
  }
  if (!ended) bad("it has no IEND chunk (truncated)");
  if (colourType === 3 && !palette) bad("a palette image without a PLTE chunk");
  const compressed = idat.reduce((n, c) => n + c.length, 0);
  const claimed = rawSize(width, height, COLOUR[colourType].channels * depth, interlaced);
  if (claimed > compressed * MAX_RATIO + (1 << 20)) {
    bad(`it claims ${claimed} bytes of pixels from ${compressed} bytes of compressed data`);
  }
  const zipped = new Uint8Array(compressed);
  idat.reduce((o, c) => (zipped.set(c, o), o + c.length), 0);
  let raw: Uint8Array;
  try {
    const out = inflateSync(zipped, { maxOutputLength: claimed + (1 << 16) });
    raw = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    return bad(`its compressed pixel data is damaged (${(e as Error).message})`);
  }
  if (raw.length < claimed) bad(`its pixel data is cut short: ${raw.length} of ${claimed} bytes`);
  return { width, height, depth, colourType, interlaced, raw, palette, transparency };
}
