// Driver-neutral recognition of database errors (libSQL/SQLite and Postgres).
import { StorageError } from "../errors.ts";

function chain(e: unknown): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  for (let cur = e, i = 0; cur && i < 5; i++) {
    const o = cur as { code?: unknown; message?: unknown; cause?: unknown };
    out.push({ code: String(o.code ?? ""), message: String(o.message ?? "") });
    cur = o.cause;
  }
  return out;
}

/** A uniqueness constraint refused the write. */
export function isUniqueViolation(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code === "23505" || code.startsWith("SQLITE_CONSTRAINT") &&
      /UNIQUE|PRIMARY KEY/i.test(message) ||
    /UNIQUE constraint failed|duplicate key value/i.test(message)
  );
}

/** Another connection holds the write lock, or a serialization conflict: try again. */
export function isBusy(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code.startsWith("SQLITE_BUSY") || code === "SQLITE_LOCKED" || code === "40001" ||
    code === "40P01" || /database is locked|SQLITE_BUSY/i.test(message)
  );
}

/** Run `fn`, retrying with jittered backoff while the database is busy (up to ~60 s). */
export async function retryBusy<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (let delay = 5;; delay = Math.min(delay * 2, 250)) {
    try {
      return await fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
    }
  }
}

/** The connecting role may not write (PostgreSQL privileges, a read-only SQLite file). */
export function isPermissionDenied(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code === "42501" || code.startsWith("SQLITE_READONLY") ||
    /permission denied|readonly database/i.test(message)
  );
}

/** A refused write as a typed error (other errors unchanged). */
export function refusedWrite(e: unknown, what: string): unknown {
  if (!isPermissionDenied(e)) return e;
  return new StorageError(
    `the registry refused to ${what}: the connecting role may only read this instance; ` +
      `nothing was changed: connect as a role with write access (see ln.init's docs)`,
    { cause: e },
  );
}
