// AnnData as .h5ad: read and written by our own HDF5 reader/writer; range
// reads through a storage backend for streaming, h5wasm as the fallback.
import { log } from "../../_log.ts";
import { UnsupportedFormatError } from "../../errors.ts";
import { localCopy } from "../../storage/_cache.ts";
import type { StorageBackend } from "../../storage/storage.ts";
import { REMOTE_COST } from "../../storage/cost_model.ts";
import { type Codec, defineCodec, type OpenRangesOptions, type RangeReader } from "../codec.ts";
import { AnnData } from "../anndata/anndata.ts";
import { openH5 } from "../anndata/_h5wasm_store.ts";
import { readH5ad } from "../anndata/read_h5ad.ts";
import { writeH5ad } from "../anndata/write_h5ad.ts";
import { wholeArray } from "../anndata/_whole_array.ts";
import { type ByteReader, fileBytes } from "../hdf5/h5file.ts";
import { assertReadable, h5RangeArray, openH5Range } from "../hdf5/store.ts";
import { noFallback } from "../hdf5/_parse.ts";

/** The h5wasm fallback: arrays read whole. */
async function h5wasmReader(path: string, why: string): Promise<RangeReader> {
  const store = await openH5(path, why);
  return { store, array: (p) => wholeArray(store, p), close: () => store.close() };
}

/** A ByteReader over an object of a storage backend. */
function backendSource(backend: StorageBackend, key: string): ByteReader {
  return {
    async size() {
      const info = await backend.head(key);
      if (!info) throw new UnsupportedFormatError(`no object at ${key}`);
      return info.size;
    },
    async read(offset, length) {
      return await backend.getRange(key, offset, length) ?? new Uint8Array();
    },
    ...(backend.getRangeInto
      ? {
        async readChunks(offset: number, length: number, sink) {
          return await backend.getRangeInto!(key, offset, length, sink) ?? 0;
        },
      } satisfies Pick<ByteReader, "readChunks">
      : {}),
  };
}

/**
 * Open a stored `.h5ad` for range reads: a local file directly (positional
 * reads), else byte ranges through the backend; layouts our reader does not
 * read go to h5wasm (from S3: the whole file fetched once into the cache).
 */
async function openH5adRanges(
  backend: StorageBackend,
  key: string,
  { label, cacheDir }: OpenRangesOptions,
): Promise<RangeReader> {
  const local = backend.localPath(key);
  const src = local ? fileBytes(local) : backendSource(backend, key);
  try {
    // Local: merge only tiny gaps (a positional read costs ~2 µs). Remote:
    // requests are planned by the store's cost model (measured once per
    // backend): a gap is read through when that costs less than a request.
    const options = local ? { gap: 256 } : { cost: await backend.costModel?.(key) ?? REMOTE_COST };
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
    if (!(e instanceof UnsupportedFormatError) || noFallback(e)) throw e;
    if (local) {
      log.debug(`${label}: ${e.message}; falling back to h5wasm (arrays are read whole)`);
      return await h5wasmReader(local, e.message);
    }
    if (!cacheDir) {
      throw new UnsupportedFormatError(
        `${e.message}: streaming it needs a local copy; stage the file first (file.stage()) ` +
          `or load() it`,
      );
    }
    // h5wasm reads local files only: fetch the whole object (once; cached).
    log.warn(`${label}: ${e.message}; fetching the whole file to read it with h5wasm`);
    return await h5wasmReader(await localCopy(backend, key, false, cacheDir), e.message);
  }
}

/**
 * The `.h5ad` codec: loads an AnnData, saves one (the default format of an
 * AnnData), and opens stored files for streaming.
 *
 * @example
 * ```ts
 * import { h5ad } from "./anndata_h5ad.ts";
 * console.assert(h5ad.suffixes[0] === ".h5ad" && h5ad.openRanges !== undefined);
 * ```
 */
export const h5ad: Codec = defineCodec<AnnData>({
  name: "anndata_h5ad",
  noun: "an AnnData",
  suffixes: [".h5ad"],
  formats: { h5ad: [".h5ad"] },
  accepts: (x): x is AnnData => x instanceof AnnData,
  write: (adata, path) => writeH5ad(adata, path),
  read: (path) => readH5ad(path),
  openRanges: openH5adRanges,
});
