// Tables: .csv .tsv .parquet .ipc .feather .arrow <-> a polars DataFrame (or,
// with `load({ as: "arrow" })`, an apache-arrow Table).
import { defineCodec } from "../codec.ts";
import { readArrowTable } from "../arrow.ts";
import {
  type DataFrame,
  isDataFrame,
  readTable,
  TABLE_FORMATS,
  type TableFormat,
  writeTable,
} from "../tables.ts";

/** Table formats -> suffixes, parquet (the default) first. */
export const TABLE_SUFFIXES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  TABLE_FORMATS.map((f) => [f, [`.${f}`]]),
);

/**
 * The table codec: loads table files as polars DataFrames (or arrow Tables
 * with `load({ as: "arrow" })`); saves a DataFrame as parquet (default),
 * csv, tsv, ipc, feather or arrow.
 *
 * @example
 * ```ts
 * import { table } from "./table.ts";
 * console.assert(table.suffixes.includes(".csv") && Object.keys(table.formats!)[0] === "parquet");
 * ```
 */
export const table = defineCodec<DataFrame>({
  name: "table",
  noun: "a DataFrame",
  suffixes: Object.values(TABLE_SUFFIXES).flat(),
  formats: TABLE_SUFFIXES,
  accepts: isDataFrame,
  encode: (df, { format }) => Promise.resolve(writeTable(df, format as TableFormat)),
  read: (path, { suffix, as }) =>
    as === "arrow" ? readArrowTable(path, suffix) : readTable(path, suffix),
  readAs: ["arrow"],
});
