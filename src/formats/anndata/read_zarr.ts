import type { AnnData } from "./anndata.ts";
import { readAnnData } from "./_decode.ts";
import { localZarr, openZarr } from "./_zarr_store.ts";
import { warmPool } from "../hdf5/_unfilter_pool.ts";
import { checkLocalPath } from "./_local_path.ts";

/**
 * Read an AnnData zarr store (zarr v2 as anndata 0.8–0.11 write it, or v3)
 * from a local folder (nothing there: `NotFoundError`).
 *
 * @example
 * ```ts ignore
 * import { readZarr } from "@lamindeno/lamindb";
 * const adata = await readZarr("pbmc.zarr");
 * ```
 */
export async function readZarr(path: string): Promise<AnnData> {
  warmPool(); // its chunks are decoded on the workers
  await checkLocalPath(path, "folder", "readZarr");
  return await readAnnData(openZarr(localZarr(path), path));
}
