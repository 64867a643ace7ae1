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
 * An object store under one root: local disk, S3, or middleware around
 * either. Keys are relative POSIX paths (see `validateKey`). Designed for
 * object stores: there is no rename, reads can be by byte range, and `put`
 * is atomic (the object appears whole or not at all).
 *
 * Every method returns `undefined`/`false` for a missing object instead of
 * throwing; other failures throw `StorageError`.
 */
export interface StorageBackend {
  /** `"local"` or `"s3"`. */
  readonly kind: "local" | "s3";
  /** Absolute local path, or `s3://bucket/prefix`. */
  readonly root: string;
  /** Where a key lives, as users see it: an absolute path or `s3://bucket/key`. */
  uri(key: string): string;
  /** The absolute local path of a key, or `undefined` for remote backends. */
  localPath(key: string): string | undefined;
  /** The whole object as a stream. */
  get(key: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** `length` bytes from `offset` (fewer at the end of the object). */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined>;
  /** Write an object atomically, hashing it on the way. */
  put(key: string, data: PutData, options?: PutOptions): Promise<PutResult>;
  /** Size, etag and mtime of an object. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Delete an object; `false` if there was none. */
  delete(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix` (all when omitted), in no set order. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
}
