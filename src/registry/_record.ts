// Shared helpers of the record classes: where-clauses, get/filter, timestamps.
import type { Kysely } from "kysely";
import { MultipleResultsError, NotFoundError, ValidationError } from "../errors.ts";
import { instance } from "../_state.ts";

/** A `where` for `get`/`filter`: camelCase field -> value (`null` matches missing; an array matches any). */
export type Where = Record<string, unknown>;

/** Now, as stored: ISO 8601 UTC. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** `createdAt` -> `created_at`. */
export function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `created_at` -> `createdAt`. */
export function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

// deno-lint-ignore no-explicit-any
export type AnyDb = Kysely<any>;

export function anyDb(): AnyDb {
  return instance().db as unknown as AnyDb;
}

/** Select rows of `table` matching `where` (validated against `columns`). */
export async function selectRows(
  table: string,
  columns: readonly string[],
  where: Where,
  label: string,
): Promise<Record<string, unknown>[]> {
  if (where === null || typeof where !== "object" || Array.isArray(where)) {
    throw new ValidationError(`${label}.filter() takes an object like { name: "x" }, got ${where}`);
  }
  let q = anyDb().selectFrom(table).selectAll();
  for (const [field, value] of Object.entries(where)) {
    const col = snake(field);
    if (!columns.includes(col)) {
      throw new ValidationError(
        `${label} has no field "${field}"; fields: ${columns.map(camel).join(", ")}`,
      );
    }
    if (value === undefined) continue;
    if (value === null) q = q.where(col, "is", null);
    else if (Array.isArray(value)) {
      if (value.length === 0) return [];
      q = q.where(col, "in", value.map(plain));
    } else q = q.where(col, "=", plain(value));
  }
  return await q.execute();
}

function plain(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}

/** Exactly one row matching an id or a where; NotFoundError / MultipleResultsError otherwise. */
export async function selectOne(
  table: string,
  columns: readonly string[],
  idOrWhere: string | Where,
  label: string,
): Promise<Record<string, unknown>> {
  const where = typeof idOrWhere === "string" ? { id: idOrWhere } : idOrWhere;
  const rows = await selectRows(table, columns, where, label);
  const shown = JSON.stringify(where);
  if (rows.length === 0) throw new NotFoundError(`no ${label} matches ${shown}`);
  if (rows.length > 1) {
    throw new MultipleResultsError(
      `${rows.length} ${label} records match ${shown}; use ${label}.filter() or a narrower where`,
    );
  }
  return rows[0];
}

export function date(v: unknown): Date {
  return new Date(String(v));
}

export function optDate(v: unknown): Date | null {
  return v === null || v === undefined ? null : new Date(String(v));
}

export function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A to-many relation as lamindb's related managers: `all()`, `add()`, `remove()`. */
export interface RelatedManager<T> {
  /** Every related record. */
  all(): Promise<T[]>;
  /** Link records (idempotent). */
  add(...items: T[]): Promise<void>;
  /** Unlink records. */
  remove(...items: T[]): Promise<void>;
}

/** A manager over a link table `table (selfCol, otherCol)`. */
export function linkManager<T extends { id: string }>(
  table: string,
  selfCol: string,
  selfId: () => string,
  otherCol: string,
  load: (ids: string[]) => Promise<T[]>,
): RelatedManager<T> {
  return {
    async all() {
      const rows = await anyDb().selectFrom(table).select(otherCol).where(selfCol, "=", selfId())
        .execute();
      return await load(rows.map((r) => String(r[otherCol])));
    },
    async add(...items) {
      if (items.length === 0) return;
      const id = selfId();
      await anyDb().insertInto(table)
        .values(items.map((it) => ({ [selfCol]: id, [otherCol]: it.id })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    },
    async remove(...items) {
      if (items.length === 0) return;
      await anyDb().deleteFrom(table).where(selfCol, "=", selfId())
        .where(otherCol, "in", items.map((it) => it.id)).execute();
    },
  };
}

/** Rows of `table` by ids, in the order of `ids` (missing ones dropped). */
export async function rowsByIds(table: string, ids: string[]): Promise<Record<string, unknown>[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < unique.length; i += 500) {
    out.push(
      ...await anyDb().selectFrom(table).selectAll().where("id", "in", unique.slice(i, i + 500))
        .execute(),
    );
  }
  const byId = new Map(out.map((r) => [String(r.id), r]));
  return unique.map((id) => byId.get(id)).filter((r) => r !== undefined);
}
