import { userInfo } from "node:os";
import { type AnyDb, date, nowIso, selectOne, selectRows, str, type Where } from "./_record.ts";
import { newId } from "../_ids.ts";

const COLUMNS = ["id", "handle", "name", "created_at", "updated_at"] as const;

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

  /** @internal Build from a registry row. */
  constructor(row: Record<string, unknown>) {
    this.id = String(row.id);
    this.handle = String(row.handle);
    this.name = str(row.name);
    this.createdAt = date(row.created_at);
    this.updatedAt = date(row.updated_at);
  }

  /** The user with this id, or the one matching `where` (e.g. `{ handle }`). */
  static async get(idOrWhere: string | Where): Promise<User> {
    return new User(await selectOne("user", COLUMNS, idOrWhere, "User"));
  }

  /** Users matching `where` (`{}` for all). */
  static async filter(where: Where = {}): Promise<User[]> {
    return (await selectRows("user", COLUMNS, where, "User")).map((r) => new User(r));
  }
}

/** The handle of whoever runs this process: `LAMIN_USER`, else the OS user. */
export function currentHandle(): string {
  const env = Deno.env.get("LAMIN_USER")?.trim();
  if (env) return env;
  try {
    return userInfo().username || "unknown";
  } catch {
    return Deno.env.get("USER") ?? "unknown";
  }
}

/** The user row for `handle`, created on first use (safe under concurrency). */
export async function ensureUser(db: AnyDb, handle: string): Promise<User> {
  const now = nowIso();
  await db.insertInto("user")
    .values({ id: newId("user"), handle, name: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column("handle").doNothing())
    .execute();
  return new User(
    await db.selectFrom("user").selectAll().where("handle", "=", handle)
      .executeTakeFirstOrThrow(),
  );
}
