// The fallback for arrays we cannot read by ranges: read whole once, then
// served by ranges from memory.
import { UnsupportedFormatError } from "../../errors.ts";
import type { NumericArray } from "./matrix.ts";
import type { ElementStore } from "./_store.ts";
import type { Range, RangeArray } from "../ranges.ts";

/** A RangeArray over an array of `store` read whole. */
export async function wholeArray(store: ElementStore, path: string): Promise<RangeArray> {
  const a = await store.read(path);
  if (a.kind === "string") {
    throw new UnsupportedFormatError(`"${store.label}": /${path} holds strings, not numbers`);
  }
  const shape = a.shape;
  const row = shape.slice(1).reduce((x, y) => x * y, 1);
  const data = a.data as NumericArray;
  return {
    shape,
    dtype: a.kind === "bool" ? "bool" : a.dtype,
    readRanges(ranges: readonly Range[]) {
      let n = 0;
      for (const [s, e] of ranges) n += (e - s) * row;
      const out = new (data.constructor as new (n: number) => NumericArray)(n);
      let o = 0;
      for (const [s, e] of ranges) {
        // deno-lint-ignore no-explicit-any
        (out as any).set((data as any).subarray(s * row, e * row), o);
        o += (e - s) * row;
      }
      return Promise.resolve(out);
    },
  };
}
