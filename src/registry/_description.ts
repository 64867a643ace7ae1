// The `description` field shared by File, Transform, Run, Folder and ULabel.
import { ValidationError } from "../errors.ts";

/** A description from options: a string without NUL characters, or `null` when absent. */
export function validateDescription(label: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") {
    throw new ValidationError(`${label} description must be a string, got ${typeof v}`);
  }
  if (v.includes("\0")) {
    throw new ValidationError(
      `${label} description holds a NUL character, which the registry cannot store; remove it`,
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
