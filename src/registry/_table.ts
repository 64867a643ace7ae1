// Records as tables, for every record class at once: `X.df()` and
// `X.filter(where).df()` give a polars DataFrame whose columns are named
// like the record's fields, with related records joined in by name
// (`transform` holds the transform's name instead of `transformId`),
// newest first, at most 100 rows unless asked otherwise. Loaded on first
// use (it loads polars).
import pl from "nodejs-polars";
import type { DataFrame } from "../formats/tables.ts";
import { htmlTable, showDate } from "../_display.ts";
import { type Model, type QueryOptions, selectWhere, type Table, type Where } from "./_model.ts";
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
): Promise<DataFrame> {
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
  return pl.DataFrame(columns);
}

/** A DataFrame as an HTML table (dates as `YYYY-MM-DD HH:MM:SS`, every cell escaped). */
export function dfHtml(df: DataFrame, caption?: string): string {
  const cols = df.columns;
  const rows = (df.toRecords() as Record<string, unknown>[]).map((r) =>
    cols.map((c) => (r[c] instanceof Date ? showDate(r[c] as Date) : r[c]))
  );
  return htmlTable(cols, rows, caption);
}
