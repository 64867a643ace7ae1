import * as rt from "../_runtime.ts";
import { type Dialect, type Kysely, PostgresDialect, sql } from "kysely";
import { redactError, redactText, redactUrl, urlSecrets } from "../_redact.ts";
import { StorageError } from "../errors.ts";
import { lookupPassword, PGPASSFILE_ENV, withPassword } from "./_pgpass.ts";

/**
 * A shared registry on PostgreSQL: a kysely `Dialect` over a `pg` pool for
 * `url` (`postgresql://user@host:port/db`). The driver is loaded only when
 * a PostgreSQL registry is used. The server must be reachable now. A URL
 * without password takes it from `passFile` or the file named by `LAMINDENO_PGPASSFILE`
 * (what the lamindeno kernel installs), else pg's PGPASSWORD, PGPASSFILE or
 * `~/.pgpass`. Messages never show the password (nor any query string).
 */
export async function postgresDialect(url: string, passFile?: string): Promise<Dialect> {
  const { default: pg } = await import("pg");
  const password = await lookupPassword(url, passFile ?? rt.env(PGPASSFILE_ENV));
  const secrets = [...urlSecrets(url), ...(password ? [password] : [])];
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
  let pool: InstanceType<typeof pg.Pool> | undefined;
  try {
    pool = new pg.Pool({
      connectionString: password ? withPassword(url, password) : url,
      max: 4,
      types,
      // Registry statements are short and their pages cached: JIT compiling one whose estimate
      // is high (a search over a word list) took 1.2 s to run a query of 2 ms, and at the
      // default random_page_cost (4, for spinning disks) a label filter of 100 files walked
      // the file table in id order (a merge join: 7,500 rows) instead of looking 100 up.
      options: "-c jit=off -c random_page_cost=1.1",
    });
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool?.end().catch(() => {});
    redactError(e, secrets);
    throw new StorageError(
      `cannot connect to the registry at ${redactUrl(url)}: ${
        redactText((e as Error)?.message ?? String(e), secrets)
      }`,
      { cause: e },
    );
  }
  return new PostgresDialect({ pool });
}

/** The PostgreSQL role of the connection: who records are created by on a shared registry. */
export async function connectingRole<DB>(db: Kysely<DB>): Promise<string> {
  const r = await sql<{ role: string }>`select current_user as role`.execute(db);
  return r.rows[0].role;
}
