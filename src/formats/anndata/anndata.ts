import pl from "nodejs-polars";
import { ValidationError } from "../../errors.ts";
import { isMatrix, type Matrix } from "./matrix.ts";
import type { DataFrame } from "../tables.ts";
import { installDisplay, kindOf } from "../../_display.ts";
import { annDataHtml, annDataText } from "./_repr.ts";
import { frameMeta } from "./_frame_meta.ts";
import { checkAnnDataOptions, checkCategoryInfos, checkNames, isPlainObject } from "./_options.ts";

/** Categories and order of a categorical column (pandas `CategoricalDtype`). */
export interface CategoryInfo {
  /** Categories in code order. */
  categories: string[];
  /** Whether the categories are ordered. */
  ordered: boolean;
  /**
   * Set when the categories are numbers or booleans (pandas allows any
   * type; a polars Categorical holds strings): the column then holds the
   * values themselves, `categories` their text, and a write stores the
   * column as a categorical of that type again.
   */
  values?: "number" | "boolean";
}

/** Per-column categorical metadata of `obs` and `var`, which polars does not keep. */
export interface Categoricals {
  /** For `obs` columns. */
  obs: Record<string, CategoryInfo>;
  /** For `var` columns. */
  var: Record<string, CategoryInfo>;
}

/** `adata.raw`: an earlier X with its own var. */
export interface RawData {
  /** The raw matrix. */
  X: Matrix | undefined;
  /** Its var table. */
  var: DataFrame;
  /** Its var names. */
  varNames: string[];
  /** Its varm. */
  varm: Record<string, Matrix | DataFrame>;
  /** Categorical metadata (categories in order, `ordered`) of its var columns. */
  categories?: Record<string, CategoryInfo>;
  /** The name of its var index (pandas' `raw.var.index.name`), when it has one. */
  indexName?: string;
}

/** Options of `new ln.AnnData()`. */
export interface AnnDataOptions {
  /** The data matrix, `nObs x nVars`. */
  X?: Matrix;
  /** Per-observation columns (rows in obs order). */
  obs?: DataFrame;
  /** Per-variable columns. */
  var?: DataFrame;
  /** Observation names; default `"0", "1", ...`. */
  obsNames?: string[];
  /** Variable names; default `"0", "1", ...`. */
  varNames?: string[];
  /** More matrices of X's shape. */
  layers?: Record<string, Matrix>;
  /** Per-observation matrices (`nObs` rows). */
  obsm?: Record<string, Matrix | DataFrame>;
  /** Per-variable matrices (`nVars` rows). */
  varm?: Record<string, Matrix | DataFrame>;
  /** Observation x observation matrices. */
  obsp?: Record<string, Matrix>;
  /** Variable x variable matrices. */
  varp?: Record<string, Matrix>;
  /** Unstructured metadata: nested records of strings, numbers, booleans, arrays. */
  uns?: Record<string, unknown>;
  /** Raw data, if any. */
  raw?: RawData;
  /** Categorical metadata (categories in order, `ordered`) of obs/var columns. */
  categories?: Partial<Categoricals>;
  /** The names of the obs and var indexes (pandas' `obs.index.name`), if named. */
  indexNames?: { obs?: string; var?: string };
}

function rowsOf(x: Matrix | DataFrame): number {
  return isMatrix(x) ? x.shape[0] : x.width === 0 ? (frameMeta(x)?.index.length ?? -1) : x.height;
}

/**
 * An annotated data matrix, as Python's anndata: `X` (observations x
 * variables) with `obs`/`var` tables, names, layers, obsm/varm, obsp/varp
 * and `uns`.
 *
 * @example Build one
 * ```ts
 * import pl from "nodejs-polars";
 * import { AnnData, DenseMatrix } from "@lamindeno/lamindb";
 * const adata = new AnnData({
 *   X: new DenseMatrix(new Float32Array([1, 0, 0, 2]), [2, 2]),
 *   obs: pl.DataFrame({ cell_type: ["T cell", "B cell"] }),
 *   varNames: ["CD4", "CD8A"],
 * });
 * console.assert(adata.nObs === 2 && adata.varNames[1] === "CD8A");
 * ```
 */
export class AnnData {
  /** The data matrix, or `undefined`. */
  X: Matrix | undefined;
  /** Per-observation columns. */
  obs: DataFrame;
  /** Per-variable columns. */
  var: DataFrame;
  /** Observation names. */
  obsNames: string[];
  /** Variable names. */
  varNames: string[];
  /** Matrices of X's shape. */
  layers: Record<string, Matrix>;
  /** Per-observation matrices. */
  obsm: Record<string, Matrix | DataFrame>;
  /** Per-variable matrices. */
  varm: Record<string, Matrix | DataFrame>;
  /** Observation x observation matrices. */
  obsp: Record<string, Matrix>;
  /** Variable x variable matrices. */
  varp: Record<string, Matrix>;
  /** Unstructured metadata. */
  uns: Record<string, unknown>;
  /** Raw data, if any. */
  raw: RawData | undefined;
  /** Categorical metadata of obs/var columns. */
  categories: Categoricals;
  /** The names of the obs and var indexes (pandas' `obs.index.name`); written as anndata writes them. */
  indexNames: { obs?: string; var?: string };

  /**
   * Build and check shapes. A `ValidationError` when `options` is not a
   * plain object of the known options, a slot holds the wrong kind of value
   * (X not a matrix, names not strings), or shapes disagree.
   */
  constructor(options: AnnDataOptions = {}) {
    checkAnnDataOptions(options);
    const o = options;
    const nObs = o.obsNames?.length ?? o.X?.shape[0] ?? o.obs?.height ?? 0;
    const nVars = o.varNames?.length ?? o.X?.shape[1] ?? o.var?.height ?? 0;
    const names = (n: number) => Array.from({ length: n }, (_, i) => String(i));
    this.obsNames = o.obsNames ?? names(nObs);
    this.varNames = o.varNames ?? names(nVars);
    this.obs = o.obs ?? pl.DataFrame({});
    this.var = o.var ?? pl.DataFrame({});
    this.X = o.X;
    this.layers = o.layers ?? {};
    this.obsm = o.obsm ?? {};
    this.varm = o.varm ?? {};
    this.obsp = o.obsp ?? {};
    this.varp = o.varp ?? {};
    this.uns = o.uns ?? {};
    this.raw = o.raw;
    this.categories = { obs: o.categories?.obs ?? {}, var: o.categories?.var ?? {} };
    this.indexNames = {};
    if (o.indexNames?.obs !== undefined) this.indexNames.obs = o.indexNames.obs;
    if (o.indexNames?.var !== undefined) this.indexNames.var = o.indexNames.var;
    checkAnnData(this, nObs, nVars);
  }

  /** Number of observations. */
  get nObs(): number {
    return this.obsNames.length;
  }
  /** Number of variables. */
  get nVars(): number {
    return this.varNames.length;
  }
  /** `[nObs, nVars]`. */
  get shape(): [number, number] {
    return [this.nObs, this.nVars];
  }
  /** anndata's summary: the shape, then each slot's keys (`    obs: 'a', 'b'`). */
  toString(): string {
    return annDataText(this);
  }
}

/**
 * Check that the slots of `a` agree with `nObs` x `nVars` (its names' lengths
 * unless given): `ValidationError` naming the first that does not. The
 * constructor checks; the writers check again, since fields are assignable.
 */
export function checkAnnData(a: AnnData, obs?: number, vars?: number): void {
  const bad = (what: string, got: unknown, want: unknown) => {
    throw new ValidationError(`AnnData: ${what} is ${got}, expected ${want}`);
  };
  const isFrame = (v: unknown) =>
    typeof v === "object" && v !== null && typeof (v as DataFrame).getColumn === "function";
  for (const side of ["obsNames", "varNames"] as const) {
    if (!Array.isArray(a[side])) bad(side, kindOf(a[side]), "strings");
    checkNames(`AnnData: ${side}`, a[side]);
  }
  const cats: unknown = a.categories;
  if (!isPlainObject(cats)) bad("categories", kindOf(cats), "{ obs, var }");
  checkCategoryInfos("AnnData: categories.obs", (cats as Categoricals).obs);
  checkCategoryInfos("AnnData: categories.var", (cats as Categoricals).var);
  const nObs = obs ?? a.nObs, nVars = vars ?? a.nVars;
  if (!isFrame(a.obs)) bad("obs", kindOf(a.obs), "a polars DataFrame");
  if (!isFrame(a.var)) bad("var", kindOf(a.var), "a polars DataFrame");
  if (a.X !== undefined && !isMatrix(a.X)) {
    bad("X", kindOf(a.X), "a DenseMatrix, CsrMatrix or CscMatrix");
  }
  for (const slot of ["layers", "obsm", "varm", "obsp", "varp", "uns"] as const) {
    const m: unknown = a[slot];
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      bad(slot, kindOf(m), "an object");
    }
    if (slot === "uns") continue;
    for (const [k, v] of Object.entries(m as object)) {
      const frameOk = (slot === "obsm" || slot === "varm") && isFrame(v);
      if (!isMatrix(v) && !frameOk) {
        bad(`${slot}.${k}`, kindOf(v), slot.endsWith("m") ? "a matrix or DataFrame" : "a matrix");
      }
    }
  }
  if (a.raw !== undefined) {
    const r = a.raw as Partial<RawData> | null;
    if (
      typeof r !== "object" || r === null || !isFrame(r.var) || !Array.isArray(r.varNames) ||
      (r.X !== undefined && !isMatrix(r.X)) || typeof r.varm !== "object" || r.varm === null
    ) bad("raw", kindOf(r), "{ X, var, varNames, varm }");
  }
  if (a.X && (a.X.shape[0] !== nObs || a.X.shape[1] !== nVars)) {
    bad("X's shape", a.X.shape, [nObs, nVars]);
  }
  if (a.obs.width > 0 && a.obs.height !== nObs) bad("obs's height", a.obs.height, nObs);
  if (a.var.width > 0 && a.var.height !== nVars) {
    bad("var's height", a.var.height, nVars);
  }
  for (const [k, m] of Object.entries(a.layers)) {
    if (m.shape[0] !== nObs || m.shape[1] !== nVars) {
      bad(`layers.${k}'s shape`, m.shape, [nObs, nVars]);
    }
  }
  // A DataFrame without columns has no rows in polars (-1: none kept): any count fits it.
  for (const [k, m] of Object.entries(a.obsm)) {
    const rows = rowsOf(m);
    if (rows !== nObs && rows !== -1) bad(`obsm.${k}'s rows`, rows, nObs);
  }
  for (const [k, m] of Object.entries(a.varm)) {
    const rows = rowsOf(m);
    if (rows !== nVars && rows !== -1) bad(`varm.${k}'s rows`, rows, nVars);
  }
  for (const [k, m] of Object.entries(a.obsp)) {
    if (m.shape[0] !== nObs || m.shape[1] !== nObs) {
      bad(`obsp.${k}'s shape`, m.shape, [nObs, nObs]);
    }
  }
  for (const [k, m] of Object.entries(a.varp)) {
    if (m.shape[0] !== nVars || m.shape[1] !== nVars) {
      bad(`varp.${k}'s shape`, m.shape, [nVars, nVars]);
    }
  }
  if (a.obsNames.length !== nObs) bad("the number of obsNames", a.obsNames.length, nObs);
  if (a.varNames.length !== nVars) bad("the number of varNames", a.varNames.length, nVars);
  for (const side of ["obs", "var"] as const) {
    for (const [col, info] of Object.entries(a.categories[side])) {
      if (new Set(info.categories).size !== info.categories.length) {
        bad(`the categories of ${side}.${col}`, "not unique", "each category once");
      }
    }
  }
  const raw = a.raw;
  if (raw) {
    const n = raw.varNames.length;
    if (raw.X && (raw.X.shape[0] !== nObs || raw.X.shape[1] !== n)) {
      bad("raw.X's shape", raw.X.shape, [nObs, n]);
    }
    if (raw.var.width > 0 && raw.var.height !== n) bad("raw.var's height", raw.var.height, n);
  }
}

installDisplay(AnnData.prototype, (a) => annDataText(a), annDataHtml);
