// The StreamSource of a stored file: zarr chunks by key and h5ad byte
// ranges through the storage backend (counted), h5wasm as the fallback.
import { log } from "../_log.ts";
import { UnsupportedFormatError } from "../errors.ts";
import { type CountingStorage } from "../storage/counting.ts";
import { localCopy } from "../storage/_cache.ts";
import type { NumericArray } from "../formats/anndata/matrix.ts";
import { openH5 } from "../formats/anndata/_h5wasm_store.ts";
import type { ElementStore } from "../formats/anndata/_store.ts";
import { openZarr, type ZarrSource } from "../formats/anndata/_zarr_store.ts";
import { zarrRangeArray } from "../formats/anndata/_zarr_ranges.ts";
import { fileSource, type RangeSource } from "../formats/hdf5/h5file.ts";
import { assertReadable, h5RangeArray, openH5Range } from "../formats/hdf5/store.ts";
import type { Range, RangeArray } from "../formats/ranges.ts";
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

/** The h5wasm fallback: arrays read whole. */
export async function h5wasmSource(path: string): Promise<StreamSource & { close(): void }> {
  const store = await openH5(path);
  return { store, array: (p) => wholeArray(store, p), close: () => store.close() };
}

/** A RangeSource over an object of a storage backend. */
function backendSource(backend: CountingStorage, key: string): RangeSource {
  return {
    async size() {
      const info = await backend.head(key);
      if (!info) throw new UnsupportedFormatError(`no object at ${key}`);
      return info.size;
    },
    async read(offset, length) {
      return await backend.getRange(key, offset, length) ?? new Uint8Array();
    },
  };
}

/** Open a stored AnnData (`.h5ad` or `.zarr`) for streaming. */
export async function openStreamSource(
  backend: CountingStorage,
  key: string,
  suffix: string,
  label: string,
  cacheDir?: string,
): Promise<
  StreamSource & {
    close(): void;
    stats?: () => { bytesRead: number; requests: number } | undefined;
  }
> {
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
    // Our byte-range reader: a local file directly (positional reads), else
    // ranges through the storage backend.
    const local = backend.localPath(key);
    const src = local ? fileSource(local) : backendSource(backend, key);
    try {
      // Local: merge only tiny gaps (a positional read costs ~2 µs). Remote:
      // a request costs a round trip, worth roughly 256 KiB of transfer, so
      // a smaller gap is read through rather than paid for with a request;
      // many requests in flight.
      const options = local ? { gap: 256 } : { gap: 256 << 10, concurrency: 32 };
      const store = await openH5Range(src, label, options);
      await assertReadable(store.file); // else fall back below, before reading data
      return {
        store,
        array: (path) => h5RangeArray(store.file, path, options),
        close: () => (src as { close?: () => void }).close?.(),
        stats: () => (src as { stats?: { bytesRead: number; requests: number } }).stats,
      };
    } catch (e) {
      (src as { close?: () => void }).close?.();
      if (!(e instanceof UnsupportedFormatError)) throw e;
      if (local) {
        log.debug(`${label}: ${e.message}; falling back to h5wasm (arrays are read whole)`);
        return await h5wasmSource(local);
      }
      if (!cacheDir) throw e;
      // h5wasm reads local files only: fetch the whole object (once; cached).
      log.warn(`${label}: ${e.message}; fetching the whole file to read it with h5wasm`);
      return await h5wasmSource(await localCopy(backend, key, false, cacheDir));
    }
  }
  throw new UnsupportedFormatError(
    `cannot stream "${label}": streaming reads AnnData stores (.h5ad, .zarr), this is ${
      suffix || "a file without suffix"
    }`,
  );
}
