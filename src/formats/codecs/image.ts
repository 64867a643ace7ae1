// Images: .png .jpg .jpeg <-> ImageArray.
import { defineCodec } from "../codec.ts";
import {
  encodeImage,
  type ImageArray,
  type ImageFormat,
  isImageArray,
  readImage,
  validateImage,
} from "../image.ts";

/**
 * The image codec: loads PNG and JPEG files as `ImageArray`s; saves one as
 * png (default) or jpg.
 *
 * @example
 * ```ts
 * import { image } from "./image.ts";
 * console.assert(image.accepts!({ data: new Uint8Array(3), shape: [1, 1, 3] }));
 * ```
 */
export const image = defineCodec<ImageArray>({
  name: "image",
  noun: "an image",
  suffixes: [".png", ".jpg", ".jpeg"],
  formats: { png: [".png"], jpg: [".jpg", ".jpeg"] },
  accepts: isImageArray,
  check: validateImage,
  encode: (img, { format }) => Promise.resolve(encodeImage(img, format as ImageFormat)),
  read: (path) => readImage(path),
});
