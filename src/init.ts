import type { Dialect } from "kysely";
import { join, resolve } from "node:path";
import { StorageError, ValidationError } from "./errors.ts";
import { maybeInstance, setInstance } from "./_state.ts";
import { openRegistry } from "./registry/db.ts";
import { retryBusy } from "./registry/_db_errors.ts";
import { libsqlDialect } from "./registry/libsql.ts";
import type { AnyDb } from "./registry/_record.ts";
import { ensureStorage } from "./registry/storage_record.ts";
import { currentHandle, ensureUser } from "./registry/user.ts";
import { LocalStorage } from "./storage/local.ts";
import type { StorageBackend } from "./storage/storage.ts";
import { settingsDefaults } from "./settings.ts";
import { context } from "./track/context.ts";
import { autoTrackNotebook } from "./track/track.ts";

/**
 * A kysely `Dialect` (structurally): the registry database driver. Any
 * kysely dialect fits, e.g. `new LibsqlDialect({ client })` or
 * `new PostgresDialect({ pool })`.
 */
export interface RegistryDialect {
  /** Creates the driver. */
  createDriver(): unknown;
  /** Creates the query compiler. */
  createQueryCompiler(): unknown;
  /** Creates the adapter. */
  createAdapter(): unknown;
  /** Creates the introspector. */
  createIntrospector(db: unknown): unknown;
}

/** Options of {@linkcode init}. */
export interface InitOptions {
  /** Default storage root: a local folder (created if missing). */
  storage: string;
  /**
   * The registry database as a kysely `Dialect`. Default: the embedded
   * libSQL file `{storage}/.lamindb/lamin.db`.
   */
  dialect?: RegistryDialect;
  /** A database URL; only the embedded default is available in this version. */
  db?: string;
  /** A storage backend to use for the root instead of the default (e.g. a `CountingStorage`). */
  backend?: StorageBackend;
}

/**
 * Open the instance at `storage`, creating it on first use (idempotent).
 * The registry schema is migrated forward; a registry written by a newer
 * lamindeno is refused with `SchemaVersionError` and left unchanged.
 *
 * @example Create and reopen an instance
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * const dir = await Deno.makeTempDir();
 * await ln.init({ storage: dir });
 * const id = ln.settings.storage.id;
 * await ln.close();
 * await ln.init({ storage: dir });
 * console.assert(ln.settings.storage.id === id);
 * await ln.close();
 * ```
 */
export async function init(options: InitOptions): Promise<void> {
  if (options === null || typeof options !== "object" || typeof options.storage !== "string") {
    throw new ValidationError('ln.init() takes { storage: "./data" } (a local folder)');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.storage)) {
    throw new StorageError(
      `cannot use ${options.storage} as storage: only local folders are supported in this version`,
    );
  }
  if (options.db !== undefined) {
    throw new ValidationError(
      `db: ${options.db} is not supported in this version; pass a kysely \`dialect\` instead, ` +
        `or omit it for the embedded libSQL registry`,
    );
  }
  if (maybeInstance()) await close();
  const root = resolve(options.storage);
  try {
    await Deno.mkdir(join(root, ".lamindb"), { recursive: true });
  } catch (e) {
    throw new StorageError(`cannot create the instance folder ${root}/.lamindb: ${e}`, {
      cause: e,
    });
  }
  const realRoot = await Deno.realPath(root);
  // Opening (creating, migrating) the embedded registry is serialized across
  // processes by a file lock: SQLite cannot switch to WAL or migrate while
  // another process does, and a stale snapshot would otherwise loop on BUSY.
  using _lock = options.dialect
    ? undefined
    : await lockFile(join(realRoot, ".lamindb", "lamin.db.lock"));
  const dialect = (options.dialect as Dialect | undefined) ??
    await libsqlDialect(join(realRoot, ".lamindb", "lamin.db"));
  const db = await openRegistry(dialect);
  try {
    const anyDb = db as unknown as AnyDb;
    const user = await retryBusy(() => ensureUser(anyDb, currentHandle()));
    const backend = options.backend ?? new LocalStorage(realRoot);
    const storage = await retryBusy(() =>
      ensureStorage(anyDb, backend.root, backend.kind, user.id)
    );
    const defaults = settingsDefaults();
    setInstance({
      db,
      storage,
      backend,
      backends: new Map([[storage.id, backend]]),
      user,
      cacheDir: defaults.cacheDir,
      trackRunInputs: defaults.trackRunInputs,
    });
    await autoTrackNotebook();
  } catch (e) {
    await db.destroy().catch(() => {});
    throw e;
  }
}

/** An exclusive advisory lock on `path`, released when disposed. */
async function lockFile(path: string): Promise<Disposable> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true, write: true, create: true });
    await f.lock(true);
  } catch (e) {
    throw new StorageError(`cannot lock ${path}: ${(e as Error).message}`, { cause: e });
  }
  return { [Symbol.dispose]: () => f.close() };
}

/**
 * Close the open instance (no-op when none is open).
 *
 * @example
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.close();
 * ```
 */
export async function close(): Promise<void> {
  const inst = maybeInstance();
  if (!inst) return;
  setInstance(undefined);
  context.run = undefined;
  context.transform = undefined;
  // Closing the last connection checkpoints the WAL, which another process
  // may briefly block.
  await retryBusy(() => inst.db.destroy());
}
