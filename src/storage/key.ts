import { kindOf, showValue } from "../_display.ts";
import { InvalidKeyError, ValidationError } from "../errors.ts";

/** The folder inside every storage root that lamindeno manages. */
export const MANAGED_PREFIX = ".lamindb/";

/**
 * Control characters (C0, DEL, C1) and the invisible bidirectional
 * formatting marks (U+061C, U+200E/F, U+202A-E, U+2066-9) that make a name
 * display as something else (`"evil\u202Etxt.exe"` shows as `evilexe.txt`).
 */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Whether a path segment names the managed folder on some file system:
 * case-insensitive ones (macOS, Windows) see `.LAMINDB` as `.lamindb`, and
 * Windows drops trailing dots and spaces.
 */
function isManagedName(segment: string): boolean {
  return segment.replace(/[. ]+$/, "").toLowerCase() === ".lamindb";
}

/**
 * Check that `key` is a relative POSIX path inside a storage root and return
 * it unchanged. Refuses empty keys and segments, `.` and `..`, a leading `/`,
 * backslashes, NUL and other control characters, bidirectional formatting
 * marks, and a first segment that is the managed `.lamindb` folder in
 * another spelling (`.LAMINDB`, `.lamindb.`).
 *
 * @example Valid and invalid keys
 * ```ts
 * import { InvalidKeyError, validateKey } from "@lamindeno/lamindb";
 * console.assert(validateKey("raw/a.csv") === "raw/a.csv");
 * try {
 *   validateKey("../etc/passwd");
 * } catch (e) {
 *   console.assert(e instanceof InvalidKeyError);
 * }
 * ```
 */
export function validateKey(key: unknown): string {
  const bad = (why: string): never => {
    throw new InvalidKeyError(
      `invalid key ${showValue(key, 200)}: ${why}; ` +
        `a key is a relative POSIX path inside the storage root, like "raw/sample1.h5ad"`,
    );
  };
  if (typeof key !== "string") return bad(`expected a string, got ${typeof key}`);
  if (key.length === 0) return bad("it is empty");
  if (key.includes("\0")) return bad("it contains a NUL character");
  const control = CONTROL.exec(key);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    return bad(`it contains the control or bidirectional formatting character U+${code}`);
  }
  if (key.includes("\\")) return bad("it contains a backslash; use '/' as separator");
  if (key.startsWith("/")) return bad("it is absolute (starts with '/')");
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "") return bad("it has an empty path segment ('//' or a trailing '/')");
    if (segment === "." || segment === "..") return bad(`it has a '${segment}' segment`);
  }
  if (segments[0] !== ".lamindb" && isManagedName(segments[0])) {
    return bad(
      `"${segments[0]}" is the managed ".lamindb" folder on case-insensitive file systems`,
    );
  }
  return key;
}

/** The longest name of a file or folder file systems take (bytes of UTF-8). */
const NAME_BYTES = 255;
/** The longest key S3 takes (bytes of UTF-8), for keys to move between storages. */
const KEY_BYTES = 1024;

/**
 * Like {@linkcode validateKey}, and also refuses keys in the managed
 * `.lamindb/` folder, in any spelling, path segments longer than 255 bytes
 * (in UTF-8; no common file system holds such a name) and keys longer than
 * 1,024 bytes (S3's limit).
 */
export function validateUserKey(key: unknown): string {
  const k = validateKey(key);
  const bad = (why: string): never => {
    throw new InvalidKeyError(`invalid key ${showValue(k, 200)}: ${why}`);
  };
  if (isManagedKey(k)) {
    bad(`the ".lamindb/" folder is managed by lamindeno; choose a key outside it`);
  }
  const bytes = (s: string) => new TextEncoder().encode(s).byteLength;
  if (bytes(k) > KEY_BYTES) {
    bad(`it is ${bytes(k)} bytes long in UTF-8, over S3's 1,024 bytes; choose a shorter key`);
  }
  const long = k.split("/").find((s) => bytes(s) > NAME_BYTES);
  if (long !== undefined) {
    bad(
      `its name ${showValue(long, 40)} is ${bytes(long)} bytes long in UTF-8, over the 255 ` +
        `bytes file systems take; choose a shorter name`,
    );
  }
  return k;
}

/**
 * Whether `key` is in the managed `.lamindb/` folder (or is that folder),
 * spelt in any case.
 */
export function isManagedKey(key: string): boolean {
  return isManagedName(key.split("/")[0]);
}

const COMPRESSION = new Set([".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4"]);

/**
 * The suffix of a file name, keeping compound suffixes whole:
 * `"a.tar.gz"` -> `".tar.gz"`, `"r.fastq.gz"` -> `".fastq.gz"`,
 * `"my.data.csv"` -> `".csv"`, `"README"` -> `""`. A `ValidationError` when
 * `name` is not a string.
 */
export function suffixOf(name: string): string {
  if (typeof name !== "string") {
    throw new ValidationError(`suffixOf(name): name is a file name string, got ${kindOf(name)}`);
  }
  const base = name.slice(name.lastIndexOf("/") + 1);
  const parts = base.split(".");
  if (parts.length < 2 || (parts.length === 2 && parts[0] === "")) return "";
  const last = "." + parts[parts.length - 1];
  if (COMPRESSION.has(last.toLowerCase()) && parts.length >= 3) {
    const prev = parts[parts.length - 2];
    if (/^[A-Za-z0-9]{1,6}$/.test(prev) && !(parts.length === 3 && parts[0] === "")) {
      return `.${prev}${last}`;
    }
  }
  return last;
}

/**
 * Where a registered object lives in its storage: at its `key`, or, for
 * objects lamindeno copied without one and for older versions whose key's
 * path went to a newer version (`key_is_virtual`), at
 * `.lamindb/{id}{suffix}`. The one place this rule is written. The key it
 * returns is checked as {@linkcode validateKey} checks it (an
 * `InvalidKeyError` for a `key`, `id` or `suffix` that would lead outside the
 * storage root); a `ValidationError` when `file` is not such a record.
 *
 * @example Both cases
 * ```ts
 * import { objectKey } from "@lamindeno/lamindb";
 * console.assert(objectKey({ key: "raw/a.csv", id: "x", suffix: ".csv" }) === "raw/a.csv");
 * console.assert(objectKey({ key: null, id: "abc", suffix: ".csv" }) === ".lamindb/abc.csv");
 * ```
 */
export function objectKey(
  file: { key: string | null; id: string; suffix: string; key_is_virtual?: number | boolean },
): string {
  const f: unknown = file;
  if (typeof f !== "object" || f === null) {
    throw new ValidationError(
      `objectKey(file): file is a record like { key, id, suffix }, got ${kindOf(f)}`,
    );
  }
  const { key, id, suffix, key_is_virtual } = f as Record<string, unknown>;
  if (key !== null && key !== undefined && typeof key !== "string") {
    throw new ValidationError(`objectKey(file): file.key is a string or null, got ${kindOf(key)}`);
  }
  if (key_is_virtual !== undefined && !["boolean", "number"].includes(typeof key_is_virtual)) {
    throw new ValidationError(
      `objectKey(file): file.key_is_virtual is a boolean or 0/1, got ${kindOf(key_is_virtual)}`,
    );
  }
  if (typeof key === "string" && !key_is_virtual) return validateKey(key);
  if (typeof id !== "string" || id === "" || id.includes("/")) {
    throw new ValidationError(
      `objectKey(file): file.id is a record id (a non-empty string without "/"), got ${
        typeof id === "string" ? JSON.stringify(id) : kindOf(id)
      }`,
    );
  }
  if (typeof suffix !== "string" || suffix.includes("/")) {
    throw new ValidationError(
      `objectKey(file): file.suffix is a string like ".csv" (or ""), without "/", got ${
        typeof suffix === "string" ? JSON.stringify(suffix) : kindOf(suffix)
      }`,
    );
  }
  return validateKey(`${MANAGED_PREFIX}${id}${suffix}`);
}
