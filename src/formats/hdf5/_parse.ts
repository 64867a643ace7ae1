// Parsing HDF5 object headers and their messages (file format spec 3.0,
// IV.A): what the reader needs for groups, datasets and attributes.
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import type { PageCache } from "./_bytes_io.ts";
import { Reader, uintLE } from "./_bytes_io.ts";
import { readDense } from "./_dense.ts";
import type { ChunkIndex } from "./_chunk_index.ts";

/** A parsed datatype. */
export type DType =
  | { kind: "int"; size: number; signed: boolean }
  | { kind: "float"; size: number }
  | { kind: "bool" }
  | { kind: "enum"; base: DType; size: number }
  | { kind: "fstring"; size: number }
  | { kind: "vstring" }
  /** Records (numpy's structured dtype: anndata's rec-array), members at byte offsets. */
  | { kind: "compound"; size: number; members: { name: string; offset: number; type: DType }[] };

/** Storage of a dataset. */
export type Layout =
  | { kind: "compact"; data: Uint8Array }
  | { kind: "contiguous"; address: number | undefined; size: number }
  | { kind: "chunked"; btree: number | undefined; chunk: number[]; index?: ChunkIndex };

/** A filter of the pipeline. */
export interface Filter {
  id: number;
  values: number[];
}

/** What an object header says. */
export interface ObjectInfo {
  kind: "group" | "dataset";
  attrs: Map<string, { type: DType; shape: number[]; raw: Uint8Array }>;
  /** Old-style group: B-tree and local heap. */
  symbolTable?: { btree: number; heap: number };
  /** New-style group: links (compact, or read from dense storage). */
  links?: Map<string, number>;
  /** Dense link storage: a fractal heap and its name index (a v2 B-tree). */
  denseLinks?: { heap: number; names: number | undefined };
  /** Dense attribute storage, likewise. */
  denseAttrs?: { heap: number; names: number | undefined };
  shape?: number[];
  /** The dataspace's maximum dimensions, undefined where unlimited (when it has them). */
  maxShape?: (number | undefined)[];
  type?: DType;
  layout?: Layout;
  filters?: Filter[];
}

function unsupported(label: string, what: string): never {
  throw new UnsupportedFormatError(`"${label}": ${what} is not read by lamindeno's HDF5 reader`);
}

/** Marks an UnsupportedFormatError that h5wasm cannot get past either (no fallback to it). */
const NO_FALLBACK = Symbol("no fallback");

/** Whether `e` is about the data itself, which no other reader reads either (see `NO_FALLBACK`). */
export function noFallback(e: unknown): boolean {
  return !!e && typeof e === "object" && NO_FALLBACK in e;
}

/** float16 values: read by neither reader (no Float16Array to give them in everywhere). */
function float16(label: string): never {
  const e = new UnsupportedFormatError(
    `"${label}": float16 values are not supported; convert them in Python ` +
      `(e.g. adata.X = adata.X.astype("float32")) and save the file again`,
  );
  Object.defineProperty(e, NO_FALLBACK, { value: true });
  throw e;
}

/** Bytes per element. */
export function sizeOf(t: DType): number {
  return t.kind === "bool" ? 1 : t.kind === "vstring" ? 16 : t.size;
}

/** IV.A.2.d: datatype message. */
export function parseDatatype(r: Reader): DType {
  const cv = r.u8();
  const cls = cv & 0x0f, version = cv >> 4;
  const b0 = r.u8(), b1 = r.u8();
  r.u8();
  const size = r.u32();
  switch (cls) {
    case 0: {
      r.skip(4); // bit offset, precision
      if (b0 & 1 && size > 1) unsupported(r.label, "big-endian integer data");
      return { kind: "int", size, signed: (b0 & 0x08) !== 0 };
    }
    case 1: {
      r.skip(12);
      if (b0 & 1) unsupported(r.label, "big-endian float data");
      if (size === 2) float16(r.label);
      if (size !== 4 && size !== 8) unsupported(r.label, `a ${size * 8}-bit float`);
      return { kind: "float", size };
    }
    case 3:
      return { kind: "fstring", size };
    case 6:
      return parseCompound(r, b0 | (b1 << 8), size, version);
    case 8: {
      const n = b0 | (b1 << 8);
      const base = parseDatatype(r);
      const names: string[] = [];
      for (let i = 0; i < n; i++) {
        const start = r.pos;
        while (r.u8() !== 0) { /* name */ }
        names.push(new TextDecoder().decode(r.bytesAt(start, r.pos - start - 1)));
        if (version < 3) r.align(8, start);
      }
      const values: number[] = [];
      for (let i = 0; i < n; i++) values.push(r.uint(sizeOf(base)));
      const isBool = n === 2 && names[values.indexOf(0)] === "FALSE" &&
        names[values.indexOf(1)] === "TRUE";
      return isBool ? { kind: "bool" } : { kind: "enum", base, size };
    }
    case 9: {
      if ((b0 & 0x0f) !== 1) unsupported(r.label, "a variable-length sequence");
      parseDatatype(r); // base type (characters)
      return { kind: "vstring" };
    }
    default:
      return unsupported(r.label, `datatype class ${cls}`);
  }
}

/**
 * IV.A.2.d, class 6: the `n` members of records of `size` bytes, each a
 * name, a byte offset and a datatype (version 1's array dimensions: none).
 */
function parseCompound(r: Reader, n: number, size: number, version: number): DType {
  const members: { name: string; offset: number; type: DType }[] = [];
  // Version 3 stores an offset in as few bytes as the record's size needs.
  const offsetBytes = size < 1 << 8 ? 1 : size < 1 << 16 ? 2 : size < 1 << 24 ? 3 : 4;
  for (let i = 0; i < n; i++) {
    const start = r.pos;
    while (r.u8() !== 0) { /* name */ }
    const name = new TextDecoder().decode(r.bytesAt(start, r.pos - start - 1));
    if (version < 3) r.align(8, start);
    const offset = version < 3 ? r.u32() : r.uint(offsetBytes);
    if (version === 1) {
      const dims = r.u8();
      r.skip(3 + 4 + 4 + 16); // reserved, permutation, reserved, 4 dimension sizes
      if (dims > 0) unsupported(r.label, "a record field that is an array");
    }
    const type = parseDatatype(r);
    if (type.kind === "compound") unsupported(r.label, "records within records");
    if (!(offset + sizeOf(type) <= size) || members.some((m) => m.name === name) || !name) {
      throw new CorruptFileError(
        `"${r.label}": a record field "${name}" at byte ${offset} of ${size} (out of the ` +
          `record, unnamed or named twice): the file is damaged`,
      );
    }
    members.push({ name, offset, type });
  }
  return { kind: "compound", size, members };
}

/**
 * IV.A.2.b: dataspace message; `[]` for a scalar, `undefined` for null.
 * `max` receives its maximum dimensions (undefined where unlimited), when
 * it has them.
 */
export function parseDataspace(
  r: Reader,
  max?: (dims: (number | undefined)[]) => void,
): number[] | undefined {
  const version = r.u8(), rank = r.u8(), flags = r.u8();
  let isNull = false;
  if (version === 1) r.skip(5);
  else isNull = r.u8() === 2;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(r.len());
  if (max && flags & 1) max(Array.from({ length: rank }, () => r.addr()));
  return isNull ? undefined : dims;
}

function parseLayout(r: Reader): Layout {
  const version = r.u8();
  if (version < 3) unsupported(r.label, `layout message version ${version}`);
  const cls = r.u8();
  if (cls === 0) return { kind: "compact", data: r.bytes(r.u16()) };
  if (cls === 1) return { kind: "contiguous", address: r.addr(), size: r.len() };
  if (cls === 2 && version === 3) {
    const nd = r.u8();
    const btree = r.addr();
    const chunk: number[] = [];
    for (let i = 0; i < nd; i++) chunk.push(r.u32());
    return { kind: "chunked", btree, chunk: chunk.slice(0, -1) };
  }
  if (cls === 2 && version === 4) {
    // A version 4 chunk index (_chunk_index.ts).
    const flags = r.u8(), nd = r.u8(), width = r.u8();
    if (!(width >= 1 && width <= 8)) unsupported(r.label, `chunk dimensions of ${width} bytes`);
    const chunk: number[] = [];
    for (let i = 0; i < nd; i++) chunk.push(uintLE(r.bytes(width)));
    const type = r.u8();
    let index: ChunkIndex;
    if (type === 1) {
      const filtered = (flags & 0x02) !== 0;
      const size = filtered ? r.len() : undefined, mask = filtered ? r.u32() : undefined;
      index = { type, address: r.addr(), ...(filtered ? { size, mask } : {}) };
    } else if (type === 2) index = { type, address: r.addr() };
    else if (type === 3) {
      const pageBits = r.u8();
      index = { type, pageBits, address: r.addr() };
    } else if (type === 4) {
      const params = [r.u8(), r.u8(), r.u8(), r.u8(), r.u8()];
      index = { type, params, address: r.addr() };
    } else if (type === 5) {
      r.skip(4 + 1 + 1);
      index = { type, address: r.addr() };
    } else return unsupported(r.label, `chunk index type ${type}`);
    return { kind: "chunked", btree: undefined, chunk: chunk.slice(0, -1), index };
  }
  return unsupported(r.label, `layout class ${cls} (message version ${version})`);
}

function parseFilters(r: Reader): Filter[] {
  const version = r.u8(), n = r.u8();
  if (version === 1) r.skip(6);
  const out: Filter[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u16();
    const nameLen = version === 1 || id >= 256 ? r.u16() : 0;
    r.u16(); // flags
    const nv = r.u16();
    if (nameLen) r.skip(version === 1 ? Math.ceil(nameLen / 8) * 8 : nameLen);
    const values: number[] = [];
    for (let k = 0; k < nv; k++) values.push(r.u32());
    if (version === 1 && nv % 2) r.skip(4);
    out.push({ id, values });
  }
  return out;
}

function parseAttribute(r: Reader, info: ObjectInfo): void {
  const version = r.u8();
  r.u8();
  const nameSize = r.u16(), typeSize = r.u16(), spaceSize = r.u16();
  if (version === 3) r.u8(); // name encoding
  const pad = (n: number) => (version === 1 ? Math.ceil(n / 8) * 8 : n);
  const name = new TextDecoder().decode(r.bytes(nameSize)).replace(/\0+$/, "");
  r.skip(pad(nameSize) - nameSize);
  const typeStart = r.pos;
  const type = parseDatatype(r);
  r.pos = typeStart + pad(typeSize);
  const spaceStart = r.pos;
  const shape = parseDataspace(r) ?? [0];
  r.pos = spaceStart + pad(spaceSize);
  const n = shape.reduce((a, b) => a * b, 1);
  info.attrs.set(name, { type, shape, raw: r.bytes(n * sizeOf(type)) });
}

function parseLink(r: Reader, info: ObjectInfo): void {
  r.u8(); // version
  const flags = r.u8();
  const type = flags & 0x08 ? r.u8() : 0;
  if (flags & 0x04) r.skip(8);
  if (flags & 0x10) r.u8();
  const nameLen = r.uint(1 << (flags & 3));
  const name = new TextDecoder().decode(r.bytes(nameLen));
  if (type !== 0) return; // soft/external links are not followed
  (info.links ??= new Map()).set(name, r.addr()!);
}

function parseMessage(type: number, r: Reader, info: ObjectInfo): number[] | undefined {
  switch (type) {
    case 0x01:
      info.shape = parseDataspace(r, (max) => (info.maxShape = max)) ?? [0];
      info.kind = "dataset";
      return;
    case 0x03:
      info.type = parseDatatype(r);
      return;
    case 0x08:
      info.layout = parseLayout(r);
      return;
    case 0x0b:
      info.filters = parseFilters(r);
      return;
    case 0x0c:
      parseAttribute(r, info);
      return;
    case 0x11:
      info.symbolTable = { btree: r.addr()!, heap: r.addr()! };
      return;
    case 0x06:
      parseLink(r, info);
      return;
    case 0x02: {
      // Link info: dense link storage lives in a fractal heap (_dense.ts).
      r.u8();
      const flags = r.u8();
      if (flags & 1) r.skip(8);
      const heap = r.addr(), names = r.addr();
      if (heap !== undefined) info.denseLinks = { heap, names };
      info.links ??= new Map();
      return;
    }
    case 0x15: {
      // Attribute info: dense attributes, likewise.
      r.u8();
      const flags = r.u8();
      if (flags & 1) r.skip(2);
      const heap = r.addr(), names = r.addr();
      if (heap !== undefined) info.denseAttrs = { heap, names };
      return;
    }
    case 0x04: // fill value (old): size, value
    case 0x05:
      checkFill(type, r);
      return;
    case 0x10:
      return [r.addr()!, r.len()];
  }
  return undefined;
}

/**
 * IV.A.2.e/f: a fill value other than zeros (what chunks never written
 * hold) is left to h5wasm: this reader fills them with zeros.
 */
function checkFill(type: number, r: Reader): void {
  let defined = true;
  if (type === 0x05) {
    const version = r.u8();
    if (version === 3) defined = (r.u8() & 0x20) !== 0;
    else {
      r.skip(2); // allocation and write times
      defined = r.u8() !== 0 || version === 1;
    }
  }
  if (!defined) return;
  const size = r.u32();
  if (r.bytes(size).some((b) => b !== 0)) unsupported(r.label, "a fill value other than zero");
}

/** Read and parse the object header at `address` (versions 1 and 2). */
export async function readObject(cache: PageCache, address: number): Promise<ObjectInfo> {
  const info: ObjectInfo = { kind: "group", attrs: new Map() };
  const head = await cache.get(address, 16);
  const blocks: [number, number, boolean][] = [];
  let v2 = false, v2flags = 0;
  if (head[0] === 1) {
    const r = new Reader(head, cache.label);
    r.skip(8);
    blocks.push([address + 16, r.u32(), false]);
  } else if (String.fromCharCode(...head.subarray(0, 4)) === "OHDR") {
    v2 = true;
    const pre = new Reader(await cache.get(address, 32), cache.label, 4);
    pre.u8();
    v2flags = pre.u8();
    if (v2flags & 0x20) pre.skip(16);
    if (v2flags & 0x10) pre.skip(4);
    const size = pre.uint(1 << (v2flags & 3));
    blocks.push([address + pre.pos, size, false]);
  } else {
    throw new CorruptFileError(`"${cache.label}": no object header at ${address}`);
  }
  // Each block once: a continuation back to a block already read would loop.
  const seen = new Set<number>();
  while (blocks.length) {
    const [at, size, isContinuation] = blocks.shift()!;
    if (seen.has(at)) {
      throw new CorruptFileError(
        `"${cache.label}": the object header at byte ${address} continues into a block it already read (byte ${at}); the file is damaged`,
      );
    }
    seen.add(at);
    const bytes = await cache.get(at, size);
    const r = new Reader(bytes, cache.label);
    if (v2 && isContinuation) r.sig("OCHK");
    const end = v2 ? size - 4 : size;
    while (r.pos + (v2 ? 4 : 8) <= end) {
      const type = v2 ? r.u8() : r.u16();
      const msgSize = r.u16();
      const flags = r.u8();
      if (v2) {
        if (v2flags & 0x04) r.skip(2);
      } else r.skip(3);
      const body = new Reader(r.bytes(msgSize), cache.label);
      if (flags & 0x02) {
        if (type !== 0) unsupported(cache.label, "shared object header messages");
      }
      const cont = parseMessage(type, body, info);
      if (cont) blocks.push([cont[0], cont[1], true]);
    }
  }
  if (info.denseLinks) {
    for (const m of await readDense(cache, info.denseLinks.heap, info.denseLinks.names, "links")) {
      parseLink(new Reader(m, cache.label), info);
    }
  }
  if (info.denseAttrs) {
    const { heap, names } = info.denseAttrs;
    for (const m of await readDense(cache, heap, names, "attributes")) {
      parseAttribute(new Reader(m, cache.label), info);
    }
  }
  if (info.symbolTable || info.links) info.kind = "group";
  return info;
}
