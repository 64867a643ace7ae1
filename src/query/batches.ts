// Out-of-core iteration: the selected rows of an AnnData in batches, in
// row order, each batch reading only its rows.
import type { RangeReader } from "../formats/codec.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import { ValidationError } from "../errors.ts";
import { openSelection, type StreamSelection } from "./_selection.ts";
import type { Projection } from "./projection.ts";
import { afterTasks, releaseBatch } from "./_batch_gc.ts";
import { withoutCuts } from "../formats/hdf5/_unfilter_pool.ts";
import { iota } from "../formats/_iota.ts";

/** `batchSize` checked: a positive integer. */
export function checkBatchSize(batchSize: unknown): number {
  if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize <= 0) {
    throw new ValidationError(
      `batchSize must be a positive integer (rows per batch), got ${
        typeof batchSize === "number" ? batchSize : JSON.stringify(batchSize)
      }`,
    );
  }
  return batchSize;
}

/** Bytes of the typed arrays a batch holds of its own rows (X, layers, obsm, obsp). */
function batchBuffers(a: AnnData): number {
  let n = 0;
  const add = (m: unknown) => {
    if (!m || typeof m !== "object") return;
    for (const k of ["data", "indices", "indptr"] as const) {
      const v = (m as Record<string, unknown>)[k];
      if (ArrayBuffer.isView(v)) n += v.byteLength;
    }
  };
  add(a.X);
  for (const part of [a.layers, a.obsm, a.obsp]) Object.values(part).forEach(add);
  return n;
}

/**
 * The rows `sel` selects as AnnData batches of up to `batchSize` rows, in
 * row order. Names are checked and the queries evaluated on the first
 * `next()`; var, varm, varp and uns are read once and shared by every
 * batch; each batch reads only its own rows of obs, X, layers, obsm and
 * obsp, so memory holds one batch at a time (plus the selected row
 * indices, and the batch a for-await loop holds until the next arrives):
 * once the next batch's obs is read, before its matrices, the one the
 * caller let go of is collected (see `_batch_gc.ts`; a batch the caller
 * keeps stays intact).
 * `src` stays open until the iteration ends.
 */
export async function* iterateAnnData(
  src: RangeReader,
  sel: StreamSelection,
  projection: Projection,
  batchSize: number,
): AsyncGenerator<AnnData, void, undefined> {
  checkBatchSize(batchSize);
  const s = await openSelection(src, sel, projection);
  // Bytes of the batch before, which the caller let go of when it asked for
  // the next one (a for-await loop still holds the last one it got).
  let released = 0;
  const collect = async () => {
    if (releaseBatch(released)) await afterTasks();
  };
  for (let start = 0; start < s.nSelected; start += batchSize) {
    const end = Math.min(start + batchSize, s.nSelected);
    const rows = s.rows ? s.rows.slice(start, end) : iota(end - start, start);
    // Collected once this batch's obs is read, before its matrices: the obs
    // reads' garbage goes with the batch let go of.
    // Jobs not cut for idle workers: a cut one's parts would add to the batch's peak memory.
    let batch: AnnData | undefined = await withoutCuts(() => s.read(rows, collect));
    released = batchBuffers(batch);
    yield batch;
    batch = undefined; // the caller asked for the next batch: not referenced here
  }
}
