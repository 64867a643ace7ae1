// PNG pixels decoded from the data checkPng inflated (and checked), so the
// compressed data is inflated once: scanlines unfiltered, Adam7 passes put
// in place, samples of 1, 2 and 4 bits unpacked to a byte each (fast-png
// left them packed and could not de-interlace them), 16-bit samples
// (big-endian in the file) as a Uint16Array, palettes expanded.
import { CorruptFileError } from "../errors.ts";
import type { ImageArray } from "./image.ts";
import { type CheckedPng, pngPasses } from "./_png_check.ts";

/** Undo one scanline's filter in place (`bpp`: bytes a pixel, at least 1). */
function unfilter(type: number, line: Uint8Array, prev: Uint8Array, bpp: number, label: string) {
  const n = line.length;
  switch (type) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) line[i] += line[i - bpp];
      return;
    case 2:
      for (let i = 0; i < n; i++) line[i] += prev[i];
      return;
    case 3:
      for (let i = 0; i < n; i++) line[i] += ((i >= bpp ? line[i - bpp] : 0) + prev[i]) >> 1;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        line[i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      return;
  }
  throw new CorruptFileError(`"${label}" is a damaged PNG: a scanline has filter type ${type}`);
}

/** Channels of each colour type (0 grey, 2 RGB, 3 palette index, 4 grey+alpha, 6 RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Decode a checked PNG of any bit depth and colour type, interlaced or not:
 * 8-bit samples as a Uint8Array, 16-bit ones as a Uint16Array, grey of 1,
 * 2 or 4 bits scaled to 0..255 (x255, x85, x17, as PIL's mode "L"), palette
 * entries expanded to RGB, or RGBA when it has a tRNS.
 */
export function decodeCheckedPng(png: CheckedPng, label: string): ImageArray {
  if (png.depth < 8) return decodeLowBit(png, label);
  const { width, height, depth, raw } = png;
  const c = CHANNELS[png.colourType];
  const bpp = (c * depth) / 8;
  const out = new Uint8Array(width * height * bpp);
  let pos = 0;
  for (const [x0, y0, dx, dy, w, h] of pngPasses(width, height, png.interlaced)) {
    const rowBytes = w * bpp;
    let prev: Uint8Array = new Uint8Array(rowBytes);
    for (let r = 0; r < h; r++) {
      const line = raw.subarray(pos + 1, pos + 1 + rowBytes);
      unfilter(raw[pos], line, prev, bpp, label);
      pos += 1 + rowBytes;
      const y = y0 + r * dy;
      if (dx === 1) out.set(line, (y * width + x0) * bpp);
      else {
        for (let i = 0; i < w; i++) {
          out.set(line.subarray(i * bpp, (i + 1) * bpp), (y * width + x0 + i * dx) * bpp);
        }
      }
      prev = line;
    }
  }
  if (png.colourType === 3) return expandPalette(png, out, label);
  if (depth === 8) return { data: out, shape: [height, width, c] };
  // 16 bits: big-endian samples.
  const data = new Uint16Array(out.length / 2);
  for (let i = 0; i < data.length; i++) data[i] = (out[2 * i] << 8) | out[2 * i + 1];
  return { data, shape: [height, width, c] };
}

/** A grey or palette PNG of bit depth 1, 2 or 4: one byte a sample (see decodeCheckedPng). */
function decodeLowBit(png: CheckedPng, label: string): ImageArray {
  const { width, height, depth, raw } = png;
  const index = new Uint8Array(width * height);
  const mask = (1 << depth) - 1;
  let pos = 0;
  for (const [x0, y0, dx, dy, w, h] of pngPasses(width, height, png.interlaced)) {
    const rowBytes = Math.ceil((w * depth) / 8);
    let prev: Uint8Array = new Uint8Array(rowBytes);
    for (let r = 0; r < h; r++) {
      const line = raw.subarray(pos + 1, pos + 1 + rowBytes);
      unfilter(raw[pos], line, prev, 1, label);
      pos += 1 + rowBytes;
      const out = (y0 + r * dy) * width + x0;
      for (let i = 0; i < w; i++) {
        const bit = i * depth;
        index[out + i * dx] = (line[bit >> 3] >> (8 - depth - (bit & 7))) & mask;
      }
      prev = line;
    }
  }
  if (png.colourType === 0) {
    const scale = 255 / mask;
    for (let i = 0; i < index.length; i++) index[i] *= scale;
    return { data: index, shape: [height, width, 1] };
  }
  return expandPalette(png, index, label);
}

/** Palette indexes (one byte each) expanded to RGB, or RGBA when the PNG has a tRNS. */
function expandPalette(png: CheckedPng, index: Uint8Array, label: string): ImageArray {
  const pal = png.palette!, alpha = png.transparency;
  const colours = Math.floor(pal.length / 3), c = alpha ? 4 : 3;
  const data = new Uint8Array(index.length * c);
  for (let i = 0; i < index.length; i++) {
    const k = index[i];
    if (k >= colours) {
      throw new CorruptFileError(
        `"${label}" is a damaged PNG: a pixel uses palette entry ${k} of ${colours}`,
      );
    }
    data[i * c] = pal[k * 3], data[i * c + 1] = pal[k * 3 + 1], data[i * c + 2] = pal[k * 3 + 2];
    if (alpha) data[i * c + 3] = k < alpha.length ? alpha[k] : 255;
  }
  return { data, shape: [png.height, png.width, c] };
}
