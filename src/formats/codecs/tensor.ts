// zarrita arrays as File data: saved as a zarr v3 array store (the
// anndata_zarr codec loads `.zarr` stores, arrays as zarrita arrays).
import { defineCodec } from "../codec.ts";
import { isZarrArray, writeZarrArray, type ZarrArray } from "../tensor.ts";

/**
 * The tensor codec: saves a zarrita array as a `.zarr` array store, chunk by
 * chunk. It loads nothing itself: `.zarr` belongs to the anndata_zarr codec,
 * which gives an array store back as a zarrita array.
 *
 * @example
 * ```ts
 * import { tensor } from "./tensor.ts";
 * console.assert(Object.keys(tensor.formats!).join() === "zarr");
 * ```
 */
export const tensor = defineCodec<ZarrArray>({
  name: "tensor",
  noun: "a zarr array",
  suffixes: [],
  formats: { zarr: [".zarr"] },
  accepts: isZarrArray,
  write: (arr, path) => writeZarrArray(arr, path),
});
