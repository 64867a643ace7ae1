import { type AnyDb, date, nowIso, selectOne, selectRows, str, type Where } from "./_record.ts";
import { newId } from "../_ids.ts";

const COLUMNS = [
  "id",
  "root",
  "type",
  "region",
  "created_at",
  "updated_at",
  "created_by_id",
] as const;

/**
 * A storage root record: a local folder or an S3 prefix that holds objects.
 * `ln.settings.storage` is the default one.
 *
 * @example The default storage of an instance
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await ln.init({ storage: dir });
 * console.assert(ln.settings.storage.root === dir && ln.settings.storage.type === "local");
 * await ln.close();
 * ```
 */
export class Storage {
  /** 12-character base62 id. */
  id: string;
  /** Absolute local path, or `s3://bucket/prefix`. */
  root: string;
  /** `"local"` or `"s3"`. */
  type: string;
  /** Cloud region, if any. */
  region: string | null;
  /** When the record was created. */
  createdAt: Date;
  /** When the record was last changed. */
  updatedAt: Date;
  /** Id of the user who created it. */
  createdById: string;

  /** @internal Build from a registry row. */
  constructor(row: Record<string, unknown>) {
    this.id = String(row.id);
    this.root = String(row.root);
    this.type = String(row.type);
    this.region = str(row.region);
    this.createdAt = date(row.created_at);
    this.updatedAt = date(row.updated_at);
    this.createdById = String(row.created_by_id);
  }

  /** The storage with this id, or the one matching `where` (e.g. `{ root }`). */
  static async get(idOrWhere: string | Where): Promise<Storage> {
    return new Storage(await selectOne("storage", COLUMNS, idOrWhere, "Storage"));
  }

  /** Storages matching `where` (`{}` for all). */
  static async filter(where: Where = {}): Promise<Storage[]> {
    return (await selectRows("storage", COLUMNS, where, "Storage")).map((r) => new Storage(r));
  }
}

/** The storage row for `root`, created on first use (safe under concurrency). */
export async function ensureStorage(
  db: AnyDb,
  root: string,
  type: "local" | "s3" | "http" | "https",
  userId: string,
  region: string | null = null,
): Promise<Storage> {
  const now = nowIso();
  await db.insertInto("storage")
    .values({
      id: newId("storage"),
      root,
      type,
      region,
      created_at: now,
      updated_at: now,
      created_by_id: userId,
    })
    .onConflict((oc) => oc.column("root").doNothing())
    .execute();
  return new Storage(
    await db.selectFrom("storage").selectAll().where("root", "=", root)
      .executeTakeFirstOrThrow(),
  );
}
