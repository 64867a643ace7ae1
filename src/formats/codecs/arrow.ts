// apache-arrow Tables as File data: saved in the table formats (the table
// codec loads those files; `load({ as: "arrow" })` gives an arrow Table back).
import { defineCodec } from "../codec.ts";
import { type ArrowTable, isArrowTable, writeArrowTable } from "../arrow.ts";
import type { TableFormat } from "../tables.ts";
import { TABLE_SUFFIXES } from "./table.ts";

/**
 * The arrow codec: saves an apache-arrow Table as parquet (default), csv,
 * tsv, ipc, feather or arrow. It loads nothing itself: those suffixes belong
 * to the table codec.
 *
 * @example
 * ```ts
 * import { arrow } from "./arrow.ts";
 * console.assert(arrow.suffixes.length === 0 && "ipc" in arrow.formats!);
 * ```
 */
export const arrow = defineCodec<ArrowTable>({
  name: "arrow",
  noun: "an arrow Table",
  suffixes: [],
  formats: TABLE_SUFFIXES,
  accepts: isArrowTable,
  encode: (t, { format }) => writeArrowTable(t, format as TableFormat),
});
