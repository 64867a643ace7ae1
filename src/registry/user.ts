import * as rt from "../_runtime.ts";
import { userInfo } from "node:os";
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

/**
 * A user of the instance. The current one comes from `LAMIN_USER`, or the
 * OS user name; `createdBy` of every record points to it.
 *
 * @example The current user
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * console.assert(ln.settings.user.id.length === 8);
 * await ln.close();
 * ```
 */
export class User {
  /** 8-character base62 id. */
  id: string;
  /** Unique handle, e.g. `"alice"`. */
  handle: string;
  /** Display name. */
  name: string | null;
  /** When the record was created. */
  createdAt: Date;
  /** When the record was last changed. */
  updatedAt: Date;

  /** @internal From a registry row. */
  constructor(row: Row<"user">) {
    this.id = row.id;
    this.handle = row.handle;
    this.name = row.name;
    this.createdAt = date(row.created_at);
    this.updatedAt = date(row.updated_at);
  }

  /** The user with this id, or the one matching `where` (e.g. `{ handle }`). */
  static async get(idOrWhere: string | Where): Promise<User> {
    return await USERS(defaultInstance()).get(idOrWhere);
  }

  /** Users matching `where` (`{}` for all). */
  static filter(where: Where = {}, options: QueryOptions = {}): Query<User> {
    return Query.defer("User", () => USERS(defaultInstance()).filter(where, options));
  }

  /** The matching records as a polars DataFrame, newest first, at most 100 (as `Query.df()`). */
  static df(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return User.filter(where, options).df();
  }

  /**
   * lamindb's name for {@linkcode User.df} (`User.to_dataframe()`, lamindb 1.11
   * and later): the matching users as a polars DataFrame, newest first, at
   * most 100 unless `options` order or limit them.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * console.assert((await ln.User.toDataFrame()).getColumn("handle").toArray()[0] === ln.settings.user.handle);
   * await ln.close();
   * ```
   */
  static toDataFrame(where: Where = {}, options: QueryOptions = {}): Promise<DataFrame> {
    return User.df(where, options);
  }

  /** Query the users of another instance (from `ln.connect()`). */
  static using(instance: Instance): Queries<User> {
    return USERS(instance);
  }
}

showRecords(User);

/** The `user` table's mapping. */
export const USER_MODEL: Model<"user", User> = {
  table: "user",
  label: "User",
  fields: {
    id: "id",
    handle: "handle",
    name: "name",
    createdAt: "created_at",
    updatedAt: "updated_at",
  },
  fromRow: (row) => new User(row),
  toRow: (u) => ({
    id: u.id,
    handle: u.handle,
    name: u.name,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  }),
};

const USERS = queries(USER_MODEL);

/** The handle of whoever runs this process: `LAMIN_USER`, else the OS user. */
export function currentHandle(): string {
  const env = rt.env("LAMIN_USER")?.trim();
  if (env) return env;
  try {
    return userInfo().username || "unknown";
  } catch {
    return rt.env("USER") ?? "unknown";
  }
}

/** The user row for `handle`, created on first use (safe under concurrency). */
export async function ensureUser(db: RegistryDb, handle: string): Promise<User> {
  const find = () =>
    db.selectFrom("user").selectAll().where("handle", "=", handle).executeTakeFirst();
  const found = await find();
  if (found) return new User(found);
  const now = nowIso();
  const row = { id: newId("user"), handle, name: null, created_at: now, updated_at: now };
  try {
    await db.insertInto("user").values(row).onConflict((oc) => oc.column("handle").doNothing())
      .execute();
  } catch (e) {
    // A role that may only read never creates records: it needs no stored user.
    if (isPermissionDenied(e)) return new User(row);
    throw e;
  }
  return new User((await find())!);
}
