// A kysely driver for a libSQL (SQLite) file over the `libsql` package's
// synchronous Database, which @libsql/client also uses for file: URLs, with
// the same behaviour (a transaction on a connection of its own, begun
// IMMEDIATE; other queries go on meanwhile on another; integers as numbers,
// checked to be safe) without its cost per row: @libsql/client defines
// every value of every row as a property twice (by position and by name),
// ~25 µs for a 20-column file row, more than SQLite's own time for a
// 100-row filter at 1M files. Rows here are plain objects. A transaction's
// connection is closed when it ends (@libsql/client leaves them open).
// @ts-types="./_libsql_types.d.ts"
import Database from "libsql";
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  Kysely,
  QueryResult,
} from "kysely";
import { SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from "kysely";

type Db = InstanceType<typeof Database>;
type Row = Record<string, unknown>;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER), MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_I64 = -(2n ** 63n), MAX_I64 = 2n ** 63n - 1n;

/** An error with a code, as @libsql/client gives (`TRANSACTION_CLOSED`). */
function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A bound value as SQLite takes it (the conversions @libsql/client makes). */
function toSql(v: unknown): unknown {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      throw new RangeError("Only finite numbers (not Infinity or NaN) can be passed as arguments");
    }
    return v;
  }
  if (typeof v === "bigint") {
    if (v < MIN_I64 || v > MAX_I64) {
      throw new RangeError("bigint is too large to be represented as a 64-bit integer");
    }
    return v;
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (v instanceof Date) return v.valueOf();
  if (v === undefined) {
    throw new TypeError("undefined cannot be passed as argument to the database");
  }
  return v;
}

/** A stored value as a JS value: integers as numbers (safe ones only), blobs as ArrayBuffers. */
function fromSql(v: unknown): unknown {
  if (typeof v === "bigint") {
    if (v < MIN_SAFE || v > MAX_SAFE) {
      throw new RangeError(
        "Received integer which cannot be safely represented as a JavaScript number",
      );
    }
    return Number(v);
  }
  if (v instanceof Uint8Array) {
    return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  }
  return v;
}

function execute(db: Db, sql: string, parameters: readonly unknown[]): QueryResult<Row> {
  const stmt = db.prepare(sql);
  stmt.safeIntegers(true);
  const args = parameters.map(toSql);
  if (stmt.reader) {
    stmt.raw(true);
    const names = stmt.columns().map((c) => c.name);
    const raw = stmt.all(...args) as unknown[][];
    const rows: Row[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i], row: Row = {};
      for (let k = 0; k < names.length; k++) row[names[k]] = fromSql(r[k]);
      rows[i] = row;
    }
    return { rows };
  }
  const info = stmt.run(...args);
  return {
    rows: [],
    numAffectedRows: BigInt(info.changes),
    insertId: BigInt(info.lastInsertRowid),
  };
}

/** A synchronous step as a promise (its error a rejection, not a throw). */
function settle<T>(step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (e) {
    return Promise.reject(e);
  }
}

class FileConnection implements DatabaseConnection {
  #tx: Db | undefined;
  constructor(readonly driver: LibsqlFileDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return settle(() => {
      const tx = this.#tx;
      if (tx && !tx.inTransaction) {
        // SQLite rolled it back itself (after SQLITE_FULL, say).
        throw coded("The transaction has been rolled back", "TRANSACTION_CLOSED");
      }
      if (tx) return execute(tx, query.sql, query.parameters) as QueryResult<R>;
      const db = this.driver.shared();
      try {
        return execute(db, query.sql, query.parameters) as QueryResult<R>;
      } catch (e) {
        // libsql does not reset a statement that failed (say, SQLITE_BUSY): it stays
        // active, and the connection's next writes stay in an open transaction that a
        // later rollback discards (a saved label was lost so). The connection goes; the
        // next query opens a fresh one (the failed statement is finalized when collected,
        // holding at most a read snapshot meanwhile, which blocks no writer under WAL).
        this.driver.drop(db);
        throw e;
      }
    });
  }

  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("the libSQL file driver does not stream query results");
  }

  begin(): void {
    if (this.#tx) throw new Error("a transaction is already in progress on this connection");
    const db = this.driver.take();
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      this.driver.give(db);
      throw e;
    }
    this.#tx = db;
  }

  end(statement: "COMMIT" | "ROLLBACK"): void {
    const db = this.#tx;
    if (!db) {
      if (statement === "ROLLBACK") return; // after a COMMIT that found it ended
      throw new Error("no transaction to commit");
    }
    if (!db.inTransaction) {
      this.#tx = undefined;
      this.driver.give(db);
      if (statement === "ROLLBACK") return; // already ended by SQLite
      throw coded("The transaction has been rolled back", "TRANSACTION_CLOSED");
    }
    db.exec(statement); // a failed COMMIT (busy) leaves the transaction open: retried or rolled back
    this.#tx = undefined;
    this.driver.give(db);
  }
}

class LibsqlFileDriver implements Driver {
  #db: Db | undefined;
  #all = new Set<Db>();
  #closed = false;
  constructor(readonly path: string) {}

  #open(): Db {
    if (this.#closed) throw coded("The client is closed", "CLIENT_CLOSED");
    const db = new Database(this.path);
    this.#all.add(db);
    return db;
  }
  /** The connection of queries outside transactions (opened again after each transaction). */
  shared(): Db {
    return this.#db ??= this.#open();
  }
  /**
   * A connection for a transaction: the shared one (its settings go with it,
   * as with @libsql/client); the next query outside opens a new one, which
   * also notices a registry file replaced or removed meanwhile.
   */
  take(): Db {
    const db = this.shared();
    this.#db = undefined;
    return db;
  }
  /** The shared connection after a failed statement: closed, a fresh one opened when next asked. */
  drop(db: Db): void {
    if (this.#db === db) this.#db = undefined;
    this.#all.delete(db);
    try {
      db.close();
    } catch { /* closing twice */ }
  }
  /** A transaction's connection, closed once the transaction ended. */
  give(db: Db): void {
    this.#all.delete(db);
    db.close();
  }

  async init(): Promise<void> {}
  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new FileConnection(this));
  }
  beginTransaction(c: DatabaseConnection): Promise<void> {
    return settle(() => (c as FileConnection).begin());
  }
  commitTransaction(c: DatabaseConnection): Promise<void> {
    return settle(() => (c as FileConnection).end("COMMIT"));
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return settle(() => (c as FileConnection).end("ROLLBACK"));
  }
  async releaseConnection(): Promise<void> {}
  destroy(): Promise<void> {
    this.#closed = true;
    this.#db = undefined;
    for (const db of this.#all) {
      try {
        db.close();
      } catch { /* closing twice */ }
    }
    this.#all.clear();
    return Promise.resolve();
  }
}

/** A kysely `Dialect` of a libSQL file, with a way to run a statement before kysely opens it. */
export interface LibsqlFileDialect extends Dialect {
  /** Run one statement outside kysely (opening checks, pragmas). */
  run(sql: string): void;
  /** Close the connections (when the dialect is not handed to kysely after all). */
  close(): void;
}

/**
 * SQLite's DDL is transactional (kysely's adapter says otherwise, to be
 * safe across drivers): with this, kysely's Migrator runs the pending
 * migrations and their records in one transaction, so a process killed
 * while it creates or upgrades a registry leaves it as it was (a registry
 * left with tables but no record of them could never be opened again).
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** The kysely `Dialect` of the libSQL file at `path` (see this module's header). */
export function libsqlFile(path: string): LibsqlFileDialect {
  const driver = new LibsqlFileDriver(path);
  return {
    createAdapter: () => new TransactionalDdlSqliteAdapter(),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    // deno-lint-ignore no-explicit-any
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
    createDriver: () => driver,
    run: (sql) => void execute(driver.shared(), sql, []),
    close: () => void driver.destroy(),
  };
}
