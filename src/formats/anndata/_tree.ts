// A format-neutral tree of groups and arrays: AnnData is encoded into it once
// (_encode.ts) and each writer (HDF5, zarr v2) serializes it.
import type { Dtype, NumericArray } from "./matrix.ts";

/** An attribute value. */
export type TreeAttr = string | string[] | number | number[] | boolean;

/** A group: attributes and named children in insertion order. */
export interface TreeGroup {
  kind: "group";
  attrs: Record<string, TreeAttr>;
  children: Record<string, TreeNode>;
}

/** An array: numbers (dtype), booleans (0/1 bytes, dtype "bool") or strings. */
export interface TreeArray {
  kind: "array";
  attrs: Record<string, TreeAttr>;
  dtype: Dtype | "str";
  data: NumericArray | (string | null)[];
  /** `[]` for a scalar. */
  shape: number[];
  /** Chunk shape; contiguous when undefined. */
  chunks?: number[];
}

/**
 * A 1-D array of records (numpy's structured dtype: anndata's rec-array,
 * e.g. scanpy's rank_genes_groups), given as one column per field.
 */
export interface TreeRecords {
  kind: "records";
  attrs: Record<string, TreeAttr>;
  /** The fields in order, each `length` values. */
  fields: { name: string; dtype: Dtype | "str"; data: NumericArray | (string | null)[] }[];
  /** The number of records. */
  length: number;
}

/** Any node. */
export type TreeNode = TreeGroup | TreeArray | TreeRecords;

/** A group node. */
export function group(attrs: Record<string, TreeAttr> = {}): TreeGroup {
  return { kind: "group", attrs, children: {} };
}
