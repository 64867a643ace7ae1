import { createClient } from "@libsql/client/node";
import { pathToFileURL } from "node:url";
import { LibsqlDialect } from "@libsql/kysely-libsql";
import { StorageError } from "../errors.ts";
import { retryBusy } from "./_db_errors.ts";
import type { Dialect } from "kysely";

/**
 * The embedded default registry: a kysely `Dialect` for a libSQL file.
 * The only module that imports a database driver; everything else takes a
 * `Dialect`. The file is put in WAL mode so readers never block the writer.
 */
export async function libsqlDialect(path: string): Promise<Dialect> {
  const client = createClient({ url: pathToFileURL(path).href });
  try {
    // Another process closing its connection may hold the lock for a moment.
    await retryBusy(() => client.execute("PRAGMA journal_mode=WAL"));
  } catch (e) {
    client.close();
    throw new StorageError(`cannot open the registry ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return new LibsqlDialect({ client });
}
