// Records as tables, for every record class at once: `X.df()` and
// `X.filter(where).df()` give a polars DataFrame whose columns are named
// like the record's fields, with related records joined in by name
// (`transform` holds the transform's name instead of `transformId`),
// newest first, at most 100 rows unless asked otherwise. Loaded on first
// use (it loads polars).
import pl from "nodejs-polars";
import type { DataFrame } from "../formats/tables.ts";
import { htmlTable, showDate, showValue } from "../_display.ts";
import {
  type DfOptions,
  type Model,
  type QueryOptions,
  selectWhere,
  type Table,
  type Where,
} from "./_model.ts";
import { ValidationError } from "../errors.ts";
import { checkKnownOptions, isPlainObject } from "../storage/_validate.ts";
import { byCodePoint, checkName } from "./_file_values.ts";
import { retryBusy } from "./_db_errors.ts";
import { type FieldType, fieldType } from "./_where.ts";
import type { Instance } from "./instance.ts";

/** Rows a `df()` returns unless `limit` says otherwise. */
export const DF_LIMIT = 100;

/** The column a related record is named by, per table. */
const LABEL_COLUMN: Partial<Record<Table, string>> = {
  transform: "name",
  user: "handle",
  storage: "root",
  run: "id",
  file: "key",
  folder: "name",
  ulabel: "name",
  features: "id",
};

/** id -> label of the records of `model` with these ids (one query per 500 ids). */
async function labels(
  inst: Instance,
  model: Model<Table, unknown>,
  ids: readonly unknown[],
): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((v) => v !== null && v !== undefined).map(String))];
  const col = LABEL_COLUMN[model.table] ?? "id";
  const out = new Map<string, string>();
  if (col === "id") {
    for (const id of wanted) out.set(id, id);
    return out;
  }
  const db = inst.assertOpen().db;
  for (let i = 0; i < wanted.length; i += 500) {
    const part = wanted.slice(i, i + 500);
    const rows = await retryBusy(() =>
      db.selectFrom(model.table as Table)
        .select([db.dynamic.ref("id"), db.dynamic.ref(col)])
        .where(db.dynamic.ref("id"), "in", part as never).execute()
    ) as Record<string, unknown>[];
    for (const r of rows) if (r[col] !== null) out.set(String(r.id), String(r[col]));
  }
  return out;
}

/** A polars column from stored values: dates as datetimes, numbers, booleans, else strings. */
function series(name: string, type: FieldType, values: unknown[]): pl.Series {
  if (type === "date") {
    return pl.Series(
      name,
      values.map((v) => (v === null || v === undefined ? null : new Date(v as string))),
      pl.Datetime("ms"),
    );
  }
  const present = values.filter((v) => v !== null && v !== undefined);
  const nulls = (f: (v: unknown) => unknown) => values.map((v) => (v == null ? null : f(v)));
  if (type === "boolean") return pl.Series(name, nulls((v) => !!Number(v)), pl.Bool); // 0/1 stored
  if (present.length > 0 && present.every((v) => typeof v === "boolean")) {
    return pl.Series(name, nulls((v) => v), pl.Bool);
  }
  if (
    (present.length > 0 || type === "number") &&
    present.every((v) => typeof v === "number" || typeof v === "bigint")
  ) {
    const nums = nulls(Number) as (number | null)[];
    const ints = nums.every((v) => v === null || Number.isSafeInteger(v));
    return pl.Series(name, nums, ints ? pl.Int64 : pl.Float64);
  }
  return pl.Series(
    name,
    nulls((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))),
    pl.Utf8,
  );
}

/**
 * The records of `model` matching `where` as a DataFrame: one column per
 * field (camelCase), a relation's name column in place of its id column,
 * ordered `-createdAt` and limited to {@linkcode DF_LIMIT} unless `options`
 * say otherwise.
 */
export async function recordsDf<T extends Table, R>(
  inst: Instance,
  model: Model<T, R>,
  where: Where,
  options: QueryOptions = {},
  include?: DfOptions,
): Promise<DataFrame> {
  const features = checkInclude(model.label, include);
  const o: QueryOptions = {
    ...options,
    orderBy: options.orderBy ?? ("createdAt" in model.fields ? "-createdAt" : undefined),
    limit: options.limit ?? DF_LIMIT,
  };
  // A registry's default view (File: latest versions), as its get/filter see it.
  if (model.scope) where = model.scope(where);
  const rows = await selectWhere(inst, model, where, o) as Record<string, unknown>[];
  const relationOf = new Map(
    Object.entries(model.relations ?? {}).map(([name, r]) => [r.column as string, [name, r]]),
  );
  const columns: pl.Series[] = [];
  for (const [field, col] of Object.entries(model.fields)) {
    const values = rows.map((r) => r[col]);
    const rel = relationOf.get(col);
    if (rel) {
      const [name, { target }] = rel as [string, { target: () => Model<Table, unknown> }];
      const byId = await labels(inst, target(), values);
      columns.push(
        series(name, "string", values.map((v) => (v == null ? null : byId.get(String(v)) ?? v))),
      );
    } else columns.push(series(field, fieldType(model, field), values));
  }
  if (features) {
    const ids = rows.map((r) => String(r[model.fields.id]));
    const taken = new Set(columns.map((c) => c.name));
    for (const c of await featureColumns(inst, ids, features)) {
      // A name a field (or an earlier column) has too: "<name> (feature)", "<name> (feature 2)" ...
      let name = c.name;
      for (let k = 1; taken.has(name); k++) name = `${c.name} (feature${k > 1 ? ` ${k}` : ""})`;
      taken.add(name);
      columns.push(name === c.name ? c : c.rename(name));
    }
  }
  return pl.DataFrame(columns);
}

/** `df(options)` checked: the feature names wanted (`true`: all), or undefined for none. */
function checkInclude(label: string, include: unknown): true | readonly string[] | undefined {
  if (include === undefined) return undefined;
  if (!isPlainObject(include)) {
    throw new ValidationError(
      `${label} query df(options): options is an object like { features: true }`,
    );
  }
  checkKnownOptions(`${label} query df(options)`, include, ["features"]);
  const f = include.features;
  if (f === undefined || f === false) return undefined;
  if (label !== "File") {
    throw new ValidationError(`${label} query df({ features }): feature values are a File's`);
  }
  if (f === true) return true;
  if (!Array.isArray(f) || f.some((n) => typeof n !== "string")) {
    throw new ValidationError(
      `File query df({ features }): features is true or an array of feature names, got ${
        showValue(f)
      }`,
    );
  }
  for (const n of f as string[]) checkName(n, "File query df({ features })");
  if (new Set(f).size !== f.length) {
    throw new ValidationError(`File query df({ features }): a feature name is given twice`);
  }
  return f as string[];
}

/**
 * A column per feature name (`names`, or every name the files have, in
 * code point order) of files `ids` in their order: numbers as float64,
 * strings, booleans, other values (arrays, objects, or a name whose
 * values mix types) as JSON text; missing values null.
 */
async function featureColumns(
  inst: Instance,
  ids: readonly string[],
  names: true | readonly string[],
): Promise<pl.Series[]> {
  const at = new Map(ids.map((id, i) => [id, i]));
  const byName = new Map<string, unknown[]>();
  if (names !== true) { for (const n of names) byName.set(n, new Array(ids.length).fill(null)); }
  for (let i = 0; i < ids.length; i += 500) {
    let q = inst.db.selectFrom("file_value").select(["file_id", "key", "value_json"])
      .where("file_id", "in", ids.slice(i, i + 500));
    if (names !== true) {
      if (names.length === 0) break;
      q = q.where("key", "in", [...names]);
    }
    for (const r of await retryBusy(() => q.execute())) {
      let col = byName.get(r.key);
      if (!col) byName.set(r.key, col = new Array(ids.length).fill(null));
      col[at.get(r.file_id)!] = JSON.parse(r.value_json);
    }
  }
  const order = names === true ? [...byName.keys()].sort(byCodePoint) : names;
  return order.map((name) => {
    const values = byName.get(name)!;
    const kinds = new Set(values.filter((v) => v !== null).map((v) => typeof v));
    const only = kinds.size === 1 ? [...kinds][0] : kinds.size === 0 ? "string" : "mixed";
    if (only === "number") return pl.Series(name, values as (number | null)[], pl.Float64);
    if (only === "boolean") return pl.Series(name, values as (boolean | null)[], pl.Bool);
    if (only === "string") return pl.Series(name, values as (string | null)[], pl.Utf8);
    return pl.Series(name, values.map((v) => (v === null ? null : JSON.stringify(v))), pl.Utf8);
  });
}

/** A DataFrame as an HTML table (dates as `YYYY-MM-DD HH:MM:SS`, every cell escaped). */
export function dfHtml(df: DataFrame, caption?: string): string {
  const cols = df.columns;
  const rows = (df.toRecords() as Record<string, unknown>[]).map((r) =>
    cols.map((c) => (r[c] instanceof Date ? showDate(r[c] as Date) : r[c]))
  );
  return htmlTable(cols, rows, caption);
}
