// A registry as the release before labels and run params wrote it: only the
// migrations named before "0004" applied. Upgrade tests build their fixture
// databases with this, then open them with `ln.init`.
import { type Kysely, type Migration, Migrator } from "kysely";
import { MIGRATIONS } from "../../src/registry/migrations.ts";
import { assertEquals } from "../_helpers.ts";

/** Apply the previous release's migrations (0001–0003) to `db`, and nothing newer. */
export async function migrateToPreviousRelease<DB>(db: Kysely<DB>): Promise<void> {
  const names = await migrateBefore(db, "0004");
  assertEquals(names, ["0001_initial", "0002_feature_members", "0003_run_cell"]);
}

/** Apply the migrations named before `before` (e.g. "0009") to `db`; their names. */
export async function migrateBefore<DB>(db: Kysely<DB>, before: string): Promise<string[]> {
  const old: Record<string, Migration> = Object.fromEntries(
    Object.entries(MIGRATIONS).filter(([name]) => name < before),
  );
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(old) },
  }).migrateToLatest();
  if (error) throw error;
  return Object.keys(old);
}
