// A selection opened on an AnnData store: names checked from metadata
// first (queries and projection), then the queries evaluated and the
// var-side parts read once; `read(rows)` reads the obs-side parts of any
// ascending subset of the selected rows (all of them, or one batch).
import type { RangeReader } from "../formats/codec.ts";
import { CorruptFileError, ValidationError } from "../errors.ts";
import { AnnData, type CategoryInfo } from "../formats/anndata/anndata.ts";
import type { Matrix } from "../formats/anndata/matrix.ts";
import { type ElementStore, join } from "../formats/anndata/_store.ts";
import {
  encoding,
  frameColumns,
  readColumn,
  readDataFrame,
  readDict,
  readMapping,
  readSelected,
} from "../formats/anndata/_decode.ts";
import type { DataFrame } from "../formats/tables.ts";
import { columnsOf, type ExprNode } from "./expr.ts";
import { type ColumnData, evaluate } from "./evaluate.ts";
import { checkColumns } from "./lazy_frame.ts";
import { type Projection, type ResolvedProjection, resolveProjection } from "./projection.ts";
import { axisEntry, storedMatrix, subsetListed } from "./_parts.ts";
import { evaluateStored, storedCategorical } from "./_batch_eval.ts";
import { KEEP_CATEGORIES, usedCategories } from "./_categories.ts";

/** What to select. */
export interface StreamSelection {
  /** Rows of obs to keep (a query over obs columns); all when undefined. */
  obs?: ExprNode;
  /** Rows of var to keep (a query over var columns); all when undefined. */
  var?: ExprNode;
}

/** An opened selection: what it selects, and a reader of its rows. */
export interface Selection {
  /** The parts that are read. */
  readonly projection: ResolvedProjection;
  /** Selected obs rows (ascending), or undefined for all. */
  readonly rows: Uint32Array | undefined;
  /** How many obs rows are selected. */
  readonly nSelected: number;
  /**
   * The AnnData of `rows` (ascending file rows among the selected;
   * undefined: all). `midway` runs once obs is read, before the matrices
   * (out-of-core batches collect the batch let go of there, with the obs
   * reads' garbage).
   */
  read(rows: Uint32Array | undefined, midway?: () => Promise<void>): Promise<AnnData>;
}

async function groupKeys(store: ElementStore, path: string): Promise<string[]> {
  return (await store.describe(path)) === "group" ? await store.keys(path) : [];
}

/** Evaluate `query` on just the columns it names (categoricals by code). */
async function evaluateAxis(
  store: ElementStore,
  path: "obs" | "var",
  query: ExprNode,
): Promise<Uint32Array> {
  // Categorical and plain numeric/boolean columns: on their typed arrays.
  const typed = await evaluateStored(store, path, query);
  if (typed) return typed;
  const data = new Map<string, ColumnData>();
  let n = 0;
  for (const name of columnsOf(query)) {
    const p = join(path, name);
    // Categories of numbers or booleans: a plain column of their values.
    const categorical = (await encoding(store, p)) === "categorical"
      ? await storedCategorical(store, p)
      : undefined;
    if (categorical) {
      n = categorical.codes.length;
      data.set(name, categorical);
    } else {
      const { series } = await readColumn(store, path, name);
      n = series.length;
      data.set(name, { kind: "series", series });
    }
  }
  return evaluate(query, n, (name) => data.get(name)!);
}

/**
 * The var rows (ascending) `query` selects, from just the var columns it
 * names (`ColumnNotFoundError` for a column var lacks): nothing else is read.
 */
export async function selectedVar(src: RangeReader, query: ExprNode): Promise<Uint32Array> {
  checkColumns(query, (await frameColumns(src.store, "var")).columns, "var");
  return await evaluateAxis(src.store, "var", query);
}

/** Number of obs rows, from X's shape (metadata) or else the obs index. */
async function countObs(src: RangeReader, indexKey: string): Promise<number> {
  const x = await storedMatrix(src, "X");
  if (x) return x.shape[0];
  const idx = join("obs", indexKey);
  if ((await src.store.describe(idx)) === "array") {
    return (await readSelected(src.store, idx, undefined)).shape[0];
  }
  return (await readDataFrame(src.store, "obs")).df.height;
}

/**
 * Open a selection: check every name the queries and `projection` use
 * against the file's metadata (`ColumnNotFoundError` before any data is
 * read), evaluate the queries, and read var, varm, varp and uns once.
 */
export async function openSelection(
  src: RangeReader,
  sel: StreamSelection,
  projection: Projection = {},
): Promise<Selection> {
  const store = src.store;
  const [obsKind, varKind, rawKind] = await Promise.all([
    store.describe("obs"),
    store.describe("var"),
    store.describe("raw"),
  ]);
  if (obsKind === undefined || varKind === undefined) {
    throw new CorruptFileError(`"${store.label}": not an AnnData store: it has no obs and var`);
  }
  const [obsMeta, varMeta, layerNames, obsmNames] = await Promise.all([
    frameColumns(store, "obs"),
    frameColumns(store, "var"),
    groupKeys(store, "layers"),
    groupKeys(store, "obsm"),
  ]);
  if (sel.obs) checkColumns(sel.obs, obsMeta.columns, "obs");
  if (sel.var) checkColumns(sel.var, varMeta.columns, "var");
  const p = resolveProjection(
    {
      obsColumns: obsMeta.columns,
      varColumns: varMeta.columns,
      layers: layerNames,
      obsm: obsmNames,
      raw: rawKind === "group",
    },
    projection,
    store.label,
  );
  // Names are checked: from here on, data is read. The obs query, the
  // var side and uns at once, while the matrices' metadata is looked up
  // (from object storage each is a chain of round trips; in turn they
  // added up to about half a second behind 20 ms of latency).
  warmMatrices(src, p);
  const varSide = async () => {
    const cols = sel.var ? await evaluateAxis(store, "var", sel.var) : undefined;
    const [vr, varp, varm] = await Promise.all([
      readDataFrame(store, "var", cols, p.varColumns),
      readMapping(store, "varp", (q) => subsetListed(src, q, cols, cols)),
      readMapping(store, "varm", (q) => axisEntry(src, q, cols)),
    ]);
    return { cols, vr, varp, varm };
  };
  // raw: its var and varm whole (a var selection does not subset raw, as in anndata).
  const rawSide = async () => {
    if (!p.raw) return undefined;
    const [rv, rvm] = await Promise.all([
      readDataFrame(store, "raw/var"),
      readMapping(store, "raw/varm", (q) => axisEntry(src, q, undefined)),
    ]);
    return { rv, rvm };
  };
  const [rows, { cols, vr, varp, varm }, uns, rawVar] = await Promise.all([
    sel.obs ? evaluateAxis(store, "obs", sel.obs) : undefined,
    varSide(),
    readDict(store, "uns"),
    rawSide(),
  ]);
  const nSelected = rows ? rows.length : await countObs(src, obsMeta.indexKey);

  const read = async (
    r: Uint32Array | undefined,
    midway?: () => Promise<void>,
  ): Promise<AnnData> => {
    const readObs = () => readDataFrame(store, "obs", r, p.obsColumns);
    const readX = () => p.X ? subsetAtMaybe(src, "X", r, cols) : Promise.resolve(undefined);
    const readLayer = (l: string) => subsetListed(src, join("layers", l), r, cols);
    const readObsm = (m: string) => axisEntry(src, join("obsm", m), r);
    const readObsp = () => readMapping(store, "obsp", (q) => subsetListed(src, q, r, r));
    const readRawX = () =>
      rawVar ? subsetAtMaybe(src, "raw/X", r, undefined) : Promise.resolve(undefined);
    let obs: Awaited<ReturnType<typeof readObs>>, X: Matrix | undefined, rawX: Matrix | undefined;
    let layerList: Matrix[], obsmList: (Matrix | DataFrame)[];
    let obsp: Awaited<ReturnType<typeof readObsp>>;
    if (midway) {
      // A batch (out of core): one part at a time, the peak memory bounded by the largest.
      obs = await readObs();
      await midway();
      X = await readX();
      layerList = [];
      for (const l of p.layers) layerList.push(await readLayer(l));
      obsmList = [];
      for (const m of p.obsm) obsmList.push(await readObsm(m));
      obsp = await readObsp();
      rawX = await readRawX();
    } else {
      // All parts at once: one part's decoding (gzip, blosc on the worker pool) overlaps
      // another's reading and copying on this thread. The matrices first: their
      // work goes to the workers soonest, while obs is read here.
      const matrices = Promise.all([
        readX(),
        Promise.all(p.layers.map(readLayer)),
        Promise.all(p.obsm.map(readObsm)),
        readRawX(),
      ]);
      // obs once the matrices' first reads are planned (a macrotask later).
      const obsRead = new Promise((r) => setTimeout(r, 0)).then(readObs);
      [obs, [X, layerList, obsmList, rawX], obsp] = await Promise.all([
        obsRead,
        matrices,
        readObsp(),
      ]);
    }
    const layers: Record<string, Matrix> = {};
    p.layers.forEach((l, i) => layers[l] = layerList[i]);
    const obsm: Record<string, Matrix | DataFrame> = {};
    p.obsm.forEach((m, i) => obsm[m] = obsmList[i]);
    let categories: Record<"obs" | "var", Record<string, CategoryInfo>> = {
      obs: obs.categories,
      var: vr.categories,
    };
    let unsKept = uns;
    const keepAll = (projection as { [KEEP_CATEGORIES]?: boolean })[KEEP_CATEGORIES] === true;
    if (!midway && !keepAll && (r || cols)) {
      // A subset: only the categories it uses, as anndata's subset keeps
      // them (out-of-core batches keep them all: the same in every batch).
      const o = usedCategories(obs.df, obs.categories, uns);
      const v = usedCategories(vr.df, vr.categories, o.uns);
      categories = { obs: o.categories, var: v.categories };
      unsKept = v.uns;
    }
    try {
      return new AnnData({
        X,
        obs: obs.df,
        var: vr.df,
        obsNames: obs.index,
        varNames: vr.index,
        layers,
        obsm,
        varm,
        obsp,
        varp,
        uns: unsKept,
        categories,
        indexNames: { obs: obs.indexName, var: vr.indexName },
        ...(rawVar
          ? {
            raw: {
              X: rawX,
              var: rawVar.rv.df,
              varNames: rawVar.rv.index,
              varm: rawVar.rvm,
              categories: rawVar.rv.categories,
              ...(rawVar.rv.indexName !== undefined ? { indexName: rawVar.rv.indexName } : {}),
            },
          }
          : {}),
      });
    } catch (e) {
      // Parts whose shapes disagree: the file's claims are inconsistent.
      if (!(e instanceof ValidationError)) throw e;
      throw new CorruptFileError(`"${store.label}": inconsistent AnnData: ${e.message}`, {
        cause: e,
      });
    }
  };
  return { projection: p, rows, nSelected, read };
}

/**
 * Look up the metadata of the matrices the projection reads (X, layers,
 * obsm) and, in a remote file, their chunk indexes, nothing of their
 * data, so that the round trips for it overlap the queries' reads; the
 * store keeps what it read. Failures are left to the reads that need the
 * parts.
 */
function warmMatrices(src: RangeReader, p: ResolvedProjection): void {
  const paths = [...(p.X ? ["X"] : []), ...p.layers.map((l) => join("layers", l))];
  for (const m of p.obsm) paths.push(join("obsm", m));
  if (p.raw) paths.push("raw/X");
  for (const path of paths) {
    storedMatrix(src, path).then(async (m) => {
      const arrays = !m ? [] : m.kind === "dense" ? [m.values] : [m.data, m.indices];
      await Promise.all(arrays.map((a) => a.prefetch?.()));
    }).catch(() => {});
  }
}

async function subsetAtMaybe(
  src: RangeReader,
  path: string,
  rows: Uint32Array | undefined,
  cols: Uint32Array | undefined,
): Promise<Matrix | undefined> {
  return (await src.store.describe(path)) === undefined
    ? undefined
    : await subsetListed(src, path, rows, cols);
}
