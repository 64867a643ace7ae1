import type { Dialect } from "kysely";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileURL } from "node:url";
import { InvalidKeyError, NotFoundError, StorageError, ValidationError } from "./errors.ts";
import { log } from "./_log.ts";
import { redactUrl } from "./_redact.ts";
import { openRegistryReporting } from "./registry/db.ts";
import {
  type DefaultInstance,
  readDefaultInstance,
  settingsFile,
  writeDefaultInstance,
} from "./registry/default_instance.ts";
import { retryBusy } from "./registry/_db_errors.ts";
import {
  Instance,
  maybeDefaultInstance,
  type RegistryLocation,
  setDefaultInstance,
} from "./registry/instance.ts";
import { libsqlDialect } from "./registry/libsql.ts";
import { connectingRole, postgresDialect } from "./registry/postgres.ts";
import { ensureStorage } from "./registry/storage_record.ts";
import { currentHandle, ensureUser } from "./registry/user.ts";
import { LocalStorage } from "./storage/local.ts";
import { parseS3Uri, type S3Options, S3OptionsSchema, S3Storage } from "./storage/s3.ts";
import { composeSchema, LazySchema } from "./storage/_validate.ts";
import { type StorageBackend, storageTypeOf } from "./storage/storage.ts";
import { autoTrackNotebook } from "./track/track.ts";

/** `$XDG_CACHE_HOME/lamindb`, or `~/.cache/lamindb`. */
export function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return join(xdg && xdg !== "" ? xdg : join(homedir(), ".cache"), "lamindb");
}

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
   *
   * On a shared PostgreSQL registry, records are created by the connecting
   * role (`createdBy.handle` is its name). The role that creates the
   * instance owns its tables and migrates them; writers need
   * `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO writer`;
   * readers, who can query, load, stage and stream but whose save, replace
   * and delete are refused with `StorageError` (nothing changed), need
   * `GRANT CONNECT ON DATABASE db TO reader; GRANT USAGE ON SCHEMA public TO reader;
   * GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader`.
   */
  db?: string;
  /** How to reach S3 for an `s3://` storage: endpoint, region, path-style URLs, credentials. */
  s3?: S3Options;
  /**
   * Where this instance caches cloud objects (and, for S3 storage, keeps its
   * default registry). Default `$XDG_CACHE_HOME/lamindb` or `~/.cache/lamindb`.
   */
  cacheDir?: string;
  /** A storage backend to use for the root instead of the default (e.g. a `CountingStorage`). */
  backend?: StorageBackend;
  /**
   * Create the instance when there is none (default `true`). `false` opens
   * an existing instance only: a missing one is a `NotFoundError` and
   * nothing is created.
   */
  create?: boolean;
  /**
   * `ln.init()` only: also record this instance as the per-user default,
   * what `ln.init()` with no arguments opens (in `settings.json` under
   * `$LAMINDENO_HOME`, else `$XDG_CONFIG_HOME/lamindeno`; no secret is
   * stored). Default `false`.
   */
  setDefault?: boolean;
}

const isDialect = (v: unknown) =>
  typeof v === "object" && v !== null &&
  ["createDriver", "createQueryCompiler", "createAdapter", "createIntrospector"]
    .every((m) => typeof (v as Record<string, unknown>)[m] === "function");
const isBackend = (v: unknown) =>
  typeof v === "object" && v !== null && typeof (v as StorageBackend).root === "string" &&
  typeof (v as StorageBackend).get === "function";

/**
 * The zod schema of {@linkcode InitOptions} (zod loads on first use), what
 * `init` and `connect` check their options with: `parse` throws a
 * `ValidationError` naming the field, what was expected and what was got.
 *
 * @example Check instance settings read from a config file
 * ```ts
 * import { InitOptionsSchema, ValidationError } from "@lamindeno/lamindb";
 * const options = await InitOptionsSchema.parse({ storage: "./data", cacheDir: "/tmp/cache" });
 * console.assert(options.storage === "./data");
 * const bad = await InitOptionsSchema.safeParse({ storage: "./data", cacheDir: 3 });
 * console.assert(!bad.success && bad.error instanceof ValidationError);
 * console.assert(!bad.success && bad.error.message.includes("cacheDir"));
 * ```
 */
export const InitOptionsSchema: LazySchema<InitOptions> = new LazySchema(
  "ln.init() options",
  (z) =>
    z.strictObject({
      storage: z.string({ error: 'a local folder or "s3://bucket/prefix"' })
        .min(1, 'a local folder or "s3://bucket/prefix"'),
      dialect: z.custom<RegistryDialect>(isDialect, { error: "a kysely Dialect" }).optional(),
      db: z.string({ error: "a libSQL file path or a postgresql:// URL" })
        .min(1, "a libSQL file path or a postgresql:// URL").optional(),
      s3: composeSchema(S3OptionsSchema, z).optional(),
      cacheDir: z.string({ error: "the path of a local folder" })
        .min(1, "the path of a local folder").optional(),
      backend: z.custom<StorageBackend>(isBackend, { error: "a StorageBackend" }).optional(),
      create: z.boolean().optional(),
      setDefault: z.boolean().optional(),
    }, {
      error: 'an object like { storage: "./data" } (a local folder) or ' +
        '{ storage: "s3://bucket/prefix" }',
    }).refine((o) => !(o.dialect && o.db), {
      error: "takes a `db` or a `dialect`, not both",
      path: ["db"],
      params: { sentence: true },
    }),
);

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
  if (db.startsWith("file:")) {
    try {
      return fromFileURL(new URL(db));
    } catch {
      throw new ValidationError(`db: ${redactUrl(db)} is not a file: URL of a local file`);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    throw new ValidationError(
      `db: ${redactUrl(db)} is not a libSQL file path, file: URL or postgresql:// URL`,
    );
  }
  return resolve(db);
}

/** How a storage string is shown in messages: no userinfo, no query. */
function shown(storage: string): string {
  if (storage.includes("//")) return redactUrl(storage);
  return /[@?#]/.test(storage) ? `a ${storage.split(":")[0]}: URL` : JSON.stringify(storage);
}

/**
 * Refuse, before anything is opened or created, a storage that is a URL of
 * no kind lamindeno can use (`ftp://x`), a malformed S3 URI (`s3:/x`,
 * `s3://`, `S3://b`). A local path holding a colon is written `./name:x`.
 */
function checkStorage(storage: string): void {
  if (storage.startsWith("s3://")) {
    try {
      parseS3Uri(storage);
    } catch (e) {
      throw new ValidationError(`storage: ${(e as Error).message}`);
    }
    return;
  }
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(storage)?.[1];
  if (!scheme) return;
  if (scheme.toLowerCase() === "s3") {
    throw new ValidationError(
      `storage: ${shown(storage)} is not an S3 URI; write s3://bucket/prefix`,
    );
  }
  throw new ValidationError(
    `storage: ${shown(storage)} is not a storage lamindeno can use (${scheme}: URLs are not ` +
      `supported); use a local folder (./${scheme}:... for a relative path with a colon) or ` +
      "s3://bucket/prefix",
  );
}

/** NotFoundError unless `path` exists (`create: false`). */
async function mustExist(path: string, storage: string): Promise<void> {
  if (await Deno.stat(path).then(() => true, () => false)) return;
  throw new NotFoundError(
    `no instance at ${shown(storage)}: ${path} does not exist and create: false refuses to ` +
      "create it; call init without create: false to create the instance",
  );
}

async function place(options: InitOptions): Promise<Place> {
  const create = options.create ?? true;
  if (options.storage.startsWith("s3://")) {
    const { bucket, prefix } = parseS3Uri(options.storage);
    const registry = options.db
      ? (POSTGRES.test(options.db) ? undefined : dbPath(options.db))
      : join(cacheDirOf(options), "instances", bucket, ...prefix.split("/"), "lamin.db");
    const backend = options.backend ?? new S3Storage(options.storage, options.s3 ?? {});
    // The storage must be reachable now, not at the first save.
    for await (const _ of backend.list(".lamindb/")) break;
    if (!create && registry) await mustExist(registry, options.storage);
    return { backend, registry };
  }
  if (options.s3) throw new ValidationError("s3 options need an s3:// storage");
  const root = resolve(options.storage);
  const given = options.db && !POSTGRES.test(options.db) ? dbPath(options.db) : undefined;
  if (!create) {
    await mustExist(join(root, ".lamindb"), options.storage);
    if (!options.db && !options.dialect) await mustExist(join(root, ".lamindb", "lamin.db"), root);
    if (given) await mustExist(given, options.storage);
  }
  await mkdirOrFail(join(root, ".lamindb"), "the instance folder");
  const realRoot = await Deno.realPath(root);
  if ((await Deno.lstat(join(realRoot, ".lamindb"))).isSymlink) {
    throw new InvalidKeyError(
      `${join(realRoot, ".lamindb")} is a symbolic link; the instance folder must be a real ` +
        `folder inside the storage root (nothing is written through links)`,
    );
  }
  return {
    backend: options.backend ?? new LocalStorage(realRoot),
    registry: options.db
      ? (POSTGRES.test(options.db) ? undefined : given)
      : join(realRoot, ".lamindb", "lamin.db"),
  };
}

/** What {@linkcode initReporting} did. */
export interface InitReport {
  /** The instance, now the default. */
  instance: Instance;
  /** Whether its registry was created (it had no schema before). */
  created: boolean;
  /** The one line logged: `created instance: registry ..., storage ...`. */
  message: string;
}

/**
 * Open the instance at `storage`, creating it on first use (idempotent;
 * `create: false` refuses to create), and make it the default instance (what
 * `ln.File.get()` and friends use). Says in one line (logged at info level)
 * what it did: `created instance: registry {path or URL}, storage {root}`,
 * or `opened instance: ...`. With no options it opens the per-user default
 * instance (set once by `ln.init({ ..., setDefault: true })` or the CLI's
 * `init`); a `ValidationError` when none is set. The instance open before is
 * closed once the new one is open: a failed `init` leaves it open and the
 * default. Bad options (`s3:/x`, `s3://`, `ftp://x`) are `ValidationError`s
 * and create nothing. The registry schema is migrated forward; a registry
 * written by a newer lamindeno is refused with `SchemaVersionError` and
 * left unchanged.
 *
 * @example Create and reopen an instance
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * const dir = await Deno.makeTempDir();
 * await ln.init({ storage: dir }); // logs "created instance: registry ..., storage ..."
 * const id = ln.settings.storage.id;
 * await ln.close();
 * await ln.init({ storage: dir, create: false }); // logs "opened instance: ..."
 * console.assert(ln.settings.storage.id === id);
 * await ln.close();
 * ```
 */
export async function init(options?: InitOptions): Promise<void> {
  await initReporting(options);
}

/**
 * @internal {@linkcode init}, telling what it did; `quiet` does not log the
 * message (the CLI prints it).
 */
export async function initReporting(options?: InitOptions, quiet = false): Promise<InitReport> {
  let passFile: string | undefined;
  if (options === undefined) {
    const d: DefaultInstance | undefined = await readDefaultInstance();
    if (!d) {
      throw new ValidationError(
        `ln.init() without options opens the per-user default instance, and none is set ` +
          `(no ${settingsFile()}); set one with \`lamindeno init --storage DIR\` ` +
          "(deno run -A jsr:@lamindeno/lamindb/cli init --storage DIR) or " +
          "ln.init({ storage, setDefault: true }), or pass { storage }",
      );
    }
    const { pgpassFile, ...stored } = d;
    passFile = pgpassFile;
    options = { ...stored, create: false };
  }
  await InitOptionsSchema.parse(options);
  checkStorage(options.storage);
  if (options.setDefault && (options.dialect || options.backend)) {
    throw new ValidationError(
      "setDefault: an instance opened with a `dialect` or `backend` cannot be the default " +
        "(no file can describe them); pass `storage` and `db` instead",
    );
  }
  const previous = maybeDefaultInstance();
  const { inst, created } = await open(options, passFile);
  let message = describe(inst, created);
  try {
    if (options.setDefault) {
      message += ` (now the default instance, in ${await writeDefaultInstance(inst, options)})`;
    }
  } catch (e) {
    await inst.close().catch(() => {});
    throw e;
  }
  await previous?.close().catch((e) =>
    log.warn(`could not close the instance at ${previous.root}: ${(e as Error)?.message}`)
  );
  setDefaultInstance(inst);
  if (!quiet) log.info(message);
  await autoTrackNotebook(inst);
  return { instance: inst, created, message };
}

/** `created instance: registry ..., storage ...` or `opened ...`. */
function describe(inst: Instance, created: boolean): string {
  const loc = inst.location;
  const registry = loc?.kind === "libsql"
    ? loc.path
    : loc?.kind === "postgres"
    ? redactUrl(loc.url)
    : "a caller-supplied dialect";
  return `${created ? "created" : "opened"} instance: registry ${registry}, storage ${inst.root}`;
}

/**
 * Open another instance alongside the default one, e.g. to read from a
 * local instance and save into a shared one. Records of it are queried with
 * `ln.File.using(instance)` (likewise `Run`, `Transform`, ...) and saved into
 * it with `new ln.File(data, { instance })`. Close it with
 * `instance.close()`. Takes the options of {@linkcode init} (but
 * `setDefault`).
 *
 * @example Read here, save there
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const local = await new ln.File(new TextEncoder().encode("a,b\n1,2\n"), { key: "t.csv" }).save();
 * const shared = await ln.connect({ storage: await Deno.makeTempDir() });
 * const copy = await new ln.File(await local.stage(), { key: "t.csv", instance: shared }).save();
 * console.assert(copy.hash === local.hash && copy.storageId !== local.storageId);
 * await shared.close();
 * await ln.close();
 * ```
 */
export async function connect(options: InitOptions): Promise<Instance> {
  await InitOptionsSchema.parse(options);
  if (options.setDefault) {
    throw new ValidationError(
      "setDefault is an option of ln.init(), which opens the default instance; " +
        "ln.connect() opens one beside it",
    );
  }
  checkStorage(options.storage);
  return (await open(options)).inst;
}

function cacheDirOf(options: InitOptions): string {
  return options.cacheDir === undefined ? defaultCacheDir() : resolve(options.cacheDir);
}

async function open(
  options: InitOptions,
  passFile?: string,
): Promise<{ inst: Instance; created: boolean }> {
  const create = options.create ?? true;
  const { backend, registry } = await place(options);
  const embedded = !options.dialect && registry !== undefined;
  if (embedded && create) await mkdirOrFail(dirname(registry), "the registry folder");
  // Opening (creating, migrating) the embedded registry is serialized across
  // processes by a file lock: SQLite cannot switch to WAL or migrate while
  // another process does, and a stale snapshot would otherwise loop on BUSY.
  // (PostgreSQL: kysely's migrator takes its own lock.)
  using _lock = embedded ? await lockFile(`${registry}.lock`) : undefined;
  const dialect = (options.dialect as Dialect | undefined) ??
    (registry ? await libsqlDialect(registry) : await postgresDialect(options.db!, passFile));
  const { db, created } = await openRegistryReporting(dialect, { create });
  try {
    if (!create) {
      const row = await retryBusy(() =>
        db.selectFrom("storage").select("id").where("root", "=", backend.root).executeTakeFirst()
      );
      if (!row) {
        throw new NotFoundError(
          `the registry holds no storage root ${backend.root} and create: false refuses to ` +
            "add it; call init without create: false to create the instance",
        );
      }
    }
    // On a shared PostgreSQL registry, records are created by the connecting role.
    const handle = !options.dialect && !registry ? await connectingRole(db) : currentHandle();
    const user = await retryBusy(() => ensureUser(db, handle));
    const storage = await retryBusy(() =>
      ensureStorage(db, backend.root, storageTypeOf(backend.root), user.id)
    );
    const location: RegistryLocation | undefined = options.dialect
      ? undefined
      : registry
      ? { kind: "libsql", path: registry }
      : { kind: "postgres", url: options.db! };
    const inst = new Instance({
      db,
      storage,
      backend,
      user,
      settings: { trackRunInputs: true, cacheDir: cacheDirOf(options) },
      location,
    });
    return { inst, created };
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
 * Close the default instance (no-op when none is open).
 *
 * @example
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.close();
 * ```
 */
export async function close(): Promise<void> {
  await maybeDefaultInstance()?.close();
}
