// Feature values of a file (lamindb 1.x's `artifact.features.add_values()`,
// `get_values()`, `set_values()`, `remove_values()` and
// `Artifact.filter(temperature=21.6)`): one row per file and feature name in
// `file_value`, the value as canonical JSON and, for a number, as a number
// too, so `File.filter({ features: { temperature: { gt: 20 } } })` is a typed
// subquery on libSQL and PostgreSQL alike.
import { type Expression, expressionBuilder, type Kysely, type SqlBool } from "kysely";
import { ValidationError } from "../errors.ts";
import type { Database } from "./schema.ts";
import { canonicalJson, checkParams, type JsonValue } from "./_run_params.ts";
import { isPlainObject } from "../storage/_validate.ts";
import { showValue } from "../_display.ts";
import { storableText } from "./_description.ts";
import { retryBusy } from "./_db_errors.ts";
import type { RelatedManager } from "./_related.ts";
import type { Features } from "./features.ts";
import type { Instance } from "./instance.ts";

/** Feature values: names and JSON values (`{ temperature: 21.6, tissue: "lung" }`). */
export type FeatureValues = { [name: string]: JsonValue };

/**
 * `file.features`: the feature sets linked to the file (`all`, `add`,
 * `remove`) and, as lamindb 1.x's feature manager, its feature values:
 * one JSON value per feature name.
 */
export interface FeatureManager extends RelatedManager<Features> {
  /**
   * Annotate with `values` (lamindb's `add_values`): each name gets its
   * value (a name given before gets the new one, where lamindb's adds a
   * second value to an artifact; `null`/`undefined` values are skipped, as
   * lamindb skips `None`). Values are JSON: finite numbers,
   * strings, booleans, arrays and plain objects (a `Date`: pass its ISO
   * string). Bad input is a `ValidationError` and nothing is written.
   */
  addValues(values: Record<string, unknown>): Promise<void>;
  /** Replace every value with `values` (lamindb's `set_values`), in one transaction. */
  setValues(values: Record<string, unknown>): Promise<void>;
  /** The values, by name in code point order (lamindb's `get_values`). */
  getValues(): Promise<FeatureValues>;
  /** Remove the values of `names` (lamindb's `remove_values`), or all of them. */
  removeValues(names?: string | string[]): Promise<void>;
}

const MAX_NAME = 255;

/** Strings in code point order (`<` compares UTF-16 units: U+1F600 before U+FF01). */
export function byCodePoint(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** A `ValidationError` unless `name` is a feature name: 1-255 characters the registry can store. */
export function checkName(name: string, call: string): void {
  if (name.length === 0 || name.length > MAX_NAME) {
    throw new ValidationError(
      `${call}: a feature name has 1-${MAX_NAME} characters, got ${showValue(name)}`,
    );
  }
  storableText(call, "feature name", name);
}

/** `values` checked (a plain object of JSON values, names of 1-255 characters), null ones dropped. */
function checked(values: unknown, call: string): FeatureValues {
  if (!isPlainObject(values)) {
    throw new ValidationError(
      `${call}: values is a plain object like { temperature: 21.6 }, got ${showValue(values)}`,
    );
  }
  const kept: FeatureValues = {};
  for (const [name, v] of Object.entries(values as Record<string, unknown>)) {
    checkName(name, call);
    if (v !== null && v !== undefined) kept[name] = v as JsonValue;
  }
  checkParams(kept, `${call} values`);
  return kept;
}

function rows(fileId: string, values: FeatureValues): Database["file_value"][] {
  return Object.keys(values).map((key) => {
    const v = values[key];
    return {
      file_id: fileId,
      key,
      value_json: canonicalJson(v),
      value_num: typeof v === "number" ? v : null,
    };
  });
}

/** The value methods of `file.features`, for the file `self()` names (saved). */
export function valueMethods(
  self: () => { id: string; inst: Instance },
): Omit<FeatureManager, keyof RelatedManager<Features>> {
  const write = async (values: FeatureValues, replace: boolean) => {
    const { id, inst } = self();
    const db = inst.db;
    const list = rows(id, values);
    await retryBusy(() =>
      db.transaction().execute(async (trx) => {
        const exists = await trx.selectFrom("file").select("id").where("id", "=", id)
          .executeTakeFirst();
        if (!exists) {
          throw new ValidationError(
            `file ${id} is not in the registry (deleted?); nothing written`,
          );
        }
        if (replace) await trx.deleteFrom("file_value").where("file_id", "=", id).execute();
        // Upserted: another writer may add the same name meanwhile (the last one wins).
        for (let i = 0; i < list.length; i += 200) {
          await trx.insertInto("file_value").values(list.slice(i, i + 200))
            .onConflict((oc) =>
              oc.columns(["file_id", "key"]).doUpdateSet((eb) => ({
                value_json: eb.ref("excluded.value_json"),
                value_num: eb.ref("excluded.value_num"),
              }))
            ).execute();
        }
      })
    );
  };
  return {
    async addValues(values) {
      const kept = checked(values, "file.features.addValues(values)");
      await write(kept, false);
    },
    async setValues(values) {
      const kept = checked(values, "file.features.setValues(values)");
      await write(kept, true);
    },
    async getValues() {
      const { id, inst } = self();
      const got = await retryBusy(() =>
        inst.db.selectFrom("file_value").select(["key", "value_json"])
          .where("file_id", "=", id).execute()
      );
      got.sort((a, b) => byCodePoint(a.key, b.key));
      const out: FeatureValues = {};
      for (const r of got) out[r.key] = JSON.parse(r.value_json);
      return out;
    },
    async removeValues(names) {
      const list = names === undefined ? undefined : typeof names === "string" ? [names] : names;
      if (list !== undefined && (!Array.isArray(list) || list.some((n) => typeof n !== "string"))) {
        throw new ValidationError(
          `file.features.removeValues(names): names is a feature name or an array of them, ` +
            `got ${showValue(names)}`,
        );
      }
      for (const n of list ?? []) checkName(n, "file.features.removeValues(names)");
      if (list?.length === 0) return;
      const { id, inst } = self();
      let q = inst.db.deleteFrom("file_value").where("file_id", "=", id);
      if (list) q = q.where("key", "in", list);
      await retryBusy(() => q.execute());
    },
  };
}

const OPERATORS = ["eq", "ne", "in", "gt", "gte", "lt", "lte", "isNull"] as const;
type Operator = typeof OPERATORS[number];

/**
 * Whether `v` is an object of operators (`{ gt: 20 }`), not a value to
 * equal; one that mixes operators with other keys (`{ gt: 1, gtt: 2 }`,
 * a typo) is a `ValidationError` (an object value is written `{ eq: {...} }`).
 */
function isOperators(v: unknown, path: string): v is Partial<Record<Operator, unknown>> {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v as object);
  const ops = keys.filter((k) => (OPERATORS as readonly string[]).includes(k));
  if (ops.length > 0 && ops.length < keys.length) {
    const other = keys.find((k) => !ops.includes(k));
    throw new ValidationError(
      `${path}: "${other}" is no operator (${OPERATORS.join(", ")}); to match an object ` +
        `value as a whole, write { eq: {...} }`,
    );
  }
  return keys.length > 0 && ops.length === keys.length;
}

/**
 * The `features` filter of `File.filter()`: `{ temperature: 21.6 }` matches
 * files whose feature `temperature` has that value (arrays and objects
 * compare as wholes); `{ temperature: { gt: 20 } }` compares numbers
 * (`gt gte lt lte`), `{ in: [...] }` any of values, `{ ne: v }` a value
 * other than v, `{ isNull: true }` no value, `{ eq: {...} }` an object as a
 * whole. Several names must all match.
 */
export function valuesFilter(db: Kysely<Database>, where: unknown): Expression<SqlBool> {
  const eb = expressionBuilder<Database, "file">();
  if (!isPlainObject(where) || Object.keys(where as object).length === 0) {
    throw new ValidationError(
      `File where.features: an object of feature names and values like ` +
        `{ temperature: 21.6 } or { temperature: { gt: 20 } }, got ${showValue(where)}`,
    );
  }
  const parts: Expression<SqlBool>[] = [];
  for (const [name, cond] of Object.entries(where as Record<string, unknown>)) {
    const path = `File where.features.${name}`;
    checkName(name, "File where.features");
    const sub = () =>
      db.selectFrom("file_value").select("file_value.file_id").where("key", "=", name);
    const value = (v: unknown) => {
      if (v === undefined || v === null) {
        throw new ValidationError(`${path}: a value, got ${showValue(v)} (isNull: true for none)`);
      }
      checkParams({ v }, path);
      return canonicalJson(v);
    };
    const number = (op: string, v: unknown) => {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new ValidationError(`${path}.${op}: a finite number, got ${showValue(v)}`);
      }
      return v;
    };
    if (!isOperators(cond, path)) {
      parts.push(eb("file.id", "in", sub().where("value_json", "=", value(cond))));
      continue;
    }
    for (const [op, v] of Object.entries(cond) as [Operator, unknown][]) {
      switch (op) {
        case "eq":
          parts.push(eb("file.id", "in", sub().where("value_json", "=", value(v))));
          break;
        case "ne":
          parts.push(eb("file.id", "in", sub().where("value_json", "<>", value(v))));
          break;
        case "in": {
          if (!Array.isArray(v) || v.length === 0 || v.length > 1000) {
            throw new ValidationError(`${path}.in: an array of 1-1000 values, got ${showValue(v)}`);
          }
          parts.push(eb("file.id", "in", sub().where("value_json", "in", v.map(value))));
          break;
        }
        case "isNull":
          if (typeof v !== "boolean") {
            throw new ValidationError(`${path}.isNull: true or false, got ${showValue(v)}`);
          }
          parts.push(v ? eb("file.id", "not in", sub()) : eb("file.id", "in", sub()));
          break;
        default: {
          const sqlOp = ({ gt: ">", gte: ">=", lt: "<", lte: "<=" } as const)[op];
          parts.push(eb("file.id", "in", sub().where("value_num", sqlOp, number(op, v))));
        }
      }
    }
  }
  return eb.and(parts);
}
