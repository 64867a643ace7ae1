// Records over typed tables, written once for all record classes: a Model
// maps a record's camelCase fields to its table's columns (typed from the
// one `Database` interface, so a misspelled column fails `deno check`);
// get / filter / by-ids and related managers are generic over it.
import { showValue } from "../_display.ts";
import { checkKnownOptions, isPlainObject, LazySchema } from "../storage/_validate.ts";
import {
  type Expression,
  type Insertable,
  type Kysely,
  PostgresAdapter,
  type Selectable,
  sql,
  type SqlBool,
} from "kysely";
import { LaminError, MultipleResultsError, NotFoundError, ValidationError } from "../errors.ts";
import type { Instance } from "./instance.ts";
import { retryBusy } from "./_db_errors.ts";
import {
  type FieldType,
  linkDriver,
  type LooseSelect,
  MAX_LIST,
  whereExpression,
} from "./_where.ts";
import type { Database } from "./schema.ts";
import type { LinkTable } from "./_related.ts";
import type { DataFrame } from "../formats/tables.ts";
import { showQueries } from "./_display.ts";
import { STEM_LENGTH } from "../_ids.ts";
import { lamindbSpelling } from "./_lamindb_hint.ts";
import { checkDeleteOptions, type DeleteOptions } from "./_delete_options.ts";

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
  /**
   * To-many relations a `where` may name (`{ ulabels: label }`), through link
   * tables; with `target`, also by a where over the linked records
   * (`{ ulabels: { name: "x" } }`).
   */
  readonly links?: Readonly<
    Record<string, Relation & { readonly target?: () => Model<Table, unknown> }>
  >;
  /** A record from a row (related records are joined by the caller). */
  fromRow(row: Row<T>, inst: Instance): R;
  /** The row of a record. */
  toRow(record: R): NewRow<T>;
  /** Field types where the default (`…At` dates, `size` a number, else strings) is wrong. */
  readonly types?: Readonly<Record<string, FieldType>>;
  /**
   * String fields whose column compares by code point on both databases
   * (SQLite's BINARY; PostgreSQL `COLLATE "C"`): `startsWith` on them is an
   * index range.
   */
  readonly bytewise?: readonly string[];
  /** To-one relations a `where` can filter across (`{ transform: { name: "qc.ts" } }`). */
  readonly relations?: Readonly<
    Record<string, { readonly column: Col<T>; readonly target: () => Model<Table, unknown> }>
  >;
  /**
   * Fields filtered by their own condition instead of column equality
   * (`Run`'s `params`): field -> a typed expression over `table` that
   * checks `value` (a `ValidationError` for a bad one).
   */
  readonly customFilters?: Readonly<
    Record<string, (db: Kysely<Database>, value: unknown) => Expression<SqlBool>>
  >;
  /**
   * What a user's `get`/`filter` sees by default (File: latest versions
   * only): the where a query runs with. Lookups by ids are not scoped.
   */
  readonly scope?: (where: Where) => Where;
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
 * field a string, finite number, boolean, valid Date or null, an array of
 * at most `MAX_LIST` (20 000) of them, or an object of operators or of a
 * related record's fields (`{ size: { gt: 3 } }`, `{ transform: { name } }`).
 * `get`/`filter` check the same by hand (no zod load on a query), and also
 * that each field exists on the record and each operator fits its type.
 *
 * @example Check a filter read from a config file
 * ```ts
 * import { WhereSchema } from "@lamindeno/lamindb";
 * console.assert((await WhereSchema.safeParse({ key: ["a.csv", "b.csv"], size: 3 })).success);
 * console.assert((await WhereSchema.safeParse({ size: { gt: 3 } })).success);
 * const bad = await WhereSchema.safeParse({ size: [[3]] });
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
    z.union([
      scalar,
      z.array(scalar).max(MAX_LIST),
      z.record(z.string(), z.unknown()),
      z.undefined(),
    ], {
      error: "a string, number, boolean, Date, null, an array of them, or an object of operators",
    }),
    { error: 'an object like { key: "x" }' },
  );
});

export { MAX_LIST };

/** Ordering, paging of `filter()`. */
export interface QueryOptions {
  /** Field names, `-` first for descending: `"-createdAt"`, `["suffix", "-size"]`. */
  orderBy?: string | readonly string[];
  /** At most this many records. */
  limit?: number;
  /** Skip this many first. */
  offset?: number;
}

const safeShow = showValue;

function checkOptions<T extends Table, R>(model: Model<T, R>, o: QueryOptions): void {
  checkKnownOptions(`${model.label}.filter(where, options)`, o, ["orderBy", "limit", "offset"]);
  for (const k of ["limit", "offset"] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new ValidationError(
        `${model.label}.filter(): ${k} must be a whole number >= 0, got ${safeShow(v)}`,
      );
    }
  }
}

/** Rows of `model`'s table matching `where`, ordered and paged as asked. */
export async function selectWhere<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  where: Where,
  options: QueryOptions = {},
): Promise<Row<T>[]> {
  checkOptions(model, options);
  const db = inst.assertOpen().db;
  const driver = linkDriver(model, where);
  // One typed place: the table and columns are checked against `Database` by the Model.
  const pg = isPostgres(db);
  let q = db.selectFrom(model.table as Table).selectAll()
    .where((eb) => whereExpression(eb, model, where, { values: 0, pg }));
  if (driver) {
    // The link rows of one record drive the query, joined to the table: a page reads its own
    // rows only (`id in (select ...)` makes SQLite copy every linked id before the first row).
    const links = sql`(select ${sql.ref(driver.link.self)} as _link_self from ${
      sql.table(driver.link.table)
    } where ${sql.ref(driver.link.other)} = ${driver.id})`;
    const id = sql.ref(`${model.table}.${model.fields.id}`);
    // Typed loosely here alone: the table of a link is any of the link tables.
    q = (db.selectFrom(links.as("_l")) as unknown as LooseSelect)
      .innerJoin(model.table, (j) => j.on(id, "=", sql.ref("_l._link_self")))
      .selectAll(model.table)
      .where((eb) =>
        whereExpression(eb, model, driver.rest, { values: 0, pg })
      ) as unknown as typeof q;
  }
  // Missing values sort as the largest on both databases (PostgreSQL's way:
  // last ascending, first descending; SQLite's own is the reverse), and
  // both still walk an index for it.
  // Ties are broken by id, so that pages (limit, offset) of one order neither
  // repeat nor skip records.
  // Ids in code point order on both databases (PostgreSQL's default
  // collation is not: "a" < "B" there), as SQLite's BINARY: a version
  // family's ids count its versions in that order.
  const ref = (col: string) =>
    pg && col === model.fields.id ? sql`${sql.ref(col)} collate "C"` : db.dynamic.ref(col);
  const order = orderOf(model, options.orderBy);
  for (const [col, dir] of order) {
    q = q.orderBy(
      ref(col),
      (ob) => dir === "asc" ? ob.asc().nullsLast() : ob.desc().nullsFirst(),
    );
  }
  if (order.length > 0 && !order.some(([col]) => col === model.fields.id)) {
    q = q.orderBy(ref(model.fields.id), "asc");
  }
  if (options.limit !== undefined) q = q.limit(options.limit);
  if (options.offset !== undefined) {
    if (options.limit === undefined) q = q.limit(Number.MAX_SAFE_INTEGER);
    q = q.offset(options.offset);
  }
  // A read can meet a busy database too (another process checkpointing its WAL).
  return await retryBusy(() => q.execute()) as Row<T>[];
}

/** Whether `db` is PostgreSQL (else SQLite/libSQL). */
export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

function orderOf<T extends Table, R>(
  model: Model<T, R>,
  orderBy: QueryOptions["orderBy"],
): [Col<T>, "asc" | "desc"][] {
  if (orderBy === undefined) return [];
  const list = typeof orderBy === "string" ? [orderBy] : orderBy;
  if (!Array.isArray(list)) {
    throw new ValidationError(`${model.label}.filter(): orderBy is a field name or a list of them`);
  }
  return list.map((o) => {
    const name = typeof o === "string" ? o.replace(/^-/, "") : "";
    const col = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined;
    if (!col) {
      const spelled = typeof o === "string"
        ? lamindbSpelling(name, undefined, Object.keys(model.fields), model.label)
        : undefined;
      const hint = spelled === undefined || spelled.startsWith("{")
        ? ""
        : `; lamindb's ${o} is ${o.startsWith("-") ? "-" : ""}${spelled} here`;
      throw new ValidationError(
        `${model.label}.filter(): cannot order by ${safeShow(o)}${hint}; fields: ${
          Object.keys(model.fields).join(", ")
        }`,
      );
    }
    return [col, (o as string).startsWith("-") ? "desc" : "asc"];
  });
}

/** How many rows match `where`. */
export async function countWhere<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  where: Where,
): Promise<number> {
  const db = inst.assertOpen().db;
  const r = await retryBusy(() =>
    db.selectFrom(model.table as Table).select((eb) => eb.fn.countAll().as("n"))
      .where((eb) => whereExpression(eb, model, where, { values: 0, pg: isPostgres(db) }))
      .executeTakeFirstOrThrow()
  );
  return Number((r as { n: number | string | bigint }).n);
}

/** A to-many relation of a record through a link table `table (self, other)`. */
export type Relation = {
  [L in LinkTable]: { readonly table: L; readonly self: Col<L>; readonly other: Col<L> };
}[LinkTable];

function chunks<V>(values: readonly V[], n: number): V[][] {
  const out: V[][] = [];
  for (let i = 0; i < values.length; i += n) out.push(values.slice(i, i + n));
  return out;
}
const CHUNK = 500;

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
  if (rows.length === 0 && typeof idOrWhere === "string") {
    // lamindb's get("<16-character stem uid>"): the family's latest version.
    const latest = model.scope && idOrWhere.length === STEM_LENGTH
      ? await latestOfStem(inst, model, idOrWhere)
      : undefined;
    if (latest) return latest;
    const byName = model.label === "File" ? "key" : "name" in model.fields ? "name" : undefined;
    throw new NotFoundError(
      `no ${model.label} has id ${safeShow(idOrWhere)}${
        model.scope && idOrWhere.length === STEM_LENGTH
          ? " (nor is it a version family's stem)"
          : ""
      }${
        byName
          ? `; to look it up by ${byName}: ${model.label}.get({ ${byName}: ${
            safeShow(idOrWhere)
          } })`
          : ""
      }`,
    );
  }
  if (rows.length === 0) throw new NotFoundError(`no ${model.label} matches ${shown}`);
  if (rows.length > 1) {
    throw new MultipleResultsError(
      `${rows.length} ${model.label} records match ${shown}; use ${model.label}.filter() or a narrower where`,
    );
  }
  return rows[0];
}

/**
 * `get`'s row: the one matching `idOrWhere` within the model's scope (File:
 * latest versions); when none does, as lamindb's `get`, the newest match
 * outside it (an older version by `{ key, version }`, or by a key only an
 * older version has), so a where naming one version finds it.
 */
async function selectScoped<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  idOrWhere: string | Where,
  scoped: (where: Where) => Where,
): Promise<Row<T>> {
  if (typeof idOrWhere === "string") return await selectOne(inst, model, idOrWhere);
  const where = scoped(idOrWhere);
  try {
    return await selectOne(inst, model, where);
  } catch (e) {
    if (!(e instanceof NotFoundError) || where === idOrWhere) throw e;
    const [newest] = await selectWhere(inst, model, idOrWhere, {
      orderBy: ["-createdAt", "-id"],
      limit: 1,
    });
    if (newest) return newest;
    throw e;
  }
}

/** The latest version of the family whose ids start with `stem` (versioned records only). */
async function latestOfStem<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  stem: string,
): Promise<Row<T> | undefined> {
  const db = inst.assertOpen().db;
  // The expression the family indexes cover (`_versions.ts`'s sameFamily).
  const q = db.selectFrom(model.table as "file").selectAll()
    .where(sql<string>`substr(id, 1, ${sql.lit(STEM_LENGTH)})`, "=", stem)
    .where("is_latest", "=", 1);
  return await retryBusy(() => q.executeTakeFirst()) as Row<T> | undefined;
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

/** @internal What a query can do beyond running: read one field of its records, narrow it. */
export interface QueryMore {
  /** Why this query has no `refine`, `pluck` or `df` (a fixed list of records), for their errors. */
  readonly fixed?: string;
  /** The values of one field of the records (`toList(field)`); the field checked first. */
  readonly pluck?: (field: unknown, options: QueryOptions) => Promise<unknown[]>;
  /** The query of the records that also match `where` (`filter(where)`), in its options. */
  readonly refine?: (where: unknown) => Query<unknown>;
}

/**
 * The values of `field` of the records `run` gives: a `ValidationError`
 * before running unless it is one of `model`'s fields (with lamindb's
 * spelling when it is one: `created_at` is `createdAt`).
 */
export function plucker<T extends Table, R>(
  model: Model<T, R>,
  run: (options: QueryOptions) => Promise<R[]>,
): NonNullable<QueryMore["pluck"]> {
  return async (field, options) => {
    const names = Object.keys(model.fields);
    if (typeof field !== "string" || !Object.hasOwn(model.fields, field)) {
      const spelled = typeof field === "string"
        ? lamindbSpelling(field, undefined, names, model.label)
        : undefined;
      throw new ValidationError(
        `${model.label} query toList(field): no field ${safeShow(field)}${
          spelled === undefined || spelled.startsWith("{")
            ? ""
            : `; lamindb's ${field} is ${spelled} here`
        }; fields: ${names.join(", ")}`,
      );
    }
    return (await run(options)).map((r) => (r as Record<string, unknown>)[field]);
  };
}

/**
 * `orderBy` the other way round, ties by id reversed too (an order names
 * id, or ties go by id ascending); none: newest first. Anything but field
 * names goes as given (and is refused where the query runs).
 */
function reversed(orderBy: QueryOptions["orderBy"]): QueryOptions["orderBy"] {
  if (orderBy === undefined) return ["-createdAt", "-id"];
  const list = typeof orderBy === "string" ? [orderBy] : orderBy;
  const plain = (o: unknown) => typeof o === "string" && /^-?[A-Za-z_][A-Za-z0-9_]*$/.test(o);
  if (!Array.isArray(list) || !list.every(plain)) return orderBy;
  const flipped = list.map((o) => o.startsWith("-") ? o.slice(1) : `-${o}`);
  return list.some((o) => o.replace(/^-/, "") === "id") ? flipped : [...flipped, "-id"];
}

/** What `df()` adds to the fields' columns: `features` (File): a column per feature value name. */
export interface DfOptions {
  /**
   * A column per feature value (`file.features.addValues`): `true` for
   * every name the rows have, or the names wanted; missing values are null.
   */
  features?: boolean | readonly string[];
}

/**
 * The records a `filter()` selects: await it for the array, or ask for
 * `first()`, `last()`, `one()`, `count()`, `exists()`, or `df()` for a table;
 * `orderBy()`, `limit()` and `offset()` return a new query (queries are
 * immutable values). In a notebook, a query as a cell's value shows its
 * records as a table.
 */
export class Query<R> implements Promise<R[]> {
  /** `"Query"`. */
  readonly [Symbol.toStringTag] = "Query";
  readonly #run: (options: QueryOptions) => Promise<R[]>;
  readonly #count: () => Promise<number>;
  readonly #options: QueryOptions;
  readonly #label: string;
  readonly #df: ((options: QueryOptions, include?: DfOptions) => Promise<DataFrame>) | undefined;
  readonly #more: QueryMore;

  /** @internal Made by `filter()`. */
  constructor(
    label: string,
    run: (options: QueryOptions) => Promise<R[]>,
    countAll: () => Promise<number>,
    options: QueryOptions = {},
    df?: (options: QueryOptions, include?: DfOptions) => Promise<DataFrame>,
    more: QueryMore = {},
  ) {
    this.#label = label;
    this.#run = run;
    this.#count = countAll;
    this.#options = options;
    this.#df = df;
    this.#more = more;
  }

  /** @internal A query whose instance is found when it runs (errors reject, never throw). */
  static defer<R>(label: string, make: () => Query<R>): Query<R> {
    return new Query<R>(
      label,
      (o) => Promise.resolve().then(() => make().#with(o).all()),
      () => Promise.resolve().then(() => make().count()),
      {},
      (o, include) => Promise.resolve().then(() => make().#with(o).df(include)),
      {
        pluck: (field, o) => Promise.resolve().then(() => make().#with(o).#pluck(field)),
        refine: (where) => Query.defer(label, () => make().filter(where as Where)),
      },
    );
  }

  /**
   * @internal A query of fixed records (an unsaved record's versions: itself),
   * paged by `limit`/`offset`; not narrowed further.
   */
  static of<R>(label: string, records: readonly R[], fixed: string): Query<R> {
    const page = (o: QueryOptions) =>
      Promise.resolve(records.slice(o.offset ?? 0, (o.offset ?? 0) + (o.limit ?? Infinity)));
    return new Query<R>(label, page, () => Promise.resolve(records.length), {}, undefined, {
      fixed,
    });
  }

  /** A query that rejects with `error` whatever is asked of it. */
  static #failing<R>(label: string, error: Error): Query<R> {
    const fail = () => Promise.reject(error);
    return new Query<R>(label, fail, fail, {}, fail, { pluck: fail, fixed: error.message });
  }

  #with(o: QueryOptions): Query<R> {
    return new Query(
      this.#label,
      this.#run,
      this.#count,
      { ...this.#options, ...o },
      this.#df,
      this.#more,
    );
  }

  #pluck(field: unknown): Promise<unknown[]> {
    if (!this.#more.pluck) {
      return Promise.reject(
        new ValidationError(this.#more.fixed ?? `${this.#label} queries have no toList(field)`),
      );
    }
    return this.#more.pluck(field, this.#options);
  }

  /** @internal For its text form: `Query<File>(limit=2)`. */
  get _shown(): string {
    const o = Object.entries(this.#options).filter(([, v]) => v !== undefined);
    return `Query<${this.#label}>(${o.map(([k, v]) => `${k}=${safeShow(v)}`).join(", ")})`;
  }

  /** Order by fields (`"-createdAt"` descending). */
  orderBy(...fields: string[]): Query<R> {
    return this.#with({ orderBy: fields });
  }

  /**
   * The records of this query that also match `where` (lamindb's
   * `.filter(...).filter(...)`), in its order; a where naming `isLatest`,
   * an `id` or a `hash` in either lifts the latest-versions scope, as in
   * one where. Narrow before `limit()` / `offset()` (after them it is a
   * `ValidationError`, as Django's filter of a slice); a search's results
   * are not narrowed.
   *
   * @example Narrow a query step by step
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * for (const key of ["raw/a.csv", "raw/b.txt", "out/c.csv"]) {
   *   await new ln.File(new TextEncoder().encode(key), { key }).save();
   * }
   * const csv = ln.File.filter({ suffix: ".csv" });
   * console.assert((await csv.filter({ key: { startsWith: "raw/" } }).toList("key")).join() === "raw/a.csv");
   * await ln.close();
   * ```
   */
  filter(where: Where = {}): Query<R> {
    if (!this.#more.refine) {
      return Query.#failing(
        this.#label,
        new ValidationError(
          this.#more.fixed ??
            `${this.#label}.search() results are not filtered further; ` +
              `filter the records (await the search) or use ${this.#label}.filter(where)`,
        ),
      );
    }
    if (this.#options.limit !== undefined || this.#options.offset !== undefined) {
      return Query.#failing(
        this.#label,
        new ValidationError(
          `${this.#label} query: filter() or exclude() after limit() or offset(); ` +
            `narrow first, then page: query.filter(where).limit(n)`,
        ),
      );
    }
    return (this.#more.refine(where) as Query<R>).#with(this.#options);
  }

  /**
   * The records of this query that do not match `where` (lamindb's
   * `exclude()`): `filter({ exclude: where })`, so a record missing a
   * field `where` names stays in (as Django's `exclude()`; `not` of a
   * missing value matches none).
   *
   * @example All files but the text ones
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.File(new TextEncoder().encode("a"), { key: "a.csv" }).save();
   * await new ln.File(new TextEncoder().encode("b"), { key: "b.txt" }).save();
   * console.assert((await ln.File.filter({}).exclude({ suffix: ".txt" }).toList("key")).join() === "a.csv");
   * await ln.close();
   * ```
   */
  exclude(where: Where): Query<R> {
    return this.filter({ exclude: where });
  }

  /**
   * The only record of this query with this id or matching `where`
   * (lamindb's `queryset.get()`): `NotFoundError` for none,
   * `MultipleResultsError` for more.
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.File(new TextEncoder().encode("a"), { key: "raw/a.csv" }).save();
   * const file = await ln.File.filter({ suffix: ".csv" }).get({ key: "raw/a.csv" });
   * console.assert((await ln.File.filter({}).get(file.id)).key === "raw/a.csv");
   * await ln.close();
   * ```
   */
  get(idOrWhere: string | Where): Promise<R> {
    if (typeof idOrWhere !== "string" && !isPlainObject(idOrWhere)) {
      return Promise.reject(
        new ValidationError(
          `${this.#label} query get() takes an id or an object like { key: "x" }, got ${
            safeShow(idOrWhere)
          }`,
        ),
      );
    }
    return this.filter(typeof idOrWhere === "string" ? { id: idOrWhere } : idOrWhere).one();
  }

  /**
   * The query itself (lamindb's `distinct()`): a query never gives a record
   * twice, a where across labels or other links being a membership test,
   * not a join.
   *
   * @example A file with both labels, once
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const f = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await f.ulabels.add(await new ln.ULabel({ name: "x" }).save(), await new ln.ULabel({ name: "y" }).save());
   * const q = ln.File.filter({ ulabels: { name: { in: ["x", "y"] } } });
   * console.assert((await q.distinct()).length === 1 && (await q).length === 1);
   * await ln.close();
   * ```
   */
  distinct(): Query<R> {
    return this;
  }

  /** At most `n` records. */
  limit(n: number): Query<R> {
    return this.#with({ limit: n });
  }

  /** Skip the first `n` records. */
  offset(n: number): Query<R> {
    return this.#with({ offset: n });
  }

  /** The records. */
  all(): Promise<R[]> {
    return this.#run(this.#options);
  }

  /** The first `n` (at most) of the query's own limit. */
  #atMost(n: number): QueryOptions {
    const own = this.#options.limit;
    // A limit that is not a whole number >= 0 goes as given (and is refused).
    const ok = own === undefined || (Number.isSafeInteger(own) && own >= 0);
    return { ...this.#options, limit: own === undefined ? n : ok ? Math.min(own, n) : own };
  }

  /** The first record (in the query's order, within its limit), or `undefined`. */
  async first(): Promise<R | undefined> {
    return (await this.#run(this.#atMost(1)))[0];
  }

  /**
   * The last record in the query's order (lamindb's `last()`): the first
   * of the reversed order (ties by id reversed too); an unordered query's
   * newest record (by `createdAt`, then id); a search's last result (within
   * its limit). After
   * `limit()` or `offset()` a `ValidationError` (as Django's, which cannot
   * reverse a slice).
   *
   * @example The newest file, and the last key in order
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * for (const key of ["b.csv", "a.csv", "c.csv"]) {
   *   await new ln.File(new TextEncoder().encode(key), { key }).save();
   * }
   * console.assert((await ln.File.filter({}).last())?.key === "c.csv");
   * console.assert((await ln.File.filter({}).orderBy("-key").last())?.key === "a.csv");
   * await ln.close();
   * ```
   */
  async last(): Promise<R | undefined> {
    if (!this.#more.refine) {
      // A search: its results (within its limit) in their ranked order.
      const all = await this.all();
      return all[all.length - 1];
    }
    const { limit, offset, orderBy } = this.#options;
    if (limit !== undefined || offset !== undefined) {
      throw new ValidationError(
        `${this.#label} query: last() after limit() or offset(); order the query the other ` +
          `way and take first(), or call last() before paging`,
      );
    }
    return (await this.#run({ ...this.#options, orderBy: reversed(orderBy), limit: 1 }))[0];
  }

  /** The only record; `NotFoundError` for none, `MultipleResultsError` for more. */
  async one(): Promise<R> {
    const rows = await this.#run(this.#atMost(2));
    if (rows.length === 0) throw new NotFoundError(`no ${this.#label} matches the query`);
    if (rows.length > 1) {
      throw new MultipleResultsError(`more than one ${this.#label} matches the query; use first()`);
    }
    return rows[0];
  }

  /**
   * The only record, or `undefined` for none (lamindb's `one_or_none()`);
   * `MultipleResultsError` for more.
   *
   * @example Look a label up without catching NotFoundError
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.ULabel({ name: "benchmark" }).save();
   * console.assert((await ln.ULabel.filter({ name: "benchmark" }).oneOrNone())?.name === "benchmark");
   * console.assert((await ln.ULabel.filter({ name: "nope" }).oneOrNone()) === undefined);
   * await ln.close();
   * ```
   */
  async oneOrNone(): Promise<R | undefined> {
    const rows = await this.#run(this.#atMost(2));
    if (rows.length > 1) {
      throw new MultipleResultsError(`more than one ${this.#label} matches the query; use first()`);
    }
    return rows[0];
  }

  /** How many records match (ignoring limit and offset). */
  count(): Promise<number> {
    return this.#count();
  }

  /** Whether any record matches (within the query's limit and offset). */
  async exists(): Promise<boolean> {
    return (await this.#run(this.#atMost(1))).length > 0;
  }

  /**
   * The records as a polars DataFrame: columns named like the fields,
   * related records by name (`transform`, `createdBy`, `storage`, `run`),
   * newest first and at most 100 rows unless the query orders or limits;
   * `{ features: true }` (File; or the names wanted) adds a column per
   * feature value (lamindb's `df(features=True)`).
   *
   * @example Files with their feature values
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * const f = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * await f.features.addValues({ temperature: 21.6 });
   * const df = await ln.File.filter({}).df({ features: true });
   * console.assert(df.getColumn("temperature").toArray()[0] === 21.6);
   * await ln.close();
   * ```
   */
  df(options?: DfOptions): Promise<DataFrame> {
    if (!this.#df) {
      return Promise.reject(
        new ValidationError(this.#more.fixed ?? `${this.#label} queries have no df()`),
      );
    }
    return this.#df(this.#options, options);
  }

  /**
   * lamindb's name for {@linkcode Query.df} (`to_dataframe()`, lamindb 1.11
   * and later).
   *
   * @example
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
   * console.assert((await ln.File.filter({ suffix: ".txt" }).toDataFrame()).height === 1);
   * await ln.close();
   * ```
   */
  toDataFrame(options?: DfOptions): Promise<DataFrame> {
    return this.df(options);
  }

  /** lamindb's name for {@linkcode Query.all} (`to_list()`): the records. */
  toList(): Promise<R[]>;
  /**
   * The values of one field of the records, in the query's order
   * (lamindb's `to_list("key")`); a field the records lack is a
   * `ValidationError`.
   *
   * @example The keys of the CSV files
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * await new ln.File(new TextEncoder().encode("a"), { key: "a.csv" }).save();
   * await new ln.File(new TextEncoder().encode("b"), { key: "b.csv" }).save();
   * const keys = await ln.File.filter({ suffix: ".csv" }).orderBy("key").toList("key");
   * console.assert(keys.join() === "a.csv,b.csv");
   * await ln.close();
   * ```
   */
  toList<K extends keyof R & string>(field: K): Promise<R[K][]>;
  toList(field?: string): Promise<unknown[]> {
    return field === undefined ? this.all() : this.#pluck(field);
  }

  /**
   * Delete every record of the query for good (lamindb's
   * `QuerySet.delete()`), one by one as each record's own `delete()` does
   * (a file's object too, for keys lamindeno manages; links to runs,
   * labels and folders); resolves to how many. File and Collection queries
   * only. Checked first, so that nothing is deleted: the options, a query
   * with `limit()` or `offset()` (a `ValidationError`, as Django's), and a
   * file that a collection holds (an `IntegrityError` naming it). When a
   * record fails later (another writer changed it), the error says how
   * many were deleted before it. A File query holds latest versions only
   * (unless its where names `isLatest`, an id or a hash): deleting them
   * makes their previous versions latest, as each `delete()` does.
   *
   * @example Delete the CSV files
   * ```ts
   * import * as ln from "@lamindeno/lamindb";
   * await ln.init({ storage: await Deno.makeTempDir() });
   * for (const key of ["a.csv", "b.csv", "c.txt"]) {
   *   await new ln.File(new TextEncoder().encode(key), { key }).save();
   * }
   * console.assert((await ln.File.filter({ suffix: ".csv" }).delete()) === 2);
   * console.assert((await ln.File.filter({})).map((f) => f.key).join() === "c.txt");
   * await ln.close();
   * ```
   */
  async delete(options: DeleteOptions = {}): Promise<number> {
    const label = this.#label;
    if (label !== "File" && label !== "Collection") {
      throw new ValidationError(
        `${label} queries have no delete(); lamindeno deletes File and Collection records ` +
          `(with their links); nothing was deleted`,
      );
    }
    checkDeleteOptions(`${label} query`, options);
    if (!this.#more.refine) {
      throw new ValidationError(
        this.#more.fixed ??
          `${label}.search() results are not deleted at once; delete the records of ` +
            `${label}.filter(where), or each of await ${label}.search(...); nothing was deleted`,
      );
    }
    if (this.#options.limit !== undefined || this.#options.offset !== undefined) {
      throw new ValidationError(
        `${label} query: delete() after limit() or offset(); narrow the query with filter() ` +
          `instead; nothing was deleted`,
      );
    }
    type Deletable = {
      delete(o: DeleteOptions): Promise<void>;
      _checkDeletable?(all: readonly Deletable[]): Promise<void>;
    };
    const records = await this.all() as Deletable[];
    // Every record checked at once (File: none is in a collection).
    await records[0]?._checkDeletable?.(records);
    let done = 0;
    for (const r of records) {
      try {
        await r.delete(options);
      } catch (e) {
        if (done > 0 && e instanceof LaminError) {
          e.message = `${done} of the query's ${records.length} ${label} records were deleted, ` +
            `then: ${e.message}`;
        }
        throw e;
      }
      done++;
    }
    return done;
  }

  /** Await the records. */
  then<A = R[], B = never>(
    onfulfilled?: ((value: R[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.all().then(onfulfilled, onrejected);
  }

  /** Handle a failure. */
  catch<B = never>(
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<R[] | B> {
    return this.all().catch(onrejected);
  }

  /** Run `onfinally` either way. */
  finally(onfinally?: (() => void) | null): Promise<R[]> {
    return this.all().finally(onfinally);
  }
}

showQueries(Query);

/** get / filter / byIds of one record class over one instance. */
export interface Queries<R> {
  /** The record with this id, or the one matching `where`. */
  get(idOrWhere: string | Where): Promise<R>;
  /** Records matching `where` (`{}` for all), ordered and paged by `options`. */
  filter(where?: Where, options?: QueryOptions): Query<R>;
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
  // Only a plain object is scoped: anything else is refused as it is (a Map is no where).
  const scoped = (where: Where) => model.scope && isPlainObject(where) ? model.scope(where) : where;
  return (inst) => ({
    get: async (idOrWhere) =>
      (await hydrate(inst, [await selectScoped(inst, model, idOrWhere, scoped)]))[0],
    filter: (where = {}, options = {}) => queryOf(model, hydrate, inst, [where], options),
    byIds: async (ids) => await hydrate(inst, await rowsByIds(inst, model, ids)),
  });
}

/**
 * The wheres of `filter(a).filter(b)` as one: merged when no field is in
 * two of them (so a link a where names still drives the query), else
 * `{ and: [a, b] }`.
 */
function allOf(parts: readonly unknown[]): unknown {
  if (parts.length === 1) return parts[0];
  const seen = new Set<string>();
  for (const p of parts) {
    if (!isPlainObject(p)) return { and: parts };
    for (const k of Object.keys(p)) {
      if (seen.has(k)) return { and: parts };
      seen.add(k);
    }
  }
  return Object.assign({}, ...parts);
}

/**
 * A record class's scope (File: latest versions) over the wheres of one
 * query: the fields it adds when none of them names what lifts it.
 */
function scopeAll<T extends Table, R>(model: Model<T, R>, parts: readonly unknown[]): Where {
  const where = allOf(parts) as Where;
  // Only a plain object is scoped: anything else is refused as it is (a Map is no where).
  if (!model.scope || !isPlainObject(where)) return where;
  // Scoped as the fields of all the wheres together would be (`and` joins them).
  const fields: Where = Object.assign({}, ...parts.filter(isPlainObject));
  const added = Object.entries(model.scope(fields)).filter(([k]) => !Object.hasOwn(fields, k));
  return added.length === 0 ? where : { ...where, ...Object.fromEntries(added) };
}

/** The query of the records matching every where of `parts`, in `options`. */
function queryOf<T extends Table, R>(
  model: Model<T, R>,
  hydrate: (inst: Instance, rows: Row<T>[]) => Promise<R[]>,
  inst: Instance,
  parts: readonly unknown[],
  options: QueryOptions,
): Query<R> {
  const where = scopeAll(model, parts);
  // The options as given (a query merges them into new objects): checked when it runs.
  const given = () => checkOptions(model, options);
  const run = async (o: QueryOptions) => (
    given(), await hydrate(inst, await selectWhere(inst, model, where, o))
  );
  return new Query(
    model.label,
    run,
    async () => (given(), await countWhere(inst, model, where)),
    options,
    async (o, include) => (
      given(), await (await import("./_table.ts")).recordsDf(inst, model, where, o, include)
    ),
    {
      // One field's values: the records from their rows alone (a field is a
      // column of the row; related records are not looked up).
      pluck: plucker(model, async (o) => {
        given();
        return (await selectWhere(inst, model, where, o)).map((r) => model.fromRow(r, inst));
      }),
      refine: (more) => queryOf(model, hydrate, inst, [...parts, more], options),
    },
  );
}

export { linkManager, type LinkTable, type RelatedManager } from "./_related.ts";
