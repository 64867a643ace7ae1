import { type Dialect, Kysely, Migrator } from "kysely";
import { SchemaVersionError, StorageError } from "../errors.ts";
import { retryBusy, typedErrors } from "./_db_errors.ts";
import { migrationProvider, MIGRATIONS } from "./migrations.ts";
import type { Database } from "./schema.ts";

/** The schema version this library writes: the number of its migrations. */
export const SCHEMA_VERSION: number = Object.keys(MIGRATIONS).length;

/** The typed registry connection. */
export type RegistryDb = Kysely<Database>;

/**
 * Open a registry through any kysely `Dialect` and migrate it forward.
 * Refuses, without changing anything, a registry written by a newer schema.
 */
export async function openRegistry(dialect: Dialect): Promise<RegistryDb> {
  const db = new Kysely<Database>({ dialect: typedErrors(dialect) });
  try {
    await refuseNewer(db);
    await retryBusy(async () => {
      const { error } = await new Migrator({ db, provider: migrationProvider })
        .migrateToLatest();
      if (error) throw error;
    });
    await retryBusy(() =>
      db.insertInto("lamin_meta").values({ key: "schema_version", value: String(SCHEMA_VERSION) })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value: String(SCHEMA_VERSION) }))
        .execute()
    );
    return db;
  } catch (e) {
    await db.destroy().catch(() => {});
    if (e instanceof SchemaVersionError) throw e;
    throw new StorageError(`could not open the registry: ${(e as Error)?.message ?? e}`, {
      cause: e,
    });
  }
}

async function refuseNewer(db: RegistryDb): Promise<void> {
  const tables = await retryBusy(() =>
    db.introspection.getTables({ withInternalKyselyTables: true })
  );
  if (!tables.some((t) => t.name === "kysely_migration")) return;
  // deno-lint-ignore no-explicit-any
  const raw = db as Kysely<any>;
  const rows = await retryBusy(() => raw.selectFrom("kysely_migration").select("name").execute());
  const unknown = rows.map((r) => String(r.name)).filter((n) => !(n in MIGRATIONS));
  if (unknown.length > 0) {
    throw new SchemaVersionError(
      `this registry was written by a newer lamindeno (it has migrations ${
        unknown.join(", ")
      } that this version, schema ${SCHEMA_VERSION}, does not know); ` +
        `nothing was changed: upgrade @lamindeno/lamindb to open it`,
    );
  }
}
