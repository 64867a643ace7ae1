// Saving objects that are already stored elsewhere (S3, https): registered in place,
// hashed by streaming them once.
import * as rt from "../_runtime.ts";
import { InvalidKeyError, NotFoundError, StorageError, ValidationError } from "../errors.ts";
import { hashDirectory, hashStream } from "../storage/hash.ts";
import { MANAGED_PREFIX, suffixOf, validateKey } from "../storage/key.ts";
import type { StorageBackend } from "../storage/storage.ts";
import { countStream, type OnProgress, startProgress } from "../storage/_progress.ts";
import { retryBusy } from "./_db_errors.ts";
import type { Instance } from "./instance.ts";
import { type DirEntry, type Measured } from "./_input.ts";
import type { File } from "./file.ts";
import { ensureStorage } from "./storage_record.ts";
import { HttpStorage } from "../storage/http.ts";
import { redactUrl } from "../storage/_http.ts";
import { storageTypeOf } from "../storage/storage.ts";

import type { Plan } from "./_save.ts";
import { FOLDER_PARALLEL, pool } from "../storage/_pool.ts";

/**
 * A public object on the web: registered in place in a read-only storage
 * per origin (`https://host`), hashed by streaming it once.
 */
async function planHttp(
  file: File,
  uri: string,
  inst: Instance,
  onProgress?: OnProgress,
): Promise<Plan> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ValidationError(`${redactUrl(uri)} is not a URL`);
  }
  if (url.username || url.password) {
    throw new ValidationError(
      `${redactUrl(uri)}: only public http(s) objects are registered; a URL with credentials ` +
        `would store them in the registry`,
    );
  }
  const probe = new HttpStorage(url.origin);
  const key = probe.keyOf(url.href);
  if (key === undefined) {
    throw new ValidationError(
      `${redactUrl(uri)} cannot be registered: it has a query string or no path; ` +
        `register a plain https://host/path URL`,
    );
  }
  if (file.key !== null && file.key !== key) {
    throw new ValidationError(
      `${redactUrl(uri)} is registered at its own key "${key}"; omit key (got "${file.key}")`,
    );
  }
  const storage = await retryBusy(() =>
    ensureStorage(inst.db, probe.root, storageTypeOf(probe.root), inst.user.id)
  );
  const backend = inst.mount(storage, probe)!;
  const m = await measureRemote(backend, key, redactUrl(uri), onProgress);
  file.suffix = suffixOf(key) || file.suffix;
  return {
    file,
    storage,
    src: { kind: "remote", uri },
    cleanup: () => Promise.resolve(),
    m,
    inPlace: true,
    key,
    objectKey: key,
    pendingId: undefined,
    placed: [],
  };
}

/** An object already in the instance's S3 storage: registered in place, hashed by streaming it. */
export async function planRemote(
  file: File,
  uri: string,
  inst: Instance,
  onProgress?: OnProgress,
): Promise<Plan> {
  if (/^https?:\/\//i.test(uri)) return await planHttp(file, uri, inst, onProgress);
  const root = inst.backend.root;
  if (inst.backend.capabilities.localPaths || !uri.startsWith(`${root}/`)) {
    throw new StorageError(
      `cannot register ${uri}: S3 objects are registered in place, inside the instance's ` +
        `storage ${root}; for another location, download it and save the local copy`,
    );
  }
  const rel = validateKey(uri.slice(root.length + 1));
  if (rel === ".lamindb" || rel.startsWith(MANAGED_PREFIX)) {
    throw new InvalidKeyError(
      `cannot register ${uri}: it is inside the managed ".lamindb/" prefix`,
    );
  }
  if (file.key !== null && file.key !== rel) {
    throw new ValidationError(
      `${uri} is registered at its own key "${rel}"; omit key (got "${file.key}")`,
    );
  }
  const m = await measureRemote(inst.backend, rel, uri, onProgress);
  file.suffix = suffixOf(rel) || file.suffix;
  const src = { kind: "remote" as const, uri };
  return {
    file,
    src,
    cleanup: () => Promise.resolve(),
    m,
    inPlace: true,
    key: rel,
    objectKey: rel,
    pendingId: undefined,
    placed: [],
  };
}

/** Size and md5 of an object, or (a prefix: a folder such as a .zarr store) of the objects beneath. */
/** Hash an object in place (streamed once; progress as phase "hash"), or each under `{key}/`. */
async function measureRemote(
  backend: StorageBackend,
  key: string,
  uri: string,
  onProgress?: OnProgress,
): Promise<Measured> {
  const body = await backend.get(key);
  if (body) {
    const t = startProgress("hash", (await backend.head(key))?.size ?? 0, {
      onProgress,
      label: uri,
    });
    const h = await hashStream(countStream(body, t));
    t?.end(h.size);
    return { ...h, hashType: "md5" };
  }
  if (!backend.capabilities.listing) throw new NotFoundError(`no object at ${uri}`);
  const objects = await rt.collect(backend.list(`${key}/`));
  if (objects.length === 0) throw new NotFoundError(`no object or folder at ${uri}`);
  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // Hashed several at once (a round trip each), kept in key order.
  const entries: DirEntry[] = await pool(objects, FOLDER_PARALLEL, async (o) => {
    const stream = await backend.get(o.key);
    if (!stream) throw new NotFoundError(`${backend.uri(o.key)} disappeared while being read`);
    const h = await hashStream(stream);
    return { rel: o.key.slice(key.length + 1), path: backend.uri(o.key), ...h };
  });
  return {
    size: entries.reduce((a, e) => a + e.size, 0),
    hash: hashDirectory(entries.map((e) => ({ path: e.rel, hash: e.hash }))),
    hashType: "md5-d",
    entries,
  };
}
