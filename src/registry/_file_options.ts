// Checking the options of `new ln.File(data, options)` (no I/O).
import { showValue } from "../_display.ts";
import { ValidationError } from "../errors.ts";
import { isId } from "../_ids.ts";
import { validateUserKey } from "../storage/key.ts";
import { storableText, validateDescription } from "./_description.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import { Features } from "./features.ts";
import type { FileOptions } from "./file.ts";
import { Instance } from "./instance.ts";
import { Run } from "./run.ts";

const FILE_OPTIONS = [
  "key",
  "name",
  "description",
  "run",
  "format",
  "features",
  "id",
  "revises",
  "version",
  "inputOf",
  "instance",
] as const;

/** The checked key and description of `options`; a `ValidationError` for anything malformed. */
export function checkFileOptions(
  options: FileOptions,
  isSavedFile: (f: unknown) => boolean,
): { key: string | undefined; description: string | null } {
  checkKnownOptions("new ln.File(data, options)", options, FILE_OPTIONS);
  const key = options.key === undefined ? undefined : validateUserKey(options.key);
  if (options.format !== undefined && typeof options.format !== "string") {
    throw new ValidationError(`format must be a string like "csv", got ${typeof options.format}`);
  }
  if (options.id !== undefined && !isId("file", options.id)) {
    throw new ValidationError(`a File id is 20 base62 characters, got ${showValue(options.id)}`);
  }
  if (options.revises !== undefined) {
    if (!isSavedFile(options.revises)) {
      throw new ValidationError("revises must be a saved File record (the file to version)");
    }
    if (options.id !== undefined) {
      throw new ValidationError("pass either id or revises: a new version's id is derived");
    }
  }
  if (options.version !== undefined) checkVersionLabel(options.version);
  if (options.name !== undefined && typeof options.name !== "string") {
    throw new ValidationError(`name must be a string, got ${typeof options.name}`);
  }
  if (options.name !== undefined) storableText("File", "name", options.name);
  const description = validateDescription("File", options.description);
  if (options.run !== undefined && !(options.run instanceof Run)) {
    throw new ValidationError("run must be a Run record");
  }
  if (options.instance !== undefined && !(options.instance instanceof Instance)) {
    throw new ValidationError("instance must be an Instance from ln.connect()");
  }
  for (const [opt, cls] of [["features", Features], ["inputOf", Run]] as const) {
    const v = options[opt];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => !(x instanceof cls)))) {
      throw new ValidationError(`${opt} must be an array of ${cls.name} records`);
    }
  }
  return { key, description };
}

/** A file's version label: 1-100 characters without surrounding spaces; a `ValidationError` otherwise. */
export function checkVersionLabel(v: unknown): string {
  if (typeof v !== "string" || !/^\S(.{0,98}\S)?$/su.test(v)) {
    throw new ValidationError(
      `version is a label of 1-100 characters without surrounding spaces, like "2" or ` +
        `"2024-06", got ${showValue(v)}`,
    );
  }
  return storableText("File", "version", v);
}
