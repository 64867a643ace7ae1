// Local copies of remote objects (S3) under the cache folder, so formats
// that need a file path (polars, h5wasm, image codecs) can read them. A
// cached copy is reused while its size and the object's entity tag match;
// downloads go to a temporary name first.
import { dirname, join } from "node:path";
import { StorageError } from "../errors.ts";
import type { StorageBackend } from "./storage.ts";
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
 * (not inside it: a cached zarr folder must hold only the store's files).
 */
function tagPath(path: string, cacheDir: string): string {
  return join(cacheDir, ".etags", path.slice(cacheDir.length));
}

/**
 * Cache one object. `count` gives the tracker of its bytes (a folder's
 * shared one, or one of its own made from the size); a fresh cached copy
 * counts as done without a transfer.
 */
async function fetchObject(
  backend: StorageBackend,
  key: string,
  path: string,
  cacheDir: string,
  count: (size: number, fresh?: boolean) => ProgressTracker | undefined,
): Promise<void> {
  const info = await backend.head(key);
  if (!info) throw new StorageError(`${backend.uri(key)} disappeared while being read`);
  const st = await Deno.stat(path).catch(() => undefined);
  const tag = tagPath(path, cacheDir);
  if (st?.isFile && st.size === info.size) {
    // Same entity tag: same content (S3 changes it on every write). Without
    // tags, a copy not older than the object.
    const fresh = info.etag
      ? await Deno.readTextFile(tag).then((t) => t === info.etag, () => false)
      : !info.mtime || (st.mtime ?? 0) > info.mtime;
    if (fresh) return void count(info.size, true)?.add(info.size);
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.part`;
  try {
    const body = await backend.get(key);
    if (!body) throw new StorageError(`${backend.uri(key)} disappeared while being read`);
    const f = await Deno.open(tmp, { write: true, createNew: true });
    await countStream(body, count(info.size)).pipeTo(f.writable);
    const got = (await Deno.stat(tmp)).size;
    if (got !== info.size) {
      throw new StorageError(`downloaded ${got} of ${info.size} bytes of ${backend.uri(key)}`);
    }
    await Deno.remove(tag).catch(() => {});
    await Deno.rename(tmp, path);
    if (info.etag) {
      await Deno.mkdir(dirname(tag), { recursive: true });
      await Deno.writeTextFile(tag, info.etag);
    }
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof StorageError) throw e;
    throw new StorageError(`could not cache ${backend.uri(key)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
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
  const objects = await Array.fromAsync(backend.list(`${key}/`));
  const total = objects.reduce((a, o) => a + o.size, 0);
  const t = startProgress(phase, total, { ...progress, label: progress.label ?? key });
  const wanted = new Set<string>();
  for (const o of objects) {
    const at = join(path, ...o.key.slice(key.length + 1).split("/"));
    wanted.add(at);
    await fetchObject(backend, o.key, at, cacheDir, () => t);
  }
  t?.end(total);
  // Files an earlier copy had that the folder no longer has.
  const prune = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await prune(p);
      else if (!wanted.has(p)) await Deno.remove(p).catch(() => {});
    }
  };
  await prune(path).catch(() => {});
  return path;
}
