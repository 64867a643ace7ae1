// Random base62 ids of lamindb's lengths.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Id lengths per record type, as in lamindb. */
export const ID_LENGTH = {
  file: 20,
  run: 20,
  folder: 20,
  features: 20,
  transform: 12,
  storage: 12,
  user: 8,
  ulabel: 8,
} as const;

/** A random base62 string of `n` characters (rejection sampling, no bias). */
export function base62(n: number): string {
  let out = "";
  while (out.length < n) {
    const bytes = crypto.getRandomValues(new Uint8Array(n * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < n) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** A new id for a record of the given type. */
export function newId(type: keyof typeof ID_LENGTH): string {
  return base62(ID_LENGTH[type]);
}

/** True if `s` is a base62 id of the length used for `type`. */
export function isId(type: keyof typeof ID_LENGTH, s: unknown): s is string {
  return typeof s === "string" && s.length === ID_LENGTH[type] && /^[0-9A-Za-z]+$/.test(s);
}
