import type { Dialect } from "kysely";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileURL } from "node:url";
import { StorageError, ValidationError } from "./errors.ts";
import { maybeInstance, setInstance } from "./_state.ts";
import { openRegistry } from "./registry/db.ts";
import { retryBusy } from "./registry/_db_errors.ts";
import { libsqlDialect } from "./registry/libsql.ts";
import { postgresDialect } from "./registry/postgres.ts";
import type { AnyDb } from "./registry/_record.ts";
import { ensureStorage } from "./registry/storage_record.ts";
import { currentHandle, ensureUser } from "./registry/user.ts";
import { LocalStorage } from "./storage/local.ts";
import { parseS3Uri, type S3Options, S3Storage } from "./storage/s3.ts";
import { type StorageBackend, storageTypeOf } from "./storage/storage.ts";
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
  /**
   * Default storage root: a local folder (created if missing), or
   * `s3://bucket/prefix` on any S3-compatible endpoint (see `s3`).
   */
  storage: string;
  /**
   * The registry database as a kysely `Dialect`. Default: the embedded
   * libSQL file `{storage}/.lamindb/lamin.db` (see `db` for S3 storage).
   */
  dialect?: RegistryDialect;
  /**
   * Where the registry is: `postgresql://user@host:port/db` (a shared
   * registry), or the path or `file:` URL of a libSQL file. Default: for a
   * local storage `{storage}/.lamindb/lamin.db`; for S3 storage
   * `{cacheDir}/instances/{bucket}/{prefix}/lamin.db` on this machine.
   */
  db?: string;
  /** How to reach S3 for an `s3://` storage: endpoint, region, path-style URLs, credentials. */
  s3?: S3Options;
  /** A storage backend to use for the root instead of the default (e.g. a `CountingStorage`). */
  backend?: StorageBackend;
}

/** Where the registry and the storage of an instance are. */
interface Place {
  backend: StorageBackend;
  /** The libSQL file, when the registry is one. */
  registry?: string;
}

async function mkdirOrFail(dir: string, what: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new StorageError(`cannot create ${what} ${dir}: ${e}`, { cause: e });
  }
}

const POSTGRES = /^postgres(ql)?:\/\//i;

function dbPath(db: string): string {
  if (db.startsWith("file:")) return fromFileURL(new URL(db));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    throw new ValidationError(`db: ${db} is not a libSQL file path or file: URL`);
  }
  return resolve(db);
}

async function place(options: InitOptions): Promise<Place> {
  if (options.storage.startsWith("s3://")) {
    const backend = options.backend ?? new S3Storage(options.storage, options.s3 ?? {});
    const { bucket, prefix } = parseS3Uri(options.storage);
    const registry = options.db
      ? (POSTGRES.test(options.db) ? undefined : dbPath(options.db))
      : join(settingsDefaults().cacheDir, "instances", bucket, ...prefix.split("/"), "lamin.db");
    // The storage must be reachable now, not at the first save.
    for await (const _ of backend.list(".lamindb/")) break;
    return { backend, registry };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.storage)) {
    throw new StorageError(
      `cannot use ${options.storage} as storage: use a local folder or s3://bucket/prefix`,
    );
  }
  if (options.s3) throw new ValidationError("s3 options need an s3:// storage");
  const root = resolve(options.storage);
  await mkdirOrFail(join(root, ".lamindb"), "the instance folder");
  const realRoot = await Deno.realPath(root);
  return {
    backend: options.backend ?? new LocalStorage(realRoot),
    registry: options.db
      ? (POSTGRES.test(options.db) ? undefined : dbPath(options.db))
      : join(realRoot, ".lamindb", "lamin.db"),
  };
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
    throw new ValidationError(
      'ln.init() takes { storage: "./data" } (a local folder) or { storage: "s3://bucket/prefix" }',
    );
  }
  if (options.db !== undefined && (typeof options.db !== "string" || options.db === "")) {
    throw new ValidationError("init({ db }) takes the path of the registry's libSQL file");
  }
  if (options.s3 !== undefined && (options.s3 === null || typeof options.s3 !== "object")) {
    throw new ValidationError(
      "init({ s3 }) takes { endpoint, region, forcePathStyle, credentials }",
    );
  }
  if (maybeInstance()) await close();
  if (options.dialect && options.db) {
    throw new ValidationError("init() takes a `db` or a `dialect`, not both");
  }
  const { backend, registry } = await place(options);
  const embedded = !options.dialect && registry !== undefined;
  if (embedded) await mkdirOrFail(dirname(registry), "the registry folder");
  // Opening (creating, migrating) the embedded registry is serialized across
  // processes by a file lock: SQLite cannot switch to WAL or migrate while
  // another process does, and a stale snapshot would otherwise loop on BUSY.
  // (PostgreSQL: kysely's migrator takes its own lock.)
  using _lock = embedded ? await lockFile(`${registry}.lock`) : undefined;
  const dialect = (options.dialect as Dialect | undefined) ??
    (registry ? await libsqlDialect(registry) : await postgresDialect(options.db!));
  const db = await openRegistry(dialect);
  try {
    const anyDb = db as unknown as AnyDb;
    const user = await retryBusy(() => ensureUser(anyDb, currentHandle()));
    const storage = await retryBusy(() =>
      ensureStorage(anyDb, backend.root, storageTypeOf(backend.root), user.id)
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
      ...(options.dialect ? {} : {
        registry: registry
          ? { kind: "libsql" as const, path: registry }
          : { kind: "postgres" as const, url: options.db! },
      }),
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
  for (const b of inst.backends.values()) (b as { close?: () => void }).close?.();
  context.run = undefined;
  context.transform = undefined;
  // Closing the last connection checkpoints the WAL, which another process
  // may briefly block.
  await retryBusy(() => inst.db.destroy());
}
