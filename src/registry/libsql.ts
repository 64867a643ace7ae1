import { createClient } from "@libsql/client/node";
import { pathToFileURL } from "node:url";
import { LibsqlDialect } from "@libsql/kysely-libsql";
import type { Dialect } from "kysely";

/**
 * The embedded default registry: a kysely `Dialect` for a libSQL file.
 * The only module that imports a database driver; everything else takes a
 * `Dialect`. The file is put in WAL mode so readers never block the writer.
 */
export async function libsqlDialect(path: string): Promise<Dialect> {
  const client = createClient({ url: pathToFileURL(path).href });
  await client.execute("PRAGMA journal_mode=WAL");
  return new LibsqlDialect({ client });
}
