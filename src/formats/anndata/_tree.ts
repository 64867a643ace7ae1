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

/** Either node. */
export type TreeNode = TreeGroup | TreeArray;

/** A group node. */
export function group(attrs: Record<string, TreeAttr> = {}): TreeGroup {
  return { kind: "group", attrs, children: {} };
}
