// Decoding raw HDF5 element bytes: numbers into typed arrays, booleans,
// fixed-length strings, and variable-length strings from global heap
// collections.
import { UnsupportedFormatError } from "../../errors.ts";
import type { Dtype, NumericArray } from "../anndata/matrix.ts";
import { type DType, sizeOf } from "./_parse.ts";
import { type Heaps, vstrings } from "./_vstrings.ts";

/** Decoded values of a dataset or attribute. */
export type H5Values =
  | { kind: "number"; data: NumericArray; dtype: Dtype }
  | { kind: "bool"; data: Uint8Array }
  | { kind: "string"; data: string[] };

const dec = new TextDecoder();

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

/** Decode `n` elements of raw bytes; `heaps` gives global heap collections by address. */
export async function decodeValues(
  type: DType,
  raw: Uint8Array,
  n: number,
  label: string,
  heaps: Heaps,
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
    return { kind: "string", data: await vstrings(raw, n, label, heaps) };
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
