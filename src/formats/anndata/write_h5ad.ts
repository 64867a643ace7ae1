import { UnsupportedFormatError } from "../../errors.ts";
import type { AnnData } from "./anndata.ts";

/**
 * Write an AnnData as `.h5ad` that Python anndata opens unchanged.
 *
 * @example
 * ```ts ignore
 * import { writeH5ad } from "@lamindeno/lamindb";
 * await writeH5ad(adata, "out.h5ad");
 * ```
 */
export function writeH5ad(_adata: AnnData, path: string): Promise<void> {
  return Promise.reject(
    new UnsupportedFormatError(`cannot write ${path} yet: h5ad writing is in progress; use zarr`),
  );
}
