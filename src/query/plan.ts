// Planning reads: from selected row (or column) indices to the index ranges
// of the arrays that hold them. Plans are plain data, printable and tested
// on their own; reading them is the job of a RangeArray (h5ad or zarr).
import { CorruptFileError } from "../errors.ts";
import { type Range, type Spans, total } from "../formats/ranges.ts";

export type { Spans };

/** The spans as `[start, end]` pairs (for printing and tests). */
export function spanList(spans: Spans): Range[] {
  return Array.from({ length: spans.n }, (_, k) => [spans.starts[k], spans.ends[k]]);
}

/**
 * Step 1 of a compressed (CSR rows, CSC columns) selection: the `indptr`
 * entries to read, `a..b+1` for each run `a..b` of consecutive lines.
 * `lines` must be ascending and unique.
 */
export function planIndptr(lines: ArrayLike<number>): Spans {
  const nl = lines.length;
  const starts = new Float64Array(nl), ends = new Float64Array(nl);
  let n = 0;
  for (let k = 0; k < nl; k++) {
    const i = lines[k];
    if (k && i <= lines[k - 1]) throw new RangeError("lines must be ascending and unique");
    if (n && i === ends[n - 1] - 1) ends[n - 1] = i + 2;
    else {
      starts[n] = i;
      ends[n++] = i + 2;
    }
  }
  return { starts, ends, n };
}

/**
 * Step 2: with the `indptr` values read (`values`, concatenated over step
 * 1's spans `ptr`), the selection's own `indptr` (from 0) and the element
 * spans of `data`/`indices` that hold it, merged where adjacent: read and
 * concatenated, they are the lines' entries in order. `indptr` values that
 * decrease or leave `[0, nnz]` are a `CorruptFileError` naming `where`.
 */
export function planElements(
  lines: ArrayLike<number>,
  ptr: Spans,
  values: ArrayLike<number>,
  nnz = Infinity,
  where = "a sparse matrix",
): { indptr: Float64Array; elements: Spans } {
  const nl = lines.length;
  const indptr = new Float64Array(nl + 1);
  const starts = new Float64Array(nl), ends = new Float64Array(nl);
  let n = 0, r = 0, base = 0, prev = 0;
  for (let k = 0; k < nl; k++) {
    const i = lines[k];
    while (i + 1 >= ptr.ends[r]) base += ptr.ends[r] - ptr.starts[r++];
    const at = base + i - ptr.starts[r];
    const s = values[at], e = values[at + 1];
    if (!(s >= prev && e >= s && e <= nnz)) {
      throw new CorruptFileError(
        `${where}: indptr[${i}..${i + 1}] is ${s}..${e}, ` +
          (e < s || s < prev ? "decreasing" : `outside 0..${nnz}`) + ": the file is damaged",
      );
    }
    prev = e;
    indptr[k + 1] = indptr[k] + e - s;
    if (e === s) continue;
    if (n && ends[n - 1] === s) ends[n - 1] = e;
    else {
      starts[n] = s;
      ends[n++] = e;
    }
  }
  return { indptr, elements: { starts, ends, n } };
}

/** A printable summary of a plan, e.g. for `debug` logs and tests. */
export function describePlan(label: string, ranges: readonly Range[], itemBytes: number): string {
  const n = total(ranges);
  return `${label}: ${ranges.length} range(s), ${n} elements, ${n * itemBytes} bytes` +
    (ranges.length <= 4 ? ` [${ranges.map(([s, e]) => `${s}..${e}`).join(", ")}]` : "");
}
