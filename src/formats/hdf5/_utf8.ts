// Variable-length strings as their UTF-8 bytes end to end with Arrow-style
// offsets: what a dataframe column needs (polars reads it without a JS
// string per value, ~10x cheaper than decoding 200,000 names and handing
// them over one by one).
import { CorruptFileError } from "../../errors.ts";
import { type Collection, objectAt } from "./_structures.ts";

/** Strings as bytes: string `i` is `bytes[offsets[i]..offsets[i + 1])`. */
export interface Utf8Strings {
  offsets: Int32Array;
  bytes: Uint8Array;
}

/** Offsets are 32-bit: columns holding more string bytes go the JS-string way. */
const MAX_BYTES = 2 ** 31 - 1;

/**
 * The `n` strings referenced by `raw` (16-byte global heap references, as
 * {@linkcode vstrings} reads them) as UTF-8 bytes and offsets; `undefined`
 * when they hold more than 2 GiB together. Every reference is checked
 * against its heap before anything is allocated (a damaged length is a
 * CorruptFileError, never a huge buffer).
 */
export async function vstringsUtf8(
  raw: Uint8Array,
  n: number,
  label: string,
  collection: (address: number) => Promise<Collection>,
): Promise<Utf8Strings | undefined> {
  if (raw.length < n * 16) {
    throw new CorruptFileError(`"${label}": string references end early`);
  }
  const u = raw.byteOffset % 4 === 0
    ? new Uint32Array(raw.buffer, raw.byteOffset, n * 4)
    : new Uint32Array(raw.slice(0, n * 16).buffer);
  const addresses = new Set<number>();
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (u[4 * i] === 0) continue;
    const a = u[4 * i + 1] + u[4 * i + 2] * 2 ** 32;
    if (a !== last) addresses.add(last = a);
  }
  const heaps = new Map<number, Collection>();
  await Promise.all([...addresses].map(async (a) => heaps.set(a, await collection(a))));
  // Where each string starts in its heap, checked, and the total.
  const at = new Float64Array(n);
  let total = 0, h: Collection | undefined;
  last = -1;
  for (let i = 0; i < n; i++) {
    const len = u[4 * i];
    if (len === 0) continue;
    const a = u[4 * i + 1] + u[4 * i + 2] * 2 ** 32;
    if (a !== last || !h) h = heaps.get(last = a)!;
    at[i] = objectAt(h, u[4 * i + 3], len, label);
    total += len;
  }
  if (total > MAX_BYTES) return undefined;
  const offsets = new Int32Array(n + 1), bytes = new Uint8Array(total);
  let o = 0;
  last = -1;
  for (let i = 0; i < n; i++) {
    const len = u[4 * i];
    if (len !== 0) {
      const a = u[4 * i + 1] + u[4 * i + 2] * 2 ** 32;
      if (a !== last) h = heaps.get(last = a)!;
      const src = h!.bytes, s = at[i];
      // Short strings (names, barcodes): a loop beats making a subarray.
      if (len <= 32) { for (let k = 0; k < len; k++) bytes[o + k] = src[s + k]; }
      else bytes.set(src.subarray(s, s + len), o);
      o += len;
    }
    offsets[i + 1] = o;
  }
  return { offsets, bytes };
}
