// How a field spelled as in Python lamindb (Django lookups `key__startswith`,
// `created_by__handle`; snake_case `is_latest`; `uid`) is written here, for
// the message of a `where` or `orderBy` naming a field the record lacks.
import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";

/** Django's lookups and the operator of a `where` meaning the same. */
const LOOKUPS: Readonly<Record<string, string>> = {
  exact: "eq",
  in: "in",
  gt: "gt",
  gte: "gte",
  lt: "lt",
  lte: "lte",
  contains: "contains",
  icontains: "icontains",
  startswith: "startsWith",
  endswith: "endsWith",
  isnull: "isNull",
};

/** lamindb's names that are not just snake_case of ours. */
const RENAMED: Readonly<Record<string, string>> = { uid: "id", artifacts: "files" };

/** lamindb's names of one registry's fields that are others here (its collections' and transforms' `key`). */
const RENAMED_IN: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Collection: { key: "name" },
  Transform: { key: "name" },
};

function camel(name: string, own: Readonly<Record<string, string>>): string {
  if (Object.hasOwn(own, name)) return own[name];
  if (Object.hasOwn(RENAMED, name)) return RENAMED[name];
  return name.replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The spelling of `field` here when it is lamindb's, e.g. `{ key: { startsWith: "raw/" } }`
 * for `key__startswith` (with `value`), `isLatest` for `is_latest`; undefined when it is
 * not one (no `_` in it and not a name lamindb renames) or the first field is unknown here.
 */
export function lamindbSpelling(
  field: string,
  value: unknown,
  known: readonly string[],
  model = "",
): string | undefined {
  const own = Object.hasOwn(RENAMED_IN, model) ? RENAMED_IN[model] : {};
  if (!field.includes("_") && !Object.hasOwn(RENAMED, field) && !Object.hasOwn(own, field)) {
    return undefined;
  }
  const parts = field.split("__").filter((p) => p !== "");
  if (parts.length === 0) return undefined;
  let op: string | undefined;
  if (parts.length > 1 && Object.hasOwn(LOOKUPS, parts[parts.length - 1])) {
    op = LOOKUPS[parts.pop()!];
  }
  const path = parts.map((p, i) => camel(p, i === 0 ? own : {}));
  if (!known.includes(path[0])) return undefined;
  if (parts.length === 1 && op === undefined) return path[0];
  let inner = showValue(value);
  if (op === "eq") op = undefined;
  if (op !== undefined) inner = `{ ${op}: ${inner} }`;
  for (let i = path.length - 1; i >= 0; i--) inner = `{ ${path[i]}: ${inner} }`;
  return inner;
}

/**
 * The name given as `name` or as lamindb 1.x's `key` (its collections and
 * transforms have a key where these records have a name); both, differing,
 * a `ValidationError`. `label`: the record class, for the message.
 */
export function nameOrKey(label: string, o: { name?: unknown; key?: unknown }): unknown {
  if (o.key !== undefined && o.name !== undefined && o.key !== o.name) {
    throw new ValidationError(
      `a ${label}'s key is its name (lamindb 1.x's spelling); got key ${showValue(o.key)} ` +
        `and name ${showValue(o.name)}: give one`,
    );
  }
  return o.name ?? o.key;
}
