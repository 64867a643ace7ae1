// The File lifecycle's writes: save (batch), replace, delete. Objects are
// written through the intent journal `pending_object` so that a crash at
// any moment leaves something `fsck` can finish or undo.
import { basename, relative, resolve, sep } from "node:path";
import {
  IntegrityError,
  InvalidKeyError,
  NotFoundError,
  StorageError,
  ValidationError,
} from "../errors.ts";
import { hashDirectory, hashStream } from "../storage/hash.ts";
import { log } from "../_log.ts";
import { backendFor, instance, type InstanceState } from "../_state.ts";
import { context } from "../track/context.ts";
import { MANAGED_PREFIX, suffixOf, validateKey } from "../storage/key.ts";
import type { PutData, StorageBackend } from "../storage/storage.ts";
import { isUniqueViolation, retryBusy } from "./_db_errors.ts";
import { base62 } from "../_ids.ts";
import { type AnyDb, anyDb, nowIso } from "./_record.ts";
import {
  type DirEntry,
  materialize,
  measure,
  type Measured,
  type RawSource,
  type Source,
  sourceSuffix,
} from "./_source.ts";
import type { File } from "./file.ts";

interface Plan {
  file: File;
  src: RawSource;
  cleanup: () => Promise<void>;
  m: Measured;
  inPlace: boolean;
  key: string | null;
  objectKey: string;
  pendingId: string | undefined;
  placed: string[];
}

/** Save new files in one registry transaction (`File.save()` is a batch of one). */
export async function saveFiles(files: File[], opts: { folderId?: string } = {}): Promise<void> {
  const inst = instance();
  const plans: Plan[] = [];
  try {
    for (const f of files) {
      if (f._saved) continue;
      plans.push(await plan(f, inst));
    }
    await savePlans(plans, inst, opts.folderId);
  } finally {
    for (const p of plans) await p.cleanup();
  }
}

async function savePlans(plans: Plan[], inst: InstanceState, folderId?: string): Promise<void> {
  // Dedup against the registry and within the batch.
  const existing = await filesByHash(plans.map((p) => p.m.hash));
  const first = new Map<string, Plan>();
  const inserts: Plan[] = [];
  const sameAs: [File, File][] = [];
  for (const p of plans) {
    const ex = existing.get(p.m.hash);
    if (ex) sameAs.push([p.file, ex]);
    else if (first.has(p.m.hash)) sameAs.push([p.file, first.get(p.m.hash)!.file]);
    else {
      first.set(p.m.hash, p);
      inserts.push(p);
    }
  }
  await refuseTakenKeys(inserts, inst);
  try {
    await placeObjects(inserts, inst);
    await commitAll(inserts, inst, folderId, sameAs);
  } catch (e) {
    await undo(inserts, inst);
    throw e;
  }
  for (const [file, ex] of sameAs) await adopt(file, ex, folderId);
}

async function plan(file: File, inst: InstanceState): Promise<Plan> {
  if (file._source?.kind === "remote") return await planRemote(file, file._source.uri, inst);
  const { src, cleanup } = await materialize(file._source!);
  let m: Measured;
  try {
    m = await measure(src);
  } catch (e) {
    await cleanup();
    throw e;
  }
  let inPlace = false;
  let key = file.key;
  if (src.kind === "path") {
    const rel = await relativeToRoot(src.path, inst.backend);
    if (rel !== undefined && (key === null || key === rel)) {
      if (rel === ".lamindb" || rel.startsWith(MANAGED_PREFIX)) {
        throw new InvalidKeyError(
          `cannot register ${src.path}: it is inside the managed ".lamindb/" folder`,
        );
      }
      inPlace = true;
      key = validateKey(rel);
    }
  }
  file.suffix = suffixOf(key ?? file.name ?? "") || file.suffix;
  const objectKey = key ?? `${MANAGED_PREFIX}${file.id}${file.suffix}`;
  return { file, src, cleanup, m, inPlace, key, objectKey, pendingId: undefined, placed: [] };
}

/** An object already in the instance's S3 storage: registered in place, hashed by streaming it. */
async function planRemote(file: File, uri: string, inst: InstanceState): Promise<Plan> {
  const root = inst.backend.root;
  if (inst.backend.capabilities.localPaths || !uri.startsWith(`${root}/`)) {
    throw new StorageError(
      `cannot register ${uri}: S3 objects are registered in place, inside the instance's ` +
        `storage ${root}; for another location, download it and save the local copy`,
    );
  }
  const rel = validateKey(uri.slice(root.length + 1));
  if (rel.startsWith(MANAGED_PREFIX)) {
    throw new InvalidKeyError(
      `cannot register ${uri}: it is inside the managed ".lamindb/" prefix`,
    );
  }
  if (file.key !== null && file.key !== rel) {
    throw new ValidationError(
      `${uri} is registered at its own key "${rel}"; omit key (got "${file.key}")`,
    );
  }
  const m = await measureRemote(inst.backend, rel, uri);
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
async function measureRemote(backend: StorageBackend, key: string, uri: string): Promise<Measured> {
  const body = await backend.get(key);
  if (body) return { ...(await hashStream(body)), hashType: "md5" };
  const objects = await Array.fromAsync(backend.list(`${key}/`));
  if (objects.length === 0) throw new NotFoundError(`no object or folder at ${uri}`);
  const entries: DirEntry[] = [];
  for (const o of objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const stream = await backend.get(o.key);
    if (!stream) throw new NotFoundError(`${backend.uri(o.key)} disappeared while being read`);
    const h = await hashStream(stream);
    entries.push({ rel: o.key.slice(key.length + 1), path: backend.uri(o.key), ...h });
  }
  return {
    size: entries.reduce((a, e) => a + e.size, 0),
    hash: hashDirectory(entries.map((e) => ({ path: e.rel, hash: e.hash }))),
    hashType: "md5-d",
    entries,
  };
}

/** The key of a local path inside the root of `backend`, or undefined. */
async function relativeToRoot(path: string, backend: StorageBackend): Promise<string | undefined> {
  if (!backend.capabilities.localPaths) return undefined;
  const root = resolve(backend.root);
  // Textually inside the root is enough (and saves a system call per file);
  // otherwise resolve symlinks, e.g. a path given through a linked folder.
  let real = resolve(path);
  if (!real.startsWith(root + sep)) real = await Deno.realPath(path).catch(() => real);
  if (!real.startsWith(root + sep)) return undefined;
  return relative(root, real).split(sep).join("/");
}

async function refuseTakenKeys(plans: Plan[], inst: InstanceState): Promise<void> {
  const keyed = plans.filter((p) => p.key !== null);
  const seen = new Set<string>();
  for (const p of keyed) {
    if (seen.has(p.key!)) {
      throw new IntegrityError(`two files in one save have the key ${p.key}; keys are unique`);
    }
    seen.add(p.key!);
  }
  for (let i = 0; i < keyed.length; i += 500) {
    const rows = await anyDb().selectFrom("file").select(["id", "key"])
      .where("storage_id", "=", inst.storage.id)
      .where("key", "in", keyed.slice(i, i + 500).map((p) => p.key)).execute();
    if (rows.length > 0) {
      const r = rows[0];
      throw new IntegrityError(
        `key ${r.key} is already registered as file ${r.id} with other content; ` +
          `to store new content there use (await ln.File.get("${r.id}")).replace(data), ` +
          `or choose another key`,
      );
    }
  }
}

function dataOf(src: RawSource): PutData | (() => Promise<PutData>) {
  if (src.kind === "bytes") return src.bytes;
  if (src.kind === "remote") throw new Error(`internal: ${src.uri} is registered in place`);
  const path = src.path;
  return async () => (await Deno.open(path, { read: true })).readable;
}

async function putOne(
  backend: StorageBackend,
  key: string,
  data: PutData | (() => Promise<PutData>),
  expect: { size: number; hash: string },
  overwrite: boolean,
): Promise<void> {
  const bytes = typeof data === "function" ? await data() : data;
  await backend.put(key, bytes, { expect, overwrite });
}

async function placeObjects(plans: Plan[], inst: InstanceState): Promise<void> {
  const managed = plans.filter((p) => !p.inPlace);
  if (managed.length === 0) return;
  const now = nowIso();
  for (const p of managed) p.pendingId = base62(20);
  await retryBusy(() =>
    anyDb().insertInto("pending_object").values(managed.map((p) => ({
      id: p.pendingId,
      op: "save",
      storage_id: inst.storage.id,
      key: p.objectKey,
      is_dir: p.m.entries ? 1 : 0,
      file_id: p.file.id,
      hash: p.m.hash,
      size: p.m.size,
      created_at: now,
    }))).execute()
  );
  for (const p of managed) {
    const src = p.src;
    if (p.m.entries) {
      for (const e of p.m.entries) {
        const k = `${p.objectKey}/${e.rel}`;
        await putOne(inst.backend, k, dataOf({ kind: "path", path: e.path }), e, false);
        p.placed.push(k);
      }
    } else {
      await putOne(inst.backend, p.objectKey, dataOf(src), p.m, false);
      p.placed.push(p.objectKey);
    }
  }
}

async function undo(plans: Plan[], inst: InstanceState): Promise<void> {
  for (const p of plans) {
    for (const k of p.placed) await inst.backend.delete(k).catch(() => {});
    p.placed = [];
    if (p.pendingId) {
      await anyDb().deleteFrom("pending_object").where("id", "=", p.pendingId).execute()
        .catch(() => {});
      p.pendingId = undefined;
    }
  }
}

function rowOf(p: Plan, inst: InstanceState, now: string) {
  const f = p.file;
  const run = f.run ?? context.run;
  return {
    id: f.id,
    name: f.name,
    suffix: f.suffix,
    size: p.m.size,
    hash: p.m.hash,
    hash_type: p.m.hashType,
    key: p.key,
    managed: p.inPlace ? 0 : 1,
    is_dir: p.m.entries ? 1 : 0,
    run_id: run?.id ?? null,
    transform_id: run?.transformId ?? null,
    transform_version: run?.transformVersion ?? null,
    storage_id: inst.storage.id,
    created_at: now,
    updated_at: now,
    created_by_id: inst.user.id,
  };
}

async function insertLinks(
  trx: AnyDb,
  file: File,
  options: { inputOf?: { id: string }[]; features?: { id: string }[] },
  folderId: string | undefined,
): Promise<void> {
  const links: [string, Record<string, string>[]][] = [
    ["run_input", (options.inputOf ?? []).map((r) => ({ run_id: r.id, file_id: file.id }))],
    [
      "file_features",
      (options.features ?? []).map((fs) => ({ file_id: file.id, features_id: fs.id })),
    ],
    ["folder_file", folderId ? [{ folder_id: folderId, file_id: file.id }] : []],
  ];
  for (const [table, rows] of links) {
    if (rows.length > 0) {
      await trx.insertInto(table).values(rows).onConflict((oc) => oc.doNothing()).execute();
    }
  }
}

async function commit(plans: Plan[], inst: InstanceState, folderId: string | undefined) {
  const now = nowIso();
  for (const p of plans) {
    for (const fs of p.file._options.features ?? []) {
      if (!fs._saved) await fs.save();
    }
  }
  await retryBusy(() =>
    anyDb().transaction().execute(async (trx) => {
      for (let i = 0; i < plans.length; i += 50) {
        await trx.insertInto("file").values(plans.slice(i, i + 50).map((p) => rowOf(p, inst, now)))
          .execute();
      }
      for (const p of plans) await insertLinks(trx, p.file, p.file._options, folderId);
      const pending = plans.map((p) => p.pendingId).filter((x) => x !== undefined);
      for (let i = 0; i < pending.length; i += 500) {
        await trx.deleteFrom("pending_object").where("id", "in", pending.slice(i, i + 500))
          .execute();
      }
    })
  );
  for (const p of plans) {
    const row = rowOf(p, inst, now);
    const f = p.file;
    f.size = row.size;
    f.hash = row.hash;
    f.hashType = row.hash_type;
    f.key = row.key;
    f.runId = row.run_id;
    f.transformId = row.transform_id;
    f.transformVersion = row.transform_version;
    f.run = f.run ?? context.run;
    f.transform = f.run?.transform;
    f.storageId = row.storage_id;
    f.storage = inst.storage;
    f.createdById = row.created_by_id;
    f.createdBy = inst.user;
    f.createdAt = f.updatedAt = new Date(now);
    f._managed = row.managed;
    f._isDir = row.is_dir;
    f._saved = true;
    f._source = undefined;
    p.placed = [];
    p.pendingId = undefined;
  }
}

/**
 * Commit all plans in one transaction; if a uniqueness rule fires (another
 * process saved the same content or key meanwhile), commit one by one and
 * resolve each conflict.
 */
async function commitAll(
  plans: Plan[],
  inst: InstanceState,
  folderId: string | undefined,
  sameAs: [File, File][],
): Promise<void> {
  if (plans.length === 0) return;
  try {
    await commit(plans, inst, folderId);
    return;
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
  }
  for (const p of plans) {
    try {
      await commit([p], inst, folderId);
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const ex = (await filesByHash([p.m.hash])).get(p.m.hash);
      if (!ex) {
        throw new IntegrityError(
          `key ${p.key} was registered by someone else while saving ${p.file.name ?? p.file.id}; ` +
            `nothing was saved; choose another key`,
          { cause: e },
        );
      }
      await undo([p], inst); // our copy is redundant: the other process's object stays
      sameAs.push([p.file, ex]);
    }
  }
}

async function adopt(file: File, existing: File, folderId: string | undefined): Promise<void> {
  const options = file._options;
  log.info(
    `returning existing file with same hash: ${existing.id} (${
      existing.key ?? existing._objectKey
    }); nothing new was stored`,
  );
  file._adopt(existing);
  await retryBusy(() =>
    anyDb().transaction().execute((trx) => insertLinks(trx, file, options, folderId))
  );
}

async function filesByHash(hashes: string[]): Promise<Map<string, File>> {
  const { File } = await import("./file.ts");
  const unique = [...new Set(hashes)];
  const out = new Map<string, File>();
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await anyDb().selectFrom("file").select("id")
      .where("hash", "in", unique.slice(i, i + 500)).execute();
    for (const f of await File.byIds(rows.map((r) => String(r.id)))) out.set(f.hash!, f);
  }
  return out;
}

/** Replace the content of a saved file; see `File.replace`. */
export async function replaceFile(file: File, data: Source, run: File["run"]): Promise<void> {
  const { src, cleanup } = await materialize(data);
  try {
    await replaceWith(file, data, src, run);
  } finally {
    await cleanup();
  }
}

async function replaceWith(
  file: File,
  data: Source,
  src: RawSource,
  run: File["run"],
): Promise<void> {
  const m = await measure(src);
  if (m.entries || file._isDir) {
    throw new ValidationError("replace() of folder-like files (e.g. .zarr) is not supported yet");
  }
  if (m.hash === file.hash) {
    log.info(`file ${file.id} already has this content; nothing to replace`);
    return;
  }
  const other = (await filesByHash([m.hash])).get(m.hash);
  if (other) {
    throw new IntegrityError(
      `this content is already registered as file ${other.id}; a hash is registered once`,
    );
  }
  const newSuffix = sourceSuffix(data) ??
    (src.kind === "path" ? suffixOf(basename(src.path)) : file.suffix);
  const oldObjectKey = file._objectKey;
  let newKey = file.key;
  if (newKey !== null && newSuffix !== file.suffix) {
    newKey = (file.suffix && newKey.endsWith(file.suffix)
      ? newKey.slice(0, -file.suffix.length)
      : newKey) + newSuffix;
  }
  const newObjectKey = newKey ?? `${MANAGED_PREFIX}${file.id}${newSuffix}`;
  const backend = backendFor(file.storageId!);
  const pendingId = base62(20);
  await retryBusy(() =>
    anyDb().insertInto("pending_object").values({
      id: pendingId,
      op: "replace",
      storage_id: file.storageId!,
      key: newObjectKey,
      is_dir: 0,
      file_id: file.id,
      hash: m.hash,
      size: m.size,
      created_at: nowIso(),
    }).execute()
  );
  const useRun = run ?? context.run ?? file.run;
  const now = nowIso();
  const managed = newObjectKey === oldObjectKey ? file._managed : 1;
  try {
    await putOne(backend, newObjectKey, dataOf(src), m, true);
    await retryBusy(() =>
      anyDb().transaction().execute(async (trx) => {
        await trx.updateTable("file").set({
          size: m.size,
          hash: m.hash,
          hash_type: m.hashType,
          suffix: newSuffix,
          key: newKey,
          managed,
          run_id: useRun?.id ?? null,
          transform_id: useRun?.transformId ?? null,
          transform_version: useRun?.transformVersion ?? null,
          updated_at: now,
        }).where("id", "=", file.id).execute();
        await trx.deleteFrom("pending_object").where("id", "=", pendingId).execute();
      })
    );
  } catch (e) {
    if (newObjectKey !== oldObjectKey) await backend.delete(newObjectKey).catch(() => {});
    await anyDb().deleteFrom("pending_object").where("id", "=", pendingId).execute()
      .catch(() => {});
    if (isUniqueViolation(e)) {
      throw new IntegrityError(`replace of file ${file.id} conflicts: ${(e as Error).message}`, {
        cause: e,
      });
    }
    throw e;
  }
  if (newObjectKey !== oldObjectKey && file._managed) {
    await backend.delete(oldObjectKey).catch((e) =>
      log.warn(`could not remove the old object ${oldObjectKey}: ${e}; ln.fsck() will list it`)
    );
  }
  Object.assign(file, {
    size: m.size,
    hash: m.hash,
    hashType: m.hashType,
    suffix: newSuffix,
    key: newKey,
    runId: useRun?.id ?? null,
    transformId: useRun?.transformId ?? null,
    transformVersion: useRun?.transformVersion ?? null,
    run: useRun,
    transform: useRun?.transform,
    updatedAt: new Date(now),
    _managed: managed,
  });
}

/** Delete a saved file's row, links and (when managed) object. */
export async function deleteFile(file: File): Promise<void> {
  const objectKey = file._objectKey;
  const backend = backendFor(file.storageId!);
  const pendingId = file._managed ? base62(20) : undefined;
  const db = anyDb();
  await retryBusy(() =>
    db.transaction().execute(async (trx) => {
      if (pendingId) {
        await trx.insertInto("pending_object").values({
          id: pendingId,
          op: "delete",
          storage_id: file.storageId!,
          key: objectKey,
          is_dir: file._isDir,
          file_id: file.id,
          hash: file.hash,
          size: file.size,
          created_at: nowIso(),
        }).execute();
      }
      for (const t of ["run_input", "file_features", "folder_file"]) {
        await trx.deleteFrom(t).where("file_id", "=", file.id).execute();
      }
      await trx.deleteFrom("file").where("id", "=", file.id).execute();
    })
  );
  file._saved = false;
  if (!pendingId) return;
  try {
    await deleteObject(backend, objectKey, file._isDir === 1);
  } catch (e) {
    throw new StorageError(
      `file ${file.id} was removed from the registry, but its object could not be deleted ` +
        `(${(e as Error).message}); ln.fsck({ repair: true }) will remove it`,
      { cause: e },
    );
  }
  await db.deleteFrom("pending_object").where("id", "=", pendingId).execute();
}

/** Delete an object, or every object under `{key}/` for a folder-like one. */
export async function deleteObject(
  backend: StorageBackend,
  key: string,
  isDir: boolean,
): Promise<void> {
  if (!isDir) {
    await backend.delete(key);
    return;
  }
  for await (const o of backend.list(`${key}/`)) await backend.delete(o.key);
}
