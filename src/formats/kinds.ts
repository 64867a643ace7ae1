// One table: suffix -> kind of in-memory representation. Adding a format is
// one line here plus its reader/writer file.

/** What `load()` returns for a suffix. */
export type Kind = "table" | "anndata" | "mudata" | "image" | "zarr" | "none";

const KINDS: Record<string, Kind> = {
  ".csv": "table",
  ".tsv": "table",
  ".parquet": "table",
  ".ipc": "table",
  ".feather": "table",
  ".arrow": "table",
  ".h5ad": "anndata",
  ".h5mu": "mudata",
  ".zarr": "zarr",
  ".png": "image",
  ".jpg": "image",
  ".jpeg": "image",
};

/** The kind of a suffix; `"none"` for everything without an in-memory form. */
export function kindOf(suffix: string): Kind {
  return KINDS[suffix.toLowerCase()] ?? "none";
}

/** Suffixes that load into memory, for messages. */
export const LOADABLE: readonly string[] = Object.keys(KINDS);
