// The part of the `libsql` package's Database (better-sqlite3's API) that
// _libsql_file.ts uses; its own types pull in all of @types/node.

/** A prepared statement. */
export interface Statement {
  readonly reader: boolean;
  raw(toggle?: boolean): this;
  safeIntegers(toggle?: boolean): this;
  columns(): { name: string }[];
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
}

/** A connection to a database file. */
declare class Database {
  constructor(path: string, options?: Record<string, unknown>);
  readonly inTransaction: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): this;
  close(): void;
}

export default Database;
