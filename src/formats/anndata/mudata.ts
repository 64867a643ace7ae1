import { CorruptFileError } from "../../errors.ts";
import type { AnnData, CategoryInfo } from "./anndata.ts";
import type { Matrix } from "./matrix.ts";
import { readAnnData, readDataFrame, readDict, readMatrix } from "./_decode.ts";
import { openH5 } from "./_h5wasm_store.ts";
import { type ElementStore, join } from "./_store.ts";
import type { DataFrame } from "../tables.ts";

/**
 * A multimodal container, as Python's mudata: one AnnData per modality
 * (`mod`) plus global `obs`/`var` and their names.
 */
export class MuData {
  /** Modalities by name (e.g. `"rna"`, `"atac"`). */
  mod: Record<string, AnnData>;
  /** Global per-observation columns. */
  obs: DataFrame;
  /** Global per-variable columns. */
  var: DataFrame;
  /** Global observation names. */
  obsNames: string[];
  /** Global variable names. */
  varNames: string[];
  /** Global per-observation matrices. */
  obsm: Record<string, Matrix>;
  /** Unstructured metadata. */
  uns: Record<string, unknown>;
  /** Categorical metadata of the global obs/var. */
  categories: { obs: Record<string, CategoryInfo>; var: Record<string, CategoryInfo> };

  /** Wrap decoded parts. */
  constructor(parts: {
    mod: Record<string, AnnData>;
    obs: DataFrame;
    var: DataFrame;
    obsNames: string[];
    varNames: string[];
    obsm?: Record<string, Matrix>;
    uns?: Record<string, unknown>;
    categories?: { obs: Record<string, CategoryInfo>; var: Record<string, CategoryInfo> };
  }) {
    this.mod = parts.mod;
    this.obs = parts.obs;
    this.var = parts.var;
    this.obsNames = parts.obsNames;
    this.varNames = parts.varNames;
    this.obsm = parts.obsm ?? {};
    this.uns = parts.uns ?? {};
    this.categories = parts.categories ?? { obs: {}, var: {} };
  }
  /** `[nObs, nVars]` of the global axes. */
  get shape(): [number, number] {
    return [this.obsNames.length, this.varNames.length];
  }
}

/** A view of `store` rooted at `prefix`. */
function under(store: ElementStore, prefix: string): ElementStore {
  const p = (path: string) => join(prefix, path);
  return {
    label: `${store.label}#/${prefix}`,
    describe: (path) => store.describe(p(path)),
    keys: (path) => store.keys(p(path)),
    attrs: (path) => store.attrs(p(path)),
    read: (path) => store.read(p(path)),
    close: () => {},
  };
}

/** Read a MuData from any element store (the `mod/<name>` layout of mudata). */
export async function readMuDataStore(store: ElementStore): Promise<MuData> {
  if ((await store.describe("mod")) !== "group") {
    throw new CorruptFileError(`"${store.label}": not a MuData file (no /mod group)`);
  }
  const mod: Record<string, AnnData> = {};
  for (const name of await store.keys("mod")) {
    mod[name] = await readAnnData(under(store, `mod/${name}`));
  }
  const obs = await readDataFrame(store, "obs");
  const v = await readDataFrame(store, "var");
  const obsm: Record<string, Matrix> = {};
  if ((await store.describe("obsm")) === "group") {
    for (const k of await store.keys("obsm")) obsm[k] = await readMatrix(store, `obsm/${k}`);
  }
  return new MuData({
    mod,
    obs: obs.df,
    var: v.df,
    obsNames: obs.index,
    varNames: v.index,
    obsm,
    uns: await readDict(store, "uns"),
    categories: { obs: obs.categories, var: v.categories },
  });
}

/**
 * Read an `.h5mu` file (mudata's layout: `mod/<name>` AnnData groups plus
 * global `obs`/`var`).
 *
 * @example
 * ```ts ignore
 * import { readH5mu } from "@lamindeno/lamindb";
 * const mdata = await readH5mu("citeseq.h5mu");
 * console.log(Object.keys(mdata.mod));
 * ```
 */
export async function readH5mu(path: string): Promise<MuData> {
  const store = await openH5(path);
  try {
    return await readMuDataStore(store);
  } finally {
    store.close();
  }
}
