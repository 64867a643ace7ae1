// What pandas keeps on a DataFrame and polars does not (its index, the
// index's name, categories in order), for DataFrames read from `uns`,
// `obsm` and `varm`: kept beside the very DataFrame object that was read,
// so writing it back stores them again. A DataFrame derived from it (any
// polars operation makes a new one) has none: it is written with a fresh
// index (or, in obsm/varm, the obs/var names).
import type pl from "nodejs-polars";
import type { CategoryInfo } from "./anndata.ts";
import type { NumericArray } from "./matrix.ts";

/** A DataFrame's pandas metadata. */
export interface FrameMeta {
  index: string[];
  indexName?: string;
  /** The index as the numbers it was stored as (a frame in uns with pandas' RangeIndex). */
  indexNumbers?: NumericArray;
  categories: Record<string, CategoryInfo>;
}

const kept = new WeakMap<pl.DataFrame, FrameMeta>();

/** Remember `meta` for the DataFrame `df` (as read from a file). */
export function keepFrameMeta(df: pl.DataFrame, meta: FrameMeta): pl.DataFrame {
  kept.set(df, meta);
  return df;
}

/**
 * The metadata kept for `df`, if it is a DataFrame as read and still of its
 * height (or has no columns: polars gives such a frame no rows, its index
 * keeps them).
 */
export function frameMeta(df: pl.DataFrame): FrameMeta | undefined {
  const m = kept.get(df);
  return m && (m.index.length === df.height || df.width === 0) ? m : undefined;
}

const nullable = new WeakMap<pl.DataFrame, Set<string>>();

/**
 * Remember that columns `cols` of `df` were read as pandas' nullable
 * integers or booleans (Int64, boolean, ...), so that writing `df` back
 * keeps them nullable when nothing is missing (polars has one integer
 * dtype for both; pandas tells them apart).
 */
export function keepNullable(df: pl.DataFrame, cols: string[]): void {
  if (cols.length) nullable.set(df, new Set(cols));
}

/** Whether column `col` of `df` was read as nullable (see `keepNullable`). */
export function wasNullable(df: pl.DataFrame, col: string): boolean {
  return nullable.get(df)?.has(col) ?? false;
}
