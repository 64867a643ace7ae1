import * as zarr from "zarrita";
import { CorruptFileError, UnsupportedFormatError } from "../errors.ts";
import { readAnnData } from "./anndata/_decode.ts";
import { localZarr, openZarr, zarritaStore } from "./anndata/_zarr_store.ts";
import { warmPool } from "./hdf5/_unfilter_pool.ts";

/**
 * Load a local `.zarr` store: an AnnData store becomes an `AnnData`, an
 * array store the zarrita array (read it with `zarr.get`).
 */
export async function loadZarr(path: string): Promise<unknown> {
  const source = localZarr(path);
  const store = openZarr(source, path);
  const kind = await store.describe("");
  if (kind === "group") {
    const attrs = await store.attrs("");
    const anndata = attrs["encoding-type"] === "anndata" ||
      ((await store.describe("obs")) && (await store.describe("var")));
    if (anndata) {
      warmPool(); // its chunks are decoded on the workers
      return await readAnnData(store);
    }
    throw new UnsupportedFormatError(
      `"${path}" is a zarr group but not an AnnData store; open it with zarrita`,
    );
  }
  if (kind === "array") {
    return await zarr.open(zarr.root(zarritaStore(source)), { kind: "array" });
  }
  throw new CorruptFileError(`"${path}" is not a zarr store (no .zgroup, .zarray or zarr.json)`);
}
