// Tables: csv, tsv, parquet, ipc/feather/arrow <-> nodejs-polars DataFrame.
// polars is imported lazily: a native module that only table users pay for.
import * as rt from "../_runtime.ts";
import { Buffer } from "node:buffer";
import type pl from "nodejs-polars";
import { UnsupportedFormatError } from "../errors.ts";
import { narrowWideIntsDf, scanGuarded, tableError } from "./_table_scan.ts";

/** A nodejs-polars DataFrame. */
export type DataFrame = pl.DataFrame;

/** Formats a DataFrame can be saved as. */
export const TABLE_FORMATS = ["parquet", "csv", "tsv", "ipc", "feather", "arrow"] as const;
/** One of {@linkcode TABLE_FORMATS}. */
export type TableFormat = typeof TABLE_FORMATS[number];

let polars: typeof pl | undefined;

/** The nodejs-polars module (loaded on first use). */
export async function loadPolars(): Promise<typeof pl> {
  polars ??= (await import("nodejs-polars")).default;
  return polars;
}

/** True for a nodejs-polars DataFrame (duck-typed: polars' DataFrame is a factory, not a class). */
export function isDataFrame(x: unknown): x is DataFrame {
  const o = x as Record<string, unknown> | null;
  return o !== null && typeof o === "object" && typeof o.writeParquet === "function" &&
    typeof o.writeIPC === "function" && typeof o.getColumns === "function";
}

/** Serialize a DataFrame in `format`. */
export function writeTable(df: DataFrame, format: TableFormat): Uint8Array {
  const buf = format === "parquet"
    ? df.writeParquet()
    : format === "csv"
    ? df.writeCSV({})
    : format === "tsv"
    ? df.writeCSV({ separator: "\t" })
    : df.writeIPC();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Read a table file into a DataFrame; `CorruptFileError` if its bytes are
 * not that format. `suffix` picks the format whatever the case of the
 * file's name (`.CSV` reads as `.csv`).
 *
 * CSV and TSV are read as `file.open()` scans them (the two agree): types
 * are inferred from the first 100 rows, and from every row when a later
 * row does not fit (a column of integers with a `1.5` on row 150 is
 * Float64, one with a word is String). A row with more fields than the
 * header is a `CorruptFileError` (nothing is dropped silently); a quote
 * inside an unquoted field (`x"y`) is kept as a character, as pandas does;
 * a quoted header field `"q""t"` names the column `q"t`. Integers past
 * int64 (which polars reads as Int128, a type nodejs-polars cannot hand
 * to JavaScript) become UInt64 when every value of the column fits, else
 * exact decimal strings. The same holds for Int128 columns of parquet and
 * IPC files.
 */
export async function readTable(path: string, suffix: string): Promise<DataFrame> {
  const p = await loadPolars();
  const s = suffix.toLowerCase();
  if (s === ".csv" || s === ".tsv") return await scanGuarded(p, path, s, path).collect();
  try {
    // nodejs-polars reads a string not ending in its lower-case suffix as
    // the file's contents: pass other names (.PARQUET, .feather) as bytes.
    const src = () => path.endsWith(s) ? path : bytesOf(path);
    switch (s) {
      case ".parquet":
        return narrowWideIntsDf(p, p.readParquet(src()));
      case ".ipc":
        return narrowWideIntsDf(p, p.readIPC(src()));
      case ".feather":
      case ".arrow":
        return narrowWideIntsDf(p, p.readIPC(bytesOf(path)));
    }
  } catch (e) {
    throw tableError(e, path, suffix);
  }
  throw new UnsupportedFormatError(`${suffix} is not a table format`);
}

function bytesOf(path: string): Buffer {
  const bytes = rt.readFileSync(path);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
