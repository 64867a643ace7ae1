// Checks of what the AnnData and MuData constructors and the writers are
// given, before anything is built or written: a ValidationError saying what
// was expected and what was got.
import { ValidationError } from "../../errors.ts";
import { isMatrix } from "./matrix.ts";
import { kindOf } from "../../_display.ts";
import { checkKnownOptions, isPlainObject } from "../../storage/_validate.ts";

export { isPlainObject };

/** How deep `uns` may nest (dicts in dicts): anndata itself fails far sooner on deep ones. */
export const MAX_UNS_DEPTH = 100;

/**
 * Check that `names` (when given) is an array of strings without holes:
 * `what` names it in the message.
 */
export function checkNames(what: string, names: unknown): void {
  if (names === undefined) return;
  if (!Array.isArray(names)) {
    throw new ValidationError(`${what} is an array of strings, got ${kindOf(names)}`);
  }
  for (let i = 0; i < names.length; i++) {
    if (!(i in names)) {
      throw new ValidationError(
        `${what} is an array of strings, but position ${i} is empty (a hole, as new Array(n) ` +
          `makes); fill every position`,
      );
    }
    if (typeof names[i] !== "string") {
      throw new ValidationError(
        `${what} is an array of strings, but position ${i} is ${kindOf(names[i])}`,
      );
    }
  }
}

/** Check categorical metadata: `{ [column]: { categories: string[], ordered: boolean, values? } }`. */
export function checkCategoryInfos(what: string, infos: unknown): void {
  if (infos === undefined) return;
  if (!isPlainObject(infos)) {
    throw new ValidationError(
      `${what} is an object of { categories, ordered } by column, got ${kindOf(infos)}`,
    );
  }
  for (const [col, info] of Object.entries(infos)) {
    const i = info as Record<string, unknown> | null;
    if (typeof i !== "object" || i === null) {
      throw new ValidationError(
        `${what}.${col} is { categories: string[], ordered: boolean }, got ${kindOf(i)}`,
      );
    }
    checkNames(`${what}.${col}.categories`, i.categories);
    if (i.categories === undefined) {
      throw new ValidationError(`${what}.${col}.categories is missing: an array of strings`);
    }
    if (typeof i.ordered !== "boolean") {
      throw new ValidationError(
        `${what}.${col}.ordered is true or false, got ${kindOf(i.ordered)}`,
      );
    }
    if (i.values !== undefined && i.values !== "number" && i.values !== "boolean") {
      throw new ValidationError(`${what}.${col}.values is "number" or "boolean" when given`);
    }
  }
}

const ANNDATA_OPTIONS = new Set([
  "X",
  "obs",
  "var",
  "obsNames",
  "varNames",
  "layers",
  "obsm",
  "varm",
  "obsp",
  "varp",
  "uns",
  "raw",
  "categories",
  "indexNames",
]);

/**
 * Check the options of `new AnnData()` before its shape is worked out from
 * them (the slots' contents are checked by `checkAnnData` afterwards).
 */
export function checkAnnDataOptions(o: unknown): void {
  if (o === undefined) return;
  if (!isPlainObject(o)) {
    throw new ValidationError(
      `new AnnData(options): options is an object like { X, obs, var }, got ${kindOf(o)}`,
    );
  }
  checkKnownOptions("new AnnData(options)", o, [...ANNDATA_OPTIONS]);
  if (o.X !== undefined && !isMatrix(o.X)) {
    throw new ValidationError(
      `AnnData: X is ${kindOf(o.X)}, expected a DenseMatrix, CsrMatrix or CscMatrix ` +
        `(wrap values as new DenseMatrix(values, [nObs, nVars]))`,
    );
  }
  checkNames("AnnData: obsNames", o.obsNames);
  checkNames("AnnData: varNames", o.varNames);
  if (o.categories !== undefined) {
    const c = o.categories;
    if (!isPlainObject(c) || Object.keys(c).some((k) => k !== "obs" && k !== "var")) {
      throw new ValidationError(
        `AnnData: categories is { obs?, var? } of { categories, ordered } by column, got ${
          kindOf(c)
        }`,
      );
    }
    checkCategoryInfos("AnnData: categories.obs", c.obs);
    checkCategoryInfos("AnnData: categories.var", c.var);
  }
  if (o.indexNames !== undefined) {
    const n = o.indexNames;
    if (!isPlainObject(n) || Object.keys(n).some((k) => k !== "obs" && k !== "var")) {
      throw new ValidationError(
        `AnnData: indexNames is { obs?, var? } of strings, got ${kindOf(n)}`,
      );
    }
    for (const side of ["obs", "var"] as const) {
      if (n[side] !== undefined && typeof n[side] !== "string") {
        throw new ValidationError(
          `AnnData: indexNames.${side} is a string (or omitted), got ${kindOf(n[side])}`,
        );
      }
    }
  }
}

/**
 * Check the path and options of a writer: a non-empty path string without
 * NUL, and options an object whose keys are `known` with `compression` one
 * of `compressions`. Nothing is written when they are not.
 */
export function checkWriteArgs(
  writer: string,
  path: unknown,
  options: unknown,
  compressions: readonly string[],
): void {
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new ValidationError(
      `${writer}(data, path): path is a file path string such as "out/a.h5ad", got ${
        typeof path === "string"
          ? (path === "" ? "an empty string" : "a path with NUL")
          : kindOf(path)
      }`,
    );
  }
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new ValidationError(
      `${writer}(data, path, options): options is an object like { compression: "${
        compressions[0]
      }" }, got ${kindOf(options)}`,
    );
  }
  checkKnownOptions(`${writer}(data, path, options)`, options, ["compression"]);
  const c = options.compression;
  if (c !== undefined && !compressions.includes(c as string)) {
    throw new ValidationError(
      `${writer}(data, path, options): compression is ${
        compressions.map((x) => `"${x}"`).join(" or ")
      } (or omitted for none), got ${typeof c === "string" ? JSON.stringify(c) : kindOf(c)}`,
    );
  }
}
