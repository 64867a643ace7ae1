// Reading a row/column subset of a matrix (CSR, CSC, dense) through
// RangeArrays, so only the planned ranges are read.
import {
  CscMatrix,
  CsrMatrix,
  DenseMatrix,
  type Matrix,
  type NumericArray,
  withIndicesChecked,
} from "../formats/anndata/matrix.ts";
import { CorruptFileError, ValidationError } from "../errors.ts";
import { planElements, planIndptr, spanList, type Spans } from "./plan.ts";
import { type PartWatch, type RangeArray, spans, watchFor } from "../formats/ranges.ts";
import { indexWatcher } from "../formats/anndata/_decode.ts";
import { canReadKept, readKept } from "./_kept.ts";
import { kept1 } from "../formats/_kept_filter.ts";
import { asFloat64, asInt32, sparseInts } from "../formats/_int64.ts";

/** A stored matrix, as arrays that can be read by range; `where` names it in messages. */
export type StoredMatrix =
  | { kind: "dense"; shape: [number, number]; values: RangeArray; where?: string }
  | {
    kind: "csr" | "csc";
    shape: [number, number];
    data: RangeArray;
    indices: RangeArray;
    indptr: RangeArray;
    /**
     * The whole indptr, already in memory (a backed matrix read again and
     * again keeps it): lines are planned from it without reading.
     */
    indptrValues?: Int32Array | Float64Array;
    where?: string;
  };

type TypedCtor = new (n: number) => NumericArray;

function like(a: NumericArray, n: number): NumericArray {
  return new (a.constructor as TypedCtor)(n);
}

/** Old index -> new index (or -1) for a selection of `n`. */
function remap(selected: ArrayLike<number>, n: number): Int32Array {
  const m = new Int32Array(n).fill(-1);
  for (let k = 0; k < selected.length; k++) m[selected[k]] = k;
  return m;
}

/**
 * Lines (rows of CSR, columns of CSC) of a compressed matrix, read by plan;
 * `checked`: the indices were all checked against the minor dimension as
 * they were read (where they were decoded, for a zarr store).
 */
async function readLines(
  src: Extract<StoredMatrix, { kind: "csr" | "csc" }>,
  lines: Uint32Array | undefined,
): Promise<
  { data: NumericArray; indices: NumericArray; indptr: Float64Array; checked: boolean }
> {
  const n = src.kind === "csr" ? src.shape[0] : src.shape[1];
  const watcher = indexWatcher(src.kind === "csr" ? src.shape[1] : src.shape[0]);
  // int32 and int64 indices are checked as they land (others where the matrix is built).
  const watch = watchFor(watcher.watch, src.indices.dtype);
  if (!lines) {
    const nnz = src.data.shape[0];
    const [data, indices, ptr] = await Promise.all([
      src.data.readRanges([[0, nnz]]),
      src.indices.readRanges([[0, nnz]], watch),
      src.indptr.readRanges([[0, n + 1]]),
    ]);
    const indptr = asFloat64(ptr);
    return { data, indices, indptr, checked: watcher.checked(indices) };
  }
  const { indptr, elements } = await planLines(src, lines);
  const [data, indices] = await Promise.all([
    readSpans(src.data, elements),
    readSpans(src.indices, elements, watch),
  ]);
  release(elements.starts, elements.ends);
  return { data, indices, indptr, checked: watcher.checked(indices) };
}

/** A CorruptFileError unless indptr's last entry `ends` is the data's length `nnz`. */
function checkEnd(where: string, ends: number, nnz: number): void {
  if (ends !== nnz) {
    throw new CorruptFileError(
      `${where}: indptr ends at ${ends}, not at ${nnz} entries: the file is damaged`,
    );
  }
}

/** indptr arrays whose last entry was checked against their data's length. */
const endChecked = new WeakSet<object>();

/**
 * Planned (plan.ts): the indptr entries of the lines' runs, then their
 * element spans and the compact indptr.
 */
async function planLines(
  src: Extract<StoredMatrix, { kind: "csr" | "csc" }>,
  lines: Uint32Array,
): Promise<{ indptr: Float64Array; elements: Spans }> {
  if (src.indptrValues) {
    const v = src.indptrValues;
    const whole = { starts: Float64Array.of(0), ends: Float64Array.of(v.length), n: 1 };
    return planElements(lines, whole, v, src.data.shape[0], src.where);
  }
  const runs = planIndptr(lines);
  // Dense lines (runs making up at least 1/32 of the span they cover): the
  // span read in one piece, where ~100,000 tiny pieces cost ~100 ms here.
  // Where the array is local and uncompressed (`readSpansInto`) its reader
  // merges nearby pieces a window at a time already, and the span whole is
  // held next to what a batch holds (every 10th line of a million: 4 MB,
  // and as much again as float64): there only spans at least half needed.
  let needed = 0;
  for (let k = 0; k < runs.n; k++) needed += runs.ends[k] - runs.starts[k];
  const first = runs.n ? runs.starts[0] : 0, last = runs.n ? runs.ends[runs.n - 1] : 0;
  const dense = src.indptr.readSpansInto ? 2 : 32;
  const ptrSpans = runs.n > 64 && last - first <= dense * needed
    ? { starts: Float64Array.of(first), ends: Float64Array.of(last), n: 1 }
    : runs;
  // Where indptr ends (the data's length) is checked once an array, as a
  // whole read does: a missing last chunk of a zarr indptr (zeros) would
  // otherwise read as empty lines.
  const nLines = src.kind === "csr" ? src.shape[0] : src.shape[1], nnz = src.data.shape[0];
  const covered = ptrSpans.n > 0 && ptrSpans.ends[ptrSpans.n - 1] === nLines + 1;
  const [ptr, end] = await Promise.all([
    readSpans(src.indptr, ptrSpans),
    covered || endChecked.has(src.indptr)
      ? undefined
      : src.indptr.readRanges([[nLines, nLines + 1]]),
  ]);
  const pv = ptr instanceof Int32Array ? ptr : asFloat64(ptr);
  checkEnd(
    src.where ?? "a sparse matrix",
    end ? asFloat64(end)[0] : covered ? pv[pv.length - 1] : nnz,
    nnz,
  );
  endChecked.add(src.indptr);
  const planned = planElements(lines, ptrSpans, pv, src.data.shape[0], src.where);
  release(runs.starts, runs.ends, pv === ptr ? undefined : pv);
  return planned;
}

/**
 * Lines with only the kept minor indices, read block by block (readKept):
 * all lines' indptr checked here, a selection's by its plan. Undefined
 * where readKept declines (read the lines whole and filter them).
 */
async function readLinesKept(
  src: Extract<StoredMatrix, { kind: "csr" | "csc" }>,
  lines: Uint32Array | undefined,
  keep: Int32Array,
): Promise<{ data: NumericArray; indices: Int32Array; indptr: Float64Array } | undefined> {
  const where = src.where ?? "a sparse matrix";
  if (lines) {
    const { indptr, elements } = await planLines(src, lines);
    const kept = await readKept(src.data, src.indices, elements, indptr, keep, where);
    release(elements.starts, elements.ends);
    return kept;
  }
  const n = src.kind === "csr" ? src.shape[0] : src.shape[1], nnz = src.data.shape[0];
  const raw = await src.indptr.readRanges([[0, n + 1]]);
  const indptr = asFloat64(raw);
  for (let i = 0; i <= n; i++) {
    if (i === 0 ? indptr[0] !== 0 : !(indptr[i] >= indptr[i - 1])) {
      throw new CorruptFileError(`${where}: indptr is ${indptr[i]} at ${i}: the file is damaged`);
    }
  }
  checkEnd(where, indptr[n], nnz);
  const all = { starts: Float64Array.of(0), ends: Float64Array.of(nnz), n: 1 };
  return await readKept(src.data, src.indices, all, indptr, keep, where);
}

/**
 * Give the memory of plan arrays that only we hold back now (detached)
 * rather than at the next collection, where it would sit next to the batch
 * being read (out-of-core batches: ~3 MB a 50k-row batch).
 */
function release(...arrays: (ArrayBufferView | undefined)[]): void {
  for (const a of arrays) (a?.buffer as ArrayBuffer | undefined)?.transfer?.(0);
}

/** `a.readSpans`, or `readRanges` of the same ranges. */
async function readSpans(
  a: RangeArray,
  { starts, ends, n }: Spans,
  watch?: PartWatch,
): Promise<NumericArray> {
  if (a.readSpans) return await a.readSpans(starts, ends, n, watch);
  return await a.readRanges(spanList({ starts, ends, n }), watch);
}

/** Keep only the entries whose minor index is selected (renumbered). */
function filterMinor(
  m: { data: NumericArray; indices: NumericArray; indptr: Float64Array },
  keep: Int32Array,
  where = "a sparse matrix",
): { data: NumericArray; indices: Int32Array; indptr: Float64Array } {
  // Monomorphic loops: indices as Int32Array (or exact doubles), values
  // moved as 32-bit words (their bits, whatever their type), so one loop
  // serves X's float32 and a layer's int32 alike.
  const ix = asInt32(m.indices) ?? asFloat64(m.indices);
  const w = m.data.BYTES_PER_ELEMENT / 4;
  const aligned = (w === 1 || w === 2) && m.data.byteOffset % 4 === 0;
  if (ix instanceof Int32Array && w === 1 && aligned && ix.length < 2 ** 31) {
    return filter32(ix, m.data, m.indptr, keep, where);
  }
  let nnz = 0;
  for (let i = 0; i < ix.length; i++) {
    const j = ix[i];
    if (!(j >= 0 && j < keep.length)) {
      throw new CorruptFileError(
        `${where}: index ${j} is outside 0..${keep.length - 1}: the file is damaged`,
      );
    }
    if (keep[j] >= 0) nnz++;
  }
  const data = like(m.data, nnz);
  const indices = new Int32Array(nnz);
  const indptr = new Float64Array(m.indptr.length);
  const src = aligned ? new Uint32Array(m.data.buffer, m.data.byteOffset, m.data.length * w) : null;
  const dst = aligned ? new Uint32Array(data.buffer, data.byteOffset, nnz * w) : null;
  let o = 0;
  for (let line = 0; line + 1 < m.indptr.length; line++) {
    const end = m.indptr[line + 1];
    for (let i = m.indptr[line]; i < end; i++) {
      const j = keep[ix[i]];
      if (j < 0) continue;
      if (w === 1 && dst) dst[o] = src![i];
      else if (w === 2 && dst) {
        dst[2 * o] = src![2 * i];
        dst[2 * o + 1] = src![2 * i + 1];
      } else {
        // deno-lint-ignore no-explicit-any
        (data as any)[o] = (m.data as any)[i];
      }
      indices[o++] = j;
    }
    indptr[line + 1] = o;
  }
  return { data, indices, indptr };
}

/**
 * `filterMinor` of 32-bit values and indices in one pass: checked, counted
 * and copied at once into buffers as long as the input (only the kept
 * prefix is ever touched), then cut to size.
 */
function filter32(
  ix: Int32Array,
  values: NumericArray,
  ptr: Float64Array,
  keep: Int32Array,
  where: string,
): { data: NumericArray; indices: Int32Array; indptr: Float64Array } {
  const n = ix.length, kl = keep.length;
  const src = new Uint32Array(values.buffer, values.byteOffset, n);
  const outW = new Uint32Array(n), outIx = new Int32Array(n);
  const indptr = new Float64Array(ptr.length);
  if (ptr[0] !== 0 || ptr[ptr.length - 1] !== n) {
    throw new CorruptFileError(
      `${where}: indptr runs ${ptr[0]}..${ptr[ptr.length - 1]}, not 0..${n}`,
    );
  }
  let o = 0;
  for (let line = 0; line + 1 < ptr.length; line++) {
    const start = ptr[line], end = ptr[line + 1];
    if (!(end >= start && end <= n)) {
      throw new CorruptFileError(`${where}: indptr decreases at ${line}: the file is damaged`);
    }
    // Without a branch on whether the column is kept (~1 in 10 is: a
    // branch mispredicts often): written always, kept by moving on.
    const got = kept1(ix, src, keep, outW, outIx, start | 0, end | 0, o);
    if (got < 0) {
      throw new CorruptFileError(
        `${where}: index ${ix[-1 - got]} is outside 0..${kl - 1}: the file is damaged`,
      );
    }
    o = got;
    indptr[line + 1] = o;
  }
  const data = like(values, o);
  new Uint32Array(data.buffer, data.byteOffset, o).set(outW.subarray(0, o));
  return { data, indices: outIx.slice(0, o), indptr };
}

/**
 * Indices or an indptr as int32 when every value fits, else wide (see
 * `sparseInts`: never wrapped or rounded into a valid value; the matrix
 * checks them).
 */
function int32(a: NumericArray | Float64Array): Int32Array | BigInt64Array {
  return asInt32(a) ?? sparseInts(a);
}

/**
 * The submatrix of `rows` x `cols` (ascending indices; undefined = all),
 * reading only what the selection needs: CSR rows through `indptr`, CSC
 * columns likewise, dense row blocks; the other axis is filtered after.
 */
export async function subsetMatrix(
  src: StoredMatrix,
  rows: Uint32Array | undefined,
  cols: Uint32Array | undefined,
): Promise<Matrix> {
  const [nRows, nCols] = src.shape;
  const outShape: [number, number] = [rows?.length ?? nRows, cols?.length ?? nCols];
  if (src.kind === "dense") {
    const r = rows ? spans(rows) : undefined;
    const block = r ? await readSpans(src.values, r) : await src.values.readRanges([[0, nRows]]);
    if (!cols) return new DenseMatrix(block, outShape, src.values.dtype);
    const out = like(block, outShape[0] * outShape[1]);
    for (let r = 0; r < outShape[0]; r++) {
      for (let c = 0; c < cols.length; c++) {
        // deno-lint-ignore no-explicit-any
        (out as any)[r * cols.length + c] = (block as any)[r * nCols + cols[c]];
      }
    }
    return new DenseMatrix(out, outShape, src.values.dtype);
  }
  const major = src.kind === "csr" ? rows : cols;
  const minor = src.kind === "csr" ? cols : rows;
  const nMinor = src.kind === "csr" ? nCols : nRows;
  let m, checked = false;
  if (minor && canReadKept(src.data, src.indices)) {
    m = await readLinesKept(src, major, remap(minor, nMinor));
  }
  if (!m) {
    const read = await readLines(src, major);
    checked = !minor && read.checked;
    m = minor ? filterMinor(read, remap(minor, nMinor), src.where) : read;
  }
  const Cls = src.kind === "csr" ? CsrMatrix : CscMatrix;
  const make = () => new Cls(m.data, int32(m.indices), int32(m.indptr), outShape, src.data.dtype);
  try {
    // Indices checked as they were read are not checked again here.
    return checked ? withIndicesChecked(make) : make();
  } catch (e) {
    // What the file holds breaks the matrix's invariants (checked as built).
    if (!(e instanceof ValidationError)) throw e;
    throw new CorruptFileError(`${src.where ?? "a sparse matrix"}: ${e.message}`, { cause: e });
  }
}

/** Rows of a 1-D or 2-D array (e.g. an obsm entry), read by range. */
export async function subsetRows(
  a: RangeArray,
  rows: Uint32Array | undefined,
): Promise<NumericArray> {
  if (!rows) return await a.readRanges([[0, a.shape[0]]]);
  const r = spans(rows);
  return await readSpans(a, r);
}
