// Zarr stores: an AnnData saved as .zarr; a .zarr store loads as an AnnData
// (or, for an array store, a zarrita array) and streams by chunk keys.
import * as rt from "../../_runtime.ts";
import { readObject, type StorageBackend } from "../../storage/storage.ts";
import { StorageError } from "../../errors.ts";
import { type Codec, defineCodec, type OpenRangesOptions, type RangeReader } from "../codec.ts";
import { AnnData } from "../anndata/anndata.ts";
import {
  foldersUnder,
  keepingMetadata,
  openZarr,
  readStoreFile,
  spanOf,
  type ZarrStoreAt,
} from "../anndata/_zarr_store.ts";
import { zarrRangeArray } from "../anndata/_zarr_ranges.ts";
import type { ListedKey } from "../anndata/_zmetadata.ts";
import { writeZarr } from "../anndata/write_zarr.ts";
import { loadZarr } from "../zarr.ts";
import { warmPool } from "../hdf5/_unfilter_pool.ts";

/** Keys listed at most to know a remote store's metadata (S3: three requests). */
const LIST_MOST = 3_000;
/** Keys listed at most under one array's folder (to see how far its stored chunks reach). */
const KEYS_UNDER_MOST = 200_000;

/**
 * A ZarrStoreAt reading keys under `prefix` of a storage backend; on a
 * local backend its chunk files go to the decoding workers by path (each
 * checked by `localPath`), their bytes counted in `io`.
 */
function backendZarr(
  backend: StorageBackend,
  prefix: string,
  io: { bytesRead: number; requests: number },
): ZarrStoreAt {
  const local = backend.capabilities.localPaths ? localFiles(backend, prefix) : undefined;
  const counted = (bytes: number) => {
    io.bytesRead += bytes;
    io.requests++;
  };
  return {
    ...(local ? { filePath: local.path, counted } : {}),
    // One request a key (no head first): a zarr read is hundreds of chunks.
    // Local: read here, small files at once (see `localFiles`).
    get: local
      ? async (key) => {
        const got = await local.read(key);
        counted(got?.length ?? 0); // a miss is a request too (as through the backend)
        return got;
      }
      : (key) => readObject(backend, `${prefix}/${key}`),
    // A sharded (zarr v3) array's index and inner chunks: ranges of a shard.
    async getRange(key, range) {
      const k = `${prefix}/${key}`;
      if (!("suffixLength" in range)) {
        const got = await backend.getRange(k, range.offset, range.length);
        if (got) {
          io.bytesRead += got.length;
          io.requests++;
        }
        return got;
      }
      const info = await backend.head(k);
      if (!info) return undefined;
      const [at, n] = spanOf(range, info.size);
      const got = await backend.getRange(k, at, n);
      if (got) {
        io.bytesRead += got.length;
        io.requests += 2;
      }
      return got;
    },
    async listAll() {
      if (!backend.capabilities.listing || backend.capabilities.localPaths) return undefined;
      const keys: ListedKey[] = [];
      for await (const o of backend.list(`${prefix}/`)) {
        if (keys.length >= LIST_MOST) return undefined;
        keys.push({ key: o.key.slice(prefix.length + 1), etag: o.etag });
      }
      return keys;
    },
    async keysUnder(sub) {
      const base = sub ? `${prefix}/${sub}/` : `${prefix}/`, keys: string[] = [];
      for await (const o of backend.list(base)) {
        if (keys.length >= KEYS_UNDER_MOST) return undefined;
        keys.push(o.key.slice(prefix.length + 1));
      }
      return keys;
    },
    async children(sub) {
      const local = backend.localPath(sub ? `${prefix}/${sub}` : prefix);
      const out = new Set<string>();
      if (local) {
        try {
          for (const e of await rt.readDir(local)) if (e.isDirectory) out.add(e.name);
        } catch { /* no such folder: no children */ }
        return [...out].sort();
      }
      // One request per 1,000 folders, not per 1,000 objects below them.
      if (backend.listFolders) {
        return await backend.listFolders(sub ? `${prefix}/${sub}/` : `${prefix}/`);
      }
      const keys: string[] = [];
      for await (const o of backend.list(sub ? `${prefix}/${sub}/` : `${prefix}/`)) {
        keys.push(o.key.slice(prefix.length + 1));
      }
      return foldersUnder(keys, sub);
    },
  };
}

/**
 * The files of the store at `prefix` of a backend with local paths, each
 * checked just before it is read, as the backend's own reads are: its
 * `localPath` resolves the real path (one call) and refuses one outside the
 * storage root (`InvalidKeyError`), then `readStoreFile` reads it (a
 * small one at once: a store of thousands of tiny arrays spent more on each
 * read's thread-pool round trip, and through `getBytes` a `stat` first,
 * than on reading it). A missing file (or a folder where a file is asked)
 * is undefined.
 */
function localFiles(backend: StorageBackend, prefix: string): {
  path(key: string): string | undefined;
  read(key: string): Promise<Uint8Array | undefined>;
} {
  const path = (key: string) => backend.localPath(`${prefix}/${key}`);
  return {
    path,
    async read(key) {
      const at = path(key);
      if (at === undefined) return undefined;
      try {
        return await readStoreFile(at, key);
      } catch (e) {
        if (rt.isNotFound(e) || rt.isNotADirectory(e) || rt.isADirectory(e)) return undefined;
        throw new StorageError(
          `could not read ${key} of the zarr store ${prefix}: ${(e as Error)?.message ?? e}`,
          { cause: e },
        );
      }
    },
  };
}

/** Open a stored `.zarr` store for range reads: chunks by key through the backend. */
function openZarrRanges(
  backend: StorageBackend,
  key: string,
  { label }: OpenRangesOptions,
): Promise<RangeReader> {
  warmPool(); // a zarr store's chunks are decoded on the workers
  const io = { bytesRead: 0, requests: 0 };
  const source = keepingMetadata(backendZarr(backend, key, io), !backend.capabilities.localPaths);
  const store = openZarr(source, label);
  return Promise.resolve({
    store,
    array: (path) => zarrRangeArray(source, path, label),
    close: () => {
      store.close();
      source.release?.();
    },
    stats: () => io,
  });
}

/**
 * The `.zarr` codec: a zarr store loads as an AnnData (an AnnData store) or
 * a zarrita array (an array store); an AnnData saves as zarr with
 * `format: "zarr"`; stored AnnData zarr stores stream by chunk.
 *
 * @example
 * ```ts
 * import { anndataZarr } from "./anndata_zarr.ts";
 * console.assert(anndataZarr.suffixes[0] === ".zarr");
 * ```
 */
export const anndataZarr: Codec = defineCodec<AnnData>({
  name: "anndata_zarr",
  noun: "an AnnData",
  suffixes: [".zarr"],
  formats: { zarr: [".zarr"] },
  accepts: (x): x is AnnData => x instanceof AnnData,
  write: (adata, path) => writeZarr(adata, path),
  read: (path) => loadZarr(path),
  openRanges: openZarrRanges,
});
