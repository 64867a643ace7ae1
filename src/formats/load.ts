import { NoInMemoryRepresentationError, UnsupportedFormatError } from "../errors.ts";
import type { File } from "../registry/file.ts";

/** Options of `file.load()`. */
export interface LoadOptions {
  /** Link the file as an input of the tracked run (default: `ln.settings.trackRunInputs`). */
  isRunInput?: boolean;
}

/** Suffixes whose in-memory loaders come with the format table (API.md). */
const PLANNED = [
  ".csv",
  ".tsv",
  ".parquet",
  ".ipc",
  ".feather",
  ".arrow",
  ".h5ad",
  ".zarr",
  ".h5mu",
  ".png",
  ".jpg",
  ".jpeg",
];

/** Dispatch on the suffix to the loader of the file's format. */
export function loadObject(file: File, path: string, _options: LoadOptions): Promise<unknown> {
  const suffix = file.suffix.toLowerCase();
  if (PLANNED.includes(suffix)) {
    return Promise.reject(
      new UnsupportedFormatError(
        `cannot load "${path}": loading ${suffix} into memory is not implemented in this ` +
          `version yet; use file.path() or file.stage() and read it yourself`,
      ),
    );
  }
  return Promise.reject(
    new NoInMemoryRepresentationError(
      `cannot load "${path}": ${
        suffix ? `${suffix} files have` : "a file without suffix has"
      } no in-memory representation; use file.path() or file.stage()`,
    ),
  );
}
