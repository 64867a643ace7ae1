import * as rt from "./_runtime.ts";
import { join, sep } from "node:path";
import { IntegrityError, InvalidKeyError } from "./errors.ts";
import { log } from "./_log.ts";
import { defaultInstance, Instance } from "./registry/instance.ts";
import { copyStaged, deleteObject, isStagingKey, objectExists } from "./registry/_replace.ts";
import { fsckMove } from "./registry/_versions.ts";
import { hashFile, hashStream } from "./storage/hash.ts";
import { hashDirectory } from "./storage/hash.ts";
import { MANAGED_PREFIX, objectKey, suffixOf } from "./storage/key.ts";
import { TMP_PREFIX } from "./storage/local.ts";
import type { StorageBackend } from "./storage/storage.ts";
import { LazySchema } from "./storage/_validate.ts";

/** Options of {@linkcode fsck}. */
export interface FsckOptions {
  /** Remove leftovers and orphans, finish interrupted replaces. Default `false`. */
  repair?: boolean;
  /** Hash every object (default `true`); `false` compares sizes only. */
  hash?: boolean;
  /** The instance to check (default: the one `ln.init()` opened). */
  instance?: Instance;
}

/**
 * The zod schema of {@linkcode FsckOptions} (zod loads on first use), what
 * `fsck` checks its options with: `parse` throws a `ValidationError`
 * naming the field, what was expected and what was got.
 *
 * @example
 * ```ts
 * import { FsckOptionsSchema } from "@lamindeno/lamindb";
 * console.assert((await FsckOptionsSchema.safeParse({ repair: true })).success);
 * const bad = await FsckOptionsSchema.safeParse({ repair: "yes" });
 * console.assert(!bad.success && bad.error.message.includes("repair"));
 * ```
 */
export const FsckOptionsSchema: LazySchema<FsckOptions> = new LazySchema(
  "ln.fsck() options",
  (z) =>
    z.strictObject({
      repair: z.boolean().optional(),
      hash: z.boolean().optional(),
      instance: z.instanceof(Instance, { error: "an Instance from ln.connect()" }).optional(),
    }, { error: "an object like { repair: true }" }),
);

/** A registered file whose object is missing or differs from the row. */
export interface FsckProblem {
  /** File id. */
  id: string;
  /** Where the object is (or should be). */
  path: string;
  /** What is wrong, e.g. `"size 10 != 12"`. */
  detail: string;
}

/** What {@linkcode fsck} found; every field is empty on a healthy instance. */
export interface FsckReport {
  /** Temporary files of interrupted writes (`.lamindb/.tmp/`). Repair deletes them. */
  leftovers: string[];
  /** Objects lamindeno wrote that no file row references. Repair deletes them. */
  orphans: string[];
  /**
   * Replaces whose new object was moved into place but whose row was not
   * updated (repair finishes them), and new versions interrupted before
   * their commit whose predecessor's object was being moved aside (repair
   * moves it back).
   */
  interrupted: FsckProblem[];
  /** Rows whose object is missing. Reported only. */
  missing: FsckProblem[];
  /** Rows whose object has another size or hash. Reported only. */
  mismatched: FsckProblem[];
}

/**
 * Check the registry against the storage: every row's object present with
 * the recorded size and md5, no leftovers of interrupted writes.
 * `{ repair: true }` removes leftovers and orphans and finishes interrupted
 * replaces; it never deletes a row, nor anything reached through a symbolic
 * link, nor a path that is (or holds, or lies in) a registered object's real
 * path: such paths are left alone with a warning.
 *
 * @example A fresh instance is healthy
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * await new ln.File(new Uint8Array([1]), { key: "one.bin" }).save();
 * const report = await ln.fsck();
 * console.assert(Object.values(report).every((v) => v.length === 0));
 * await ln.close();
 * ```
 */
export async function fsck(options: FsckOptions = {}): Promise<FsckReport> {
  await FsckOptionsSchema.parse(options);
  const inst = (options.instance ?? defaultInstance()).assertOpen();
  const db = inst.db;
  const backend = inst.backend;
  const repair = options.repair ?? false;
  const report: FsckReport = {
    leftovers: [],
    orphans: [],
    interrupted: [],
    missing: [],
    mismatched: [],
  };

  const rows = await db.selectFrom("file").selectAll().where("storage_id", "=", inst.storage.id)
    .execute();
  const keep = deletionGuard(backend, rows);
  /** Report `key` in `list` and (on repair) delete it, unless `keep` says why not. */
  const removable = async (list: string[], key: string, isDir: boolean) => {
    const why = await keep(key);
    if (why) return log.warn(`fsck leaves ${backend.uri(key)} alone: ${why}`);
    list.push(backend.uri(key));
    if (!repair) return;
    try {
      await deleteObject(backend, key, isDir);
    } catch (e) {
      // A link swapped in meanwhile: the backend refuses, nothing is deleted.
      if (!(e instanceof InvalidKeyError)) throw e;
      log.warn(`fsck left ${backend.uri(key)} in place: ${e.message}`);
    }
  };

  for await (const o of backend.list(TMP_PREFIX)) await removable(report.leftovers, o.key, false);

  const byId = new Map(rows.map((r) => [r.id, r]));
  const registeredKeys = new Set(rows.map((r) => keyOf(r)));
  const inJournal = new Set<string>();

  const pending = await db.selectFrom("pending_object").selectAll()
    .where("storage_id", "=", inst.storage.id).execute();
  for (const p of pending) {
    const key = String(p.key);
    const row = byId.get(String(p.file_id));
    inJournal.add(key);
    let present: boolean;
    try {
      present = await objectExists(backend, key, p.is_dir === 1);
    } catch (e) {
      if (!(e instanceof InvalidKeyError)) throw e;
      log.warn(`fsck leaves ${backend.uri(key)} alone: ${e.message}`);
      if (repair) await db.deleteFrom("pending_object").where("id", "=", p.id).execute();
      continue;
    }
    if (p.op === "move") {
      const detail = await fsckMove(backend, { key }, row, async (k, isDir) => {
        return (await objectHash(backend, k, isDir).catch(() => undefined))?.hash;
      }, repair);
      if (detail && row) {
        report.interrupted.push({ id: String(row.id), path: backend.uri(key), detail });
      }
    } else if (p.op === "replace" && isStagingKey(key)) {
      // A folder's new content, staged beside it: copied over it once the
      // row says so (the commit happened), else never to be used.
      if (row && row.hash === p.hash && present) {
        const target = keyOf(row);
        const done = (await objectHash(backend, target, true))?.hash === p.hash;
        report.interrupted.push({
          id: String(row.id),
          path: backend.uri(target),
          detail: done
            ? `a replace() finished copying the new content; repair removes ${backend.uri(key)}`
            : `a replace() was interrupted while copying the new content from ` +
              `${backend.uri(key)}; repair finishes the copy`,
        });
        if (repair && done) await deleteObject(backend, key, true);
        else if (repair) {
          // A crash while the staged copy was being removed leaves part of it.
          if ((await objectHash(backend, key, true))?.hash !== p.hash) {
            throw new IntegrityError(
              `${
                backend.uri(key)
              } does not hold the content ${p.hash} any more; nothing was copied`,
            );
          }
          await copyStaged(backend, key, target, String(p.hash));
        }
      } else if (present) await removable(report.orphans, key, true);
    } else if (p.op === "replace" && row && present && row.hash !== p.hash) {
      const actual = await objectHash(backend, key, p.is_dir === 1);
      if (actual?.hash === p.hash) {
        report.interrupted.push({
          id: String(row.id),
          path: backend.uri(key),
          detail: `object has the new content ${p.hash}; row still says ${row.hash}`,
        });
        // Another file registered that content meanwhile (hashes are unique): the
        // replace cannot be finished; the row stays (reported as mismatched below).
        const taken = repair &&
          (await db.selectFrom("file").select("id").where("hash", "=", String(p.hash))
            .where("id", "!=", row.id).executeTakeFirst());
        if (taken) {
          log.warn(
            `fsck cannot finish the replace of file ${row.id}: its new content ${p.hash} is ` +
              `registered as file ${taken.id} since; the row keeps its old hash (delete the row, ` +
              `or replace its content again)`,
          );
        }
        if (repair && !taken) {
          // Finish it as replace() would have: the row takes the new object
          // (its key and suffix too, when the suffix changed), and a managed
          // old object at another key goes.
          const oldKey = keyOf(row);
          const newKey = row.key === null ? null : key;
          const suffix = newKey === null
            ? key.slice(`${MANAGED_PREFIX}${row.id}`.length)
            : (newKey === row.key ? row.suffix : suffixOf(newKey));
          await db.updateTable("file").set({
            hash: String(p.hash),
            size: Number(p.size),
            key: newKey,
            suffix,
            managed: oldKey === key ? row.managed : 1,
            updated_at: new Date().toISOString(),
          }).where("id", "=", row.id).execute();
          Object.assign(row, {
            hash: String(p.hash),
            size: Number(p.size),
            key: newKey,
            suffix,
            managed: oldKey === key ? row.managed : 1,
          });
          if (oldKey !== key && row.managed === 1) {
            await deleteObject(backend, oldKey, p.is_dir === 1).catch(() => {});
          }
        }
      } else if (present && keyOf(row) !== key) {
        await removable(report.orphans, key, p.is_dir === 1);
      }
    } else if ((p.op === "save" && !row) || (p.op === "delete" && !row)) {
      // A path another row's object is at (a new version's path given back
      // to its predecessor) is not the interrupted write's to remove.
      if (present && !registeredKeys.has(key)) {
        await removable(report.orphans, key, p.is_dir === 1);
      }
    }
    if (repair) await db.deleteFrom("pending_object").where("id", "=", p.id).execute();
  }

  // Objects in .lamindb/ named after no file row.
  const seen = new Set<string>();
  for await (const o of backend.list(MANAGED_PREFIX)) {
    // The registry itself (lamin.db, its WAL and lock files) is not an object.
    if (o.key.startsWith(TMP_PREFIX) || /^\.lamindb\/lamin\.db/.test(o.key)) continue;
    const top = o.key.slice(MANAGED_PREFIX.length).split("/")[0];
    const id = top.slice(0, 20);
    const row = byId.get(id);
    const owned = row && `${MANAGED_PREFIX}${top}` === keyOf(row);
    const topKey = `${MANAGED_PREFIX}${top}`;
    if (owned || inJournal.has(topKey) || seen.has(topKey)) continue;
    seen.add(topKey);
    await removable(report.orphans, topKey, top !== o.key.slice(MANAGED_PREFIX.length));
  }

  const interrupted = new Set(report.interrupted.map((p) => p.id));
  for (const r of rows) {
    if (interrupted.has(String(r.id)) && !repair) continue; // already reported
    const key = keyOf(r);
    const isDir = r.is_dir === 1;
    const problem = (detail: string) => ({ id: String(r.id), path: backend.uri(key), detail });
    let actual: { size: number; hash?: string } | undefined;
    try {
      actual = await objectHash(backend, key, isDir, options.hash === false);
    } catch (e) {
      if (!(e instanceof InvalidKeyError)) throw e;
      report.missing.push(problem(`not readable where its key says: ${e.message}`));
      continue;
    }
    if (!actual) report.missing.push(problem("no object"));
    else if (actual.size !== Number(r.size)) {
      report.mismatched.push(problem(`size ${actual.size} != recorded ${r.size}`));
    } else if (actual.hash !== undefined && actual.hash !== r.hash) {
      report.mismatched.push(problem(`md5 ${actual.hash} != recorded ${r.hash}`));
    }
  }
  return report;
}

/**
 * Why repair must leave `key` alone, or undefined: a path reached through a
 * symbolic link, or whose real path is, holds or lies in the real path of a
 * registered object (e.g. `.lamindb/x` that a row's key reaches through a
 * link). The registered paths are resolved once, on first need.
 */
function deletionGuard(
  backend: StorageBackend,
  rows: { key: string | null; id: string; suffix: string }[],
): (key: string) => Promise<string | undefined> {
  let registered: string[] | undefined;
  let realRoot: string | undefined;
  const realOf = async (key: string) => {
    const local = backend.localPath(key);
    return local === undefined ? undefined : await rt.realPath(local).catch(() => undefined);
  };
  return async (key) => {
    if (!backend.capabilities.localPaths) return undefined;
    let real: string | undefined;
    try {
      real = await realOf(key);
    } catch (e) {
      if (e instanceof InvalidKeyError) return e.message;
      throw e;
    }
    if (real === undefined) return undefined;
    realRoot ??= await rt.realPath(backend.root);
    if (real !== join(realRoot, ...key.split("/"))) {
      return `it is reached through a symbolic link (its real path is ${real})`;
    }
    if (registered === undefined) {
      registered = [];
      for (const r of rows) {
        const p = await realOf(keyOf(r)).catch(() => undefined);
        if (p !== undefined) registered.push(p);
      }
    }
    const hit = registered.find((p) =>
      p === real || p.startsWith(real + sep) || real.startsWith(p + sep)
    );
    return hit && `it is the real path of a registered object (${hit})`;
  };
}

async function objectHash(
  backend: StorageBackend,
  key: string,
  isDir: boolean,
  sizeOnly = false,
): Promise<{ size: number; hash?: string } | undefined> {
  if (isDir) {
    const entries: { path: string; hash: string }[] = [];
    let size = 0;
    for await (const o of backend.list(`${key}/`)) {
      size += o.size;
      if (!sizeOnly) {
        entries.push({ path: o.key.slice(key.length + 1), hash: (await hashOne(backend, o.key))! });
      }
    }
    if (entries.length === 0 && size === 0 && !(await objectExists(backend, key, true))) {
      return undefined;
    }
    return sizeOnly ? { size } : { size, hash: hashDirectory(entries) };
  }
  const head = await backend.head(key);
  if (!head) return undefined;
  if (sizeOnly) return { size: head.size };
  return { size: head.size, hash: await hashOne(backend, key) };
}

async function hashOne(backend: StorageBackend, key: string): Promise<string | undefined> {
  const local = backend.localPath(key);
  if (local) return (await hashFile(local)).hash;
  const s = await backend.get(key);
  return s ? (await hashStream(s)).hash : undefined;
}

/**
 * A row's object key. A key registered before today's key rules (say, with
 * a control character) is given as stored, for the storage backend to
 * refuse (reported as missing), rather than stopping the whole check.
 */
function keyOf(row: Parameters<typeof objectKey>[0]): string {
  try {
    return objectKey(row);
  } catch (e) {
    if (e instanceof InvalidKeyError && typeof row.key === "string") return row.key;
    throw e;
  }
}
