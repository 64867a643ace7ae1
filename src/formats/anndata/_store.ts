// The hierarchical stores AnnData is read from (HDF5 via h5wasm, zarr), as one
// small interface, so the anndata element decoding is written once.
import type { Dtype, NumericArray } from "./matrix.ts";
import type { PartWatch } from "../ranges.ts";

/** An array read whole from a store. */
export type StoreArray =
  | { kind: "number"; data: NumericArray; shape: number[]; dtype: Dtype }
  | { kind: "bool"; data: Uint8Array; shape: number[] }
  | { kind: "string"; data: (string | null)[]; shape: number[] };

/** Strings as bytes: string `i` is `bytes[offsets[i]..offsets[i + 1])` (Arrow's layout). */
export interface Utf8Strings {
  offsets: Int32Array;
  bytes: Uint8Array;
}

/** A read-only view of an HDF5 file or a zarr group hierarchy. */
export interface ElementStore {
  /** For error messages: the file's path. */
  readonly label: string;
  /** What is at `path` ("" is the root). */
  describe(path: string): Promise<"group" | "array" | undefined>;
  /** Child names of a group, in storage order. */
  keys(path: string): Promise<string[]>;
  /** Attributes: strings, numbers, booleans, string[] and number[]. */
  attrs(path: string): Promise<Record<string, unknown>>;
  /**
   * A whole array. `watch`, if the store can: called with parts of the
   * array's raw (little-endian) bytes as they land, before `read` resolves;
   * parts never overlap and may cover less than the whole (see `PartWatch`).
   */
  read(path: string, watch?: PartWatch): Promise<StoreArray>;
  /** Optionally: just `rows` (ascending) of a 1-D array, reading only those. */
  readRows?(path: string, rows: Uint32Array): Promise<StoreArray>;
  /**
   * Optionally: a string array (all of it, or `rows`) as UTF-8 bytes and
   * offsets, no JS string made (dataframe columns); `undefined` when the
   * array does not hold variable-length strings or the store cannot.
   */
  readUtf8?(path: string, rows?: Uint32Array): Promise<Utf8Strings | undefined>;
  /** Release resources. */
  close(): void;
}

/** `a/b` joined without doubled slashes. */
export function join(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/");
}
