// Lines of a compressed matrix (CSR rows, CSC columns) with only the kept
// minor indices, read block by block: each block's indices and values land
// in two reused buffers and only the kept entries are copied out. A
// `subsetVar` of 10% then never materializes the other 90% (no fresh memory
// to fault in, no array as long as the selection for the garbage collector).
import { CorruptFileError } from "../errors.ts";
import { allocate, type Dtype, type NumericArray } from "../formats/anndata/matrix.ts";
import type { RangeArray } from "../formats/ranges.ts";
import type { Spans } from "./plan.ts";
import { largeArray } from "../formats/_memory.ts";
import { type KeptEntries, keptEntries } from "../formats/_kept_filter.ts";
import { keptOnPool } from "../formats/hdf5/_unfilter_pool.ts";

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
  // A large read of local uncompressed files: shares of the lines read and
  // filtered on the decoding workers at once (this thread only joins them).
  if (total >= PARALLEL_ENTRIES && lines > 1) {
    const [ix, val] = await Promise.all([indices.localExtent?.(), data.localExtent?.()]);
    if (ix && val && ix.itemsize === 4 && val.itemsize === 4 * w) {
      const got = await keptOnPool(
        shareLines(spans, indptr, SHARES, where).map((part) => ({
          ix,
          val,
          size: Math.min(indices.shape[0], data.shape[0]),
          w,
          spans: part.spans,
          indptr: part.indptr,
          keep,
          where,
        })),
      );
      if (got) {
        keptStats.parallel++;
        return joined(got, data.dtype, lines);
      }
    }
  }
  const it = keptEntries(spans, indptr, keep, w, where);
  const one = [new Float64Array(1), new Float64Array(1)];
  for (let r = it.next();; r = it.next()) {
    if (r.done) return joined([r.value], data.dtype, lines);
    one[0][0] = r.value.w0;
    one[1][0] = r.value.w1;
    await Promise.all([
      indices.readSpansInto!(one[0], one[1], 1, r.value.ixBuf),
      data.readSpansInto!(one[0], one[1], 1, r.value.valBuf),
    ]);
  }
}

/** Entries at least this many: read on the workers (see readKept). */
let PARALLEL_ENTRIES = 1 << 20;
/** How many reads went to the workers (tests). */
export const keptStats = { parallel: 0 };

/**
 * @internal Tests: read on the workers from `entries` entries on
 * (`Infinity`: never); returns the previous bound.
 */
export function keptOnWorkersFrom(entries: number): number {
  const was = PARALLEL_ENTRIES;
  PARALLEL_ENTRIES = entries;
  return was;
}
/** Shares of the lines (several per worker: one slowed down does less). */
const SHARES = 8;

/** Shares' kept entries (in line order) as one matrix's data, indices and indptr. */
function joined(
  parts: KeptEntries[],
  dtype: Dtype,
  lines: number,
): { data: NumericArray; indices: Int32Array; indptr: Float64Array } {
  let o = 0;
  for (const p of parts) o += p.indices.length;
  const values = allocate(dtype, o);
  const words = new Uint32Array(values.buffer, values.byteOffset, values.byteLength / 4);
  const w = values.BYTES_PER_ELEMENT / 4;
  const ix = largeArray(Int32Array, o);
  const ptr = new Float64Array(lines + 1);
  let at = 0, line = 0;
  for (const p of parts) {
    words.set(p.words, at * w);
    ix.set(p.indices, at);
    const n = p.indptr.length - 1;
    for (let l = 1; l <= n; l++) ptr[line + l] = at + p.indptr[l];
    line += n;
    at += p.indices.length;
  }
  return { data: values, indices: ix, indptr: ptr };
}

/**
 * `spans` and `indptr` cut into about `k` shares of whole lines and equal
 * entries: each share's element spans (a span cut where a share ends) and
 * its indptr from 0.
 */
export function shareLines(
  spans: Spans,
  indptr: Float64Array,
  k: number,
  where: string,
): { spans: Spans; indptr: Float64Array }[] {
  const lines = indptr.length - 1, total = indptr[lines];
  const out: { spans: Spans; indptr: Float64Array }[] = [];
  let l0 = 0, si = 0, pos = spans.n ? spans.starts[0] : 0;
  for (let p = 1; p <= k && l0 < lines; p++) {
    // The first line whose start reaches this share's part of the entries.
    let l1 = lines;
    if (p < k) {
      const target = (total * p) / k;
      let lo = l0 + 1, hi = lines;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (indptr[mid] >= target) hi = mid;
        else lo = mid + 1;
      }
      l1 = lo;
    }
    const starts: number[] = [], ends: number[] = [];
    for (let need = indptr[l1] - indptr[l0]; need > 0;) {
      if (si >= spans.n) {
        throw new CorruptFileError(
          `${where}: indptr claims ${total} entries, the spans hold fewer`,
        );
      }
      const take = Math.min(spans.ends[si] - pos, need);
      starts.push(pos);
      ends.push(pos + take);
      pos += take;
      need -= take;
      if (pos === spans.ends[si] && ++si < spans.n) pos = spans.starts[si];
    }
    const base = indptr[l0];
    out.push({
      spans: { starts: Float64Array.from(starts), ends: Float64Array.from(ends), n: starts.length },
      indptr: indptr.slice(l0, l1 + 1).map((v) => v - base),
    });
    l0 = l1;
  }
  return out;
}
