// Search over the `search_token` index. Each query word is resolved to the
// index words it matches, in `search_word` (the vocabulary): itself, the
// words it is a prefix of (an index range, at most MAX_EXPANSIONS of them in
// code point order) and the words one edit away (a list). When one word is
// rare (fewer postings than `TUNING.cap`), one query takes its postings and
// looks the other words up in each of those records, so a record must match
// every word; when every word is common, a page is found by reading each
// word's best postings first and stopping early (_search_topk.ts), with the
// same ranking; when few of the records read match every word, the two
// rarest words' postings are intersected (merged in id order on SQLite; on
// PostgreSQL every word's, in a GIN index: _search_intersect.ts) and only
// the records left are scored. Which index word
// matches how (exact, prefix, typo) is decided here; the database only adds
// small integers and orders by them, then by id in code point order (bound
// parameters throughout), so results are the same on libSQL and PostgreSQL.
//
//   score(record) = sum over query words of the best (match x field weight)
//   match: exact 3, prefix 2, one typo 1; field: name 3, key 2, description 1
//   ties: by record id (code point order)
import { showValue } from "../_display.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import { PostgresAdapter, type RawBuilder, sql } from "kysely";
import { ValidationError } from "../errors.ts";
import type { Instance } from "./instance.ts";
import { retryBusy } from "./_db_errors.ts";
import {
  type DfOptions,
  type Model,
  plucker,
  Query,
  type QueryOptions,
  type Table,
  type Where,
} from "./_model.ts";
import { matchKind, type QueryWord, queryWords } from "./_search_tokens.ts";
import type { SearchKind } from "./_search_index.ts";
import type { RegistryDb } from "./db.ts";
import { inWords, topK, TUNING } from "./_search_topk.ts";
import { intersectTop } from "./_search_intersect.ts";

/** Options of `File.search()` (and Transform's, ULabel's). */
export interface SearchOptions {
  /** At most this many records, best first (default 20; at most 10,000). */
  limit?: number;
}

/** Default number of records a search returns. */
export const SEARCH_LIMIT = 20;
const MAX_LIMIT = 10_000;
/** Most index words one query word stands for as a prefix (the first ones, by code point). */
export const MAX_EXPANSIONS = 200;

/** The index words each query word matches (one statement for all). */
async function indexWords(
  db: RegistryDb,
  kind: SearchKind,
  qs: readonly QueryWord[],
): Promise<string[][]> {
  const parts: RawBuilder<unknown>[] = [];
  qs.forEach((q, i) => {
    const n = sql.lit(i);
    parts.push(
      q.prefixEnd === null
        ? sql`select ${n} as i, token from search_word where kind = ${kind} and token = ${q.word}`
        : sql`select ${n} as i, token from (select token from search_word where kind = ${kind}
            and token >= ${q.word} and token < ${q.prefixEnd} order by token
            limit ${sql.lit(MAX_EXPANSIONS)}) ${sql.raw(`p${i}`)}`,
    );
    if (q.typos.size > 0) {
      parts.push(
        sql`select ${n} as i, token from search_word where kind = ${kind} and ${
          inWords(db, "token", [...q.typos])
        }`,
      );
    }
  });
  const rows = await retryBusy(() =>
    sql<{ i: number; token: string }>`${sql.join(parts, sql` union all `)}`.execute(db)
  );
  const out: string[][] = qs.map(() => []);
  for (const r of rows.rows) out[Number(r.i)].push(r.token);
  return out;
}

/**
 * How many postings each word list has, counting up to `cap`, and with
 * `probe`, how many of that word's first `TUNING.sample` postings are of
 * records having every other word too (one statement).
 */
async function postings(
  db: RegistryDb,
  kind: SearchKind,
  words: string[][],
  probe?: number,
): Promise<{ counts: number[]; hits: number }> {
  const cols = words.map((ws, i) =>
    sql`(select count(*) from (select 1 as x from search_token where kind = ${kind} and ${
      inWords(db, "token", ws)
    } limit ${sql.lit(TUNING.cap)}) ${sql.raw(`c${i}`)}) as ${sql.raw(`n${i}`)}`
  );
  let sample = sql`null`;
  if (probe !== undefined) {
    const has = words.flatMap((ws, i) =>
      i === probe ? [] : [
        sql`exists (select 1 from search_token ${sql.raw(`e${i}`)} where ${
          sql.raw(`e${i}`)
        }.kind = ${kind} and ${sql.raw(`e${i}`)}.record_id = s.r and ${
          inWords(db, `e${i}.token`, ws)
        })`,
      ]
    );
    // Only when every word is common (the case it decides), after the counts.
    const common = sql.join(
      words.map((_, i) => sql`${sql.raw(`n${i}`)} >= ${sql.lit(TUNING.cap)}`),
      sql` and `,
    );
    sample = sql`case when ${common} then (select count(*) from (select record_id as r
      from search_token where kind = ${kind} and ${inWords(db, "token", words[probe])}
      limit ${sql.lit(TUNING.sample)}) s where ${sql.join(has, sql` and `)}) end`;
  }
  const r = await retryBusy(() =>
    // (Materialized: the counts computed once, not again where the sample's condition is.)
    sql<Record<string, unknown>>`with c as materialized (select ${sql.join(cols)})
      select *, ${sample} as h from c`.execute(db)
  );
  return { counts: words.map((_, i) => Number(r.rows[0][`n${i}`])), hits: Number(r.rows[0].h) };
}

/**
 * The records matching `query`: with `page`, the ids of that page, best
 * first (scored, ordered and cut by the database); without, how many.
 */
export async function matches(
  inst: Instance,
  kind: SearchKind,
  qs: readonly QueryWord[],
  page?: { limit: number; offset: number },
): Promise<string[] | number> {
  const db = inst.assertOpen().db;
  const words = await indexWords(db, kind, qs);
  if (words.some((ws) => ws.length === 0)) return page ? [] : 0;
  // The rarest word drives (among words past the count's cap, the longest).
  const longest = qs.map((_, i) => i).sort((a, b) => qs[b].word.length - qs[a].word.length);
  // On PostgreSQL, is every word's record rare among the longest word's (the likely rarest)?
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const probe = pg && page && qs.length > 1 ? longest[0] : undefined;
  const { counts, hits } = await postings(db, kind, words, probe);
  const order = [...longest].sort((a, b) => counts[a] - counts[b]);
  // Every word common: the best records without visiting every match (when the query allows).
  if (page && counts[order[0]] >= TUNING.cap) {
    const ws = order.map((i) =>
      words[i].map((token) => ({ token, match: matchKind(qs[i], token) }))
    );
    const k = page.offset + page.limit;
    // Few records have every word (none of the sample): on PostgreSQL those records at once
    // from the GIN index (_search_intersect.ts), when there are fewer than `TUNING.docCap`.
    if (probe !== undefined && hits === 0) {
      const ids = await intersectTop(db, kind, ws, 1, 0, k, TUNING.docCap);
      if (ids) return ids.slice(page.offset);
    }
    // Few matches: the two rarest words intersected (when not too common: counted up to
    // `cap`), the others looked up in the records left only.
    // (o[0], the likely rarest, is the one made a list when SQLite cannot merge.)
    const intersect = (o: number[], left: number) =>
      intersectTop(db, kind, ws, o[1], o[0], k, Math.min(TUNING.semiCap, Math.ceil(left * 4)));
    const ids = await topK(db, kind, ws, k, intersect);
    if (ids) return ids.slice(page.offset);
  }
  return await lookup(db, kind, qs, words, order, page);
}

/**
 * The lookup plan: the postings of `order[0]`'s words, the other words
 * looked up in each of their records.
 */
async function lookup(
  db: RegistryDb,
  kind: SearchKind,
  qs: readonly QueryWord[],
  words: string[][],
  order: readonly number[],
  page: { limit: number; offset: number } | undefined,
): Promise<string[] | number> {
  const t = (k: number) => sql.raw(`t${k}`);
  const cols: RawBuilder<unknown>[] = [sql`t0.record_id as r`];
  const best: RawBuilder<unknown>[] = [];
  const all: RawBuilder<unknown>[] = [];
  order.forEach((i, k) => {
    // Each index word's match (exact 3, prefix 2, typo 1, from matchKind) times its field weight.
    const cases = words[i].map((w) => sql`when ${w} then ${sql.lit(matchKind(qs[i], w))}`);
    const score = sql`(case ${t(k)}.token ${sql.join(cases, sql` `)} else 0 end) * ${t(k)}.weight`;
    const s = sql.raw(`s${k}`);
    // The other words: looked up per record of the rarest one (a correlated subquery is a
    // nested loop on both databases, whatever the planner thinks of the word lists).
    cols.push(
      k === 0 ? sql`${score} as ${s}` : sql`(select max(${score}) from search_token ${t(k)}
        where ${t(k)}.kind = ${kind} and ${t(k)}.record_id = t0.record_id
        and ${inWords(db, `t${k}.token`, words[i])}) as ${s}`,
    );
    best.push(sql`max(${s})`);
    if (k > 0) all.push(sql`${s} is not null`);
  });
  // Materialized first, then grouped: grouping by record_id must not tempt SQLite into
  // walking the postings in record order instead of looking the rarest word up.
  const matched = sql`with m0 as materialized (select ${sql.join(cols)} from search_token t0
    where t0.kind = ${kind} and ${inWords(db, "t0.token", words[order[0]])}),
    m as (select * from m0 ${all.length ? sql`where ${sql.join(all, sql` and `)}` : sql``})`;
  if (!page) {
    const r = await retryBusy(() =>
      sql<{ n: unknown }>`${matched} select count(distinct r) as n from m`.execute(db)
    );
    return Number(r.rows[0].n);
  }
  // Ties by id, in code point order on both databases (record_id is COLLATE "C" on PostgreSQL).
  const r = await retryBusy(() =>
    sql<{ r: string }>`${matched} select r, ${sql.join(best, sql` + `)} as score from m
      group by r order by score desc, r limit ${page.limit} offset ${page.offset}`.execute(db)
  );
  return r.rows.map((x) => String(x.r));
}

function checkLimit(label: string, limit: unknown): number {
  if (limit === undefined) return SEARCH_LIMIT;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIMIT) {
    throw new ValidationError(
      `${label}.search(): limit must be a whole number from 1 to ${MAX_LIMIT}, got ${
        showValue(limit)
      }`,
    );
  }
  return limit as number;
}

/**
 * How a search's ids select its records' table rows (`where`), and the id of
 * a table row from its `columns`' values.
 */
export interface SearchTable {
  where: (ids: string[]) => Where;
  columns: readonly string[];
  idOf: (values: unknown[]) => string;
}

/** Records keyed by their id alone. */
const BY_ID: SearchTable = {
  where: (ids) => ({ id: ids }),
  columns: ["id"],
  idOf: (v) => String(v[0]),
};

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
  model?: Model<Table, R>,
  table: SearchTable = BY_ID,
): Query<R> {
  const check = () => {
    if (options !== undefined) {
      checkKnownOptions(`${label}.search(query, options)`, options, ["limit"]);
    }
    return [queryWords(label, query), checkLimit(label, options?.limit)] as const;
  };
  let limit: number, qs: QueryWord[];
  try {
    [qs, limit] = check();
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
    const ids = await matches(inst, kind, qs, {
      limit: o.limit ?? limit,
      offset: o.offset ?? 0,
    }) as string[];
    return await load(inst, ids);
  };
  const count = async () => await matches(instance(), kind, qs) as number;
  // The page's records as a table, best first (records keyed by their id alone).
  const df = model && (async (o: QueryOptions, include?: DfOptions) => {
    const inst = instance();
    const ids = await matches(inst, kind, qs, {
      limit: o.limit ?? limit,
      offset: o.offset ?? 0,
    }) as string[];
    const { recordsDf } = await import("./_table.ts");
    const { default: pl } = await import("nodejs-polars");
    const df = await recordsDf(inst, model, table.where(ids), { limit: ids.length }, include);
    const rank = new Map(ids.map((id, i) => [id, i]));
    const cols = table.columns.map((c) => df.getColumn(c).toArray() as unknown[]);
    const order = cols[0].map((_, i) => rank.get(table.idOf(cols.map((c) => c[i])))!);
    return df.withColumn(pl.Series("_rank", order)).sort("_rank").drop("_rank");
  });
  const ranked = (o: QueryOptions) => Promise.resolve().then(() => run(o));
  return new Query<R>(
    label,
    ranked,
    count,
    { limit },
    df || undefined,
    model ? { pluck: plucker(model, ranked) } : {},
  );
}
