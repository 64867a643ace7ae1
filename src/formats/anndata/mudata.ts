import { CorruptFileError } from "../../errors.ts";
import type { AnnData, CategoryInfo } from "./anndata.ts";
import type { Matrix } from "./matrix.ts";
import { readAnnData, readDataFrame, readDict, readMatrix } from "./_decode.ts";
import { withH5 } from "./read_h5ad.ts";
import { type ElementStore, join } from "./_store.ts";
import type { DataFrame } from "../tables.ts";
import { installDisplay } from "../../_display.ts";
import { muDataHtml, muDataText } from "./_repr.ts";
import { encodeAnnData, encodeDataFrame, encodeElem, encodeMatrix } from "./_encode.ts";
import { group, type TreeGroup } from "./_tree.ts";
import { type WriteH5adOptions, writeTreeH5 } from "./write_h5ad.ts";

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

  /** mudata's summary: the global axes, then each modality's. */
  toString(): string {
    return muDataText(this);
  }
}

installDisplay(MuData.prototype, muDataText, muDataHtml);

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
  return await withH5(path, readMuDataStore, "readH5mu");
}

/** mudata's per-modality row maps: for each global name, its 1-based row in the modality (0: absent). */
function rowMap(global: string[], local: string[]): Uint32Array {
  const at = new Map(local.map((n, i) => [n, i + 1]));
  return Uint32Array.from(global, (n) => at.get(n) ?? 0);
}

/** Encode a MuData in mudata's layout. */
export function encodeMuData(m: MuData): TreeGroup {
  const root = group({
    "encoding-type": "MuData",
    "encoding-version": "0.1.0",
    encoder: "lamindeno",
    "encoder-version": "0.1.0",
  });
  const names = Object.keys(m.mod);
  const mod = group({ "mod-order": names });
  for (const name of names) mod.children[name] = encodeAnnData(m.mod[name]);
  root.children.mod = mod;
  root.children.obs = encodeDataFrame(m.obs, m.obsNames, m.categories.obs);
  root.children.var = encodeDataFrame(m.var, m.varNames, m.categories.var);
  const dict = () => group({ "encoding-type": "dict", "encoding-version": "0.1.0" });
  const obsm = dict();
  for (const [k, v] of Object.entries(m.obsm)) obsm.children[k] = encodeMatrix(v);
  root.children.obsm = obsm;
  const uns = dict();
  for (const [k, v] of Object.entries(m.uns)) uns.children[k] = encodeElem(v, `uns/${k}`);
  root.children.uns = uns;
  for (const [axis, global] of [["obsmap", m.obsNames], ["varmap", m.varNames]] as const) {
    const maps = dict();
    for (const name of names) {
      const local = axis === "obsmap" ? m.mod[name].obsNames : m.mod[name].varNames;
      const map = rowMap(global, local);
      maps.children[name] = {
        kind: "array",
        attrs: {},
        dtype: "uint32",
        data: map,
        shape: [map.length],
      };
    }
    root.children[axis] = maps;
  }
  return root;
}

/**
 * Write a MuData as `.h5mu` (mudata's layout: `mod/<name>` AnnData groups,
 * global obs/var/obsm/uns, `obsmap`/`varmap`), through a temporary file.
 *
 * @example
 * ```ts ignore
 * import { writeH5mu } from "@lamindeno/lamindb";
 * await writeH5mu(mdata, "citeseq.h5mu");
 * ```
 */
export async function writeH5mu(
  m: MuData,
  path: string,
  options: WriteH5adOptions = {},
): Promise<void> {
  await writeTreeH5(encodeMuData(m), path, options);
}
