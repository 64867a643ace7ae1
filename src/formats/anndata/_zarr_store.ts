// ElementStore over a zarr hierarchy (v2 or v3) read with zarrita, from any
// key/value source (a local folder here; a StorageBackend for remote stores).
import * as rt from "../../_runtime.ts";
import * as zarr from "zarrita";
import { CorruptFileError } from "../../errors.ts";
import { checkedArray, installCheckedCodecs, zarrError } from "./_zarr_checks.ts";
import { numericRanges } from "./_zarr_ranges.ts";
import { dtypeOf, type NumericArray } from "./matrix.ts";
import type { ElementStore, StoreArray } from "./_store.ts";

/** Keys and bytes of a zarr hierarchy. */
export interface ZarrStoreAt {
  /** Bytes of `key` (no leading slash), or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Names of the entries directly under the folder `prefix` ("" for the root). */
  children(prefix: string): Promise<string[]>;
}

/** A ZarrStoreAt over a local folder. */
export function localZarr(dir: string): ZarrStoreAt {
  return {
    async get(key) {
      try {
        return await rt.readFile(`${dir}/${key}`);
      } catch {
        return undefined;
      }
    },
    async children(prefix) {
      try {
        const out: string[] = [];
        for (const e of await rt.readDir(prefix ? `${dir}/${prefix}` : dir)) {
          if (e.isDirectory) out.push(e.name);
        }
        return out.sort();
      } catch {
        return [];
      }
    },
  };
}

/** Open a zarr hierarchy as an ElementStore. */
export function openZarr(source: ZarrStoreAt, label: string): ElementStore {
  installCheckedCodecs();
  const store = { get: (key: string) => source.get(key.replace(/^\//, "")) };
  const root = zarr.root(store);
  // deno-lint-ignore no-explicit-any
  const nodes = new Map<string, Promise<any>>();
  const open = (p: string) => {
    if (!nodes.has(p)) nodes.set(p, openNode(source, root, p, label));
    return nodes.get(p)!;
  };
  const fail = (p: string, e: unknown): never => {
    throw new CorruptFileError(`"${label}": cannot read /${p}: ${(e as Error)?.message ?? e}`, {
      cause: e,
    });
  };
  const readArray = async (
    p: string,
    span?: [number, number],
    watch?: (part: Uint8Array) => void,
  ): Promise<StoreArray> => {
    const node = await open(p);
    if (node?.kind !== "array") return fail(p, new Error("not an array"));
    let chunk: { data: unknown; shape: number[] };
    try {
      const arr = await checkedArray(node, source, p, label);
      if (span && (node.shape.length !== 1 || span[1] > node.shape[0])) {
        return fail(
          p,
          new Error(`rows ${span[0]}..${span[1]} of an array of shape [${node.shape}]`),
        );
      }
      // Numeric arrays: each chunk's rows copied at once into the result
      // (zarrita's get copies element by element), chunks decoded at once.
      const ranges = (node.shape.length === 1 || node.shape.length === 2) && node.shape[0] > 0
        ? numericRanges(arr, p, label)
        : undefined;
      if (ranges) {
        const data = await ranges.readRanges([span ?? [0, node.shape[0]]], watch);
        const shape = span ? [span[1] - span[0]] : node.shape as number[];
        return { kind: "number", data, shape, dtype: ranges.dtype };
      }
      const r = span ? await zarr.get(arr, [zarr.slice(span[0], span[1])]) : await zarr.get(arr);
      chunk = r && typeof r === "object" && "data" in r
        ? r as { data: unknown; shape: number[] }
        : { data: [r], shape: [] };
    } catch (e) {
      if (e instanceof CorruptFileError) throw e;
      throw zarrError(label, p, e);
    }
    const shape = span ? [span[1] - span[0]] : node.shape as number[];
    const data = chunk.data;
    let out: StoreArray;
    if (node.dtype === "bool") {
      out = {
        kind: "bool",
        data: Uint8Array.from(data as Iterable<boolean>, (v) => (v ? 1 : 0)),
        shape,
      };
    } else if (
      Array.isArray(data) &&
      (data.length === 0 || typeof data[0] === "string" || data[0] === null)
    ) {
      out = { kind: "string", data: data as (string | null)[], shape };
    } else if (ArrayBuffer.isView(data)) {
      out = {
        kind: "number",
        data: data as NumericArray,
        shape,
        dtype: dtypeOf(data as NumericArray),
      };
    } else if (Array.isArray(data) && typeof data[0] === "number") {
      const arr = Float64Array.from(data as number[]);
      out = { kind: "number", data: arr, shape, dtype: "float64" };
    } else if (Array.isArray(data) && typeof data[0] === "bigint") {
      const arr = BigInt64Array.from(data as bigint[]);
      out = { kind: "number", data: arr, shape, dtype: "int64" };
    } else if (Array.isArray(data) && typeof data[0] === "boolean") {
      out = { kind: "bool", data: Uint8Array.from(data as boolean[], (v) => (v ? 1 : 0)), shape };
    } else {
      return fail(p, new Error(`unsupported zarr dtype ${node.dtype}`));
    }
    return out;
  };
  return {
    label,
    async describe(p) {
      const node = await open(p);
      return node?.kind === "group" ? "group" : node?.kind === "array" ? "array" : undefined;
    },
    async keys(p) {
      const names = await source.children(p);
      const out: string[] = [];
      for (const n of names) if (await open(p ? `${p}/${n}` : n)) out.push(n);
      return out;
    },
    async attrs(p) {
      const node = await open(p);
      return { ...(node?.attrs ?? {}) };
    },
    read: (p, watch) => readArray(p, undefined, watch),
    // Rows of a 1-D array: only the chunks from the first to the last row.
    async readRows(p, rows) {
      if (rows.length === 0) return pick(await readArray(p), rows, 0);
      const lo = rows[0], hi = rows[rows.length - 1] + 1;
      return pick(await readArray(p, [lo, hi]), rows, lo);
    },
    close() {},
  };
}

/** `rows` (ascending, from `base` on) of a 1-D array read from row `base`. */
function pick(a: StoreArray, rows: Uint32Array, base: number): StoreArray {
  const shape = [rows.length];
  if (a.kind === "string") return { ...a, data: Array.from(rows, (i) => a.data[i - base]), shape };
  const src = a.data as NumericArray;
  const out = new (src.constructor as new (n: number) => NumericArray)(rows.length);
  // deno-lint-ignore no-explicit-any
  for (let k = 0; k < rows.length; k++) (out as any)[k] = (src as any)[rows[k] - base];
  return { ...a, data: out, shape } as StoreArray;
}

/** Keys whose presence says an element is there (zarr v2 and v3 metadata). */
const METADATA = [".zarray", ".zgroup", ".zattrs", "zarr.json"];

/**
 * Open the node at `p`: undefined when no metadata is there; metadata that
 * is there but does not parse (bad JSON, unknown codec) is an error naming
 * the element, never a silently missing element.
 */
async function openNode(
  source: ZarrStoreAt,
  // deno-lint-ignore no-explicit-any
  root: any,
  p: string,
  label: string,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  try {
    return await zarr.open(p === "" ? root : root.resolve(p));
  } catch (e) {
    const base = p ? `${p}/` : "";
    for (const k of METADATA) {
      if (await source.get(base + k)) throw zarrError(label, p, e);
    }
    return undefined;
  }
}
