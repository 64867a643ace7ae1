import pl from "nodejs-polars";
import { CorruptFileError, ValidationError } from "../../errors.ts";
import { AnnData, type CategoryInfo } from "./anndata.ts";
import { isMatrix, type Matrix } from "./matrix.ts";
import { checkCategoryInfos, checkNames, checkWriteArgs, isPlainObject } from "./_options.ts";
import { readAnnData, readDataFrame, readDict, readMatrix } from "./_decode.ts";
import { withH5 } from "./read_h5ad.ts";
import { type ElementStore, join } from "./_store.ts";
import type { DataFrame } from "../tables.ts";
import { installDisplay, kindOf } from "../../_display.ts";
import { muDataHtml, muDataText } from "./_repr.ts";
import { encodeAnnData, encodeDataFrame, encodeElem, encodeMatrix } from "./_encode.ts";
import { group, type TreeGroup } from "./_tree.ts";
import { type WriteH5adOptions, writeTreeH5 } from "./write_h5ad.ts";

/** The parts of `new MuData()`. */
export interface MuDataParts {
  /** Modalities by name: at least one AnnData. */
  mod: Record<string, AnnData>;
  /** Global per-observation columns (default: none). */
  obs?: DataFrame;
  /** Global per-variable columns (default: none). */
  var?: DataFrame;
  /** Global observation names (default: the modalities' names, each once, in order). */
  obsNames?: string[];
  /** Global variable names (default: the modalities' names, each once, in order). */
  varNames?: string[];
  /** Global per-observation matrices (`nObs` rows). */
  obsm?: Record<string, Matrix>;
  /** Unstructured metadata. */
  uns?: Record<string, unknown>;
  /** Categorical metadata of the global obs/var columns. */
  categories?: { obs: Record<string, CategoryInfo>; var: Record<string, CategoryInfo> };
}

/**
 * A multimodal container, as Python's mudata: one AnnData per modality
 * (`mod`) plus global `obs`/`var` and their names. As mudata requires, every
 * name of a modality is a global name and every global name is some
 * modality's.
 *
 * @example Two modalities sharing their observations
 * ```ts
 * import { AnnData, MuData } from "@lamindeno/lamindb";
 * const rna = new AnnData({ obsNames: ["c1", "c2"], varNames: ["CD4", "CD8A"] });
 * const prot = new AnnData({ obsNames: ["c1", "c2"], varNames: ["CD4-prot"] });
 * const m = new MuData({ mod: { rna, prot } });
 * console.assert(m.shape[0] === 2 && m.shape[1] === 3);
 * ```
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

  /**
   * Wrap modalities and global parts. A `ValidationError` when `parts` is
   * not `{ mod, ... }` with at least one AnnData, or the global names and
   * the modalities' disagree.
   */
  constructor(parts: MuDataParts) {
    checkMuDataParts(parts);
    const mods = Object.values(parts.mod);
    const union = (side: "obsNames") => [...new Set(mods.flatMap((a) => a[side]))];
    this.mod = parts.mod;
    this.obs = parts.obs ?? pl.DataFrame({});
    this.var = parts.var ?? pl.DataFrame({});
    this.obsNames = parts.obsNames ?? union("obsNames");
    // As mudata: obs names shared across modalities (their union), var names
    // one after the other (a name two modalities have, say CD4 in rna and
    // prot, is two global vars).
    this.varNames = parts.varNames ?? mods.flatMap((a) => a.varNames);
    this.obsm = parts.obsm ?? {};
    this.uns = parts.uns ?? {};
    this.categories = {
      obs: parts.categories?.obs ?? {},
      var: parts.categories?.var ?? {},
    };
    checkMuData(this);
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

const MUDATA_PARTS = new Set([
  "mod",
  "obs",
  "var",
  "obsNames",
  "varNames",
  "obsm",
  "uns",
  "categories",
]);

function isFrame(v: unknown): v is DataFrame {
  return typeof v === "object" && v !== null && typeof (v as DataFrame).getColumn === "function";
}

/** The parts of `new MuData()`: their kinds, before anything is derived from them. */
function checkMuDataParts(parts: unknown): asserts parts is MuDataParts {
  if (!isPlainObject(parts)) {
    throw new ValidationError(
      `new MuData(parts): parts is an object like { mod: { rna: adata } }, got ${kindOf(parts)}`,
    );
  }
  for (const k of Object.keys(parts)) {
    if (!MUDATA_PARTS.has(k)) {
      throw new ValidationError(
        `new MuData(parts): unknown part "${k}"; the parts are ${[...MUDATA_PARTS].join(", ")}`,
      );
    }
  }
  const mod = parts.mod;
  if (!isPlainObject(mod) || Object.keys(mod).length === 0) {
    throw new ValidationError(
      `new MuData(parts): mod is a non-empty object of AnnData by modality name, like ` +
        `{ rna: adata }, got ${isPlainObject(mod) ? "an empty object" : kindOf(mod)}`,
    );
  }
  for (const [name, a] of Object.entries(mod)) {
    if (!(a instanceof AnnData)) {
      throw new ValidationError(`MuData: mod.${name} is ${kindOf(a)}, expected an AnnData`);
    }
  }
  checkNames("MuData: obsNames", parts.obsNames);
  checkNames("MuData: varNames", parts.varNames);
}

/**
 * Check a MuData as mudata requires: its slots of the right kinds, each
 * modality's names among the global ones and each global name some
 * modality's, global tables as long as the names. `ValidationError` naming
 * the first that does not hold. The constructor checks; `writeH5mu` checks
 * again, since fields are assignable.
 */
export function checkMuData(m: MuData): void {
  if (!(m instanceof MuData)) {
    throw new ValidationError(
      `expected a MuData to write, got ${kindOf(m)}: build one with new MuData({ mod: { ... } })`,
    );
  }
  checkMuDataParts({ mod: m.mod, obsNames: m.obsNames, varNames: m.varNames });
  if (m.obsNames === undefined || m.varNames === undefined) {
    throw new ValidationError("MuData: obsNames and varNames are arrays of strings");
  }
  for (const side of ["obs", "var"] as const) {
    const df: unknown = m[side];
    if (!isFrame(df)) {
      throw new ValidationError(`MuData: ${side} is ${kindOf(df)}, expected a polars DataFrame`);
    }
    const names = side === "obs" ? m.obsNames : m.varNames;
    if (df.width > 0 && df.height !== names.length) {
      throw new ValidationError(
        `MuData: ${side}'s height is ${df.height}, expected ${names.length} (one row per name)`,
      );
    }
    const global = new Set(names);
    const covered = new Set<string>();
    for (const [mod, a] of Object.entries(m.mod)) {
      const local = side === "obs" ? a.obsNames : a.varNames;
      for (const n of local) {
        if (!global.has(n)) {
          throw new ValidationError(
            `MuData: mod.${mod} has the ${side} name "${n.slice(0, 80)}", which the global ` +
              `${side}Names lack; every modality's names are global names (leave ${side}Names ` +
              `out to have them made from the modalities)`,
          );
        }
        covered.add(n);
      }
    }
    for (const n of names) {
      if (!covered.has(n)) {
        throw new ValidationError(
          `MuData: the global ${side} name "${n.slice(0, 80)}" is no modality's; every global ` +
            `name is some modality's (leave ${side}Names out to have them made from the modalities)`,
        );
      }
    }
  }
  for (const slot of ["obsm", "uns"] as const) {
    if (!isPlainObject(m[slot])) {
      throw new ValidationError(`MuData: ${slot} is ${kindOf(m[slot])}, expected an object`);
    }
  }
  for (const [k, v] of Object.entries(m.obsm)) {
    if (!isMatrix(v)) {
      throw new ValidationError(`MuData: obsm.${k} is ${kindOf(v)}, expected a matrix`);
    }
    if (v.shape[0] !== m.obsNames.length) {
      throw new ValidationError(
        `MuData: obsm.${k} has ${
          v.shape[0]
        } rows, expected ${m.obsNames.length} (one per obs name)`,
      );
    }
  }
  const c: unknown = m.categories;
  if (!isPlainObject(c)) {
    throw new ValidationError(`MuData: categories is { obs, var }, got ${kindOf(c)}`);
  }
  checkCategoryInfos("MuData: categories.obs", c.obs);
  checkCategoryInfos("MuData: categories.var", c.var);
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
  const uns = await readDict(store, "uns");
  try {
    return new MuData({
      mod,
      obs: obs.df,
      var: v.df,
      obsNames: obs.index,
      varNames: v.index,
      obsm,
      uns,
      categories: { obs: obs.categories, var: v.categories },
    });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new CorruptFileError(`"${store.label}": inconsistent MuData: ${e.message}`, { cause: e });
  }
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
  checkMuData(m);
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
  // Global vars that are the modalities' one after the other (the default,
  // and mudata's) map by position, so a name two modalities share maps to
  // each its own; otherwise by name.
  const stacked = m.varNames.length === names.reduce((n, k) => n + m.mod[k].varNames.length, 0) &&
    names.flatMap((k) => m.mod[k].varNames).every((n, i) => n === m.varNames[i]);
  let offset = 0;
  for (const [axis, global] of [["obsmap", m.obsNames], ["varmap", m.varNames]] as const) {
    const maps = dict();
    for (const name of names) {
      const local = axis === "obsmap" ? m.mod[name].obsNames : m.mod[name].varNames;
      let map: Uint32Array;
      if (axis === "varmap" && stacked) {
        map = new Uint32Array(global.length);
        for (let i = 0; i < local.length; i++) map[offset + i] = i + 1;
        offset += local.length;
      } else map = rowMap(global, local);
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
 * global obs/var/obsm/uns, `obsmap`/`varmap`), through a temporary file. A
 * `ValidationError`, nothing written, for an inconsistent MuData (see
 * {@linkcode MuData}), a path that is not a string or unknown options.
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
  checkWriteArgs("writeH5mu", path, options, ["gzip"]);
  await writeTreeH5(encodeMuData(m), path, options);
}
