// Options objects as the record classes take them: a plain object (not an
// array, a Date, a Map) whose keys are the documented ones, so a typo
// (`{ kye: "x.txt" }`) is refused instead of silently ignored.
import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";

/** Whether `v` is a plain object (`{}` or `Object.create(null)`). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A `ValidationError` unless `options` is a plain object whose own keys are
 * among `known`; the message names the unknown keys and the known ones.
 * `what` names the call, e.g. `"new ln.File(data, options)"`.
 */
export function checkKnownOptions(
  what: string,
  options: unknown,
  known: readonly string[],
): void {
  if (!isPlainObject(options)) {
    throw new ValidationError(
      `${what}: options must be an object like { ${known[0]}: … }, got ${showValue(options)}`,
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
