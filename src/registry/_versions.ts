// Versions of files. A version family is the files whose ids share their
// first 16 characters (lamindb's "stem uid"); the last 4 count versions.
// Saving new content under a registered key, or with `revises`, makes the
// next version: the previous latest is retired in the transaction that
// inserts the new row, and when the new version takes the path of an object
// (its key), that object first moves to `.lamindb/{id}{suffix}` through the
// intent journal (`pending_object` op "move"), so a crash at any step
// leaves the old state or the new one, and `fsck` knows the move.
import { basename } from "node:path";
import { type RawBuilder, sql } from "kysely";
import { IntegrityError, StorageError, ValidationError } from "../errors.ts";
import { log } from "../_log.ts";
import { base62, nextVersionId, STEM_LENGTH } from "../_ids.ts";
import { crashPoint } from "../_faults.ts";
import { MANAGED_PREFIX, objectKey, suffixOf } from "../storage/key.ts";
import { hashDirectory } from "../storage/hash.ts";
import type { StorageBackend } from "../storage/storage.ts";
import { retryBusy } from "./_db_errors.ts";
import { unindexForSearch } from "./_search_index.ts";
import { nowIso, type Row } from "./_model.ts";
import type { RegistryDb } from "./db.ts";
import type { File } from "./file.ts";
import type { Instance } from "./instance.ts";
import type { Storage } from "./storage_record.ts";

/** How a new version follows its family. */
export interface Succession {
  /** The family's latest version, retired when the new one commits. */
  previous: Row<"file">;
  /** The row whose object is at the new version's path, when one is. */
  occupant?: Row<"file">;
  /** `occupant`'s object is moved to `.lamindb/` (or, when `lost`, was overwritten by the user). */
  move?: { from: string; to: string; lost: boolean; pendingId?: string; claimedAt?: string };
  /** How far the move went, for undoing it. */
  state: "planned" | "claimed" | "copied" | "moved" | "committed";
}

/** What versioning needs of a save plan (`_save.ts`'s `Plan`). */
export interface VersionPlan {
  file: File;
  storage?: Storage;
  inPlace: boolean;
  key: string | null;
  objectKey: string;
  m: { size: number; hash: string; entries?: unknown };
  succession?: Succession;
}

/** The ids of a file's family (any order). */
async function familyIds(db: RegistryDb, id: string): Promise<string[]> {
  const rows = await retryBusy(() =>
    db.selectFrom("file").select("id")
      .where(...sameFamily(id)).execute()
  );
  return rows.map((r) => r.id);
}

/**
 * Decide, for each plan of a save, whether it is a new version (of
 * `revises`, or of the latest file registered under its key in its
 * storage): give it its version id, its key, and what to retire and move.
 * Nothing is written. Two plans with one key, or two versions of one file
 * in one save, are an `IntegrityError`.
 */
export async function planVersions(plans: VersionPlan[], inst: Instance): Promise<void> {
  const keys = new Set<string>();
  const families = new Set<string>();
  const holders = await latestByKey(inst, plans);
  for (const p of plans) {
    const sid = (p.storage ?? inst.storage).id;
    const revises = p.file._options.revises;
    let previous: Row<"file"> | undefined;
    if (revises) {
      if (revises._instance && revises._instance !== inst) {
        throw new ValidationError(
          `revises: file ${revises.id} is in another instance; a version lives in its file's`,
        );
      }
      previous = await latestOf(inst.db, revises.id) ??
        await inst.db.selectFrom("file").selectAll().where("id", "=", revises.id)
          .executeTakeFirst();
      if (!previous) {
        throw new ValidationError(`revises: file ${revises.id} is not in the registry (deleted?)`);
      }
      if (p.key === null && !p.inPlace && previous.key !== null && previous.storage_id === sid) {
        if (p.file.suffix && suffixOf(previous.key) !== p.file.suffix) {
          throw new ValidationError(
            `the new version of ${previous.key} is ${p.file.suffix || "without suffix"}, ` +
              `the key's suffix is ${suffixOf(previous.key) || "none"}; pass a key for it`,
          );
        }
        p.key = previous.key;
        p.file.suffix = suffixOf(previous.key);
      }
    }
    if (p.key !== null) {
      const id = `${sid}\0${p.key}`;
      if (keys.has(id)) {
        throw new IntegrityError(`two files in one save have the key ${p.key}; keys are unique`);
      }
      keys.add(id);
      const holder = holders.has(id) ? holders.get(id) : (await latestByKey(inst, [p])).get(id);
      if (holder && previous && stem(holder.id) !== stem(previous.id)) {
        throw new IntegrityError(
          `key ${p.key} is the latest version of file ${holder.id}, not of ${previous.id}; ` +
            `nothing was saved: choose another key, or pass revises: that file`,
        );
      }
      previous ??= holder;
    }
    if (!previous) continue;
    // A new version keeps what it was not told otherwise (as lamindb's
    // `revises` does): the name, when its data had none, and the description.
    if (p.file.name === null) p.file.name = previous.name ?? (p.key ? basename(p.key) : null);
    // Data without a suffix of its own (bytes) is the format of the version it revises: its
    // object then has that suffix, and load() reads it as such.
    if (!p.file.suffix && p.key === null) p.file.suffix = previous.suffix ?? "";
    if (p.file.description === null && p.file._options.description === undefined) {
      p.file.description = previous.description;
    }
    if (p.file._options.id !== undefined) {
      throw new IntegrityError(
        `key ${p.key} is registered as file ${previous.id}, so this is its new version, whose ` +
          `id is derived from it; nothing was saved: drop the id option, or choose another key`,
      );
    }
    if (families.has(stem(previous.id))) {
      throw new IntegrityError(
        `two new versions of file ${previous.id} in one save; save them one after the other`,
      );
    }
    families.add(stem(previous.id));
    try {
      p.file.id = nextVersionId(await familyIds(inst.db, previous.id));
    } catch (e) {
      throw new IntegrityError(`file ${previous.id}: ${(e as Error).message}`, { cause: e });
    }
    p.objectKey = objectKey({ key: p.key, id: p.file.id, suffix: p.file.suffix });
    p.succession = { previous, state: "planned" };
    if (p.key === null) continue;
    // Whose object is at the new version's path?
    const occupant = await retryBusy(() =>
      inst.db.selectFrom("file").selectAll().where("storage_id", "=", sid)
        .where("key", "=", p.key).where("key_is_virtual", "=", 0).executeTakeFirst()
    );
    if (!occupant) continue;
    if (stem(occupant.id) !== stem(previous.id)) {
      throw new IntegrityError(
        `the path ${p.key} holds the object of file ${occupant.id}, another file's; nothing ` +
          `was saved: choose another key`,
      );
    }
    const to = `${MANAGED_PREFIX}${occupant.id}${occupant.suffix}`;
    p.succession.occupant = occupant;
    p.succession.move = { from: objectKey(occupant), to, lost: p.inPlace };
    if (p.inPlace) {
      log.warn(
        `${p.key} was overwritten outside lamindeno: registering it as a new version of file ` +
          `${previous.id}; the previous version ${occupant.id} kept no copy of its content and ` +
          `can no longer be loaded (save new versions through ln.File to keep old ones)`,
      );
    }
  }
}

/**
 * The latest file under each plan's key, by `storage\0key` (absent: none),
 * looked up 500 keys per query so that a save of many files stays a few
 * queries (keys inherited from `revises` later are looked up one by one).
 */
async function latestByKey(
  inst: Instance,
  plans: VersionPlan[],
): Promise<Map<string, Row<"file"> | undefined>> {
  const bySid = new Map<string, string[]>();
  for (const p of plans) {
    if (p.key === null) continue;
    const sid = (p.storage ?? inst.storage).id;
    const keys = bySid.get(sid) ?? bySid.set(sid, []).get(sid)!;
    keys.push(p.key);
  }
  const out = new Map<string, Row<"file"> | undefined>();
  for (const [sid, keys] of bySid) {
    for (const k of keys) out.set(`${sid}\0${k}`, undefined);
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await retryBusy(() =>
        inst.db.selectFrom("file").selectAll().where("storage_id", "=", sid)
          .where("key", "in", keys.slice(i, i + 500)).where("is_latest", "=", 1).execute()
      );
      for (const r of rows) out.set(`${sid}\0${r.key}`, r);
    }
  }
  return out;
}

function stem(id: string): string {
  return id.slice(0, STEM_LENGTH);
}

/**
 * The condition "in `id`'s version family" (ids sharing its first 16
 * characters), as the expression the family indexes of migrations 0006 and
 * 0008 cover: `.where(...sameFamily(id))`.
 */
export function sameFamily(id: string): [RawBuilder<string>, "=", string] {
  return [sql<string>`substr(id, 1, 16)`, "=", stem(id)];
}

async function latestOf(db: RegistryDb, id: string): Promise<Row<"file"> | undefined> {
  return await retryBusy(() =>
    db.selectFrom("file").selectAll()
      .where(...sameFamily(id)).where("is_latest", "=", 1)
      .executeTakeFirst()
  );
}

/**
 * Move the objects whose paths new versions take to `.lamindb/`, each
 * claimed first (the occupant's row must still be as read, its `updatedAt`
 * moves on so a concurrent replace/version of it fails its own check) and
 * journaled, then copied (verified) and its source deleted.
 */
export async function moveAside(plans: VersionPlan[], inst: Instance): Promise<void> {
  for (const p of plans) {
    const s = p.succession;
    if (!s?.move || !s.occupant) continue;
    const occ = s.occupant;
    const move = s.move;
    const claimedAt = nowIso();
    const pendingId = base62(20);
    await retryBusy(() =>
      inst.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable("file").set({ updated_at: claimedAt })
          .where("id", "=", occ.id).where("updated_at", "=", occ.updated_at)
          .where("key_is_virtual", "=", 0).executeTakeFirst();
        const busy = await trx.selectFrom("pending_object").select("id")
          .where("file_id", "=", occ.id).where("op", "in", ["replace", "move"])
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1 || busy) {
          throw new IntegrityError(
            `file ${occ.id} at ${p.key} changed, or is being changed, by another writer; ` +
              `nothing was saved: save the new version again`,
          );
        }
        await trx.insertInto("pending_object").values({
          id: pendingId,
          op: "move",
          storage_id: occ.storage_id,
          key: move.to,
          is_dir: occ.is_dir,
          file_id: occ.id,
          hash: occ.hash,
          size: occ.size,
          created_at: claimedAt,
        }).execute();
      })
    );
    move.pendingId = pendingId;
    move.claimedAt = claimedAt;
    s.state = "claimed";
    crashPoint("version:after-claim");
    if (move.lost) continue;
    const backend = inst.backendFor(occ.storage_id);
    await copyObject(backend, move.from, move.to, occ);
    s.state = "copied";
    crashPoint("version:after-copy");
    await deleteAll(backend, move.from, occ.is_dir === 1);
    s.state = "moved";
    crashPoint("version:after-move");
  }
}

/**
 * In the transaction that inserts the new versions (before the inserts, so
 * one key never has two latest rows): retire each previous latest, mark
 * each moved occupant's object as at `.lamindb/`, drop the move journal.
 * A previous version that is no longer latest means another writer made a
 * version meanwhile: `IntegrityError`, and the transaction rolls back.
 */
export async function retirePrevious(
  trx: RegistryDb,
  plans: VersionPlan[],
  now: string,
): Promise<void> {
  for (const p of plans) {
    const s = p.succession;
    if (!s) continue;
    const r = await trx.updateTable("file").set({ is_latest: 0 })
      .where("id", "=", s.previous.id).where("is_latest", "=", 1).executeTakeFirst();
    // Search, like get/filter, sees latest versions.
    await unindexForSearch(trx, "file", [s.previous.id]);
    if (Number(r.numUpdatedRows) !== 1) {
      throw new IntegrityError(
        `another version of file ${s.previous.id} was saved meanwhile; nothing was saved: ` +
          `get the latest (ln.File.get({ key })) and save again`,
      );
    }
    if (s.move && s.occupant) {
      // A moved object is ours now; a lost one (overwritten in place) stays as it was.
      const managed = s.move.lost ? s.occupant.managed : 1;
      const m = await trx.updateTable("file").set({ key_is_virtual: 1, managed, updated_at: now })
        .where("id", "=", s.occupant.id).where("updated_at", "=", s.move.claimedAt!)
        .executeTakeFirst();
      if (Number(m.numUpdatedRows) !== 1) {
        throw new IntegrityError(
          `file ${s.occupant.id} changed during the save of its new version; nothing was saved`,
        );
      }
      await trx.deleteFrom("pending_object").where("id", "=", s.move.pendingId!).execute();
    }
  }
}

/** Undo what `moveAside` did for plans that will not commit (best effort; fsck finishes). */
export async function undoMoves(plans: VersionPlan[], inst: Instance): Promise<void> {
  for (const p of plans) {
    const s = p.succession;
    if (!s?.move || !s.occupant || s.state === "planned" || s.state === "committed") continue;
    const occ = s.occupant;
    const backend = inst.backendFor(occ.storage_id);
    try {
      if (s.state === "moved") await copyObject(backend, s.move.to, s.move.from, occ);
      if (s.state === "moved" || s.state === "copied") {
        await deleteAll(backend, s.move.to, occ.is_dir === 1);
      }
      await retryBusy(() =>
        inst.db.transaction().execute(async (trx) => {
          await trx.deleteFrom("pending_object").where("id", "=", s.move!.pendingId!).execute();
          await trx.updateTable("file").set({ updated_at: occ.updated_at })
            .where("id", "=", occ.id).where("updated_at", "=", s.move!.claimedAt!).execute();
        })
      );
      s.state = "planned";
    } catch (e) {
      log.warn(
        `could not move the object of file ${occ.id} back to ${s.move.from} (${e}); ` +
          `ln.fsck({ repair: true }) will`,
      );
    }
  }
}

/** Delete an object, or every object under `{key}/`. */
async function deleteAll(backend: StorageBackend, key: string, isDir: boolean): Promise<void> {
  if (!isDir) {
    await backend.delete(key);
    return;
  }
  const keys: string[] = [];
  for await (const o of backend.list(`${key}/`)) keys.push(o.key);
  for (const k of keys) await backend.delete(k);
}

/**
 * Copy the object of `row` from `from` to `to` (never over an existing
 * object), verified against the row's size and md5 where it has one.
 */
export async function copyObject(
  backend: StorageBackend,
  from: string,
  to: string,
  row: Pick<Row<"file">, "id" | "is_dir" | "hash" | "hash_type" | "size">,
): Promise<void> {
  const missing = () =>
    new StorageError(
      `the object of file ${row.id} is missing at ${backend.uri(from)}; nothing was moved: ` +
        `ln.fsck() reports what is missing`,
    );
  if (row.is_dir !== 1) {
    const body = await backend.get(from);
    if (!body) throw missing();
    const expect = row.hash_type === "md5" ? { size: Number(row.size), hash: row.hash } : undefined;
    await backend.put(to, body, { expect, overwrite: false });
    return;
  }
  const entries: { path: string; hash: string }[] = [];
  for await (const o of backend.list(`${from}/`)) {
    const rel = o.key.slice(from.length + 1);
    const body = await backend.get(o.key);
    if (!body) throw missing();
    const put = await backend.put(`${to}/${rel}`, body, { overwrite: false });
    entries.push({ path: rel, hash: put.hash });
  }
  if (entries.length === 0) throw missing();
  if (row.hash_type === "md5-d" && hashDirectory(entries) !== row.hash) {
    await deleteAll(backend, to, true);
    throw new IntegrityError(
      `the object of file ${row.id} at ${backend.uri(from)} no longer has its registered ` +
        `content; nothing was moved`,
    );
  }
}

/** What fsck does with an interrupted move: where the object is, and what repair does. */
export async function fsckMove(
  backend: StorageBackend,
  pending: { key: string },
  row: Row<"file"> | undefined,
  intact: (key: string, isDir: boolean) => Promise<string | undefined>,
  repair: boolean,
): Promise<string | undefined> {
  if (!row || row.key_is_virtual === 1 || row.key === null) return undefined;
  const from = row.key;
  const to = pending.key;
  const isDir = row.is_dir === 1;
  if ((await intact(from, isDir)) === row.hash) {
    if (repair) await deleteAll(backend, to, isDir).catch(() => {});
    return `a new version of file ${row.id} was interrupted before its commit; the object is ` +
      `in place, repair removes the copy at ${backend.uri(to)}`;
  }
  if ((await intact(to, isDir)) === row.hash) {
    if (repair) {
      await deleteAll(backend, from, isDir);
      await copyObject(backend, to, from, row);
      await deleteAll(backend, to, isDir);
    }
    return `a new version of file ${row.id} was interrupted before its commit; the object is ` +
      `at ${backend.uri(to)}, repair moves it back to ${backend.uri(from)}`;
  }
  return undefined;
}
