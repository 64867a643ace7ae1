// Replacing and deleting a saved file, through the same intent journal as
// saving (see _save.ts): a crash at any moment leaves something `fsck` can
// finish or undo.
import { basename, join } from "node:path";
import * as rt from "../_runtime.ts";
import {
  IntegrityError,
  InvalidKeyError,
  NotFoundError,
  StorageError,
  ValidationError,
} from "../errors.ts";
import { log } from "../_log.ts";
import { startProgress } from "../storage/_progress.ts";
import { MANAGED_PREFIX, objectKey, suffixOf } from "../storage/key.ts";
import { hashDirectory } from "../storage/hash.ts";
import type { StorageBackend } from "../storage/storage.ts";
import { base62 } from "../_ids.ts";
import { crashPoint } from "../_faults.ts";
import { isUniqueViolation, retryBusy } from "./_db_errors.ts";
import { lockHashes, refuseReserved } from "./_hash_claims.ts";
import { nowIso } from "./_model.ts";
import { type Input, inputSuffix, materialize, measure, type RawInput } from "./_input.ts";
import { dataOf, putOne } from "./_save.ts";
import { sameFamily } from "./_versions.ts";
import type { File } from "./file.ts";
import type { Instance } from "./instance.ts";
import type { RegistryDb } from "./db.ts";
import { indexForSearch, unindexForSearch } from "./_search_index.ts";

/** Replace the content of a saved file; see `File.replace`. */
export async function replaceFile(
  inst: Instance,
  file: File,
  data: Input,
  run: File["run"],
): Promise<void> {
  const backend = inst.backendFor(file.storageId!);
  if (!backend.capabilities.writable) {
    throw new StorageError(
      `file ${file.id} is in the read-only storage ${backend.root}; its content cannot be ` +
        `replaced there: save the new content as a new File instead`,
    );
  }
  const { src, cleanup } = await materialize(data);
  try {
    await replaceWith(inst, file, data, src, run);
  } finally {
    await cleanup();
  }
}

/**
 * The row of `file` as it was loaded (same hash, same `updatedAt`), inside
 * `trx`; otherwise `NotFoundError` (deleted since) or `IntegrityError`
 * (changed since), so a stale record never acts on a newer file.
 */
async function checkCurrent(trx: RegistryDb, file: File, op: string): Promise<void> {
  const row = await trx.selectFrom("file").select(["hash", "updated_at"])
    .where("id", "=", file.id).executeTakeFirst();
  if (!row) {
    throw new NotFoundError(
      `file ${file.id} was deleted since it was loaded; nothing was ${op}`,
    );
  }
  if (row.hash !== file.hash || row.updated_at !== file.updatedAt.toISOString()) {
    throw new IntegrityError(
      `file ${file.id} changed since it was loaded (now hash ${row.hash}, updated ` +
        `${row.updated_at}); nothing was ${op}: get it again with ln.File.get("${file.id}")`,
    );
  }
}

/**
 * Claim `file`'s row for `op` in `trx`: it must still be as loaded (hash,
 * updatedAt), and its updatedAt moves on to `at`. One versioned UPDATE, so
 * that on PostgreSQL (READ COMMITTED) a concurrent claim of the same row (a
 * replace, a delete, a new version moving its object aside) waits for this
 * transaction and then finds the row changed, instead of both passing a
 * plain read first; SQLite serializes writers anyway.
 */
async function claimRow(trx: RegistryDb, file: File, op: string, at: string): Promise<void> {
  let q = trx.updateTable("file").set({ updated_at: at }).where("id", "=", file.id)
    .where("updated_at", "=", file.updatedAt.toISOString());
  q = file.hash === null ? q.where("hash", "is", null) : q.where("hash", "=", file.hash);
  const r = await q.executeTakeFirst();
  if (Number(r.numUpdatedRows) === 1) return;
  await checkCurrent(trx, file, op); // says how it changed
  throw new IntegrityError(`file ${file.id} changed since it was loaded; nothing was ${op}`);
}

async function replaceWith(
  inst: Instance,
  file: File,
  data: Input,
  src: RawInput,
  run: File["run"],
): Promise<void> {
  const m = await measure(src, { label: file.key ?? file.name ?? file.id });
  const isDir = file._isDir === 1;
  if (!!m.entries !== isDir) {
    throw new ValidationError(
      isDir
        ? `file ${file.id} is a folder (${file.suffix || "no suffix"}); replace() it with a ` +
          `folder (a path to a directory), or save the new content as a new File`
        : `file ${file.id} is a single file; a folder replaces only a folder-like file: ` +
          `save the folder as a new File`,
    );
  }
  if (m.hash === file.hash) {
    log.info(`file ${file.id} already has this content; nothing to replace`);
    return;
  }
  const newSuffix = inputSuffix(data) ??
    (src.kind === "path" ? suffixOf(basename(src.path)) : file.suffix);
  const oldObjectKey = file._objectKey;
  let newKey = file.key;
  if (newKey !== null && newSuffix !== file.suffix) {
    newKey = (file.suffix && newKey.endsWith(file.suffix)
      ? newKey.slice(0, -file.suffix.length)
      : newKey) + newSuffix;
  }
  const newObjectKey = objectKey({
    key: newKey,
    id: file.id,
    suffix: newSuffix,
    key_is_virtual: file._keyIsVirtual,
  });
  const moves = newObjectKey !== oldObjectKey;
  const backend = inst.backendFor(file.storageId!);
  const pendingId = base62(20);
  // A folder at the same key is written beside it first, and copied over it
  // after the commit (a folder cannot be swapped at once); the journal row
  // stays until then, so fsck finishes the copy after a crash.
  const staged = isDir && !moves ? stagingKey(file.id, pendingId) : undefined;
  const writeKey = staged ?? newObjectKey;
  if (staged) await refuseLinksIn(backend, newObjectKey);
  const claimedAt = nowIso();
  // Claim, before any byte is written: the row is still the one loaded, the
  // new key is free (no other file row, no object there), the intent is
  // journaled, and the row's version moves on so that a stale or concurrent
  // replace/delete of the same file fails its own check.
  await retryBusy(() =>
    inst.db.transaction().execute(async (trx) => {
      await claimRow(trx, file, "replaced", claimedAt);
      // The new content is reserved by this claim's journal row (see _hash_claims.ts):
      // no one may have registered it, or be registering it, meanwhile.
      await lockHashes(trx, [m.hash]);
      const taken = await trx.selectFrom("file").select("id").where("hash", "=", m.hash)
        .executeTakeFirst();
      if (taken) {
        throw new IntegrityError(
          `this content is already registered as file ${taken.id}; a hash is registered once`,
        );
      }
      await refuseReserved(trx, [m.hash], "nothing was replaced", file.id);
      // A pending move is a new version of this file taking its key (its object being
      // copied aside): replacing the object meanwhile would be undone by that move.
      const busy = await trx.selectFrom("pending_object").select("op")
        .where("file_id", "=", file.id).where("op", "in", ["replace", "move"]).executeTakeFirst();
      if (busy) {
        throw new IntegrityError(
          `${
            busy.op === "move"
              ? `a new version of file ${file.id} is being saved (its object moves aside)`
              : `another replace() of file ${file.id} is in progress`
          } (or was interrupted: ln.fsck({ repair: true }) finishes it); nothing was replaced`,
        );
      }
      if (moves) {
        const taken = newKey === null || file._keyIsVirtual
          ? undefined
          : await trx.selectFrom("file").select("id")
            .where("storage_id", "=", file.storageId!).where("key", "=", newKey)
            .where("key_is_virtual", "=", 0).where("id", "!=", file.id).executeTakeFirst();
        if (taken) {
          throw new IntegrityError(
            `replacing file ${file.id} with ${newSuffix} content would move it to ${newKey}, ` +
              `which is registered as file ${taken.id}; nothing was replaced: save the new ` +
              `content as a new File, or delete ${taken.id} first`,
          );
        }
        if (await objectExists(backend, newObjectKey, isDir)) {
          throw new IntegrityError(
            `replacing file ${file.id} with ${newSuffix} content would move it to ` +
              `${backend.uri(newObjectKey)}, where an object already is; nothing was replaced: ` +
              `move that object away, or save the new content as a new File`,
          );
        }
      }
      await trx.insertInto("pending_object").values({
        id: pendingId,
        op: "replace",
        storage_id: file.storageId!,
        key: writeKey,
        is_dir: isDir ? 1 : 0,
        file_id: file.id,
        hash: m.hash,
        size: m.size,
        created_at: claimedAt,
      }).execute();
    })
  );
  crashPoint("replace:after-claim");
  const useRun = run ?? inst.run ?? file.run;
  const now = nowIso();
  const managed = moves ? 1 : file._managed;
  let placed = false;
  try {
    // A new key is created exclusively: an object that appeared there since
    // the claim is never overwritten.
    const phase = backend.capabilities.localPaths ? "copy" : "upload";
    const t = startProgress(phase, m.size, { label: file.key ?? file.name ?? file.id });
    if (m.entries) {
      for (const e of m.entries) {
        placed = true;
        const data = dataOf({ kind: "path", path: e.path });
        await putOne(backend, `${writeKey}/${e.rel}`, data, e, false, t);
      }
    } else await putOne(backend, newObjectKey, dataOf(src), m, !moves, t);
    t?.end();
    placed = true;
    crashPoint("replace:after-put");
    await retryBusy(() =>
      inst.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable("file").set({
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
        }).where("id", "=", file.id).where("updated_at", "=", claimedAt).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) {
          throw new NotFoundError(
            `file ${file.id} was deleted or changed by another writer during replace(); ` +
              `the new content was not registered`,
          );
        }
        // The content passes from reserved to registered under its hash's lock (taken
        // after the row's, so no claim waits for this row holding it): a claim of it
        // by another writer checks both in turn, and must not see neither.
        await lockHashes(trx, [m.hash]);
        if (!staged) await trx.deleteFrom("pending_object").where("id", "=", pendingId).execute();
        const { id, name, description } = file;
        // Search finds latest versions only (see _versions.ts).
        if (file.isLatest) {
          await indexForSearch(trx, "file", [{ id, name, key: newKey, description }]);
        }
        crashPoint("replace:in-commit");
      })
    );
  } catch (e) {
    // The new object is ours only when it went to a new key (or the row is gone).
    const gone = !(await inst.db.selectFrom("file").select("id").where("id", "=", file.id)
      .executeTakeFirst().catch(() => ({ id: file.id })));
    if (placed && (moves || gone || staged)) {
      await deleteObject(backend, writeKey, isDir).catch(() => {});
    }
    await retryBusy(() =>
      inst.db.transaction().execute(async (trx) => {
        await trx.deleteFrom("pending_object").where("id", "=", pendingId).execute();
        // Give the row its version back when nothing changed it.
        await trx.updateTable("file").set({ updated_at: file.updatedAt.toISOString() })
          .where("id", "=", file.id).where("updated_at", "=", claimedAt).execute();
      })
    ).catch(() => {});
    if (isUniqueViolation(e)) {
      throw new IntegrityError(`replace of file ${file.id} conflicts: ${(e as Error).message}`, {
        cause: e,
      });
    }
    throw e;
  }
  crashPoint("replace:after-commit");
  if (staged) {
    try {
      await copyStaged(backend, staged, newObjectKey, m.hash);
    } catch (e) {
      throw new StorageError(
        `file ${file.id} was replaced in the registry, but copying its new content over ` +
          `${backend.uri(newObjectKey)} failed (${(e as Error).message}); ` +
          `ln.fsck({ repair: true }) finishes it from ${backend.uri(staged)}`,
        { cause: e },
      );
    }
    await retryBusy(() =>
      inst.db.deleteFrom("pending_object").where("id", "=", pendingId).execute()
    );
  }
  if (moves && file._managed) {
    await deleteObject(backend, oldObjectKey, isDir).catch((e) =>
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

/**
 * An `IntegrityError` naming the first of files `fileIds` a collection
 * holds (a file is deleted after the collections that hold it).
 */
export async function checkInNoCollection(
  db: RegistryDb,
  fileIds: readonly string[],
): Promise<void> {
  for (let i = 0; i < fileIds.length; i += 500) {
    const member = await db.selectFrom("collection_file").select(["file_id", "collection_id"])
      .where("file_id", "in", fileIds.slice(i, i + 500)).executeTakeFirst();
    if (member) {
      throw new IntegrityError(
        `file ${member.file_id} is in collection ${member.collection_id}; nothing was deleted: ` +
          `delete the collection (and its versions holding the file) first`,
      );
    }
  }
}

/**
 * Delete a saved file's row, links and (when managed) object. The row must
 * still be the one loaded (see `checkCurrent`), else nothing is touched.
 */
export async function deleteFile(inst: Instance, file: File): Promise<void> {
  const key = file._objectKey;
  const backend = inst.backendFor(file.storageId!);
  const pendingId = file._managed ? base62(20) : undefined;
  const db = inst.db;
  await retryBusy(() =>
    db.transaction().execute(async (trx) => {
      await claimRow(trx, file, "deleted", nowIso());
      const busy = await trx.selectFrom("pending_object").select("op")
        .where("file_id", "=", file.id).where("op", "in", ["replace", "move"]).executeTakeFirst();
      if (busy) {
        throw new IntegrityError(
          `file ${file.id} is being changed by another writer (a ${busy.op} in progress, or ` +
            `interrupted: ln.fsck({ repair: true }) finishes it); nothing was deleted`,
        );
      }
      await checkInNoCollection(trx, [file.id]);
      if (pendingId) {
        await trx.insertInto("pending_object").values({
          id: pendingId,
          op: "delete",
          storage_id: file.storageId!,
          key,
          is_dir: file._isDir,
          file_id: file.id,
          hash: file.hash,
          size: file.size,
          created_at: nowIso(),
        }).execute();
      }
      await trx.deleteFrom("run_input").where("file_id", "=", file.id).execute();
      await trx.deleteFrom("file_features").where("file_id", "=", file.id).execute();
      await trx.deleteFrom("file_value").where("file_id", "=", file.id).execute();
      await trx.deleteFrom("folder_file").where("file_id", "=", file.id).execute();
      await trx.deleteFrom("file_ulabel").where("file_id", "=", file.id).execute();
      await unindexForSearch(trx, "file", [file.id]);
      const row = await trx.deleteFrom("file").where("id", "=", file.id)
        .returning("is_latest").executeTakeFirst();
      if (row?.is_latest) await promotePrevious(trx, file.id);
      crashPoint("delete:in-commit");
    })
  );
  crashPoint("delete:after-commit");
  file._saved = false;
  if (!pendingId) return;
  try {
    await deleteObject(backend, key, file._isDir === 1);
  } catch (e) {
    throw new StorageError(
      `file ${file.id} was removed from the registry, but its object could not be deleted ` +
        `(${(e as Error).message}); ln.fsck({ repair: true }) will remove it`,
      { cause: e },
    );
  }
  await retryBusy(() => db.deleteFrom("pending_object").where("id", "=", pendingId).execute());
}

/** After deleting a latest version: the newest remaining version of its family becomes latest. */
async function promotePrevious(trx: RegistryDb, id: string): Promise<void> {
  const ids = (await trx.selectFrom("file").select("id")
    .where(...sameFamily(id)).execute())
    .map((r) => r.id).sort();
  const newest = ids.at(-1);
  if (!newest) return;
  const promoted = await trx.updateTable("file").set({ is_latest: 1 }).where("id", "=", newest)
    .executeTakeFirst();
  const row = await trx.selectFrom("file").select(["id", "name", "key", "description"])
    .where("id", "=", newest).executeTakeFirst();
  if (Number(promoted.numUpdatedRows) !== 1 || !row) {
    // (PostgreSQL: another writer deleted that version meanwhile.)
    throw new IntegrityError(
      `file ${newest}, the version to become the latest, was deleted by another writer ` +
        `meanwhile; nothing was deleted: try again`,
    );
  }
  await indexForSearch(trx, "file", [row]);
}

/**
 * An `InvalidKeyError` when the local folder at `key` holds a symbolic link:
 * the copy over it after the commit would stop there, since writes never go
 * through a link. (Object stores have no links.)
 */
async function refuseLinksIn(backend: StorageBackend, key: string): Promise<void> {
  const dir = backend.localPath(key);
  if (dir === undefined) return;
  const visit = async (d: string): Promise<void> => {
    const entries = await rt.readDir(d).catch(() => []);
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isSymlink) {
        throw new InvalidKeyError(
          `cannot replace ${backend.uri(key)}: ${path} is a symbolic link, and lamindeno ` +
            `never writes through a link inside the storage root; nothing was replaced: ` +
            `put the file it names in its place (or remove it), then replace() again`,
        );
      }
      if (e.isDirectory) await visit(path);
    }
  };
  await visit(dir);
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

/** Where a folder's new content is written before it is copied over the folder (in `.lamindb/`). */
function stagingKey(fileId: string, pendingId: string): string {
  return `${MANAGED_PREFIX}${fileId}${STAGED}${pendingId}`;
}

const STAGED = ".replacing-";

/** Whether a journal's key is a folder's staged new content (see `stagingKey`). */
export function isStagingKey(key: string): boolean {
  return key.startsWith(MANAGED_PREFIX) && key.includes(STAGED);
}

/** Whether an object (a folder: any object under `{key}/`) is at `key`. */
export async function objectExists(backend: StorageBackend, key: string, isDir: boolean) {
  if (!isDir) return (await backend.head(key)) !== undefined;
  for await (const _ of backend.list(`${key}/`)) return true;
  return false;
}

/**
 * Copy the folder at `staged` over the folder at `target` (each entry
 * overwritten, entries it no longer has deleted), check the copy is the
 * content `hash` names, then delete `staged`. Repeatable: a copy
 * interrupted at any point can be run again (fsck first checks that
 * `staged` still holds that content: a crash may have removed part of it).
 */
export async function copyStaged(
  backend: StorageBackend,
  staged: string,
  target: string,
  hash: string,
): Promise<void> {
  const keys: string[] = [];
  for await (const o of backend.list(`${staged}/`)) keys.push(o.key);
  const written: { path: string; hash: string }[] = [];
  const keep = new Set<string>();
  for (const k of keys) {
    const rel = k.slice(staged.length + 1);
    const body = await backend.get(k);
    if (!body) throw new StorageError(`${backend.uri(k)} vanished during the copy`);
    const put = await backend.put(`${target}/${rel}`, body, { overwrite: true });
    written.push({ path: rel, hash: put.hash });
    keep.add(rel);
    crashPoint("replace:mid-copy");
  }
  if (hashDirectory(written) !== hash) {
    throw new IntegrityError(
      `the copy of ${backend.uri(staged)} to ${backend.uri(target)} is not the content ${hash}`,
    );
  }
  const extra: string[] = [];
  for await (const o of backend.list(`${target}/`)) {
    if (!keep.has(o.key.slice(target.length + 1))) extra.push(o.key);
  }
  for (const k of extra) await backend.delete(k);
  await deleteObject(backend, staged, true);
}
