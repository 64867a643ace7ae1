// The words of search: how a record's text and a query are cut into words,
// which index words a query word matches and how well. Everything here runs
// in TypeScript, so ranking is the same on libSQL and PostgreSQL; the
// databases only look words up (exactly, by prefix range, or in a list).
import { ValidationError } from "../errors.ts";

/** Longest word kept (longer words are cut to this many characters). */
export const MAX_WORD = 64;
/** Most distinct words indexed per record (a huge description indexes its first ones). */
export const MAX_WORDS_PER_RECORD = 1000;
/** Longest query accepted, in characters. */
export const MAX_QUERY = 1000;
/** Most words in one query. */
export const MAX_QUERY_WORDS = 16;
/** Query words of this many characters or more tolerate one typo. */
export const TYPO_MIN = 4;
/** ... up to this many characters (the candidate list grows with the length). */
export const TYPO_MAX = 24;

/** How a query word matched an index word: exact, a prefix of it, or one edit away. */
export const MATCH = { exact: 3, prefix: 2, typo: 1 } as const;

/** The words of a text: NFKC, lower-cased, runs of letters and digits. */
export function words(text: string): string[] {
  const out: string[] = [];
  // NFKC leaves ASCII as it is (and costs more than the rest on long texts).
  // deno-lint-ignore no-control-regex
  const norm = /^[\x00-\x7f]*$/.test(text) ? text : text.normalize("NFKC");
  for (const m of norm.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    out.push(cutWord(m[0]));
  }
  return out;
}

function cutWord(w: string): string {
  if (w.length <= MAX_WORD) return w;
  const cps = [...w];
  return cps.length <= MAX_WORD ? w : cps.slice(0, MAX_WORD).join("");
}

/**
 * The index words of one record: word -> weight of the best field it is in
 * (`fields` maps each field's text to its weight).
 */
export function recordWords(
  fields: readonly (readonly [string | null | undefined, number])[],
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [text, weight] of fields) {
    if (!text) continue;
    for (const w of words(text)) {
      const had = out.get(w);
      if (had === undefined) {
        if (out.size >= MAX_WORDS_PER_RECORD) continue;
        out.set(w, weight);
      } else if (weight > had) out.set(w, weight);
    }
  }
  return out;
}

/** One query word and the index words it can match. */
export interface QueryWord {
  /** The word. */
  word: string;
  /** Index words from `word` up to (not including) `prefixEnd` start with it; `null`: exact only. */
  prefixEnd: string | null;
  /** Words one edit away (not starting with `word`), when the word is long enough. */
  typos: ReadonlySet<string>;
}

/** The words of a query, checked (a `ValidationError` for a bad query). */
export function queryWords(label: string, query: unknown): QueryWord[] {
  if (typeof query !== "string") {
    throw new ValidationError(
      `${label}.search() takes a string like "t cell atlas", got ${
        query === null ? "null" : Array.isArray(query) ? "an array" : typeof query
      }`,
    );
  }
  if (query.length > MAX_QUERY) {
    throw new ValidationError(
      `${label}.search(): the query has ${query.length} characters, at most ${MAX_QUERY} are ` +
        `allowed; search for a few words`,
    );
  }
  const ws = [...new Set(words(query))];
  if (ws.length === 0) {
    throw new ValidationError(
      `${label}.search(): the query ${JSON.stringify(query)} has no letters or digits; ` +
        `search for words like "t cell atlas"`,
    );
  }
  if (ws.length > MAX_QUERY_WORDS) {
    throw new ValidationError(
      `${label}.search(): the query has ${ws.length} words, at most ${MAX_QUERY_WORDS} are allowed`,
    );
  }
  return ws.map((word) => {
    const n = [...word].length;
    // A one-character word matches itself only (as a prefix it would match a 30th of all words).
    const prefixEnd = n >= 2 ? prefixUpperBound(word) ?? null : null;
    const typos = new Set(
      n >= TYPO_MIN && n <= TYPO_MAX ? oneEdit(word).filter((t) => !t.startsWith(word)) : [],
    );
    return { word, prefixEnd, typos };
  });
}

/**
 * The least string greater than every string that starts with `prefix`, in
 * code point order (SQLite's BINARY collation, PostgreSQL's `COLLATE "C"`):
 * the last code point incremented. `undefined` when there is none (an empty
 * prefix, or one of U+10FFFF only) or the prefix holds a lone surrogate.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(prefix)) {
    return undefined;
  }
  const cps = [...prefix].map((c) => c.codePointAt(0)!);
  while (cps.length > 0) {
    let last = cps.pop()! + 1;
    if (last > 0x10ffff) continue;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    return String.fromCodePoint(...cps, last);
  }
  return undefined;
}

const ALPHABET = [..."abcdefghijklmnopqrstuvwxyz0123456789"];

/**
 * Words one edit from `word` (Damerau: delete, swap two neighbours, insert
 * or substitute a character); inserted and substituted characters are a-z,
 * 0-9 and the characters of the word itself.
 */
export function oneEdit(word: string): string[] {
  const cs = [...word];
  const alphabet = [...new Set([...ALPHABET, ...cs])];
  // Each edit is a prefix, what replaces the code point(s) at i, and a suffix: strings joined
  // once per candidate (not code point arrays: a word of ten letters has ~800 candidates).
  const pre = [""], suf = [""];
  for (let i = 0; i < cs.length; i++) pre.push(pre[i] + cs[i]);
  for (let i = cs.length - 1; i >= 0; i--) suf.unshift(cs[i] + suf[0]);
  const out = new Set<string>();
  for (let i = 0; i < cs.length; i++) {
    out.add(pre[i] + suf[i + 1]);
    if (i + 1 < cs.length && cs[i] !== cs[i + 1]) out.add(pre[i] + cs[i + 1] + cs[i] + suf[i + 2]);
    for (const a of alphabet) if (a !== cs[i]) out.add(pre[i] + a + suf[i + 1]);
  }
  for (let i = 0; i <= cs.length; i++) {
    for (const a of alphabet) out.add(pre[i] + a + suf[i]);
  }
  out.delete(word);
  return [...out].filter((w) => w.length > 0);
}

/** How well query word `q` matches index word `w` (0: not at all). */
export function matchKind(q: QueryWord, w: string): number {
  if (w === q.word) return MATCH.exact;
  if (q.prefixEnd !== null && w.startsWith(q.word)) return MATCH.prefix;
  return q.typos.has(w) ? MATCH.typo : 0;
}
