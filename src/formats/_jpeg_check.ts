// A JPEG's frame header read before decoding: its size and number of
// components, and the claimed size against what the file can hold.
import { CorruptFileError } from "../errors.ts";

/**
 * Pixels a byte of JPEG can hold at most, with 2x margin: every 8x8 block
 * of the first component codes its DC coefficient in at least one bit
 * (64 pixels a bit, 512 a byte), whatever the subsampling or progression.
 */
const MAX_PIXELS_PER_BYTE = 1024;

/** What the frame header (SOFn) of a JPEG says. */
export interface JpegFrame {
  width: number;
  height: number;
  /** 1 for greyscale, 3 for YCbCr/RGB, 4 for CMYK. */
  components: number;
}

/**
 * The frame header of the JPEG `bytes` (undefined if the scan data starts
 * before one, left to the decoder); `CorruptFileError` naming `label` when
 * it claims more pixels than the file's size can code.
 */
export function checkJpeg(bytes: Uint8Array, label: string): JpegFrame | undefined {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const m = bytes[at + 1];
    if (m === 0xff) {
      at++;
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      at += 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) return undefined;
    const len = (bytes[at + 2] << 8) | bytes[at + 3];
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof && at + 10 <= bytes.length) {
      const height = (bytes[at + 5] << 8) | bytes[at + 6];
      const width = (bytes[at + 7] << 8) | bytes[at + 8];
      const components = bytes[at + 9];
      if (width * height > MAX_PIXELS_PER_BYTE * bytes.length + (1 << 16)) {
        throw new CorruptFileError(
          `"${label}" is a damaged JPEG: it claims ${width}x${height} pixels from ` +
            `${bytes.length} bytes, more than a JPEG that size can hold`,
        );
      }
      return { width, height, components };
    }
    at += 2 + len;
  }
  return undefined;
}
