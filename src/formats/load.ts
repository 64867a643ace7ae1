import { match } from "ts-pattern";
import { NoInMemoryRepresentationError, UnsupportedFormatError } from "../errors.ts";
import { kindOf } from "./kinds.ts";
import { readTable } from "./tables.ts";
import { readH5ad } from "./anndata/read_h5ad.ts";
import { loadZarr } from "./zarr.ts";
import { readH5mu } from "./anndata/mudata.ts";

/** Options of `file.load()`. */
export interface LoadOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
}

function notYet(path: string, what: string): Promise<never> {
  return Promise.reject(
    new UnsupportedFormatError(
      `cannot load "${path}": loading ${what} into memory is not implemented in this version ` +
        `yet; use file.path() or file.stage() and read it yourself`,
    ),
  );
}

/** Dispatch on the suffix to the loader of the file's format. */
export function loadObject(path: string, suffix: string): Promise<unknown> {
  return match(kindOf(suffix))
    .with("table", () => readTable(path, suffix))
    .with("anndata", () => readH5ad(path))
    .with("zarr", () => loadZarr(path))
    .with("mudata", () => readH5mu(path))
    .with("image", () => notYet(path, suffix))
    .with("none", () =>
      Promise.reject(
        new NoInMemoryRepresentationError(
          `cannot load "${path}": ${
            suffix ? `${suffix} files have` : "a file without suffix has"
          } no in-memory representation; use file.path() or file.stage()`,
        ),
      ))
    .exhaustive();
}
