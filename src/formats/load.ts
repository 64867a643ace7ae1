import { match } from "ts-pattern";
import { NoInMemoryRepresentationError, UnsupportedFormatError } from "../errors.ts";
import { kindOf, LOADABLE } from "./kinds.ts";
import { readTable } from "./tables.ts";
import { readH5ad } from "./anndata/read_h5ad.ts";
import { loadZarr } from "./zarr.ts";
import { readH5mu } from "./anndata/mudata.ts";
import { readImage } from "./image.ts";
import { readArrowTable } from "./arrow.ts";
import { ValidationError } from "../errors.ts";

/** Options of `file.load()`. */
export interface LoadOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
  /** For tables: `"arrow"` returns an apache-arrow `Table` instead of a polars DataFrame. */
  as?: "arrow";
}

/** Dispatch on the suffix to the loader of the file's format. */
export function loadObject(path: string, suffix: string, as?: "arrow"): Promise<unknown> {
  const kind = kindOf(suffix);
  if (as !== undefined) {
    if (as !== "arrow") {
      return Promise.reject(new ValidationError(`load({ as }) takes "arrow", got ${String(as)}`));
    }
    if (kind !== "table") {
      return Promise.reject(
        new UnsupportedFormatError(
          `cannot load "${path}" as an arrow Table: only tables (.csv .tsv .parquet .ipc ` +
            `.feather .arrow) can; ${suffix || "this file"} loads as ${kind}`,
        ),
      );
    }
    return readArrowTable(path, suffix);
  }
  return match(kind)
    .with("table", () => readTable(path, suffix))
    .with("anndata", () => readH5ad(path))
    .with("zarr", () => loadZarr(path))
    .with("mudata", () => readH5mu(path))
    .with("image", () => readImage(path))
    .with("none", () =>
      Promise.reject(
        new NoInMemoryRepresentationError(
          `cannot load "${path}": ${
            suffix ? `${suffix} files have` : "a file without suffix has"
          } no in-memory representation; use file.path() or file.stage()`,
        ),
      ))
    .with("unknown", () =>
      Promise.reject(
        new NoInMemoryRepresentationError(
          `cannot load "${path}": ${
            suffix ? `the suffix ${suffix} is` : "a file without suffix is"
          } not a supported format; load() reads ${
            LOADABLE.join(" ")
          }; for anything else use file.path() or file.stage()`,
          { unknownFormat: true },
        ),
      ))
    .exhaustive();
}
