// What a dict read from uns was beside its values. The numpy dtype of each
// number read from a 0-d dataset of a dict in uns
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

/** Integer dtypes up to 32 bits, by name: a value fits when it survives the store. */
const SMALL_INTS = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
} as const;

/**
 * `v` as a one-element array of the dtype `dict[key]` was read with, when
 * one was kept and `v` is exactly representable in it; else undefined.
 */
export function keptScalar(
  dict: object,
  key: string,
  v: number | bigint,
): NumericArray | undefined {
  const dtype = kept.get(dict)?.get(key);
  if (typeof v === "bigint") {
    // A uint64 past 2^53 (read as a bigint) stays one (int64 holds it too).
    return dtype === "uint64" && v >= 0n && v < 2n ** 64n ? BigUint64Array.of(v) : undefined;
  }
  // A float64 holding a whole number (Python's 1.0, a resolution): a JS
  // number cannot say so itself, and whole numbers are written as int64.
  if (dtype === "float64") return Float64Array.of(v);
  if (dtype === "float32") {
    return Number.isNaN(v) || Math.fround(v) === v ? Float32Array.of(v) : undefined;
  }
  if (dtype === "uint64") {
    return Number.isSafeInteger(v) && v >= 0 ? BigUint64Array.of(BigInt(v)) : undefined;
  }
  if (dtype && dtype in SMALL_INTS) {
    const a = SMALL_INTS[dtype as keyof typeof SMALL_INTS].of(v);
    return a[0] === v ? a : undefined;
  }
  return undefined;
}

const records = new WeakSet<object>();

/** Remember that `dict` was read from an array of records (anndata's rec-array), one entry a field. */
export function keepRecords(dict: object): void {
  records.add(dict);
}

/** Whether `dict` was read from an array of records (see `keepRecords`). */
export function wasRecords(dict: object): boolean {
  return records.has(dict);
}

const shapes = new WeakMap<object, number[]>();

/** Remember the shape (of 3 or more dimensions) of the row-major values `a` read from uns. */
export function keepShape(a: object, shape: number[]): void {
  shapes.set(a, [...shape]);
}

/** The shape kept for `a` (see `keepShape`) while it still has that many values. */
export function keptShape(a: NumericArray): number[] | undefined {
  const s = shapes.get(a);
  return s && s.reduce((x, y) => x * y, 1) === a.length ? s : undefined;
}
