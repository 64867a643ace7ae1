// The `description` field shared by File, Transform, Run, Folder and ULabel.
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
 * `v` when the registry can store it as text: without NUL characters
 * (PostgreSQL refuses them, SQLite cut the text there) and without half a
 * UTF-16 surrogate pair (stored as U+FFFD).
 */
export function storableText(label: string, field: string, v: string): string {
  if (v.includes("\0")) {
    throw new ValidationError(
      `${label} ${field} holds a NUL character, which the registry cannot store; remove it`,
    );
  }
  if (!v.isWellFormed()) {
    throw new ValidationError(
      `${label} ${field} holds half a UTF-16 surrogate pair, which the registry cannot store ` +
        `(it would become U+FFFD); fix the string`,
    );
  }
  return v;
}

/** `, description="…"` for a toString (at most 40 characters shown), or `""` without one. */
export function describe(description: string | null): string {
  if (description === null) return "";
  const short = description.length > 40 ? `${description.slice(0, 39)}…` : description;
  return `, description=${JSON.stringify(short)}`;
}
