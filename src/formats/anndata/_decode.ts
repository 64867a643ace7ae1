// anndata's on-disk element spec -> in-memory values, over any ElementStore.
// Covers encoding types anndata, dataframe, categorical, string, string-array,
// numeric-scalar, nullable-integer, nullable-boolean, csr_matrix, csc_matrix,
// array, dict, plus anndata 0.7's layouts (h5sparse groups, categorical codes
// with their categories in `__categories/`, dataframes without encoding attrs).
import pl from "nodejs-polars";
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import { AnnData, type CategoryInfo, type RawData } from "./anndata.ts";
import {
  CscMatrix,
  CsrMatrix,
  DenseMatrix,
  type Dtype,
  type Matrix,
  type NumericArray,
  outside32,
  withIndicesChecked,
} from "./matrix.ts";
import { type ElementStore, join, type StoreArray } from "./_store.ts";
import type { PartWatch } from "../ranges.ts";
import { categoricalSeries, int64Series, prefetchArrow, utf8Series } from "./_arrow_series.ts";
import { keepFrameMeta, keepNullable } from "./_frame_meta.ts";
import { keepRecords, keepScalarType, keepShape } from "./_scalar_meta.ts";
import { outside64, sparseInts } from "../_int64.ts";
import { MAX_UNS_DEPTH } from "./_options.ts";

/** A decoded dataframe: columns, index and categorical metadata. */
export interface DecodedFrame {
  df: pl.DataFrame;
  index: string[];
  categories: Record<string, CategoryInfo>;
  /** The index's name (pandas' `index.name`), when it has one (its key is not `_index`). */
  indexName?: string;
  /** The index's numbers, when it is stored as numbers (pandas' RangeIndex of a frame in uns). */
  indexNumbers?: NumericArray;
}

function corrupt(store: ElementStore, what: string): never {
  throw new CorruptFileError(`"${store.label}": ${what}`);
}

/**
 * The newest `encoding-version` of each `encoding-type` this reader knows
 * (anndata 0.12's, and MuData's root); older versions read as anndata reads them.
 */
const KNOWN_ENCODINGS: Record<string, string> = {
  "anndata": "0.1.0",
  "raw": "0.1.0",
  "dataframe": "0.2.0",
  "dict": "0.1.0",
  "array": "0.2.0",
  "csr_matrix": "0.1.0",
  "csc_matrix": "0.1.0",
  "categorical": "0.2.0",
  "string-array": "0.2.0",
  "string": "0.2.0",
  "bytes": "0.2.0",
  "numeric-scalar": "0.2.0",
  "nullable-integer": "0.1.0",
  "nullable-boolean": "0.1.0",
  "nullable-string-array": "0.1.0",
  "awkward-array": "0.1.0",
  "rec-array": "0.2.0",
  "null": "0.1.0",
  "MuData": "0.1.0",
};

/** Whether version `v` ("major.minor.patch") is newer than `known`; unparsable: newer. */
function newer(v: string, known: string): boolean {
  const a = v.split("."), b = known.split(".").map(Number);
  if (a.length > 3 || a.some((x) => !/^\d{1,6}$/.test(x))) return true;
  for (let i = 0; i < 3; i++) {
    const d = Number(a[i] ?? 0) - b[i];
    if (d !== 0) return d > 0;
  }
  return false;
}

/**
 * What the legacy categories of column `col` of the dataframe at `path`
 * are (anndata < 0.7 kept them in `__categories/<col>`): `"array"` when
 * there, else undefined. The `__categories` group is asked first (once
 * per dataframe, the store keeps the answer), so a file without one costs
 * no look-up per column.
 */
export async function legacyCategories(
  store: ElementStore,
  path: string,
  col: string,
): Promise<"array" | "group" | undefined> {
  if ((await store.describe(join(path, "__categories"))) !== "group") return undefined;
  return await store.describe(join(path, "__categories", col));
}

/**
 * An element's `encoding-type` (or the legacy h5sparse format as one).
 * A type this reader does not know, or a version newer than the one it
 * knows, is refused as anndata refuses it: read silently, its layout could
 * mean something else.
 */
export async function encoding(store: ElementStore, path: string): Promise<string | undefined> {
  const a = await store.attrs(path);
  const t = a["encoding-type"];
  // "" is anndata's own mark of an element without a type (read by its layout).
  if (typeof t === "string" && t !== "") {
    const v = a["encoding-version"];
    const known = KNOWN_ENCODINGS[t];
    if (known === undefined || (v !== undefined && newer(String(v), known))) {
      throw new UnsupportedFormatError(
        `"${store.label}": /${path} has encoding-type ${JSON.stringify(t.slice(0, 40))}` +
          (v !== undefined ? ` version ${JSON.stringify(String(v).slice(0, 20))}` : "") +
          `, which lamindeno ${known ? `reads up to version ${known}` : "does not know"}; ` +
          `it was likely written by a newer anndata: read it there, or write the file ` +
          `without this element`,
      );
    }
    return t;
  }
  if (typeof a["h5sparse_format"] === "string") return `${a["h5sparse_format"]}_matrix`;
  return undefined;
}

function strings(a: StoreArray, store: ElementStore, path: string): (string | null)[] {
  if (a.kind === "string") return a.data;
  if (a.kind === "number") return Array.from(a.data as ArrayLike<number>, (v) => String(v));
  return corrupt(store, `/${path} should hold strings`);
}

/**
 * Strings as a polars Series. Many: joined by NUL into one string that
 * polars splits (one crossing into polars instead of one per string, ~2x
 * faster); if a string holds NUL itself (or is missing), one by one.
 */
function stringSeries(name: string, data: (string | null)[]): pl.Series {
  if (data.length < 1000 || data.includes(null)) return pl.Series(name, data, pl.Utf8);
  const joined = pl.DataFrame({ [name]: [data.join("\0")] })
    .select(pl.col(name).str.split("\0").explode()).getColumn(name);
  return joined.length === data.length ? joined : pl.Series(name, data, pl.Utf8);
}

/** Whether an int64 value of `d` is past +-2^53 (as a JS number it would be rounded). */
function beyond53(d: BigInt64Array): boolean {
  const w = new Int32Array(d.buffer, d.byteOffset, d.length * 2);
  for (let i = 1; i < w.length; i += 2) if (w[i] < -0x200000 || w[i] >= 0x200000) return true;
  return false;
}

/** An int64 column as a Series: exactly, also past 2^53. */
async function int64Column(name: string, d: BigInt64Array): Promise<pl.Series> {
  return (beyond53(d) && await int64Series(name, d)) || pl.Series(name, d as unknown as number[]);
}

/** A 1-D column as a polars Series; float NaN becomes null (pandas' missing). */
export function toSeries(name: string, a: StoreArray): pl.Series {
  if (a.kind === "string") return stringSeries(name, a.data);
  if (a.kind === "bool") return pl.Series(name, a.data).cast(pl.Bool);
  const d = a.data;
  const s = pl.Series(name, d as unknown as number[]);
  // NaN looked for by polars (~0.4 ns a value, where a JS loop took 2-4 here;
  // the Series method exists, its typings lack it).
  const float = d instanceof Float32Array || d instanceof Float64Array;
  if (float && (s as unknown as { isNaN(): pl.Series }).isNaN().any()) {
    // From the typed array, NaN made null inside polars (a JS value per row costs 30x more).
    return pl.DataFrame([s]).select(pl.col(name).fillNan(null)).getColumn(name);
  }
  return s;
}

/**
 * Check categorical codes: each is -1 (missing) or a category's position;
 * `CorruptFileError` naming the element otherwise (pandas raises too).
 */
export function checkCodes(
  codes: ArrayLike<number | bigint>,
  n: number,
  label: string,
  path: string,
): void {
  for (let k = 0; k < codes.length; k++) {
    const c = Number(codes[k]);
    if (!(c >= -1 && c < n) || !Number.isInteger(c)) {
      throw new CorruptFileError(
        `"${label}": /${path}: code ${codes[k]} at row ${k} is not one of the ${n} categories ` +
          `(or -1 for missing): the file is damaged`,
      );
    }
  }
}

/** Rows of a categorical gathered without the query engine (see `categorical`). */
const SERIES_GATHER = 200_000;

async function categorical(
  name: string,
  codes: ArrayLike<number | bigint>,
  categories: (string | null)[],
  ordered: boolean,
  where: { label: string; path: string },
): Promise<{ series: pl.Series; info: CategoryInfo }> {
  checkCodes(codes, categories.length, where.label, where.path);
  const cats = categories.map((c) => c ?? "");
  if (
    (codes instanceof Int8Array || codes instanceof Int16Array || codes instanceof Int32Array) &&
    new Set(cats).size === cats.length
  ) {
    const series = await categoricalSeries(name, codes, cats);
    if (series) return { series, info: { categories: cats, ordered } };
  }
  // Gather from the (small) categorical dictionary inside polars, with the
  // indices as a typed array, rather than one JS value per row: code -1
  // (missing) points at a trailing null.
  const missing = cats.length;
  const idx = new Uint32Array(codes.length);
  for (let k = 0; k < idx.length; k++) {
    const i = Number(codes[k]);
    idx[k] = i < 0 || i >= missing ? missing : i;
  }
  const dict = pl.DataFrame([pl.Series(name, [...cats, null], pl.Utf8).cast(pl.Categorical)]);
  // Up to a batch's rows: the Series' own gather, with the indices as
  // numbers (a query engine run costs ~10 MB of memory the first time, for
  // its code: out-of-core batches stay within 2 x a batch + 150 MB); more:
  // in the query engine (4x faster than from numbers at 1M rows).
  const series = idx.length === 0
    ? dict.getColumn(name).slice(0, 0)
    : idx.length <= SERIES_GATHER
    ? dict.getColumn(name).gather(Array.from(idx))
    : dict.select(pl.col(name).gather(pl.lit(pl.Series("i", idx)).explode())).getColumn(name);
  return { series, info: { categories: cats, ordered } };
}

async function readNullable(
  store: ElementStore,
  path: string,
  name: string,
  rows?: Uint32Array,
): Promise<pl.Series> {
  const values = await readSelected(store, join(path, "values"), rows);
  const mask = await readSelected(store, join(path, "mask"), rows);
  if (mask.kind !== "bool" && mask.kind !== "number") {
    corrupt(store, `/${path}/mask is not boolean`);
  }
  if (mask.data.length !== values.data.length) {
    corrupt(store, `/${path}: ${values.data.length} values but ${mask.data.length} mask entries`);
  }
  if (values.kind === "string") {
    // nullable-string-array (pandas' StringDtype, anndata 0.11 on).
    const m = mask.data as ArrayLike<number>;
    return pl.Series(name, values.data.map((v, i) => (m[i] ? null : v ?? "")), pl.Utf8);
  }
  // From the typed array (its dtype kept: UInt32 stays UInt32, not Int32
  // with values past 2^31 lost), masked entries made null inside polars.
  const series = values.kind === "bool"
    ? pl.Series(name, values.data).cast(pl.Bool)
    : values.data instanceof BigInt64Array
    ? await int64Column(name, values.data)
    : pl.Series(name, values.data as unknown as number[]);
  const maskSeries = pl.Series("mask", mask.data as unknown as number[]).cast(pl.Bool);
  return pl.DataFrame([series, maskSeries])
    .select(pl.when(pl.col("mask")).then(pl.lit(null)).otherwise(pl.col(name)).alias(name))
    .getColumn(name);
}

/**
 * A categorical's categories: an array of strings, numbers or booleans, or
 * (pandas 3's strings, anndata 0.11 on) a nullable-string-array group.
 */
export async function readCategories(store: ElementStore, path: string): Promise<StoreArray> {
  if (
    (await store.describe(path)) === "group" &&
    (await encoding(store, path)) === "nullable-string-array"
  ) {
    const s = await readNullable(store, path, "categories");
    return {
      kind: "string",
      data: s.toArray().map((v) => (v == null ? null : String(v))),
      shape: [s.length],
    };
  }
  return await store.read(path);
}

/**
 * A categorical whose categories are numbers or booleans (pandas allows any
 * type; polars' Categorical holds strings): its values as a plain column of
 * the categories' type, missing where the code is -1.
 */
function categoricalValues(
  name: string,
  codes: ArrayLike<number | bigint>,
  cats: StoreArray,
  where: { label: string; path: string },
): pl.Series {
  checkCodes(codes, cats.data.length, where.label, where.path);
  // Gathered inside polars from the categories plus a trailing null (code
  // -1), with the indices as a typed array (as `categorical` does).
  const missing = cats.data.length;
  const idx = Uint32Array.from(
    codes as ArrayLike<number>,
    (c) => (Number(c) < 0 ? missing : Number(c)),
  );
  const values = pl.Series("c", cats.data as unknown as number[]);
  const dict = pl.concat([values, pl.Series("c", [null]).cast(values.dtype)]);
  const out = idx.length === 0 ? dict.slice(0, 0).rename(name) : pl.DataFrame([dict]).select(
    pl.col("c").gather(pl.lit(pl.Series("i", idx)).explode()).alias(name),
  )
    .getColumn(name);
  return cats.kind === "bool" ? out.cast(pl.Bool) : out;
}

/** Read a dataframe element (obs, var, or one in obsm/uns). */
/** Pick `rows` of a 1-D array read whole. */
function pick(a: StoreArray, rows: Uint32Array): StoreArray {
  if (a.kind === "string") {
    return {
      ...a,
      data: Array.from(rows, (i) => a.data[i]),
      shape: [rows.length],
    };
  }
  const src = a.data as NumericArray;
  const out = new (src.constructor as new (n: number) => NumericArray)(rows.length);
  // deno-lint-ignore no-explicit-any
  for (let k = 0; k < rows.length; k++) (out as any)[k] = (src as any)[rows[k]];
  return { ...a, data: out, shape: [rows.length] } as StoreArray;
}

/** A 1-D array, or just `rows` of it (by range reads when the store can). */
export async function readSelected(
  store: ElementStore,
  path: string,
  rows: Uint32Array | undefined,
): Promise<StoreArray> {
  if (!rows) return await store.read(path);
  if (store.readRows) return await store.readRows(path, rows);
  return pick(await store.read(path), rows);
}

/** The column names of a dataframe element, in order, and its index key. */
export async function frameColumns(
  store: ElementStore,
  path: string,
): Promise<{ columns: string[]; indexKey: string }> {
  const attrs = await store.attrs(path);
  const kind = await store.describe(path);
  if (kind !== "group") return corrupt(store, `/${path} should be a dataframe group`);
  const enc = await encoding(store, path);
  if (enc !== undefined && enc !== "dataframe") {
    return corrupt(store, `/${path} has encoding-type ${enc}; expected dataframe`);
  }
  const indexKey = typeof attrs._index === "string" ? attrs._index : "_index";
  const co = attrs["column-order"];
  if (Array.isArray(co)) return { columns: co.map(String), indexKey };
  if (typeof co === "string") return { columns: [co], indexKey };
  const keys = await store.keys(path);
  return { columns: keys.filter((k) => k !== indexKey && k !== "__categories"), indexKey };
}

/** One column of a dataframe element (all rows, or `rows`). */
export async function readColumn(
  store: ElementStore,
  path: string,
  col: string,
  rows?: Uint32Array,
): Promise<{ series: pl.Series; info?: CategoryInfo; nullable?: boolean }> {
  const p = join(path, col);
  const enc = await encoding(store, p);
  if (enc === "categorical") {
    const attrs = await store.attrs(p);
    const codes = await readSelected(store, join(p, "codes"), rows);
    if (codes.kind !== "number") corrupt(store, `/${p}/codes should be integers`);
    const where = { label: store.label, path: join(p, "codes") };
    const stored = await readCategories(store, join(p, "categories"));
    if (stored.kind !== "string") {
      return {
        series: categoricalValues(col, codes.data as ArrayLike<number>, stored, where),
        info: {
          categories: Array.from(
            stored.data as ArrayLike<unknown>,
            (c) => stored.kind === "bool" ? String(c !== 0) : String(c),
          ),
          ordered: Boolean(attrs.ordered),
          values: stored.kind === "bool" ? "boolean" : "number",
        },
      };
    }
    const cats = stored.data;
    return categorical(col, codes.data as ArrayLike<number>, cats, Boolean(attrs.ordered), where);
  }
  if (
    enc === "nullable-integer" || enc === "nullable-boolean" || enc === "nullable-string-array"
  ) {
    return {
      series: await readNullable(store, p, col, rows),
      nullable: enc !== "nullable-string-array",
    };
  }
  if ((await store.describe(p)) === "array") {
    // Strings straight from their bytes into polars, when the store can.
    const utf8 = await store.readUtf8?.(p, rows);
    const fast = utf8 && await utf8Series(col, utf8);
    if (fast) return { series: fast };
    // Legacy categories (anndata < 0.7) looked for while the values are read.
    const legacyCats = join(path, "__categories", col);
    const legacy = legacyCategories(store, path, col);
    legacy.catch(() => {});
    const a = await readSelected(store, p, rows);
    if (a.kind === "number" && (await legacy) === "array") {
      const cats = strings(await store.read(legacyCats), store, legacyCats);
      return categorical(
        col,
        a.data as ArrayLike<number>,
        cats,
        Boolean((await store.attrs(p)).ordered),
        { label: store.label, path: p },
      );
    }
    if (a.kind === "number" && a.data instanceof BigInt64Array) {
      return { series: await int64Column(col, a.data) };
    }
    return { series: toSeries(col, a) };
  }
  return corrupt(store, `/${p}: column "${col}" has an unsupported encoding ${enc}`);
}

/**
 * Read a dataframe element (obs, var, or one in obsm/uns): all rows, or
 * `rows`; all columns, or `only` these (names the caller checked).
 */
export async function readDataFrame(
  store: ElementStore,
  path: string,
  rows?: Uint32Array,
  only?: readonly string[],
): Promise<DecodedFrame> {
  prefetchArrow();
  const found = await frameColumns(store, path);
  const { indexKey } = found;
  const columns = only ? [...only] : found.columns;
  const series: pl.Series[] = [];
  const categories: Record<string, CategoryInfo> = {};
  const idx = join(path, indexKey);
  // Columns and index at once (from object storage: one round trip, not one each).
  let indexNumbers: NumericArray | undefined;
  const [read, index] = await Promise.all([
    Promise.all(columns.map((col) => readColumn(store, path, col, rows))),
    (async () => {
      const kind = await store.describe(idx);
      if (kind === "array") {
        const a = await readSelected(store, idx, rows);
        if (a.kind === "number") indexNumbers = a.data as NumericArray;
        return strings(a, store, idx).map((s) => s ?? "");
      }
      // pandas 3's string index (anndata 0.11 on): values and a mask.
      if (kind === "group" && await encoding(store, idx) === "nullable-string-array") {
        return (await readNullable(store, idx, indexKey, rows)).toArray().map((s) =>
          s == null ? "" : String(s)
        );
      }
      return [];
    })(),
  ]);
  const nullable: string[] = [];
  for (const [k, { series: s, info, nullable: isNullable }] of read.entries()) {
    series.push(s);
    if (info) categories[columns[k]] = info;
    if (isNullable) nullable.push(columns[k]);
  }
  // Every column as long as the index (or the first column): a length
  // claimed wrong is damage, not a frame polars refuses with a raw error.
  const n = index.length || series[0]?.length;
  for (const [k, s] of series.entries()) {
    if (s.length !== n) {
      corrupt(
        store,
        `/${
          join(path, columns[k])
        } has ${s.length} rows where /${path} has ${n}: the file is damaged`,
      );
    }
  }
  const df = series.length ? pl.DataFrame(series) : pl.DataFrame({});
  keepNullable(df, nullable);
  return {
    df,
    index,
    categories,
    ...(indexKey !== "_index" ? { indexName: indexKey } : {}),
    ...(indexNumbers ? { indexNumbers } : {}),
  };
}

/** Parts of int64 indices checked as they landed (what tests look at). */
export const wideChecks = { parts: 0 };

/**
 * Checks sparse indices against `[0, minor)` part by part while they are
 * read: int32 ones through `watch`, int64 (or uint64) ones through its
 * `wide` watch; `checked(indices)`: whether every one of them was seen and
 * found in range (else the matrix checks them itself).
 */
export function indexWatcher(minor: number): {
  watch: PartWatch;
  checked: (indices: ArrayBufferView) => boolean;
} {
  // `width`: the element size the parts came in (4 or 8), 0 before the first.
  let covered = 0, ok = true, width = 0;
  const seen = (part: Uint8Array, w: number): boolean => {
    if (!ok || (width && width !== w) || part.byteOffset % w !== 0 || part.length % w !== 0) {
      return ok = false;
    }
    width = w;
    return true;
  };
  const watch: PartWatch = (part: Uint8Array): void => {
    if (!seen(part, 4)) return;
    ok = outside32(new Int32Array(part.buffer, part.byteOffset, part.length / 4), minor) < 0;
    covered += part.length;
  };
  // Parts a decoding worker checked against the same bound (see PartWatch).
  watch.int32Below = minor;
  watch.checked = (part: Uint8Array) => {
    if (seen(part, 4)) covered += part.length;
  };
  const wide: PartWatch = (part: Uint8Array): void => {
    if (!seen(part, 8)) return;
    ok = outside64(new BigInt64Array(part.buffer, part.byteOffset, part.length / 8), minor) < 0;
    covered += part.length;
    wideChecks.parts++;
  };
  wide.int64Below = minor;
  wide.checked = (part: Uint8Array) => {
    if (!seen(part, 8)) return;
    covered += part.length;
    wideChecks.parts++;
  };
  watch.wide = wide;
  return {
    watch,
    checked: (indices: ArrayBufferView) =>
      ok && covered === indices.byteLength &&
      (width === 8
        ? indices instanceof BigInt64Array || indices instanceof BigUint64Array
        : indices instanceof Int32Array),
  };
}

/** An awkward array (ragged) where one is met: refused, saying what to do. */
function awkward(store: ElementStore, path: string): never {
  throw new UnsupportedFormatError(
    `"${store.label}": /${path} is an awkward array (ragged), which lamindeno does not read; ` +
      `read it in Python (anndata with awkward) or leave it out of the file`,
  );
}

/** Read a matrix element: dense array, csr_matrix or csc_matrix. */
export async function readMatrix(store: ElementStore, path: string): Promise<Matrix> {
  const kind = await store.describe(path);
  if (kind === undefined) return corrupt(store, `missing /${path}`);
  const enc = await encoding(store, path);
  if (kind === "array") {
    const a = await store.read(path);
    if (a.kind === "string") return corrupt(store, `/${path} holds strings, not numbers`);
    const shape = a.shape.length === 1 ? [a.shape[0], 1] : a.shape;
    if (shape.length !== 2) {
      // Valid (anndata keeps n-dimensional arrays in obsm/varm/layers), not read here.
      throw new UnsupportedFormatError(
        `"${store.label}": /${path} has ${a.shape.length} dimensions; lamindeno reads matrices ` +
          `of 1 or 2: leave it out (e.g. stream({ obsm: [...] }) naming the others), or reshape ` +
          `it in Python`,
      );
    }
    if (a.kind === "bool") return new DenseMatrix(a.data, shape as [number, number], "bool");
    return new DenseMatrix(a.data, shape as [number, number]);
  }
  if (enc === "awkward-array") return awkward(store, path);
  if (enc !== "csr_matrix" && enc !== "csc_matrix") {
    return corrupt(store, `/${path} has encoding-type ${enc}; expected a matrix`);
  }
  const attrs = await store.attrs(path);
  const shapeAttr = sparseShape(attrs);
  if (!shapeAttr) return corrupt(store, `/${path} has no valid shape attribute`);
  const shape = shapeAttr.map(Number) as [number, number];
  // At once: their reads overlap (and with whatever else is being read);
  // the indices are checked part by part as they land.
  const watcher = indexWatcher(enc === "csr_matrix" ? shape[1] : shape[0]);
  const [data, indices, indptr] = await Promise.all(
    ["data", "indices", "indptr"].map((k) =>
      store.read(join(path, k), k === "indices" ? watcher.watch : undefined)
    ),
  );
  if (data.kind === "string" || indices.kind !== "number" || indptr.kind !== "number") {
    return corrupt(store, `/${path} has malformed data/indices/indptr`);
  }
  // uint64 (some writers' indptr) as int64: a value past 2^63 turns negative, and is refused;
  // other types as int32 (or int64), never truncated or wrapped into valid values.
  const Cls = enc === "csr_matrix" ? CsrMatrix : CscMatrix;
  const make = () =>
    new Cls(
      data.data,
      sparseInts(indices.data),
      sparseInts(indptr.data),
      shape,
      data.kind === "bool" ? "bool" : undefined,
    );
  try {
    return watcher.checked(indices.data) ? withIndicesChecked(make) : make();
  } catch (e) {
    return corrupt(store, `/${path}: ${(e as Error).message}`);
  }
}

/** The `[rows, cols]` a sparse matrix group's attributes give, or undefined when absent or bad. */
export function sparseShape(attrs: Record<string, unknown>): [number, number] | undefined {
  const s = attrs.shape ?? attrs.h5sparse_shape;
  if (!Array.isArray(s) || s.length !== 2) return undefined;
  const out = s.map(Number);
  return out.every((d) => Number.isSafeInteger(d) && d >= 0) ? out as [number, number] : undefined;
}

/**
 * Read any element of uns (recursively). A number read from a 0-d dataset
 * tells `onScalar` its dtype.
 */
export async function readElem(
  store: ElementStore,
  path: string,
  onScalar?: (dtype: Dtype) => void,
): Promise<unknown> {
  // Deeper than any writer nests (a crafted file): refused before reading on.
  if (path.split("/").length > MAX_UNS_DEPTH + 8) {
    return corrupt(
      store,
      `/${path.slice(0, 120)}...: nests more than ${MAX_UNS_DEPTH} levels deep`,
    );
  }
  const kind = await store.describe(path);
  const enc = await encoding(store, path);
  switch (enc) {
    case "null":
      return null;
    case "nullable-string-array":
      return (await readNullable(store, path, path.split("/").pop()!)).toArray();
    case "awkward-array":
      return awkward(store, path);
    case "dataframe":
      return keptFrame(await readDataFrame(store, path));
    case "csr_matrix":
    case "csc_matrix":
      return await readMatrix(store, path);
    case "categorical":
      return (await readColumn(
        store,
        path.split("/").slice(0, -1).join("/"),
        path.split("/").pop()!,
      ))
        .series;
    case "nullable-integer":
    case "nullable-boolean":
      return await readNullable(store, path, path.split("/").pop()!);
    case "rec-array": {
      // Its fields (as the stores give them), remembered as records for a write.
      if (kind !== "group") break;
      const fields = await readDict(store, path);
      keepRecords(fields);
      return fields;
    }
  }
  if (kind === "group") return await readDict(store, path);
  if (kind !== "array") return corrupt(store, `missing /${path}`);
  const a = await store.read(path);
  if (a.shape.length === 0) {
    if (a.kind === "string") return a.data[0];
    if (a.kind === "bool") return a.data[0] !== 0;
    const v = a.data[0];
    if (a.kind === "number") onScalar?.(a.dtype);
    // A 64-bit integer as a number when that is exact, else as a bigint.
    return typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v) : v;
  }
  if (a.kind === "string" && a.shape.length === 2) {
    // A 2-D array of strings: its rows (numpy's row-major order).
    const [n, m] = a.shape;
    return Array.from({ length: n }, (_, i) => a.data.slice(i * m, (i + 1) * m));
  }
  if (a.kind === "string") return a.data;
  if (a.shape.length === 2) return await readMatrix(store, path);
  if (a.kind === "bool") return Array.from(a.data, (v) => v !== 0);
  // n dimensions: the values in row-major order, the shape kept for a write.
  if (a.shape.length > 2) keepShape(a.data, a.shape);
  return a.data;
}

/** Read a group as a record of elements. */
export async function readDict(
  store: ElementStore,
  path: string,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if ((await store.describe(path)) !== "group") return out;
  // Entries at once (from object storage: their round trips overlap), kept in key order.
  const keys = await store.keys(path);
  const values = await Promise.all(
    keys.map((k) => readElem(store, join(path, k), (dtype) => keepScalarType(out, k, dtype))),
  );
  keys.forEach((k, i) => out[k] = values[i]);
  return out;
}

export async function readMapping<T>(
  store: ElementStore,
  path: string,
  read: (p: string) => Promise<T>,
): Promise<Record<string, T>> {
  return await readKeyed(path, await mappingKeys(store, path), read);
}

/** The keys of the group `path` (none when there is no such group). */
async function mappingKeys(store: ElementStore, path: string): Promise<string[]> {
  return (await store.describe(path)) === "group" ? await store.keys(path) : [];
}

/** The entries `keys` of the group `path`, each read by `read`. */
async function readKeyed<T>(
  path: string,
  keys: string[],
  read: (p: string) => Promise<T>,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  const values = await Promise.all(keys.map((k) => read(join(path, k))));
  keys.forEach((k, i) => out[k] = values[i]);
  return out;
}

/** A DataFrame read from uns/obsm/varm, its index and categories kept for a write. */
function keptFrame(f: DecodedFrame): pl.DataFrame {
  return keepFrameMeta(f.df, {
    index: f.index,
    categories: f.categories,
    ...(f.indexName !== undefined ? { indexName: f.indexName } : {}),
    ...(f.indexNumbers ? { indexNumbers: f.indexNumbers } : {}),
  });
}

async function matrixOrFrame(store: ElementStore, path: string): Promise<Matrix | pl.DataFrame> {
  return (await encoding(store, path)) === "dataframe"
    ? keptFrame(await readDataFrame(store, path))
    : await readMatrix(store, path);
}

/** Read a whole AnnData from the root of a store. */
export async function readAnnData(store: ElementStore): Promise<AnnData> {
  if ((await store.describe("obs")) === undefined || (await store.describe("var")) === undefined) {
    corrupt(store, "not an AnnData store: it has no obs and var");
  }
  // The parts at once: reads of one overlap decoding of another. The
  // matrices first, obs and var a macrotask later: the matrices' decoding
  // (on the worker pool) is the longest part, and its jobs went out behind
  // obs's, whose strings this thread then decoded before it sent the rest.
  // Their names first (a listing each), so that every matrix's reads start
  // together: listed while obs was being decoded here, the layers' names
  // came ~170 ms into a fresh process's load, and their reads after them.
  const [hasX, layerKeys, obsmKeys] = await Promise.all([
    store.describe("X"),
    mappingKeys(store, "layers"),
    mappingKeys(store, "obsm"),
  ]);
  const matrices = Promise.all([
    hasX ? readMatrix(store, "X") : undefined,
    readKeyed("layers", layerKeys, (p) => readMatrix(store, p)),
    readKeyed("obsm", obsmKeys, (p) => matrixOrFrame(store, p)),
  ]);
  const later = new Promise((r) => setTimeout(r, 0));
  const frames = later.then(() =>
    Promise.all([readDataFrame(store, "obs"), readDataFrame(store, "var")])
  );
  const [[X, layers, obsm], [obs, v]] = await Promise.all([matrices, frames]);
  let raw: RawData | undefined;
  if ((await store.describe("raw")) === "group") {
    const rv = await readDataFrame(store, "raw/var");
    raw = {
      X: (await store.describe("raw/X")) ? await readMatrix(store, "raw/X") : undefined,
      var: rv.df,
      varNames: rv.index,
      varm: await readMapping(store, "raw/varm", (p) => matrixOrFrame(store, p)),
      categories: rv.categories,
      ...(rv.indexName !== undefined ? { indexName: rv.indexName } : {}),
    };
  }
  try {
    return new AnnData({
      X,
      obs: obs.df,
      var: v.df,
      obsNames: obs.index.length || !X ? obs.index : undefined,
      varNames: v.index.length || !X ? v.index : undefined,
      layers,
      obsm,
      varm: await readMapping(store, "varm", (p) => matrixOrFrame(store, p)),
      obsp: await readMapping(store, "obsp", (p) => readMatrix(store, p)),
      varp: await readMapping(store, "varp", (p) => readMatrix(store, p)),
      uns: await readDict(store, "uns"),
      raw,
      categories: { obs: obs.categories, var: v.categories },
      indexNames: { obs: obs.indexName, var: v.indexName },
    });
  } catch (e) {
    if (e instanceof CorruptFileError || e instanceof UnsupportedFormatError) throw e;
    return corrupt(store, `inconsistent AnnData: ${(e as Error).message}`);
  }
}
