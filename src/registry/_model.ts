// Records over typed tables, written once for all record classes: a Model
// maps a record's camelCase fields to its table's columns (typed from the
// one `Database` interface, so a misspelled column fails `deno check`);
// get / filter / by-ids and related managers are generic over it.
import type { Insertable, Selectable } from "kysely";
import { MultipleResultsError, NotFoundError, ValidationError } from "../errors.ts";
import type { Instance } from "./instance.ts";
import { retryBusy } from "./_db_errors.ts";
import { LazySchema } from "../storage/_validate.ts";
import type { Database } from "./schema.ts";

/** A table of the registry. */
export type Table = keyof Database & string;
/** A column of `T`. */
export type Col<T extends Table> = keyof Database[T] & string;
/** A row of `T` as selected. */
export type Row<T extends Table> = Selectable<Database[T]>;
/** A row of `T` as inserted. */
export type NewRow<T extends Table> = Insertable<Database[T]>;

/** A `where` for `get`/`filter`: camelCase field -> value (`null` matches missing; an array matches any). */
export type Where = Record<string, unknown>;

/** How one record class maps to its table: the single field <-> column mapping. */
export interface Model<T extends Table, R> {
  /** The table. */
  readonly table: T;
  /** The record class's name, for messages (`"File"`). */
  readonly label: string;
  /** Queryable camelCase fields and their columns. */
  readonly fields: Readonly<Record<string, Col<T>>> & { readonly id: Col<T> };
  /** To-many relations a `where` may name (`{ ulabels: label }`), through link tables. */
  readonly relations?: Readonly<Record<string, Relation>>;
  /** A record from a row (related records are joined by the caller). */
  fromRow(row: Row<T>, inst: Instance): R;
  /** The row of a record. */
  toRow(record: R): NewRow<T>;
}

/** Now, as stored: ISO 8601 UTC. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** A stored timestamp as a Date. */
export function date(v: string): Date;
export function date(v: string | null): Date | null;
export function date(v: string | null): Date | null {
  return v === null ? null : new Date(v);
}

/**
 * The zod schema of a {@linkcode Where} (zod loads on first use): each
 * field a string, finite number, boolean, valid Date or null, or an array of
 * at most `MAX_LIST` (20 000) of them. `get`/`filter` check the same by hand
 * (no zod load on a query) and also that each field exists on the record.
 *
 * @example Check a filter read from a config file
 * ```ts
 * import { WhereSchema } from "@lamindeno/lamindb";
 * console.assert((await WhereSchema.safeParse({ key: ["a.csv", "b.csv"], size: 3 })).success);
 * const bad = await WhereSchema.safeParse({ size: { gt: 3 } });
 * console.assert(!bad.success && bad.error.message.includes("size"));
 * ```
 */
export const WhereSchema: LazySchema<Where> = new LazySchema("where", (z) => {
  const scalar = z.union([
    z.string(),
    z.number().refine(Number.isFinite, { error: "a finite number" }),
    z.boolean(),
    z.date(),
    z.null(),
  ], { error: "a string, number, boolean, Date, null or an array of them" });
  return z.record(
    z.string(),
    z.union([scalar, z.array(scalar).max(MAX_LIST), z.undefined()], {
      error: "a string, number, boolean, Date, null or an array of them",
    }),
    { error: 'an object like { key: "x" }' },
  );
});

/** Values a `where` may compare with. */
type Plain = string | number | null;

/** Largest list a `where` takes (more would exceed the databases' parameter limits). */
export const MAX_LIST = 20_000;
const CHUNK = 500;

function plain(label: string, field: string, v: unknown): Plain {
  if (v === null || typeof v === "string") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      throw new ValidationError(`${label} where.${field}: expected a finite number, got ${v}`);
    }
    return v;
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString();
  const got = v === undefined
    ? "undefined"
    : typeof v === "object"
    ? (Array.isArray(v) ? "a nested array" : `an object ${safeShow(v)}`)
    : typeof v;
  throw new ValidationError(
    `${label} where.${field}: expected a string, number, boolean, Date, null or an array of ` +
      `them, got ${got}`,
  );
}

function safeShow(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 60) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** A validated where: column -> scalar, or column -> list. */
type Conditions<T extends Table> = { col: Col<T>; value: Plain | Plain[] }[];

function conditions<T extends Table, R>(model: Model<T, R>, where: Where): Conditions<T> {
  if (where === null || typeof where !== "object" || Array.isArray(where)) {
    throw new ValidationError(
      `${model.label}.filter() takes an object like { name: "x" }, got ${safeShow(where)}`,
    );
  }
  const out: Conditions<T> = [];
  for (const [field, value] of Object.entries(where)) {
    if (isRelation(model, field)) continue; // see relationConditions()
    const col = Object.hasOwn(model.fields, field) ? model.fields[field] : undefined;
    if (col === undefined) {
      const names = [...Object.keys(model.fields), ...Object.keys(model.relations ?? {})];
      throw new ValidationError(
        `${model.label} has no field "${field}"; fields: ${names.join(", ")}`,
      );
    }
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (value.length > MAX_LIST) {
        throw new ValidationError(
          `${model.label} where.${field}: at most ${MAX_LIST} values, got ${value.length}; ` +
            `query in batches`,
        );
      }
      out.push({ col, value: value.map((v) => plain(model.label, field, v)) });
    } else out.push({ col, value: plain(model.label, field, value) });
  }
  return out;
}

/** Rows of `model`'s table matching `where`. */
export async function selectWhere<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  where: Where,
): Promise<Row<T>[]> {
  const conds = conditions(model, where);
  const rels = relationConditions(model, where);
  if (rels.some((r) => r.ids.length === 0)) return [];
  const db = inst.assertOpen().db;
  // A long list is queried in chunks (the other conditions stay whole).
  const long = conds.findIndex((c) => Array.isArray(c.value) && c.value.length > CHUNK);
  const lists = long < 0 ? [undefined] : chunks(conds[long].value as Plain[], CHUNK);
  const out: Row<T>[] = [];
  for (const list of lists) {
    // One typed place: the table and columns are checked against `Database` by the Model.
    let q = whereRelated(db, model, db.selectFrom(model.table as Table).selectAll(), rels);
    for (let i = 0; i < conds.length; i++) {
      const { col, value } = conds[i];
      const v = i === long ? list! : value;
      const ref = db.dynamic.ref(col);
      if (v === null) q = q.where(ref, "is", null);
      else if (Array.isArray(v)) {
        if (v.length === 0) return [];
        q = q.where(ref, "in", v as never);
      } else q = q.where(ref, "=", v as never);
    }
    // A read can meet a busy database too (another process checkpointing its WAL).
    out.push(...(await retryBusy(() => q.execute())) as Row<T>[]);
  }
  return out;
}

/** A to-many relation of a record through a link table `table (self, other)`. */
export type Relation = {
  [L in LinkTable]: { readonly table: L; readonly self: Col<L>; readonly other: Col<L> };
}[LinkTable];

/** A validated relation filter: the record is linked to any of `ids`. */
type RelationCondition = { rel: Relation; ids: string[] };

function isRelation<T extends Table, R>(model: Model<T, R>, field: string): boolean {
  return model.relations !== undefined && Object.hasOwn(model.relations, field);
}

/** The relation filters of a where: each value a record, an id, or an array of them (any of). */
function relationConditions<T extends Table, R>(
  model: Model<T, R>,
  where: Where,
): RelationCondition[] {
  const out: RelationCondition[] = [];
  if (where === null || typeof where !== "object") return out;
  for (const [field, value] of Object.entries(where)) {
    if (!isRelation(model, field) || value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.length > MAX_LIST) {
      throw new ValidationError(
        `${model.label} where.${field}: at most ${MAX_LIST} values, got ${values.length}; ` +
          `query in batches`,
      );
    }
    const ids = values.map((v) => {
      if (typeof v === "string") return v;
      const id = v !== null && typeof v === "object" ? (v as { id?: unknown }).id : undefined;
      if (typeof id === "string") return id;
      throw new ValidationError(
        `${model.label} where.${field}: expected a record, an id or an array of them, ` +
          `got ${Array.isArray(v) ? "a nested array" : safeShow(v)}`,
      );
    });
    out.push({ rel: model.relations![field], ids: [...new Set(ids)] });
  }
  return out;
}

/** `q` narrowed to records linked to any of each condition's ids (a typed subquery per relation). */
function whereRelated<Q extends { where(lhs: never, op: "in", rhs: never): Q }, T extends Table, R>(
  db: Instance["db"],
  model: Model<T, R>,
  q: Q,
  rels: RelationCondition[],
): Q {
  for (const { rel, ids } of rels) {
    const sub = db.selectFrom(rel.table as LinkTable).select(db.dynamic.ref(rel.self))
      .where(db.dynamic.ref(rel.other), "in", ids as never);
    q = q.where(db.dynamic.ref(model.fields.id) as never, "in", sub as never);
  }
  return q;
}

function chunks<V>(values: readonly V[], n: number): V[][] {
  const out: V[][] = [];
  for (let i = 0; i < values.length; i += n) out.push(values.slice(i, i + n));
  return out;
}

/** Exactly one row matching an id or a where; `NotFoundError` / `MultipleResultsError` otherwise. */
export async function selectOne<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  idOrWhere: string | Where,
): Promise<Row<T>> {
  if (typeof idOrWhere !== "string" && (idOrWhere === null || typeof idOrWhere !== "object")) {
    throw new ValidationError(
      `${model.label}.get() takes an id or an object like { key: "x" }, got ${safeShow(idOrWhere)}`,
    );
  }
  const where = typeof idOrWhere === "string" ? { id: idOrWhere } : idOrWhere;
  const rows = await selectWhere(inst, model, where);
  const shown = safeShow(where);
  if (rows.length === 0) throw new NotFoundError(`no ${model.label} matches ${shown}`);
  if (rows.length > 1) {
    throw new MultipleResultsError(
      `${rows.length} ${model.label} records match ${shown}; use ${model.label}.filter() or a narrower where`,
    );
  }
  return rows[0];
}

/** Rows by ids, in the order of `ids` (missing ones dropped). */
export async function rowsByIds<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  ids: readonly string[],
): Promise<Row<T>[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const byId = new Map<string, Row<T>>();
  for (const part of chunks(unique, CHUNK)) {
    for (const r of await selectWhere(inst, model, { id: part })) {
      byId.set(String((r as Record<string, unknown>).id), r);
    }
  }
  return unique.map((id) => byId.get(id)).filter((r) => r !== undefined);
}

/** get / filter / byIds of one record class over one instance. */
export interface Queries<R> {
  /** The record with this id, or the one matching `where`. */
  get(idOrWhere: string | Where): Promise<R>;
  /** Records matching `where` (`{}` for all). */
  filter(where?: Where): Promise<R[]>;
  /** @internal Records by ids, in that order. */
  byIds(ids: readonly string[]): Promise<R[]>;
}

/**
 * The queries of a record class: written once, for every record. `hydrate`
 * turns rows into records with their related records joined (in a fixed
 * number of queries, not one per row).
 */
export function queries<T extends Table, R>(
  model: Model<T, R>,
  hydrate: (inst: Instance, rows: Row<T>[]) => Promise<R[]> = (inst, rows) =>
    Promise.resolve(rows.map((r) => model.fromRow(r, inst))),
): (inst: Instance) => Queries<R> {
  return (inst) => ({
    get: async (idOrWhere) => (await hydrate(inst, [await selectOne(inst, model, idOrWhere)]))[0],
    filter: async (where = {}) => await hydrate(inst, await selectWhere(inst, model, where)),
    byIds: async (ids) => await hydrate(inst, await rowsByIds(inst, model, ids)),
  });
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

/** The link tables and their two columns. */
export type LinkTable =
  | "run_input"
  | "file_features"
  | "folder_file"
  | "ulabel_parent"
  | "file_ulabel"
  | "run_ulabel";

/** A manager over a link table `table (selfCol, otherCol)`. */
export function linkManager<L extends LinkTable, T extends { id: string }>(
  table: L,
  selfCol: Col<L>,
  self: () => { id: string; inst: Instance },
  otherCol: Col<L>,
  load: (inst: Instance, ids: string[]) => Promise<T[]>,
): RelatedManager<T> {
  const check = (items: T[]) => {
    for (const it of items) {
      if (!it || typeof it !== "object" || typeof it.id !== "string") {
        throw new ValidationError(`${table}: add()/remove() take saved records`);
      }
    }
  };
  return {
    async all() {
      const { id, inst } = self();
      const db = inst.assertOpen().db;
      const rows = await db.selectFrom(table as LinkTable).select(db.dynamic.ref(otherCol))
        .where(db.dynamic.ref(selfCol), "=", id as never).execute();
      return await load(inst, rows.map((r) => String((r as Record<string, unknown>)[otherCol])));
    },
    async add(...items) {
      check(items);
      if (items.length === 0) return;
      const { id, inst } = self();
      const rows = items.map((it) => ({ [selfCol]: id, [otherCol]: it.id }));
      await inst.assertOpen().db.insertInto(table as LinkTable).values(rows as never)
        .onConflict((oc) => oc.doNothing()).execute();
    },
    async remove(...items) {
      check(items);
      if (items.length === 0) return;
      const { id, inst } = self();
      const db = inst.assertOpen().db;
      await db.deleteFrom(table as LinkTable).where(db.dynamic.ref(selfCol), "=", id as never)
        .where(db.dynamic.ref(otherCol), "in", items.map((it) => it.id) as never).execute();
    },
  };
}
