// Options validated with zod: one schema per public options type, built on
// first use (zod loads lazily: importing the library stays fast), and one
// translation of zod's issues into a ValidationError naming the field, what
// was expected and what was got. Here in storage/ (which imports only the
// leaves) so that every layer above, storage included, can use it.
import { showValue } from "../_display.ts";
import type { core, ZodType } from "zod";
import { redactText } from "../_redact.ts";
import { ValidationError } from "../errors.ts";

/** The zod module. */
type Zod = typeof import("zod");

/**
 * A zod schema as {@linkcode LazySchema.schema} gives it (at run time the
 * full zod 4 `ZodType`; typed here by what any zod version offers).
 */
export interface ZodSchema<T> {
  /** `value` if it fits, else throws zod's `ZodError`. */
  parse(value: unknown): T;
  /** `{ success, data }` or `{ success: false, error }` (a `ZodError`). */
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: unknown };
}

const builders = new WeakMap<LazySchema<unknown>, (z: Zod) => ZodType<unknown>>();

/** The zod schema of `lazy` built with `z`, to compose it into another schema. */
export function composeSchema<T>(lazy: LazySchema<T>, z: Zod): ZodType<T> {
  return builders.get(lazy as LazySchema<unknown>)!(z) as ZodType<T>;
}

let loading: Promise<Zod> | undefined;

/** The zod module, imported on first use. */
export function loadZod(): Promise<Zod> {
  return loading ??= import("zod");
}

/** The outcome of {@linkcode LazySchema.safeParse}. */
export type SafeParseResult<T> = { success: true; data: T } | {
  success: false;
  error: ValidationError;
};

/**
 * A zod schema of an options type, built when first used (zod is loaded
 * lazily). `parse` checks a value and throws a `ValidationError` naming the
 * field, what was expected and what was got; `schema()` gives the zod
 * schema itself, to compose or to use with zod directly.
 */
export class LazySchema<T> {
  readonly #build: (z: Zod) => ZodType<T>;
  #schema?: Promise<ZodType<T>>;

  /**
   * `what` names the checked value in messages (e.g. `"ln.init() options"`);
   * `build` makes the zod schema from the zod module.
   */
  constructor(readonly what: string, build: (z: typeof import("zod")) => ZodType<T>) {
    this.#build = build;
    builders.set(this as LazySchema<unknown>, build as (z: Zod) => ZodType<unknown>);
  }

  /** The zod schema itself (loads zod on first use). */
  schema(): Promise<ZodSchema<T>> {
    return this.#zod();
  }

  #zod(): Promise<ZodType<T>> {
    return this.#schema ??= loadZod().then((z) => this.#build(z));
  }

  /** `value` if it fits; else a ValidationError saying what is wrong. */
  async parse(value: unknown): Promise<T> {
    const r = await this.safeParse(value);
    if (!r.success) throw r.error;
    return r.data;
  }

  /** Like {@linkcode LazySchema.parse}, without throwing. */
  async safeParse(value: unknown): Promise<SafeParseResult<T>> {
    const schema = await this.#zod();
    const r = schema.safeParse(value, { reportInput: true });
    if (r.success) return { success: true, data: r.data };
    return { success: false, error: validationError(this.what, r.error.issues) };
  }
}

/** Fields whose values are never shown, only their type. */
const SECRET_FIELD = /pass|secret|token|credential|api_?key|headers|authorization/i;
const ZOD_DEFAULT = /^(Invalid input|Invalid option|Too (small|big)|Unrecognized key|Invalid)/;

function describe(v: unknown, secret: boolean): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "string") {
    if (secret) return "a string";
    const s = redactText(v);
    return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
  }
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") {
    return secret ? `a ${typeof v}` : `${typeof v} ${String(v)}`;
  }
  if (typeof v === "object") {
    const name = Object.getPrototypeOf(v)?.constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return `a ${typeof v}`;
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path.length
    ? path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`).join("")
    : "";
}

function expected(issue: core.$ZodIssue): string {
  const custom = !ZOD_DEFAULT.test(issue.message);
  if (custom) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "custom" ? "another kind of value" : `a ${issue.expected}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return issue.origin === "string" && Number(issue.minimum) === 1
        ? "a non-empty string"
        : `${issue.origin} of at least ${issue.minimum}`;
    case "too_big":
      return `${issue.origin} of at most ${issue.maximum}`;
    default:
      return issue.message;
  }
}

/**
 * zod's issues as one ValidationError: per issue (at most three) the field,
 * what was expected and what was got, e.g.
 * `init options: cacheDir: expected a string, got number 3`.
 */
export function validationError(what: string, issues: readonly core.$ZodIssue[]): ValidationError {
  const parts = issues.slice(0, 3).map((issue) => {
    const field = fieldOf(issue.path);
    const at = field ? `${field}: ` : "";
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      return `${at}unknown option${issue.keys.length > 1 ? "s" : ""} ${keys}`;
    }
    // A refinement over several fields says it all (`params: { sentence: true }`).
    if (issue.code === "custom" && issue.params?.sentence) return `${at}${issue.message}`;
    const secret = SECRET_FIELD.test(field);
    return `${at}expected ${expected(issue)}, got ${describe(issue.input, secret)}`;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : "";
  return new ValidationError(`${what}: ${parts.join("; ")}${more}`);
}

/** How a value is described in a message: `describe`, without secrets. */
export function describeValue(v: unknown): string {
  return describe(v, false);
}

/** Whether `v` is a plain object (`{}` or `Object.create(null)`; not an array, a Date, a Map). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A `ValidationError` unless `options` is undefined or a plain object whose
 * own keys are among `known` (so a typo like `{ kye: "x.txt" }` is refused,
 * not ignored); the message names `what` (the call, e.g.
 * `"new ln.File(data, options)"`), the unknown keys and the known ones.
 */
export function checkKnownOptions(
  what: string,
  options: unknown,
  known: readonly string[],
): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new ValidationError(
      `${what}: options must be an object like { ${known.join(", ")} }, got ${
        describe(options, false)
      }`,
    );
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ValidationError(
      `${what}: unknown option${unknown.length > 1 ? "s" : ""} ${
        unknown.map((k) => showValue(k)).join(", ")
      }; the options are ${known.join(", ")}`,
    );
  }
}
