// The categories a subset keeps, as anndata's subset (a view, and a backed
// file's `to_memory()`) keeps them: a categorical column's unused
// categories dropped, the rest in their order, and scanpy's colors of the
// column (`uns["<col>_colors"]`, one per category) cut to match.
import type pl from "nodejs-polars";
import type { CategoryInfo } from "../formats/anndata/anndata.ts";

/**
 * `categories` (of the columns of `df`) with only the categories `df`'s
 * values use, in their order; `uns`'s colors of each changed column cut
 * alike (dropped where they were not one per category, as anndata does),
 * in a copy of `uns`.
 */
export function usedCategories(
  df: pl.DataFrame,
  categories: Record<string, CategoryInfo>,
  uns: Record<string, unknown>,
): { categories: Record<string, CategoryInfo>; uns: Record<string, unknown> } {
  const out: Record<string, CategoryInfo> = {};
  let kept = uns;
  for (const [col, info] of Object.entries(categories)) {
    if (!df.columns.includes(col)) {
      out[col] = info;
      continue;
    }
    // The values as the categories' text (numbers and booleans as written).
    const used = new Set<string>();
    for (const v of df.getColumn(col).unique().toArray() as unknown[]) {
      if (v !== null && v !== undefined) used.add(String(v));
    }
    const at = info.categories.flatMap((c, i) => used.has(c) ? [i] : []);
    if (at.length === info.categories.length) {
      out[col] = info;
      continue;
    }
    out[col] = { ...info, categories: at.map((i) => info.categories[i]) };
    const key = `${col}_colors`, colors = kept[key];
    if (!Array.isArray(colors)) continue;
    kept = { ...kept };
    if (colors.length === info.categories.length) kept[key] = at.map((i) => colors[i]);
    else delete kept[key];
  }
  return { categories: out, uns: kept };
}

/**
 * Set (to `true`) on the options of a stream whose result is merged with
 * others (a collection's): its categories are kept whole, so that parts
 * whose files share an ordered list still agree; the merged result is cut
 * to what it uses instead.
 */
export const KEEP_CATEGORIES: unique symbol = Symbol("keep every category");
