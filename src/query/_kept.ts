// Lines of a compressed matrix (CSR rows, CSC columns) with only the kept
// minor indices, read block by block: each block's indices and values land
// in two reused buffers and only the kept entries are copied out. A
// `subsetVar` of 10% then never materializes the other 90% (no fresh memory
// to fault in, no array as long as the selection for the garbage collector).
import { CorruptFileError } from "../errors.ts";
import { allocate, type NumericArray } from "../formats/anndata/matrix.ts";
import type { RangeArray } from "../formats/ranges.ts";
import type { Spans } from "./plan.ts";
import { largeArray } from "../formats/_memory.ts";

/** Elements per window: 256 KiB of indices, the reader's largest synchronous read. */
const BLOCK = 1 << 16;
/** Spans at most this many elements apart share a window (8 KiB of indices). */
const GAP = 2048;

/** Whether `readKept` can read these arrays (uncompressed, int32 indices, 4- or 8-byte values). */
export function canReadKept(data: RangeArray, indices: RangeArray): boolean {
  const size = allocate(data.dtype, 0).BYTES_PER_ELEMENT;
  return !!data.readSpansInto && !!indices.readSpansInto && indices.dtype === "int32" &&
    (size === 4 || size === 8);
}

/**
 * The entries of the element `spans` (in order; line `l` holds compact
 * elements `indptr[l]..indptr[l + 1]`) whose index `j` has `keep[j] >= 0`,
 * renumbered to `keep[j]`, with the new indptr.
 */
export async function readKept(
  data: RangeArray,
  indices: RangeArray,
  spans: Spans,
  indptr: Float64Array,
  keep: Int32Array,
  where: string,
): Promise<{ data: NumericArray; indices: Int32Array; indptr: Float64Array }> {
  const w = allocate(data.dtype, 0).BYTES_PER_ELEMENT / 4;
  const lines = indptr.length - 1, total = indptr[lines];
  const ixBuf = new Uint8Array(BLOCK * 4), valBuf = new Uint8Array(BLOCK * 4 * w);
  const ix = new Int32Array(ixBuf.buffer), val = new Uint32Array(valBuf.buffer);
  const one = [new Float64Array(1), new Float64Array(1)];
  let outV = new Uint32Array(Math.min(total, BLOCK) * w), outIx = new Int32Array(outV.length / w);
  const ptr = new Float64Array(lines + 1);
  const state = { o: 0, line: 0 };
  let g = 0; // compact position of the next span's first element
  let rest = -1; // where span k resumes, when a window ended inside it
  for (let k = 0; k < spans.n;) {
    // A window: spans `k..` at most GAP elements apart, within BLOCK elements
    // of file order, read as one range (the gaps are read and skipped: a
    // read costs more than a few KiB of page cache), then filtered span by span.
    const w0 = rest >= 0 ? rest : spans.starts[k];
    let w1 = Math.min(spans.ends[k], w0 + BLOCK), j = k + 1;
    if (w1 === spans.ends[k]) {
      while (
        j < spans.n && spans.starts[j] - w1 <= GAP && spans.ends[j] - w0 <= BLOCK
      ) w1 = spans.ends[j++];
    }
    one[0][0] = w0;
    one[1][0] = w1;
    await Promise.all([
      indices.readSpansInto!(one[0], one[1], 1, ixBuf),
      data.readSpansInto!(one[0], one[1], 1, valBuf),
    ]);
    const len = w1 - w0;
    if (outIx.length < Math.min(total, state.o + len)) {
      // Room for the whole window (kept or not), grown by doubling.
      const cap = Math.min(total, Math.max(2 * outIx.length, state.o + len));
      const v = largeArray(Uint32Array, cap * w), x = largeArray(Int32Array, cap);
      v.set(outV.subarray(0, state.o * w));
      x.set(outIx.subarray(0, state.o));
      [outV, outIx] = [v, x];
    }
    for (let q = k; q < j; q++) {
      const s = q === k ? w0 : spans.starts[q], e = q === j - 1 ? w1 : spans.ends[q];
      filterBlock(ix, val, s - w0, e - s, g, indptr, keep, outV, outIx, ptr, state, w, where);
      g += e - s;
    }
    if (w1 < spans.ends[k]) rest = w1; // a long span: its rest next
    else [k, rest] = [j, -1];
  }
  if (g !== total) {
    throw new CorruptFileError(`${where}: indptr claims ${total} entries, the spans hold ${g}`);
  }
  let { o, line } = state;
  while (line < lines) ptr[++line] = o;
  const values = allocate(data.dtype, o);
  new Uint32Array(values.buffer, values.byteOffset, o * w).set(outV.subarray(0, o * w));
  return { data: values, indices: outIx.slice(0, o), indptr: ptr };
}

/**
 * One block's entries, line by line, appended to `outV`/`outIx` from `o`
 * on (room for `len` more), without a branch per entry on whether it is
 * kept (written always, kept by moving on). Synchronous, so the hot loop is
 * optimized once and not resumed after an await.
 */
function filterBlock(
  ix: Int32Array,
  val: Uint32Array,
  from: number,
  len: number,
  g0: number,
  indptr: Float64Array,
  keep: Int32Array,
  outV: Uint32Array,
  outIx: Int32Array,
  ptr: Float64Array,
  state: { o: number; line: number },
  w: number,
  where: string,
): void {
  // Small integers throughout (positions in the window and the output):
  // doubles as typed-array indices cost a conversion per access.
  const lines = indptr.length - 1, kl = keep.length | 0, base = from | 0, n = len | 0;
  let o = state.o | 0, line = state.line;
  for (let i = 0; i < n;) {
    while (line < lines && indptr[line + 1] <= g0 + i) ptr[++line] = o;
    const stop = Math.min(n, indptr[line + 1] - g0) | 0;
    if (!(stop > i)) throw new CorruptFileError(`${where}: indptr disagrees with its entries`);
    if (w === 1) {
      for (let x = (base + i) | 0, end = (base + stop) | 0; x < end; x++) {
        const j = ix[x];
        if ((j >>> 0) >= kl) throw outside(where, j, kl);
        const t = keep[j];
        outV[o] = val[x];
        outIx[o] = t;
        o += ~t >>> 31;
      }
    } else {
      for (let x = (base + i) | 0, end = (base + stop) | 0; x < end; x++) {
        const j = ix[x];
        if ((j >>> 0) >= kl) throw outside(where, j, kl);
        const t = keep[j];
        outV[2 * o] = val[2 * x];
        outV[2 * o + 1] = val[2 * x + 1];
        outIx[o] = t;
        o += ~t >>> 31;
      }
    }
    i = stop;
  }
  state.o = o;
  state.line = line;
}

function outside(where: string, j: number, kl: number): CorruptFileError {
  return new CorruptFileError(`${where}: index ${j} is outside 0..${kl - 1}: the file is damaged`);
}
