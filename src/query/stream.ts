// Streaming an AnnData subset: evaluate the obs/var queries on just the
// columns they name (categoricals by code), then read only the parts of X,
// layers, obsm/varm and obsp/varp that hold the selected rows and columns.
import pl from "nodejs-polars";
import type { RangeReader } from "../formats/codec.ts";
import { CorruptFileError, ValidationError } from "../errors.ts";
import { AnnData, type CategoryInfo } from "../formats/anndata/anndata.ts";
import type { Matrix } from "../formats/anndata/matrix.ts";
import { type ElementStore, join } from "../formats/anndata/_store.ts";
import {
  checkCodes,
  encoding,
  frameColumns,
  readColumn,
  readDataFrame,
  readDict,
  readMapping,
  sparseShape,
} from "../formats/anndata/_decode.ts";
import type { DataFrame } from "../formats/tables.ts";
import type { ExprNode } from "./expr.ts";
import { columnsOf } from "./expr.ts";
import { type ColumnData, evaluate } from "./evaluate.ts";
import { checkColumns } from "./lazy_frame.ts";
import { type StoredMatrix, subsetMatrix, subsetRows } from "./subset.ts";

/** What to select. */
export interface StreamSelection {
  /** Rows of obs to keep (a query over obs columns); all when undefined. */
  obs?: ExprNode;
  /** Rows of var to keep (a query over var columns); all when undefined. */
  var?: ExprNode;
}

interface Axis {
  frame: { df: DataFrame; index: string[]; categories: Record<string, CategoryInfo> };
  selected: Uint32Array | undefined;
}

/**
 * Evaluate `query` on just the columns it names (categoricals by code), then
 * read the axis dataframe's selected rows only.
 */
async function selectAxis(
  store: ElementStore,
  path: "obs" | "var",
  query: ExprNode | undefined,
): Promise<Axis> {
  if (!query) return { frame: await readDataFrame(store, path), selected: undefined };
  const { columns } = await frameColumns(store, path);
  checkColumns(query, columns, path);
  const data = new Map<string, ColumnData>();
  let n = 0;
  for (const name of columnsOf(query)) {
    const p = join(path, name);
    if ((await encoding(store, p)) === "categorical") {
      const codes = await store.read(join(p, "codes"));
      const cats = await store.read(join(p, "categories"));
      if (codes.kind !== "number" || cats.kind !== "string") {
        throw new CorruptFileError(`"${store.label}": /${p} is not a valid categorical`);
      }
      checkCodes(codes.data as ArrayLike<number>, cats.data.length, store.label, join(p, "codes"));
      n = codes.data.length;
      data.set(name, {
        kind: "categorical",
        codes: codes.data as ArrayLike<number>,
        categories: cats.data.map((c) => c ?? ""),
        ordered: Boolean((await store.attrs(p)).ordered),
      });
    } else {
      const { series } = await readColumn(store, path, name);
      n = series.length;
      data.set(name, { kind: "series", series });
    }
  }
  const selected = evaluate(query, n, (name) => data.get(name)!);
  return { frame: await readDataFrame(store, path, selected), selected };
}

/** The stored matrix at `path` as range-readable arrays, or undefined if there is none. */
export async function storedMatrix(
  src: RangeReader,
  path: string,
): Promise<StoredMatrix | undefined> {
  const kind = await src.store.describe(path);
  if (kind === undefined) return undefined;
  const where = `"${src.store.label}": /${path}`;
  if (kind === "array") {
    const values = await src.array(path);
    if (values.shape.length < 1 || values.shape.length > 2) {
      throw new CorruptFileError(`${where} has ${values.shape.length} dimensions, not 1 or 2`);
    }
    const shape = (values.shape.length === 1 ? [values.shape[0], 1] : values.shape) as [
      number,
      number,
    ];
    return { kind: "dense", shape, values, where };
  }
  const enc = await encoding(src.store, path);
  if (enc !== "csr_matrix" && enc !== "csc_matrix") {
    throw new CorruptFileError(
      `${where} is a group with encoding-type ${enc}, not a matrix (csr_matrix or csc_matrix): ` +
        `the file is damaged or not an AnnData`,
    );
  }
  const shape = sparseShape(await src.store.attrs(path));
  if (!shape) {
    throw new CorruptFileError(
      `${where} is a ${enc} without a valid shape attribute: the file is damaged`,
    );
  }
  const [data, indices, indptr] = await Promise.all(
    ["data", "indices", "indptr"].map((k) => src.array(join(path, k))),
  );
  const major = enc === "csr_matrix" ? shape[0] : shape[1];
  if (
    indptr.shape.length !== 1 || indptr.shape[0] !== major + 1 ||
    data.shape.length !== 1 || indices.shape.length !== 1 || data.shape[0] !== indices.shape[0]
  ) {
    throw new CorruptFileError(
      `${where}: data [${data.shape}], indices [${indices.shape}] and indptr [${indptr.shape}] ` +
        `do not fit a ${enc} of shape [${shape}]: the file is damaged`,
    );
  }
  return { kind: enc === "csr_matrix" ? "csr" : "csc", shape, data, indices, indptr, where };
}

async function subsetAt(
  src: RangeReader,
  path: string,
  rows: Uint32Array | undefined,
  cols: Uint32Array | undefined,
): Promise<Matrix | undefined> {
  const m = await storedMatrix(src, path);
  return m ? await subsetMatrix(m, rows, cols) : undefined;
}

function gatherFrame(df: DataFrame, rows: Uint32Array | undefined): DataFrame {
  if (!rows || df.width === 0) return df;
  return df.select(pl.all().gather(pl.Series("rows", Array.from(rows), pl.UInt32)));
}

/** Per-axis matrices (obsm/varm): dense rows by range, dataframes filtered. */
async function axisMapping(
  src: RangeReader,
  path: string,
  rows: Uint32Array | undefined,
): Promise<Record<string, Matrix | DataFrame>> {
  return await readMapping(src.store, path, async (p) => {
    if ((await encoding(src.store, p)) === "dataframe") {
      return gatherFrame((await readDataFrame(src.store, p)).df, rows);
    }
    const m = await subsetAt(src, p, rows, undefined);
    if (!m) throw new CorruptFileError(`"${src.store.label}": /${p} is not a matrix`);
    return m;
  });
}

/**
 * Read the subset of an AnnData that `sel` selects, in file order. obs and
 * var are read whole (the result returns them), uns whole; X, layers,
 * obsm/varm and obsp/varp only where selected rows/columns are.
 */
export async function streamAnnData(src: RangeReader, sel: StreamSelection): Promise<AnnData> {
  const store = src.store;
  if ((await store.describe("obs")) === undefined || (await store.describe("var")) === undefined) {
    throw new CorruptFileError(`"${store.label}": not an AnnData store: it has no obs and var`);
  }
  const [obs, v] = await Promise.all([
    selectAxis(store, "obs", sel.obs),
    selectAxis(store, "var", sel.var),
  ]);
  const rows = obs.selected, cols = v.selected;
  const X = await subsetAt(src, "X", rows, cols);
  const layers = await readMapping(
    store,
    "layers",
    async (p) => (await subsetAt(src, p, rows, cols))!,
  );
  const obsp = await readMapping(store, "obsp", async (p) => (await subsetAt(src, p, rows, rows))!);
  const varp = await readMapping(store, "varp", async (p) => (await subsetAt(src, p, cols, cols))!);
  const obsm = await axisMapping(src, "obsm", rows);
  const varm = await axisMapping(src, "varm", cols);
  const uns = await readDict(store, "uns");
  try {
    return new AnnData({
      X,
      obs: obs.frame.df,
      var: v.frame.df,
      obsNames: obs.frame.index,
      varNames: v.frame.index,
      layers,
      obsm,
      varm,
      obsp,
      varp,
      uns,
      categories: { obs: obs.frame.categories, var: v.frame.categories },
    });
  } catch (e) {
    // Parts whose shapes disagree: the file's claims are inconsistent.
    if (!(e instanceof ValidationError)) throw e;
    throw new CorruptFileError(`"${store.label}": inconsistent AnnData: ${e.message}`, {
      cause: e,
    });
  }
}

export { subsetRows };
