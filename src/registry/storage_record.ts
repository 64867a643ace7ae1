import {
  date,
  type Model,
  nowIso,
  type Queries,
  queries,
  Query,
  type QueryOptions,
  type Row,
  type Where,
} from "./_model.ts";
import type { DataFrame } from "../formats/tables.ts";
import { showRecords } from "./_display.ts";
import { defaultInstance, type Instance } from "./instance.ts";
import type { RegistryDb } from "./db.ts";
import { isPermissionDenied } from "./_db_errors.ts";
import { newId } from "../_ids.ts";
import { USER_MODEL } from "./user.ts";

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

  /** @internal From a registry row. */
  constructor(row: Row<"storage">) {
    this.id = row.id;
    this.root = row.root;
    this.type = row.type;
    this.region = row.region;
    this.createdAt = date(row.created_at);
    this.updatedAt = date(row.updated_at);
    this.createdById = row.created_by_id;
  }

  /** The storage with this id, or the one matching `where` (e.g. `{ root }`). */
  static async get(idOrWhere: string | Where): Promise<Storage> {
    return await STORAGES(defaultInstance()).get(idOrWhere);
  }

  /** Storages matching `where` (`{}` for all). */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<Storage> {
    return Query.defer("Storage", () => STORAGES(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Storage.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode Storage.df} (`Storage.to_dataframe()`, lamindb 1.11
   * and later): the matching storage roots as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * console.assert((await ln.Storage.toDataFrame()).height === 1);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return Storage.df(where, options);
  }

  /** Query the storage roots of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<Storage> {
    return STORAGES(instance);
  }
}

showRecords(Storage);

/** The storage row for `root`, created on first use (safe under concurrency). */
export async function ensureStorage(
  db: RegistryDb,
  root: string,
  type: "local" | "s3" | "http" | "https",
  userId: string,
  region: string | null = null,
): Promise<Storage> {
  const find = () =>
    db.selectFrom("storage").selectAll().where("root", "=", root).executeTakeFirst();
  const found = await find();
  if (found) return new Storage(found);
  const now = nowIso();
  const row = {
    id: newId("storage"),
    root,
    type,
    region,
    created_at: now,
    updated_at: now,
    created_by_id: userId,
  };
  try {
    await db.insertInto("storage").values(row).onConflict((oc) => oc.column("root").doNothing())
      .execute();
  } catch (e) {
    // A role that may only read can still open a root no writer registered yet.
    if (isPermissionDenied(e)) return new Storage(row);
    throw e;
  }
  return new Storage((await find())!);
}

/** The `storage` table's mapping. */
export const STORAGE_MODEL: Model<"storage", Storage> = {
  table: "storage",
  label: "Storage",
  fields: {
    id: "id",
    root: "root",
    type: "type",
    region: "region",
    createdAt: "created_at",
    updatedAt: "updated_at",
    createdById: "created_by_id",
  },
  relations: {
    createdBy: { column: "created_by_id", target: () => USER_MODEL as never },
  },
  fromRow: (row) => new Storage(row),
  toRow: (s) => ({
    id: s.id,
    root: s.root,
    type: s.type,
    region: s.region,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
    created_by_id: s.createdById,
  }),
};

const STORAGES = queries(STORAGE_MODEL);
