// A PNG's structure checked before decoding: every chunk's CRC (PNG's own
// integrity check, which the decoder skips), IHDR first, IEND last, and
// the claimed width x height against what the compressed data can hold.
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

/**
 * Check the chunks of the PNG `bytes`; `CorruptFileError` naming `label`
 * when a CRC fails, the chunks run past the end, IHDR/IEND are missing, or
 * the image claims more pixels than its compressed data can hold.
 */
export function checkPng(bytes: Uint8Array, label: string): void {
  const bad = (what: string): never => {
    throw new CorruptFileError(`"${label}" is a damaged PNG: ${what}`);
  };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || SIG.some((b, i) => bytes[i] !== b)) bad("bad signature");
  let at = 8, idat = 0, first = true, ended = false, claimed = 0;
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
    if (type === "IHDR") {
      if (len < 13) bad("IHDR is too short");
      const w = v.getUint32(at + 8), h = v.getUint32(at + 12), depth = bytes[at + 16];
      // Up to 4 channels of 16 bits, plus a filter byte per row.
      claimed = h * (w * 8 * Math.max(1, depth / 8) + 1);
    }
    if (type === "IDAT") idat += len;
    first = false;
    at += 12 + len;
    if (type === "IEND") {
      ended = true;
      break;
    }
  }
  if (!ended) bad("it has no IEND chunk (truncated)");
  if (claimed > idat * MAX_RATIO + (1 << 20)) {
    bad(`it claims ${claimed} bytes of pixels from ${idat} bytes of compressed data`);
  }
}
