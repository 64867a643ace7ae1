// The one open instance of this process (module state, like lamindb's settings).
import { NotInitializedError } from "./errors.ts";
import type { RegistryDb } from "./registry/db.ts";
import type { Storage } from "./registry/storage_record.ts";
import type { User } from "./registry/user.ts";
import type { StorageBackend } from "./storage/storage.ts";

export interface InstanceState {
  db: RegistryDb;
  /** Default storage root record and its backend. */
  storage: Storage;
  backend: StorageBackend;
  /** Backends by storage id, for files in other roots. */
  backends: Map<string, StorageBackend>;
  user: User;
  cacheDir: string;
  trackRunInputs: boolean;
  /** Where the registry is, for other processes (the kernel): a libSQL file or a PostgreSQL URL. */
  registry?: { kind: "libsql"; path: string } | { kind: "postgres"; url: string };
}

let current: InstanceState | undefined;

export function instance(): InstanceState {
  if (!current) {
    throw new NotInitializedError(
      'no lamindeno instance is open; call `await ln.init({ storage: "./data" })` first',
    );
  }
  return current;
}

export function maybeInstance(): InstanceState | undefined {
  return current;
}

export function setInstance(state: InstanceState | undefined): void {
  current = state;
}

export function backendFor(storageId: string): StorageBackend {
  const inst = instance();
  const b = inst.backends.get(storageId);
  if (!b) {
    throw new NotInitializedError(
      `storage ${storageId} is not mounted in this instance; open the instance that holds it`,
    );
  }
  return b;
}
