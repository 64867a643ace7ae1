// In-memory matrices of AnnData: dense (row-major), CSR and CSC.
import { kindOf } from "../../_display.ts";
import { ValidationError } from "../../errors.ts";
import { decreasing64, outside64 } from "../_int64.ts";
import { wasmOutside32 } from "../_blosc.ts";

/** A typed array holding matrix values. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** numpy-style dtype names. */
export type Dtype =
  | "float32"
  | "float64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "bool";

const NUMERIC_DTYPES: ReadonlySet<string> = new Set([
  "float32",
  "float64",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
]);

/** `name` when it is a numeric dtype (`"int16"`, `"float64"`, ...; not `"bool"`), else undefined. */
export function numericDtype(name: string): Dtype | undefined {
  return NUMERIC_DTYPES.has(name) ? name as Dtype : undefined;
}

/** The dtype of a typed array (Uint8Array is `uint8`; booleans are flagged separately). */
export function dtypeOf(a: NumericArray): Dtype {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint16Array) return "uint16";
  if (a instanceof Uint32Array) return "uint32";
  if (a instanceof BigUint64Array) return "uint64";
  return "uint8";
}

const TYPED_ARRAYS = [
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  BigInt64Array,
  Uint8Array,
  Uint16Array,
  Uint32Array,
  BigUint64Array,
];

/**
 * The dtype of a matrix's values: `data`'s own, or `dtype` when it names
 * that (or `"bool"` for bytes). `ValidationError` for values of another
 * kind (a Float16Array, a plain array) or a dtype that does not describe
 * them (a Float64Array called "float32" would be written as garbage).
 */
function checkedDtype(data: NumericArray, dtype?: Dtype): Dtype {
  if (!TYPED_ARRAYS.some((T) => data instanceof T)) {
    const clamped = data instanceof Uint8ClampedArray
      ? "; wrap a Uint8ClampedArray's bytes as new Uint8Array(data.buffer, data.byteOffset, data.length)"
      : "";
    throw new ValidationError(
      `matrix values must be a typed array of a dtype anndata writes (Float32Array, ` +
        `Float64Array, Int8/16/32Array, BigInt64Array, Uint8/16/32Array or BigUint64Array), ` +
        `got ${kindOf(data)}${clamped}`,
    );
  }
  const own = dtypeOf(data);
  if (dtype === undefined || dtype === own) return own;
  if (dtype === "bool" && own === "uint8") return dtype;
  throw new ValidationError(
    `matrix values are a ${data.constructor.name} (${own}), but dtype "${dtype}" was given: ` +
      `leave dtype out, or convert the values`,
  );
}

/**
 * Add `v` at `at` of a dense output (a sparse matrix may list a position
 * more than once: scipy sums them; booleans: true if any is).
 */
function add(out: NumericArray, at: number, v: number | bigint, big: boolean, bool: boolean) {
  if (big) (out as BigInt64Array)[at] += BigInt(v);
  else if (bool) out[at] = out[at] || Number(v) ? 1 : 0;
  else (out as Float64Array)[at] += Number(v);
}

/** A new zeroed typed array of a dtype. */
export function allocate(dtype: Dtype, n: number): NumericArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int8":
      return new Int8Array(n);
    case "int16":
      return new Int16Array(n);
    case "int32":
      return new Int32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "uint16":
      return new Uint16Array(n);
    case "uint32":
      return new Uint32Array(n);
    case "uint64":
      return new BigUint64Array(n);
    default:
      return new Uint8Array(n);
  }
}

function checkShape(shape: unknown): [number, number] {
  if (
    !Array.isArray(shape) || shape.length !== 2 ||
    !shape.every((n) => Number.isSafeInteger(n) && n >= 0)
  ) {
    const got = Array.isArray(shape)
      ? `[${shape.map((n) => typeof n === "number" ? String(n) : kindOf(n)).join(", ")}]`
      : kindOf(shape);
    throw new ValidationError(
      `a matrix shape is [rows, cols] of whole numbers >= 0 (at most 2^53 - 1), got ${got}`,
    );
  }
  return [shape[0], shape[1]];
}

/**
 * A dense 2-D matrix, row-major.
 *
 * @example
 * ```ts
 * import { DenseMatrix } from "@lamindeno/lamindb";
 * const m = new DenseMatrix(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * console.assert(m.get(1, 2) === 6 && m.dtype === "float32");
 * ```
 */
export class DenseMatrix {
  /** Values, row-major. */
  readonly data: NumericArray;
  /** `[rows, cols]`. */
  readonly shape: [number, number];
  /** numpy-style dtype; `"bool"` when the values are booleans stored as 0/1 bytes. */
  readonly dtype: Dtype;

  /** Wrap row-major `data` of `shape` (lengths must agree). */
  constructor(data: NumericArray, shape: [number, number], dtype?: Dtype) {
    this.dtype = checkedDtype(data, dtype);
    this.shape = checkShape(shape);
    if (data.length !== this.shape[0] * this.shape[1]) {
      throw new ValidationError(
        `dense matrix data has ${data.length} values, shape ${shape} needs ${
          this.shape[0] * this.shape[1]
        }`,
      );
    }
    this.data = data;
  }
  /** The value at row `i`, column `j`. */
  get(i: number, j: number): number | bigint {
    return this.data[i * this.shape[1] + j];
  }
  /** Itself. */
  toDense(): DenseMatrix {
    return this;
  }
}

/**
 * A compressed sparse row matrix (scipy's `csr_matrix` layout).
 *
 * @example
 * ```ts
 * import { CsrMatrix } from "@lamindeno/lamindb";
 * const m = new CsrMatrix(new Float32Array([1, 2]), new Int32Array([0, 2]), new Int32Array([0, 1, 2]), [2, 3]);
 * console.assert(m.toDense().get(1, 2) === 2);
 * ```
 */
export class CsrMatrix {
  /** Non-zero values. */
  readonly data: NumericArray;
  /** Column index of each value. */
  readonly indices: Int32Array | BigInt64Array;
  /** Row `i`'s values are `data[indptr[i]..indptr[i+1]]`. */
  readonly indptr: Int32Array | BigInt64Array;
  /** `[rows, cols]`. */
  readonly shape: [number, number];
  /** numpy-style dtype of `data`. */
  readonly dtype: Dtype;

  /** Wrap CSR arrays. */
  constructor(
    data: NumericArray,
    indices: Int32Array | BigInt64Array,
    indptr: Int32Array | BigInt64Array,
    shape: [number, number],
    dtype?: Dtype,
  ) {
    this.dtype = checkedDtype(data, dtype);
    this.shape = checkShape(shape);
    checkCompressed("CSR", data, indices, indptr, this.shape[0], this.shape[1]);
    this.data = data;
    this.indices = indices;
    this.indptr = indptr;
  }
  /** Number of stored values. */
  get nnz(): number {
    return this.data.length;
  }
  /** A dense copy. */
  toDense(): DenseMatrix {
    const [n, m] = this.shape;
    const out = allocate(this.dtype, n * m);
    const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let i = 0; i < n; i++) {
      for (let k = Number(this.indptr[i]); k < Number(this.indptr[i + 1]); k++) {
        const v = this.data[k];
        add(out, i * m + Number(this.indices[k]), v, big, this.dtype === "bool");
      }
    }
    return new DenseMatrix(out, this.shape, this.dtype);
  }
}

/**
 * A compressed sparse column matrix (scipy's `csc_matrix` layout).
 *
 * @example
 * ```ts
 * import { CscMatrix } from "@lamindeno/lamindb";
 * const m = new CscMatrix(new Float32Array([1, 2]), new Int32Array([0, 1]), new Int32Array([0, 1, 1, 2]), [2, 3]);
 * console.assert(m.toDense().get(1, 2) === 2);
 * ```
 */
export class CscMatrix {
  /** Non-zero values. */
  readonly data: NumericArray;
  /** Row index of each value. */
  readonly indices: Int32Array | BigInt64Array;
  /** Column `j`'s values are `data[indptr[j]..indptr[j+1]]`. */
  readonly indptr: Int32Array | BigInt64Array;
  /** `[rows, cols]`. */
  readonly shape: [number, number];
  /** numpy-style dtype of `data`. */
  readonly dtype: Dtype;

  /** Wrap CSC arrays. */
  constructor(
    data: NumericArray,
    indices: Int32Array | BigInt64Array,
    indptr: Int32Array | BigInt64Array,
    shape: [number, number],
    dtype?: Dtype,
  ) {
    this.dtype = checkedDtype(data, dtype);
    this.shape = checkShape(shape);
    checkCompressed("CSC", data, indices, indptr, this.shape[1], this.shape[0]);
    this.data = data;
    this.indices = indices;
    this.indptr = indptr;
  }
  /** Number of stored values. */
  get nnz(): number {
    return this.data.length;
  }
  /** A dense copy. */
  toDense(): DenseMatrix {
    const [n, m] = this.shape;
    const out = allocate(this.dtype, n * m);
    const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let j = 0; j < m; j++) {
      for (let k = Number(this.indptr[j]); k < Number(this.indptr[j + 1]); k++) {
        const v = this.data[k];
        add(out, Number(this.indices[k]) * m + j, v, big, this.dtype === "bool");
      }
    }
    return new DenseMatrix(out, this.shape, this.dtype);
  }
}

/**
 * The invariants of CSR/CSC arrays, so `toDense()` and lookups never drop
 * or misplace an entry: lengths agree, `indptr` starts at 0, never
 * decreases and ends at nnz, every index lies in `[0, minor)`.
 */
function checkCompressed(
  what: string,
  data: NumericArray,
  indices: ArrayLike<number | bigint>,
  indptr: ArrayLike<number | bigint>,
  major: number,
  minor: number,
): void {
  // The types too (TypeScript's say so, but a caller may not be checked):
  // a Uint32Array or Float64Array of indices was written as int64 bytes it
  // is not, and Python crashed reading the file.
  for (const [name, a] of [["indices", indices], ["indptr", indptr]] as const) {
    if (!(a instanceof Int32Array || a instanceof BigInt64Array)) {
      throw new ValidationError(
        `${what}: ${name} is an Int32Array or a BigInt64Array, got ${kindOf(a)}; ` +
          `convert it (e.g. Int32Array.from(${name}))`,
      );
    }
  }
  if (indices.length !== data.length) {
    throw new ValidationError(
      `${what}: indices (${indices.length}) and data (${data.length}) differ in length`,
    );
  }
  if (indptr.length !== major + 1) {
    throw new ValidationError(
      `${what}: indptr has ${indptr.length} entries, expected ${major + 1}`,
    );
  }
  if (major >= 0 && indptr.length > 0 && Number(indptr[indptr.length - 1]) !== data.length) {
    throw new ValidationError(
      `${what}: indptr ends at ${indptr[indptr.length - 1]}, data has ${data.length}`,
    );
  }
  if (indptr.length > 0 && Number(indptr[0]) !== 0) {
    throw new ValidationError(`${what}: indptr starts at ${indptr[0]}, not 0`);
  }
  const dec = indptr instanceof Int32Array
    ? decreasing32(indptr)
    : indptr instanceof BigInt64Array || indptr instanceof BigUint64Array
    ? decreasing64(indptr)
    : decreasing(indptr);
  if (dec >= 0) {
    throw new ValidationError(
      `${what}: indptr decreases at ${dec - 1} (${indptr[dec - 1]} then ${indptr[dec]})`,
    );
  }
  const bad = indicesChecked
    ? -1
    : indices instanceof Int32Array
    ? outside32(indices, minor)
    : indices instanceof BigInt64Array || indices instanceof BigUint64Array
    ? outside64(indices, minor)
    : outside(indices, minor);
  if (bad >= 0) {
    throw new ValidationError(
      `${what}: index ${indices[bad]} at entry ${bad} is outside 0..${minor - 1}`,
    );
  }
}

// Monomorphic checks (one typed array type each): 4-5x faster than one
// loop over ArrayLike<number | bigint> that has seen both.

/** The first `i` with `a[i] < a[i - 1]`, or -1. */
function decreasing32(a: Int32Array): number {
  for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return i;
  return -1;
}

function decreasing(a: ArrayLike<number | bigint>): number {
  for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) return i;
  return -1;
}

let indicesChecked = false;

/**
 * @internal `make()` with the bounds check of sparse indices off: for a
 * reader that checked them (with {@linkcode outside32}) as they were read.
 */
export function withIndicesChecked<T>(make: () => T): T {
  indicesChecked = true;
  try {
    return make();
  } finally {
    indicesChecked = false;
  }
}

/** @internal The first `k` with `a[k]` outside `[0, n)`, or -1. */
export function outside32(a: Int32Array, n: number): number {
  // Blocks OR-ed without a branch (a sign bit says one is outside), then
  // the block searched: ~1.4x a loop with two comparisons an element.
  if (!(n > 0)) return a.length ? 0 : -1;
  // Large arrays with SIMD in the WebAssembly decoder's memory (~0.6 ns a
  // value, copy included, against ~1.5 here).
  const simd = a.length >= 1 << 16 ? wasmOutside32(a, n) : undefined;
  if (simd !== undefined) return simd;
  const m = Math.min(n, 2 ** 31), last = m - 1, len = a.length;
  for (let s = 0; s < len; s += 4096) {
    const e = Math.min(len, s + 4096);
    let acc = 0;
    for (let k = s; k < e; k++) {
      const j = a[k];
      acc |= j | (last - j);
    }
    if (acc < 0) { for (let k = s; k < e; k++) if ((a[k] >>> 0) >= m) return k; }
  }
  return -1;
}

function outside(a: ArrayLike<number | bigint>, n: number): number {
  for (let k = 0; k < a.length; k++) {
    const j = Number(a[k]);
    if (!(j >= 0 && j < n)) return k;
  }
  return -1;
}

/** Any matrix AnnData holds. */
export type Matrix = DenseMatrix | CsrMatrix | CscMatrix;

/** @internal Whether `x` is one of the matrix classes. */
export function isMatrix(x: unknown): x is Matrix {
  return x instanceof DenseMatrix || x instanceof CsrMatrix || x instanceof CscMatrix;
}
