// Typed arrays of 64-bit integers (h5py and zarr write int64 indptr and
// indices for large matrices, and scanpy often does for any) turned into
// the int32 and float64 arrays the readers work with, through their 32-bit
// words: `Int32Array.from(big, Number)` calls a function and makes a
// BigInt per element (~80 ms a million; this ~2 ms).
import { ValidationError } from "../errors.ts";
import type { NumericArray } from "./anndata/matrix.ts";

/** Whether this machine stores integers little-endian (every one Deno runs on). */
const LITTLE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The (low, high) 32-bit words of each element of a 64-bit integer array. */
function words(a: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length * 2);
}

/**
 * `a` as float64: itself when it is one, else a new array of its values
 * (64-bit integers exact up to 2^53, rounded beyond, as `Number` does).
 */
export function asFloat64(a: NumericArray | Float64Array): Float64Array {
  if (a instanceof Float64Array) return a;
  if (!(a instanceof BigInt64Array || a instanceof BigUint64Array)) return new Float64Array(a);
  const out = new Float64Array(a.length);
  if (!LITTLE) {
    for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
    return out;
  }
  const w = words(a), signed = a instanceof BigInt64Array;
  for (let i = 0; i < out.length; i++) {
    const hi = w[2 * i + 1];
    out[i] = (signed ? hi : hi >>> 0) * 4294967296 + (w[2 * i] >>> 0);
  }
  return out;
}

/**
 * `a` as int32: itself when it is one, else a new array of its values when
 * every one fits in an int32; undefined when one does not (the caller keeps
 * the wide array: nothing is wrapped around).
 */
export function asInt32(a: NumericArray): Int32Array | undefined {
  if (a instanceof Int32Array) return a;
  const out = new Int32Array(a.length);
  if ((a instanceof BigInt64Array || a instanceof BigUint64Array) && LITTLE) {
    const w = words(a), signed = a instanceof BigInt64Array;
    let bad = 0;
    for (let i = 0; i < out.length; i++) {
      const lo = w[2 * i], hi = w[2 * i + 1];
      // Fits: the high word is the low word's sign (for uint64: both non-negative).
      bad |= signed ? hi ^ (lo >> 31) : hi | (lo >>> 31);
      out[i] = lo;
    }
    return bad === 0 ? out : undefined;
  }
  for (let i = 0; i < out.length; i++) {
    const v = Number(a[i]);
    if (!(v === (v | 0))) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * The first `k` with `a[k]` outside `[0, n)`, or -1 (`n` up to 2^31): the
 * check of a sparse matrix's int64 indices, on their words.
 */
export function outside64(a: BigInt64Array | BigUint64Array, n: number): number {
  if (!LITTLE || !(n <= 2 ** 31)) {
    for (let k = 0; k < a.length; k++) {
      const j = Number(a[k]);
      if (!(j >= 0 && j < n)) return k;
    }
    return -1;
  }
  if (!(n > 0)) return a.length ? 0 : -1;
  const w = words(a), len = a.length, end = len - (len % 4);
  // Blocks of four at a time: their high words OR-ed (0: each value in
  // [0, 2^32)), and their largest taken as float64s: a value below 2^32 is a
  // positive subnormal double whose order is the integer's, so `[0, n)`
  // holds when the high words are 0 and the largest is below `n`'s double
  // (~1.8 ns a value against ~3.4 for words compared as integers). A block
  // that fails is searched value by value.
  const f = new Float64Array(a.buffer, a.byteOffset, len);
  const bound = new Float64Array(BigInt64Array.of(BigInt(n)).buffer)[0];
  for (let s = 0; s < len; s += 4096) {
    const e = Math.min(end, s + 4096);
    let top = 0, high = 0, k = s;
    for (; k < e; k += 4) {
      const f0 = f[k], f1 = f[k + 1], f2 = f[k + 2], f3 = f[k + 3];
      const m0 = f0 > f1 ? f0 : f1, m1 = f2 > f3 ? f2 : f3;
      const m = m0 > m1 ? m0 : m1;
      top = m > top ? m : top;
      const j = 2 * k + 1;
      high |= w[j] | w[j + 2] | w[j + 4] | w[j + 6];
    }
    // The last (len % 4) values, in the last block.
    for (; k < Math.min(len, s + 4096); k++) {
      top = f[k] > top ? f[k] : top;
      high |= w[2 * k + 1];
    }
    if (high === 0 && top < bound) continue;
    const last = n - 1;
    for (k = s; k < Math.min(len, s + 4096); k++) {
      const lo = w[2 * k];
      if (w[2 * k + 1] !== 0 || (lo | (last - lo)) < 0) return k;
    }
  }
  return -1;
}

/** The first `i` with `a[i] < a[i - 1]`, or -1: an int64 indptr's order, on its words. */
export function decreasing64(a: BigInt64Array | BigUint64Array): number {
  if (!LITTLE) {
    for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return i;
    return -1;
  }
  const w = words(a), signed = a instanceof BigInt64Array;
  let prev = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const hi = w[2 * i + 1], lo = w[2 * i] >>> 0;
    // Exact below 2^53; beyond, equal doubles are compared as words.
    const v = (signed ? hi : hi >>> 0) * 4294967296 + lo;
    if (v < prev) return i;
    if (v === prev && v >= 2 ** 53 && a[i] < a[i - 1]) return i;
    prev = v;
  }
  return -1;
}

/**
 * Sparse indices or an indptr as a matrix holds them: int32 and int64 as
 * they are, uint64 as int64 over the same bytes (a value past 2^63 turns
 * negative and is refused where the matrix is checked, never rounded into
 * a valid one), any other type as int32 when every value fits, else as
 * int64; values that are not whole numbers are a `ValidationError`.
 */
export function sparseInts(a: NumericArray | Float64Array): Int32Array | BigInt64Array {
  if (a instanceof Int32Array || a instanceof BigInt64Array) return a;
  if (a instanceof BigUint64Array) return new BigInt64Array(a.buffer, a.byteOffset, a.length);
  const narrow = asInt32(a);
  if (narrow) return narrow;
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = Number(a[i]);
    if (!Number.isSafeInteger(v)) {
      throw new ValidationError(`entry ${i} is ${v}, not a whole number an index can be`);
    }
    out[i] = BigInt(v);
  }
  return out;
}
