import type { CostModel } from "./cost_model.ts";

/** What a backend knows about one stored object. */
export interface ObjectInfo {
  /** Key relative to the storage root. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Entity tag (S3) when the backend has one. */
  etag?: string;
  /** Last modification time when the backend has one. */
  mtime?: Date;
}

/** Options of {@linkcode StorageBackend.put}. */
export interface PutOptions {
  /**
   * Expected size and md5 (base64url). The object is verified before it
   * becomes visible; on a mismatch nothing is written and an
   * `IntegrityError` is thrown.
   */
  expect?: { size: number; hash: string };
  /** Replace an existing object at `key`. Default `false`: a `StorageError` if one exists. */
  overwrite?: boolean;
  /**
   * Told the bytes as they are stored: written to disk, or acknowledged by
   * the server (a part at a time for a multipart upload).
   */
  progress?: { add(bytes: number): void };
}

/** Size and md5 of what `put` wrote, plus the backend's etag when it has one. */
export interface PutResult {
  /** Bytes written. */
  size: number;
  /** md5 of the bytes written, base64url (22 chars). */
  hash: string;
  /** Entity tag, when the backend has one. */
  etag?: string;
}

/** Bytes to store: a stream (read once) or a buffer. */
export type PutData = ReadableStream<Uint8Array> | Uint8Array;

/**
 * What a {@linkcode StorageBackend} can do, so callers branch on abilities
 * rather than on which backend it is. Every backend states all of them;
 * middleware (e.g. `CountingStorage`) passes its inner backend's through.
 *
 * @example Decide how to read without knowing the backend
 * ```ts
 * import { LocalStorage, type StorageBackend } from "@lamindeno/lamindb";
 * const store: StorageBackend = new LocalStorage(await Deno.makeTempDir());
 * const { localPaths, rangeReads, writable } = store.capabilities;
 * console.assert(localPaths && writable && rangeReads === "local");
 * // Remote backends: batch and coalesce ranges, since each one is a request.
 * const coalesce = store.capabilities.rangeReads === "request";
 * console.assert(!coalesce);
 * ```
 */
export interface StorageCapabilities {
  /**
   * `put` and `delete` work. When `false` (read-only backends such as
   * `HttpStorage`) both reject with a `StorageError`; check this first.
   */
  readonly writable: boolean;
  /**
   * `list()` enumerates objects under a prefix, so folders (prefixes such
   * as a `.zarr` store) can be discovered. When `false`, `list()` rejects
   * with a `StorageError` on first iteration: only known keys can be read.
   */
  readonly listing: boolean;
  /**
   * `localPath(key)` returns a path on this machine for every key, so
   * path-only libraries can open objects without a cached copy. When
   * `false` it always returns `undefined`.
   */
  readonly localPaths: boolean;
  /**
   * The cost of one `getRange`: `"local"` is a seek in a file (read small
   * ranges freely); `"request"` is a network round trip (coalesce nearby
   * ranges, read ahead, run requests in parallel).
   */
  readonly rangeReads: "local" | "request";
  /**
   * `head()` returns an `etag` that changes whenever the content does, so
   * cached copies can be validated by it (else only size and `mtime`).
   */
  readonly etags: boolean;
  /**
   * How `put` without `overwrite` refuses an existing object: `"atomic"`
   * when the backend guarantees it even against a concurrent writer (a
   * hard link, a conditional write), `"checked"` when it checks first and
   * a racing writer may still win (S3 servers without conditional writes),
   * `"none"` when the backend is not writable. `put` itself is always
   * atomic where it exists: the object appears whole and verified or not
   * at all.
   */
  readonly exclusiveCreate: "atomic" | "checked" | "none";
}

/**
 * The `type` of a storage root as the registry records it (lamindb's
 * vocabulary): `"s3"` for `s3://`, `"http"`/`"https"` for URLs, `"local"`
 * for paths. Derived from the root itself, not from the backend class.
 *
 * @example
 * ```ts
 * import { storageTypeOf } from "@lamindeno/lamindb";
 * console.assert(storageTypeOf("s3://bucket/p") === "s3");
 * console.assert(storageTypeOf("https://example.org/data") === "https");
 * console.assert(storageTypeOf("/data/lamin") === "local");
 * ```
 */
export function storageTypeOf(root: string): "local" | "s3" | "http" | "https" {
  const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(root)?.[1]?.toLowerCase();
  if (scheme === "s3" || scheme === "http" || scheme === "https") return scheme;
  return "local";
}

/**
 * An object store under one root: local disk, S3, HTTP (read-only), or
 * middleware around one of them. Keys are relative POSIX paths (see `validateKey`). Designed for
 * object stores: there is no rename, reads can be by byte range, and `put`
 * is atomic (the object appears whole or not at all).
 *
 * Every method returns `undefined`/`false` for a missing object instead of
 * throwing; other failures throw `StorageError`. What a backend supports
 * beyond reading (writes, listing, local paths) is in `capabilities`.
 */
export interface StorageBackend {
  /** What this backend can do; branch on this, never on the class. */
  readonly capabilities: StorageCapabilities;
  /** Absolute local path, `s3://bucket/prefix` or `https://host/path`. */
  readonly root: string;
  /** Where a key lives, as users see it: an absolute path, `s3://bucket/key` or a URL. */
  uri(key: string): string;
  /** The absolute local path of a key, or `undefined` unless `capabilities.localPaths`. */
  localPath(key: string): string | undefined;
  /** The whole object as a stream. */
  get(key: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /**
   * What a range request costs here (latency, bandwidth, useful
   * parallelism), for planning reads of `key`: declared by local backends,
   * measured once per instance by remote ones (unless given in their
   * options). Backends without it are planned for as `capabilities.rangeReads` says.
   */
  costModel?(key: string): Promise<CostModel>;
  /** `length` bytes from `offset` (fewer at the end of the object). */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined>;
  /**
   * `getRange` with the bytes handed to `sink` as they arrive (`at`: their
   * position in the range; a retried request hands them again from 0)
   * instead of collected: a long range read through for a few pieces of it
   * needs no buffer of its length. Returns the count handed (fewer at the
   * end of the object), `undefined` for a missing object. Optional (remote
   * backends); readers fall back to `getRange`.
   */
  getRangeInto?(
    key: string,
    offset: number,
    length: number,
    sink: (bytes: Uint8Array, at: number) => void,
  ): Promise<number | undefined>;
  /**
   * The whole object as bytes in one request (a `get` without a `head`
   * first): for many small objects, such as the chunks of a zarr store.
   * Optional; `readObject()` falls back to `get`.
   */
  getBytes?(key: string): Promise<Uint8Array | undefined>;
  /** Write an object atomically, hashing it on the way (only if `capabilities.writable`). */
  put(key: string, data: PutData, options?: PutOptions): Promise<PutResult>;
  /** Size, etag and mtime of an object. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Delete an object; `false` if there was none (only if `capabilities.writable`). */
  delete(key: string): Promise<boolean>;
  /**
   * Every object whose key starts with `prefix` (all when omitted), in no
   * set order (only if `capabilities.listing`).
   */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /**
   * The names of the folders directly under the folder `prefix` ("" for
   * the root, else ending in `/`) that hold an object, sorted: one request
   * per 1,000 of them on object storage (S3's delimiter listing), however
   * many objects lie below. Optional (backends with `capabilities.listing`);
   * callers fall back to `list`.
   */
  listFolders?(prefix: string): Promise<string[]>;
}

/**
 * The whole object `key` of `backend` as bytes (`getBytes` where the
 * backend has it, else its `get` stream collected), or undefined.
 */
export async function readObject(
  backend: StorageBackend,
  key: string,
): Promise<Uint8Array | undefined> {
  if (backend.getBytes) return await backend.getBytes(key);
  const s = await backend.get(key);
  if (!s) return undefined;
  return new Uint8Array(await new Response(s).arrayBuffer());
}
