// The File lifecycle's writes: save (batch), replace, delete. Objects are
// written through the intent journal `pending_object` so that a crash at
// any moment leaves something `fsck` can finish or undo.
import * as rt from "../_runtime.ts";
import { relative, resolve, sep } from "node:path";
import { IntegrityError, InvalidKeyError, StorageError, ValidationError } from "../errors.ts";
import { log } from "../_log.ts";
import { isManagedKey, objectKey, suffixOf, validateKey } from "../storage/key.ts";
import type { PutData, StorageBackend } from "../storage/storage.ts";
import { type OnProgress, type ProgressTracker, startProgress } from "../storage/_progress.ts";
import { isUniqueViolation, retryBusy } from "./_db_errors.ts";
import { lockHashes, refuseReserved } from "./_hash_claims.ts";
import { base62 } from "../_ids.ts";
import { crashPoint } from "../_faults.ts";
import { interruptCheck } from "../_interrupt.ts";
import { nowIso } from "./_model.ts";
import type { RegistryDb } from "./db.ts";
import { FILE_MODEL, FILES } from "./_file_model.ts";
import type { Instance } from "./instance.ts";
import { materialize, measure, type Measured, type RawInput } from "./_input.ts";
import type { File } from "./file.ts";
import { type Storage } from "./storage_record.ts";
import type { Row } from "./_model.ts";
import { planRemote } from "./_save_remote.ts";
import { FOLDER_PARALLEL, pool } from "../storage/_pool.ts";
import {
  moveAside,
  planVersions,
  retirePrevious,
  type Succession,
  undoMoves,
} from "./_versions.ts";
import { indexForSearch } from "./_search_index.ts";
import { assertSaved } from "./_saved.ts";
import { updateSavedFile } from "./_file_update.ts";

/** What saving one file will do (filled in step by step). */
export interface Plan {
  file: File;
  /** The storage the object is in, when not the instance's default one. */
  storage?: Storage;
  src: RawInput;
  cleanup: () => Promise<void>;
  m: Measured;
  inPlace: boolean;
  key: string | null;
  objectKey: string;
  pendingId: string | undefined;
  placed: string[];
  succession?: Succession;
}

/** Save new files in one registry transaction (`File.save()` is a batch of one). */
export async function saveFiles(
  inst: Instance,
  files: File[],
  opts: SaveOptions = {},
): Promise<void> {
  inst.assertOpen();
  // The runs a file points to must be saved: checked before anything is read or written.
  const unsaved = files.filter((f) => !f._saved);
  const gone = unsaved.find((f) => f._input === undefined);
  if (gone) {
    throw new ValidationError(
      `file ${gone.id} was deleted: the record has no data to save again; ` +
        `register the data anew with new ln.File(data, options).save()`,
    );
  }
  // The tracked run (inst.run) was saved by track(): not asked again at each save.
  const run = unsaved.flatMap((f) => f.run && f.run !== inst.run ? [f.run.id] : []);
  await assertSaved(inst.db, "run", run, "new File(data, { run })");
  const readers = unsaved.flatMap((f) => (f._options.inputOf ?? []).map((r) => r.id));
  await assertSaved(inst.db, "run", readers, "new File(data, { inputOf })");
  // Saved files: their edited name, description and version are written (lamindb's save()).
  for (const f of files) if (f._saved) await updateSavedFile(inst, f);
  const plans: Plan[] = [];
  try {
    for (const f of unsaved) {
      plans.push(await plan(f, inst, opts.onProgress));
    }
    await savePlans(plans, inst, opts);
  } finally {
    for (const p of plans) await p.cleanup();
  }
}

type SaveOptions = { folderId?: string; onProgress?: OnProgress };
async function savePlans(plans: Plan[], inst: Instance, opts: SaveOptions): Promise<void> {
  const { folderId, onProgress } = opts;
  // Dedup against the registry and within the batch.
  const existing = await filesByHash(inst, plans.map((p) => p.m.hash));
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
  // Content a replace() is registering: refused before any byte is written (and
  // again in the commit, where it counts).
  const hashes = inserts.map((p) => p.m.hash);
  await retryBusy(() => refuseReserved(inst.db, hashes, "nothing was saved"));
  await planVersions(inserts, inst);
  await refuseNested(inserts, inst);
  try {
    await moveAside(inserts, inst);
    await placeObjects(inserts, inst, onProgress);
    await commitAll(inserts, inst, folderId, sameAs);
  } catch (e) {
    await undo(inserts, inst);
    await undoMoves(inserts, inst);
    throw e;
  }
  for (const [file, ex] of sameAs) await adopt(inst, file, ex, folderId);
}

/**
 * An `IntegrityError`, before anything is written, for a plan whose key is
 * inside a registered file's key, or inside another key of the same save:
 * `a.zarr/x` would change the folder-like file `a.zarr`, `x.txt/y` make
 * `x.txt` a file and a folder; or whose key is a folder of registered
 * files' keys (see `refuseOverFiles`). (A folder saved over objects is
 * refused as it is placed.) Registrations in place write nothing. One
 * query per 500 distinct folders of the keys.
 */
async function refuseNested(plans: Plan[], inst: Instance): Promise<void> {
  // Each keyed plan with the folders its key is in (`a/b/c`: `a`, `a/b`), by `${sid}\0${key}`.
  const keyed = plans.flatMap((p) => {
    if (p.inPlace || p.key === null) return [];
    const sid = (p.storage ?? inst.storage).id;
    const parts = p.key.split("/");
    const folders = parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("/"));
    return [{ p, sid, key: p.key, folders }];
  });
  const refuse = (key: string, folder: string, what: string) => {
    throw new IntegrityError(
      `key ${key} is inside ${folder}, ${what}: a file's key holds no other file (in a ` +
        `folder-like file it would change its content); nothing was saved: choose a key outside it`,
    );
  };
  // Keys of this save, one inside another (`x.txt` and `x.txt/y` in one `ln.save()`).
  const saving = new Set(keyed.map(({ sid, key }) => `${sid}\0${key}`));
  for (const { sid, key, folders } of keyed) {
    const folder = folders.find((f) => saving.has(`${sid}\0${f}`));
    if (folder !== undefined) refuse(key, folder, "a key of this same save");
  }
  const above = new Map<string, Set<string>>(); // storage id -> folders the keys are in
  for (const { sid, folders } of keyed) {
    const set = above.get(sid) ?? above.set(sid, new Set()).get(sid)!;
    for (const f of folders) set.add(f);
  }
  const taken = new Map<string, string>(); // `${sid}\0${key}` -> file id
  for (const [sid, set] of above) {
    const distinct = [...set];
    for (let i = 0; i < distinct.length; i += 500) {
      const rows = await retryBusy(() =>
        // (is_latest: the index of keys is latest versions', whose objects are at their keys.)
        inst.db.selectFrom("file").select(["id", "key"]).where("storage_id", "=", sid)
          .where("is_latest", "=", 1).where("key_is_virtual", "=", 0)
          .where("key", "in", distinct.slice(i, i + 500))
          .execute()
      );
      for (const r of rows) taken.set(`${sid}\0${r.key}`, r.id);
    }
  }
  for (const { sid, key, folders } of keyed) {
    const folder = folders.find((f) => taken.has(`${sid}\0${f}`));
    if (folder !== undefined) {
      refuse(key, folder, `registered as file ${taken.get(`${sid}\0${folder}`)}`);
    }
  }
  await refuseOverFiles(plans, inst);
}

/**
 * An `IntegrityError` for a plan whose key is a folder of registered files'
 * keys (`z` over `z/a.txt`): on object storage both would be, and a copy of
 * either on disk (a cache, a local root) cannot. Each key's range of keys
 * below it (`z/` up to `z0`, `/` + 1: code point order, as keys are
 * compared) in the index of latest keys, 200 keys a query.
 */
async function refuseOverFiles(plans: Plan[], inst: Instance): Promise<void> {
  const bySid = new Map<string, string[]>();
  for (const p of plans) {
    if (p.inPlace || p.key === null) continue;
    const sid = (p.storage ?? inst.storage).id;
    (bySid.get(sid) ?? bySid.set(sid, []).get(sid)!).push(p.key);
  }
  for (const [sid, keys] of bySid) {
    const distinct = [...new Set(keys)];
    for (let i = 0; i < distinct.length; i += 200) {
      const part = distinct.slice(i, i + 200);
      const below = await retryBusy(() =>
        // Each range whole in its term of the OR: SQLite searches the index once a term
        // (with the storage and is_latest outside the OR, it scanned the storage's keys).
        inst.db.selectFrom("file").select(["id", "key"]).where("key_is_virtual", "=", 0)
          .where((eb) =>
            eb.or(part.map((k) =>
              eb.and([
                eb("storage_id", "=", sid),
                eb("is_latest", "=", 1),
                eb("key", ">=", `${k}/`),
                eb("key", "<", `${k}0`),
              ])
            ))
          ).limit(1).executeTakeFirst()
      );
      if (below) {
        const over = part.find((k) => below.key!.startsWith(`${k}/`)) ?? below.key;
        throw new IntegrityError(
          `key ${over} is a folder of registered files (${below.key} is file ${below.id}): a ` +
            `file there would hide them; nothing was saved: choose another key`,
        );
      }
    }
  }
}

async function plan(file: File, inst: Instance, onProgress?: OnProgress): Promise<Plan> {
  if (file._input?.kind === "remote") {
    return await planRemote(file, file._input.uri, inst, onProgress);
  }
  const { src, cleanup } = await materialize(file._input!);
  let m: Measured;
  let rel: string | undefined;
  try {
    // Where a local path is, before it is read: the root itself, a folder
    // above it and the managed folder are refused.
    if (src.kind === "path") rel = relativeToRoot(src.path, inst.backend);
    m = await measure(src, { onProgress, label: file.key ?? file.name ?? undefined });
  } catch (e) {
    await cleanup();
    throw e;
  }
  let inPlace = false;
  let key = file.key;
  if (src.kind === "path") {
    if (rel !== undefined && (key === null || key === rel)) {
      inPlace = true;
      key = validateKey(rel);
      if (m.entries) refuseLinksOut(src.path, m.entries, inst.backend);
    }
  }
  file.suffix = suffixOf(key ?? file.name ?? "") || file.suffix;
  return {
    file,
    src,
    cleanup,
    m,
    inPlace,
    key,
    objectKey: objectKey({ key, id: file.id, suffix: file.suffix }),
    pendingId: undefined,
    placed: [],
  };
}

/**
 * The key of a local path inside the root of `backend`, or undefined. Both
 * are resolved (symbolic links followed), as lamindb does: a path reached
 * through a link to outside the root is outside (and gets copied), one
 * through a link inside it gets its real key. A real path in the managed
 * `.lamindb/` folder (the registry, objects) is refused, however reached.
 */
function relativeToRoot(path: string, backend: StorageBackend): string | undefined {
  if (!backend.capabilities.localPaths) return undefined;
  // Synchronous: a save of 10,000 in-place files awaited 20,000 thread-pool round trips.
  const root = realOr(backend.root);
  const real = realOr(path);
  refuseRootOrAbove(path, real, root);
  if (!real.startsWith(root + sep)) return undefined;
  const rel = relative(root, real).split(sep).join("/");
  if (isManagedKey(rel)) {
    throw new InvalidKeyError(
      `cannot register ${path}: it is ${real}, inside the managed ".lamindb/" folder; ` +
        `register files outside it`,
    );
  }
  return rel;
}

/**
 * An `InvalidKeyError` when an entry of the folder `path`, registered in
 * place, is reached through a symbolic link to outside the root or into the
 * managed `.lamindb/` folder: its content would be registered as the
 * folder's, though reads of the folder refuse that entry (and writes never
 * go through a link).
 */
function refuseLinksOut(
  path: string,
  entries: { rel: string; path: string }[],
  backend: StorageBackend,
): void {
  const root = realOr(backend.root);
  for (const e of entries) {
    const real = realOr(e.path);
    const rel = real.startsWith(root + sep) ? relative(root, real).split(sep).join("/") : "";
    if (rel !== "" && !isManagedKey(rel)) continue;
    throw new InvalidKeyError(
      `cannot register ${path} in place: its entry ${e.rel} is a symbolic link to ${real}, ` +
        `${rel === "" ? "outside the storage root" : 'in the managed ".lamindb/" folder'}; ` +
        `remove the link, or save a copy of the folder under another key`,
    );
  }
}

/**
 * An `InvalidKeyError` when the real local path `real` (of `path`) is the
 * storage root `root` or a folder that contains it: registering it would
 * copy the registry database and every object into the root.
 */
export function refuseRootOrAbove(path: string, real: string, root: string): void {
  const above = root.startsWith(real.endsWith(sep) ? real : real + sep);
  if (real === root || above) {
    throw new InvalidKeyError(
      `cannot register ${path}: it ${real === root ? "is" : "contains"} the storage root ${root} ` +
        `(with the registry in its managed ".lamindb/" folder); register files or folders ` +
        `inside the root instead`,
    );
  }
}

/** The real path of `path` (links followed), or `path` resolved when it does not exist. */
export function realOr(path: string): string {
  try {
    return rt.realPathSync(path);
  } catch {
    return resolve(path);
  }
}

export function dataOf(src: RawInput): PutData | (() => Promise<PutData>) {
  if (src.kind === "bytes") return src.bytes;
  if (src.kind === "remote") throw new Error(`internal: ${src.uri} is registered in place`);
  const path = src.path;
  return () => rt.readStream(path);
}

export async function putOne(
  backend: StorageBackend,
  key: string,
  data: PutData | (() => Promise<PutData>),
  expect: { size: number; hash: string },
  overwrite: boolean,
  progress?: ProgressTracker,
): Promise<void> {
  const bytes = typeof data === "function" ? await data() : data;
  await backend.put(key, bytes, { expect, overwrite, progress });
}

async function placeObjects(plans: Plan[], inst: Instance, onProgress?: OnProgress) {
  const managed = plans.filter((p) => !p.inPlace);
  if (managed.length === 0) return;
  // Safe points for a kernel interrupt: before each object and before the commit (the undo runs).
  const check = interruptCheck("the save");
  const now = nowIso();
  for (const p of managed) p.pendingId = base62(20);
  await retryBusy(() =>
    inst.db.insertInto("pending_object").values(managed.map((p) => ({
      id: p.pendingId!,
      op: "save" as const,
      storage_id: inst.storage.id,
      key: p.objectKey,
      is_dir: p.m.entries ? 1 : 0,
      file_id: p.file.id,
      hash: p.m.hash,
      size: p.m.size,
      created_at: now,
    }))).execute()
  );
  crashPoint("save:after-journal");
  const phase = inst.backend.capabilities.localPaths ? "copy" : "upload";
  for (const p of managed) {
    check();
    const src = p.src;
    const label = p.key ?? p.file.name ?? p.objectKey;
    const t = startProgress(phase, p.m.size, { onProgress, label });
    if (p.m.entries) {
      // Objects already under the folder's key would become part of it.
      for await (const o of inst.backend.list(`${p.objectKey}/`)) {
        throw new StorageError(
          `objects already exist under ${inst.backend.uri(p.objectKey)}/ (${o.key}); ` +
            `saving a folder there would take them in; nothing was saved: choose another key`,
        );
      }
      // A folder's objects (a zarr store's chunks) several at once: each is
      // a round trip or more on object storage. Each one placed is noted
      // as it lands; a failure stops new ones and waits for those running,
      // so the undo sees every object placed.
      await pool(p.m.entries, FOLDER_PARALLEL, async (e) => {
        const k = `${p.objectKey}/${e.rel}`;
        await putOne(inst.backend, k, dataOf({ kind: "path", path: e.path }), e, false, t);
        p.placed.push(k);
      });
    } else {
      await putOne(inst.backend, p.objectKey, dataOf(src), p.m, false, t);
      p.placed.push(p.objectKey);
    }
    t?.end();
  }
  crashPoint("save:after-put");
  check();
}

async function undo(plans: Plan[], inst: Instance): Promise<void> {
  for (const p of plans) {
    for (const k of p.placed) await inst.backend.delete(k).catch(() => {});
    p.placed = [];
    if (p.pendingId) {
      await inst.db.deleteFrom("pending_object").where("id", "=", p.pendingId).execute()
        .catch(() => {});
      p.pendingId = undefined;
    }
  }
}

/** The row a plan commits: the file's fields through its mapping, with what the plan measured. */
function rowOf(p: Plan, inst: Instance, now: string): Row<"file"> {
  const run = p.file.run ?? inst.run;
  return {
    ...FILE_MODEL.toRow(p.file),
    name: p.file.name,
    description: p.file.description,
    size: p.m.size,
    hash: p.m.hash,
    hash_type: p.m.hashType,
    key: p.key,
    managed: p.inPlace ? 0 : 1,
    is_dir: p.m.entries ? 1 : 0,
    run_id: run?.id ?? null,
    transform_id: run?.transformId ?? null,
    transform_version: run?.transformVersion ?? null,
    storage_id: (p.storage ?? inst.storage).id,
    created_at: now,
    updated_at: now,
    created_by_id: inst.user.id,
    version: p.file.version,
    is_latest: 1,
    key_is_virtual: 0,
  };
}

async function insertLinks(
  trx: RegistryDb,
  file: File,
  options: { inputOf?: { id: string }[]; features?: { id: string }[] },
  folderId: string | undefined,
): Promise<void> {
  const inputs = (options.inputOf ?? []).map((r) => ({ run_id: r.id, file_id: file.id }));
  const features = (options.features ?? []).map((fs) => ({
    file_id: file.id,
    features_id: fs.id,
  }));
  if (inputs.length) {
    await trx.insertInto("run_input").values(inputs).onConflict((oc) => oc.doNothing()).execute();
  }
  if (features.length) {
    await trx.insertInto("file_features").values(features).onConflict((oc) => oc.doNothing())
      .execute();
  }
  if (folderId) {
    await trx.insertInto("folder_file").values({ folder_id: folderId, file_id: file.id })
      .onConflict((oc) => oc.doNothing()).execute();
  }
}

async function commit(plans: Plan[], inst: Instance, folderId: string | undefined) {
  const now = nowIso();
  for (const p of plans) {
    for (const fs of p.file._options.features ?? []) {
      if (!fs._saved) await fs._saveIn(inst);
    }
  }
  const rows = plans.map((p) => rowOf(p, inst, now));
  await retryBusy(() =>
    inst.db.transaction().execute(async (trx) => {
      const hashes = rows.map((r) => r.hash);
      await lockHashes(trx, hashes);
      await retirePrevious(trx, plans, now);
      for (let i = 0; i < rows.length; i += 50) {
        await trx.insertInto("file").values(rows.slice(i, i + 50)).execute();
      }
      // (After a write: on SQLite this transaction holds the write lock now.)
      await refuseReserved(trx, hashes, "nothing was saved");
      await indexForSearch(trx, "file", rows, true);
      for (const p of plans) await insertLinks(trx, p.file, p.file._options, folderId);
      const pending = plans.map((p) => p.pendingId).filter((x) => x !== undefined);
      for (let i = 0; i < pending.length; i += 500) {
        await trx.deleteFrom("pending_object").where("id", "in", pending.slice(i, i + 500))
          .execute();
      }
      crashPoint("save:in-commit");
    })
  );
  crashPoint("save:after-commit");
  for (const [i, p] of plans.entries()) {
    const f = p.file;
    f._setRow(rows[i], inst);
    f.run = f.run ?? inst.run;
    f.transform = f.run?.transform;
    f.storage = p.storage ?? inst.storage;
    f.createdBy = inst.user;
    f._input = undefined;
    p.placed = [];
    p.pendingId = undefined;
    if (p.succession) p.succession.state = "committed";
  }
  // The file a new version revises, as the caller holds it, is no longer the latest (and its
  // object may have moved to `.lamindb/`): read it again, so that it reads its own content.
  for (const p of plans) {
    const rev = p.file._options.revises;
    if (!p.succession || !rev || rev === p.file) continue;
    try {
      const row = await retryBusy(() =>
        inst.db.selectFrom("file").selectAll().where("id", "=", rev.id).executeTakeFirst()
      );
      if (row) rev._setRow(row, inst);
    } catch (e) {
      // The save is committed: it does not fail for this (the record stays as it was read).
      log.debug(`could not read file ${rev.id} again after its new version: ${e}`);
    }
  }
}

/**
 * Commit all plans in one transaction; if a uniqueness rule fires (another
 * process saved the same content or key meanwhile), commit one by one and
 * resolve each conflict.
 */
async function commitAll(
  plans: Plan[],
  inst: Instance,
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
      const ex = (await filesByHash(inst, [p.m.hash])).get(p.m.hash);
      if (!ex) {
        throw new IntegrityError(
          `key ${p.key} was registered by someone else while saving ${p.file.name ?? p.file.id}; ` +
            `nothing was saved; choose another key`,
          { cause: e },
        );
      }
      // Our copy is redundant (the other writer's object stays), and so is our new
      // version: the previous one's object, moved aside for it, goes back to the key.
      await undo([p], inst);
      await undoMoves([p], inst);
      sameAs.push([p.file, ex]);
    }
  }
}

async function adopt(
  inst: Instance,
  file: File,
  existing: File,
  folderId: string | undefined,
): Promise<void> {
  const options = file._options;
  log.info(
    `returning existing file with same hash: ${existing.id} (${
      existing.key ?? existing._objectKey
    }); nothing new was stored`,
  );
  file._adopt(existing);
  await retryBusy(() =>
    inst.db.transaction().execute((trx) => insertLinks(trx, file, options, folderId))
  );
}

/** Registered files by hash (related records joined). */
export async function filesByHash(inst: Instance, hashes: string[]): Promise<Map<string, File>> {
  const files = await FILES(inst).filter({ hash: [...new Set(hashes)] });
  return new Map(files.map((f) => [f.hash!, f]));
}
