// Planning reads: from selected row (or column) indices to the index ranges
// of the arrays that hold them. Plans are plain data, printable and tested
// on their own; reading them is the job of a RangeArray (h5ad or zarr).
import { CorruptFileError } from "../errors.ts";
import { merge, type Range, runs, total } from "../formats/ranges.ts";

/**
 * Positions of values inside the concatenation of `ranges`: `at(i)` is where
 * index `i` landed. Lookups must come in ascending order (a moving cursor).
 */
export function cursor(ranges: readonly Range[]): (i: number) => number {
  let r = 0;
  let base = 0;
  return (i: number) => {
    while (r < ranges.length && i >= ranges[r][1]) {
      base += ranges[r][1] - ranges[r][0];
      r++;
    }
    if (r >= ranges.length || i < ranges[r][0]) {
      throw new RangeError(`index ${i} is not in the planned ranges`);
    }
    return base + i - ranges[r][0];
  };
}

/** The plan for a compressed (CSR rows or CSC columns) selection. */
export interface CompressedPlan {
  /** What is selected along the compressed axis (rows of CSR, columns of CSC). */
  readonly selected: number;
  /** Ranges of `indptr` to read: entries `s..e` (inclusive) of each run. */
  readonly indptr: Range[];
}

/** Step 1 of a compressed selection: the `indptr` entries to read. */
export function planIndptr(selected: ArrayLike<number>): CompressedPlan {
  return { selected: selected.length, indptr: merge(runs(selected).map(([s, e]) => [s, e + 1])) };
}

/**
 * Step 2: with the `indptr` values read (concatenated over `plan.indptr`),
 * the element ranges of `data`/`indices` that hold the selection, merged
 * when adjacent, and each selected line's `[start, end)` in elements.
 * `indptr` values that decrease or leave `[0, nnz]` are a `CorruptFileError`
 * naming `where` (the element, for messages).
 */
export function planElements(
  selected: ArrayLike<number>,
  plan: CompressedPlan,
  indptrValues: ArrayLike<number | bigint>,
  nnz = Infinity,
  where = "a sparse matrix",
): { elements: Range[]; spans: Float64Array } {
  const at = cursor(plan.indptr);
  const spans = new Float64Array(selected.length * 2);
  const ranges: Range[] = [];
  for (let k = 0; k < selected.length; k++) {
    const i = selected[k];
    const s = Number(indptrValues[at(i)]);
    const e = Number(indptrValues[at(i + 1)]);
    if (!(s >= 0 && e >= s && e <= nnz)) {
      throw new CorruptFileError(
        `${where}: indptr[${i}..${i + 1}] is ${s}..${e}, ` +
          (e < s ? "decreasing" : `outside 0..${nnz}`) + ": the file is damaged",
      );
    }
    spans[2 * k] = s;
    spans[2 * k + 1] = e;
    if (e > s) ranges.push([s, e]);
  }
  return { elements: merge(ranges), spans };
}

/** A printable summary of a plan, e.g. for `debug` logs and tests. */
export function describePlan(label: string, ranges: readonly Range[], itemBytes: number): string {
  const n = total(ranges);
  return `${label}: ${ranges.length} range(s), ${n} elements, ${n * itemBytes} bytes` +
    (ranges.length <= 4 ? ` [${ranges.map(([s, e]) => `${s}..${e}`).join(", ")}]` : "");
}
