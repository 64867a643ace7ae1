// Polars Series built from Arrow buffers (one IPC message read by polars)
// instead of one JS value per row: string columns from their UTF-8 bytes,
// categoricals from their codes as an Arrow dictionary.
import pl from "nodejs-polars";
import type * as Arrow from "apache-arrow";
import { Buffer } from "node:buffer";
import type { Utf8Strings } from "./_store.ts";

// Loaded on first use (as src/formats/arrow.ts does), so the package stays
// out of the public types and out of programs that never read a frame.
let arrow: typeof Arrow;
let loading: Promise<typeof Arrow> | undefined;
async function load(): Promise<void> {
  arrow ??= await (loading ??= import("apache-arrow"));
}

/**
 * Start loading the Arrow module now (a frame is about to be read), so that
 * it loads while the frame's bytes are read rather than after (~20 ms the
 * first time in a process). Failures surface where it is used.
 */
export function prefetchArrow(): void {
  if (!arrow) load().catch(() => loading = undefined);
}

/** The single column of `data` as a Series named `name`, or undefined if polars refuses it. */
function viaIpc(name: string, data: Arrow.Data): pl.Series | undefined {
  const ipc = arrow.tableToIPC(new arrow.Table({ [name]: arrow.makeVector(data) }), "stream");
  try {
    return pl.readIPCStream(Buffer.from(ipc.buffer, ipc.byteOffset, ipc.byteLength))
      .getColumn(name);
  } catch {
    return undefined; // e.g. bytes that are not UTF-8: the caller decodes them instead
  }
}

/**
 * A String Series of UTF-8 strings; `undefined` when the bytes are not
 * valid UTF-8 (the caller decodes them with replacement characters).
 */
export async function utf8Series(
  name: string,
  s: Utf8Strings,
): Promise<pl.Series | undefined> {
  const length = s.offsets.length - 1;
  if (length <= 0) return undefined;
  await load();
  const type = new arrow.Utf8();
  return viaIpc(name, arrow.makeData({ type, length, valueOffsets: s.offsets, data: s.bytes }));
}

/**
 * An Int64 Series holding `data` exactly (nodejs-polars builds one from a
 * BigInt64Array through float64, rounding values past 2^53).
 */
export async function int64Series(
  name: string,
  data: BigInt64Array,
): Promise<pl.Series | undefined> {
  await load();
  return viaIpc(name, arrow.makeData({ type: new arrow.Int64(), length: data.length, data }));
}

const enc = new TextEncoder();

/** `strings` as Arrow Utf8 data (few: a category dictionary). */
function utf8Data(strings: string[]): Arrow.Data<Arrow.Utf8> {
  const valueOffsets = new Int32Array(strings.length + 1);
  let data = new Uint8Array(64), o = 0;
  for (let i = 0; i < strings.length; i++) {
    const need = o + strings[i].length * 3;
    if (need > data.length) {
      const grown = new Uint8Array(Math.max(need, data.length * 2));
      grown.set(data.subarray(0, o));
      data = grown;
    }
    o += enc.encodeInto(strings[i], data.subarray(o)).written;
    valueOffsets[i + 1] = o;
  }
  return arrow.makeData({ type: new arrow.Utf8(), length: strings.length, valueOffsets, data });
}

/** Codes whose index type Arrow dictionaries take as they are. */
export type Codes = Int8Array | Int16Array | Int32Array;

/**
 * A Categorical Series of `codes` into `categories` (code -1: missing),
 * the codes handed to polars as an Arrow dictionary's indices. The caller
 * checked the codes (each -1 or a category's position) and that the
 * categories are distinct.
 */
export async function categoricalSeries(
  name: string,
  codes: Codes,
  categories: string[],
): Promise<pl.Series | undefined> {
  const length = codes.length;
  if (length === 0 || categories.length === 0) return undefined;
  await load();
  let nulls = 0;
  for (let k = 0; k < length; k++) if (codes[k] < 0) nulls++;
  let nullBitmap: Uint8Array | undefined;
  let indices = codes;
  if (nulls) {
    // Missing values: cleared validity bits, and an index that is in range.
    nullBitmap = new Uint8Array(Math.ceil(length / 8)).fill(0xff);
    indices = codes.slice();
    for (let k = 0; k < length; k++) {
      if (codes[k] < 0) {
        nullBitmap[k >> 3] &= ~(1 << (k & 7));
        indices[k] = 0;
      }
    }
  }
  const index = codes instanceof Int8Array
    ? new arrow.Int8()
    : codes instanceof Int16Array
    ? new arrow.Int16()
    : new arrow.Int32();
  const dictionary = arrow.makeVector(utf8Data(categories));
  const type = new arrow.Dictionary(new arrow.Utf8(), index);
  return viaIpc(
    name,
    arrow.makeData({ type, length, data: indices, dictionary, nullCount: nulls, nullBitmap }),
  );
}
