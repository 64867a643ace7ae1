// apache-arrow Tables: accepted as File data, and `load({ as: "arrow" })`.
// Arrow IPC (file format) is the bridge to polars for the other table formats.
import * as rt from "../_runtime.ts";
import { Buffer } from "node:buffer";
import { CorruptFileError } from "../errors.ts";
import { loadPolars, readTable, type TableFormat, writeTable } from "./tables.ts";

/**
 * An apache-arrow `Table` (structurally, so lamindeno's public types do not
 * depend on one copy of the apache-arrow package).
 */
export interface ArrowTable {
  /** Number of rows. */
  readonly numRows: number;
  /** Number of columns. */
  readonly numCols: number;
  /** The column named `name`, or null. */
  getChild(name: string): unknown;
}

// deno-lint-ignore no-explicit-any
type ArrowModule = any;
let arrowModule: ArrowModule | undefined;

async function arrow(): Promise<ArrowModule> {
  arrowModule ??= await import("apache-arrow");
  return arrowModule;
}

/** True for an apache-arrow `Table` (duck-typed, so any copy of the package works). */
export function isArrowTable(x: unknown): x is ArrowTable {
  const o = x as Record<string, unknown> | null;
  return o !== null && typeof o === "object" && "schema" in o && Array.isArray(o.batches) &&
    typeof o.numRows === "number" && typeof o.getChild === "function";
}

/** Serialize an arrow Table in a table format (IPC directly; others through polars). */
export async function writeArrowTable(table: ArrowTable, format: TableFormat): Promise<Uint8Array> {
  const a = await arrow();
  const ipc = a.tableToIPC(table, "file");
  if (format === "ipc" || format === "arrow" || format === "feather") return ipc;
  const pl = await loadPolars();
  const df = pl.readIPC(Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength));
  return writeTable(df, format);
}

/** Read a table file as an arrow Table (IPC files directly; others through polars). */
export async function readArrowTable(path: string, suffix: string): Promise<ArrowTable> {
  const a = await arrow();
  const s = suffix.toLowerCase();
  if (s === ".ipc" || s === ".arrow" || s === ".feather") {
    const bytes = await rt.readFile(path);
    try {
      return a.tableFromIPC(bytes);
    } catch {
      // Polars writes view types (Utf8View) or compressed buffers that
      // apache-arrow JS cannot read: go through polars below.
    }
  }
  const df = await readTable(path, suffix);
  // polars' IPC *stream* writer emits classic types (LargeUtf8) that apache-arrow reads.
  const ipc = df.writeIPCStream();
  try {
    return a.tableFromIPC(new Uint8Array(ipc.buffer, ipc.byteOffset, ipc.byteLength));
  } catch (e) {
    throw new CorruptFileError(
      `cannot convert "${path}" to an Arrow table: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}
