// Decoding raw HDF5 element bytes: numbers into typed arrays, booleans,
// fixed-length strings, and variable-length strings from global heap
// collections.
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import type { Dtype, NumericArray } from "../anndata/matrix.ts";
import { type DType, sizeOf } from "./_parse.ts";
import { type Collection, objectAt } from "./_structures.ts";

/** Decoded values of a dataset or attribute. */
export type H5Values =
  | { kind: "number"; data: NumericArray; dtype: Dtype }
  | { kind: "bool"; data: Uint8Array }
  | { kind: "string"; data: string[] };

const dec = new TextDecoder();
const latin = new TextDecoder("windows-1252");

type Ctor = new (b: ArrayBuffer) => NumericArray;
const INTS: Record<number, [Ctor, Dtype, Ctor, Dtype]> = {
  1: [Int8Array, "int8", Uint8Array, "uint8"],
  2: [Int16Array, "int16", Uint16Array, "uint16"],
  4: [Int32Array, "int32", Uint32Array, "uint32"],
  8: [BigInt64Array, "int64", BigUint64Array, "uint64"],
};

/** The typed array and numpy dtype of a numeric type; undefined for others. */
export function numeric(t: DType): { ctor: Ctor; dtype: Dtype } | undefined {
  if (t.kind === "float") {
    return t.size === 4
      ? { ctor: Float32Array, dtype: "float32" }
      : { ctor: Float64Array, dtype: "float64" };
  }
  if (t.kind === "int" || t.kind === "enum") {
    const signed = t.kind === "int" ? t.signed : t.base.kind === "int" && t.base.signed;
    const row = INTS[t.size];
    if (!row) return undefined;
    return signed ? { ctor: row[0], dtype: row[1] } : { ctor: row[2], dtype: row[3] };
  }
  return undefined;
}

/** Decode `n` elements of raw bytes; `collection` gives global heap collections by address. */
export async function decodeValues(
  type: DType,
  raw: Uint8Array,
  n: number,
  label: string,
  collection: (address: number) => Promise<Collection>,
): Promise<H5Values> {
  if (type.kind === "bool") return { kind: "bool", data: raw.slice(0, n) };
  if (type.kind === "fstring") {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const b = raw.subarray(i * type.size, (i + 1) * type.size);
      let end = b.indexOf(0);
      if (end < 0) end = b.length;
      out.push(dec.decode(b.subarray(0, end)));
    }
    return { kind: "string", data: out };
  }
  if (type.kind === "vstring") {
    return { kind: "string", data: await vstrings(raw, n, label, collection) };
  }
  const num = numeric(type);
  if (!num) throw new UnsupportedFormatError(`"${label}": unsupported datatype`);
  const bytes = n * sizeOf(type);
  const aligned = raw.byteOffset % sizeOf(type) === 0 && raw.byteLength === bytes &&
      raw.byteOffset === 0 && raw.buffer.byteLength === bytes
    ? raw
    : raw.slice(0, bytes);
  return { kind: "number", data: new num.ctor(aligned.buffer as ArrayBuffer), dtype: num.dtype };
}

/** Whether every object of a collection holds ASCII bytes only (headers aside). */
function isAscii(h: Collection): boolean {
  const b = h.bytes;
  for (let i = 0; i < h.offsets.length; i++) {
    const at = h.offsets[i];
    if (!(at >= 0)) continue;
    for (let k = at, end = at + h.sizes[i]; k < end; k++) if (b[k] >= 0x80) return false;
  }
  return true;
}

async function vstrings(
  raw: Uint8Array,
  n: number,
  label: string,
  collection: (address: number) => Promise<Collection>,
): Promise<string[]> {
  if (raw.length < n * 16) {
    throw new CorruptFileError(`"${label}": string references end early`);
  }
  // References as 32-bit words (length, address low, high, index; little-endian as the file).
  const u = raw.byteOffset % 4 === 0
    ? new Uint32Array(raw.buffer, raw.byteOffset, n * 4)
    : new Uint32Array(raw.slice(0, n * 16).buffer);
  const addrOf = (i: number) => u[4 * i + 1] + u[4 * i + 2] * 2 ** 32;
  // Strings wanted per collection: a collection most of whose strings are
  // wanted is decoded once (strings are substrings of it), else per string.
  // Consecutive strings mostly share one: the map is touched once per run.
  const collections = new Map<number, number>();
  let runAt = -1, runBytes = 0;
  for (let i = 0; i < n; i++) {
    const len = u[4 * i];
    if (len === 0) continue;
    const a = addrOf(i);
    if (a !== runAt) {
      if (runAt >= 0) collections.set(runAt, (collections.get(runAt) ?? 0) + runBytes);
      runAt = a;
      runBytes = 0;
    }
    runBytes += 16 + len;
  }
  if (runAt >= 0) collections.set(runAt, (collections.get(runAt) ?? 0) + runBytes);
  const heaps = new Map<number, Collection>();
  await Promise.all(
    [...collections.keys()].map(async (a) => heaps.set(a, await collection(a))),
  );
  const out = new Array<string>(n);
  // Consecutive strings mostly share a collection: looked up once per run.
  let at0 = -1, h: Collection | undefined, many = false, ascii = false;
  for (let i = 0; i < n; i++) {
    const len = u[4 * i];
    if (len === 0) {
      out[i] = "";
      continue;
    }
    const a = addrOf(i);
    if (a !== at0 || !h) {
      at0 = a;
      h = heaps.get(a)!;
      // Decoding the collection once costs about what 1/16 of it would string by string.
      many = collections.get(a)! * 16 > h.bytes.length;
      // ASCII throughout (checked once): every string is one char per byte.
      ascii = many && (h.ascii ??= isAscii(h));
    }
    const at = objectAt(h, u[4 * i + 3], len, label);
    if (ascii) {
      out[i] = (h.text ??= latin.decode(h.bytes)).substring(at, at + len);
      continue;
    }
    const b = h.bytes;
    let isAsc = true;
    for (let k = at; k < at + len; k++) {
      if (b[k] >= 0x80) {
        isAsc = false;
        break;
      }
    }
    // ASCII: one char per byte, so a substring of the collection decoded
    // once, or (few wanted from it) the bytes as char codes.
    out[i] = isAsc
      ? (h.text !== undefined || many)
        ? (h.text ??= latin.decode(b)).substring(at, at + len)
        : len <= 64
        ? String.fromCharCode.apply(null, b.subarray(at, at + len) as unknown as number[])
        : latin.decode(b.subarray(at, at + len))
      : dec.decode(b.subarray(at, at + len));
  }
  return out;
}
