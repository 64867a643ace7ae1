// Zarr arrays read with checks: decompression capped at a chunk's declared
// size (zlib, gzip, blosc), every decoded chunk exactly as large as the
// array's chunks, claimed shapes backed by chunks that exist, and zarrita's
// errors as typed LaminErrors naming the element.
import * as zarr from "zarrita";
import { gunzipSync, inflateSync } from "node:zlib";
import { INFLATE_BEYOND, nativeInflate, nativeInflateInfo, stat } from "../../_runtime.ts";
import { CorruptFileError, LaminError, UnsupportedFormatError } from "../../errors.ts";
import type { ZarrStoreAt } from "./_zarr_store.ts";
import { bloscHeader } from "../_blosc.ts";
import { CheckedVLenUTF8 } from "./_zarr_vlen.ts";
import { decodeBloscChunk } from "../hdf5/_unfilter_pool.ts";

// deno-lint-ignore no-explicit-any
type AnyArray = zarr.Array<any, any>;

/** Chunks of variable-size elements (strings) may decode to at most this. */
export const VARIABLE_CAP = 256 << 20;
/** Arrays claiming more than this must have their last chunk stored. */
const PROBE_BYTES = 256 << 20;

const WIDTH: Record<string, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  float16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
  float64: 8,
};

/** Bytes per element of a zarrita data type; undefined when variable. */
function width(dataType: string): number | undefined {
  if (WIDTH[dataType]) return WIDTH[dataType];
  const m = /^v2:([US])(\d+)$/.exec(dataType);
  return m ? Number(m[2]) * (m[1] === "U" ? 4 : 1) : undefined;
}

/** The most bytes a chunk of `meta` may decompress to. */
function capOf(meta: { shape: number[]; dataType: string }): number {
  const w = width(meta.dataType);
  if (w === undefined) return VARIABLE_CAP;
  return meta.shape.reduce((a, b) => a * b, 1) * w;
}

function inflating(format: "zlib" | "gzip") {
  return class {
    readonly kind = "bytes_to_bytes";
    readonly #cap: number;
    readonly #fixed: boolean;
    constructor(cap: number, fixed = false) {
      this.#cap = cap;
      this.#fixed = fixed;
    }
    static fromConfig(_config: unknown, meta: { shape: number[]; dataType: string }) {
      return new this(capOf(meta), width(meta.dataType) !== undefined);
    }
    encode(): never {
      throw new UnsupportedFormatError(`lamindeno does not write ${format} zarr chunks`);
    }
    decode(bytes: Uint8Array): Uint8Array {
      if (this.#fixed && this.#cap > 0 && nativeInflateInfo().on) {
        // A chunk of fixed-width elements: libdeflate into memory of its size.
        const out = new Uint8Array(this.#cap);
        const n = nativeInflate(bytes, out, format)!;
        if (n >= 0) return n === out.length ? out : out.slice(0, n);
        throw new Error(
          n === INFLATE_BEYOND
            ? `the chunk inflates beyond its declared size (${this.#cap} bytes)`
            : `the chunk does not inflate (bad ${format} data or checksum)`,
        );
      }
      const opts = { maxOutputLength: this.#cap + 1 };
      let out: Uint8Array;
      try {
        out = format === "zlib" ? inflateSync(bytes, opts) : gunzipSync(bytes, opts);
      } catch (e) {
        if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
          throw new Error(`the chunk inflates beyond its declared size (${this.#cap} bytes)`);
        }
        throw new Error(`the chunk does not inflate (${(e as Error).message})`);
      }
      if (out.length > this.#cap) {
        throw new Error(`the chunk inflates beyond its declared size (${this.#cap} bytes)`);
      }
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    }
  };
}

interface Decoder {
  decode(b: Uint8Array): Promise<Uint8Array> | Uint8Array;
}
type Loader = () => Promise<{ fromConfig(c: unknown, m: unknown): Decoder }>;

/**
 * zarr's blosc or zstd codec (zstd: v3's default compressor, numcodecs' Zstd
 * in v2) with the chunk's declared size checked against the array's chunks
 * before anything is decoded (blosc's header, a zstd frame's), decoded on
 * the worker pool (LZ4, BloscLZ, zlib and zstd by our decoders, other blosc
 * codecs by numcodecs' wasm there, off this thread, chunks in parallel);
 * small chunks without a pool, and what the pool leaves (snappy, bit
 * shuffle, zstd frames that do not say their size), by numcodecs' here.
 */
function checkedPooled(codec: "blosc" | "zstd", load: Loader) {
  return class {
    readonly kind = "bytes_to_bytes";
    readonly #cap: number;
    readonly #config: unknown;
    readonly #meta: unknown;
    #inner?: Promise<Decoder>;
    constructor(cap: number, config: unknown, meta: unknown) {
      this.#cap = cap;
      this.#config = config;
      this.#meta = meta;
    }
    static fromConfig(config: unknown, meta: { shape: number[]; dataType: string }) {
      return new this(capOf(meta), config, meta);
    }
    encode(): never {
      throw new UnsupportedFormatError(`lamindeno does not write ${codec} zarr chunks`);
    }
    async decode(bytes: Uint8Array): Promise<Uint8Array> {
      // Sizes checked against the cap first (CorruptFileError otherwise).
      if (codec === "blosc") bloscHeader(bytes, this.#cap);
      const out = await decodeBloscChunk(
        bytes,
        this.#cap,
        undefined,
        undefined,
        codec === "zstd" ? "zstd" : undefined,
      );
      if (out) return out;
      this.#inner ??= load().then((C) => C.fromConfig(this.#config, this.#meta));
      const got = await (await this.#inner).decode(bytes);
      if (got.length > this.#cap) {
        throw new CorruptFileError(
          `the ${codec} chunk decodes to ${got.length} bytes, more than a chunk of ${this.#cap}`,
        );
      }
      return got;
    }
  };
}

let installed = false;

/** Put the capped codecs into zarrita's registry (once). */
export function installCheckedCodecs(): void {
  if (installed) return;
  installed = true;
  const reg = zarr.registry as unknown as Map<string, () => Promise<unknown> | unknown>;
  const Zlib = inflating("zlib"), Gzip = inflating("gzip");
  for (const name of ["zlib", "numcodecs.zlib"]) reg.set(name, () => Zlib);
  for (const name of ["gzip", "numcodecs.gzip"]) reg.set(name, () => Gzip);
  for (const name of ["vlen-utf8", "numcodecs.vlen-utf8"]) reg.set(name, () => CheckedVLenUTF8);
  for (const codec of ["zstd", "blosc"] as const) {
    for (const name of [codec, `numcodecs.${codec}`]) {
      const load = reg.get(name) as Loader | undefined;
      if (load) {
        const Checked = checkedPooled(codec, async () => await load());
        reg.set(name, () => Checked);
      }
    }
  }
}

/** An error's message with those of its causes. */
export function messageOf(e: unknown): string {
  const parts: string[] = [];
  for (let c = e, k = 0; c && k < 5; c = (c as Error).cause, k++) {
    parts.push((c as Error).message ?? String(c));
  }
  return parts.join(": ");
}

/** A zarrita (or codec) failure as a typed error naming the element. */
export function zarrError(label: string, path: string, e: unknown): LaminError {
  if (e instanceof LaminError) return e;
  if (zarr.isZarritaError(e, "UnsupportedError")) {
    return new UnsupportedFormatError(
      `"${label}": /${path} uses a zarr feature lamindeno's zarr reader does not read: ` +
        `${messageOf(e)}`,
      { cause: e },
    );
  }
  if (zarr.isZarritaError(e, "UnknownCodecError")) {
    return new UnsupportedFormatError(
      `"${label}": /${path} is compressed with ${
        (e as { codec: string }).codec
      }, which lamindeno's zarr reader does not decode; re-save it with zlib or blosc`,
      { cause: e },
    );
  }
  return new CorruptFileError(`"${label}": cannot read /${path}: ${messageOf(e)}`, { cause: e });
}

/** How an array names its stored objects: chunks, or a sharded v3 array's shards. */
interface ChunkNaming {
  /** The grid the objects cover (chunk shape, or shard shape). */
  grid: number[];
  /** The key of the object at `coords`. */
  key(coords: readonly number[]): string;
  /** The coordinates a key under the array's folder names; undefined for other keys. */
  coords(key: string): number[] | undefined;
}

/**
 * How the array at `path` of `shape` names its stored objects: v2 by its
 * dimension separator, v3 by its chunk key encoding, a sharded v3 array by
 * its shards (the chunk grid is the shards').
 */
async function chunkNaming(
  source: ZarrStoreAt,
  path: string,
  shape: number[],
  chunks: number[],
): Promise<ChunkNaming> {
  const base = path ? `${path}/` : "";
  const naming = (grid: number[], head: string, sep: string): ChunkNaming => ({
    grid,
    key: (c) => base + (c.length ? head + c.join(sep) : head ? head.slice(0, -1) : "0"),
    coords(key) {
      if (!key.startsWith(base)) return undefined;
      const rest = key.slice(base.length);
      if (!shape.length) return rest === (head ? head.slice(0, -1) : "0") ? [] : undefined;
      if (!rest.startsWith(head)) return undefined;
      const parts = rest.slice(head.length).split(sep);
      if (parts.length !== shape.length || !parts.every((p) => /^\d+$/.test(p))) return undefined;
      return parts.map(Number);
    },
  });
  const v2 = await source.get(`${base}.zarray`);
  if (v2) {
    return naming(chunks, "", JSON.parse(new TextDecoder().decode(v2)).dimension_separator ?? ".");
  }
  const m = JSON.parse(new TextDecoder().decode((await source.get(`${base}zarr.json`))!));
  const grid = m?.chunk_grid?.configuration?.chunk_shape;
  const enc = m?.chunk_key_encoding ?? {};
  const sep = enc.configuration?.separator ?? (enc.name === "v2" ? "." : "/");
  return naming(
    Array.isArray(grid) && grid.length === shape.length ? grid : chunks,
    enc.name === "v2" ? "" : `c${sep}`,
    sep,
  );
}

/**
 * Bytes of an array of `shape` (elements of `w` bytes) that its stored
 * objects back: along each dimension up to the end of the furthest object
 * stored. Undefined when the store cannot list the array's folder.
 */
async function backedBytes(
  source: ZarrStoreAt,
  path: string,
  naming: ChunkNaming,
  shape: number[],
  w: number,
): Promise<number | undefined> {
  const keys = await source.keysUnder?.(path);
  if (!keys) return undefined;
  const furthest = shape.map(() => -1);
  for (const k of keys) {
    const c = naming.coords(k);
    if (c) { for (const [i, x] of c.entries()) furthest[i] = Math.max(furthest[i], x); }
  }
  return shape.reduce((a, d, i) => a * Math.min(d, (furthest[i] + 1) * naming.grid[i]), w);
}

/** Whether `key` is stored (a local chunk file by its metadata, not its bytes). */
async function stored(source: ZarrStoreAt, key: string): Promise<boolean> {
  if (!source.filePath) return (await source.get(key)) !== undefined;
  try {
    const local = source.filePath(key);
    return local !== undefined && (await stat(local)).isFile;
  } catch {
    return false;
  }
}

/**
 * Check an opened array's claims (shape, chunk shape) and wrap its chunk
 * reads: a chunk that fails to decode or decodes to the wrong number of
 * values is a `CorruptFileError` naming the element and the chunk.
 */
export async function checkedArray(
  arr: AnyArray,
  source: ZarrStoreAt,
  path: string,
  label: string,
): Promise<AnyArray> {
  const shape = arr.shape as number[], chunks = arr.chunks as number[];
  const where = `"${label}": /${path}`;
  const bad = (what: string): never => {
    throw new CorruptFileError(`${where} claims ${what}: the store is damaged`);
  };
  if (chunks.length !== shape.length) bad(`chunks [${chunks}] for shape [${shape}]`);
  let n = 1, perChunk = 1;
  for (const [i, d] of shape.entries()) {
    if (!Number.isSafeInteger(d) || d < 0) bad(`a dimension of ${d}`);
    if (!Number.isSafeInteger(chunks[i]) || chunks[i] < 1) bad(`a chunk dimension of ${chunks[i]}`);
    n *= d;
    perChunk *= chunks[i];
  }
  const w = width(String(arr.dtype)) ?? 8;
  if (!Number.isSafeInteger(n * w)) bad(`shape [${shape}] (${n * w} bytes)`);
  if (perChunk * w > 2 ** 31) bad(`chunks of ${perChunk * w} bytes`);
  if (n * w > PROBE_BYTES && n > 0) {
    // A big claim must be backed by data: its last chunk stored or, where
    // zarr left chunks of the fill value unwritten (zarr-python 3's
    // default), chunks stored up to PROBE_BYTES from its end.
    const naming = await chunkNaming(source, path, shape, chunks).catch(() => undefined);
    const last = naming?.key(shape.map((d, i) => Math.max(0, Math.ceil(d / naming.grid[i]) - 1)));
    if (naming === undefined || !(await stored(source, last!))) {
      const backed = naming && await backedBytes(source, path, naming, shape, w);
      if (backed === undefined || n * w - backed > PROBE_BYTES) {
        bad(
          `shape [${shape}] (${n * w} bytes) but its last chunk is not stored` +
            (backed === undefined ? "" : ` and its stored chunks back ${backed} bytes of it`),
        );
      }
    }
  }
  const getChunk = arr.getChunk.bind(arr);
  // deno-lint-ignore no-explicit-any
  (arr as any).getChunk = async (coords: number[], ...rest: unknown[]) => {
    let c;
    try {
      // deno-lint-ignore no-explicit-any
      c = await (getChunk as any)(coords, ...rest);
    } catch (e) {
      throw zarrError(label, `${path} (chunk ${coords.join(".")})`, e);
    }
    const got = (c.data as { length: number }).length;
    if (got !== perChunk) {
      throw new CorruptFileError(
        `${where}: chunk ${coords.join(".")} decodes to ${got} values where the array's ` +
          `chunks hold ${perChunk}: the store is damaged`,
      );
    }
    return c;
  };
  return arr;
}
