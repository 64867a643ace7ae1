// A small HDF5 writer for what anndata needs, in the layout h5py writes by
// default (superblock v0, version 1 object headers, symbol-table groups,
// contiguous or chunked datasets indexed by version 1 B-trees, strings in
// global heap collections), so h5py, h5wasm and our range reader all open
// it. It exists because h5wasm cannot write HDF5 enums, which numpy bools
// (anndata's bool columns and the `ordered` flag) are.
//
// Data is written sequentially through a file handle as it is produced;
// metadata follows its data, and the superblock is patched in last.
import { deflateSync } from "node:zlib";
import { StorageError, ValidationError } from "../../errors.ts";
import * as rt from "../../_runtime.ts";
import type { NumericArray } from "../anndata/matrix.ts";
import type { TreeArray, TreeAttr, TreeGroup, TreeNode, TreeRecords } from "../anndata/_tree.ts";
import { Bytes, UNDEF } from "./_bytes.ts";
import {
  attribute,
  chunkedLayout,
  compoundType,
  contiguousLayout,
  dataspace,
  datatype,
  deflatePipeline,
  elementSize,
  fillValue,
  type H5Type,
  MSG,
  objectHeader,
  symbolTable,
} from "./_messages.ts";

/** Options of {@linkcode writeHdf5}. */
export interface WriteHdf5Options {
  /** Compress chunked datasets with deflate (gzip). Default: uncompressed, for range reads. */
  compression?: "gzip";
  /** Deflate level, 1-9 (default 4, as h5py). */
  level?: number;
}

const SUPERBLOCK_SIZE = 96;
/** Symbol table nodes hold 2 * GROUP_LEAF_K entries. */
const GROUP_LEAF_K = 16;
/** Group B-tree nodes hold 2 * GROUP_INTERNAL_K children. */
const GROUP_INTERNAL_K = 64;
/** Chunk B-tree nodes hold 2 * CHUNK_K children (HDF5's default for superblock v0). */
const CHUNK_K = 32;
/** Global heap collections we open (bigger objects get their own). */
const COLLECTION_SIZE = 64 * 1024;

const enc = new TextEncoder();

interface Collection {
  address: number;
  size: number;
  body: Bytes;
  next: number;
}

/** Where an object was written: its header, and for groups the symbol table. */
interface Written {
  header: number;
  btree?: number;
  heap?: number;
}

class Writer {
  #file: rt.FileHandle;
  #end = SUPERBLOCK_SIZE;
  #heap: Collection | undefined;
  readonly #compression: WriteHdf5Options;

  constructor(file: rt.FileHandle, options: WriteHdf5Options) {
    this.#file = file;
    this.#compression = options;
  }

  get end(): number {
    return this.#end;
  }

  async writeAt(address: number, bytes: Uint8Array): Promise<void> {
    await rt.writeAll(this.#file, bytes, address);
  }

  /** Append `bytes` at the end of the file; their address. */
  async append(bytes: Uint8Array): Promise<number> {
    const at = this.#end;
    this.#end += bytes.length;
    await this.writeAt(at, bytes);
    return at;
  }

  // --- global heap (IV.A... III.E): variable-length strings ---

  async #flushHeap(): Promise<void> {
    const h = this.#heap;
    if (!h) return;
    // The rest of the collection is one free-space object (index 0).
    const free = h.size - h.body.length;
    h.body.u16(0).u16(0).u32(0).u64(free);
    await this.writeAt(h.address, h.body.padTo(h.size).bytes());
    this.#heap = undefined;
  }

  /** Store a string in a global heap collection: its 16-byte reference. */
  async string(s: string | null, out: Bytes): Promise<void> {
    if (s?.includes("\0")) {
      // h5py reads such a string cut at its NUL (and refuses to write one).
      throw new ValidationError(
        `cannot write the string ${JSON.stringify(s.slice(0, 40))} to HDF5: it holds a NUL ` +
          `character, which HDF5 readers take for its end; remove it, or write zarr`,
      );
    }
    const data = enc.encode(s ?? "");
    if (data.length === 0) {
      out.u32(0).u64(0).u32(0);
      return;
    }
    const need = 16 + Math.ceil(data.length / 8) * 8;
    let h = this.#heap;
    if (!h || h.body.length + need + 16 > h.size || h.next > 0xfffe) {
      await this.#flushHeap();
      const size = Math.max(COLLECTION_SIZE, 16 + need + 16);
      const address = this.#end;
      this.#end += size;
      h = this.#heap = {
        address,
        size,
        body: new Bytes().raw(enc.encode("GCOL")).u8(1).u8(0).u16(0).u64(size),
        next: 1,
      };
    }
    const index = h.next++;
    h.body.u16(index).u16(1).u32(0).u64(data.length).raw(data).pad(8);
    out.u32(data.length).u64(h.address).u32(index);
  }

  async finish(root: Written): Promise<void> {
    await this.#flushHeap();
    // Superblock version 0 (III.A.1), with the root group's symbol table entry.
    const sb = new Bytes().raw(new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))
      .u8(0).u8(0).u8(0).u8(0).u8(0).u8(8).u8(8).u8(0)
      .u16(GROUP_LEAF_K).u16(GROUP_INTERNAL_K).u32(0)
      .u64(0).u64(UNDEF).u64(this.#end).u64(UNDEF)
      .u64(0).u64(root.header).u32(1).u32(0).u64(root.btree!).u64(root.heap!);
    await this.writeAt(0, sb.bytes());
  }

  // --- attributes ---

  async attributes(attrs: Record<string, TreeAttr>): Promise<[number, Uint8Array][]> {
    const out: [number, Uint8Array][] = [];
    for (const [name, v] of Object.entries(attrs)) {
      let type: H5Type;
      let shape: number[];
      const value = new Bytes();
      if (typeof v === "string") {
        [type, shape] = ["str", []];
        await this.string(v, value);
      } else if (typeof v === "boolean") {
        [type, shape] = ["bool", []];
        value.u8(v ? 1 : 0);
      } else if (typeof v === "number") {
        [type, shape] = [Number.isInteger(v) ? "int64" : "float64", []];
        numberInto(value, type, v);
      } else if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
        [type, shape] = ["str", [v.length]];
        for (const s of v as string[]) await this.string(s, value);
      } else if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
        type = (v as number[]).every(Number.isInteger) ? "int64" : "float64";
        shape = [v.length];
        for (const x of v as number[]) numberInto(value, type, x);
      } else {
        throw new ValidationError(`cannot write attribute ${name}: ${JSON.stringify(v)}`);
      }
      out.push([MSG.attribute, attribute(name, datatype(type), dataspace(shape), value.bytes())]);
    }
    return out;
  }

  // --- datasets ---

  async dataset(a: TreeArray, path: string): Promise<Written> {
    const type = a.dtype as H5Type;
    const elem = elementSize(type);
    const n = a.shape.reduce((x, y) => x * y, 1);
    if (a.data.length !== n) {
      throw new ValidationError(`${path}: ${a.data.length} values for shape [${a.shape}]`);
    }
    const messages: [number, Uint8Array][] = [
      [MSG.dataspace, dataspace(a.shape)],
      [MSG.datatype, datatype(type)],
    ];
    if (a.chunks && type !== "str" && a.shape.length > 0 && n > 0) {
      const { btree, filtered } = await this.#chunked(a, elem, path);
      messages.push([MSG.fillValue, fillValue(true)]);
      messages.push([MSG.layout, chunkedLayout(btree, a.chunks, elem)]);
      if (filtered) messages.push([MSG.filters, deflatePipeline(this.#compression.level ?? 4)]);
    } else {
      let bytes: Uint8Array;
      if (type === "str") {
        const refs = new Bytes();
        for (const s of a.data as (string | null)[]) await this.string(s, refs);
        bytes = refs.bytes();
      } else bytes = raw(a.data as NumericArray, 0, n);
      const address = bytes.length > 0 ? await this.append(bytes) : undefined;
      messages.push([MSG.fillValue, fillValue(false)]);
      messages.push([MSG.layout, contiguousLayout(address, bytes.length)]);
    }
    messages.push(...await this.attributes(a.attrs));
    return { header: await this.append(objectHeader(messages)) };
  }

  /** Chunks along the first dimension, then their B-tree; the tree's root address. */
  async #chunked(a: TreeArray, elem: number, path: string) {
    const chunks = a.chunks!;
    if (chunks.length !== a.shape.length || chunks.some((c, i) => i > 0 && c !== a.shape[i])) {
      throw new ValidationError(`${path}: only chunking along the first dimension is written`);
    }
    const rowLen = a.shape.slice(1).reduce((x, y) => x * y, 1);
    const perChunk = chunks[0] * rowLen;
    const count = Math.ceil(a.shape[0] / chunks[0]);
    const gzip = this.#compression.compression === "gzip";
    const entries: ChunkEntry[] = [];
    for (let c = 0; c < count; c++) {
      const start = c * perChunk;
      const take = Math.min(perChunk, a.data.length - start);
      let bytes = raw(a.data as NumericArray, start, take, perChunk);
      if (gzip) bytes = deflateSync(bytes, { level: this.#compression.level ?? 4 });
      const address = await this.append(bytes);
      entries.push({
        address,
        size: bytes.length,
        offset: [c * chunks[0], ...chunks.slice(1).map(() => 0)],
      });
    }
    const rightEdge = [count * chunks[0], ...chunks.slice(1).map(() => 0)];
    return { btree: await this.#chunkTree(entries, rightEdge, elem), filtered: gzip };
  }

  /** Write a (multi-level) v1 B-tree of type 1 over `entries`; its root's address. */
  async #chunkTree(entries: ChunkEntry[], rightEdge: number[], _elem: number): Promise<number> {
    const rank = entries[0].offset.length;
    const keySize = 8 + 8 * (rank + 1);
    const nodeSize = 24 + 2 * CHUNK_K * 8 + (2 * CHUNK_K + 1) * keySize;
    const key = (b: Bytes, e: { size: number; offset: number[] }) => {
      b.u32(e.size).u32(0);
      for (const o of e.offset) b.u64(o);
      b.u64(0);
    };
    let level = 0;
    let nodes: ChunkEntry[] = entries;
    for (;;) {
      const parents: ChunkEntry[] = [];
      for (let i = 0; i < nodes.length; i += 2 * CHUNK_K) {
        const group = nodes.slice(i, i + 2 * CHUNK_K);
        const right = nodes[i + 2 * CHUNK_K]?.offset ?? rightEdge;
        const b = new Bytes().raw(enc.encode("TREE")).u8(1).u8(level).u16(group.length)
          .u64(UNDEF).u64(UNDEF);
        for (const e of group) {
          key(b, e);
          b.u64(e.address);
        }
        key(b, { size: 0, offset: right });
        const address = await this.append(b.padTo(nodeSize).bytes());
        parents.push({ address, size: group[0].size, offset: group[0].offset });
      }
      if (parents.length === 1) return parents[0].address;
      nodes = parents;
      level++;
    }
  }

  // --- groups (III.B v1 B-tree type 0, III.C symbol table nodes, III.D local heap) ---

  async group(g: TreeGroup, path: string): Promise<Written> {
    const children: [string, Written, boolean][] = [];
    for (const [name, child] of Object.entries(g.children)) {
      validateName(name, path);
      children.push([name, await this.node(child, `${path}/${name}`), child.kind === "group"]);
    }
    // Names in the local heap, sorted as the B-tree needs them (byte order).
    const sorted = children.map(([name, w, isGroup]) => ({
      name,
      bytes: enc.encode(name),
      w,
      isGroup,
    }))
      .sort((x, y) => compareBytes(x.bytes, y.bytes));
    const heapData = new Bytes().u64(0); // offset 0: the empty name
    const offsets = sorted.map((c) => {
      const at = heapData.length;
      heapData.raw(c.bytes).u8(0).pad(8);
      return at;
    });
    const dataAddress = await this.append(heapData.bytes());
    const heap = await this.append(
      new Bytes().raw(enc.encode("HEAP")).u8(0).u8(0).u16(0).u64(heapData.length)
        .u64(1) // no free block (H5HL_FREE_NULL)
        .u64(dataAddress).bytes(),
    );
    // Symbol table nodes of up to 2 * GROUP_LEAF_K entries.
    const per = 2 * GROUP_LEAF_K;
    const snods: { address: number; lastName: number }[] = [];
    for (let i = 0; i < Math.max(sorted.length, 1); i += per) {
      const part = sorted.slice(i, i + per);
      const b = new Bytes().raw(enc.encode("SNOD")).u8(1).u8(0).u16(part.length);
      part.forEach((c, k) => {
        b.u64(offsets[i + k]).u64(c.w.header);
        if (c.isGroup) b.u32(1).u32(0).u64(c.w.btree!).u64(c.w.heap!);
        else b.u32(0).u32(0).u64(0).u64(0);
      });
      const address = await this.append(b.padTo(8 + per * 40).bytes());
      snods.push({ address, lastName: part.length ? offsets[i + part.length - 1] : 0 });
      if (sorted.length === 0) break;
    }
    // The B-tree over them: nodes of up to 2 * GROUP_INTERNAL_K children,
    // as many levels as it takes (each key the last name below it).
    const cap = 2 * GROUP_INTERNAL_K;
    const nodeSize = 24 + cap * 8 + (cap + 1) * 8;
    let level = 0;
    let below: { address: number; lastName: number }[] = snods;
    let btree: number;
    for (;;) {
      const nodes: { address: number; lastName: number }[] = [];
      for (let i = 0; i < Math.max(below.length, 1); i += cap) {
        const part = sorted.length === 0 ? [] : below.slice(i, i + cap);
        const tree = new Bytes().raw(enc.encode("TREE")).u8(0).u8(level)
          .u16(part.length).u64(UNDEF).u64(UNDEF).u64(0);
        for (const s of part) tree.u64(s.address).u64(s.lastName);
        const address = await this.append(tree.padTo(nodeSize).bytes());
        nodes.push({ address, lastName: part.length ? part[part.length - 1].lastName : 0 });
        if (sorted.length === 0) break;
      }
      if (nodes.length === 1) {
        btree = nodes[0].address;
        break;
      }
      below = nodes;
      level++;
    }
    const messages: [number, Uint8Array][] = [
      [MSG.symbolTable, symbolTable(btree, heap)],
      ...await this.attributes(g.attrs),
    ];
    return { header: await this.append(objectHeader(messages)), btree, heap };
  }

  async node(n: TreeNode, path: string): Promise<Written> {
    return n.kind === "group"
      ? await this.group(n, path)
      : n.kind === "records"
      ? await this.records(n, path)
      : await this.dataset(n, path);
  }

  /**
   * An array of records as h5py writes numpy's structured arrays: a 1-D
   * contiguous dataset of a compound type (strings variable-length, as
   * anndata writes a rec-array's object fields).
   */
  async records(r: TreeRecords, path: string): Promise<Written> {
    const types = r.fields.map((f) => f.dtype as H5Type);
    const offsets: number[] = [];
    let size = 0;
    for (const t of types) {
      offsets.push(size);
      size += elementSize(t);
    }
    const n = r.length;
    const body = new Uint8Array(size * n);
    for (const [k, f] of r.fields.entries()) {
      if (f.data.length !== n) {
        throw new ValidationError(`${path}: field ${f.name} has ${f.data.length} of ${n} values`);
      }
      const es = elementSize(types[k]);
      let src: Uint8Array;
      if (types[k] === "str") {
        const refs = new Bytes();
        for (const v of f.data as (string | null)[]) await this.string(v, refs);
        src = refs.bytes();
      } else src = raw(f.data as NumericArray, 0, n);
      for (let i = 0; i < n; i++) {
        body.set(src.subarray(i * es, (i + 1) * es), i * size + offsets[k]);
      }
    }
    const address = body.length > 0 ? await this.append(body) : undefined;
    const messages: [number, Uint8Array][] = [
      [MSG.dataspace, dataspace([n])],
      [MSG.datatype, compoundType(r.fields.map((f) => f.name), types, offsets, size)],
      [MSG.fillValue, fillValue(false)],
      [MSG.layout, contiguousLayout(address, body.length)],
      ...await this.attributes(r.attrs),
    ];
    return { header: await this.append(objectHeader(messages)) };
  }
}

interface ChunkEntry {
  address: number;
  size: number;
  offset: number[];
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function validateName(name: string, path: string): void {
  if (name === "" || name.includes("/") || name === "." || name.includes("\0")) {
    throw new ValidationError(`${path || "/"}: "${name}" is not a valid HDF5 name`);
  }
}

function numberInto(b: Bytes, type: "int64" | "float64", v: number): void {
  if (type === "int64") {
    const x = new BigInt64Array([BigInt(v)]);
    b.raw(new Uint8Array(x.buffer));
  } else b.raw(new Uint8Array(new Float64Array([v]).buffer));
}

/** Little-endian bytes of `count` values from `start`, zero-padded to `padTo` values. */
function raw(a: NumericArray, start: number, count: number, padTo = count): Uint8Array {
  const size = a.BYTES_PER_ELEMENT;
  const src = new Uint8Array(a.buffer, a.byteOffset + start * size, count * size);
  if (padTo === count) return src;
  const out = new Uint8Array(padTo * size);
  out.set(src);
  return out;
}

/**
 * Write a tree of groups and arrays as an HDF5 file at `path` (replaced if
 * it exists). The caller picks a temporary name and moves it into place.
 *
 * @example
 * ```ts ignore
 * await writeHdf5({ kind: "group", attrs: {}, children: {} }, "empty.h5");
 * ```
 */
export async function writeHdf5(
  tree: TreeGroup,
  path: string,
  options: WriteHdf5Options = {},
): Promise<void> {
  let file: rt.FileHandle;
  try {
    file = await rt.openFile(path, "w");
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const w = new Writer(file, options);
    await w.writeAt(0, new Uint8Array(SUPERBLOCK_SIZE));
    const root = await w.group(tree, "");
    await w.finish(root);
    await file.sync();
  } finally {
    await file.close();
  }
}
