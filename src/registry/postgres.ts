import { type Dialect, type Kysely, PostgresDialect, sql } from "kysely";
import { StorageError } from "../errors.ts";

/**
 * A shared registry on PostgreSQL: a kysely `Dialect` over a `pg` pool for
 * `url` (`postgresql://user@host:port/db`). The driver is loaded only when
 * a PostgreSQL registry is used. The server must be reachable now.
 */
export async function postgresDialect(url: string): Promise<Dialect> {
  const { default: pg } = await import("pg");
  // bigint (int8) columns (file size) come back as numbers, not strings: a
  // parser for this pool's connections only (pg's global parsers are left
  // alone for other code in the process).
  const types = {
    getTypeParser:
      ((oid: number, format?: "text" | "binary") =>
        oid === 20 && format !== "binary"
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({ connectionString: url, max: 4, types });
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new StorageError(
      `cannot connect to the registry at ${redact(url)}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return new PostgresDialect({ pool });
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, "$1:***@");
}

/** The PostgreSQL role of the connection: who records are created by on a shared registry. */
export async function connectingRole<DB>(db: Kysely<DB>): Promise<string> {
  const r = await sql<{ role: string }>`select current_user as role`.execute(db);
  return r.rows[0].role;
}
