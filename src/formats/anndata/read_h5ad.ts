import type { AnnData } from "./anndata.ts";
import { readAnnData } from "./_decode.ts";
import { openH5 } from "./_h5wasm_store.ts";

/**
 * Read an `.h5ad` file written by Python anndata (0.7 to current) or by
 * lamindeno. Not HDF5, or not an AnnData: `CorruptFileError`.
 *
 * @example
 * ```ts ignore
 * import { readH5ad } from "@lamindeno/lamindb";
 * const adata = await readH5ad("pbmc.h5ad");
 * console.log(adata.shape);
 * ```
 */
export async function readH5ad(path: string): Promise<AnnData> {
  const store = await openH5(path);
  try {
    return await readAnnData(store);
  } finally {
    store.close();
  }
}
