// ElementStore over h5wasm (local files). h5wasm reads whole datasets through
// its own chunk cache; byte-range streaming uses our own reader instead.
import type H5wasm from "h5wasm/node";
import { CorruptFileError, LaminError, UnsupportedFormatError } from "../../errors.ts";
import * as rt from "../../_runtime.ts";
import { allocate, dtypeOf, type NumericArray, numericDtype } from "./matrix.ts";
import type { ElementStore, StoreArray } from "./_store.ts";

let h5wasmP: Promise<typeof H5wasm> | undefined;

interface H5Meta {
  type: number;
  size?: number;
  signed?: boolean;
  vlen?: boolean;
  enum_type?: { members: Record<string, number> };
  shape: number[];
}

/** The numeric scalar `v` in a one-element array of the type `m` describes. */
function scalarArray(v: number | bigint, m: H5Meta): NumericArray {
  if (m.type === 1) return m.size === 4 ? Float32Array.of(Number(v)) : Float64Array.of(Number(v));
  if (m.type !== 0) throw new Error(`unsupported HDF5 datatype class ${m.type}`);
  const signed = m.signed !== false;
  switch (m.size) {
    case 1:
      return signed ? Int8Array.of(Number(v)) : Uint8Array.of(Number(v));
    case 2:
      return signed ? Int16Array.of(Number(v)) : Uint16Array.of(Number(v));
    case 4:
      return signed ? Int32Array.of(Number(v)) : Uint32Array.of(Number(v));
    default: {
      // 64 bits: h5wasm may give a number or a bigint, of either sign's reading.
      const b = BigInt(v);
      return signed
        ? BigInt64Array.of(BigInt.asIntN(64, b))
        : BigUint64Array.of(BigInt.asUintN(64, b));
    }
  }
}

function isBoolEnum(m: H5Meta): boolean {
  const members = m.enum_type?.members;
  return m.type === 8 && !!members && Object.keys(members).length === 2 &&
    members.FALSE === 0 && members.TRUE === 1;
}

function plainAttr(value: unknown, meta: H5Meta): unknown {
  if (isBoolEnum(meta)) {
    if (ArrayBuffer.isView(value)) return Array.from(value as Int8Array, (v) => v !== 0);
    return Number(value) !== 0;
  }
  if (typeof value === "bigint") return Number(value);
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) {
    return Array.from(value, Number);
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as Float64Array);
  return value;
}

/**
 * Field `at` of each record h5wasm read from a compound dataset, as an
 * array of the field's own type (h5wasm gives numbers, bigints for 64-bit
 * integers, strings, and 0/1 for booleans).
 */
function fieldValues(records: unknown, at: number, meta: H5Meta): unknown {
  const rows = (Array.isArray(records) ? records : [records]) as unknown[][];
  const values = rows.map((r) => r[at]);
  const size = meta.size ?? 8;
  if (meta.type === 3) return values;
  if (isBoolEnum(meta)) return Uint8Array.from(values, (v) => (Number(v) ? 1 : 0));
  const kind = meta.type === 1 ? "float" : meta.type === 0 ? (meta.signed ? "int" : "uint") : "";
  const dtype = kind ? numericDtype(`${kind}${8 * size}`) : undefined;
  if (!dtype) {
    throw new UnsupportedFormatError(
      `a field of HDF5 class ${meta.type} (${size} bytes) in a compound dataset`,
    );
  }
  const out = allocate(dtype, values.length);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  values.forEach((v, i) => (out[i] = (big ? BigInt(v as number) : Number(v)) as never));
  return out;
}

/**
 * The HDF5 filters h5wasm undoes (HDF5's own: deflate, shuffle, fletcher32,
 * n-bit, scale-offset). Others (lzf, blosc, zstd, ...: registered plugins it
 * does not load) it reports on stderr only and returns the stored bytes as
 * values: refused before reading.
 */
const H5WASM_FILTERS = new Set([1, 2, 3, 5, 6]);
const FILTER_NAMES: Record<number, string> = {
  4: "szip",
  32000: "lzf",
  32001: "blosc",
  32004: "lz4",
  32008: "bitshuffle",
  32015: "zstd",
};

/**
 * Open a local HDF5 file read-only; `CorruptFileError` if it is not HDF5.
 * `why`: what our own reader could not read (said when a dataset's filter
 * cannot be undone here either).
 */
export async function openH5(path: string, why?: string): Promise<ElementStore> {
  // Loaded on first use: our own reader handles most files, and the wasm
  // module costs ~70 ms to load.
  const h5wasm = await (h5wasmP ??= import("h5wasm/node").then(async (m) => {
    await m.default.ready;
    return m.default;
  }));
  let file: InstanceType<typeof H5wasm.File>;
  try {
    // The signature at the start, or past a user block (512, 1024, ... bytes).
    const head = new Uint8Array(8);
    const f = await rt.openFile(path, "r");
    let found = false;
    try {
      for (let at = 0; !found && at < 1 << 30; at = at ? at * 2 : 512) {
        if ((await rt.readAt(f, head, at)) < 8) break;
        found = head[0] === 0x89 && String.fromCharCode(...head.subarray(1, 4)) === "HDF";
      }
    } finally {
      await f.close();
    }
    if (!found) throw new Error("no HDF5 signature at the start of the file");
    file = new h5wasm.File(path, "r");
  } catch (e) {
    throw new CorruptFileError(`"${path}" is not a readable HDF5 file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let closed = false;
  // deno-lint-ignore no-explicit-any
  const lookUp = (p: string): any => {
    // Closed (a read that failed ends the others' use of the file): nothing
    // is asked of h5wasm, which would print its complaints.
    if (closed) return undefined;
    try {
      return file.get(p === "" ? "/" : p);
    } catch {
      return undefined;
    }
  };
  // Nothing under a dataset (h5wasm answers for a compound's field names).
  const get = (p: string) => {
    const cut = p.lastIndexOf("/");
    return cut >= 0 && lookUp(p.slice(0, cut))?.constructor?.name === "Dataset"
      ? undefined
      : lookUp(p);
  };
  // A compound dataset (anndata's rec-array, e.g. scanpy's
  // rank_genes_groups) reads as a group of its fields, one array each.
  // deno-lint-ignore no-explicit-any
  const fieldsOf = (node: any): string[] | undefined =>
    node?.constructor?.name === "Dataset" && node.metadata?.type === 6
      ? (node.metadata.compound_type?.members ?? []).map((m: { name: string }) => m.name)
      : undefined;
  // A compound dataset's records, decoded once for all its fields.
  const records = new Map<string, unknown>();
  // deno-lint-ignore no-explicit-any
  const recordsOf = (p: string, node: any): unknown => {
    if (!records.has(p)) {
      const refused = filterError(node, p);
      if (refused) throw refused;
      records.set(p, node.value);
    }
    return records.get(p);
  };
  const field = (p: string) => {
    const cut = p.lastIndexOf("/");
    if (cut < 0) return undefined;
    const node = lookUp(p.slice(0, cut));
    const at = fieldsOf(node)?.indexOf(p.slice(cut + 1)) ?? -1;
    // deno-lint-ignore no-explicit-any
    return at < 0 ? undefined : { node, at, meta: node.metadata.compound_type.members[at] as any };
  };
  // deno-lint-ignore no-explicit-any
  const filterError = (node: any, p: string): UnsupportedFormatError | undefined => {
    let filters: { id: number; name?: string }[] = [];
    // Only a chunked dataset has filters (asking another prints HDF5's complaint).
    if (!node?.metadata?.chunks) return;
    try {
      filters = node.filters ?? [];
    } catch {
      return; // contiguous or compact: no filters
    }
    const bad = filters.find((x) => !H5WASM_FILTERS.has(x.id));
    if (!bad) return;
    const name = FILTER_NAMES[bad.id] ?? bad.name ?? "an unknown filter";
    return new UnsupportedFormatError(
      `"${path}": /${p} is compressed with ${name} (HDF5 filter ${bad.id}), and this file ` +
        `is read by the fallback reader, which cannot undo it` +
        `${why ? ` (${why})` : ""}: rewrite the file ` +
        `with gzip or no compression (anndata: write_h5ad(path, compression="gzip"))`,
    );
  };
  return guarded({
    label: path,
    describe(p) {
      const node = get(p);
      const kind = node?.constructor?.name === "Group" || node?.constructor?.name === "File" ||
          fieldsOf(node)
        ? "group"
        : node?.constructor?.name === "Dataset" || field(p)
        ? "array"
        : undefined;
      return Promise.resolve(kind);
    },
    keys(p) {
      const node = get(p);
      return Promise.resolve(fieldsOf(node) ?? node?.keys?.() ?? []);
    },
    attrs(p) {
      const node = get(p);
      const out: Record<string, unknown> = {};
      for (const [k, a] of Object.entries(node?.attrs ?? {})) {
        // deno-lint-ignore no-explicit-any
        const attr = a as any;
        out[k] = plainAttr(attr.value, attr.metadata);
      }
      return Promise.resolve(out);
    },
    read(p) {
      const node = get(p);
      const f = node ? undefined : field(p);
      if (!f && (!node || node.constructor?.name !== "Dataset" || fieldsOf(node))) {
        return Promise.reject(new CorruptFileError(`"${path}": no dataset at /${p}`));
      }
      const refused = filterError(f ? f.node : node, p);
      if (refused) return Promise.reject(refused);
      try {
        const meta = (f ? { ...f.meta, shape: f.node.metadata.shape } : node.metadata) as H5Meta;
        const shape = meta.shape ?? [];
        const value = f
          ? fieldValues(recordsOf(p.slice(0, p.lastIndexOf("/")), f.node), f.at, meta)
          : node.value;
        let out: StoreArray;
        if (meta.type === 3) {
          const arr = Array.isArray(value) ? value : [value];
          out = {
            kind: "string",
            data: arr.map((v: unknown) => v == null ? null : String(v)),
            shape,
          };
        } else if (isBoolEnum(meta)) {
          // A scalar comes back as a plain number, an array as a typed array.
          const data = ArrayBuffer.isView(value)
            ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
            : Uint8Array.of(Number(value) !== 0 ? 1 : 0);
          out = { kind: "bool", data, shape };
        } else if (ArrayBuffer.isView(value)) {
          const data = value as NumericArray;
          out = { kind: "number", data, shape, dtype: dtypeOf(data) };
        } else if (typeof value === "number" || typeof value === "bigint") {
          // A scalar in an array of its own type (an int32 or a float64 for
          // every scalar turned uint32 2^32 - 1 into -1, uint64 2^64 - 1 too).
          const data = scalarArray(value, meta);
          out = { kind: "number", data, shape, dtype: dtypeOf(data) };
        } else {
          throw new Error(`unsupported HDF5 datatype class ${meta.type}`);
        }
        return Promise.resolve(out);
      } catch (e) {
        if (e instanceof UnsupportedFormatError) {
          return Promise.reject(
            new UnsupportedFormatError(
              `"${path}": /${p} holds ${e.message}, which lamindeno does not read; ` +
                `read it in Python, or leave it out of the file`,
            ),
          );
        }
        // h5wasm's own word for a type it does not read (e.g. "Float16 not supported").
        const Kind = /not supported/i.test((e as Error)?.message ?? "")
          ? UnsupportedFormatError
          : CorruptFileError;
        return Promise.reject(
          new Kind(`"${path}": cannot read /${p}: ${(e as Error).message}`, { cause: e }),
        );
      }
    },
    close() {
      closed = true;
      file.close();
    },
  });
}

/**
 * h5wasm throws plain errors ("error - name not defined!") on damaged files:
 * every failure of a store method becomes a `CorruptFileError` naming the
 * file, and closing never throws.
 */
function guarded(store: ElementStore): ElementStore {
  const wrap =
    <A extends unknown[], T>(what: string, fn: (...a: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        return await fn(...args);
      } catch (e) {
        if (e instanceof LaminError) throw e;
        throw new CorruptFileError(
          `"${store.label}" is damaged or not a complete HDF5 file: ${what} ${
            args.map((a) => `/${a}`).join(" ")
          } failed (${(e as Error)?.message ?? e})`,
          { cause: e },
        );
      }
    };
  return {
    label: store.label,
    describe: wrap("reading", store.describe.bind(store)),
    keys: wrap("listing", store.keys.bind(store)),
    attrs: wrap("reading the attributes of", store.attrs.bind(store)),
    read: wrap("reading", store.read.bind(store)),
    close() {
      try {
        store.close();
      } catch { /* a damaged file may fail to close; nothing to release then */ }
    },
  };
}
