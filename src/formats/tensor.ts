// Tensors: a zarrita array can be saved as a File (a `.zarr` array store,
// zarr v3 as zarrita writes it); a zarr array store loads as a zarrita array.
import * as rt from "../_runtime.ts";
import * as zarr from "zarrita";
import { dirname, join } from "node:path";
import { UnsupportedFormatError } from "../errors.ts";

/**
 * A zarrita array (`zarr.Array` over any store), described structurally so
 * lamindeno's public types do not pin one copy of zarrita.
 */
export interface ZarrArray {
  /** Always `"array"`. */
  readonly kind: "array";
  /** The array's shape. */
  readonly shape: number[];
  /** The chunk shape. */
  readonly chunks: number[];
  /** The data type, e.g. `"float32"`. */
  readonly dtype: string;
}

// deno-lint-ignore no-explicit-any
type AnyArray = zarr.Array<any, any>;

/** True for a zarrita array. */
export function isZarrArray(x: unknown): x is ZarrArray {
  if (x instanceof zarr.Array) return true;
  const o = x as Record<string, unknown> | null;
  return o !== null && typeof o === "object" && o.kind === "array" && Array.isArray(o.shape) &&
    Array.isArray(o.chunks) && typeof o.getChunk === "function" && "store" in o;
}

/** A writable zarrita store over a local folder. */
function folderStore(root: string) {
  const file = (key: string) => join(root, key.replace(/^\//, ""));
  return {
    async get(key: string): Promise<Uint8Array | undefined> {
      try {
        return await rt.readFile(file(key));
      } catch (e) {
        if (rt.isNotFound(e)) return undefined;
        throw e;
      }
    },
    async set(key: string, value: Uint8Array): Promise<void> {
      await rt.mkdir(dirname(file(key)), { recursive: true });
      await rt.writeFile(file(key), value);
    },
  };
}

/**
 * Copy a zarrita array, chunk by chunk (memory stays at one chunk), into a
 * new zarr v3 array store at `dir` with the same shape, chunks, dtype, fill
 * value and attributes.
 */
export async function writeZarrArray(array: ZarrArray, dir: string): Promise<void> {
  const arr = array as unknown as AnyArray;
  const dtype = String(arr.dtype);
  if (dtype === "string" || dtype.startsWith("v2:") || dtype === "object") {
    throw new UnsupportedFormatError(
      `cannot save a zarr array of dtype ${dtype}: zarrita cannot encode it; ` +
        `save numeric or boolean arrays, or register the store's folder by path`,
    );
  }
  const out = await zarr.create(zarr.root(folderStore(dir)), {
    shape: arr.shape,
    chunkShape: arr.chunks,
    dtype: arr.dtype,
    fillValue: arr.fillValue ?? undefined,
    attributes: arr.attrs,
  });
  const grid = arr.shape.map((n: number, i: number) => Math.ceil(n / arr.chunks[i]));
  const total = grid.reduce((a: number, b: number) => a * b, 1);
  for (let c = 0; c < total; c++) {
    // The chunk's coordinates (C order) and the region it covers.
    let rest = c;
    const region = grid.map((_: number, i: number) => {
      const stride = grid.slice(i + 1).reduce((a: number, b: number) => a * b, 1);
      const k = Math.floor(rest / stride);
      rest %= stride;
      return zarr.slice(k * arr.chunks[i], Math.min((k + 1) * arr.chunks[i], arr.shape[i]));
    });
    const part = await zarr.get(arr, region);
    await zarr.set(out, region, part);
  }
}
