import { type Dialect, Kysely, Migrator } from "kysely";
import { NotFoundError, SchemaVersionError, StorageError } from "../errors.ts";
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
  return (await openRegistryReporting(dialect)).db;
}

/**
 * {@linkcode openRegistry}, telling whether the registry was created (had
 * no schema before). With `create: false` an empty registry is refused with
 * `NotFoundError`, nothing written.
 */
export async function openRegistryReporting(
  dialect: Dialect,
  options: { create?: boolean } = {},
): Promise<{ db: RegistryDb; created: boolean }> {
  const db = new Kysely<Database>({ dialect: typedErrors(dialect) });
  let created = false;
  try {
    // A registry that is up to date is only read here, so a role that may
    // only read (a shared registry's readers) can open it.
    const have = await refuseNewer(db);
    if (have === 0 && options.create === false) {
      throw new NotFoundError(
        "the registry has no lamindeno schema and create: false refuses to create one; " +
          "call init without create: false to create the instance",
      );
    }
    created = have === 0;
    if (have < SCHEMA_VERSION) {
      await retryBusy(async () => {
        const { error } = await new Migrator({ db, provider: migrationProvider })
          .migrateToLatest();
        if (error) throw error;
      });
    }
    const version = await retryBusy(() =>
      db.selectFrom("lamin_meta").select("value").where("key", "=", "schema_version")
        .executeTakeFirst()
    );
    if (version?.value !== String(SCHEMA_VERSION)) {
      await retryBusy(() =>
        db.insertInto("lamin_meta").values({ key: "schema_version", value: String(SCHEMA_VERSION) })
          .onConflict((oc) => oc.column("key").doUpdateSet({ value: String(SCHEMA_VERSION) }))
          .execute()
      );
    }
    return { db, created };
  } catch (e) {
    await db.destroy().catch(() => {});
    if (e instanceof SchemaVersionError || e instanceof NotFoundError) throw e;
    throw new StorageError(`could not open the registry: ${(e as Error)?.message ?? e}`, {
      cause: e,
    });
  }
}

/** kysely's own bookkeeping table, typed. */
type MigrationTables = {
  kysely_migration: { name: string; timestamp: string };
};

/** How many of our migrations the registry has; a `SchemaVersionError` if it has unknown ones. */
async function refuseNewer(db: RegistryDb): Promise<number> {
  const tables = await retryBusy(() =>
    db.introspection.getTables({ withInternalKyselyTables: true })
  );
  if (!tables.some((t) => t.name === "kysely_migration")) return 0;
  const rows = await retryBusy(() =>
    db.withTables<MigrationTables>().selectFrom("kysely_migration").select("name").execute()
  );
  const unknown = rows.map((r) => r.name).filter((n) => !(n in MIGRATIONS));
  if (unknown.length > 0) {
    throw new SchemaVersionError(
      `this registry was written by a newer lamindeno (it has migrations ${
        unknown.join(", ")
      } that this version, schema ${SCHEMA_VERSION}, does not know); ` +
        `nothing was changed: upgrade @lamindeno/lamindb to open it`,
    );
  }
  return rows.length;
}
