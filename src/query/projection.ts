// Projections: which parts of an AnnData a stream reads. Resolved against
// what the file holds (names only, no data) before anything is read; pure,
// so it is tested and printed on its own.
import { ColumnNotFoundError, ValidationError } from "../errors.ts";

/**
 * Which parts of an AnnData to read (`file.stream()`, `file.batches()`).
 * Every part is read when its option is omitted, as before projections.
 */
export interface Projection {
  /** obs columns to return, in this order (all when omitted; `[]`: none, names only). */
  obsColumns?: readonly string[];
  /** var columns to return, in this order (all when omitted; `[]`: none, names only). */
  varColumns?: readonly string[];
  /** Layers to read (all when omitted); `false` or `[]`: none. */
  layers?: readonly string[] | false;
  /** obsm entries to read (all when omitted); `false` or `[]`: none. */
  obsm?: readonly string[] | false;
  /** Read X (default `true`); `false` leaves `X` undefined. */
  X?: boolean;
  /**
   * Read `raw` when the file has it (default `true`: its X's selected rows,
   * all its var, as anndata's backed subset gives them); `false` leaves it out.
   */
  raw?: boolean;
}

/** The names a file holds, per part (read from metadata only). */
export interface Available {
  /** obs columns, in file order. */
  obsColumns: readonly string[];
  /** var columns, in file order. */
  varColumns: readonly string[];
  /** layer names. */
  layers: readonly string[];
  /** obsm names. */
  obsm: readonly string[];
  /** Whether the file has `raw`. */
  raw?: boolean;
}

/** A projection with every part named: what will be read. */
export interface ResolvedProjection {
  /** obs columns to read and return. */
  readonly obsColumns: readonly string[];
  /** var columns to read and return. */
  readonly varColumns: readonly string[];
  /** layers to read. */
  readonly layers: readonly string[];
  /** obsm entries to read. */
  readonly obsm: readonly string[];
  /** whether X is read. */
  readonly X: boolean;
  /** whether raw is read (the file has it and it was not left out). */
  readonly raw: boolean;
}

function pick(
  asked: readonly string[] | false | undefined,
  known: readonly string[],
  what: string,
  label: string,
): readonly string[] {
  if (asked === undefined) return known;
  if (asked === false) return [];
  if (!Array.isArray(asked) || asked.some((n) => typeof n !== "string")) {
    throw new ValidationError(`${what}: expected an array of names, got ${JSON.stringify(asked)}`);
  }
  const missing = asked.filter((n) => !known.includes(n));
  if (missing.length > 0) {
    throw new ColumnNotFoundError(
      `no ${what} ${missing.map((m) => JSON.stringify(m)).join(", ")} in "${label}"; ` +
        `its ${what} names are: ${known.length ? known.join(", ") : "(none)"}`,
    );
  }
  const dup = asked.find((n, i) => asked.indexOf(n) !== i);
  if (dup !== undefined) {
    throw new ValidationError(`${what}: ${JSON.stringify(dup)} is named twice`);
  }
  return [...asked];
}

/**
 * Name every part a projection reads; an unknown name is a
 * `ColumnNotFoundError` that lists the known ones (`label` names the file).
 *
 * @example Leave out layers and all but one obs column
 * ```ts
 * import { resolveProjection } from "./projection.ts";
 * const have = { obsColumns: ["cell_type", "donor"], varColumns: ["mean"], layers: ["counts"], obsm: [] };
 * const p = resolveProjection(have, { obsColumns: ["donor"], layers: false }, "a.h5ad");
 * console.assert(p.obsColumns.join() === "donor" && p.layers.length === 0 && p.X);
 * ```
 */
export function resolveProjection(
  available: Available,
  asked: Projection,
  label: string,
): ResolvedProjection {
  for (const part of ["X", "raw"] as const) {
    if (asked[part] !== undefined && typeof asked[part] !== "boolean") {
      throw new ValidationError(
        `${part}: expected true or false, got ${JSON.stringify(asked[part])}`,
      );
    }
  }
  return {
    obsColumns: pick(asked.obsColumns, available.obsColumns, "obs column", label),
    varColumns: pick(asked.varColumns, available.varColumns, "var column", label),
    layers: pick(asked.layers, available.layers, "layer", label),
    obsm: pick(asked.obsm, available.obsm, "obsm", label),
    X: asked.X ?? true,
    raw: (asked.raw ?? true) && available.raw === true,
  };
}

/**
 * A one-line summary of a projection, e.g. for `debug` logs and tests.
 *
 * @example
 * ```ts
 * import { describeProjection } from "./projection.ts";
 * const s = describeProjection({ obsColumns: ["a"], varColumns: [], layers: [], obsm: ["pca"], X: false, raw: false });
 * console.assert(s === "obs [a], var [], X no, layers [], obsm [pca], raw no");
 * ```
 */
export function describeProjection(p: ResolvedProjection): string {
  return `obs [${p.obsColumns.join(", ")}], var [${p.varColumns.join(", ")}], X ${
    p.X ? "yes" : "no"
  }, layers [${p.layers.join(", ")}], obsm [${p.obsm.join(", ")}], raw ${p.raw ? "yes" : "no"}`;
}
