// RangeArray over a zarr array (v2 or v3): reads only the chunks that hold
// the asked rows, each chunk once, through zarrita's chunk decoding.
import * as zarr from "zarrita";
import { locate } from "./_zarr_locate.ts";
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import {
  chunkPlaces,
  type ChunkSpan,
  type LocalChunks,
  type PartWatch,
  type Range,
  type RangeArray,
} from "../ranges.ts";
import type { Dtype, NumericArray } from "./matrix.ts";
import { zarritaStore, type ZarrStoreAt } from "./_zarr_store.ts";
import { checkedArray, installCheckedCodecs, zarrError } from "./_zarr_checks.ts";
import {
  type BloscIntoJob,
  decodeBloscChunk,
  decodeBloscFile,
  decodeBloscFilesInGroups,
  decodeBloscFilesInto,
  intoWorthIt,
} from "../hdf5/_unfilter_pool.ts";
import { type PickBlock, pickBlocks, picked, pickSpanBlocks } from "../hdf5/_pick.ts";
import { largeArray } from "../_memory.ts";

// deno-lint-ignore no-explicit-any
type AnyArray = zarr.Array<any, any>;

/** Open the zarr array at `path` of `source` as a RangeArray. */
export async function zarrRangeArray(
  source: ZarrStoreAt,
  path: string,
  label: string,
): Promise<RangeArray> {
  installCheckedCodecs();
  const root = zarr.root(zarritaStore(source));
  let arr: AnyArray;
  try {
    arr = await zarr.open(locate(root.store, path), { kind: "array" });
  } catch (e) {
    if (zarr.isZarritaError(e, "NotFoundError")) {
      throw new CorruptFileError(`"${label}": no zarr array at /${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    throw zarrError(label, path, e);
  }
  return rangesOf(
    await checkedArray(arr, source, path, label),
    path,
    label,
    await rawChunks(source, path, arr),
  );
}

/** The fields of a zarr v2 `.zarray` the raw chunk paths read (unchecked JSON). */
export interface Zarray {
  zarr_format?: unknown;
  shape?: unknown;
  chunks?: unknown;
  dtype?: unknown;
  filters?: { id?: unknown }[] | null;
  compressor?: { id?: unknown } | null;
  order?: unknown;
  dimension_separator?: unknown;
  fill_value?: unknown;
}

/**
 * The `.zarray` of the array at `path`, parsed; undefined when there is none
 * or it is not JSON (zarrita opens the array too: its errors say what is wrong).
 */
export async function zarrayOf(source: ZarrStoreAt, path: string): Promise<Zarray | undefined> {
  const meta = await source.get(`${path.replace(/^\//, "")}/.zarray`);
  if (!meta) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(meta));
  } catch {
    return undefined;
  }
}

/** An array's chunks as stored, for the worker pool to decode and pick rows from. */
export interface RawChunks {
  /**
   * The stored bytes of chunk `c` (of a 2-D array: chunk `c` of rows, `j`
   * of columns), or undefined when it was never written.
   */
  get(c: number, j?: number): Promise<Uint8Array | undefined>;
  /** The local file of chunk `c` (`j`) (a worker reads it), when the store is local. */
  path?(c: number, j?: number): string | undefined;
  /**
   * Where chunk `c` (`j`) lies in a local file (a worker reads it there):
   * an inner chunk of a shard. Null when it was never written; undefined
   * when the store is not local.
   */
  locate?(c: number, j?: number): Promise<ChunkSpan | null | undefined>;
  /** Told the bytes a worker read from a `path`. */
  counted?(bytes: number): void;
  /** The chunks are bare zstd frames (zarr v3's default), not blosc. */
  codec?: "zstd";
}

/**
 * Where the workers read chunks `coords` of `raw`: their files (`paths`),
 * or spans of them (`spans`, see `BloscIntoJob`); undefined when one has
 * no local place.
 */
async function placesOf(
  raw: RawChunks,
  coords: [number, number?][],
): Promise<{ paths: string[]; spans?: number[] } | undefined> {
  if (raw.path) {
    const paths = coords.map(([c, j]) => raw.path!(c, j));
    return paths.every((f) => f !== undefined) ? { paths: paths as string[] } : undefined;
  }
  if (!raw.locate) return undefined;
  return chunkPlaces(await Promise.all(coords.map(([c, j]) => raw.locate!(c, j))));
}

/**
 * Raw chunk access for the arrays whose chunks the pool can decode and pick
 * from directly: zarr v2, 1-D or 2-D in C order, blosc or zstd, no filters,
 * little-endian (or 1-byte) numbers. Undefined for anything else (read
 * through zarrita).
 */
export async function rawChunks(
  source: ZarrStoreAt,
  path: string,
  arr: AnyArray,
): Promise<RawChunks | undefined> {
  const dims = (arr.shape as number[]).length;
  if (dims !== 1 && dims !== 2) return undefined;
  const m = await zarrayOf(source, path);
  if (!m) return await rawChunksV3(source, path, dims);
  const dtype = typeof m.dtype === "string" ? m.dtype : "";
  const id = m.compressor?.id;
  if ((id !== "blosc" && id !== "zstd") || (m.filters !== null && m.filters !== undefined)) {
    return undefined;
  }
  if (!/^[<|][iuf][1248]$/.test(dtype)) return undefined;
  const sep = m.dimension_separator ?? ".";
  if (dims === 2 && (m.order !== "C" || (sep !== "." && sep !== "/"))) return undefined;
  const base = path.replace(/^\//, "");
  const key = (c: number, j = 0) => dims === 1 ? `${base}/${c}` : `${base}/${c}${sep}${j}`;
  const filePath = source.filePath?.bind(source), counted = source.counted?.bind(source);
  return {
    get: (c, j) => source.get(key(c, j)),
    ...(filePath ? { path: (c: number, j?: number) => filePath(key(c, j)) } : {}),
    ...(counted ? { counted } : {}),
    ...(id === "zstd" ? { codec: "zstd" as const } : {}),
  };
}

/**
 * The zarr v3 array document (`zarr.json`) at `base`, parsed; undefined when
 * there is none, it is not JSON or not an array's (zarrita opens the array
 * too: its errors say what is wrong).
 */
// deno-lint-ignore no-explicit-any
export async function zarrJsonArray(source: ZarrStoreAt, base: string): Promise<any> {
  const doc = await source.get(`${base.replace(/^\//, "")}/zarr.json`);
  if (!doc) return undefined;
  try {
    const m = JSON.parse(new TextDecoder().decode(doc));
    return m?.zarr_format === 3 && m.node_type === "array" ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The key of chunk `coords` of the v3 array `m` at `base` under its chunk key
 * encoding (default: `c/0/1`; v2's: `0.1`), as a function; undefined for
 * another encoding or separator.
 */
export function v3ChunkKey(
  // deno-lint-ignore no-explicit-any
  m: any,
  base: string,
): ((coords: readonly number[]) => string) | undefined {
  const enc = m.chunk_key_encoding ?? { name: "default" };
  const sep = enc.configuration?.separator ?? (enc.name === "v2" ? "." : "/");
  if ((enc.name !== "default" && enc.name !== "v2") || (sep !== "." && sep !== "/")) {
    return undefined;
  }
  const head = enc.name === "default" ? `${base}/c${sep}` : `${base}/`;
  return (coords) => head + coords.join(sep);
}

/**
 * Raw chunk access to a zarr v3 array (see `rawChunks`): not sharded,
 * little-endian numbers (`bytes`), then one compressor, zstd (zarr-python
 * 3's default) or blosc, nothing else; the default chunk key encoding or
 * v2's. Undefined for anything else (read through zarrita).
 */
async function rawChunksV3(
  source: ZarrStoreAt,
  path: string,
  dims: number,
): Promise<RawChunks | undefined> {
  const base = path.replace(/^\//, "");
  const m = await zarrJsonArray(source, base);
  if (!m) return undefined;
  if (!/^(u?int(8|16|32|64)|float(32|64))$/.test(m.data_type)) return undefined;
  if (m.chunk_grid?.name !== "regular") return undefined;
  if (
    Array.isArray(m.codecs) && m.codecs.length === 1 && m.codecs[0]?.name === "sharding_indexed"
  ) {
    return shardedChunks(source, base, dims, m);
  }
  const codec = v3Codec(m.codecs);
  if (codec === null) return undefined;
  const chunkKey = v3ChunkKey(m, base);
  if (!chunkKey) return undefined;
  const key = (c: number, j = 0) => chunkKey(dims === 1 ? [c] : [c, j]);
  const filePath = source.filePath?.bind(source), counted = source.counted?.bind(source);
  return {
    get: (c, j) => source.get(key(c, j)),
    ...(filePath ? { path: (c: number, j?: number) => filePath(key(c, j)) } : {}),
    ...(counted ? { counted } : {}),
    ...(codec === "zstd" ? { codec } : {}),
  };
}

let CRC32C: Uint32Array | undefined;

/** CRC-32C (Castagnoli) of `b`, as zarr's crc32c codec appends it to a shard's index. */
function crc32c(b: Uint8Array): number {
  if (!CRC32C) {
    CRC32C = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      CRC32C[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC32C[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The compressor of a v3 array's codecs `[bytes (little-endian), zstd | blosc]`; null for others. */
function v3Codec(codecs: unknown): "zstd" | "blosc" | null {
  if (!Array.isArray(codecs) || codecs.length !== 2) return null;
  const [ser, comp] = codecs;
  const endian = ser?.configuration?.endian;
  if (ser?.name !== "bytes" || (endian !== undefined && endian !== "little")) return null;
  return comp?.name === "zstd" ? "zstd" : comp?.name === "blosc" ? "blosc" : null;
}

/**
 * Raw chunk access to a sharded zarr v3 array (anndata 0.13's default): an
 * inner chunk's bytes are a range of its shard, which the shard's index
 * (read once per shard, at its end or start) locates. Inner chunks of
 * `[bytes, zstd | blosc]`, the index `[bytes]` with or without crc32c;
 * undefined for anything else. In a local store the workers read the
 * inner chunks' spans themselves (`locate`); else this thread reads them.
 */
function shardedChunks(
  source: ZarrStoreAt,
  base: string,
  dims: number,
  // deno-lint-ignore no-explicit-any
  m: any,
): RawChunks | undefined {
  const cfg = m.codecs[0].configuration ?? {};
  const codec = v3Codec(cfg.codecs);
  const shard: unknown = m.chunk_grid?.configuration?.chunk_shape, inner: unknown = cfg.chunk_shape;
  const ic = cfg.index_codecs;
  const crc = Array.isArray(ic) && ic.length === 2 && ic[1]?.name === "crc32c";
  if (
    codec === null || !Array.isArray(shard) || !Array.isArray(inner) ||
    shard.length !== dims || inner.length !== dims ||
    !inner.every((d, i) => Number.isSafeInteger(d) && d >= 1 && shard[i] % d === 0) ||
    !Array.isArray(ic) || ic[0]?.name !== "bytes" ||
    (ic[0]?.configuration?.endian ?? "little") !== "little" || !(ic.length === 1 || crc) ||
    ((cfg.index_location ?? "end") !== "end" && cfg.index_location !== "start")
  ) return undefined;
  const per = shard.map((d: number, i: number) => d / (inner[i] as number));
  const n = per.reduce((a: number, b: number) => a * b, 1);
  if (!(n >= 1 && n <= 1 << 24)) return undefined;
  const shardKey = v3ChunkKey(m, base);
  if (!shardKey) return undefined;
  const indexBytes = n * 16 + (crc ? 4 : 0);
  const atEnd = (cfg.index_location ?? "end") === "end";
  const indexes = new Map<string, Promise<DataView | undefined>>();
  const indexOf = (key: string) => {
    let got = indexes.get(key);
    if (!got) {
      const range = atEnd ? { suffixLength: indexBytes } : { offset: 0, length: indexBytes };
      got = (source.getRange?.(key, range) ?? source.get(key).then((b) =>
        b && (atEnd ? b.subarray(Math.max(0, b.length - indexBytes)) : b.subarray(0, indexBytes))
      )).then((b) => {
        if (!b) {
          return undefined; // no shard: every inner chunk its fill value
        }
        if (b.length !== indexBytes) {
          throw new CorruptFileError(
            `/${key}: the shard's index is ${b.length} bytes, not ${indexBytes}: the store is damaged`,
          );
        }
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (crc && crc32c(b.subarray(0, n * 16)) !== view.getUint32(n * 16, true)) {
          throw new CorruptFileError(
            `/${key}: the shard's index does not match its checksum: the store is damaged`,
          );
        }
        return view;
      });
      indexes.set(key, got);
    }
    return got;
  };
  /** Where inner chunk `c` (`j`) lies in its shard (`key`); null when never written. */
  const spanOf = async (c: number, j = 0) => {
    const coords = dims === 1 ? [c] : [c, j];
    const key = shardKey(coords.map((x, i) => Math.floor(x / per[i])));
    const index = await indexOf(key);
    if (!index) return null;
    const k = dims === 1 ? c % per[0] : (c % per[0]) * per[1] + (j % per[1]);
    const lo = index.getUint32(16 * k, true), hi = index.getUint32(16 * k + 4, true);
    const nlo = index.getUint32(16 * k + 8, true), nhi = index.getUint32(16 * k + 12, true);
    if (hi === 0xffffffff && lo === 0xffffffff) return null; // never written
    if (hi >= 2 ** 21 || nhi !== 0) {
      throw new CorruptFileError(
        `/${key}: inner chunk ${k} lies past any file: the store is damaged`,
      );
    }
    return { key, k, offset: hi * 2 ** 32 + lo, size: nlo };
  };
  const filePath = source.filePath?.bind(source), counted = source.counted?.bind(source);
  return {
    async get(c, j = 0) {
      const at = await spanOf(c, j);
      if (!at) return undefined;
      const { key, k, offset, size } = at;
      const got = await (source.getRange?.(key, { offset, length: size }) ??
        source.get(key).then((b) => b?.subarray(offset, offset + size)));
      if (!got || got.length !== size) {
        throw new CorruptFileError(
          `/${key}: inner chunk ${k} (${size} bytes at ${offset}) is past the shard's end: the store is damaged`,
        );
      }
      return got;
    },
    // A local store: the workers read the inner chunks where the index says.
    ...(filePath
      ? {
        async locate(c: number, j?: number) {
          const at = await spanOf(c, j);
          if (!at) return at;
          const path = filePath(at.key);
          return path === undefined ? undefined : { path, offset: at.offset, size: at.size };
        },
      }
      : {}),
    ...(counted ? { counted } : {}),
    ...(codec === "zstd" ? { codec } : {}),
  };
}

/**
 * A RangeArray over the opened (and checked: see `checkedArray`) numeric
 * zarr array `arr`; undefined when it is not numeric (bool, strings).
 */
export function numericRanges(
  arr: AnyArray,
  path: string,
  label: string,
  raw?: RawChunks,
): RangeArray | undefined {
  return CTORS[String(arr.dtype)] ? rangesOf(arr, path, label, raw) : undefined;
}

const CTORS: Record<string, [new (n: number) => NumericArray, Dtype]> = {
  int8: [Int8Array, "int8"],
  int16: [Int16Array, "int16"],
  int32: [Int32Array, "int32"],
  int64: [BigInt64Array, "int64"],
  uint8: [Uint8Array, "uint8"],
  uint16: [Uint16Array, "uint16"],
  uint32: [Uint32Array, "uint32"],
  uint64: [BigUint64Array, "uint64"],
  float32: [Float32Array, "float32"],
  float64: [Float64Array, "float64"],
};

function rangesOf(arr: AnyArray, path: string, label: string, raw?: RawChunks): RangeArray {
  const shape = arr.shape as number[];
  if (shape.length < 1 || shape.length > 2) {
    throw new UnsupportedFormatError(`"${label}": /${path} has ${shape.length} dimensions`);
  }
  const chunks = arr.chunks as number[];
  const rowLen = shape[1] ?? 1;
  const colChunks = shape.length === 2 ? Math.ceil(shape[1] / chunks[1]) : 1;
  // Booleans: their bytes (0 or 1), as the HDF5 reader gives them.
  const known = CTORS[String(arr.dtype)] ??
    (String(arr.dtype) === "bool" ? [Uint8Array, "bool"] as const : undefined);
  if (!known) {
    throw new UnsupportedFormatError(
      `"${label}": /${path} holds ${arr.dtype} values, which are not supported; convert ` +
        `them in Python (e.g. adata.X = adata.X.astype("float32")) and save the file again`,
    );
  }
  const [Ctor, dtype] = known;
  const outside = (s: number, e: number) =>
    new CorruptFileError(
      `"${label}": rows ${s}..${e} of /${path} are asked, it has ${shape[0]} ` +
        `(its shape disagrees with the rest of the store)`,
    );
  // A 1-D array of blosc chunk files: decoding workers may read them (see LocalChunks).
  // (A sharded array's inner chunks: spans of the shards' files.)
  const path0 = shape.length === 1 ? raw?.path?.(0) : undefined;
  const local: LocalChunks | undefined = raw && (path0 || (shape.length === 1 && raw.locate))
    ? {
      itemsize: new Ctor(0).BYTES_PER_ELEMENT,
      chunk: chunks[0],
      ...(path0
        ? { path: (c: number) => raw.path!(c)! }
        : { locate: (c: number) => raw.locate!(c) }),
      get: (c) => raw.get(c),
      ...(raw.counted ? { counted: (bytes: number) => raw.counted!(bytes) } : {}),
      ...(raw.codec ? { codec: raw.codec } : {}),
    }
    : undefined;
  return {
    shape,
    dtype,
    ...(local ? { localChunks: () => local } : {}),
    async readRanges(
      ranges: readonly Range[],
      watch?: PartWatch,
    ): Promise<NumericArray> {
      let n = 0;
      for (const [s, e] of ranges) {
        if (!(s >= 0 && e <= shape[0])) throw outside(s, e);
        n += e - s;
      }
      const out = largeArray(Ctor, n * rowLen);
      if (shape.length === 1 && raw) {
        // Rows of a 1-D array: each chunk's rows picked where it is decoded
        // (a worker decodes into a reused buffer and sends back only them;
        // from a local store it reads the chunk file itself), each chunk's
        // block of rows put in place at once.
        const rows = (x: number, b: number) => pickBlocks(ranges, x, b);
        return await pickedRows(raw, arr, rows, chunks[0], out, label, path, watch);
      }
      // The chunk rows each range needs; each chunk row is fetched once.
      const needed = new Set<number>();
      for (const [s, e] of ranges) {
        for (let c = Math.floor(s / chunks[0]); c * chunks[0] < e; c++) needed.add(c);
      }
      if (shape.length === 1 && ranges.length === 1) {
        // One range of a 1-D array (a whole read): each chunk's slice copied
        // (and shown to `watch`) as soon as it is decoded, while the pool
        // decodes the others.
        const [s, e] = ranges[0], bpe = out.BYTES_PER_ELEMENT;
        await Promise.all([...needed].map(async (c) => {
          const data = chunkValues((await arr.getChunk([c])).data);
          const from = Math.max(s, c * chunks[0]), stop = Math.min(e, (c + 1) * chunks[0]);
          // The chunk's bytes of the slice (same element type as `out`).
          const at = data.byteOffset + (from - c * chunks[0]) * bpe;
          new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
            .set(new Uint8Array(data.buffer, at, (stop - from) * bpe), (from - s) * bpe);
          watch?.(
            new Uint8Array(out.buffer, out.byteOffset + (from - s) * bpe, (stop - from) * bpe),
          );
        }));
        return out;
      }
      if (shape.length === 2 && raw) {
        // Rows of a 2-D array: each chunk's rows picked where it is decoded
        // (read there too from a local store), then put in place.
        const rows = (x: number, b: number) => pickBlocks(ranges, x, b);
        const got = await pickedRows2d(raw, arr, rows, shape, chunks, out, label, path);
        watch?.(new Uint8Array(got.buffer, got.byteOffset, got.byteLength));
        return got;
      }
      // 2-D rows are copied as words of the largest size that divides the
      // element (one monomorphic loop, whatever the element type).
      const unit = out.BYTES_PER_ELEMENT % 4 === 0 ? 4 : out.BYTES_PER_ELEMENT % 2 === 0 ? 2 : 1;
      const cache = new Map<number, { data: NumericArray; stride: number[]; words: Words }[]>();
      // Every chunk at once (each is decoded on the worker pool).
      await Promise.all([...needed].map(async (c) => {
        const parts = await Promise.all(Array.from({ length: colChunks }, async (_, j) => {
          const ch = await arr.getChunk(shape.length === 2 ? [c, j] : [c]);
          const data = chunkValues(ch.data);
          return { data, stride: ch.stride as number[], words: wordsOf(data, unit) };
        }));
        cache.set(c, parts);
      }));
      let o = 0;
      if (shape.length === 1) {
        // 1-D: copy whole slices of each chunk.
        for (const [s, e] of ranges) {
          for (let r = s; r < e;) {
            const c = Math.floor(r / chunks[0]);
            const stop = Math.min(e, (c + 1) * chunks[0]);
            const data = cache.get(c)![0].data;
            // deno-lint-ignore no-explicit-any
            (out as any).set((data as any).subarray(r - c * chunks[0], stop - c * chunks[0]), o);
            o += stop - r;
            r = stop;
          }
        }
        return out;
      }
      // 2-D: each row's span of each column chunk (C-order chunks as words),
      // run by run within a chunk, one column chunk at a time.
      const per = out.BYTES_PER_ELEMENT / unit;
      const ow = wordsOf(out, unit);
      for (const [s, e] of ranges) {
        for (let r = s; r < e;) {
          const c = Math.floor(r / chunks[0]);
          const stop = Math.min(e, (c + 1) * chunks[0]);
          const parts = cache.get(c)!;
          for (let j = 0; j < colChunks; j++) {
            const { data, stride, words: dw } = parts[j];
            const c0 = j * chunks[1];
            const width = Math.min(chunks[1], shape[1] - c0);
            const nw = width * per;
            for (let q = r, oo = o; q < stop; q++, oo++) {
              const local = q - c * chunks[0];
              if (stride[1] === 1) {
                const from = local * stride[0] * per, to = (oo * rowLen + c0) * per;
                if (nw >= 64) ow.set(dw.subarray(from, from + nw), to);
                else for (let k = 0; k < nw; k++) ow[to + k] = dw[from + k];
                continue;
              }
              for (let k = 0; k < width; k++) {
                // deno-lint-ignore no-explicit-any
                (out as any)[oo * rowLen + c0 + k] =
                  // deno-lint-ignore no-explicit-any
                  (data as any)[local * stride[0] + k * stride[1]];
              }
            }
          }
          o += stop - r;
          r = stop;
        }
      }
      return out;
    },
    async readSpans(starts: Float64Array, ends: Float64Array, n: number, watch?: PartWatch) {
      let total = 0;
      for (let k = 0; k < n; k++) {
        const s = starts[k], e = ends[k];
        if (!(s >= (k ? ends[k - 1] : 0) && e >= s && e <= shape[0])) throw outside(s, e);
        total += e - s;
      }
      if (!raw) {
        const ranges: Range[] = [];
        for (let k = 0; k < n; k++) ranges.push([starts[k], ends[k]]);
        return await this.readRanges(ranges, watch);
      }
      // As readRanges, without a pair per span (a scattered query has ~100,000).
      const out = largeArray(Ctor, total * rowLen);
      const rows = (x: number, b: number) => pickSpanBlocks(starts, ends, n, x, b);
      if (shape.length === 1) {
        return await pickedRows(raw, arr, rows, chunks[0], out, label, path, watch);
      }
      return await pickedRows2d(raw, arr, rows, shape, chunks, out, label, path);
    },
  };
}

/** A decoded chunk's values as a typed array (zarrita's booleans as their bytes). */
function chunkValues(data: unknown): NumericArray {
  if (ArrayBuffer.isView(data)) return data as NumericArray;
  const b = data as { buffer: ArrayBuffer; byteOffset: number; byteLength: number };
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The blocks of rows a read asks of each chunk of `extent` rows of `rowBytes` bytes. */
type RowBlocks = (extent: number, rowBytes: number) => Map<number, PickBlock>;

type Words = Uint8Array | Uint16Array | Uint32Array;

/** `a`'s bytes as words of `unit` bytes (copied first when not aligned to them). */
export function wordsOf(a: NumericArray, unit: number): Words {
  // deno-lint-ignore no-explicit-any
  if (a.byteOffset % unit !== 0) a = (a as any).slice();
  const n = a.byteLength / unit;
  return unit === 4
    ? new Uint32Array(a.buffer, a.byteOffset, n)
    : unit === 2
    ? new Uint16Array(a.buffer, a.byteOffset, n)
    : new Uint8Array(a.buffer, a.byteOffset, n);
}

/**
 * The rows `rows` gives of the 2-D C-order array `arr` (chunks `chunks`) into `out`:
 * each chunk's picked rows (whole rows of the chunk, `chunks[1]` elements,
 * edge chunks padded as zarr stores them) come back as one block, whose
 * rows are copied to their place in `out`'s rows.
 */
async function pickedRows2d(
  raw: RawChunks,
  arr: AnyArray,
  rows: RowBlocks,
  shape: number[],
  chunks: number[],
  out: NumericArray,
  label: string,
  path: string,
): Promise<NumericArray> {
  const bpe = out.BYTES_PER_ELEMENT;
  const unit = bpe % 4 === 0 ? 4 : bpe % 2 === 0 ? 2 : 1;
  const per = bpe / unit;
  const chunkRow = chunks[1] * bpe;
  const blocks = rows(chunks[0], chunkRow);
  const cap = chunks[0] * chunkRow;
  const colChunks = Math.ceil(shape[1] / chunks[1]);
  let todo: [number, number, PickBlock][] = [];
  for (const [c, b] of blocks) for (let j = 0; j < colChunks; j++) todo.push([c, j, b]);
  const large = intoWorthIt(out);
  const job = large || todo.length > 1
    ? await placesOf(raw, todo.map(([c, j]) => [c, j] as [number, number]))
    : undefined;
  if (job) {
    // Decoded on one worker straight into the result, or in groups of
    // chunks when small, as `pickedRows` does.
    const dst = shape[1] * bpe;
    const into: BloscIntoJob["into"] = {
      ...job,
      picks: todo.map(([, , b]) => b.pick),
      ats: todo.map(([, j, b]) => (b.at / chunkRow) * dst + j * chunkRow),
      cap,
      rows: {
        src: chunkRow,
        dst,
        widths: todo.map(([, j]) => Math.min(chunks[1], shape[1] - j * chunks[1]) * bpe),
      },
      cut: true,
      names: todo.map(([c, j]) => `${c}.${j}`),
      ...(raw.codec ? { codec: raw.codec } : {}),
    };
    const got = large ? await decodedInto(raw, into, out, label, path) : await decodedInGroups(
      raw,
      into,
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
      label,
      path,
    );
    if (got) {
      out = got.out ?? out;
      todo = got.skipped.map((k) => todo[k]); // never written, another codec: below
    }
  }
  const ow = wordsOf(out, unit);
  const jobs: Promise<void>[] = [];
  for (const [c, j, b] of todo) {
    jobs.push((async () => {
      const { bytes: got } = await pickedChunk(raw, arr, [c, j], cap, b, label, path);
      // The block's rows (chunks[1] elements each) to their columns of `out`.
      const src = wordsOf(got as unknown as NumericArray, unit);
      const width = Math.min(chunks[1], shape[1] - j * chunks[1]) * per;
      const rows = b.length / chunkRow, srcRow = chunks[1] * per, dstRow = shape[1] * per;
      copyColumns(
        ow,
        (b.at / chunkRow) * dstRow + j * chunks[1] * per,
        dstRow,
        src,
        srcRow,
        rows,
        width,
      );
    })());
  }
  await Promise.all(jobs);
  return out;
}

/** `rows` runs of `width` words: from `src` every `srcRow` words, to `dst` from `at` every `dstRow`. */
function copyColumns(
  dst: Words,
  at: number,
  dstRow: number,
  src: Words,
  srcRow: number,
  rows: number,
  width: number,
): void {
  if (width >= 64) {
    for (let q = 0; q < rows; q++) {
      dst.set(src.subarray(q * srcRow, q * srcRow + width), at + q * dstRow);
    }
    return;
  }
  for (let q = 0, s = 0, d = at; q < rows; q++, s += srcRow, d += dstRow) {
    for (let k = 0; k < width; k++) dst[d + k] = src[s + k];
  }
}

/**
 * The bytes `b.pick` picks (`b.length` in all) of chunk `coords` of `arr`:
 * decoded on a worker, which reads a local chunk file itself, or from its
 * stored bytes; else through zarrita (never written: the fill value; a
 * codec the pool does not decode). `check`: as for `decodeBloscChunk`;
 * `checked`, whether it was checked where it was decoded.
 */
async function pickedChunk(
  raw: RawChunks,
  arr: AnyArray,
  coords: [number] | [number, number],
  cap: number,
  b: PickBlock,
  label: string,
  path: string,
  check?: number,
): Promise<{ bytes: Uint8Array; checked: boolean }> {
  const [c, j] = coords, name = coords.join(".");
  let got: Uint8Array | null = null;
  try {
    const file = raw.path?.(c, j);
    if (file) {
      // Read and decoded on a worker: the file's bytes never come here.
      const r = await decodeBloscFile(file, cap, b.pick, check, raw.codec);
      raw.counted?.(r.read);
      got = r.bytes ?? null;
    } else {
      const stored = await raw.get(c, j);
      // Sizes checked against `cap` before anything is allocated (decodeBlosc, or the
      // checked codec of the zarrita path below when this one returns null).
      if (stored) got = await decodeBloscChunk(stored, cap, b.pick, check, raw.codec);
    }
  } catch (e) {
    if (e instanceof CorruptFileError) {
      throw new CorruptFileError(`"${label}": /${path}, chunk ${name}: ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
  const checked = got !== null && check !== undefined;
  if (!got) {
    let data: NumericArray;
    try {
      data = chunkValues((await arr.getChunk(coords)).data);
    } catch (e) {
      throw zarrError(label, path, e);
    }
    got = picked(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), b.pick);
  }
  if (got.length !== b.length) {
    throw new CorruptFileError(
      `"${label}": /${path}, chunk ${name} holds ${got.length} of the ${b.length} bytes asked`,
    );
  }
  return { bytes: got, checked };
}

/**
 * The rows `rows` gives of the 1-D array `arr` into `out`, chunk by chunk (see
 * `rangesOf`); returns `out`, or the array that replaced it (from a local
 * store, a megabyte or more is decoded into the output on one worker: see
 * `decodeBloscFilesInto`).
 */
async function pickedRows(
  raw: RawChunks,
  arr: AnyArray,
  rows: RowBlocks,
  extent: number,
  out: NumericArray,
  label: string,
  path: string,
  watch?: PartWatch,
): Promise<NumericArray> {
  const bpe = out.BYTES_PER_ELEMENT;
  let bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const blocks = rows(extent, bpe);
  const cap = extent * bpe;
  // Sparse indices are checked where they are decoded (on the workers).
  const check = out instanceof Int32Array && watch?.checked ? watch.int32Below : undefined;
  const job = blocks.size > 1 || intoWorthIt(out)
    ? await intoJob(raw, blocks, cap, check)
    : undefined;
  let todo = [...blocks];
  // Large: decoded on one worker straight into `out`; small: in groups of
  // chunks on the workers, copied in here (else a message per chunk).
  const got = !job
    ? undefined
    : intoWorthIt(out)
    ? await decodedInto(raw, job, out, label, path)
    : await decodedInGroups(raw, job, bytes, label, path);
  if (got) {
    out = got.out ?? out;
    bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const skipped = new Set(got.skipped);
    for (const [k, [_, b]] of todo.entries()) {
      if (skipped.has(k)) continue;
      const part = bytes.subarray(b.at, b.at + b.length);
      if (check !== undefined) watch!.checked!(part);
      else watch?.(part);
    }
    // The chunks the worker left (never written, another codec): below.
    todo = got.skipped.map((k) => todo[k]);
  }
  await Promise.all(todo.map(async ([c, b]) => {
    const { bytes: got, checked } = await pickedChunk(raw, arr, [c], cap, b, label, path, check);
    bytes.set(got, b.at);
    const part = bytes.subarray(b.at, b.at + b.length);
    if (checked) watch!.checked!(part);
    else watch?.(part);
  }));
  return out;
}

/**
 * `job` decoded on one worker straight into `out` (`decodeBloscFilesInto`;
 * errors named after the array): the array that replaces `out` and the
 * chunks left to the caller; when the pool could not, `out` (a new one if
 * it was moved and lost) and every chunk.
 */
async function decodedInto(
  raw: RawChunks,
  job: BloscIntoJob["into"],
  out: NumericArray,
  label: string,
  path: string,
): Promise<{ out: NumericArray; skipped: number[] }> {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const length = out.length; // `out` reads 0 once its buffer has moved
  const r = await named(label, path, () => decodeBloscFilesInto(job, bytes));
  const Ctor = out.constructor as
    & (new (b: ArrayBuffer) => NumericArray)
    & (new (n: number) => NumericArray);
  if (r) {
    raw.counted?.(r.read);
    return { out: new Ctor(r.out.buffer as ArrayBuffer), skipped: r.skipped };
  }
  const lost = bytes.byteLength === 0 && length > 0;
  return { out: lost ? largeArray(Ctor, length) : out, skipped: job.paths.map((_, k) => k) };
}

/** `read`'s result; its `CorruptFileError` naming the array (`label`, `path`) first. */
async function named<T>(label: string, path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof CorruptFileError) {
      throw new CorruptFileError(`"${label}": /${path}, ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * `job` decoded on the workers in groups of chunks, copied into `bytes`
 * (`decodeBloscFilesInGroups`; errors named after the array): the chunks
 * left to the caller; undefined when the pool could not (`bytes` is as it
 * was: the caller reads every chunk).
 */
async function decodedInGroups(
  raw: RawChunks,
  job: BloscIntoJob["into"],
  bytes: Uint8Array,
  label: string,
  path: string,
): Promise<{ out?: undefined; skipped: number[] } | undefined> {
  const r = await named(label, path, () => decodeBloscFilesInGroups(job, bytes));
  if (!r) return undefined;
  raw.counted?.(r.read);
  return { skipped: r.skipped };
}

/**
 * The `BloscIntoJob` of the picks `blocks` of a 1-D array from a local
 * store; undefined when a chunk has no local path.
 */
async function intoJob(
  raw: RawChunks,
  blocks: Map<number, PickBlock>,
  cap: number,
  check?: number,
): Promise<BloscIntoJob["into"] | undefined> {
  const places = await placesOf(raw, [...blocks.keys()].map((c) => [c]));
  if (!places) return undefined;
  const picks: number[][] = [], ats: number[] = [];
  for (const b of blocks.values()) {
    picks.push(b.pick);
    ats.push(b.at);
  }
  return {
    ...places,
    picks,
    ats,
    cap,
    ...(check === undefined ? {} : { check }),
    ...(raw.codec ? { codec: raw.codec } : {}),
  };
}
