// zarr v2 arrays of records (numpy structured dtypes: anndata's rec-array,
// e.g. scanpy's rank_genes_groups), which zarrita does not open: read as
// bytes (the same chunks, compressor and all, as an array of uint8) and
// split into one array per field, as the h5wasm store does for HDF5.
import * as zarr from "zarrita";
import { locate } from "./_zarr_locate.ts";
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import type { Zarray } from "./_zarr_ranges.ts";
import type { StoreArray } from "./_store.ts";
import { allocate, type Dtype, dtypeOf, type NumericArray } from "./matrix.ts";
import { gatherFields } from "../_gather_fields.ts";

/** One field of a record: its name, numpy kind and size, and where it lies in a record. */
export interface RecordField {
  name: string;
  kind: string;
  size: number;
  offset: number;
}

/** The fields of a structured `.zarray`, and the bytes of one record. */
export function recordFields(
  meta: Zarray,
  where: string,
): { fields: RecordField[]; itemsize: number } {
  const unsupported = (what: string): never => {
    throw new UnsupportedFormatError(
      `${where} is an array of records with ${what}, which lamindeno does not read; read it in ` +
        `Python, or leave it out of the file`,
    );
  };
  const fields: RecordField[] = [];
  let offset = 0;
  for (const f of meta.dtype as unknown[]) {
    if (!Array.isArray(f) || typeof f[0] !== "string" || typeof f[1] !== "string") {
      throw new CorruptFileError(`${where}: its dtype ${JSON.stringify(meta.dtype)} is not valid`);
    }
    if (f.length > 2) unsupported(`a field of shape ${JSON.stringify(f[2])}`);
    if (f[0] === "" || f[0].includes("/") || fields.some((g) => g.name === f[0])) {
      throw new CorruptFileError(
        `${where}: its dtype names a field "${f[0]}" (empty, holding "/", or twice)`,
      );
    }
    const m = /^([<>|=])([biufUS])(\d{1,6})$/.exec(f[1]);
    if (!m) return unsupported(`a field of dtype ${f[1]}`);
    const [, order, kind, n] = m;
    const size = kind === "U" ? 4 * Number(n) : Number(n);
    if (order === ">" && size > 1 && kind !== "S") unsupported(`a big-endian field (${f[1]})`);
    const ok = kind === "b"
      ? size === 1
      : kind === "i" || kind === "u"
      ? [1, 2, 4, 8].includes(size)
      : kind === "f"
      ? size === 4 || size === 8
      : size >= 1;
    if (!ok) unsupported(`a field of dtype ${f[1]}`);
    fields.push({ name: f[0], kind, size, offset });
    offset += size;
  }
  if (fields.length === 0) unsupported("no fields");
  return { fields, itemsize: offset };
}

/**
 * The bytes of every record of the array at `path` (`.zarray` `meta`) of
 * the zarrita store `store`: the same chunks read as an array of bytes.
 */
export async function readRecords(
  store: zarr.Readable,
  path: string,
  meta: Zarray,
  where: string,
  check: (bytes: zarr.Array<zarr.DataType, zarr.Readable>) => Promise<unknown>,
): Promise<Uint8Array> {
  const { itemsize } = recordFields(meta, where);
  const shape = meta.shape as number[], chunks = meta.chunks as number[];
  if (!Array.isArray(shape) || shape.length !== 1 || !Array.isArray(chunks)) {
    throw new UnsupportedFormatError(
      `${where} is an array of records of shape [${shape}]; lamindeno reads 1-D ones only`,
    );
  }
  if (meta.filters?.length) {
    throw new UnsupportedFormatError(
      `${where} is an array of records with filters, which lamindeno does not read`,
    );
  }
  const n = shape[0];
  if (
    !Number.isSafeInteger(n) || !Number.isSafeInteger(n * itemsize) || n < 0 ||
    !Number.isSafeInteger(chunks[0]) || !(chunks[0] >= 1)
  ) {
    throw new CorruptFileError(`${where} claims shape [${shape}], chunks [${chunks}]`);
  }
  // The same chunks as bytes: a compressor does not care what they hold.
  const asBytes = {
    ...meta,
    dtype: "|u1",
    shape: [n * itemsize],
    chunks: [chunks[0] * itemsize],
    fill_value: 0,
  };
  const key = `/${path.replace(/^\//, "")}/.zarray`;
  const bytesStore = {
    get: async (k: zarr.AbsolutePath): Promise<Uint8Array | undefined> =>
      k === key ? new TextEncoder().encode(JSON.stringify(asBytes)) : await store.get(k),
  };
  const arr = await zarr.open(locate(bytesStore, path), { kind: "array" });
  // The checks every zarr array gets (a size its stored chunks must back).
  await check(arr);
  const bytes = (await zarr.get(arr)).data as Uint8Array;
  if (!(bytes instanceof Uint8Array) || bytes.length !== n * itemsize) {
    throw new CorruptFileError(`${where}: its chunks do not hold ${n} records`);
  }
  return bytes;
}

/**
 * Every field of the records `bytes` (as {@linkcode readRecords} read
 * them), each as a 1-D array, by name. The fields are gathered in one pass
 * over the records: a pass per field strode the whole array once per field
 * (scanpy's rank_genes_groups: 40 fields of 20,000 records, ~80 ms of cache
 * misses where one pass takes a few).
 */
export function recordColumns(
  bytes: Uint8Array,
  meta: Zarray,
  where: string,
): Map<string, StoreArray> {
  const { fields, itemsize } = recordFields(meta, where);
  const n = bytes.length / itemsize;
  // Each field's bytes side by side, in the array its values end in.
  const outs = fields.map((f) =>
    f.kind === "U"
      ? new Uint32Array(n * (f.size / 4))
      : f.kind === "b" || f.kind === "S"
      ? new Uint8Array(n * f.size)
      : typedFor(f, n)
  );
  gatherFields(bytes, n, itemsize, fields, outs);
  const columns = new Map<string, StoreArray>();
  for (const [j, f] of fields.entries()) {
    columns.set(f.name, columnOf(outs[j], n, f, where));
  }
  return columns;
}

/** Field `f` of `n` records as an array, from its bytes side by side (`got`, as `gatherFields` left them). */
function columnOf(got: ArrayBufferView, n: number, f: RecordField, where: string): StoreArray {
  const bytes = new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
  if (f.kind === "b") {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = bytes[i] ? 1 : 0;
    return { kind: "bool", data, shape: [n] };
  }
  if (f.kind === "U") {
    return { kind: "string", data: utf32Strings(got as Uint32Array, n, f, where), shape: [n] };
  }
  if (f.kind === "S") {
    const data: string[] = [];
    const utf8 = new TextDecoder();
    for (let i = 0, at = 0; i < n; i++, at += f.size) {
      let end = at + f.size;
      while (end > at && bytes[end - 1] === 0) end--;
      data.push(utf8.decode(bytes.subarray(at, end)));
    }
    return { kind: "string", data, shape: [n] };
  }
  const out = got as NumericArray;
  return { kind: "number", data: out, shape: [n], dtype: dtypeOf(out) };
}

/** UTF-16 code units decoded at once, in pieces of about this many (a JS string has a maximum length). */
const SEGMENT = 8 << 20;
const utf16 = new TextDecoder("utf-16le", { ignoreBOM: true });

/**
 * Field `f` (numpy's fixed-width unicode: UTF-32 code points, trailing NULs
 * dropped) of `n` records, from its code points side by side (`points`,
 * numpy's byte order: little-endian): every string's code units put into one
 * buffer decoded at once, each string a substring of it (a string built
 * code point by code point cost ~0.25 s for 800,000 short names). A string
 * holding a lone surrogate (which the decoder would replace) is built
 * from its code points.
 */
function utf32Strings(points: Uint32Array, n: number, f: RecordField, where: string): string[] {
  const chars = f.size / 4;
  const units = new Uint16Array(2 * n * chars);
  const ends = new Float64Array(n + 1);
  let lone: Uint8Array | undefined, u = 0;
  for (let i = 0; i < n; i++) {
    const base = i * chars;
    let len = chars;
    while (len > 0 && points[base + len - 1] === 0) len--;
    for (let c = 0; c < len; c++) {
      let p = points[base + c];
      if (p > 0x10ffff) {
        throw new CorruptFileError(`${where}: record ${i} of field ${f.name} is not valid unicode`);
      }
      if (p >= 0x10000) {
        p -= 0x10000;
        units[u++] = 0xd800 + (p >> 10);
        units[u++] = 0xdc00 + (p & 0x3ff);
        continue;
      }
      if (p >= 0xd800 && p <= 0xdfff) (lone ??= new Uint8Array(n))[i] = 1;
      units[u++] = p;
    }
    ends[i + 1] = u;
  }
  const data = new Array<string>(n);
  let text = "", from = 0, to = 0;
  for (let i = 0; i < n; i++) {
    const s = ends[i], e = ends[i + 1];
    if (lone?.[i]) {
      let t = "";
      for (let k = s; k < e; k++) t += String.fromCharCode(units[k]);
      data[i] = t;
      continue;
    }
    if (e > to) {
      from = s;
      to = Math.min(u, s + Math.max(SEGMENT, e - s));
      text = utf16.decode(units.subarray(from, to));
    }
    data[i] = text.substring(s - from, e - from);
  }
  return data;
}

function typedFor(f: RecordField, n: number): NumericArray {
  const kind = f.kind === "f" ? "float" : f.kind === "i" ? "int" : "uint";
  return allocate(`${kind}${8 * f.size}` as Dtype, n);
}
