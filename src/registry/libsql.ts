import { StorageError } from "../errors.ts";
import { retryBusy } from "./_db_errors.ts";
import { libsqlFile } from "./_libsql_file.ts";
import type { Dialect } from "kysely";

/**
 * The embedded default registry: a kysely `Dialect` for a libSQL file.
 * The only module that opens a database driver; everything else takes a
 * `Dialect`. The file is put in WAL mode so readers never block the writer.
 */
export async function libsqlDialect(path: string): Promise<Dialect> {
  const dialect = libsqlFile(path);
  try {
    // Another process closing its connection may hold the lock for a moment.
    await retryBusy(() => Promise.resolve().then(() => dialect.run("PRAGMA journal_mode=WAL")));
  } catch (e) {
    dialect.close();
    throw new StorageError(`cannot open the registry ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return dialect;
}
