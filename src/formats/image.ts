// Images: .png and .jpg/.jpeg <-> ImageArray. PNGs are checked and
// inflated by _png_check.ts (node:zlib) and decoded by _png_decode.ts (all
// bit depths, palettes, interlaced), written by fast-png; JPEGs through
// jpeg-js (baseline and progressive), a pure JavaScript npm package.
import * as rt from "../_runtime.ts";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import {
  CorruptFileError,
  NotFoundError,
  StorageError,
  UnsupportedFormatError,
  ValidationError,
} from "../errors.ts";
import { type CheckedPng, checkPng } from "./_png_check.ts";
import { decodeCheckedPng } from "./_png_decode.ts";
import { checkJpeg } from "./_jpeg_check.ts";

/**
 * An image as a dense array, row-major `[height, width, channels]`, like the
 * numpy array Python's PIL gives (`np.asarray(Image.open(p))`; for a
 * greyscale image, PNG or JPEG, `channels` is 1). 8-bit images hold
 * `Uint8Array`, 16-bit PNGs `Uint16Array`; no other typed array is an
 * ImageArray.
 *
 * Reading, PNGs of fewer than 8 bits a sample get one byte a sample:
 * palette images (of any depth) are expanded to RGB, or RGBA when they
 * have transparency, as PIL's `convert("RGB"/"RGBA")`; 2- and 4-bit grey
 * is scaled to 0..255 as PIL's mode "L" (x85, x17); 1-bit grey (PIL's
 * mode "1", which numpy shows as booleans) is 0 or 255, as PIL's
 * `convert("L")`.
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

/** Check data type, shape, channels and data length; a `ValidationError` says what is wrong. */
export function validateImage(img: ImageArray): void {
  if (!isImageArray(img)) {
    throw new ValidationError(
      `an image is an ImageArray { data: Uint8Array | Uint16Array, shape: [height, width, ` +
        `channels] }, got ${describe(img)}`,
    );
  }
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

/**
 * Encode an image as PNG or JPEG bytes (JPEG: 8-bit RGB or grey, quality
 * 95). A grey (1-channel) image is written to JPEG as RGB with three equal
 * channels (jpeg-js writes only 3-component JPEGs), so it reads back with 3
 * channels; save grey images as PNG to keep 1 channel.
 */
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

function describe(x: unknown): string {
  if (x === null || typeof x !== "object") return x === null ? "null" : typeof x;
  const data = (x as { data?: unknown }).data;
  return data === undefined
    ? `a ${x.constructor?.name ?? "object"}`
    : `data of type ${(data as object)?.constructor?.name ?? typeof data}`;
}

function fromPng(checked: CheckedPng, label: string): ImageArray {
  return decodeCheckedPng(checked, label);
}

function fromJpeg(bytes: Uint8Array, components: number | undefined): ImageArray {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxMemoryUsageInMB: 1024,
  });
  const n = img.width * img.height;
  const c = img.data.length / n;
  if (components === 1 && c === 3) {
    // jpeg-js repeats a greyscale JPEG's one component as R, G and B.
    const grey = new Uint8Array(n);
    for (let i = 0; i < n; i++) grey[i] = img.data[i * 3];
    return { data: grey, shape: [img.height, img.width, 1] };
  }
  return { data: new Uint8Array(img.data), shape: [img.height, img.width, c] };
}

/** Decode PNG or JPEG bytes (picked by signature); `CorruptFileError` naming `label` otherwise. */
export function decodeImage(bytes: Uint8Array, label: string): ImageArray {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (!isPng && !isJpeg) {
    throw new CorruptFileError(`"${label}" is neither a PNG nor a JPEG image (bad signature)`);
  }
  const checked = isPng ? checkPng(bytes, label) : undefined;
  const frame = isPng ? undefined : checkJpeg(bytes, label);
  try {
    return checked ? fromPng(checked, label) : fromJpeg(bytes, frame?.components);
  } catch (e) {
    if (e instanceof CorruptFileError) throw e;
    throw new CorruptFileError(`"${label}" is not a readable image: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** `path` as a file path, or a `ValidationError` naming `call`. */
function checkPath(path: unknown, call: string): string {
  if (typeof path !== "string" || path === "") {
    throw new ValidationError(
      `${call} takes a file path string, got ${
        path === "" ? "an empty string" : path === null ? "null" : typeof path
      }`,
    );
  }
  if (path.includes("\0")) {
    throw new ValidationError(`${call}: the path ${JSON.stringify(path)} holds a NUL character`);
  }
  return path;
}

/** The LaminError for a failed read or write of the image file `path`. */
function fileError(e: unknown, doing: string, path: string): Error {
  const msg = (e as Error)?.message ?? String(e);
  if (rt.isNotFound(e)) {
    return new NotFoundError(`cannot ${doing} "${path}": no such file or folder`, { cause: e });
  }
  if (rt.isADirectory(e)) {
    return new ValidationError(
      `cannot ${doing} "${path}": it is a folder; give the path of a .png, .jpg or .jpeg file`,
      { cause: e },
    );
  }
  return new StorageError(`cannot ${doing} "${path}": ${msg}`, { cause: e });
}

/**
 * Read a `.png`, `.jpg` or `.jpeg` file into an {@linkcode ImageArray}.
 * A missing file is a `NotFoundError`, a folder or a path that is not a
 * string a `ValidationError`, bytes that are not a readable PNG or JPEG a
 * `CorruptFileError`.
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
  checkPath(path, "readImage(path)");
  let bytes: Uint8Array;
  try {
    bytes = await rt.readFile(path);
  } catch (e) {
    throw fileError(e, "read the image", path);
  }
  return decodeImage(bytes, path);
}

/**
 * Write an {@linkcode ImageArray} as PNG or JPEG, chosen by the path's
 * suffix. The image and the path are checked first (`ValidationError`,
 * `UnsupportedFormatError` for another suffix): nothing is written for bad
 * input. A 1-channel image written as JPEG reads back with 3 equal
 * channels (see {@linkcode encodeImage}).
 *
 * @example
 * ```ts
 * import { writeImage } from "@lamindeno/lamindb";
 * await writeImage({ data: new Uint8Array(4), shape: [2, 2, 1] }, `${await Deno.makeTempDir()}/a.png`);
 * ```
 */
export async function writeImage(img: ImageArray, path: string): Promise<void> {
  checkPath(path, "writeImage(img, path)");
  const lower = path.toLowerCase();
  const format = lower.endsWith(".png")
    ? "png"
    : lower.endsWith(".jpg") || lower.endsWith(".jpeg")
    ? "jpg"
    : undefined;
  if (!format) {
    throw new UnsupportedFormatError(`cannot write an image to ${path}: use .png, .jpg or .jpeg`);
  }
  const bytes = encodeImage(img, format);
  try {
    await rt.writeFile(path, bytes);
  } catch (e) {
    throw fileError(e, "write the image", path);
  }
}
