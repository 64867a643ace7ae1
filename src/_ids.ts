// Random base62 ids of lamindb's lengths, and a seeded generator.

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

/**
 * A new id for a record of the given type. A file's id is lamindb's: 16
 * random characters naming its version family, then the version counter
 * `0000` (see {@linkcode nextVersionId}).
 */
export function newId(type: keyof typeof ID_LENGTH): string {
  return type === "file" ? base62(16) + "0000" : base62(ID_LENGTH[type]);
}

/** Characters of a file id naming its version family (lamindb's "stem uid"). */
export const STEM_LENGTH = 16;

/**
 * The id of the next version in a family, given the ids it has: the shared
 * 16-character stem, then the largest 4-character counter plus one (base62,
 * so `"000z"` is followed by `"0010"`). Files registered before versions
 * existed have random counters; the next one still sorts after them.
 */
export function nextVersionId(familyIds: readonly string[]): string {
  if (familyIds.length === 0) throw new RangeError("internal: a family has at least one id");
  const stem = familyIds[0].slice(0, STEM_LENGTH);
  let max = -1;
  for (const id of familyIds) {
    let n = 0;
    for (const c of id.slice(STEM_LENGTH)) n = n * 62 + ALPHABET.indexOf(c);
    max = Math.max(max, n);
  }
  let n = max + 1;
  if (n >= 62 ** 4) throw new RangeError(`file ${stem}…: no version counter is left`);
  let counter = "";
  for (let i = 0; i < 4; i++, n = Math.floor(n / 62)) counter = ALPHABET[n % 62] + counter;
  return stem + counter;
}

/** True if `s` is a base62 id of the length used for `type`. */
export function isId(type: keyof typeof ID_LENGTH, s: unknown): s is string {
  return typeof s === "string" && s.length === ID_LENGTH[type] && /^[0-9A-Za-z]+$/.test(s);
}

/**
 * A seeded generator of floats in [0, 1) (mulberry32): the same sequence
 * for the same seed (shuffles that repeat, random tests and bench data).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
