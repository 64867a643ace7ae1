// A read-only HDF5 file over byte-range reads: groups, attributes, and
// datasets read whole or by row ranges. Row ranges of contiguous datasets
// and of uncompressed chunks are read as just those bytes; compressed
// chunks are read whole, once. Nearby reads are coalesced; metadata is
// cached per file. What it does not read raises UnsupportedFormatError so
// callers can fall back to h5wasm.
import { inflateSync } from "node:zlib";
import { CorruptFileError, LaminError, UnsupportedFormatError } from "../../errors.ts";
import type { Dtype, NumericArray } from "../anndata/matrix.ts";
import { type DType, type Filter, type ObjectInfo, readObject, sizeOf } from "./_parse.ts";
import { PageCache, type RangeSource, Reader, SYNC_READ } from "./_source.ts";

export type { RangeSource } from "./_source.ts";
export { fileSource } from "./_source.ts";

/** Decoded values of a dataset or attribute. */
export type H5Values =
  | { kind: "number"; data: NumericArray; dtype: Dtype }
  | { kind: "bool"; data: Uint8Array }
  | { kind: "string"; data: string[] };

/** Options of range reads. */
export interface ReadOptions {
  /** Merge byte ranges whose gap is at most this (default 4 KiB). */
  gap?: number;
  /** Requests in flight (default 8). */
  concurrency?: number;
}

interface ChunkRef {
  offset: number[];
  address: number;
  size: number;
  mask: number;
}

const dec = new TextDecoder();

interface Collection {
  bytes: Uint8Array;
  offsets: number[];
  /** The collection as one single-byte-per-char string (made on first use). */
  text?: string;
}

const latin = new TextDecoder("windows-1252");

function numeric(
  t: DType,
): { ctor: new (b: ArrayBuffer) => NumericArray; dtype: Dtype } | undefined {
  if (t.kind === "float") {
    return t.size === 4
      ? { ctor: Float32Array, dtype: "float32" }
      : { ctor: Float64Array, dtype: "float64" };
  }
  if (t.kind === "int" || t.kind === "enum") {
    const size = t.kind === "int" ? t.size : t.size;
    const signed = t.kind === "int" ? t.signed : t.base.kind === "int" && t.base.signed;
    const table: Record<
      number,
      [new (b: ArrayBuffer) => NumericArray, Dtype, new (b: ArrayBuffer) => NumericArray, Dtype]
    > = {
      1: [Int8Array, "int8", Uint8Array, "uint8"],
      2: [Int16Array, "int16", Uint16Array, "uint16"],
      4: [Int32Array, "int32", Uint32Array, "uint32"],
      8: [BigInt64Array, "int64", BigUint64Array, "uint64"],
    };
    const row = table[size];
    if (!row) return undefined;
    return signed ? { ctor: row[0], dtype: row[1] } : { ctor: row[2], dtype: row[3] };
  }
  return undefined;
}

/** A group of an {@linkcode H5File}. */
export interface H5Group {
  kind: "group";
  path: string;
  info: ObjectInfo;
  /** Its object header's address. */
  address: number;
}

/** A dataset of an {@linkcode H5File}. */
export class H5Dataset {
  readonly kind = "dataset";
  readonly #file: H5File;
  readonly path: string;
  readonly info: ObjectInfo;
  #chunks?: Promise<ChunkRef[]>;
  #rowAddresses?: Promise<Float64Array>;

  /** @internal */
  constructor(file: H5File, path: string, info: ObjectInfo) {
    this.#file = file;
    this.path = path;
    this.info = info;
  }

  /** The shape (`[]` for a scalar). */
  get shape(): number[] {
    return this.info.shape ?? [];
  }
  /** The element type. */
  get type(): DType {
    if (!this.info.type) {
      throw new CorruptFileError(`"${this.#file.label}": /${this.path} has no datatype`);
    }
    return this.info.type;
  }
  /** numpy-style dtype name, `"bool"` or `"str"`. */
  get dtype(): Dtype | "str" {
    const t = this.type;
    if (t.kind === "bool") return "bool";
    if (t.kind === "fstring" || t.kind === "vstring") return "str";
    const n = numeric(t);
    if (!n) {
      throw new UnsupportedFormatError(
        `"${this.#file.label}": /${this.path}: unsupported datatype`,
      );
    }
    return n.dtype;
  }
  /** Chunk shape, or undefined when not chunked. */
  get chunks(): number[] | undefined {
    return this.info.layout?.kind === "chunked" ? this.info.layout.chunk : undefined;
  }

  /** The whole dataset. */
  async read(): Promise<H5Values> {
    const n = this.shape.length ? this.shape[0] : 1;
    const rows = this.shape.length ? [[0, n] as const] : [[0, 1] as const];
    return await this.#file.decode(this.type, await this.readRows(rows), this.#count(n));
  }

  #count(rows: number): number {
    return rows * this.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  /** Rows `[start, end)` of the first dimension, concatenated, decoded. */
  async readRanges(
    ranges: readonly (readonly [number, number])[],
    options: ReadOptions = {},
  ): Promise<H5Values> {
    let n = 0;
    for (const [s, e] of ranges) n += e - s;
    return await this.#file.decode(this.type, await this.readRows(ranges, options), this.#count(n));
  }

  /** Raw element bytes of row ranges (scalars: `[[0, 1]]`). */
  async readRows(
    ranges: readonly (readonly [number, number])[],
    options: ReadOptions = {},
  ): Promise<Uint8Array> {
    const layout = this.info.layout;
    const label = this.#file.label;
    if (!layout) throw new CorruptFileError(`"${label}": /${this.path} has no data layout`);
    const elem = sizeOf(this.type);
    const rowLen = this.shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = rowLen * elem;
    let total = 0;
    for (const [s, e] of ranges) total += (e - s) * rowBytes;
    if (total === 0) return new Uint8Array(0);
    const first = ranges[0][0], last = ranges[ranges.length - 1][1];
    const span = (last - first) * rowBytes;
    const direct = layout.kind === "contiguous" ||
      (layout.kind === "chunked" && !(this.info.filters ?? []).length);
    if (
      direct && ranges.length > 64 && (span - total) / (ranges.length - 1) <= (options.gap ?? 4096)
    ) {
      // Many ranges a small gap apart (obs columns of a dense selection):
      // one read of their span, then the rows picked out of it, rather than
      // a piece per range only to merge them again.
      const whole = await this.readRows([[first, last]], options);
      const out = new Uint8Array(total);
      let o = 0;
      for (const [s, e] of ranges) {
        const from = (s - first) * rowBytes, len = (e - s) * rowBytes;
        if (len <= 32) {
          // A few bytes: a loop beats making a subarray.
          for (let k = 0; k < len; k++) out[o + k] = whole[from + k];
        } else out.set(whole.subarray(from, from + len), o);
        o += len;
      }
      return out;
    }
    const out = new Uint8Array(total);
    if (layout.kind === "compact") {
      let o = 0;
      for (const [s, e] of ranges) {
        out.set(layout.data.subarray(s * rowBytes, e * rowBytes), o);
        o += (e - s) * rowBytes;
      }
      return out;
    }
    if (layout.kind === "contiguous") {
      if (layout.address === undefined) return out; // never written: fill value (zeros)
      const pieces: Piece[] = [];
      let o = 0;
      for (const [s, e] of ranges) {
        pieces.push({ offset: layout.address + s * rowBytes, length: (e - s) * rowBytes, into: o });
        o += (e - s) * rowBytes;
      }
      await this.#file.fetch(pieces, out, options);
      return out;
    }
    // Chunked.
    const chunk = layout.chunk;
    const filtered = (this.info.filters ?? []).length > 0;
    const fullRows = chunk.slice(1).every((c, i) => c >= this.shape[i + 1]);
    const index = await this.chunkIndex();
    const chunkRowBytes = chunk.slice(1).reduce((a, b) => a * b, 1) * elem;
    if (!filtered && fullRows) {
      // Sub-ranges of uncompressed chunks: just the rows asked for.
      const at = await this.#rowChunks(index);
      const pieces: Piece[] = [];
      let o = 0;
      for (const [s, e] of ranges) {
        for (let r = s; r < e;) {
          const q = Math.floor(r / chunk[0]);
          const c0 = q * chunk[0];
          const stop = Math.min(e, c0 + chunk[0]);
          const address = q < at.length ? at[q] : -1;
          if (address >= 0) {
            pieces.push({
              offset: address + (r - c0) * chunkRowBytes,
              length: (stop - r) * rowBytes,
              into: o,
            });
          }
          o += (stop - r) * rowBytes;
          r = stop;
        }
      }
      await this.#file.fetch(pieces, out, options);
      return out;
    }
    // Whole chunks (compressed, or split across columns): read each once, copy rows.
    const needed = new Map<number, ChunkRef[]>();
    for (const [s, e] of ranges) {
      for (let c0 = Math.floor(s / chunk[0]) * chunk[0]; c0 < e; c0 += chunk[0]) {
        if (!needed.has(c0)) needed.set(c0, index.filter((c) => c.offset[0] === c0));
      }
    }
    const refs = [...needed.values()].flat();
    const raw = new Map<ChunkRef, Uint8Array>();
    const bufs = refs.map((c) => new Uint8Array(c.size));
    await this.#file.fetch(
      refs.map((c, i) => ({ offset: c.address, length: c.size, into: 0, target: bufs[i] })),
      out,
      options,
    );
    const chunkBytes = chunk.reduce((a, b) => a * b, 1) * elem;
    refs.forEach((c, i) =>
      raw.set(c, unfilter(bufs[i], this.info.filters ?? [], c.mask, elem, chunkBytes, label))
    );
    let o = 0;
    const strides = chunk.map((_, i) => chunk.slice(i + 1).reduce((a, b) => a * b, 1));
    for (const [s, e] of ranges) {
      for (let r = s; r < e; r++, o += rowBytes) {
        const c0 = Math.floor(r / chunk[0]) * chunk[0];
        for (const c of needed.get(c0) ?? []) {
          copyRow(raw.get(c)!, c, r - c0, out, o, this.shape, chunk, strides, elem);
        }
      }
    }
    return out;
  }

  /** Where each chunk of whole rows starts (by chunk row number; -1: never written). */
  #rowChunks(index: ChunkRef[]): Promise<Float64Array> {
    if (!this.#rowAddresses) {
      const chunk = this.chunks!;
      const n = Math.ceil((this.shape[0] ?? 0) / chunk[0]);
      const at = new Float64Array(n).fill(-1);
      for (const c of index) {
        const q = c.offset[0] / chunk[0];
        if (Number.isInteger(q) && q < n && c.offset.slice(1).every((x) => x === 0)) {
          at[q] = c.address;
        }
      }
      this.#rowAddresses = Promise.resolve(at);
    }
    return this.#rowAddresses;
  }

  /** The chunk index (v1 B-tree), read once. */
  chunkIndex(): Promise<ChunkRef[]> {
    const layout = this.info.layout;
    if (layout?.kind !== "chunked") return Promise.resolve([]);
    this.#chunks ??= layout.btree === undefined
      ? Promise.resolve([])
      : this.#file.chunkTree(layout.btree, layout.chunk.length);
    return this.#chunks;
  }
}

/** Copy row `local` of a decoded chunk (which may cover only some columns) into `out`. */
function copyRow(
  chunkData: Uint8Array,
  c: ChunkRef,
  local: number,
  out: Uint8Array,
  at: number,
  shape: number[],
  chunk: number[],
  strides: number[],
  elem: number,
): void {
  if (shape.length <= 1) {
    out.set(chunkData.subarray(local * elem, (local + 1) * elem), at);
    return;
  }
  // 2-D: the columns this chunk covers.
  const c1 = c.offset[1];
  const width = Math.min(chunk[1], shape[1] - c1);
  const from = (local * strides[0]) * elem;
  out.set(chunkData.subarray(from, from + width * elem), at + c1 * elem);
}

function unfilter(
  bytes: Uint8Array,
  filters: Filter[],
  mask: number,
  elem: number,
  expected: number,
  label: string,
): Uint8Array {
  let b = bytes;
  for (let i = filters.length - 1; i >= 0; i--) {
    if (mask & (1 << i)) continue;
    const f = filters[i];
    if (f.id === 1) {
      try {
        b = new Uint8Array(inflateSync(b));
      } catch (e) {
        throw new CorruptFileError(
          `"${label}": a compressed chunk does not inflate: ${(e as Error).message}`,
        );
      }
    } else if (f.id === LZF) b = lzfDecompress(b, expected, label);
    else if (f.id === 2) b = unshuffle(b, f.values[0] ?? elem);
    else if (f.id === 3) b = b.subarray(0, b.length - 4);
    else {throw new UnsupportedFormatError(
        `"${label}": HDF5 filter ${f.id} is not read by lamindeno's reader`,
      );}
  }
  if (b.length < expected) {
    const full = new Uint8Array(expected);
    full.set(b);
    return full;
  }
  return b;
}

/** h5py's LZF filter (registered id 32000). */
const LZF = 32000;

/**
 * LZF (liblzf's format, as h5py's filter writes it: the compressed chunk,
 * no header). Literal runs (`ctrl < 32`: ctrl + 1 bytes follow) and back
 * references (length in the top 3 bits, plus a byte when 7; distance in the
 * low 5 bits and the next byte).
 */
export function lzfDecompress(input: Uint8Array, size: number, label: string): Uint8Array {
  const out = new Uint8Array(size);
  let ip = 0, op = 0;
  const bad = () => new CorruptFileError(`"${label}": an LZF-compressed chunk is damaged`);
  while (ip < input.length) {
    let ctrl = input[ip++];
    if (ctrl < 32) {
      ctrl++;
      if (op + ctrl > size || ip + ctrl > input.length) throw bad();
      out.set(input.subarray(ip, ip + ctrl), op);
      ip += ctrl;
      op += ctrl;
    } else {
      let len = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (len === 7) {
        if (ip >= input.length) throw bad();
        len += input[ip++];
      }
      if (ip >= input.length) throw bad();
      ref -= input[ip++];
      len += 2;
      if (ref < 0 || op + len > size) throw bad();
      // Byte by byte: the reference may overlap what is being written.
      for (let k = 0; k < len; k++) out[op++] = out[ref++];
    }
  }
  return op === size ? out : out.subarray(0, op);
}

function unshuffle(b: Uint8Array, size: number): Uint8Array {
  const n = Math.floor(b.length / size);
  const out = new Uint8Array(b.length);
  for (let k = 0; k < size; k++) for (let i = 0; i < n; i++) out[i * size + k] = b[k * n + i];
  out.set(b.subarray(n * size), n * size);
  return out;
}

/** Reads of contiguous bytes are split at this size, so several run at once. */
const DIRECT_READ = 8 << 20;
/** Pieces this large are read in place, never merged with neighbours. */
const BIG_PIECE = 1 << 20;

interface Group {
  offset: number;
  end: number;
  pieces: Piece[];
}

interface Piece {
  offset: number;
  length: number;
  into: number;
  target?: Uint8Array;
}

/** An HDF5 file read through byte ranges. */
export class H5File {
  readonly label: string;
  readonly #src: RangeSource;
  readonly #cache: PageCache;
  #root = 0;
  readonly #objects = new Map<number, Promise<ObjectInfo>>();
  readonly #children = new Map<number, Promise<Map<string, number>>>();
  readonly #heaps = new Map<number, Promise<Collection>>();

  private constructor(src: RangeSource, label: string) {
    this.#src = src;
    this.label = label;
    this.#cache = new PageCache(src, label);
  }

  /** Open a file: reads the superblock; CorruptFileError if it is not HDF5. */
  static async open(src: RangeSource, label: string): Promise<H5File> {
    const f = new H5File(src, label);
    await f.#wrap(async () => {
      f.#cache.size = await src.size();
      const head = await f.#cache.get(0, Math.min(96, f.#cache.size));
      const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
      if (head.length < 8 || sig.some((b, i) => head[i] !== b)) {
        throw new CorruptFileError(`"${label}" is not an HDF5 file (no signature at its start)`);
      }
      const r = new Reader(head, label, 8);
      const version = r.u8();
      if (version <= 1) {
        r.skip(4);
        if (r.u8() !== 8 || r.u8() !== 8) {
          throw new UnsupportedFormatError(`"${label}": offsets/lengths other than 8 bytes`);
        }
        r.skip(1 + 4 + 4 + (version === 1 ? 4 : 0));
        r.skip(32); // base, free space, EOF, driver
        r.skip(8); // root entry: link name offset
        f.#root = r.addr()!;
      } else if (version === 2 || version === 3) {
        if (r.u8() !== 8 || r.u8() !== 8) {
          throw new UnsupportedFormatError(`"${label}": offsets/lengths other than 8 bytes`);
        }
        r.u8();
        r.skip(24); // base, extension, EOF
        f.#root = r.addr()!;
      } else throw new UnsupportedFormatError(`"${label}": superblock version ${version}`);
    });
    return f;
  }

  /** Run `fn`, turning low-level failures into CorruptFileError naming the file. */
  async #wrap<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof LaminError) throw e;
      throw new CorruptFileError(`"${this.label}" is damaged: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  #object(address: number): Promise<ObjectInfo> {
    if (!this.#objects.has(address)) this.#objects.set(address, readObject(this.#cache, address));
    return this.#objects.get(address)!;
  }

  /** Children of a group (name -> object header address). */
  children(info: ObjectInfo, address: number): Promise<Map<string, number>> {
    if (!this.#children.has(address)) {
      this.#children.set(address, this.#wrap(() => this.#readChildren(info)));
    }
    return this.#children.get(address)!;
  }

  async #readChildren(info: ObjectInfo): Promise<Map<string, number>> {
    if (info.links) return info.links;
    const out = new Map<string, number>();
    if (!info.symbolTable) return out;
    // III.D local heap: the names.
    const hr = new Reader(await this.#cache.get(info.symbolTable.heap, 32), this.label);
    hr.sig("HEAP");
    hr.skip(4);
    const dataSize = hr.len();
    hr.skip(8);
    const names = await this.#cache.get(hr.addr()!, dataSize);
    const nameAt = (off: number) => {
      let end = off;
      while (end < names.length && names[end] !== 0) end++;
      return dec.decode(names.subarray(off, end));
    };
    // III.A.1 B-tree (type 0) down to symbol table nodes (III.C).
    const visit = async (addr: number): Promise<void> => {
      const r = new Reader(await this.#cache.get(addr, 24), this.label);
      r.sig("TREE");
      r.u8();
      const level = r.u8(), used = r.u16();
      const body = new Reader(await this.#cache.get(addr + 24, 8 + used * 16), this.label);
      body.skip(8);
      for (let i = 0; i < used; i++) {
        const child = body.addr()!;
        body.skip(8);
        if (level > 0) await visit(child);
        else {
          const sr = new Reader(await this.#cache.get(child, 8), this.label);
          sr.sig("SNOD");
          sr.skip(2);
          const n = sr.u16();
          const entries = new Reader(await this.#cache.get(child + 8, n * 40), this.label);
          for (let k = 0; k < n; k++) {
            const nameOff = entries.len();
            const header = entries.addr()!;
            entries.skip(24);
            out.set(nameAt(nameOff), header);
          }
        }
      }
    };
    await visit(info.symbolTable.btree);
    return out;
  }

  /** The object at `path` ("" or "/" is the root), or undefined. */
  async get(path: string): Promise<H5Group | H5Dataset | undefined> {
    return await this.#wrap(async () => {
      let address = this.#root;
      let info = await this.#object(address);
      const parts = path.split("/").filter(Boolean);
      for (const part of parts) {
        if (info.kind !== "group") return undefined;
        const next = (await this.children(info, address)).get(part);
        if (next === undefined) return undefined;
        address = next;
        info = await this.#object(address);
      }
      const clean = parts.join("/");
      if (info.kind === "group") return { kind: "group", path: clean, info, address };
      return new H5Dataset(this, clean, info);
    });
  }

  /** Names of a group's children, sorted (as h5py lists them). */
  async keys(path: string): Promise<string[]> {
    const node = await this.get(path);
    if (!node || node.kind !== "group") return [];
    return [...(await this.children(node.info, node.address)).keys()].sort();
  }

  /** Decode raw element bytes. */
  async decode(type: DType, raw: Uint8Array, n: number): Promise<H5Values> {
    return await this.#wrap(async () => {
      if (type.kind === "bool") return { kind: "bool", data: raw.slice(0, n) };
      if (type.kind === "fstring") {
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          const b = raw.subarray(i * type.size, (i + 1) * type.size);
          let end = b.indexOf(0);
          if (end < 0) end = b.length;
          out.push(dec.decode(b.subarray(0, end)));
        }
        return { kind: "string", data: out };
      }
      if (type.kind === "vstring") return { kind: "string", data: await this.#vstrings(raw, n) };
      const num = numeric(type);
      if (!num) throw new UnsupportedFormatError(`"${this.label}": unsupported datatype`);
      const bytes = n * sizeOf(type);
      const aligned = raw.byteOffset % sizeOf(type) === 0 && raw.byteLength === bytes &&
          raw.byteOffset === 0 && raw.buffer.byteLength === bytes
        ? raw
        : raw.slice(0, bytes);
      return {
        kind: "number",
        data: new num.ctor(aligned.buffer as ArrayBuffer),
        dtype: num.dtype,
      };
    });
  }

  async #vstrings(raw: Uint8Array, n: number): Promise<string[]> {
    if (raw.length < n * 16) {
      throw new CorruptFileError(`"${this.label}": string references end early`);
    }
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const addrOf = (i: number) =>
      v.getUint32(i * 16 + 4, true) + v.getUint32(i * 16 + 8, true) * 2 ** 32;
    // Strings wanted per collection: a collection most of whose strings are
    // wanted is decoded once (strings are substrings of it), else per string.
    const collections = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const len = v.getUint32(i * 16, true);
      if (len > 0) {
        const a = addrOf(i);
        collections.set(a, (collections.get(a) ?? 0) + 16 + len);
      }
    }
    const heaps = new Map<number, Collection>();
    await Promise.all(
      [...collections.keys()].map(async (a) => heaps.set(a, await this.#collection(a))),
    );
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const len = v.getUint32(i * 16, true);
      if (len === 0) {
        out[i] = "";
        continue;
      }
      const h = heaps.get(addrOf(i))!;
      const index = v.getUint32(i * 16 + 12, true);
      const at = h.offsets[index];
      if (at === undefined || at < 0) {
        throw new CorruptFileError(`"${this.label}": string ${index} missing from its heap`);
      }
      const b = h.bytes;
      let ascii = true;
      for (let k = at; k < at + len; k++) {
        if (b[k] >= 0x80) {
          ascii = false;
          break;
        }
      }
      // ASCII: one char per byte, so a substring of the collection decoded
      // once, or (few wanted from it) the bytes as char codes.
      out[i] = ascii
        ? (h.text !== undefined || collections.get(addrOf(i))! * 2 > b.length)
          ? (h.text ??= latin.decode(b)).substring(at, at + len)
          : len <= 64
          ? String.fromCharCode.apply(null, b.subarray(at, at + len) as unknown as number[])
          : latin.decode(b.subarray(at, at + len))
        : dec.decode(b.subarray(at, at + len));
    }
    return out;
  }

  /** III.E global heap collection: where each object's data starts. */
  #collection(address: number): Promise<Collection> {
    if (!this.#heaps.has(address)) {
      this.#heaps.set(
        address,
        (async () => {
          const h = new Reader(await this.#src.read(address, 16), this.label);
          h.sig("GCOL");
          h.skip(4);
          const size = h.len();
          const bytes = await this.#src.read(address, size);
          const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          const offsets: number[] = [];
          for (let p = 16; p + 16 <= bytes.length;) {
            const index = v.getUint16(p, true);
            const objSize = v.getUint32(p + 8, true) + v.getUint32(p + 12, true) * 2 ** 32;
            if (index === 0) break;
            offsets[index] = p + 16;
            p += 16 + Math.ceil(objSize / 8) * 8;
          }
          return { bytes, offsets };
        })(),
      );
    }
    return this.#heaps.get(address)!;
  }

  /** A dataset's v1 B-tree (type 1) leaves, in order. */
  async chunkTree(address: number, rank: number): Promise<ChunkRef[]> {
    return await this.#wrap(async () => {
      const keySize = 8 + 8 * (rank + 1);
      const out: ChunkRef[] = [];
      const visit = async (addr: number): Promise<void> => {
        const h = new Reader(await this.#cache.get(addr, 24), this.label);
        h.sig("TREE");
        if (h.u8() !== 1) throw new CorruptFileError(`"${this.label}": not a chunk B-tree`);
        const level = h.u8(), used = h.u16();
        const r = new Reader(await this.#cache.get(addr + 24, used * (keySize + 8)), this.label);
        const children: number[] = [];
        for (let i = 0; i < used; i++) {
          const size = r.u32(), mask = r.u32();
          const offset: number[] = [];
          for (let d = 0; d < rank; d++) offset.push(r.len());
          r.skip(8);
          const child = r.addr()!;
          if (level === 0) out.push({ offset, address: child, size, mask });
          else children.push(child);
        }
        for (const c of children) await visit(c);
      };
      await visit(address);
      return out;
    });
  }

  /** Read pieces (coalesced, bounded concurrency) into `out` (or each piece's own target). */
  async fetch(pieces: Piece[], out: Uint8Array, options: ReadOptions = {}): Promise<void> {
    const gap = options.gap ?? 4096;
    let ordered = true;
    for (let i = 1; i < pieces.length && ordered; i++) {
      ordered = pieces[i - 1].offset <= pieces[i].offset;
    }
    const sorted: Piece[] = [];
    for (const p of ordered ? pieces : [...pieces].sort((a, b) => a.offset - b.offset)) {
      // Pieces that continue each other both in the file and in `out` (the
      // chunks of a dataset read whole) become one piece, read in place.
      const last = sorted[sorted.length - 1];
      if (
        last && !last.target && !p.target && last.offset + last.length === p.offset &&
        last.into + last.length === p.into && last.length < DIRECT_READ
      ) {
        last.length += p.length;
      } else sorted.push({ ...p });
    }
    const groups: Group[] = [];
    for (const p of sorted) {
      const last = groups[groups.length - 1];
      if (
        last && p.offset - last.end <= gap && p.length < BIG_PIECE &&
        last.pieces[last.pieces.length - 1].length < BIG_PIECE
      ) {
        last.end = Math.max(last.end, p.offset + p.length);
        last.pieces.push(p);
      } else groups.push({ offset: p.offset, end: p.offset + p.length, pieces: [p] });
    }
    const src = this.#src;
    const truncated = (g: Group) =>
      new CorruptFileError(`"${this.label}" is truncated: data at ${g.offset} is missing`);
    const scatter = (g: Group, bytes: Uint8Array) => {
      if (bytes.length < g.end - g.offset) throw truncated(g);
      for (const p of g.pieces) {
        const part = bytes.subarray(p.offset - g.offset, p.offset - g.offset + p.length);
        (p.target ?? out).set(part, p.target ? 0 : p.into);
      }
    };
    const into = (p: Piece) => p.target ?? out.subarray(p.into, p.into + p.length);
    // Small reads of a local file: synchronously, in one loop (streaming a
    // subset makes tens of thousands of them; a promise each would double
    // their cost). The rest: async, a few in flight.
    const rest: Group[] = [];
    await this.#wrap(() => {
      for (const g of groups) {
        if (!src.readIntoSync || g.end - g.offset > SYNC_READ) rest.push(g);
        else if (g.pieces.length === 1) {
          if (src.readIntoSync(g.offset, into(g.pieces[0])) < g.end - g.offset) throw truncated(g);
        } else {
          const bytes = new Uint8Array(g.end - g.offset);
          scatter(g, bytes.subarray(0, src.readIntoSync(g.offset, bytes)));
        }
      }
      return Promise.resolve();
    });
    let next = 0;
    const worker = async () => {
      while (next < rest.length) {
        const g = rest[next++];
        if (g.pieces.length === 1 && src.readInto) {
          // One piece: read straight into its place.
          if (await src.readInto(g.offset, into(g.pieces[0])) < g.end - g.offset) {
            throw truncated(g);
          }
        } else scatter(g, await src.read(g.offset, g.end - g.offset));
      }
    };
    await this.#wrap(() =>
      Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, rest.length) }, worker))
        .then(() => {})
    );
  }

  /** The root's object header address. */
  get root(): number {
    return this.#root;
  }
}
