// Lazy tables: a table file as a polars LazyFrame (a scan), so filters and
// column selections are pushed down into the reader.
import type pl from "nodejs-polars";
import { UnsupportedFormatError } from "../errors.ts";
import { loadPolars } from "../formats/tables.ts";
import { scanGuarded } from "../formats/_table_scan.ts";

/** A nodejs-polars LazyFrame. */
export type LazyFrame = pl.LazyDataFrame;

/** Suffixes `scanTable` reads (lower case). */
export const SCANNABLE_SUFFIXES: readonly string[] = [
  ".parquet",
  ".ipc",
  ".feather",
  ".arrow",
  ".csv",
  ".tsv",
];

/**
 * A LazyFrame scanning the local table file at `path` (parquet, Arrow IPC /
 * feather, csv, tsv): nothing but the schema is read until `collect()`,
 * and then only the row groups and columns the query needs (parquet, IPC).
 * The schema is read here, so a file that is not its format is a
 * `CorruptFileError` now; damage further in surfaces at `collect()`, also
 * as a LaminError (`CorruptFileError`, `ColumnNotFoundError` for a missing
 * column, `ValidationError` for a query polars refuses), never a raw polars
 * error. CSV/TSV read as `file.load()` reads them (see `readTable`), so
 * `open().collect()` and `load()` give the same frame.
 *
 * @example Filter a parquet file without loading it
 * ```ts
 * import pl from "nodejs-polars";
 * import { scanTable } from "./scan.ts";
 * const path = await Deno.makeTempFile({ suffix: ".parquet" });
 * pl.DataFrame({ a: [1, 2, 3], b: ["x", "y", "z"] }).writeParquet(path);
 * const lf = await scanTable(path, ".parquet");
 * const df = await lf.filter(pl.col("a").gt(1)).select("b").collect();
 * console.assert(df.getColumn("b").toArray().join() === "y,z");
 * ```
 */
export async function scanTable(path: string, suffix: string, label = path): Promise<LazyFrame> {
  const p = await loadPolars();
  const s = suffix.toLowerCase();
  if (!SCANNABLE_SUFFIXES.includes(s)) {
    throw new UnsupportedFormatError(
      `cannot open "${label}" as a lazy table: ${s || "a file without suffix"} is not one of ` +
        `${SCANNABLE_SUFFIXES.join(" ")}; use file.load() or file.backed()`,
    );
  }
  return scanGuarded(p, path, s, label);
}
