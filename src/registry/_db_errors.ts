// Driver-neutral recognition of database errors (libSQL/SQLite and Postgres),
// and their translation into typed errors at the registry boundary.
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryCompiler,
  TransactionSettings,
} from "kysely";
import { IntegrityError, LaminError, StorageError } from "../errors.ts";

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

/**
 * Run `fn`, retrying with jittered backoff while the database is busy (up to
 * ~60 s); a failure is thrown as {@linkcode dbError} translates it.
 */
export async function retryBusy<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (let delay = 5;; delay = Math.min(delay * 2, 250)) {
    try {
      return await fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() > deadline) throw dbError(e);
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
    }
  }
}

/** The database could not grow: the disk (or its quota) is full. */
export function isDiskFull(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code.startsWith("SQLITE_FULL") || code === "53100" ||
    /database or disk is full|could not extend file/i.test(message)
  );
}

/** A libSQL transaction that the database already ended (rolled back after an error). */
export function isTransactionClosed(e: unknown): boolean {
  return chain(e).some(({ code }) => code === "TRANSACTION_CLOSED");
}

/** A table the registry needs is not there (the file was removed or is something else). */
export function isMissingTable(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code === "42P01" || /no such table|relation "[^"]*" does not exist/i.test(message)
  );
}

/** A foreign key refused the write: a record it refers to is not (or no longer) there. */
export function isForeignKeyViolation(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code === "23503" || code.startsWith("SQLITE_CONSTRAINT") && /FOREIGN KEY/i.test(message) ||
    /FOREIGN KEY constraint failed|violates foreign key constraint/i.test(message)
  );
}

/** A driver error the caller can act on, as a typed error; any other error unchanged. */
export function dbError(e: unknown): unknown {
  if (e instanceof LaminError) return e;
  if (isForeignKeyViolation(e)) {
    return new IntegrityError(
      "a record this write refers to is not in the registry (deleted meanwhile by another " +
        "writer?); nothing was saved: get the records again and retry",
      { cause: e },
    );
  }
  if (isBusy(e)) {
    return new StorageError(
      "the registry stayed locked by another writer (or a stuck connection) past the wait; " +
        "nothing was saved: retry, or find the process holding it",
      { cause: e },
    );
  }
  if (isDiskFull(e)) {
    return new StorageError(
      "the disk holding the registry is full; free space and retry; nothing was saved",
      { cause: e },
    );
  }
  if (isTransactionClosed(e)) {
    return new StorageError(
      "the registry database ended the transaction after an earlier error (a full disk?); " +
        "nothing was saved; free space if the disk is full and retry",
      { cause: e },
    );
  }
  if (isPermissionDenied(e)) {
    return new StorageError(
      "the registry refused the write: the connecting role may only read this instance; " +
        "nothing was changed: connect as a role with write access (see ln.init's docs)",
      { cause: e },
    );
  }
  if (isMissingTable(e)) {
    const table = /no such table: (\w+)|relation "([^"]*)"/i.exec(String((e as Error)?.message));
    const which = table ? ` (table "${table[1] ?? table[2]}" is missing)` : "";
    return new StorageError(
      `the registry database has no lamindeno tables${which}: its file was removed or replaced ` +
        `while the instance was open, or it is not a lamindeno registry; reopen the instance ` +
        `with ln.init() (a removed registry is restored from a backup, not from storage)`,
      { cause: e },
    );
  }
  return e;
}

/**
 * `dialect` with every driver error passed through {@linkcode dbError}, so a
 * full disk or a registry file removed under an open instance is a typed
 * error wherever a query runs. A rollback of a transaction the database
 * already ended (libSQL's `TRANSACTION_CLOSED` after `SQLITE_FULL`) is a
 * no-op, so the error that ended it is the one reported.
 */
export function typedErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => new TypedErrorsDriver(dialect.createDriver()),
  };
}

async function typed<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw dbError(e);
  }
}

class TypedErrorsConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}
  executeQuery<R>(query: CompiledQuery) {
    return typed(this.inner.executeQuery<R>(query));
  }
  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number) {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (e) {
      throw dbError(e);
    }
  }
}

type Compile = QueryCompiler["compileQuery"];

class TypedErrorsDriver implements Driver {
  constructor(readonly inner: Driver) {}
  init() {
    return typed(this.inner.init());
  }
  async acquireConnection() {
    return new TypedErrorsConnection(await typed(this.inner.acquireConnection()));
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings) {
    return typed(this.inner.beginTransaction(unwrap(c), settings));
  }
  commitTransaction(c: DatabaseConnection) {
    return typed(this.inner.commitTransaction(unwrap(c)));
  }
  async rollbackTransaction(c: DatabaseConnection) {
    try {
      await this.inner.rollbackTransaction(unwrap(c));
    } catch (e) {
      if (!isTransactionClosed(e)) throw dbError(e);
    }
  }
  savepoint(c: DatabaseConnection, name: string, compile: Compile) {
    return typed(this.#inner("savepoint")(unwrap(c), name, compile));
  }
  rollbackToSavepoint(c: DatabaseConnection, name: string, compile: Compile) {
    return typed(this.#inner("rollbackToSavepoint")(unwrap(c), name, compile));
  }
  releaseSavepoint(c: DatabaseConnection, name: string, compile: Compile) {
    return typed(this.#inner("releaseSavepoint")(unwrap(c), name, compile));
  }
  releaseConnection(c: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy() {
    return this.inner.destroy();
  }
  #inner(name: "savepoint" | "rollbackToSavepoint" | "releaseSavepoint") {
    const f = this.inner[name];
    if (!f) throw new StorageError(`this registry database does not support ${name}`);
    return f.bind(this.inner);
  }
}

function unwrap(c: DatabaseConnection): DatabaseConnection {
  return c instanceof TypedErrorsConnection ? c.inner : c;
}

/** The connecting role may not write (PostgreSQL privileges, a read-only SQLite file). */
export function isPermissionDenied(e: unknown): boolean {
  return chain(e).some(({ code, message }) =>
    code === "42501" || code.startsWith("SQLITE_READONLY") ||
    /permission denied|readonly database/i.test(message)
  );
}
