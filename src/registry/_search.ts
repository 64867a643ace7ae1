// Search over the `search_token` index: each query word is looked up as an
// exact word, a prefix (an index range) and its one-edit variants (a list);
// a record must match every query word. The databases only look words up,
// with bound parameters; scores and order are computed here, so results are
// the same on libSQL and PostgreSQL.
//
//   score(record) = sum over query words of the best (match x field weight)
//   match: exact 3, prefix 2, one typo 1; field: name 3, key 2, description 1
//   ties: by record id
//
// The rarest query word drives: its postings give the candidates, which the
// other words then narrow (by fetching their postings when fewer, else by
// checking the candidates' own words).
import { type SelectQueryBuilder, sql } from "kysely";
import { ValidationError } from "../errors.ts";
import type { Instance } from "./instance.ts";
import { retryBusy } from "./_db_errors.ts";
import { Query, type QueryOptions } from "./_model.ts";
import { matchKind, type QueryWord, queryWords } from "./_search_tokens.ts";
import type { SearchKind } from "./_search_index.ts";
import type { RegistryDb } from "./db.ts";
import type { Database } from "./schema.ts";

/** Options of `File.search()` (and Transform's, ULabel's). */
export interface SearchOptions {
  /** At most this many records, best first (default 20; at most 10,000). */
  limit?: number;
}

/** Default number of records a search returns. */
export const SEARCH_LIMIT = 20;
const MAX_LIMIT = 10_000;
/** Postings counted per word to pick the rarest (counting stops here). */
const CAP = 20_000;
const CHUNK = 500;

interface Posting {
  record_id: string;
  token: string;
  weight: number;
}

// deno-lint-ignore ban-types
type Lookup = SelectQueryBuilder<Database, "search_token", {}>;

/** The lookups of one query word: a range (or the exact word) and the typo list. */
function lookups(db: RegistryDb, kind: SearchKind, q: QueryWord): Lookup[] {
  const base = () => db.selectFrom("search_token").where("kind", "=", kind);
  const out: Lookup[] = [
    q.prefixEnd === null
      ? base().where("token", "=", q.word)
      : base().where("token", ">=", q.word).where("token", "<", q.prefixEnd),
  ];
  if (q.typos.size > 0) out.push(base().where("token", "in", [...q.typos]));
  return out;
}

async function countCapped(db: RegistryDb, kind: SearchKind, q: QueryWord): Promise<number> {
  let n = 0;
  for (const l of lookups(db, kind, q)) {
    const sub = l.select(sql<number>`1`.as("x")).limit(CAP);
    const r = await retryBusy(() =>
      db.selectFrom(sub.as("s")).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()
    );
    n += Number((r as { n: unknown }).n);
  }
  return n;
}

async function postings(
  db: RegistryDb,
  kind: SearchKind,
  q: QueryWord,
  ids?: readonly string[],
): Promise<Posting[]> {
  const out: Posting[] = [];
  for (const l of lookups(db, kind, q)) {
    let s = l.select(["record_id", "token", "weight"]);
    if (ids) s = s.where("record_id", "in", ids);
    out.push(...await retryBusy(() => s.execute()) as Posting[]);
  }
  return out;
}

/** Best score of word `q` per record, from its postings. */
function best(q: QueryWord, ps: Posting[], into = new Map<string, number>()): Map<string, number> {
  for (const p of ps) {
    const s = matchKind(q, p.token) * Number(p.weight);
    if (s > (into.get(p.record_id) ?? 0)) into.set(p.record_id, s);
  }
  return into;
}

/** The ids of the records matching `query`, best first, with their scores. */
export async function rankedIds(
  inst: Instance,
  kind: SearchKind,
  label: string,
  query: unknown,
): Promise<{ id: string; score: number }[]> {
  const qs = queryWords(label, query);
  const db = inst.assertOpen().db;
  const counts: number[] = [];
  for (const q of qs) counts.push(await countCapped(db, kind, q));
  const order = qs.map((_, i) => i).sort((a, b) => counts[a] - counts[b]);
  if (counts[order[0]] === 0) return [];
  const first = qs[order[0]];
  let scores = best(first, await postings(db, kind, first));
  for (const i of order.slice(1)) {
    const q = qs[i];
    const ids = [...scores.keys()];
    let ps: Posting[];
    if (counts[i] < CAP && counts[i] <= ids.length * 4) ps = await postings(db, kind, q);
    else {
      ps = [];
      for (let c = 0; c < ids.length; c += CHUNK) {
        ps.push(...await postings(db, kind, q, ids.slice(c, c + CHUNK)));
      }
    }
    const these = best(q, ps);
    const next = new Map<string, number>();
    for (const [id, s] of scores) {
      const t = these.get(id);
      if (t !== undefined) next.set(id, s + t);
    }
    scores = next;
    if (scores.size === 0) return [];
  }
  return [...scores].map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function checkLimit(label: string, limit: unknown): number {
  if (limit === undefined) return SEARCH_LIMIT;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIMIT) {
    throw new ValidationError(
      `${label}.search(): limit must be a whole number from 1 to ${MAX_LIMIT}, got ${
        JSON.stringify(limit) ?? String(limit)
      }`,
    );
  }
  return limit as number;
}

/**
 * The records matching `query`, best first, as a {@linkcode Query} (await
 * it, or `count()`, `first()`, `limit()`, `offset()`); `load` turns ranked
 * ids into records in that order. Bad input rejects with a `ValidationError`.
 */
export function searchQuery<R>(
  label: string,
  kind: SearchKind,
  instance: () => Instance,
  query: unknown,
  options: SearchOptions | undefined,
  load: (inst: Instance, ids: string[]) => Promise<R[]>,
): Query<R> {
  const check = () => {
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new ValidationError(`${label}.search(query, options): options must be an object`);
    }
    queryWords(label, query);
    return checkLimit(label, options?.limit);
  };
  let limit: number;
  try {
    limit = check();
  } catch (e) {
    const fail = () => Promise.reject(e);
    return new Query<R>(label, fail, fail);
  }
  const run = async (o: QueryOptions) => {
    if (o.orderBy !== undefined) {
      throw new ValidationError(
        `${label}.search() results are ordered by rank; use ${label}.filter() to order by fields`,
      );
    }
    for (const k of ["limit", "offset"] as const) {
      const v = o[k];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
        throw new ValidationError(`${label}.search(): ${k} must be a whole number >= 0`);
      }
    }
    const inst = instance();
    const ranked = await rankedIds(inst, kind, label, query);
    const start = o.offset ?? 0;
    const ids = ranked.slice(start, start + (o.limit ?? limit)).map((r) => r.id);
    return await load(inst, ids);
  };
  const count = async () => (await rankedIds(instance(), kind, label, query)).length;
  return new Query<R>(label, (o) => Promise.resolve().then(() => run(o)), count, { limit });
}
