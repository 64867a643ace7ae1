import { dirname, join, relative, resolve, sep } from "node:path";
import { IntegrityError, InvalidKeyError, StorageError, ValidationError } from "../errors.ts";
import { base62 } from "../_ids.ts";
import { crashPoint } from "../_faults.ts";
import { interruptCheck, isInterrupted, SLICE } from "../_interrupt.ts";
import * as rt from "../_runtime.ts";
import { type CostModel, LOCAL_COST } from "./cost_model.ts";
import { Md5 } from "./hash.ts";
import { MANAGED_PREFIX, validateKey } from "./key.ts";
import { kindOf } from "../_display.ts";
import { checkChunk, checkPrefix, checkPut, checkRange } from "./_args.ts";
import type {
  ObjectInfo,
  PutData,
  PutOptions,
  PutResult,
  StorageBackend,
  StorageCapabilities,
} from "./storage.ts";

/** Where `put` stages bytes before they are verified and moved into place. */
export const TMP_PREFIX = `${MANAGED_PREFIX}.tmp/`;

/** The registry's own files (`lamin.db`, its journal and lock files, in any case): never an object. */
const REGISTRY_FILES = /^\.lamindb\/lamin\.db/i;

/** Files up to this size are read synchronously by `getBytes`. */
const SYNC_FILE = 256 * 1024;

/**
 * A {@linkcode StorageBackend} on local disk. `put` writes to
 * `{root}/.lamindb/.tmp/`, fsyncs, verifies size and md5, then moves the
 * object into place (a hard link when it must not overwrite), so a crash
 * leaves either nothing or a leftover in `.tmp/` that `fsck` removes.
 *
 * Symbolic links below the root: `put` and `delete` refuse a key whose path
 * goes through one (a linked folder, or the key itself a link) with an
 * `InvalidKeyError`, so nothing is written or removed outside the root or in
 * `.lamindb/` under another name. Reads (`get`, `getRange`, `head`, `list`,
 * `localPath`) follow a link only when its real path is inside the root.
 * (The root itself may be a link. The checks are made just before each
 * operation; they do not stop a process racing to swap a folder for a link.)
 *
 * @example Put and read back
 * ```ts
 * import { LocalStorage } from "@lamindeno/lamindb";
 * const store = new LocalStorage(await Deno.makeTempDir());
 * const r = await store.put("a/b.txt", new TextEncoder().encode("a"));
 * console.assert(r.hash === "DMF1ucDxtqgxw5niaXcmYQ" && r.size === 1);
 * console.assert((await store.head("a/b.txt"))?.size === 1);
 * ```
 */

export class LocalStorage implements StorageBackend {
  /** Writable, listable, local paths, cheap ranges, no etags, exclusive create by hard link. */
  readonly capabilities: StorageCapabilities = Object.freeze({
    writable: true,
    listing: true,
    localPaths: true,
    rangeReads: "local",
    etags: false,
    exclusiveCreate: "atomic",
  });
  /** Absolute path of the root folder. */
  readonly root: string;
  /** The root with symbolic links resolved, once it exists. */
  #realRoot: string | undefined;

  /**
   * A backend rooted at `root` (made absolute; created on first write). A
   * `ValidationError` unless `root` is a non-empty path string without NUL.
   */
  constructor(root: string) {
    if (typeof root !== "string" || root === "" || root.includes("\0")) {
      throw new ValidationError(
        `new LocalStorage(root): root is a folder path such as "./data", got ${
          typeof root === "string"
            ? (root === "" ? "an empty string" : "a path with NUL")
            : kindOf(root)
        }`,
      );
    }
    this.root = resolve(root);
  }

  /** The absolute path of `key`. */
  uri(key: string): string {
    return this.#path(key);
  }

  /**
   * The absolute path of `key`; an `InvalidKeyError` if it goes through a
   * symbolic link to outside the root.
   */
  localPath(key: string): string {
    const path = this.#path(key);
    let real: string;
    try {
      real = rt.realPathSync(path);
    } catch {
      return path; // missing (or unreadable): whoever opens it gets the error
    }
    if (real !== path) {
      this.#realRoot ??= rt.realPathSync(this.root);
      this.#assertInside(key, real, this.#realRoot);
    }
    return path;
  }

  #path(key: string): string {
    return join(this.root, ...validateKey(key).split("/"));
  }

  /**
   * The path to read `key` at: symbolic links on the way are followed only
   * when the real path is inside the root (else `InvalidKeyError`).
   */
  #readable(key: string): string {
    const path = this.#path(key);
    let real: string;
    try {
      // Synchronous: a few microseconds of system calls against ~100 us for
      // the async op's trip through the thread pool, once per chunk of a zarr read.
      real = rt.realPathSync(path);
    } catch (e) {
      if (rt.isNotFound(e) || rt.isNotADirectory(e)) return path;
      throw new StorageError(`could not resolve ${key} under ${this.root}: ${msg(e)}`, {
        cause: e,
      });
    }
    if (real === path) return path;
    this.#realRoot ??= rt.realPathSync(this.root);
    this.#assertInside(key, real, this.#realRoot);
    return real;
  }

  #assertInside(key: string, real: string, realRoot: string): void {
    if (real === realRoot || real.startsWith(realRoot + sep)) return;
    throw new InvalidKeyError(
      `invalid key ${JSON.stringify(key)}: it leads through a symbolic link to ${real}, ` +
        `outside the storage root ${this.root}; use a path inside the root`,
    );
  }

  /**
   * The path to write or delete `key` at, after checking with `lstat` that
   * no folder on the way below the root, nor the key itself, is a symbolic
   * link (else `InvalidKeyError`), and that it is not a registry file.
   */
  async #writable(key: string): Promise<string> {
    const segments = validateKey(key).split("/");
    if (REGISTRY_FILES.test(key)) {
      throw new InvalidKeyError(
        `invalid key ${JSON.stringify(key)}: it is the registry's own file; choose another key`,
      );
    }
    let path = this.root;
    for (const segment of segments) {
      path = join(path, segment);
      let st: rt.FileInfo;
      try {
        st = await rt.lstat(path);
      } catch (e) {
        if (rt.isNotFound(e) || rt.isNotADirectory(e)) break;
        throw new StorageError(`could not check ${key} under ${this.root}: ${msg(e)}`, {
          cause: e,
        });
      }
      if (st.isSymlink) {
        throw new InvalidKeyError(
          `invalid key ${JSON.stringify(key)}: ${path} is a symbolic link; lamindeno never ` +
            `writes or deletes through a link inside the storage root (it could lead outside ` +
            `the root or into .lamindb/); use the real path instead`,
        );
      }
    }
    return join(this.root, ...segments);
  }

  /** The whole object as a stream. */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const path = this.#readable(key);
    try {
      return await rt.readStream(path);
    } catch (e) {
      return missing(e, `read ${key}`);
    }
  }

  /** `length` bytes from `offset`. */
  /** A positional read of a local file: `LOCAL_COST`. */
  costModel(_key: string): Promise<CostModel> {
    return Promise.resolve(LOCAL_COST);
  }

  /**
   * The whole file: one read, no `head` first. A small one (zarr metadata,
   * small chunks) synchronously: a stat and a read cost ~10-20 µs where the
   * async read's trip through the thread pool costs ~100-300 µs, and a query
   * of a zarr store reads dozens.
   */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const path = this.#readable(key);
    try {
      const st = rt.statSync(path);
      if (st.isFile && st.size <= SYNC_FILE) return rt.readFileSync(path);
      return await rt.readFile(path);
    } catch (e) {
      return missing(e, `read ${key}`);
    }
  }

  /**
   * `length` bytes from `offset` (fewer at the end of the file). A
   * `ValidationError` unless both are whole numbers >= 0.
   */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    checkRange("getRange", offset, length);
    const path = this.#readable(key);
    let f: rt.FileHandle;
    try {
      f = await rt.openFile(path, "r");
    } catch (e) {
      return missing(e, `read ${key}`);
    }
    try {
      // No more than the file holds past `offset`: a huge `length` allocates nothing
      // (asked only for large reads: small ones allocate at most what they ask).
      const size = length > 16 << 20 ? (await f.stat()).size : Infinity;
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      const filled = out.length === 0 ? 0 : await rt.readAt(f, out, offset);
      return filled === out.length ? out : out.slice(0, filled);
    } finally {
      await f.close();
    }
  }

  /**
   * Write atomically through a verified temporary file. A `ValidationError`
   * (nothing written) unless `data` is a `Uint8Array` or a `ReadableStream`
   * of them and `options` are `{ expect, overwrite, progress }`.
   */
  async put(key: string, data: PutData, options: PutOptions = {}): Promise<PutResult> {
    checkPut(data, options);
    // Checked before any byte is written, and again just before each step.
    const target = await this.#writable(key);
    const tmpKey = `${TMP_PREFIX}${base62(16)}`;
    const tmp = await this.#writable(tmpKey);
    const md5 = new Md5();
    // A kernel interrupt stops the copy at the next chunk (the temporary file is removed).
    const check = interruptCheck(`the write of ${key}`);
    try {
      await rt.mkdir(dirname(tmp), { recursive: true });
      await this.#writable(tmpKey);
      const f = await rt.openFile(tmp, "wx");
      try {
        // Bytes in slices: hashing 300 MB at once would hold the event loop (and an interrupt).
        const chunks = data instanceof Uint8Array ? slices(data) : data;
        for await (const part of chunks) {
          check();
          const chunk = checkChunk(part);
          md5.update(chunk);
          await rt.writeAll(f, chunk);
          options.progress?.add(chunk.byteLength);
        }
        await f.datasync();
      } finally {
        await f.close();
      }
    } catch (e) {
      await rt.remove(tmp).catch(() => {});
      if (e instanceof InvalidKeyError || e instanceof ValidationError || isInterrupted(e)) throw e;
      throw new StorageError(`could not write ${key} under ${this.root}: ${msg(e)}`, { cause: e });
    }
    const result = md5.digest();
    crashPoint("put:after-temp");
    try {
      const want = options.expect;
      if (want && (want.size !== result.size || want.hash !== result.hash)) {
        throw new IntegrityError(
          `the bytes written for ${key} (size ${result.size}, md5 ${result.hash}) differ from ` +
            `the source (size ${want.size}, md5 ${want.hash}); did the source change while saving?`,
        );
      }
      // Another writer's delete() removes the folders it leaves empty: one of the target's
      // may go between the mkdir and the move (ENOENT), or during the mkdir (EEXIST):
      // then it is made again.
      for (let attempt = 0;; attempt++) {
        try {
          await rt.mkdir(dirname(target), { recursive: true });
        } catch (e) {
          // (A folder of it made, or removed, by another writer at that moment.)
          if (!rt.isAlreadyExists(e) && !rt.isNotFound(e) || attempt >= 10) throw e;
          continue;
        }
        await this.#writable(key);
        try {
          if (options.overwrite) await rt.rename(tmp, target);
          else await rt.link(tmp, target);
          break;
        } catch (e) {
          if (!options.overwrite && rt.isAlreadyExists(e)) {
            throw new StorageError(
              `an object already exists at ${key}; choose another key or replace the file`,
            );
          }
          if (!rt.isNotFound(e) || attempt >= 10 || !(await exists(tmp))) throw e;
        }
      }
    } catch (e) {
      if (e instanceof IntegrityError || e instanceof StorageError) throw e;
      if (e instanceof InvalidKeyError) throw e;
      throw new StorageError(`could not move ${key} into place: ${msg(e)}`, { cause: e });
    } finally {
      await rt.remove(tmp).catch(() => {});
    }
    return result;
  }

  /** Size and mtime of an object (`undefined` for a missing one or a folder). */
  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#readable(key);
    try {
      const st = await rt.stat(path);
      if (!st.isFile) return undefined;
      return { key, size: st.size, mtime: st.mtime ?? undefined };
    } catch (e) {
      return missing(e, `stat ${key}`);
    }
  }

  /** Delete an object and the folders it leaves empty (never through a symbolic link). */
  async delete(key: string): Promise<boolean> {
    const path = await this.#writable(key);
    try {
      await rt.remove(path);
    } catch (e) {
      return missing(e, `delete ${key}`) ?? false;
    }
    // Remove parents left empty, never the root itself.
    for (let dir = dirname(path); dir.startsWith(this.root + sep); dir = dirname(dir)) {
      try {
        await rt.remove(dir);
      } catch {
        break;
      }
    }
    return true;
  }

  /** Every file under `prefix` (recursively). */
  async *list(prefix = ""): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const start = slash < 0 ? this.root : this.#path(prefix.slice(0, slash));
    if (slash >= 0) this.#readable(prefix.slice(0, slash));
    // Links met below `start` are not followed (they are neither files nor folders).
    yield* this.#walk(start, prefix);
  }

  async *#walk(dir: string, prefix: string): AsyncIterable<ObjectInfo> {
    let entries: rt.DirEntry[];
    try {
      entries = await rt.readDir(dir);
    } catch (e) {
      if (rt.isNotFound(e) || rt.isNotADirectory(e)) return;
      throw new StorageError(`could not list ${dir}: ${msg(e)}`, { cause: e });
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const key = relative(this.root, path).split(sep).join("/");
      if (entry.isDirectory) {
        if (key.startsWith(prefix) || prefix.startsWith(key + "/")) yield* this.#walk(path, prefix);
      } else if (entry.isFile && key.startsWith(prefix)) {
        const st = await rt.stat(path).catch(() => undefined);
        if (st) yield { key, size: st.size, mtime: st.mtime ?? undefined };
      }
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return await rt.stat(path).then(() => true, () => false);
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function missing(e: unknown, what: string): undefined {
  // ENOTDIR: a folder of the key is a file, so no object is there either.
  if (rt.isNotFound(e) || rt.isADirectory(e) || rt.isNotADirectory(e)) return undefined;
  throw new StorageError(`could not ${what}: ${msg(e)}`, { cause: e });
}

/** `data` in slices of at most {@linkcode SLICE} bytes (views, no copies). */
function* slices(data: Uint8Array): Generator<Uint8Array> {
  if (data.byteLength <= SLICE) return yield data;
  for (let i = 0; i < data.byteLength; i += SLICE) yield data.subarray(i, i + SLICE);
}
