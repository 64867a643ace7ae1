// ElementStore over a zarr hierarchy (v2 or v3) read with zarrita, from any
// key/value source (a local folder here; a StorageBackend for remote stores).
import * as rt from "../../_runtime.ts";
import * as zarr from "zarrita";
import { locate } from "./_zarr_locate.ts";
import {
  CorruptFileError,
  LaminError,
  StorageError,
  UnsupportedFormatError,
} from "../../errors.ts";
import { checkedArray, installCheckedCodecs, VARIABLE_CAP, zarrError } from "./_zarr_checks.ts";
import { decodeVLenUTF8, vlenItems } from "./_zarr_vlen.ts";
import { decodeBloscChunk } from "../hdf5/_unfilter_pool.ts";
import {
  numericRanges,
  rawChunks,
  v3ChunkKey,
  wordsOf,
  zarrayOf,
  zarrJsonArray,
} from "./_zarr_ranges.ts";
import { readRecords, recordColumns, recordFields } from "./_zarr_records.ts";
import { allocate, dtypeOf, type NumericArray, numericDtype } from "./matrix.ts";
import type { ElementStore, StoreArray, Utf8Strings } from "./_store.ts";
import { type PartWatch, watchFor } from "../ranges.ts";
import { largeArray } from "../_memory.ts";
import {
  CONSOLIDATED,
  consolidatedDocs,
  consolidatedDocsV3,
  type ListedKey,
  V2_METADATA,
} from "./_zmetadata.ts";
import { iota } from "../_iota.ts";

/** Keys and bytes of a zarr hierarchy. */
export interface ZarrStoreAt {
  /** Bytes of `key` (no leading slash), or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Names of the entries directly under the folder `prefix` ("" for the root). */
  children(prefix: string): Promise<string[]>;
  /**
   * The local file of `key`, when the store is a folder on this machine:
   * chunk files then go to the decoding workers by path (they read them;
   * this thread neither reads nor holds their bytes).
   */
  filePath?(key: string): string | undefined;
  /** Told the bytes the workers read from `filePath`s (for I/O counts). */
  counted?(bytes: number): void;
  /**
   * Every key of the store (with its etag, where the backend gives one),
   * when a listing gives them in a few requests (object storage);
   * undefined when the store is too large for that or cannot be listed.
   */
  listAll?(): Promise<ListedKey[] | undefined>;
  /**
   * Every key under the folder `prefix` (its chunks and documents, at any
   * depth), or undefined when the store cannot tell.
   */
  keysUnder?(prefix: string): Promise<string[] | undefined>;
  /** Drop what was kept of the store (its chunks); it may still be read. */
  release?(): void;
  /**
   * Optionally: bytes `offset..offset + length` of `key` (fewer at its end),
   * or its last `suffix` bytes; undefined when there is no such key. Sharded
   * zarr v3 arrays read their shards' index and inner chunks so; without
   * it, a range is cut from the whole object.
   */
  getRange?(key: string, range: ByteRange): Promise<Uint8Array | undefined>;
}

/** A range of an object's bytes: from an offset, or its last `suffixLength`. */
export type ByteRange = { offset: number; length: number } | { suffixLength: number };

/** Where `range` starts in an object of `size` bytes, and how many of its bytes are there. */
export function spanOf(range: ByteRange, size: number): [at: number, n: number] {
  if ("suffixLength" in range) {
    const at = Math.max(0, size - range.suffixLength);
    return [at, size - at];
  }
  return [range.offset, Math.max(0, Math.min(range.length, size - range.offset))];
}

/**
 * The zarrita store over `source` (keys without the leading slash), with
 * the ranged reads sharded (zarr v3) arrays need: `source.getRange`, else
 * a slice of the whole object.
 */
export function zarritaStore(source: ZarrStoreAt): {
  get(key: string): Promise<Uint8Array | undefined>;
  getRange(key: string, range: ByteRange): Promise<Uint8Array | undefined>;
} {
  const strip = (key: string) => key.replace(/^\//, "");
  return {
    get: (key) => source.get(strip(key)),
    async getRange(key, range) {
      if (source.getRange) return await source.getRange(strip(key), range);
      const b = await source.get(strip(key));
      if (!b) return undefined;
      const [at, n] = spanOf(range, b.length);
      return b.subarray(at, at + n);
    },
  };
}

/** `range` of the local file `path`; undefined when there is no such file. */
export async function fileRange(path: string, range: ByteRange): Promise<Uint8Array | undefined> {
  let f: rt.FileHandle;
  try {
    f = await rt.openFile(path, "r");
  } catch {
    return undefined;
  }
  try {
    const [at, n] = spanOf(range, (await f.stat()).size);
    const out = new Uint8Array(n);
    const got = await rt.readAt(f, out, at);
    return out.subarray(0, got);
  } finally {
    await f.close();
  }
}

/**
 * `source` with its metadata documents (`.zarray`, `.zattrs`, `.zgroup`,
 * `zarr.json`) kept once read: zarrita, the checks and the raw chunk paths
 * each read an array's metadata, one request each on object storage.
 *
 * With `together` (object storage, where each is a round trip): opening an
 * element asks for its documents one after the other, so a store of 100
 * elements took ~400 round trips in a row (~1 s behind 25 ms). Instead,
 * the store's keys are listed once (`listAll`, a request per 1,000 keys):
 * a document (or chunk) not listed is known absent without a request, a
 * chunk listed but gone is a StorageError (deleted while being read, not
 * its fill value; in a store too large to list, a chunk not there is a
 * StorageError when the root's metadata is gone too), and asking for one
 * document of a folder reads the folder's others at once. A store too
 * large to list that way: asking for one zarr v2 document of a folder
 * reads its three (`.zattrs`, `.zarray`, `.zgroup`) at once, and
 * `zarr.json` (v3) is read only where none of them is, in a store whose
 * root is not a v2 group. The folders under a prefix come from the same
 * listing when there is one. Where the store has consolidated metadata
 * that can be trusted (see `consolidatedDocs` and, for v3,
 * `consolidatedDocsV3` in `_zmetadata.ts`), every document comes from it
 * (and, unlisted, the folders too).
 */
export function keepingMetadata(source: ZarrStoreAt, together = false): ZarrStoreAt {
  const kept = new Map<string, Promise<Uint8Array | undefined>>();
  const read = (key: string) => {
    let p = kept.get(key);
    if (!p) {
      p = source.get(key);
      kept.set(key, p);
      p.catch(() => kept.delete(key)); // a failed read is tried again
    }
    return p;
  };
  const store = ++stores;
  let index: Promise<StoreIndex> | undefined;
  const indexed = (): Promise<StoreIndex> =>
    index ??= together ? indexOf(source, read) : Promise.resolve({});
  return {
    ...source,
    release() {
      source.release?.();
      forgetChunks(`${store}:`);
      vlenKept.delete(this);
    },
    async keysUnder(prefix) {
      const { keys } = await indexed();
      if (!keys) return await source.keysUnder?.(prefix);
      const base = prefix ? `${prefix}/` : "";
      return [...keys].filter((k) => k.startsWith(base));
    },
    async children(prefix) {
      const { keys, docs } = await indexed();
      const from = keys ?? docs?.keys();
      return from ? foldersUnder(from, prefix) : await source.children(prefix);
    },
    async get(key) {
      const cut = key.lastIndexOf("/") + 1, name = key.slice(cut);
      if (!together) return METADATA.includes(name) ? await read(key) : await source.get(key);
      const { keys: all, docs } = await indexed();
      if (!METADATA.includes(name)) {
        // A chunk not listed was never written (its fill value, no request);
        // one listed but gone was deleted while the store is read.
        if (all && !all.has(key)) return undefined;
        // Chunks of a 1-D array read in order (batches of rows in file
        // order): the next one fetched while this one is used.
        const seq = /^(.*\/)(\d+)$/.exec(key);
        if (all && seq && chunks.has(`${store}:${seq[1]}${Number(seq[2]) - 1}`)) {
          const next = `${seq[1]}${Number(seq[2]) + 1}`;
          if (all.has(next)) keptChunk(`${store}:${next}`, () => source.get(next), false);
        }
        const got = await keptChunk(`${store}:${key}`, () => source.get(key));
        if (got === undefined && all) {
          throw new StorageError(
            `the object ${key} of the zarr store disappeared while it was being read ` +
              `(it was there when the store was opened)`,
          );
        }
        // Not listed (too many keys): a chunk not there is its fill value
        // while the store's root is there; without it the store was deleted.
        if (got === undefined && !(await source.get(".zgroup") ?? await source.get("zarr.json"))) {
          throw new StorageError(
            `the zarr store disappeared while it was being read (its chunk ${key} and its root ` +
              `metadata are gone)`,
          );
        }
        return got;
      }
      // Consolidated (and, if listed, up to date): every document at hand.
      if (docs) return docs.get(key);
      if (all) {
        if (!all.has(key)) return undefined;
        for (const m of METADATA) {
          const sibling = key.slice(0, cut) + m;
          if (sibling !== key && all.has(sibling)) read(sibling).catch(() => {});
        }
        return await read(key);
      }
      const v2 = V2_METADATA.map((m) => read(key.slice(0, cut) + m));
      if (name !== "zarr.json") return await read(key);
      // v3 only where the folder holds no v2 document, in a store whose
      // root is not v2 (a store is one version throughout).
      for (const doc of await Promise.all(v2)) if (doc) return undefined;
      if (key !== "zarr.json" && await read(".zgroup")) return undefined;
      return await read(key);
    },
  };
}

/** What is known of a remote store once opened: its keys (if listed), its documents (if consolidated). */
interface StoreIndex {
  keys?: Set<string>;
  docs?: Map<string, Uint8Array>;
}

/**
 * The listing of a remote store, then its consolidated metadata where the
 * listing has it: an absent document is never asked for. A store too
 * large to list: v2's `.zmetadata` and v3's root `zarr.json` asked at once
 * (`read`: kept for later), and either's consolidated metadata trusted, as
 * zarr-python does.
 */
async function indexOf(
  source: ZarrStoreAt,
  read: (key: string) => Promise<Uint8Array | undefined>,
): Promise<StoreIndex> {
  const listing = source.listAll ? await source.listAll().catch(() => undefined) : undefined;
  const keys = listing && new Set(listing.map((k) => k.key));
  const ask = (key: string) => read(key).catch(() => undefined);
  if (!keys) {
    const [z, root] = await Promise.all([ask(CONSOLIDATED), ask("zarr.json")]);
    return { docs: (z && consolidatedDocs(z)) || (root && consolidatedDocsV3(root)) };
  }
  const consolidated = keys.has(CONSOLIDATED) ? await ask(CONSOLIDATED) : undefined;
  const v2 = consolidated && consolidatedDocs(consolidated, listing);
  // zarr v3: the root's consolidated metadata, one request for every document.
  if (v2 || !keys.has("zarr.json")) return { keys, docs: v2 };
  const root = await ask("zarr.json");
  return { keys, docs: root && consolidatedDocsV3(root, listing) };
}

/** The names of the folders directly under `prefix` ("" for the root) that `keys` hold keys in. */
export function foldersUnder(keys: Iterable<string>, prefix: string): string[] {
  const base = prefix ? `${prefix}/` : "", out = new Set<string>();
  for (const k of keys) {
    if (!k.startsWith(base)) continue;
    const slash = k.indexOf("/", base.length);
    if (slash > base.length) out.add(k.slice(base.length, slash));
  }
  return [...out].sort();
}

/**
 * The local file `path` of the store's `key`: a metadata document (a few
 * hundred bytes) or a small chunk read at once, thousands of tiny arrays
 * (uns) costing a thread-pool round trip each otherwise; a larger chunk on
 * the thread pool. The runtime's errors as they are.
 */
export async function readStoreFile(path: string, key: string): Promise<Uint8Array> {
  if (METADATA.includes(key.slice(key.lastIndexOf("/") + 1))) return rt.readFileSync(path);
  return rt.readSmallSync(path, rt.SMALL_FILE).bytes ?? await rt.readFile(path);
}

/** A ZarrStoreAt over a local folder. */
export function localZarr(dir: string): ZarrStoreAt {
  return keepingMetadata({
    async get(key) {
      try {
        return await readStoreFile(`${dir}/${key}`, key);
      } catch (e) {
        // Only a file that is not there is missing (a chunk of the fill
        // value); one that cannot be read (a link loop, no permission) is
        // an error, never the fill value in its place.
        if (rt.isNotFound(e) || rt.isNotADirectory(e) || rt.isADirectory(e)) return undefined;
        throw new StorageError(
          `could not read ${key} of the zarr store ${dir}: ${(e as Error)?.message ?? e}`,
          { cause: e },
        );
      }
    },
    filePath: (key) => `${dir}/${key}`,
    getRange: (key, range) => fileRange(`${dir}/${key}`, range),
    async keysUnder(prefix) {
      const out: string[] = [];
      const walk = async (at: string): Promise<void> => {
        for (const e of await rt.readDir(at ? `${dir}/${at}` : dir)) {
          const key = at ? `${at}/${e.name}` : e.name;
          if (e.isDirectory) await walk(key);
          else out.push(key);
        }
      };
      try {
        await walk(prefix);
      } catch {
        return undefined;
      }
      return out;
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
  });
}

/** An array of no elements of zarrita's `dtype` (strings for any but numbers and booleans). */
function emptyArray(dtype: string, shape: number[]): StoreArray {
  if (dtype === "bool") return { kind: "bool", data: new Uint8Array(0), shape };
  // float16 as float32 (no Float16Array everywhere; empty anyway).
  const d = numericDtype(dtype === "float16" ? "float32" : dtype);
  if (!d) return { kind: "string", data: [], shape };
  return { kind: "number", data: allocate(d, 0), shape, dtype: d };
}

/** zarrita's data types of string arrays. */
const STRINGS = new Set(["v2:object", "string", "v2:str"]);

/** Open a zarr hierarchy as an ElementStore. */
export function openZarr(source: ZarrStoreAt, label: string): ElementStore {
  installCheckedCodecs();
  const store = zarritaStore(source);
  const root = zarr.root(store);
  // deno-lint-ignore no-explicit-any
  const nodes = new Map<string, Promise<any>>();
  const open = (p: string) => {
    if (!nodes.has(p)) nodes.set(p, openNode(source, root, p, label));
    return nodes.get(p)!;
  };
  const records = new Map<string, Promise<Map<string, StoreArray>>>();
  // Field `name` of an array of records at the parent path of `p`, if that is one.
  const recordField = async (p: string) => {
    const cut = p.lastIndexOf("/");
    if (cut < 0) return undefined;
    const parent = await open(p.slice(0, cut));
    const name = p.slice(cut + 1);
    if (parent?.kind !== "records") return undefined;
    if (!parent.fields.some((f: { name: string }) => f.name === name)) return undefined;
    return { path: p.slice(0, cut), meta: parent.meta, name };
  };
  const fail = (p: string, e: unknown): never => {
    throw new CorruptFileError(`"${label}": cannot read /${p}: ${(e as Error)?.message ?? e}`, {
      cause: e,
    });
  };
  const readArray = async (
    p: string,
    span?: [number, number],
    watch?: PartWatch,
  ): Promise<StoreArray> => {
    const node = await open(p);
    if (!node) {
      const f = await recordField(p);
      if (f) {
        const where = `"${label}": /${f.path}`;
        // Read once for all its fields.
        if (!records.has(f.path)) {
          const check = (arr: zarr.Array<zarr.DataType, zarr.Readable>) =>
            checkedArray(arr, source, f.path, label);
          records.set(
            f.path,
            readRecords(store, f.path, f.meta, where, check).then(
              (bytes) => recordColumns(bytes, f.meta, where),
              (e) => {
                throw e instanceof LaminError ? e : zarrError(label, f.path, e);
              },
            ),
          );
        }
        const got = (await records.get(f.path)!).get(f.name)!;
        return span ? pick(got, iota(span[1] - span[0], span[0]), 0) : got;
      }
    }
    if (node?.kind !== "array") return fail(p, new Error("not an array"));
    if (node.dtype === "float16") {
      // As the HDF5 reader says it (no Float16Array to give them in everywhere).
      throw new UnsupportedFormatError(
        `"${label}": /${p} holds float16 values, which are not supported; convert them in ` +
          `Python (e.g. adata.X = adata.X.astype("float32")) and save the file again`,
      );
    }
    let chunk: { data: unknown; shape: number[] };
    try {
      const arr = await checkedArray(node, source, p, label);
      if (span && (node.shape.length !== 1 || span[1] > node.shape[0])) {
        return fail(
          p,
          new Error(`rows ${span[0]}..${span[1]} of an array of shape [${node.shape}]`),
        );
      }
      // Nothing to read (zarrita's get fails on a zero-length selection).
      const shape = span ? [span[1] - span[0]] : node.shape as number[];
      if (shape.some((d) => d === 0)) return emptyArray(node.dtype, shape);
      // Numeric arrays: each chunk's rows copied at once into the result
      // (zarrita's get copies element by element), chunks decoded at once.
      // 1-D blosc arrays: chunks decoded (and, from a local folder, read)
      // on the worker pool, straight from their stored bytes.
      const ranges = (node.shape.length === 1 || node.shape.length === 2) && node.shape[0] > 0
        ? numericRanges(arr, p, label, await rawChunks(source, p, node))
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
      out = { kind: "bool", data: boolBytes(data), shape };
    } else if (
      Array.isArray(data) &&
      (data.length === 0 || typeof data[0] === "string" || data[0] === null ||
        STRINGS.has(String(node.dtype)))
    ) {
      // A chunk never written holds the fill value: zarr's default for a
      // string array (v2's `|O`) is 0, which no string is.
      const odd = (data as unknown[]).findIndex((v) => typeof v !== "string" && v !== null);
      if (odd >= 0) {
        throw new CorruptFileError(
          `"${label}": /${p} holds strings, but its element ${odd} reads as ` +
            `${JSON.stringify(data[odd])} (a chunk never written, whose fill value is not a ` +
            `string): the store is damaged`,
        );
      }
      out = { kind: "string", data: data as (string | null)[], shape };
    } else if (ArrayBuffer.isView(data)) {
      out = {
        kind: "number",
        data: data as NumericArray,
        shape,
        dtype: dtypeOf(data as NumericArray),
      };
    } else if (Array.isArray(data) && typeof data[0] === "number") {
      // A 0-d array (zarrita gives its value alone), of its own dtype.
      const own = numericDtype(String(node.dtype));
      const dtype = own && own !== "int64" && own !== "uint64" ? own : "float64";
      const arr = allocate(dtype, data.length) as Float64Array;
      arr.set(data as number[]);
      out = { kind: "number", data: arr, shape, dtype };
    } else if (Array.isArray(data) && typeof data[0] === "bigint") {
      const arr = node.dtype === "uint64"
        ? BigUint64Array.from(data as bigint[])
        : BigInt64Array.from(data as bigint[]);
      out = { kind: "number", data: arr, shape, dtype: dtypeOf(arr) };
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
      // A missing node may be a field of records at its parent: the parent
      // looked up at the same time (one round trip, not two in a row).
      const cut = p.lastIndexOf("/");
      if (cut > 0) open(p.slice(0, cut)).catch(() => {});
      const node = await open(p);
      if (node?.kind === "group" || node?.kind === "records") return "group";
      if (node?.kind === "array" || (!node && await recordField(p))) return "array";
      return undefined;
    },
    async keys(p) {
      const node = await open(p);
      if (node?.kind === "records") return node.fields.map((f: { name: string }) => f.name);
      const names = await source.children(p);
      // Opened at once (from object storage each open is a round trip).
      const nodes = await Promise.all(names.map((n) => open(p ? `${p}/${n}` : n)));
      return names.filter((_, i) => nodes[i]);
    },
    async attrs(p) {
      const node = await open(p);
      return { ...(node?.attrs ?? {}) };
    },
    read: async (p, watch) => {
      // An index check for int32 arrays, its wide one for 64-bit (see PartWatch).
      const node = watch?.int32Below !== undefined ? await open(p) : undefined;
      const dtype = node?.kind === "array" ? node.dtype : "";
      return await readArray(p, undefined, watchFor(watch, dtype));
    },
    // Rows of a 1-D array: only the chunks from the first to the last row.
    async readRows(p, rows) {
      if (rows.length === 0) return pick(await readArray(p), rows, 0);
      const strings = await vlenRows(source, p, rows, label);
      if (strings) return strings;
      const lo = rows[0], hi = rows[rows.length - 1] + 1;
      return pick(await readArray(p, [lo, hi]), rows, lo);
    },
    // Strings as bytes and offsets (dataframe columns): zarr vlen-utf8 (v2, unsharded v3) only.
    readUtf8: (p, rows) => vlenUtf8(source, p, rows, label),
    close() {},
  };
}

/**
 * The chunks of a zarr 1-D string array (vlen-utf8; blosc, zstd or no
 * compressor; v2 or unsharded v3: see `vlenLayout`) that hold `rows` (ascending; all rows when absent), read and
 * decoded at once, each with the chunk positions wanted from it (`pick`)
 * and where they go in the result (`from`). Undefined for any other array,
 * a chunk never written, or a blosc variant the pool does not decode: read
 * through zarrita instead. `use` runs on each chunk's decoded bytes; its
 * failures are a CorruptFileError naming the chunk.
 */
async function vlenChunks(
  source: ZarrStoreAt,
  p: string,
  rows: Uint32Array | undefined,
  label: string,
  use: (bytes: Uint8Array, pick: Uint32Array, from: number) => void,
): Promise<number | undefined> {
  const m = await vlenLayout(source, p);
  if (!m || (rows && rows.length > 0 && !(rows[rows.length - 1] < m.length))) return undefined;
  const size = m.chunk, n = rows ? rows.length : m.length;
  const parts: { c: number; from: number; pick: Uint32Array }[] = [];
  if (rows) {
    for (let k = 0; k < rows.length;) {
      const c = Math.floor(rows[k] / size);
      let e = k + 1;
      while (e < rows.length && Math.floor(rows[e] / size) === c) e++;
      const pick = new Uint32Array(e - k);
      for (let i = 0; i < pick.length; i++) pick[i] = rows[k + i] - c * size;
      parts.push({ c, from: k, pick });
      k = e;
    }
  } else {
    for (let c = 0; c * size < n; c++) {
      const len = Math.min(size, n - c * size);
      parts.push({ c, from: c * size, pick: iota(len) });
    }
  }
  const decoded = await Promise.all(parts.map(async ({ c }) => {
    const key = m.key(c), kept = keptVlen(source, key);
    if (kept) return kept;
    const raw = await source.get(key);
    if (raw === undefined) {
      // Never written: its fill value, when that is a string (read through
      // zarrita); zarr's default for a string array (v2's `|O`) is 0, which
      // no string is: the chunk is missing.
      if (typeof m.fill === "string") return undefined;
      throw new CorruptFileError(
        `"${label}": /${p}, chunk ${c} is missing (a string array's chunk, and its fill ` +
          `value ${JSON.stringify(m.fill ?? null)} is not a string): the store is damaged`,
      );
    }
    let got: Uint8Array | null;
    try {
      const zstd = m.codec === "zstd" ? "zstd" : undefined;
      got = !m.codec ? raw : await decodeBloscChunk(raw, VARIABLE_CAP, undefined, undefined, zstd);
    } catch (e) {
      throw vlenError(label, p, c, e);
    }
    if (got) keepVlen(source, key, got);
    return got;
  }));
  if (decoded.some((d) => d === null || d === undefined)) return undefined;
  parts.forEach(({ c, from, pick }, i) => {
    try {
      use(decoded[i]!, pick, from);
    } catch (e) {
      throw vlenError(label, p, c, e);
    }
  });
  return n;
}

/**
 * Decoded chunks of string arrays kept per open store, the most recently
 * used up to this many bytes: batches of rows read one after another
 * (`batches`) each decoded again the chunk the one before had (a 64-row
 * batch of the 200k atlas decoded its obs string columns' ~4 MB chunks,
 * a worker message each). Let go with the store (`release`).
 */
const VLEN_KEPT = 32 << 20;
const vlenKept = new WeakMap<ZarrStoreAt, { chunks: Map<string, Uint8Array>; bytes: number }>();

/** The decoded chunk `key` of `source` if kept (now the most recently used). */
function keptVlen(source: ZarrStoreAt, key: string): Uint8Array | undefined {
  const kept = vlenKept.get(source), got = kept?.chunks.get(key);
  if (got) {
    kept!.chunks.delete(key);
    kept!.chunks.set(key, got);
  }
  return got;
}

/** Keep the decoded chunk `key` of `source`, the least recently used let go past VLEN_KEPT bytes. */
function keepVlen(source: ZarrStoreAt, key: string, bytes: Uint8Array): void {
  if (bytes.length > VLEN_KEPT / 4) return; // a chunk this large is not read in batches
  let kept = vlenKept.get(source);
  if (!kept) vlenKept.set(source, kept = { chunks: new Map(), bytes: 0 });
  if (kept.chunks.has(key)) return;
  kept.chunks.set(key, bytes);
  kept.bytes += bytes.length;
  for (const [k, b] of kept.chunks) {
    if (kept.bytes <= VLEN_KEPT) break;
    kept.chunks.delete(k);
    kept.bytes -= b.length;
  }
}

/**
 * A 1-D string array's layout as `vlenChunks` reads it: zarr v2 (`|O`,
 * the vlen-utf8 filter, blosc, zstd or no compressor) or v3 (`string`,
 * vlen-utf8 then zstd, blosc or nothing; not sharded): its length, rows a
 * chunk, each chunk's key and compressor. Undefined for anything else.
 */
async function vlenLayout(
  source: ZarrStoreAt,
  p: string,
): Promise<
  | {
    length: number;
    chunk: number;
    key(c: number): string;
    codec?: "blosc" | "zstd";
    /** What a chunk never written holds: a string, or no string at all. */
    fill: unknown;
  }
  | undefined
> {
  const ok = (shape: unknown, chunks: unknown) =>
    Array.isArray(shape) && shape.length === 1 && Number.isSafeInteger(shape[0]) &&
    shape[0] >= 0 && Array.isArray(chunks) && Number.isSafeInteger(chunks[0]) && chunks[0] >= 1;
  const m = await zarrayOf(source, p);
  if (m) {
    const id = m.compressor?.id;
    if (
      m.zarr_format !== 2 || m.dtype !== "|O" || !ok(m.shape, m.chunks) ||
      !Array.isArray(m.filters) || m.filters.length !== 1 || m.filters[0]?.id !== "vlen-utf8" ||
      (m.compressor && id !== "blosc" && id !== "zstd")
    ) return undefined;
    return {
      length: (m.shape as number[])[0],
      chunk: (m.chunks as number[])[0],
      key: (c) => `${p}/${c}`,
      ...(m.compressor ? { codec: id as "blosc" | "zstd" } : {}),
      fill: m.fill_value,
    };
  }
  const v = await zarrJsonArray(source, p);
  if (!v) return undefined;
  const grid = v.chunk_grid?.configuration?.chunk_shape;
  const codecs = v.codecs;
  if (
    v.data_type !== "string" ||
    v.chunk_grid?.name !== "regular" || !ok(v.shape, grid) || !Array.isArray(codecs) ||
    codecs.length < 1 || codecs.length > 2 || codecs[0]?.name !== "vlen-utf8" ||
    (codecs.length === 2 && codecs[1]?.name !== "zstd" && codecs[1]?.name !== "blosc")
  ) return undefined;
  const chunkKey = v3ChunkKey(v, p);
  if (!chunkKey) return undefined;
  return {
    length: v.shape[0],
    chunk: grid[0],
    key: (c) => chunkKey([c]),
    ...(codecs.length === 2 ? { codec: codecs[1].name as "blosc" | "zstd" } : {}),
    fill: v.fill_value,
  };
}

function vlenError(label: string, p: string, c: number, e: unknown): CorruptFileError {
  if (e instanceof CorruptFileError && e.message.includes(`/${p}, chunk ${c}`)) return e;
  return new CorruptFileError(
    `"${label}": cannot read /${p}, chunk ${c}: ${(e as Error)?.message ?? e}`,
    { cause: e },
  );
}

/**
 * `rows` (ascending) of a zarr 1-D string array: only the picked strings
 * decoded (a 1% query of a 200k-row column makes 2k strings, not 200k);
 * undefined where `vlenChunks` is.
 */
async function vlenRows(
  source: ZarrStoreAt,
  p: string,
  rows: Uint32Array,
  label: string,
): Promise<StoreArray | undefined> {
  const out: string[] = new Array(rows.length);
  const n = await vlenChunks(source, p, rows, label, (bytes, pick, from) => {
    const got = decodeVLenUTF8(bytes, pick);
    for (let k = 0; k < got.length; k++) out[from + k] = got[k];
  });
  return n === undefined ? undefined : { kind: "string", data: out, shape: [rows.length] };
}

/**
 * A zarr 1-D string array (all of it, or `rows`) as UTF-8 bytes and
 * offsets, no JS string made (a dataframe column goes to polars as it
 * is); undefined where `vlenChunks` is.
 */
async function vlenUtf8(
  source: ZarrStoreAt,
  p: string,
  rows: Uint32Array | undefined,
  label: string,
): Promise<Utf8Strings | undefined> {
  const pieces: { bytes: Uint8Array; items: { at: Int32Array; len: Int32Array }; from: number }[] =
    [];
  const n = await vlenChunks(source, p, rows, label, (bytes, pick, from) => {
    pieces.push({ bytes, items: vlenItems(bytes, pick), from });
  });
  if (n === undefined) return undefined;
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (const { items, from } of pieces) {
    for (let k = 0; k < items.len.length; k++) {
      total += items.len[k];
      if (total > 0x7fffffff) return undefined; // past Arrow's 32-bit offsets: as JS strings
      offsets[from + k + 1] = total;
    }
  }
  const out = largeArray(Uint8Array, total);
  for (const { bytes, items, from } of pieces) {
    for (let k = 0; k < items.len.length; k++) {
      const at = items.at[k], len = items.len[k], to = offsets[from + k];
      // Short strings (barcodes, names): a loop beats making a subarray.
      if (len <= 32) { for (let b = 0; b < len; b++) out[to + b] = bytes[at + b]; }
      else out.set(bytes.subarray(at, at + len), to);
    }
  }
  return { offsets, bytes: out };
}

/**
 * 0/1 bytes of zarrita's bool array: from its bytes (its iterator yields one
 * boolean at a time, ~150 ns each), else element by element.
 */
function boolBytes(data: unknown): Uint8Array {
  const d = data as { buffer?: unknown; byteOffset?: number; byteLength?: number };
  if (d.buffer instanceof ArrayBuffer && d.byteLength !== undefined) {
    const b = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    const out = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) out[i] = b[i] !== 0 ? 1 : 0;
    return out;
  }
  return Uint8Array.from(data as Iterable<boolean>, (v) => (v ? 1 : 0));
}

/** `rows` (ascending, from `base` on) of a 1-D array read from row `base`. */
function pick(a: StoreArray, rows: Uint32Array, base: number): StoreArray {
  const shape = [rows.length];
  if (a.kind === "string") return { ...a, data: Array.from(rows, (i) => a.data[i - base]), shape };
  const src = a.data as NumericArray;
  const out = new (src.constructor as new (n: number) => NumericArray)(rows.length);
  // Elements copied as words of their size (one monomorphic loop per size;
  // 8-byte elements as two 32-bit words, bit for bit).
  const bpe = src.BYTES_PER_ELEMENT, unit = bpe >= 4 ? 4 : bpe, per = bpe / unit;
  const s = wordsOf(src, unit), o = wordsOf(out, unit);
  if (per === 1) { for (let k = 0; k < rows.length; k++) o[k] = s[rows[k] - base]; }
  else {
    for (let k = 0; k < rows.length; k++) {
      const f = (rows[k] - base) * 2;
      o[2 * k] = s[f];
      o[2 * k + 1] = s[f + 1];
    }
  }
  return { ...a, data: out, shape } as StoreArray;
}

/** The names of zarr's metadata documents (v2 and v3): their presence says an element is there. */
export const METADATA = [...V2_METADATA, "zarr.json"];
/** Bytes of chunks of remote zarr stores kept (the most recently used, all stores together). */
const CHUNKS_KEPT = 128 << 20;
/** Stores opened so far: each one's chunk keys are its own. */
let stores = 0;
const chunks = new Map<string, Promise<Uint8Array | undefined>>();
const chunkSizes = new Map<string, number>();
let keptBytes = 0;

/**
 * A remote store's chunk (as stored), read once while it is among the
 * most recently used {@linkcode CHUNKS_KEPT} bytes of open stores (a
 * store's are forgotten when it is closed): batches of rows read
 * one after another (`mapped`, `batches`) each wanted chunks the one
 * before had fetched (a store of 174 MB read ~6 times over by a shuffled
 * pass). Readers asking at once share one request. A copy each: a reader
 * may hand its bytes to a worker (detached).
 */
function keptChunk(
  key: string,
  fetch: () => Promise<Uint8Array | undefined>,
  copy = true,
): Promise<Uint8Array | undefined> {
  let p = chunks.get(key);
  if (p) {
    chunks.delete(key); // the most recently used last
    chunks.set(key, p);
  } else {
    const got = p = fetch();
    chunks.set(key, got);
    got.then((b) => {
      if (chunks.get(key) !== got) return;
      chunkSizes.set(key, b?.length ?? 0);
      keptBytes += b?.length ?? 0;
      for (const [k] of chunks) {
        if (keptBytes <= CHUNKS_KEPT) break;
        if (!chunkSizes.has(k)) continue; // still being read
        keptBytes -= chunkSizes.get(k)!;
        chunkSizes.delete(k);
        chunks.delete(k);
      }
    }, () => {
      if (chunks.get(key) === got) chunks.delete(key); // a failed read is tried again
    });
  }
  if (!copy) {
    p.catch(() => {}); // read ahead: a failure is met again by the reader that wants it
    return p;
  }
  return p.then((b) => b?.slice());
}

/** Bytes of remote chunks kept now (for tests). */
export function keptChunkBytes(): number {
  return keptBytes;
}

/** Forget the kept chunks whose keys start with `prefix` (a store closed). */
function forgetChunks(prefix: string): void {
  for (const k of [...chunks.keys()]) {
    if (!k.startsWith(prefix)) continue;
    keptBytes -= chunkSizes.get(k) ?? 0;
    chunkSizes.delete(k);
    chunks.delete(k);
  }
}

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
    return await zarr.open(p === "" ? root : locate(root.store, p));
  } catch (e) {
    // An array of records (numpy structured dtype), which zarrita does not open.
    const meta = await zarrayOf(source, p);
    if (meta && Array.isArray(meta.dtype)) {
      const where = `"${label}": /${p}`;
      const attrs = await source.get(`${p ? `${p}/` : ""}.zattrs`);
      let parsed: Record<string, unknown> = {};
      try {
        parsed = attrs ? JSON.parse(new TextDecoder().decode(attrs)) : {};
      } catch {
        throw new CorruptFileError(`${where}: its .zattrs is not valid JSON`);
      }
      return { kind: "records", meta, attrs: parsed, fields: recordFields(meta, where).fields };
    }
    const base = p ? `${p}/` : "";
    for (const k of METADATA) {
      if (await source.get(base + k)) throw zarrError(label, p, e);
    }
    return undefined;
  }
}
