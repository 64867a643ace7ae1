// Tables: csv, tsv, parquet, ipc/feather/arrow <-> nodejs-polars DataFrame.
// polars is imported lazily: a native module that only table users pay for.
import * as rt from "../_runtime.ts";
import { Buffer } from "node:buffer";
import type pl from "nodejs-polars";
import { CorruptFileError, UnsupportedFormatError } from "../errors.ts";

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

/** Read a table file into a DataFrame; `CorruptFileError` if its bytes are not that format. */
export async function readTable(path: string, suffix: string): Promise<DataFrame> {
  const p = await loadPolars();
  try {
    switch (suffix.toLowerCase()) {
      case ".csv":
        return p.readCSV(path);
      case ".tsv":
        return p.readCSV(path, { sep: "\t" });
      case ".parquet":
        return p.readParquet(path);
      case ".ipc":
        return p.readIPC(path);
      case ".feather":
      case ".arrow": {
        // readIPC treats a string not ending in ".ipc" as inline data: pass bytes.
        const bytes = await rt.readFile(path);
        return p.readIPC(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
    }
  } catch (e) {
    throw new CorruptFileError(
      `cannot read "${path}" as ${suffix}: ${String((e as Error)?.message ?? e).split("\n")[0]}`,
      { cause: e },
    );
  }
  throw new UnsupportedFormatError(`${suffix} is not a table format`);
}
