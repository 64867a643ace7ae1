// Saving and deleting a collection: deduplicated by the hash of its ordered
// member ids, versioned like files (a saved name, or `revises`, makes the
// next version: 16 shared id characters, a counter in the last 4).
import { IntegrityError, NotFoundError, ValidationError } from "../errors.ts";
import { log } from "../_log.ts";
import { nextVersionId } from "../_ids.ts";
import { sameFamily } from "./_versions.ts";
import { hashBytes } from "../storage/hash.ts";
import { isUniqueViolation, retryBusy } from "./_db_errors.ts";
import { indexForSearch, unindexForSearch } from "./_search_index.ts";
import { nowIso, type Row } from "./_model.ts";
import type { Collection } from "./collection.ts";
import type { Instance } from "./instance.ts";

/** The rows of a collection's version family, oldest first. */
export async function familyRows(inst: Instance, id: string): Promise<Row<"collection">[]> {
  const rows = await retryBusy(() =>
    inst.db.selectFrom("collection").selectAll()
      .where(...sameFamily(id)).execute()
  );
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const CHUNK = 500;

/** md5 of the ordered member ids: the collection's identity. */
export function collectionHash(fileIds: readonly string[]): string {
  return hashBytes(new TextEncoder().encode(fileIds.join("\n")));
}

async function byHash(inst: Instance, hash: string): Promise<Row<"collection"> | undefined> {
  return await retryBusy(() =>
    inst.db.selectFrom("collection").selectAll().where("hash", "=", hash).executeTakeFirst()
  );
}

/** Insert `c` (or become the saved collection of the same files); see `Collection.save`. */
export async function saveCollection(inst: Instance, c: Collection): Promise<void> {
  if (c._saved) {
    await retryBusy(() =>
      inst.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable("collection")
          .set({ description: c.description, version: c.version, updated_at: nowIso() })
          .where("id", "=", c.id).returning("is_latest").executeTakeFirst();
        if (r?.is_latest) {
          await indexForSearch(trx, "collection", [{
            id: c.id,
            name: c.name,
            description: c.description,
          }]);
        }
      })
    );
    return;
  }
  const files = c._files ?? [];
  for (const f of files) {
    if (f._instance && f._instance !== inst) {
      throw new ValidationError(`file ${f.id} is in another instance; collect files of one`);
    }
  }
  const ids = files.map((f) => f.id);
  const present = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const rows = await retryBusy(() =>
      inst.db.selectFrom("file").select("id").where("id", "in", part).execute()
    );
    for (const r of rows) present.add(r.id);
  }
  const gone = ids.find((id) => !present.has(id));
  if (gone) throw new ValidationError(`file ${gone} is not in the registry (deleted?)`);
  const hash = collectionHash(ids);
  const same = await byHash(inst, hash);
  if (same) {
    log.info(`collection ${same.id} ("${same.name}") holds the same files; returning it`);
    c._setRow(same, inst);
    c._files = undefined;
    return;
  }
  const revises = c._options.revises;
  let previous: Row<"collection"> | undefined;
  if (revises) {
    previous = (await familyRows(inst, revises.id)).find((r) => r.is_latest === 1);
    if (!previous) {
      throw new ValidationError(`revises: collection ${revises.id} is not in the registry`);
    }
  } else {
    previous = await retryBusy(() =>
      inst.db.selectFrom("collection").selectAll().where("name", "=", c.name)
        .where("is_latest", "=", 1).executeTakeFirst()
    );
  }
  if (previous) {
    const family = (await familyRows(inst, previous.id)).map((r) => r.id);
    if (family.length === 0) {
      throw new IntegrityError(
        `collection ${previous.id}, the version this one follows, was deleted by another ` +
          `writer meanwhile; nothing was saved: save it again`,
      );
    }
    c.id = nextVersionId(family);
  }
  const run = c._options.run ?? inst.run;
  const now = nowIso();
  const row: Row<"collection"> = {
    id: c.id,
    name: c.name,
    description: c.description,
    version: c.version,
    is_latest: 1,
    hash,
    run_id: run?.id ?? null,
    transform_id: run?.transformId ?? null,
    transform_version: run?.transformVersion ?? null,
    created_at: now,
    updated_at: now,
    created_by_id: inst.user.id,
  };
  try {
    await retryBusy(() =>
      inst.db.transaction().execute(async (trx) => {
        if (previous) {
          const r = await trx.updateTable("collection").set({ is_latest: 0, updated_at: now })
            .where("id", "=", previous.id).where("is_latest", "=", 1).executeTakeFirst();
          if (Number(r.numUpdatedRows) !== 1) {
            throw new IntegrityError(
              `another version of collection "${previous.name}" was saved meanwhile; nothing ` +
                `was saved: save again`,
            );
          }
        }
        if (previous) await unindexForSearch(trx, "collection", [previous.id]);
        await trx.insertInto("collection").values(row).execute();
        await indexForSearch(trx, "collection", [row], true);
        const links = ids.map((file_id, position) => ({ collection_id: c.id, file_id, position }));
        for (let i = 0; i < links.length; i += CHUNK) {
          await trx.insertInto("collection_file").values(links.slice(i, i + CHUNK)).execute();
        }
      })
    );
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const raced = await byHash(inst, hash);
    if (raced) {
      c._setRow(raced, inst);
      c._files = undefined;
      return;
    }
    throw new IntegrityError(
      `another collection named "${c.name}" was saved meanwhile; nothing was saved: save again ` +
        `to make the next version`,
      { cause: e },
    );
  }
  c._setRow(row, inst);
  c._files = undefined;
  // The collection it revises, as the caller holds it, is no longer the latest.
  if (revises && previous && revises.id === previous.id) {
    revises._setRow({ ...previous, is_latest: 0, updated_at: now }, inst);
  }
}

/** Delete a collection's record and links; the newest remaining version becomes latest. */
export async function deleteCollection(inst: Instance, c: Collection): Promise<void> {
  await retryBusy(() =>
    inst.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("collection_file").where("collection_id", "=", c.id).execute();
      await trx.deleteFrom("collection_ulabel").where("collection_id", "=", c.id).execute();
      await trx.deleteFrom("run_input_collection").where("collection_id", "=", c.id).execute();
      await unindexForSearch(trx, "collection", [c.id]);
      const gone = await trx.deleteFrom("collection").where("id", "=", c.id)
        .returning("is_latest").executeTakeFirst();
      if (!gone) {
        throw new NotFoundError(
          `collection ${c.id} was deleted since this record was read; nothing was deleted`,
        );
      }
      if (!gone.is_latest) return;
      // The newest remaining version: the largest id in code point order (picked
      // here: PostgreSQL's default collation orders "000a" before "000A").
      const family = await trx.selectFrom("collection").select(["id", "name", "description"])
        .where(...sameFamily(c.id)).execute();
      const next = family.reduce<typeof family[number] | undefined>(
        (best, r) => (best === undefined || r.id > best.id ? r : best),
        undefined,
      );
      if (next) {
        const promoted = await trx.updateTable("collection").set({ is_latest: 1 })
          .where("id", "=", next.id).executeTakeFirst();
        if (Number(promoted.numUpdatedRows) !== 1) {
          // (PostgreSQL: another writer deleted that version meanwhile.)
          throw new IntegrityError(
            `collection ${next.id}, the version to become the latest, was deleted by another ` +
              `writer meanwhile; nothing was deleted: try again`,
          );
        }
        await indexForSearch(trx, "collection", [next], true);
      }
    })
  );
  c._saved = false;
}
