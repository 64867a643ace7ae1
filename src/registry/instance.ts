// One open lamindeno instance: its registry database, its storage backends,
// the user, its settings and the run being tracked in it. Every internal
// function receives the instance it works on; `ln.init()` makes one the
// process's default (what `ln.File.get()` and friends use), `ln.connect()`
// opens more.
import { showValue } from "../_display.ts";
import { NotInitializedError, StorageError, ValidationError } from "../errors.ts";
import { stripPassword } from "../_redact.ts";
import { HttpStorage } from "../storage/http.ts";
import type { StorageBackend } from "../storage/storage.ts";
import { retryBusy } from "./_db_errors.ts";
import type { RegistryDb } from "./db.ts";
import type { Run } from "./run.ts";
import type { Storage } from "./storage_record.ts";
import type { Transform } from "./transform.ts";
import type { User } from "./user.ts";

/** Where an instance's registry is, for other processes (the kernel). */
export type RegistryLocation =
  | { kind: "libsql"; path: string }
  | { kind: "postgres"; url: string };

/** Settings of one instance (`ln.settings` shows the default instance's). */
export interface InstanceSettings {
  /** Link loaded/staged files as inputs of the tracked run (default `true`). */
  trackRunInputs: boolean;
  /** Where cloud objects are cached. */
  readonly cacheDir: string;
}

/** `settings` whose `trackRunInputs` takes booleans only (a `ValidationError` otherwise). */
function checkedSettings(given: InstanceSettings): InstanceSettings {
  let track = given.trackRunInputs;
  return {
    get trackRunInputs() {
      return track;
    },
    set trackRunInputs(v: boolean) {
      if (typeof v !== "boolean") {
        throw new ValidationError(
          `settings.trackRunInputs takes true or false, got ${showValue(v)}`,
        );
      }
      track = v;
    },
    cacheDir: given.cacheDir,
  };
}

/** What an {@linkcode Instance} is made of. */
export interface InstanceParts {
  /** The typed registry connection. */
  db: RegistryDb;
  /** The default storage root's record. */
  storage: Storage;
  /** The default storage root's backend. */
  backend: StorageBackend;
  /** The user records are created by. */
  user: User;
  /** Settings. */
  settings: InstanceSettings;
  /** Where the registry is (absent for a caller-supplied dialect). */
  location?: RegistryLocation;
}

/**
 * An open instance: a registry and its storage. Get one from `ln.connect()`
 * (or `ln.init()`, which also makes it the default), and query another
 * instance's records with `ln.File.using(instance)`.
 *
 * @example Two instances in one process
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const other = await ln.connect({ storage: await Deno.makeTempDir() });
 * const f = await new ln.File(new TextEncoder().encode("x"), { key: "x.txt", instance: other })
 *   .save();
 * console.assert((await ln.File.using(other).get({ key: "x.txt" })).id === f.id);
 * console.assert((await ln.File.filter({ key: "x.txt" })).length === 0);
 * await other.close();
 * await ln.close();
 * ```
 */
export class Instance {
  /** @internal The typed registry connection. */
  readonly db: RegistryDb;
  /** The default storage root's record. */
  readonly storage: Storage;
  /** The default storage root's backend. */
  readonly backend: StorageBackend;
  /** The user records are created by. */
  readonly user: User;
  /** This instance's settings. */
  readonly settings: InstanceSettings;
  /**
   * Where the registry is, when other processes can reach it; a PostgreSQL
   * URL without its password (other processes find it in
   * `LAMINDENO_PGPASSFILE`, PGPASSWORD or `~/.pgpass`).
   */
  readonly location: RegistryLocation | undefined;
  /** The location as given, password included: for the kernel's recorder only. */
  readonly #location: RegistryLocation | undefined;
  /** The run being tracked in this instance, or `undefined`. */
  run: Run | undefined;
  /** The transform of that run. */
  transform: Transform | undefined;
  readonly #backends = new Map<string, StorageBackend>();
  #closed = false;

  /** @internal Use `ln.connect()` or `ln.init()`. */
  constructor(parts: InstanceParts) {
    this.db = parts.db;
    this.storage = parts.storage;
    this.backend = parts.backend;
    this.user = parts.user;
    this.settings = checkedSettings(parts.settings);
    this.#location = parts.location;
    this.location = parts.location?.kind === "postgres"
      ? { kind: "postgres", url: stripPassword(parts.location.url) }
      : parts.location;
    this.#backends.set(parts.storage.id, parts.backend);
  }

  /**
   * @internal The registry's location with the credentials it was opened
   * with, told only to the lamindeno kernel (never shown, logged or stored).
   */
  locationWithCredentials(): RegistryLocation | undefined {
    return this.#location;
  }

  /** The root of the default storage (`/abs/path` or `s3://bucket/prefix`). */
  get root(): string {
    return this.storage.root;
  }

  /** True once {@linkcode Instance.close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Throw unless open. */
  assertOpen(): this {
    if (this.#closed) {
      throw new NotInitializedError(
        `the instance at ${this.storage.root} is closed; open it again with ln.connect() or ln.init()`,
      );
    }
    return this;
  }

  /** The backend of a storage root this instance has mounted. */
  backendFor(storageId: string): StorageBackend {
    const b = this.assertOpen().#backends.get(storageId);
    if (!b) {
      throw new StorageError(
        `storage ${storageId} is not mounted in the instance at ${this.storage.root}; ` +
          `open the instance that holds it`,
      );
    }
    return b;
  }

  /**
   * @internal Mount the backend of another storage root this instance has
   * records in: public `http(s)://` roots are read-only and need no
   * credentials, so they can be mounted from the record alone. Other roots
   * (another bucket, another folder) stay unmounted.
   */
  mount(storage: Storage, backend?: StorageBackend): StorageBackend | undefined {
    const have = this.assertOpen().#backends.get(storage.id);
    if (have) return have;
    const b = backend ??
      (storage.type === "http" || storage.type === "https"
        ? new HttpStorage(storage.root)
        : undefined);
    if (b) this.#backends.set(storage.id, b);
    return b;
  }

  /** Close the registry connection and the storage backends (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (current === this) current = undefined;
    for (const b of this.#backends.values()) (b as { close?: () => void }).close?.();
    this.run = undefined;
    this.transform = undefined;
    // Closing the last connection checkpoints the WAL, which another process
    // may briefly block.
    await retryBusy(() => this.db.destroy());
  }

  /** A short description. */
  toString(): string {
    return `Instance(root=${this.storage.root}, user=${this.user.handle})`;
  }
}

let current: Instance | undefined;

/** @internal The default instance (`ln.init()`), or `NotInitializedError`. */
export function defaultInstance(): Instance {
  if (!current) {
    throw new NotInitializedError(
      'no lamindeno instance is open; call `await ln.init({ storage: "./data" })` first',
    );
  }
  return current;
}

/** @internal The default instance, or `undefined`. */
export function maybeDefaultInstance(): Instance | undefined {
  return current;
}

/** @internal Make `inst` the default instance (or clear it). */
export function setDefaultInstance(inst: Instance | undefined): void {
  current = inst;
}
