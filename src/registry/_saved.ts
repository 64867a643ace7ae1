// Whether the records a write refers to are in the registry, checked before
// writing: an unsaved record is a ValidationError saying to save it first,
// instead of the database's own foreign-key error (which differs between
// libSQL and PostgreSQL).
import type { Kysely } from "kysely";
import { ValidationError } from "../errors.ts";
import type { Database } from "./schema.ts";

/** Tables whose records link tables and files refer to by `id`. */
export type SavedTable = "run" | "file" | "features" | "folder" | "ulabel" | "collection";

const LABEL: Record<SavedTable, string> = {
  run: "Run",
  file: "File",
  features: "Features",
  folder: "Folder",
  ulabel: "ULabel",
  collection: "Collection",
};

/**
 * A `ValidationError` unless every id of `ids` is a record of `table` in
 * `db` (one query per 500 ids). `what` says where it was passed, for the
 * message.
 */
export async function assertSaved(
  db: Kysely<Database>,
  table: SavedTable,
  ids: readonly string[],
  what = "",
): Promise<void> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return; // no round trip
  const found = new Set<string>();
  for (let i = 0; i < wanted.length; i += 500) {
    const rows = await db.selectFrom(table as "run").select("id")
      .where("id", "in", wanted.slice(i, i + 500)).execute();
    for (const r of rows) found.add(r.id);
  }
  const missing = wanted.find((id) => !found.has(id));
  if (missing !== undefined) {
    throw new ValidationError(
      `${what ? `${what}: ` : ""}the ${LABEL[table]} ${missing} is not saved in this instance; ` +
        `call save() first (nothing was changed)`,
    );
  }
}

/** A `ValidationError` unless the transform version `(id, version)` is in `db`. */
export async function assertTransformSaved(
  db: Kysely<Database>,
  id: string,
  version: string,
): Promise<void> {
  const row = await db.selectFrom("transform").select("id").where("id", "=", id)
    .where("version", "=", version).executeTakeFirst();
  if (!row) {
    throw new ValidationError(
      `the Transform ${id} (version ${version}) is not saved in this instance; ` +
        `call transform.save() first (nothing was changed)`,
    );
  }
}
