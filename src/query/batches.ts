// Out-of-core iteration: the selected rows of an AnnData in batches, in
// row order, each batch reading only its rows.
import type { RangeReader } from "../formats/codec.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import { ValidationError } from "../errors.ts";
import { openSelection, type StreamSelection } from "./_selection.ts";
import type { Projection } from "./projection.ts";

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

/**
 * The rows `sel` selects as AnnData batches of up to `batchSize` rows, in
 * row order. Names are checked and the queries evaluated on the first
 * `next()`; var, varm, varp and uns are read once and shared by every
 * batch; each batch reads only its own rows of obs, X, layers, obsm and
 * obsp, so memory holds one batch at a time (plus the selected row
 * indices). `src` stays open until the iteration ends.
 */
export async function* iterateAnnData(
  src: RangeReader,
  sel: StreamSelection,
  projection: Projection,
  batchSize: number,
): AsyncGenerator<AnnData, void, undefined> {
  checkBatchSize(batchSize);
  const s = await openSelection(src, sel, projection);
  for (let start = 0; start < s.nSelected; start += batchSize) {
    const end = Math.min(start + batchSize, s.nSelected);
    const rows = s.rows
      ? s.rows.slice(start, end)
      : Uint32Array.from({ length: end - start }, (_, k) => start + k);
    yield await s.read(rows);
  }
}
