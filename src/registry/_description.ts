// The `description` field shared by File, Transform, Run, Folder and ULabel.
import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";

/** A description from options: a string without NUL characters, or `null` when absent. */
export function validateDescription(label: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") {
    throw new ValidationError(`${label} description must be a string, got ${typeof v}`);
  }
  return storableText(label, "description", v);
}

/**
 * An optional text field of a record (from options, or as set before
 * `save()`): a string the registry can store, or `null` when absent
 * (`undefined` or `null`). Anything else (a number, a Symbol, an object) is
 * a `ValidationError`: the database drivers would store it as other text,
 * or abort the process.
 */
export function optionalText(label: string, field: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return requiredText(label, field, v);
}

/** A text field of a record that must be there: a string the registry can store. */
export function requiredText(label: string, field: string, v: unknown): string {
  if (typeof v !== "string") {
    throw new ValidationError(`${label} ${field} must be a string, got ${showValue(v)}`);
  }
  return storableText(label, field, v);
}

/**
 * Whether the registry can store `v` as text: without NUL characters
 * (PostgreSQL refuses them, SQLite cut the text there) and without half a
 * UTF-16 surrogate pair (stored as U+FFFD).
 */
export function isStorableText(v: string): boolean {
  return !v.includes("\0") && v.isWellFormed();
}

/**
 * Code kept as a record (a script's text, a notebook's cells), which is not
 * refused for what it holds: NUL characters and halves of surrogate pairs
 * replaced by U+FFFD, so the registry stores all of it (PostgreSQL refused
 * a NUL, SQLite cut the text there).
 */
export function storableCode(v: string): string {
  return isStorableText(v) ? v : v.replaceAll("\0", "\ufffd").toWellFormed();
}

/**
 * `v` when the registry can store it as text (see {@linkcode isStorableText}),
 * else a `ValidationError` saying what it holds.
 */
export function storableText(label: string, field: string, v: string): string {
  if (isStorableText(v)) return v;
  if (v.includes("\0")) {
    throw new ValidationError(
      `${label} ${field} holds a NUL character, which the registry cannot store; remove it`,
    );
  }
  throw new ValidationError(
    `${label} ${field} holds half a UTF-16 surrogate pair, which the registry cannot store ` +
      `(it would become U+FFFD); fix the string`,
  );
}

/** `, description="…"` for a toString (at most 40 characters shown), or `""` without one. */
export function describe(description: string | null): string {
  if (description === null) return "";
  const short = description.length > 40 ? `${description.slice(0, 39)}…` : description;
  return `, description=${JSON.stringify(short)}`;
}
