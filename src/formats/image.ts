// Images: .png and .jpg/.jpeg <-> ImageArray, through fast-png (PNG, all bit
// depths, palettes) and jpeg-js (baseline and progressive JPEG), both pure
// JavaScript npm packages.
import * as rt from "../_runtime.ts";
import { decode as decodePng, encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { CorruptFileError, UnsupportedFormatError, ValidationError } from "../errors.ts";
import { checkPng } from "./_png_check.ts";

/**
 * An image as a dense array, row-major `[height, width, channels]`, like the
 * numpy array Python's PIL gives (`np.asarray(Image.open(p))`; for a
 * greyscale image `channels` is 1). 8-bit images hold `Uint8Array`, 16-bit
 * PNGs `Uint16Array`.
 *
 * @example A 1x2 RGB image
 * ```ts
 * import type { ImageArray } from "@lamindeno/lamindb";
 * const img: ImageArray = { data: new Uint8Array([255, 0, 0, 0, 0, 255]), shape: [1, 2, 3] };
 * console.assert(img.data.length === 6);
 * ```
 */
export interface ImageArray {
  /** Pixel values, row-major, channels interleaved. */
  data: Uint8Array | Uint16Array;
  /** `[height, width, channels]`; channels 1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA). */
  shape: [number, number, number];
}

/** Image formats we write. */
export type ImageFormat = "png" | "jpg";

/** True for a value shaped like an {@linkcode ImageArray}. */
export function isImageArray(x: unknown): x is ImageArray {
  if (x === null || typeof x !== "object") return false;
  const o = x as { data?: unknown; shape?: unknown };
  return (o.data instanceof Uint8Array || o.data instanceof Uint16Array) &&
    Array.isArray(o.shape) && o.shape.length === 3;
}

/** Check shape, channels and data length; a `ValidationError` says what is wrong. */
export function validateImage(img: ImageArray): void {
  const [h, w, c] = img.shape;
  if (![h, w, c].every((n) => Number.isInteger(n) && n > 0)) {
    throw new ValidationError(
      `an image's shape is [height, width, channels] of positive integers, got [${img.shape}]`,
    );
  }
  if (c > 4) throw new ValidationError(`an image has 1 to 4 channels, got ${c}`);
  if (img.data.length !== h * w * c) {
    throw new ValidationError(
      `image data has ${img.data.length} values but shape [${img.shape}] needs ${h * w * c}`,
    );
  }
}

/** Encode an image as PNG or JPEG bytes (JPEG: 8-bit RGB or grey, quality 95). */
export function encodeImage(img: ImageArray, format: ImageFormat): Uint8Array {
  validateImage(img);
  const [height, width, channels] = img.shape;
  if (format === "png") {
    return encodePng({
      width,
      height,
      data: img.data,
      channels,
      depth: img.data instanceof Uint16Array ? 16 : 8,
    });
  }
  if (img.data instanceof Uint16Array || (channels !== 1 && channels !== 3)) {
    throw new UnsupportedFormatError(
      `cannot save a ${channels}-channel ${
        img.data instanceof Uint16Array ? "16-bit " : ""
      }image as JPEG: JPEG holds 8-bit grey or RGB; use format "png"`,
    );
  }
  // jpeg-js takes RGBA.
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    rgba[i * 4] = img.data[j];
    rgba[i * 4 + 1] = img.data[channels === 1 ? j : j + 1];
    rgba[i * 4 + 2] = img.data[channels === 1 ? j : j + 2];
    rgba[i * 4 + 3] = 255;
  }
  const out = jpeg.encode({ width, height, data: rgba }, 95).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function fromPng(bytes: Uint8Array): ImageArray {
  const png = decodePng(bytes);
  if (png.palette) {
    // Indexed colour: expand to RGB(A) as PIL's convert() would.
    const pal = png.palette;
    const c = pal[0]?.length === 4 ? 4 : 3;
    const n = png.width * png.height;
    const data = new Uint8Array(n * c);
    for (let i = 0; i < n; i++) data.set(pal[png.data[i]].slice(0, c), i * c);
    return { data, shape: [png.height, png.width, c] };
  }
  const data = png.data instanceof Uint16Array ? png.data : new Uint8Array(
    png.data.buffer,
    png.data.byteOffset,
    png.data.byteLength,
  );
  return { data, shape: [png.height, png.width, png.channels] };
}

function fromJpeg(bytes: Uint8Array): ImageArray {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxMemoryUsageInMB: 1024,
  });
  const c = img.data.length / (img.width * img.height);
  return { data: new Uint8Array(img.data), shape: [img.height, img.width, c] };
}

/** Decode PNG or JPEG bytes (picked by signature); `CorruptFileError` naming `label` otherwise. */
export function decodeImage(bytes: Uint8Array, label: string): ImageArray {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (!isPng && !isJpeg) {
    throw new CorruptFileError(`"${label}" is neither a PNG nor a JPEG image (bad signature)`);
  }
  if (isPng) checkPng(bytes, label);
  try {
    return isPng ? fromPng(bytes) : fromJpeg(bytes);
  } catch (e) {
    throw new CorruptFileError(`"${label}" is not a readable image: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Read a `.png`, `.jpg` or `.jpeg` file into an {@linkcode ImageArray}.
 *
 * @example
 * ```ts
 * import { readImage, writeImage } from "@lamindeno/lamindb";
 * const path = `${await Deno.makeTempDir()}/dot.png`;
 * await writeImage({ data: new Uint8Array([1, 2, 3]), shape: [1, 1, 3] }, path);
 * console.assert((await readImage(path)).data[2] === 3);
 * ```
 */
export async function readImage(path: string): Promise<ImageArray> {
  return decodeImage(await rt.readFile(path), path);
}

/**
 * Write an {@linkcode ImageArray} as PNG or JPEG, chosen by the path's suffix.
 *
 * @example
 * ```ts
 * import { writeImage } from "@lamindeno/lamindb";
 * await writeImage({ data: new Uint8Array(4), shape: [2, 2, 1] }, `${await Deno.makeTempDir()}/a.png`);
 * ```
 */
export async function writeImage(img: ImageArray, path: string): Promise<void> {
  const lower = path.toLowerCase();
  const format = lower.endsWith(".png")
    ? "png"
    : lower.endsWith(".jpg") || lower.endsWith(".jpeg")
    ? "jpg"
    : undefined;
  if (!format) {
    throw new UnsupportedFormatError(`cannot write an image to ${path}: use .png, .jpg or .jpeg`);
  }
  await rt.writeFile(path, encodeImage(img, format));
}
