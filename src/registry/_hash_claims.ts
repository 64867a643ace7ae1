// Content being registered: a hash is registered once (file_hash_unique), but
// a replace() writes its new content over the file's object before the row
// says so. Another writer registering the same content in between would win
// the unique hash, and the replace's commit would fail with its content
// already over the old one. So a replace reserves its new hash from its
// claim on (its journal row, op "replace"), and every registration of
// content checks the reservations, both inside transactions that first
// serialize on the hashes they touch.
import { sql } from "kysely";
import { IntegrityError } from "../errors.ts";
import type { RegistryDb } from "./db.ts";
import { isPostgres } from "./_model.ts";

/**
 * Serialize the transactions touching `hashes` across writers, until `trx`
 * ends. SQLite runs one writer at a time already (callers check after
 * their first write, holding the write lock); PostgreSQL's READ COMMITTED
 * would let two transactions each check, see nothing, and both go on, so
 * there each hash takes a transaction-level advisory lock (in one order:
 * a deadlock between two batches is retried as busy anyway).
 */
export async function lockHashes(trx: RegistryDb, hashes: readonly string[]): Promise<void> {
  if (!isPostgres(trx) || hashes.length === 0) return;
  const sorted = [...new Set(hashes)].sort();
  for (let i = 0; i < sorted.length; i += 1000) {
    await sql`select pg_advisory_xact_lock(k) from (
      select hashtextextended(h, 1453) as k from unnest(${sorted.slice(i, i + 1000)}::text[]) h
      order by h) s`.execute(trx);
  }
}

/**
 * Refuse, inside `trx` (after {@linkcode lockHashes}), content that a
 * replace() of another file is registering: `what` says what was refused.
 */
export async function refuseReserved(
  trx: RegistryDb,
  hashes: readonly string[],
  what: string,
  exceptFileId?: string,
): Promise<void> {
  const unique = [...new Set(hashes)];
  for (let i = 0; i < unique.length; i += 500) {
    let q = trx.selectFrom("pending_object").select(["file_id", "hash"])
      .where("op", "=", "replace").where("hash", "in", unique.slice(i, i + 500));
    if (exceptFileId !== undefined) q = q.where("file_id", "!=", exceptFileId);
    const r = await q.executeTakeFirst();
    if (r) {
      throw new IntegrityError(
        `this content (${r.hash}) is being registered by a replace() of file ${r.file_id} ` +
          `(in progress, or interrupted: ln.fsck({ repair: true }) finishes it); ${what}: ` +
          `try again once it is done, the content then is that file's`,
      );
    }
  }
}
