// Reading the parts of an AnnData that hold selected rows/columns: a stored
// matrix as range-readable arrays, its subset, and the per-axis mappings
// (obsm/varm) whose entries are matrices or dataframes.
import type { RangeReader } from "../formats/codec.ts";
import { CorruptFileError } from "../errors.ts";
import type { Matrix } from "../formats/anndata/matrix.ts";
import { join } from "../formats/anndata/_store.ts";
import { encoding, readDataFrame, sparseShape } from "../formats/anndata/_decode.ts";
import type { DataFrame } from "../formats/tables.ts";
import { type StoredMatrix, subsetMatrix } from "./subset.ts";

/** The stored matrix at `path` as range-readable arrays, or undefined if there is none. */
export async function storedMatrix(
  src: RangeReader,
  path: string,
): Promise<StoredMatrix | undefined> {
  const kind = await src.store.describe(path);
  if (kind === undefined) return undefined;
  const where = `"${src.store.label}": /${path}`;
  if (kind === "array") {
    const values = await src.array(path);
    if (values.shape.length < 1 || values.shape.length > 2) {
      throw new CorruptFileError(`${where} has ${values.shape.length} dimensions, not 1 or 2`);
    }
    const shape = (values.shape.length === 1 ? [values.shape[0], 1] : values.shape) as [
      number,
      number,
    ];
    return { kind: "dense", shape, values, where };
  }
  const enc = await encoding(src.store, path);
  if (enc !== "csr_matrix" && enc !== "csc_matrix") {
    throw new CorruptFileError(
      `${where} is a group with encoding-type ${enc}, not a matrix (csr_matrix or csc_matrix): ` +
        `the file is damaged or not an AnnData`,
    );
  }
  const shape = sparseShape(await src.store.attrs(path));
  if (!shape) {
    throw new CorruptFileError(
      `${where} is a ${enc} without a valid shape attribute: the file is damaged`,
    );
  }
  const [data, indices, indptr] = await Promise.all(
    ["data", "indices", "indptr"].map((k) => src.array(join(path, k))),
  );
  const major = enc === "csr_matrix" ? shape[0] : shape[1];
  if (
    indptr.shape.length !== 1 || indptr.shape[0] !== major + 1 ||
    data.shape.length !== 1 || indices.shape.length !== 1 || data.shape[0] !== indices.shape[0]
  ) {
    throw new CorruptFileError(
      `${where}: data [${data.shape}], indices [${indices.shape}] and indptr [${indptr.shape}] ` +
        `do not fit a ${enc} of shape [${shape}]: the file is damaged`,
    );
  }
  return { kind: enc === "csr_matrix" ? "csr" : "csc", shape, data, indices, indptr, where };
}

/** The `rows` x `cols` subset of the matrix at `path` (undefined: all), or undefined if none. */
export async function subsetAt(
  src: RangeReader,
  path: string,
  rows: Uint32Array | undefined,
  cols: Uint32Array | undefined,
): Promise<Matrix | undefined> {
  const m = await storedMatrix(src, path);
  return m ? await subsetMatrix(m, rows, cols) : undefined;
}

/** The matrix at `path`, which must be there (a key listed in its group). */
export async function subsetListed(
  src: RangeReader,
  path: string,
  rows: Uint32Array | undefined,
  cols: Uint32Array | undefined,
): Promise<Matrix> {
  const m = await subsetAt(src, path, rows, cols);
  if (!m) throw new CorruptFileError(`"${src.store.label}": /${path} is not a matrix`);
  return m;
}

/**
 * One entry of obsm/varm: dense rows by range; a dataframe's selected rows
 * of each column (as obs's: read whole and gathered, 60 protein columns of
 * 100,000 cells took a scattered 10% of a CITE-seq store 60-90 ms).
 */
export async function axisEntry(
  src: RangeReader,
  path: string,
  rows: Uint32Array | undefined,
): Promise<Matrix | DataFrame> {
  if ((await encoding(src.store, path)) === "dataframe") {
    return (await readDataFrame(src.store, path, rows)).df;
  }
  return await subsetListed(src, path, rows, undefined);
}
