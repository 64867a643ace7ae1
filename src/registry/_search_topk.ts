// The best k records of a search without visiting every match (Fagin's
// threshold algorithm). Each query word's postings are read in order of
// what they add to a score (match kind x field weight, "s"), best first,
// then by record id: the index `(kind, token, weight, record_id)` gives one
// (index word, weight) pair's records in id order from a cursor, and the
// pairs of one s make a tier. Every record read is scored completely at once
// (the other words looked up on the primary key `(kind, record_id, token)`),
// so only records never read are unknown, and they are bounded: one scores
// at most the sum over words of each word's frontier s, and with exactly
// that sum its id is past every word's cursor in the frontier tier. The
// search stops when the k-th best found beats that bound (a higher score, or
// the same score and a smaller id); ranking is then exactly the full one.
//
// A round is one statement: read some pairs from their cursors, score the
// new records that match every word, return both. The first round reads
// every word; later ones only the word whose frontier tier is sparsest (its
// cursor is furthest in id order): it moves the id bound furthest per
// posting read and is the cheapest tier to exhaust.
import { PostgresAdapter, type RawBuilder, sql, type SqlBool } from "kysely";
import { retryBusy } from "./_db_errors.ts";
import type { SearchKind } from "./_search_index.ts";
import type { RegistryDb } from "./db.ts";

/** One index word a query word matches, and how well (exact 3, prefix 2, typo 1). */
export interface IndexWord {
  token: string;
  match: number;
}

/**
 * Sizes of the plan (tests make them small to take every path on a small
 * registry): `cap`, postings counted per word, the rarest's count picks the
 * plan (fewer: look the other words up in its records; else this one);
 * `first`, postings read per word in the first round; `minPair`, fewest read
 * from one pair when a tier has many; `scanFrom`, on PostgreSQL, a round
 * reading this many postings checks its first word by a range scan (the
 * others by lookups, of the fewer records left); `rare`, when the page's
 * records look this many postings away (few read match every word), the
 * caller may intersect instead (`intersect`), if its two words have at most
 * `semiCap` postings each; on SQLite by merging their postings in id order
 * when each stands for at most `merged` (index word, weight) ranges. On
 * PostgreSQL, when none of the longest word's first `sample` postings is
 * of a record having every word, the records having every word are taken
 * from the GIN index at once, unless `docCap` or more.
 */
export const TUNING = {
  cap: 3_000,
  first: 400,
  minPair: 16,
  scanFrom: 1_000,
  rare: 4_000,
  semiCap: 200_000,
  merged: 48,
  sample: 50,
  docCap: 1_000,
};
/** Most (index word, weight) pairs over all query words (beyond: the caller's plan). */
export const MAX_PAIRS = 150;
/** Largest offset + limit served by the threshold algorithm. */
export const MAX_TOP = 2_000;
const WEIGHTS = [3, 2, 1] as const;

/**
 * `col in (words)`: on PostgreSQL one array parameter (`= any($1)`: planned
 * once, whatever the number of words), on SQLite a list of parameters or,
 * when long, one JSON array.
 */
export function inWords(
  db: RegistryDb,
  col: string,
  words: readonly string[],
): RawBuilder<SqlBool> {
  const c = sql.ref(col);
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? sql<SqlBool>`${c} = any(${[...words]}::text[])`
    // A long list (a word's typos: hundreds) as one JSON parameter: binding and compiling
    // hundreds of parameters cost more than SQLite's lookups.
    : words.length > 32
    ? sql<SqlBool>`${c} in (select value from json_each(${JSON.stringify(words)}))`
    : sql<SqlBool>`${c} in (${sql.join(words.map((w) => sql`${w}`))})`;
}

/** A word's best (match x weight) in record `rec` (a column reference): null when it has none. */
export function wordScore(
  db: RegistryDb,
  kind: SearchKind,
  rec: RawBuilder<unknown>,
  ws: readonly IndexWord[],
  alias: string,
): RawBuilder<unknown> {
  const t = sql.raw(alias);
  const cases = ws.map((w) => sql`when ${w.token} then ${sql.lit(w.match)}`);
  return sql`(select max((case ${t}.token ${sql.join(cases, sql` `)} else 0 end) * ${t}.weight)
    from search_token ${t} where ${t}.kind = ${kind} and ${t}.record_id = ${rec}
    and ${inWords(db, `${alias}.token`, ws.map((w) => w.token))})`;
}

/** Code point order (SQLite's BINARY, PostgreSQL's "C"), not UTF-16's. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  if (!/[\uD800-\uDFFF]/.test(a + b)) return a < b ? -1 : 1;
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

interface Pair {
  word: number;
  token: string;
  weight: number;
  s: number;
  /** The last record id read (null: none yet). */
  last: string | null;
  /** Every posting read. */
  done: boolean;
}

interface Frontier {
  /** The best s among the word's unread postings (0: none left). */
  s: number;
  /** Records of that tier up to this id have been read ("" none). */
  cursor: string;
  pairs: Pair[];
}

function frontier(pairs: readonly Pair[], word: number): Frontier {
  const open = pairs.filter((p) => p.word === word && !p.done);
  if (open.length === 0) return { s: 0, cursor: "", pairs: [] };
  const s = Math.max(...open.map((p) => p.s));
  const tier = open.filter((p) => p.s === s);
  let cursor: string | null = null;
  for (const p of tier) {
    const l = p.last ?? "";
    if (cursor === null || compareIds(l, cursor) < 0) cursor = l;
  }
  return { s, cursor: cursor ?? "", pairs: tier };
}

/**
 * Another plan for a search whose matches look rare: given the words, the
 * likely rarest first, and how many postings the threshold plan still
 * expects to read, the best `k` ids, or `undefined` to go on.
 */
export type Intersect = (order: number[], postings: number) => Promise<string[] | undefined>;

/**
 * The ids of the best `k` records matching every word (`words[i]`: the
 * index words query word i matches), best first; `undefined` when the
 * query is too wide for this plan (too many pairs, or k too large). When
 * the records read rarely match every word, `intersect` is asked first.
 */
export async function topK(
  db: RegistryDb,
  kind: SearchKind,
  words: readonly (readonly IndexWord[])[],
  k: number,
  intersect?: Intersect,
): Promise<string[] | undefined> {
  if (k > MAX_TOP) return undefined;
  const pairs: Pair[] = [];
  words.forEach((ws, word) => {
    for (const w of ws) {
      for (const weight of WEIGHTS) {
        pairs.push({ word, token: w.token, weight, s: w.match * weight, last: null, done: false });
      }
    }
  });
  if (pairs.length > MAX_PAIRS) return undefined;
  const { first, minPair } = TUNING;
  const found = new Map<string, number>();
  const rank = (a: [string, number], b: [string, number]) => b[1] - a[1] || compareIds(a[0], b[0]);
  // The first round reads every pair of every word, a word's `first` postings shared among its pairs.
  let reads = pairs.map((p) => {
    const n = pairs.filter((q) => q.word === p.word).length;
    return [p, Math.max(minPair, Math.min(first, Math.ceil((4 * first) / n)))] as [Pair, number];
  });
  let budget = first;
  // Words checked per record read, the likely failing first (the first round: as given).
  // (One word: its records need no check.)
  let checks = words.length === 1 ? [] : words.map((_, i) => i);
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  let scan = pg && checks.length > 0 && first * words.length >= TUNING.scanFrom ? 1 : 0;
  const rows = words.map(() => 0);
  for (;;) {
    const got = await round(db, kind, words, reads, checks, scan);
    for (const [p, n] of reads) {
      const r = got.pairs.get(p);
      if (r && r.last !== null) p.last = r.last;
      if (!r || r.n < n) p.done = true;
      rows[p.word] += r?.n ?? 0;
    }
    for (const [id, score] of got.scores) found.set(id, score);
    const fronts = words.map((_, i) => frontier(pairs, i));
    // A word with nothing left to read: every record matching it was read (and scored).
    if (fronts.some((f) => f.s === 0)) break;
    const bound = fronts.reduce((a, f) => a + f.s, 0);
    let far = 0;
    fronts.forEach((f, i) => {
      if (compareIds(f.cursor, fronts[far].cursor) > 0) far = i;
    });
    if (found.size >= k) {
      const kth = [...found].sort(rank)[k - 1];
      if (kth[1] > bound || (kth[1] === bound && compareIds(kth[0], fronts[far].cursor) <= 0)) {
        break;
      }
    }
    // Next: the sparsest frontier tier (its records need not be checked for it), as many
    // postings as the match rate so far says the rest of the page needs (2x to 8x the last).
    const need = found.size > 0 ? Math.ceil((k - found.size) * rows[far] / found.size * 1.2) : 0;
    // The other words, sparsest first (a record read then fails on the first check, mostly).
    checks = words.map((_, i) => i).filter((i) => i !== far)
      .sort((a, b) => compareIds(fronts[b].cursor, fronts[a].cursor));
    // Few records read match every word: reading on would look most of this word's records up.
    const left = found.size > 0 ? need : Infinity;
    if (intersect && checks.length > 0 && found.size < k && left >= TUNING.rare) {
      const ids = await intersect([far, ...checks], left);
      if (ids) return ids;
      intersect = undefined;
    }
    budget = Math.min(budget * 8, Math.max(budget * 2, need));
    const per = Math.max(minPair, Math.ceil(budget / fronts[far].pairs.length));
    reads = fronts[far].pairs.map((p) => [p, per]);
    scan = pg && budget >= TUNING.scanFrom ? 1 : 0;
  }
  return [...found].sort(rank).slice(0, k).map(([id]) => id);
}

interface Round {
  /** Per pair read: how many postings came back and the last id. */
  pairs: Map<Pair, { n: number; last: string | null }>;
  /** The records read that match every word, and their scores. */
  scores: Map<string, number>;
}

/** One round: read `reads` (pair, how many) and score the records read (one statement). */
async function round(
  db: RegistryDb,
  kind: SearchKind,
  words: readonly (readonly IndexWord[])[],
  reads: readonly [Pair, number][],
  checks: readonly number[],
  scan: number,
): Promise<Round> {
  const lists = reads.map(([p, n], i) =>
    sql`select ${sql.lit(i)} as p, r, ${
      sql.lit(p.s)
    } as v from (select record_id as r from search_token
      where kind = ${kind} and token = ${p.token} and weight = ${sql.lit(p.weight)}
      ${p.last === null ? sql`` : sql`and record_id > ${p.last}`}
      order by record_id limit ${sql.lit(n)}) ${sql.raw(`x${i}`)}`
  );
  const r = sql.ref("d.r");
  const all = checks.map((i, at) => {
    const ws = words[i];
    const e = `e${i}`;
    if (at < scan) {
      // Many records: on PostgreSQL an index lookup per record costs what ~100 postings read
      // in order do, so the word's postings over the records' id range are read instead
      // (all weights: the index's ranges), and hashed.
      return sql<SqlBool>`${r} in (select ${sql.raw(e)}.record_id from search_token ${
        sql.raw(e)
      } where ${sql.raw(e)}.kind = ${kind} and ${
        inWords(db, `${e}.token`, ws.map((w) => w.token))
      } and ${sql.raw(e)}.weight = any(${[...WEIGHTS]}::int[])
        and ${sql.raw(e)}.record_id >= (select min(r) from d)
        and ${sql.raw(e)}.record_id <= (select max(r) from d))`;
    }
    return sql<SqlBool>`exists (select 1 from search_token ${sql.raw(e)} where ${
      sql.raw(e)
    }.kind = ${kind} and ${sql.raw(e)}.record_id = ${r} and ${
      inWords(db, `${e}.token`, ws.map((w) => w.token))
    })`;
  });
  const scores = words.map((ws, i) => wordScore(db, kind, r, ws, `w${i}`));
  // One query word standing for one index word: a record has one posting of it, so the pair it
  // was read from says its score (no lookup).
  const direct = words.length === 1 && words[0].length === 1;
  const num = sql.raw("cast(null as integer)");
  const text = sql.raw("cast(null as text)");
  // Ids compare in code point order: record_id is COLLATE "C" on PostgreSQL, BINARY on SQLite.
  const rows = await retryBusy(() =>
    sql<{ p: unknown; n: unknown; l: string | null; r: string | null; s: unknown }>`
      with s as materialized (${sql.join(lists, sql` union all `)}),
      d as materialized (select distinct r from s)
      select p, count(*) as n, max(r) as l, ${text} as r, ${num} as s from s group by p
      union all
      ${
      direct
        ? sql`select ${num}, ${num}, ${text}, r, max(v) from s group by r`
        : sql`select ${num}, ${num}, ${text}, d.r, ${sql.join(scores, sql` + `)} from d
          ${all.length > 0 ? sql`where ${sql.join(all, sql` and `)}` : sql``}`
    }`.execute(db)
  );
  const out: Round = { pairs: new Map(), scores: new Map() };
  for (const row of rows.rows) {
    if (row.r === null) {
      out.pairs.set(reads[Number(row.p)][0], { n: Number(row.n), last: row.l });
    } else out.scores.set(String(row.r), Number(row.s));
  }
  return out;
}
