// Streaming an AnnData subset: evaluate the obs/var queries on just the
// columns they name (categoricals by code), then read only the parts of X,
// layers, obsm/varm and obsp/varp that hold the selected rows and columns,
// and only the parts the projection names.
import type { RangeReader } from "../formats/codec.ts";
import type { AnnData } from "../formats/anndata/anndata.ts";
import { openSelection, type StreamSelection } from "./_selection.ts";
import type { Projection } from "./projection.ts";

export { storedMatrix } from "./_parts.ts";
export { subsetRows } from "./subset.ts";
export type { StreamSelection } from "./_selection.ts";

/**
 * Read the subset of an AnnData that `sel` selects, in file order: obs and
 * var (the columns `projection` names; all by default), uns whole, and X,
 * layers, obsm/varm and obsp/varp only where selected rows/columns are
 * (X, layers and obsm only those the projection names). Unknown names are
 * a `ColumnNotFoundError` before any data is read.
 */
export async function streamAnnData(
  src: RangeReader,
  sel: StreamSelection,
  projection: Projection = {},
): Promise<AnnData> {
  const s = await openSelection(src, sel, projection);
  return await s.read(s.rows);
}
