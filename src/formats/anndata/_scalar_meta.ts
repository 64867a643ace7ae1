// The numpy dtype of each number read from a 0-d dataset of a dict in uns
// (an int8, a float32, a uint64...): JS numbers have no width, so it is kept
// beside the very object that was read, and writing that object back stores
// each number that still fits with the dtype it had (others as int64 or
// float64, as for any number).
import type { Dtype, NumericArray } from "./matrix.ts";

const kept = new WeakMap<object, Map<string, Dtype>>();

/** Remember that `dict[key]` was read from a 0-d dataset of `dtype`. */
export function keepScalarType(dict: object, key: string, dtype: Dtype): void {
  let m = kept.get(dict);
  if (!m) kept.set(dict, m = new Map());
  m.set(key, dtype);
}

/**
 * `v` as a one-element array of the dtype `dict[key]` was read with, when
 * one was kept and `v` is exactly representable in it; else undefined.
 */
export function keptScalar(dict: object, key: string, v: number): NumericArray | undefined {
  const dtype = kept.get(dict)?.get(key);
  switch (dtype) {
    case "float32":
      return Number.isNaN(v) || Math.fround(v) === v ? Float32Array.of(v) : undefined;
    case "int8":
      return exact(Int8Array.of(v), v);
    case "int16":
      return exact(Int16Array.of(v), v);
    case "int32":
      return exact(Int32Array.of(v), v);
    case "uint8":
      return exact(Uint8Array.of(v), v);
    case "uint16":
      return exact(Uint16Array.of(v), v);
    case "uint32":
      return exact(Uint32Array.of(v), v);
    case "uint64":
      return Number.isSafeInteger(v) && v >= 0 ? BigUint64Array.of(BigInt(v)) : undefined;
  }
  return undefined;
}

function exact<
  T extends Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array,
>(
  a: T,
  v: number,
): T | undefined {
  return a[0] === v ? a : undefined;
}
