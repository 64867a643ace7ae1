// Concatenating AnnData objects along obs (anndata's `ad.concat(axis=0)`):
// var names joined (inner: in every part; outer: in any), X and layers
// aligned to the joined var, obs stacked with a column naming each row's
// part. Also the row assembly that `Collection.mapped()` batches use.
import pl from "nodejs-polars";
import { ValidationError } from "../../errors.ts";
import { AnnData, type CategoryInfo } from "./anndata.ts";
import { byCodePoint } from "./_code_points.ts";
import { resultDtype } from "./_promote.ts";
import {
  allocate,
  CscMatrix,
  CsrMatrix,
  DenseMatrix,
  type Dtype,
  isMatrix,
  type Matrix,
} from "./matrix.ts";
import type { DataFrame } from "../tables.ts";
import { checkKnownOptions, describeValue } from "../../storage/_validate.ts";
import { iota } from "../_iota.ts";

/** How var is joined: names in every part (`"inner"`) or in any (`"outer"`). */
export type Join = "inner" | "outer";

/** Options of {@linkcode concatAnnData}. */
export interface ConcatOptions {
  /** `"inner"` (default) or `"outer"`; outer leaves what a part lacks empty in sparse results, NaN in dense ones (0 for integers). */
  join?: Join;
  /** The obs column naming each row's part (categorical); none when omitted. */
  label?: string;
  /** The value of `label` per part (default `"0"`, `"1"`, ...). */
  keys?: string[];
}

/**
 * The joined names of several parts, as anndata joins them: inner, those in
 * every part in the first part's order; outer, the union (pandas'
 * `Index.union`, part after part): the names in their order when every part
 * with names has the same (parts without any do not count), else sorted by
 * code point, as Python sorts strings. A part with a name twice cannot be
 * aligned: `ValidationError` (`what` names the parts).
 */
export function joinNames(
  lists: readonly string[][],
  join: Join,
  what: (i: number) => string,
): string[] {
  lists.forEach((names, i) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) {
        throw new ValidationError(
          `${what(i)} has the var name ${JSON.stringify(n)} twice, so its columns cannot be ` +
            `aligned with the other parts'; make its var names unique first`,
        );
      }
      seen.add(n);
    }
  });
  if (lists.length === 0) return [];
  if (join === "outer") {
    // pandas' union of two indexes is the other one when either is empty,
    // either one when they are equal, else their sorted union.
    const some = lists.filter((l) => l.length > 0);
    if (some.length === 0) return [];
    const first = some[0];
    const same = some.every((l) => l.length === first.length && l.every((n, i) => n === first[i]));
    if (same) return [...first];
    const all = new Set<string>();
    for (const names of some) for (const n of names) all.add(n);
    return [...all].sort(byCodePoint);
  }
  const sets = lists.slice(1).map((l) => new Set(l));
  return lists[0].filter((n) => sets.every((s) => s.has(n)));
}

/** For each of `names`, its column in `joined`, or -1 when it is not there. */
export function columnMap(names: readonly string[], joined: readonly string[]): Int32Array {
  const at = new Map(joined.map((n, i) => [n, i]));
  return Int32Array.from(names, (n) => at.get(n) ?? -1);
}

/** A matrix whose columns go to `cols[j]` of the result (-1: dropped). */
export interface MappedPart {
  /** The part's rows. */
  m: Matrix;
  /** Part column -> result column, or -1. */
  cols: Int32Array;
}

function isFloat(d: Dtype): boolean {
  return d === "float32" || d === "float64";
}

/** A CSC matrix as CSR (same values). */
function cscToCsr(m: CscMatrix): CsrMatrix {
  const [n, k] = m.shape;
  const counts = new Int32Array(n + 1);
  for (let e = 0; e < m.indices.length; e++) counts[Number(m.indices[e]) + 1]++;
  for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
  const indptr = Int32Array.from(counts);
  const next = Int32Array.from(counts);
  const indices = new Int32Array(m.data.length);
  const data = allocate(m.dtype, m.data.length);
  for (let j = 0; j < k; j++) {
    for (let e = Number(m.indptr[j]); e < Number(m.indptr[j + 1]); e++) {
      const r = Number(m.indices[e]);
      indices[next[r]] = j;
      data[next[r]++] = m.data[e] as never;
    }
  }
  return new CsrMatrix(data, indices, indptr, [n, k], m.dtype);
}

/** The dtype and layout of an {@linkcode assembleRows} result, when given rather than taken from the parts. */
export interface RowsLayout {
  /** The result's dtype (the parts' values are converted to it). */
  dtype: Dtype;
  /** CSR (true) or dense (false). */
  sparse: boolean;
}

/** The layout {@linkcode assembleRows} gives `matrices` stacked: numpy's promotion of their dtypes; CSR when any is sparse. */
export function rowsLayout(matrices: readonly { dtype: Dtype; sparse: boolean }[]): RowsLayout {
  return {
    dtype: resultDtype(matrices.map((m) => m.dtype)),
    sparse: matrices.some((m) => m.sparse),
  };
}

/**
 * Rows of several parts as one matrix of `nCols` columns: `picks` as
 * `[part, row]` pairs in result order (every row of every part, in order,
 * when omitted). Unless `layout` says otherwise, the result is CSR when any
 * part is sparse, else dense, and its dtype is the one numpy gives the
 * parts' dtypes stacked (`np.result_type`: int32 and int64 make int64,
 * uint8 and int8 int16, int16 and float32 float32, int32 and float32
 * float64, uint64 and a signed integer float64, bool and any the other). A
 * dense result fills columns no part maps with NaN (0 for integer dtypes).
 */
export function assembleRows(
  parts: readonly MappedPart[],
  nCols: number,
  picks?: ArrayLike<number>[],
  layout?: RowsLayout,
): Matrix {
  const rows: [number, number][] = [];
  if (picks) { for (const p of picks) rows.push([p[0], p[1]]); }
  else {parts.forEach((p, i) => {
      for (let r = 0; r < p.m.shape[0]; r++) rows.push([i, r]);
    });}
  const own = rowsLayout(
    parts.map((p) => ({ dtype: p.m.dtype, sparse: !(p.m instanceof DenseMatrix) })),
  );
  const dtype = layout?.dtype ?? own.dtype;
  const sparse = own.sparse || Boolean(layout?.sparse);
  const big = dtype === "int64" || dtype === "uint64";
  const conv = (v: number | bigint) => (big ? BigInt(v) : Number(v)) as never;
  if (!sparse) {
    const out = allocate(dtype, rows.length * nCols);
    const gaps = parts.some((p) => p.cols.filter((c) => c >= 0).length < nCols);
    if (gaps && isFloat(dtype)) (out as Float64Array).fill(NaN);
    rows.forEach(([pi, r], i) => {
      const { m, cols } = parts[pi];
      const d = (m as DenseMatrix).data;
      const w = m.shape[1];
      for (let j = 0; j < w; j++) {
        const c = cols[j];
        if (c >= 0) out[i * nCols + c] = conv(d[r * w + j]);
      }
    });
    return new DenseMatrix(out, [rows.length, nCols], dtype);
  }
  const csr = parts.map((p) =>
    p.m instanceof CscMatrix ? cscToCsr(p.m) : p.m instanceof CsrMatrix ? p.m : undefined
  );
  // Typed arrays throughout (a JS pair per stored value took ~90 bytes of
  // heap each: 440 MB for 5M values). Pass 1 counts each output row's
  // values, pass 2 writes them; a part whose columns map to themselves is
  // copied a row at a time.
  const identity = parts.map((p) => p.cols.length === nCols && p.cols.every((c, j) => c === j));
  const at = (c: CsrMatrix, r: number) => [Number(c.indptr[r]), Number(c.indptr[r + 1])];
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach(([pi, r], i) => {
    const { m, cols } = parts[pi];
    const c = csr[pi];
    let n = 0;
    if (c) {
      const [s, e] = at(c, r);
      if (identity[pi]) n = e - s;
      else for (let k = s; k < e; k++) n += cols[Number(c.indices[k])] >= 0 ? 1 : 0;
    } else {
      const d = (m as DenseMatrix).data, w = m.shape[1];
      for (let j = 0; j < w; j++) n += cols[j] >= 0 && d[r * w + j] != 0 ? 1 : 0;
    }
    if (indptr[i] + n > 0x7fffffff) {
      throw new ValidationError("the concatenated matrix would hold more than 2^31 values");
    }
    indptr[i + 1] = indptr[i] + n;
  });
  const nnz = indptr[rows.length];
  const data = allocate(dtype, nnz);
  const indices = new Int32Array(nnz);
  // A typed array's set() converts between number types, and between bigint types.
  const isBig = (d: ArrayLike<unknown>) =>
    d instanceof BigInt64Array || d instanceof BigUint64Array;
  rows.forEach(([pi, r], i) => {
    const { m, cols } = parts[pi];
    const c = csr[pi];
    let o = indptr[i];
    if (c) {
      const [s, e] = at(c, r);
      if (identity[pi]) {
        indices.set(c.indices.subarray(s, e) as Int32Array, o);
        if (isBig(c.data) === big) {
          (data as Float64Array).set(c.data.subarray(s, e) as Float64Array, o);
        } else for (let k = s; k < e; k++) data[o + k - s] = conv(c.data[k]);
        return;
      }
      for (let k = s; k < e; k++) {
        const j = cols[Number(c.indices[k])];
        if (j >= 0) (indices[o] = j, data[o++] = conv(c.data[k]));
      }
    } else {
      const d = (m as DenseMatrix).data, w = m.shape[1];
      for (let j = 0; j < w; j++) {
        const v = d[r * w + j];
        if (cols[j] >= 0 && v != 0) (indices[o] = cols[j], data[o++] = conv(v));
      }
    }
    sortRow(indices, data, indptr[i], o);
  });
  return new CsrMatrix(data, indices, indptr, [rows.length, nCols], dtype);
}

/** Values `[s, e)` of a CSR row sorted by column, when the column map reordered them. */
function sortRow(indices: Int32Array, data: ReturnType<typeof allocate>, s: number, e: number) {
  let sorted = true;
  for (let k = s + 1; k < e && sorted; k++) sorted = indices[k - 1] <= indices[k];
  if (sorted) return;
  const order = Array.from({ length: e - s }, (_, k) => s + k)
    .sort((a, b) => indices[a] - indices[b]);
  const idx = order.map((k) => indices[k]), val = order.map((k) => data[k]);
  for (let k = 0; k < idx.length; k++) (indices[s + k] = idx[k], data[s + k] = val[k] as never);
}

/** Categorical columns as strings (polars refuses to stack categoricals of different origins). */
function plain(df: DataFrame): DataFrame {
  const cats = df.columns.filter((c) => df.getColumn(c).dtype.equals(pl.Categorical));
  return cats.length ? df.withColumns(...cats.map((c) => pl.col(c).cast(pl.Utf8))) : df;
}

/**
 * Stack data frames (columns joined: a column a frame lacks is null there;
 * numbers widen to a common type, numbers and strings become strings;
 * categoricals become categoricals of the union of categories). A column
 * whose types have no common one is a `ValidationError`.
 */
export function stackFrames(frames: DataFrame[], what: string): DataFrame {
  const nonEmpty = frames.filter((f) => f.width > 0);
  if (nonEmpty.length === 0) return pl.DataFrame({});
  const cats = new Set<string>();
  for (const f of nonEmpty) {
    for (const c of f.columns) {
      if (f.getColumn(c).dtype.equals(pl.Categorical)) cats.add(c);
    }
  }
  let out: DataFrame;
  try {
    out = pl.concat(nonEmpty.map(plain), { how: "diagonalRelaxed" });
  } catch (e) {
    throw new ValidationError(
      `cannot stack the ${what} tables: a column has different types in different parts ` +
        `(${String((e as Error).message).split("\n")[0].slice(0, 200)}); cast it to one type first`,
    );
  }
  return cats.size ? out.withColumns(...[...cats].map((c) => pl.col(c).cast(pl.Categorical))) : out;
}

/**
 * The categories of each categorical column of the stacked `obs`: the
 * parts' own, in order, then (sorted by code point) the values of parts where the column
 * held plain strings, which the stacking made categorical too.
 */
function mergeCategories(
  parts: readonly AnnData[],
  extra: Record<string, CategoryInfo>,
  obs: DataFrame,
) {
  const out: Record<string, CategoryInfo> = {};
  for (const a of parts) {
    for (const [col, info] of Object.entries(a.categories.obs)) {
      const cur = out[col];
      if (!cur) {
        out[col] = {
          categories: [...info.categories],
          ordered: info.ordered,
          ...(info.values ? { values: info.values } : {}),
        };
      } else {
        // Ordered only while every part has the same list (a merge of two
        // orders could contradict either: anndata makes them plain values).
        const same = cur.categories.length === info.categories.length &&
          cur.categories.every((c, i) => c === info.categories[i]);
        cur.ordered &&= info.ordered && same;
        const have = new Set(cur.categories);
        for (const c of info.categories) if (!have.has(c)) cur.categories.push(c);
        // Categories of numbers in one part and of strings in another: strings.
        if (cur.values !== info.values) delete cur.values;
      }
    }
  }
  for (const [col, info] of Object.entries(out)) {
    if (!obs.columns.includes(col)) {
      delete out[col]; // a column the join left out
      continue;
    }
    const have = new Set(info.categories);
    const s = obs.getColumn(col);
    // Numbers as JS writes them (as their categories were), strings as they are.
    const values = info.values
      ? (s.unique().toArray() as unknown[]).map((v) => (v == null ? null : String(v)))
      : s.cast(pl.Utf8).unique().toArray() as (string | null)[];
    const more = values.filter((v): v is string => v != null && !have.has(v))
      .sort(byCodePoint);
    for (const v of more) info.categories.push(v);
    if (more.length) info.ordered = false;
  }
  return { ...out, ...extra };
}

/** var of the joined names: each name's row from the first part that has it. */
function joinedVar(parts: readonly AnnData[], names: string[]): DataFrame {
  if (parts.every((a) => a.var.width === 0)) return pl.DataFrame({});
  const at = new Map(names.map((n, i) => [n, i]));
  const taken = new Uint8Array(names.length);
  const POS = positionColumn(parts.map((a) => a.var));
  const frames: DataFrame[] = [];
  for (const a of parts) {
    const rows: number[] = [];
    const pos: number[] = [];
    a.varNames.forEach((n, r) => {
      const i = at.get(n);
      if (i !== undefined && !taken[i]) (taken[i] = 1, rows.push(r), pos.push(i));
    });
    if (rows.length === 0) continue;
    const p = pl.Series(POS, pos, pl.UInt32);
    frames.push(
      a.var.width === 0
        ? pl.DataFrame([p])
        : a.var.select(pl.all().gather(pl.Series("rows", rows, pl.UInt32))).withColumn(p),
    );
  }
  return stackFrames(frames, "var").sort(POS).drop(POS);
}
/** A column name none of `frames` has, for row positions while stacking. */
function positionColumn(frames: readonly DataFrame[]): string {
  const taken = new Set(frames.flatMap((f) => f.columns));
  let name = "__lamin_position";
  while (taken.has(name)) name += "_";
  return name;
}

/**
 * Concatenate AnnData objects along obs, as anndata's `ad.concat`: var
 * names joined (`join`), X and layers (those every part has) aligned to
 * them, obsm entries every part has (matrices of one width) stacked, obs
 * tables stacked (inner: the columns every part has; outer: all, null
 * where a part lacks one; a part without obs columns keeps its rows), and
 * `label` (when given) a categorical obs column naming each row's part by
 * `keys`, added last. X (and each layer) is CSR when any part's is
 * sparse, else dense, of the dtype numpy gives the parts' dtypes stacked
 * (`np.result_type`, as anndata: int32 and int64 make int64, uint8 and int8
 * int16, int16 and float32 float32, int32 and float32 float64, uint64 and a
 * signed integer float64). An outer join leaves what a part lacks empty in
 * a CSR result and NaN in a dense float one, but 0 in a dense integer one
 * (anndata makes it float with NaN). A categorical stays ordered
 * only where every part has the same categories. var: each name's row
 * from the first part that has it. An inner join without a common var
 * name is a `ValidationError`.
 *
 * @example Two parts with one gene in common
 * ```ts
 * import { AnnData, concatAnnData, DenseMatrix } from "@lamindeno/lamindb";
 * const a = new AnnData({ X: new DenseMatrix(new Float32Array([1, 2]), [1, 2]), varNames: ["A", "B"] });
 * const b = new AnnData({ X: new DenseMatrix(new Float32Array([3, 4]), [1, 2]), varNames: ["B", "C"] });
 * const inner = concatAnnData([a, b], { label: "part", keys: ["a", "b"] });
 * console.assert(inner.varNames.join() === "B" && inner.nObs === 2);
 * const outer = concatAnnData([a, b], { join: "outer" });
 * console.assert(outer.varNames.join() === "A,B,C" && Number.isNaN(outer.X!.toDense().get(1, 0)));
 * ```
 */
export function concatAnnData(parts: readonly AnnData[], options: ConcatOptions = {}): AnnData {
  checkConcat(parts, options);
  const join = options.join ?? "inner";
  const keys = options.keys ?? parts.map((_, i) => String(i));
  const names = joinNames(parts.map((a) => a.varNames), join, (i) => `part ${keys[i]}`);
  if (names.length === 0 && parts.some((a) => a.nVars > 0)) {
    throw new ValidationError(
      `the parts have no var name in common, so an inner join is empty; use join: "outer"`,
    );
  }
  const maps = parts.map((a) => columnMap(a.varNames, names));
  const hasX = parts.filter((a) => a.X !== undefined).length;
  if (hasX !== 0 && hasX !== parts.length) {
    throw new ValidationError(`${parts.length - hasX} of ${parts.length} parts have no X`);
  }
  const X = hasX
    ? assembleRows(parts.map((a, i) => ({ m: a.X!, cols: maps[i] })), names.length)
    : undefined;
  const layerKeys = Object.keys(parts[0].layers).filter((k) => parts.every((a) => k in a.layers));
  const layers = Object.fromEntries(layerKeys.map((k) => [
    k,
    assembleRows(parts.map((a, i) => ({ m: a.layers[k], cols: maps[i] })), names.length),
  ]));
  // obsm entries every part has, as matrices of one width (DataFrames and
  // the rest are left out, as layers not in every part are).
  const obsmKeys = Object.keys(parts[0].obsm).filter((k) =>
    parts.every((a) => {
      const m = a.obsm[k], first = parts[0].obsm[k];
      return isMatrix(m) && isMatrix(first) && m.shape[1] === first.shape[1];
    })
  );
  const obsm = Object.fromEntries(obsmKeys.map((k) => {
    const width = (parts[0].obsm[k] as Matrix).shape[1];
    const cols = Int32Array.from({ length: width }, (_, j) => j);
    return [k, assembleRows(parts.map((a) => ({ m: a.obsm[k] as Matrix, cols })), width)];
  }));
  // An inner join keeps the obs columns every part has (as pandas' concat).
  const shared = join === "inner"
    ? parts[0].obs.columns.filter((c) => parts.every((a) => a.obs.columns.includes(c)))
    : undefined;
  const label = options.label;
  // Each frame with a column of its row numbers while stacked: a part
  // without obs columns (a frame of height 0) still has its rows.
  const POS = positionColumn(parts.map((a) => a.obs));
  const frames = parts.map((a) => {
    const own = shared && shared.length < a.obs.width ? a.obs.select(...shared) : a.obs;
    const rows = pl.Series(POS, iota(a.nObs) as unknown as number[], pl.UInt32);
    return own.width === 0 ? pl.DataFrame([rows]) : own.withColumn(rows);
  });
  let obs = stackFrames(frames, "obs").drop(POS);
  if (obs.width === 0) obs = pl.DataFrame({});
  const extra: Record<string, CategoryInfo> = {};
  if (label !== undefined) {
    parts.forEach((a, i) => {
      if (a.obs.columns.includes(label)) {
        throw new ValidationError(
          `obs of part ${keys[i]} already has a column "${label}"; choose another label`,
        );
      }
    });
    // Last, after the stacked columns (as anndata adds it).
    const col = pl.Series(label, parts.flatMap((a, i) => Array(a.nObs).fill(keys[i])), pl.Utf8)
      .cast(pl.Categorical);
    obs = obs.width === 0 ? pl.DataFrame([col]) : obs.withColumn(col);
    extra[label] = { categories: [...new Set(keys)], ordered: false };
  }
  return new AnnData({
    X,
    layers,
    obsm,
    obs,
    obsNames: parts.flatMap((a) => a.obsNames),
    varNames: names,
    var: joinedVar(parts, names),
    categories: { obs: mergeCategories(parts, extra, obs) },
  });
}

const CONCAT_OPTIONS = ["join", "label", "keys"];

/** A ValidationError unless `parts` and `options` are what concatAnnData takes. */
function checkConcat(parts: unknown, options: ConcatOptions): void {
  const call = "concatAnnData(parts, options)";
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new ValidationError(
      `${call}: parts is an array of at least one AnnData, got ${describeValue(parts)}`,
    );
  }
  const bad = parts.findIndex((a) => !(a instanceof AnnData));
  if (bad >= 0) {
    throw new ValidationError(
      `${call}: parts[${bad}] is ${describeValue(parts[bad])}, not an AnnData; pass AnnData ` +
        `objects (file.load() of an .h5ad or .zarr)`,
    );
  }
  checkKnownOptions(call, options, CONCAT_OPTIONS);
  const { join, label, keys } = options ?? {};
  if (join !== undefined && join !== "inner" && join !== "outer") {
    throw new ValidationError(`join is "inner" or "outer", got ${describeValue(join)}`);
  }
  if (label !== undefined && (typeof label !== "string" || label === "")) {
    throw new ValidationError(
      `${call}: label is the name of the obs column naming each row's part (a non-empty ` +
        `string), got ${describeValue(label)}`,
    );
  }
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
      throw new ValidationError(
        `${call}: keys is an array of strings, one per part, got ${describeValue(keys)}`,
      );
    }
    if (keys.length !== parts.length) {
      throw new ValidationError(`keys has ${keys.length} entries for ${parts.length} parts`);
    }
  }
}

/** Rows of a matrix by their indices (ascending or not), as one matrix. */
export function takeRows(m: Matrix, rows: ArrayLike<number>): Matrix {
  const cols = Int32Array.from({ length: m.shape[1] }, (_, j) => j);
  return assembleRows([{ m, cols }], m.shape[1], Array.from(rows, (r) => [0, r]));
}
