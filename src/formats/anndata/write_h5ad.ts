import * as rt from "../../_runtime.ts";
import { basename, dirname, join } from "node:path";
import { LaminError, StorageError, ValidationError } from "../../errors.ts";
import { base62 } from "../../_ids.ts";
import { writeHdf5 } from "../hdf5/write.ts";
import type { AnnData } from "./anndata.ts";
import { encodeAnnData } from "./_encode.ts";
import type { TreeGroup } from "./_tree.ts";
import { checkWriteArgs } from "./_options.ts";

/** Options of {@linkcode writeH5ad}. */
export interface WriteH5adOptions {
  /** Compress chunked datasets (sparse data/indices, dense X) with gzip. Default: uncompressed. */
  compression?: "gzip";
}

/** Write a tree to `path` through a temporary file in the same folder. */
export async function writeTreeH5(
  tree: TreeGroup,
  path: string,
  options: WriteH5adOptions = {},
): Promise<void> {
  const folder = await rt.stat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory) {
    throw new StorageError(
      `cannot write ${path}: the folder ${dirname(path)} does not exist; create it first`,
    );
  }
  if ((await rt.stat(path).catch(() => undefined))?.isDirectory) {
    throw new ValidationError(`cannot write ${path}: it is a folder; remove it or write elsewhere`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${base62(8)}`);
  try {
    await writeHdf5(tree, tmp, options);
    await rt.rename(tmp, path);
  } catch (e) {
    await rt.remove(tmp).catch(() => {});
    if (e instanceof LaminError) throw e;
    throw new StorageError(`could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Write an AnnData as `.h5ad` that Python anndata opens unchanged (the
 * anndata 0.8 element spec; bools and `ordered` as HDF5 enums, as h5py
 * writes numpy bools). Written by lamindeno's own HDF5 writer in h5py's
 * default layout; CSR/CSC `data`/`indices` are chunked in ~1 MiB pieces and
 * dense matrices in ~1 MiB row blocks, uncompressed unless asked, so that
 * row-wise streaming reads little. The file is written under a temporary
 * name and moved into place: a failure leaves nothing at `path`. A
 * `ValidationError`, nothing written, for a path that is not a string,
 * unknown options or a `compression` other than `"gzip"`.
 *
 * @example
 * ```ts
 * import { AnnData, CsrMatrix, readH5ad, writeH5ad } from "@lamindeno/lamindb";
 * const X = new CsrMatrix(
 *   new Float32Array([1, 2]),
 *   new Int32Array([0, 1]),
 *   new Int32Array([0, 1, 2]),
 *   [2, 2],
 * );
 * const path = `${await Deno.makeTempDir()}/a.h5ad`;
 * await writeH5ad(new AnnData({ X }), path);
 * console.assert((await readH5ad(path)).nObs === 2);
 * ```
 */
export async function writeH5ad(
  adata: AnnData,
  path: string,
  options: WriteH5adOptions = {},
): Promise<void> {
  checkWriteArgs("writeH5ad", path, options, ["gzip"]);
  await writeTreeH5(encodeAnnData(adata), path, options);
}
