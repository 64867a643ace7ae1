import { log } from "../../_log.ts";
import { UnsupportedFormatError } from "../../errors.ts";
import type { AnnData } from "./anndata.ts";
import { readAnnData } from "./_decode.ts";
import { openH5 } from "./_h5wasm_store.ts";
import type { ElementStore } from "./_store.ts";
import { fileBytes } from "../hdf5/h5file.ts";
import { openH5Range } from "../hdf5/store.ts";
import { noFallback } from "../hdf5/_parse.ts";
import { checkLocalPath } from "./_local_path.ts";

/**
 * Read an `.h5ad` file written by Python anndata (0.7 to current) or by
 * lamindeno. Nothing at `path`: `NotFoundError`; not HDF5, or not an
 * AnnData: `CorruptFileError`.
 *
 * The file is read by our own HDF5 reader straight into the result's arrays;
 * the few layouts it does not read (a fill value other than zero, shared
 * messages, big-endian data) go through h5wasm, said in a debug log (which
 * cannot undo lzf or other plugin filters: an `UnsupportedFormatError`
 * saying so).
 *
 * @example
 * ```ts ignore
 * import { readH5ad } from "@lamindeno/lamindb";
 * const adata = await readH5ad("pbmc.h5ad");
 * console.log(adata.shape);
 * ```
 */
export async function readH5ad(path: string): Promise<AnnData> {
  return await withH5(path, readAnnData);
}

/**
 * Run `read` on an ElementStore of the local HDF5 file at `path`: our own
 * reader, or h5wasm for layouts ours does not read (said in a debug log).
 */
export async function withH5<T>(
  path: string,
  read: (store: ElementStore) => Promise<T>,
  reader = "readH5ad",
): Promise<T> {
  await checkLocalPath(path, "file", reader);
  const src = fileBytes(path);
  let why: string;
  try {
    const store = await openH5Range(src, path, { gap: 1 << 20 });
    return await read(store);
  } catch (e) {
    if (!(e instanceof UnsupportedFormatError) || noFallback(e)) throw e;
    log.debug(`${path}: ${e.message}; reading through h5wasm`);
    why = e.message;
  } finally {
    src.close?.();
  }
  const store = await openH5(path, why);
  try {
    return await read(store);
  } finally {
    store.close();
  }
}
