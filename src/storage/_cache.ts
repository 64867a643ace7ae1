// Local copies of remote objects (S3) under the cache folder, so formats
// that need a file path (polars, h5wasm, image codecs) can read them. A
// cached copy is reused while its size and the object's entity tag match;
// downloads go to a temporary name in `{cacheDir}/.tmp/` first.
import { dirname, join, sep } from "node:path";
import { StorageError } from "../errors.ts";
import * as rt from "../_runtime.ts";
import type { ObjectInfo, StorageBackend } from "./storage.ts";
import { validateKey } from "./key.ts";
import { FOLDER_PARALLEL, pool } from "./_pool.ts";
import {
  countStream,
  type ProgressOptions,
  type ProgressTracker,
  startProgress,
} from "./_progress.ts";

/** How `localCopy` reports: `onProgress` and the phase (`"download"` by default). */
export interface CopyProgress extends ProgressOptions {
  phase?: "download" | "stage";
}

/** Where a remote object is cached: `{cacheDir}/{bucket}/{key}`. */
function cachePath(backend: StorageBackend, key: string, cacheDir: string): string {
  const uri = backend.uri(key).replace(/^[a-z0-9]+:\/\//i, "");
  return join(cacheDir, ...uri.split("/"));
}

/**
 * The entity tag a cached copy was made from, kept beside the cache tree
 * (not inside it: a cached zarr folder must hold only the store's files),
 * with the copy's mtime when it was made (see {@linkcode tagOf}).
 */
function tagPath(path: string, cacheDir: string): string {
  return join(cacheDir, ".etags", path.slice(cacheDir.length));
}

/**
 * What the tag file of a cached copy holds: the object's entity tag and the
 * copy's mtime, so that a copy changed on disk since (an edited staged
 * file, even of the same size) is not taken for the object.
 */
function tagOf(etag: string, st: rt.FileInfo): string {
  return `${etag}\n${st.mtime?.getTime() ?? ""}`;
}

/**
 * Cache one object. `count` gives the tracker of its bytes (a folder's
 * shared one, or one of its own made from the size); a fresh cached copy
 * counts as done without a transfer. `listed`: what a listing of its
 * folder said of it (size and etag), so no `head` is asked.
 */
async function fetchObject(
  backend: StorageBackend,
  key: string,
  path: string,
  cacheDir: string,
  count: (size: number, fresh?: boolean) => ProgressTracker | undefined,
  listed?: ObjectInfo,
): Promise<void> {
  const info = listed?.etag || listed?.mtime ? listed : await backend.head(key);
  if (!info) throw new StorageError(`${backend.uri(key)} disappeared while being read`);
  const st = await rt.stat(path).catch(() => undefined);
  const tag = tagPath(path, cacheDir);
  if (st?.isFile && st.size === info.size) {
    // Same entity tag: same content (S3 changes it on every write). Without
    // tags, a copy not older than the object.
    const fresh = info.etag
      ? await rt.readTextFile(tag).then((t) => t === tagOf(info.etag!, st), () => false)
      : !info.mtime || (st.mtime ?? 0) > info.mtime;
    if (fresh) return void count(info.size, true)?.add(info.size);
  }
  // A copy of something else at this path (a folder where a file now is,
  // cached before the object changed kind): ours, replaced.
  if (st && !st.isFile) await rt.remove(path, { recursive: true });
  // A file cached where a folder of this path now is ("d", cached before "d/x.csv" was
  // saved, once "d" was gone): ours, replaced.
  await removeFilesAbove(path, cacheDir);
  await rt.mkdir(dirname(path), { recursive: true });
  // Beside the cache tree, not in it: another process caching the same folder
  // at once prunes what its listing does not name (and would list it).
  const tmp = join(cacheDir, ".tmp", `${crypto.randomUUID()}.part`);
  await rt.mkdir(dirname(tmp), { recursive: true });
  try {
    const tracker = count(info.size);
    // A large object in parts at once where one stream would be limited by
    // one connection's bandwidth; one stream again if it changed meanwhile.
    const inParts = await rangedParts(backend, key, info.size);
    const whole = inParts && await fetchRanges(backend, key, tmp, info, inParts, tracker);
    if (!whole) {
      const body = await backend.get(key);
      if (!body) throw new StorageError(`${backend.uri(key)} disappeared while being read`);
      const got = await rt.writeStream(tmp, countStream(body, tracker));
      if (got !== info.size) {
        throw new StorageError(`downloaded ${got} of ${info.size} bytes of ${backend.uri(key)}`);
      }
    }
    await rt.remove(tag, { recursive: true }).catch(() => {});
    await rt.rename(tmp, path);
    if (info.etag) {
      await removeFilesAbove(tag, cacheDir);
      await rt.mkdir(dirname(tag), { recursive: true });
      await rt.writeTextFile(tag, tagOf(info.etag, await rt.stat(path)));
    }
  } catch (e) {
    await rt.remove(tmp).catch(() => {});
    if (e instanceof StorageError) throw e;
    throw new StorageError(`could not cache ${backend.uri(key)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Remove the cached copy (and its tag) at the nearest existing folder of
 * `path` inside `cacheDir` when that is a file: a copy of an object whose
 * key is now a folder of others' keys.
 */
async function removeFilesAbove(path: string, cacheDir: string): Promise<void> {
  const top = dirname(join(cacheDir, "x"));
  for (let dir = dirname(path); dir.startsWith(top + sep); dir = dirname(dir)) {
    const st = await rt.stat(dir).catch(() => undefined);
    if (st === undefined) continue;
    if (st.isFile) {
      await rt.remove(dir);
      await rt.remove(tagPath(dir, cacheDir)).catch(() => {});
    }
    return;
  }
}

/** The smallest part of an object downloaded in parts. */
const PART = 16 << 20;
/** Parts downloaded at once, at most. */
const PARTS_AT_ONCE = 8;

/**
 * How to download an object of `size` bytes in parts (part size, parts at
 * once), or undefined for one stream: a remote backend whose requests run
 * usefully in parallel (its cost model), an object of two parts or more.
 */
async function rangedParts(
  backend: StorageBackend,
  key: string,
  size: number,
): Promise<{ part: number; atOnce: number } | undefined> {
  if (size < 2 * PART || !backend.costModel || backend.capabilities.rangeReads !== "request") {
    return undefined;
  }
  const cost = await backend.costModel(key).catch(() => undefined);
  const atOnce = Math.min(PARTS_AT_ONCE, Math.floor(cost?.parallelism ?? 1));
  if (atOnce < 2) return undefined;
  // Parts many enough to keep every lane busy to the end, none below PART.
  return { part: Math.max(PART, Math.ceil(size / (4 * atOnce))), atOnce };
}

/**
 * Download `info.size` bytes of `key` into the new file `tmp` in parts at
 * once (each written at its place); false (and `tmp` removed) when the
 * object changed meanwhile (its etag or size), so a single stream is used.
 */
async function fetchRanges(
  backend: StorageBackend,
  key: string,
  tmp: string,
  info: ObjectInfo,
  { part, atOnce }: { part: number; atOnce: number },
  tracker: ProgressTracker | undefined,
): Promise<boolean> {
  const starts = Array.from({ length: Math.ceil(info.size / part) }, (_, i) => i * part);
  const f = await rt.openFile(tmp, "wx");
  try {
    await pool(starts, atOnce, async (start) => {
      const want = Math.min(part, info.size - start);
      const bytes = await backend.getRange(key, start, want);
      if (!bytes) throw new StorageError(`${backend.uri(key)} disappeared while being read`);
      if (bytes.length !== want) {
        throw new StorageError(
          `downloaded ${bytes.length} of ${want} bytes at ${start} of ${backend.uri(key)}`,
        );
      }
      await rt.writeAll(f, bytes, start);
      tracker?.add(want);
    });
  } finally {
    await f.close();
  }
  const now = await backend.head(key);
  if (now?.size === info.size && now.etag === info.etag) return true;
  await rt.remove(tmp);
  return false;
}

/**
 * A local path holding the object at `key` (a folder's objects when
 * `isDir`): the object itself on local storage, else a cached copy.
 */
export async function localCopy(
  backend: StorageBackend,
  key: string,
  isDir: boolean,
  cacheDir: string,
  progress: CopyProgress = {},
): Promise<string> {
  const local = backend.localPath(key);
  if (local) return local;
  const path = cachePath(backend, key, cacheDir);
  const phase = progress.phase ?? "download";
  if (!isDir) {
    let t: ProgressTracker | undefined;
    await fetchObject(backend, key, path, cacheDir, (size, fresh) => {
      // A fresh cached copy: the callback hears it is all there, no bar is drawn.
      t = startProgress(phase, size, {
        label: progress.label ?? key,
        onProgress: progress.onProgress,
        quiet: fresh,
      });
      return t;
    });
    t?.end();
    return path;
  }
  const objects = await rt.collect(backend.list(`${key}/`));
  // Keys as listed (S3 keeps "..", "//"): each checked before a path is made of it.
  for (const o of objects) {
    if (!o.key.startsWith(`${key}/`)) {
      throw new StorageError(`listing ${backend.uri(key)}/ gave ${o.key}, not under it`);
    }
    validateKey(o.key);
  }
  // A file cached where the folder now is (the object changed kind): ours, replaced.
  for (const p of [path, tagPath(path, cacheDir)]) {
    if ((await rt.stat(p).catch(() => undefined))?.isFile) await rt.remove(p);
  }
  const total = objects.reduce((a, o) => a + o.size, 0);
  const t = startProgress(phase, total, { ...progress, label: progress.label ?? key });
  const wanted = new Set<string>();
  const at = (o: ObjectInfo) => join(path, ...o.key.slice(key.length + 1).split("/"));
  for (const o of objects) wanted.add(at(o));
  // Many at once: one after the other, a zarr store of ~600 chunks took
  // ~30 s behind 20 ms of latency (a head and a get each).
  await pool(
    objects,
    FOLDER_PARALLEL,
    (o) => fetchObject(backend, o.key, at(o), cacheDir, () => t, o),
  );
  t?.end(total);
  // Files an earlier copy had that the folder no longer has.
  const prune = async (dir: string) => {
    for (const e of await rt.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await prune(p);
      else if (!wanted.has(p)) await rt.remove(p).catch(() => {});
    }
  };
  await prune(path).catch(() => {});
  return path;
}
