// A run's parameters: checked to be plain JSON, stored as JSON text on the
// run and, per top-level key, as canonical JSON in `run_param`, so
// `Run.filter({ params: { lr: 0.1 } })` is one typed subquery per key on
// libSQL and PostgreSQL alike (no JSON functions, no SQL text built here).
import { type Expression, expressionBuilder, type Kysely, type SqlBool } from "kysely";
import { CorruptFileError, ValidationError } from "../errors.ts";
import type { Database } from "./schema.ts";
import { storableText } from "./_description.ts";
import { isPlainObject } from "../storage/_validate.ts";

/** A JSON value as params hold it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** Run parameters: a plain object of JSON values. */
export type RunParams = { [key: string]: JsonValue };

/** Largest params, as JSON text. */
export const MAX_PARAMS_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a Date (pass date.toISOString())";
  if (typeof v === "object") return `an object of class ${v.constructor?.name ?? "unknown"}`;
  if (typeof v === "number") return String(v);
  return `a ${typeof v}`;
}

/**
 * Check that `params` is a plain object of JSON values (finite numbers,
 * strings, booleans, null, arrays and plain objects; no cycles, no
 * `__proto__`/`constructor`/`prototype` keys) of at most 1 MiB as JSON, and
 * return it as canonical JSON text. A `ValidationError` names the path.
 */
export function checkParams(params: unknown, what = "params"): string {
  if (!isPlainObject(params)) {
    throw new ValidationError(
      `${what} must be a plain object like { lr: 0.1 }, got ${describe(params)}`,
    );
  }
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) {
        throw new ValidationError(`${path}: numbers must be finite, got ${v}`);
      }
      return;
    }
    if (typeof v !== "object" || !(Array.isArray(v) || isPlainObject(v))) {
      throw new ValidationError(
        `${path}: expected a JSON value (number, string, boolean, null, array or plain ` +
          `object), got ${describe(v)}`,
      );
    }
    if (depth > MAX_DEPTH) {
      throw new ValidationError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
    }
    if (seen.has(v)) throw new ValidationError(`${path}: refers back to itself (a cycle)`);
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        // A hole (`[1, , 3]`, `new Array(2)`) is no JSON value: JSON.stringify would make it null.
        if (!(i in v)) {
          throw new ValidationError(
            `${path}[${i}]: an empty slot of a sparse array, not a JSON value; fill it (null)`,
          );
        }
        walk(v[i], `${path}[${i}]`, depth + 1);
      }
    } else {
      for (const k of Reflect.ownKeys(v)) {
        if (typeof k === "symbol") {
          throw new ValidationError(`${path}: symbol keys are not JSON`);
        }
        // Top-level keys are stored as text of their own (`run_param.key`).
        if (depth === 0) storableText(path, "key", k);
        if (FORBIDDEN_KEYS.has(k)) {
          throw new ValidationError(`${path}: the key "${k}" is not allowed; rename it`);
        }
        walk((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
      }
    }
    seen.delete(v);
  };
  walk(params, what, 0);
  const text = canonicalJson(params);
  if (new TextEncoder().encode(text).length > MAX_PARAMS_BYTES) {
    throw new ValidationError(
      `${what} are ${text.length} characters as JSON, more than 1 MiB; ` +
        `save large inputs as a File and pass its key`,
    );
  }
  return text;
}

/** JSON with object keys sorted at every level (a checked value: no cycles). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${
    Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")
  }}`;
}

/** Params from their stored JSON text. */
export function parseParams(text: string | null, runId: string): RunParams | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text);
    if (isPlainObject(v)) return v as RunParams;
  } catch { /* below */ }
  throw new CorruptFileError(
    `run ${runId}: its stored params are not a JSON object; the registry was changed by hand`,
  );
}

/** The `run_param` rows of params (checked). */
export function paramRows(runId: string, params: RunParams): Database["run_param"][] {
  return Object.keys(params).map((key) => ({
    run_id: runId,
    key,
    value_json: canonicalJson(params[key]),
  }));
}

/**
 * The `params` filter of `Run.filter()`: `{ lr: 0.1 }` matches runs whose
 * top-level param `lr` equals 0.1 (objects and arrays compare as wholes);
 * `null` matches runs without params.
 */
export function paramsFilter(db: Kysely<Database>, value: unknown): Expression<SqlBool> {
  const eb = expressionBuilder<Database, "run">();
  if (value === null) return eb("run.params", "is", null);
  checkParams(value, "Run where.params");
  const wanted = value as RunParams;
  const keys = Object.keys(wanted);
  return eb.and(keys.map((key) =>
    eb(
      "run.id",
      "in",
      db.selectFrom("run_param").select("run_param.run_id")
        .where("run_param.key", "=", key)
        .where("run_param.value_json", "=", canonicalJson(wanted[key])),
    )
  ));
}
