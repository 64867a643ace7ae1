// The StreamSource of a stored file: zarr chunks by key and h5ad byte
// ranges through the storage backend (counted), h5wasm as the fallback.
import { log } from "../_log.ts";
import { UnsupportedFormatError } from "../errors.ts";
import { type CountingStorage } from "../storage/counting.ts";
import type { NumericArray } from "../formats/anndata/matrix.ts";
import { openH5 } from "../formats/anndata/_h5wasm_store.ts";
import type { ElementStore } from "../formats/anndata/_store.ts";
import { openZarr, type ZarrSource } from "../formats/anndata/_zarr_store.ts";
import { zarrRangeArray } from "../formats/anndata/_zarr_ranges.ts";
import type { Range } from "./plan.ts";
import type { RangeArray } from "./subset.ts";
import type { StreamSource } from "./stream.ts";

/** A ZarrSource reading keys under `prefix` of a (counting) backend. */
function backendZarr(backend: CountingStorage, prefix: string): ZarrSource {
  return {
    async get(key) {
      const info = await backend.head(`${prefix}/${key}`);
      if (!info) return undefined;
      return await backend.getRange(`${prefix}/${key}`, 0, info.size);
    },
    async children(sub) {
      const local = backend.localPath(sub ? `${prefix}/${sub}` : prefix);
      const out = new Set<string>();
      if (local) {
        try {
          for await (const e of Deno.readDir(local)) if (e.isDirectory) out.add(e.name);
        } catch { /* no such folder: no children */ }
        return [...out].sort();
      }
      const base = sub ? `${prefix}/${sub}/` : `${prefix}/`;
      for await (const o of backend.list(base)) {
        const parts = o.key.slice(base.length).split("/");
        if (parts.length > 1) out.add(parts[0]);
      }
      return [...out].sort();
    },
  };
}

/** A RangeArray over an array read whole (the fallback for what we cannot range-read). */
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

/** Open a stored AnnData (`.h5ad` or `.zarr`) for streaming. */
export async function openStreamSource(
  backend: CountingStorage,
  key: string,
  suffix: string,
  label: string,
): Promise<StreamSource & { close(): void }> {
  if (suffix === ".zarr") {
    const source = backendZarr(backend, key);
    const store = openZarr(source, label);
    return {
      store,
      array: (path) => zarrRangeArray(source, path, label),
      close: () => store.close(),
    };
  }
  if (suffix === ".h5ad") {
    const local = backend.localPath(key);
    if (!local) {
      throw new UnsupportedFormatError(`streaming ${label} needs a local copy in this version`);
    }
    log.debug(`${label}: h5wasm fallback (arrays are read whole)`);
    const store = await openH5(local);
    return { store, array: (path) => wholeArray(store, path), close: () => store.close() };
  }
  throw new UnsupportedFormatError(
    `cannot stream "${label}": streaming reads AnnData stores (.h5ad, .zarr), this is ${
      suffix || "a file without suffix"
    }`,
  );
}
