// In-memory AnnData -> anndata's on-disk element spec (as anndata 0.8 writes
// it), as a format-neutral tree. Chunking is chosen for row-wise streaming:
// sparse data/indices in ~1 MiB chunks, dense matrices in ~1 MiB row blocks.
import pl from "nodejs-polars";
import { UnsupportedFormatError, ValidationError } from "../../errors.ts";
import { AnnData, type CategoryInfo, checkAnnData } from "./anndata.ts";
import {
  CsrMatrix,
  DenseMatrix,
  dtypeOf,
  isMatrix,
  type Matrix,
  type NumericArray,
} from "./matrix.ts";
import {
  group,
  type TreeArray,
  type TreeAttr,
  type TreeGroup,
  type TreeNode,
  type TreeRecords,
} from "./_tree.ts";
import { frameMeta, wasNullable } from "./_frame_meta.ts";
import { keptScalar, keptShape, wasRecords } from "./_scalar_meta.ts";
import { log } from "../../_log.ts";
import { MAX_UNS_DEPTH } from "./_options.ts";

const CHUNK_BYTES = 1 << 20;

const enc = (type: string, version: string): Record<string, TreeAttr> => ({
  "encoding-type": type,
  "encoding-version": version,
});

function itemSize(a: NumericArray): number {
  return a.BYTES_PER_ELEMENT;
}

function arr(
  data: NumericArray | (string | null)[],
  dtype: TreeArray["dtype"],
  shape: number[],
  attrs: Record<string, TreeAttr> = {},
  chunks?: number[],
): TreeArray {
  if (dtype === "str") {
    // UTF-8 cannot store half a UTF-16 pair: it would be written as U+FFFD.
    for (const v of data as (string | null)[]) {
      if (typeof v === "string" && !v.isWellFormed()) {
        throw new ValidationError(
          `the string ${JSON.stringify(v.slice(0, 40))} holds a lone surrogate (half of a ` +
            `UTF-16 pair), which UTF-8 files cannot store: fix it (e.g. s.toWellFormed()) first`,
        );
      }
    }
  }
  return { kind: "array", attrs, data, dtype, shape, chunks };
}

function chunked1d(data: NumericArray, dtype: TreeArray["dtype"]): TreeArray {
  const per = Math.max(1, Math.floor(CHUNK_BYTES / itemSize(data)));
  return arr(data, dtype, [data.length], {}, data.length > per ? [per] : undefined);
}

/** Encode a matrix element (X, layers, obsm, ...). */
export function encodeMatrix(m: Matrix): TreeNode {
  if (m instanceof DenseMatrix) {
    const [rows, cols] = m.shape;
    const rowBytes = Math.max(1, cols * itemSize(m.data));
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
    const chunks = rows > perChunk ? [perChunk, cols] : undefined;
    return arr(m.data, m.dtype, [rows, cols], enc("array", "0.2.0"), chunks);
  }
  const g = group({
    ...enc(m instanceof CsrMatrix ? "csr_matrix" : "csc_matrix", "0.1.0"),
    shape: [...m.shape],
  });
  g.children.data = chunked1d(m.data, m.dtype);
  g.children.indices = chunked1d(m.indices, m.indices instanceof Int32Array ? "int32" : "int64");
  g.children.indptr = arr(m.indptr, m.indptr instanceof Int32Array ? "int32" : "int64", [
    m.indptr.length,
  ]);
  return g;
}

function codesArray(n: number, categories: number): Int8Array | Int16Array | Int32Array {
  return categories < 128
    ? new Int8Array(n)
    : categories < 32768
    ? new Int16Array(n)
    : new Int32Array(n);
}

function encodeCategorical(
  values: (string | null)[],
  info: CategoryInfo | undefined,
  name = "",
): TreeGroup {
  const present = [...new Set(values.filter((v): v is string => v !== null))];
  const missing = info ? present.filter((v) => !info.categories.includes(v)) : [];
  if (missing.length) {
    throw new ValidationError(
      `column "${name}" has values that are not among the categories given for it ` +
        `(${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""}): add them to ` +
        `its categories, or remove its entry from categories to have them found`,
    );
  }
  const cats = info ? info.categories : present.sort();
  const index = new Map(cats.map((c, i) => [c, i]));
  const codes = codesArray(values.length, cats.length);
  values.forEach((v, i) => (codes[i] = v === null ? -1 : index.get(v)!));
  return categoricalGroup(
    codes,
    arr(cats, "str", [cats.length], enc("string-array", "0.2.0")),
    info?.ordered ?? false,
  );
}

/** A categorical element of these codes and categories. */
function categoricalGroup(
  codes: Int8Array | Int16Array | Int32Array,
  categories: TreeNode,
  ordered: boolean,
): TreeGroup {
  const g = group({ ...enc("categorical", "0.2.0"), ordered });
  g.children.codes = arr(
    codes,
    codes instanceof Int8Array ? "int8" : codes instanceof Int16Array ? "int16" : "int32",
    [codes.length],
    enc("array", "0.2.0"),
  );
  g.children.categories = categories;
  return g;
}

const INT_TYPES: Record<string, [new (n: number) => NumericArray, TreeArray["dtype"]]> = {
  Int8: [Int8Array, "int8"],
  Int16: [Int16Array, "int16"],
  Int32: [Int32Array, "int32"],
  Int64: [BigInt64Array, "int64"],
  UInt8: [Uint8Array, "uint8"],
  UInt16: [Uint16Array, "uint16"],
  UInt32: [Uint32Array, "uint32"],
  UInt64: [BigUint64Array, "uint64"],
};

/**
 * A column of numbers or booleans that was a categorical of those (see
 * `CategoryInfo.values`) as a categorical again: categories of the column's
 * own dtype, in the order given, code -1 where missing.
 */
function encodeValueCategorical(s: pl.Series, info: CategoryInfo): TreeGroup {
  const name = s.dtype.variant;
  const isInt = name in INT_TYPES;
  const [Ctor, dtype]: [new (n: number) => NumericArray, TreeArray["dtype"]] = isInt
    ? INT_TYPES[name]
    : name === "Float32"
    ? [Float32Array, "float32"]
    : [Float64Array, "float64"];
  const big = dtype === "int64" || dtype === "uint64";
  const refuse = (c: string, why: string) =>
    new ValidationError(
      `column "${s.name}" (${name}) has the category ${JSON.stringify(c)}, which ${why}: ` +
        `give categories of its values, or remove its entry from categories`,
    );
  // Each category as the value it is stored as (in the column's dtype),
  // by exact text: integers' as polars prints them (exact past 2^53),
  // floats' rounded to the column's width, as JS prints them.
  const stored = (c: string): string => {
    if (name === "Bool") {
      if (c !== "true" && c !== "false") throw refuse(c, "is neither true nor false");
      return c;
    }
    if (isInt) {
      if (!/^[+-]?\d+$/.test(c.trim())) throw refuse(c, "is not a whole number");
      const v = BigInt(c.trim());
      const one = new Ctor(1);
      one[0] = (big ? v : Number(v)) as never;
      if (BigInt(one[0] as number | bigint) !== v) throw refuse(c, `is outside ${dtype}'s range`);
      return v.toString();
    }
    const n = Number(c);
    if (c.trim() === "" || Number.isNaN(n)) throw refuse(c, "is not a number");
    return String(name === "Float32" ? Math.fround(n) : n);
  };
  const cats = info.categories;
  const keys = cats.map(stored);
  const index = new Map<string, number>();
  keys.forEach((k, i) => {
    const j = index.get(k);
    if (j !== undefined) {
      throw new ValidationError(
        `column "${s.name}" (${name}): its categories ${JSON.stringify(cats[j])} and ` +
          `${JSON.stringify(cats[i])} are the same value (${k}); pandas needs each once`,
      );
    }
    index.set(k, i);
  });
  const values = isInt ? s.cast(pl.Utf8).toArray() : s.toArray();
  const codes = codesArray(values.length, cats.length);
  const missing = new Set<string>();
  values.forEach((v, i) => {
    if (v == null) return void (codes[i] = -1);
    const k = isInt ? String(v) : String(name === "Bool" ? Boolean(v) : Number(v));
    const c = index.get(k);
    if (c === undefined) missing.add(k);
    codes[i] = c ?? -1;
  });
  if (missing.size) {
    throw new ValidationError(
      `column "${s.name}" has values that are not among the categories given for it ` +
        `(${[...missing].slice(0, 3).join(", ")}${missing.size > 3 ? ", ..." : ""}): add them ` +
        `to its categories, or remove its entry from categories to write it as a plain column`,
    );
  }
  let categories: TreeNode;
  if (name === "Bool") {
    categories = arr(Uint8Array.from(cats, (c) => (c === "true" ? 1 : 0)), "bool", [
      cats.length,
    ], enc("array", "0.2.0"));
  } else {
    const data = new Ctor(cats.length);
    keys.forEach((k, i) => (data[i] = (big ? BigInt(k) : Number(k)) as never));
    categories = arr(data, dtype, [cats.length], enc("array", "0.2.0"));
  }
  return categoricalGroup(codes, categories, info.ordered);
}

/** Encode one polars column. */
export function encodeColumn(
  s: pl.Series,
  info: CategoryInfo | undefined,
  nullable = false,
): TreeNode {
  const name = s.dtype.variant;
  if (!WRITABLE.has(name) && !(name in INT_TYPES)) unwritable(s, name);
  if (info) {
    // Categories given for a column: it is written as a categorical, of
    // strings or of its values (`values`); metadata that does not fit the
    // column is refused rather than dropped.
    const numeric = name in INT_TYPES || name === "Float32" || name === "Float64";
    if (info.values === "boolean" ? name === "Bool" : info.values === "number" && numeric) {
      return encodeValueCategorical(s, info);
    }
    const text = name === "String" || name === "Utf8" || name === "Categorical";
    if (info.values !== undefined || !text) {
      throw new ValidationError(
        `column "${s.name}" is ${name}, but its categories say ${
          info.values ? `values: "${info.values}"` : "strings"
        }: for a column of ${
          numeric
            ? 'numbers give values: "number"'
            : name === "Bool"
            ? 'booleans give values: "boolean"'
            : "strings leave values out"
        }, or remove its entry from categories to write it as a plain column`,
      );
    }
  }
  const values = s.toArray() as unknown[];
  const n = values.length;
  // Integers and booleans read as pandas' nullable ones stay nullable with
  // nothing missing; others are when something is.
  const hasNull = s.nullCount() > 0 || (nullable && (name === "Bool" || name in INT_TYPES));
  if (name === "Categorical") {
    return encodeCategorical(values.map((v) => (v == null ? null : String(v))), info, s.name);
  }
  if ((name === "String" || name === "Utf8") && (hasNull || info)) {
    // Missing strings as anndata writes them (strings_to_categoricals): a
    // categorical with code -1 where missing; a string array has no missing.
    // With categories given, a categorical of them.
    return encodeCategorical(values.map((v) => (v == null ? null : String(v))), info, s.name);
  }
  if (name === "String" || name === "Utf8") {
    return arr(
      values.map((v) => (v == null ? null : String(v))),
      "str",
      [n],
      enc("string-array", "0.2.0"),
    );
  }
  if (name === "Bool") {
    const data = Uint8Array.from(values, (v) => (v ? 1 : 0));
    if (!hasNull) return arr(data, "bool", [n], enc("array", "0.2.0"));
    const g = group(enc("nullable-boolean", "0.1.0"));
    g.children.values = arr(data, "bool", [n], enc("array", "0.2.0"));
    g.children.mask = arr(
      Uint8Array.from(values, (v) => (v == null ? 1 : 0)),
      "bool",
      [n],
      enc("array", "0.2.0"),
    );
    return g;
  }
  if (name === "Float32" || name === "Float64") {
    const data = name === "Float32" ? new Float32Array(n) : new Float64Array(n);
    values.forEach((v, i) => (data[i] = v == null ? NaN : Number(v)));
    return arr(data, name === "Float32" ? "float32" : "float64", [n], enc("array", "0.2.0"));
  }
  if (name in INT_TYPES) {
    const [Ctor, dtype] = INT_TYPES[name];
    const big = dtype === "int64" || dtype === "uint64";
    // polars gives Int64 values as JS numbers (rounded past 2^53): exactly, as text, when needed.
    const exact = name === "Int64" && n > 0 &&
      Math.max(Math.abs(Number(s.min())), Math.abs(Number(s.max()))) >= 2 ** 53;
    if (exact) {
      const text = s.cast(pl.Utf8).toArray();
      for (let i = 0; i < n; i++) values[i] = text[i] == null ? null : BigInt(text[i] as string);
    }
    if (!hasNull) {
      const data = new Ctor(n);
      values.forEach((v, i) => (data[i] = (big ? BigInt(v as number) : Number(v)) as never));
      return arr(data, dtype, [n], enc("array", "0.2.0"));
    }
    // Of the column's own dtype (pandas' UInt32, Int8, ...), 0 where missing.
    const data = new Ctor(n);
    values.forEach((
      v,
      i,
    ) => (data[i] = (big ? BigInt((v ?? 0) as number) : Number(v ?? 0)) as never));
    const g = group(enc("nullable-integer", "0.1.0"));
    g.children.values = arr(data, dtype, [n], enc("array", "0.2.0"));
    g.children.mask = arr(
      Uint8Array.from(values, (v) => (v == null ? 1 : 0)),
      "bool",
      [n],
      enc("array", "0.2.0"),
    );
    return g;
  }
  return unwritable(s, name);
}

const WRITABLE = new Set(["Categorical", "String", "Utf8", "Bool", "Float32", "Float64"]);

function unwritable(s: pl.Series, name: string): never {
  throw new UnsupportedFormatError(
    `cannot write column "${s.name}" of polars dtype ${name}: supported are strings, ` +
      `categoricals, booleans, integers and floats; cast it first`,
  );
}

/**
 * A dict read from an array of records, written as one again: each field
 * an array of strings, booleans or numbers (a typed array keeps its
 * dtype), all as long; undefined when it no longer is (written as a dict).
 */
function recordsOf(x: object): TreeRecords | undefined {
  const fields: TreeRecords["fields"] = [];
  let length = -1;
  for (const [name, v] of Object.entries(x)) {
    let f: TreeRecords["fields"][number];
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as NumericArray;
      f = { name, dtype: new DenseMatrix(a, [a.length, 1]).dtype, data: a };
    } else if (Array.isArray(v) && v.every((s) => typeof s === "string" || s === null)) {
      f = { name, dtype: "str", data: v };
    } else if (Array.isArray(v) && v.every((b) => typeof b === "boolean")) {
      f = { name, dtype: "bool", data: Uint8Array.from(v, (b) => (b ? 1 : 0)) };
    } else if (Array.isArray(v) && v.every((n) => typeof n === "number")) {
      f = { name, dtype: "float64", data: Float64Array.from(v) };
    } else return undefined;
    if (length >= 0 && f.data.length !== length) return undefined;
    length = f.data.length;
    fields.push(f);
  }
  if (!fields.length) return undefined;
  return { kind: "records", attrs: enc("rec-array", "0.2.0"), fields, length };
}

/** Encode a dataframe element with its index. */
export function encodeDataFrame(
  df: pl.DataFrame,
  index: string[],
  categories: Record<string, CategoryInfo> = {},
  indexName?: string,
  indexNumbers?: NumericArray,
): TreeGroup {
  if (df.columns.includes("_index")) {
    throw new ValidationError('a column may not be named "_index": anndata stores the names there');
  }
  // A named index is stored under its name (anndata's `_index` attribute says which), unless a
  // column has that name or it is not a valid key.
  const key = indexName && !df.columns.includes(indexName) && !/^$|^\.|[/\\\0]/.test(indexName)
    ? indexName
    : "_index";
  if (indexName && key !== indexName) {
    log.warn(
      `the index name "${indexName}" is also a column's name or not a valid key: the index is ` +
        `stored under "_index" and its name is not kept`,
    );
  }
  const g = group({
    "_index": key,
    "column-order": df.columns,
    ...enc("dataframe", "0.2.0"),
  });
  // An index stored as numbers (as read) is written as numbers again.
  g.children[key] = indexNumbers?.length === index.length
    ? arr(
      indexNumbers,
      new DenseMatrix(indexNumbers, [index.length, 1]).dtype,
      [index.length],
      enc("array", "0.2.0"),
    )
    : arr(index, "str", [index.length], enc("string-array", "0.2.0"));
  for (const c of df.columns) {
    g.children[c] = encodeColumn(df.getColumn(c), categories[c], wasNullable(df, c));
  }
  return g;
}

function isFrame(x: unknown): x is pl.DataFrame {
  return !!x && typeof x === "object" && typeof (x as pl.DataFrame).getColumns === "function";
}

/** Encode any value of uns. */
export function encodeElem(x: unknown, path: string, seen = new Set<object>()): TreeNode {
  if (isMatrix(x)) return encodeMatrix(x);
  if (isFrame(x)) {
    // As read (its index, index name and categories kept), else indexed 0, 1, ...
    const kept = frameMeta(x);
    return kept
      ? encodeDataFrame(x, kept.index, kept.categories, kept.indexName, kept.indexNumbers)
      : encodeDataFrame(x, Array.from({ length: x.height }, (_, i) => String(i)));
  }
  if (typeof x === "string") return arr([x], "str", [], enc("string", "0.2.0"));
  if (typeof x === "number") {
    // An integer past 2^53 is a float already (1e20 would wrap as an int64);
    // -0 is a float (as an int64 it would lose its sign).
    return Number.isSafeInteger(x) && !Object.is(x, -0)
      ? arr(BigInt64Array.of(BigInt(x)), "int64", [], enc("numeric-scalar", "0.2.0"))
      : arr(Float64Array.of(x), "float64", [], enc("numeric-scalar", "0.2.0"));
  }
  if (typeof x === "bigint") {
    if (x >= -(2n ** 63n) && x < 2n ** 63n) {
      return arr(BigInt64Array.of(x), "int64", [], enc("numeric-scalar", "0.2.0"));
    }
    if (x >= 0n && x < 2n ** 64n) {
      return arr(BigUint64Array.of(x), "uint64", [], enc("numeric-scalar", "0.2.0"));
    }
    throw new ValidationError(
      `cannot write ${path}: ${x} is outside the 64-bit integer range; store it as a string`,
    );
  }
  if (typeof x === "boolean") {
    return arr(Uint8Array.of(x ? 1 : 0), "bool", [], enc("numeric-scalar", "0.2.0"));
  }
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const a = x as NumericArray;
    // Of n dimensions as read, else 1-D.
    const shape = keptShape(a) ?? [a.length];
    return arr(a, new DenseMatrix(a, [a.length, 1]).dtype, shape, enc("array", "0.2.0"));
  }
  if (Array.isArray(x)) {
    if (x.every((v) => typeof v === "string")) {
      return arr(x, "str", [x.length], enc("string-array", "0.2.0"));
    }
    if (x.every((v) => typeof v === "boolean")) {
      return arr(Uint8Array.from(x, (v) => (v ? 1 : 0)), "bool", [x.length], enc("array", "0.2.0"));
    }
    if (x.every((v) => typeof v === "number")) {
      return arr(Float64Array.from(x), "float64", [x.length], enc("array", "0.2.0"));
    }
    // Rows of strings, all as long: a 2-D array of strings (as it is read).
    const m = Array.isArray(x[0]) ? x[0].length : -1;
    if (
      x.length > 0 && m > 0 &&
      x.every((r) => Array.isArray(r) && r.length === m && r.every((v) => typeof v === "string"))
    ) {
      return arr((x as string[][]).flat(), "str", [x.length, m], enc("string-array", "0.2.0"));
    }
  }
  const proto = x && typeof x === "object" ? Object.getPrototypeOf(x) : undefined;
  // Records as read (scanpy's rank_genes_groups), while still fields of one length.
  const records = x && typeof x === "object" && wasRecords(x) ? recordsOf(x) : undefined;
  if (records) return records;
  if (proto === Object.prototype || proto === null) {
    if (seen.has(x as object)) {
      throw new ValidationError(`cannot write ${path}: it contains itself (a cycle)`);
    }
    if (seen.size >= MAX_UNS_DEPTH) {
      throw new ValidationError(
        `cannot write ${path.slice(0, 120)}...: uns nests more than ${MAX_UNS_DEPTH} levels ` +
          `deep; flatten it (anndata itself cannot read back such nesting)`,
      );
    }
    seen.add(x as object);
    const g = encodeDict(x as Record<string, unknown>, path, seen);
    seen.delete(x as object);
    return g;
  }
  const what = typeof x === "object" && x !== null
    ? `a ${(x as object).constructor?.name ?? "object"}`
    : typeof x === "symbol" || typeof x === "function"
    ? `a ${typeof x}`
    : String(x);
  throw new UnsupportedFormatError(
    `cannot write ${path}: unsupported value ${what.slice(0, 40)} (uns holds numbers, strings, ` +
      `booleans, typed arrays, arrays of those, matrices, DataFrames and plain objects of these)`,
  );
}

/** A dict's elements; a number read as an int8, a float32... is written back as one while it fits. */
function encodeDict(x: Record<string, unknown>, path: string, seen: Set<object>): TreeGroup {
  const g = group(enc("dict", "0.1.0"));
  for (const [k, v] of Object.entries(x)) {
    const as = typeof v === "number" || typeof v === "bigint" ? keptScalar(x, k, v) : undefined;
    g.children[k] = as
      ? arr(as, dtypeOf(as), [], enc("numeric-scalar", "0.2.0"))
      : encodeElem(v, `${path}/${k}`, seen);
  }
  return g;
}

function mapping<T>(values: Record<string, T>, f: (v: T, k: string) => TreeNode): TreeGroup {
  const g = group(enc("dict", "0.1.0"));
  for (const [k, v] of Object.entries(values)) g.children[k] = f(v, k);
  return g;
}

/** A DataFrame in obsm/varm is indexed by the obs/var names (anndata checks they match). */
// An obsm/varm DataFrame is indexed by the obs/var names (anndata checks
// that); its categories and index name as read are kept.
const matrixOrFrame = (names: string[]) => (v: Matrix | pl.DataFrame): TreeNode => {
  if (!isFrame(v)) return encodeMatrix(v);
  const kept = frameMeta(v);
  return encodeDataFrame(v, names, kept?.categories, kept?.indexName);
};

/** Encode a whole AnnData as anndata 0.8 lays it out. */
export function encodeAnnData(a: AnnData): TreeGroup {
  if (!(a instanceof AnnData)) {
    throw new ValidationError(
      `expected an AnnData to write, got ${
        a === null ? "null" : typeof a
      }: build one with new AnnData({ ... })`,
    );
  }
  checkAnnData(a);
  const root = group(enc("anndata", "0.1.0"));
  if (a.X) root.children.X = encodeMatrix(a.X);
  root.children.obs = encodeDataFrame(a.obs, a.obsNames, a.categories.obs, a.indexNames?.obs);
  root.children.var = encodeDataFrame(a.var, a.varNames, a.categories.var, a.indexNames?.var);
  root.children.obsm = mapping(a.obsm, matrixOrFrame(a.obsNames));
  root.children.varm = mapping(a.varm, matrixOrFrame(a.varNames));
  root.children.obsp = mapping(a.obsp, encodeMatrix);
  root.children.varp = mapping(a.varp, encodeMatrix);
  root.children.layers = mapping(a.layers, encodeMatrix);
  root.children.uns = encodeDict(a.uns, "uns", new Set([a.uns]));
  if (a.raw) {
    // Encoded as anndata writes it (IOSpec("raw", "0.1.0")).
    const raw = group(enc("raw", "0.1.0"));
    if (a.raw.X) raw.children.X = encodeMatrix(a.raw.X);
    raw.children.var = encodeDataFrame(
      a.raw.var,
      a.raw.varNames,
      a.raw.categories,
      a.raw.indexName,
    );
    raw.children.varm = mapping(a.raw.varm, matrixOrFrame(a.raw.varNames));
    root.children.raw = raw;
  }
  return root;
}
