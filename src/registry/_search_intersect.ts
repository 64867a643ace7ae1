// The intersection plan of a search: the records having postings of two
// words (the rarest; on PostgreSQL of all), the other words looked up in
// those records only, and the records left scored and ranked exactly as the
// other plans do (score, then id in code point order).
//
// On SQLite the two words' postings are merged in record id order: each
// (index word, weight) pair's postings are one range of the index
// `(kind, token, weight, record_id)`, in record id order, so a word's pairs
// are merged (`union all ... order by`) and two words' merges intersected
// (`intersect ... order by`) as streams: SQLite reads every posting of both
// words once, ~0.1 µs each, where probing one word's postings in a list
// built from the other's (`in (select ...)`) costs ~1 µs per posting (the
// way taken for words of many index words). On PostgreSQL, where reading
// and hashing postings costs ~0.3-0.5 µs each, the records having every
// word come from the GIN index of `search_doc` (each record's words as an
// array: `tokens && word1 and tokens && word2 ...`), which intersects the
// words' compressed posting lists inside the index.
import { PostgresAdapter, type RawBuilder, sql } from "kysely";
import { retryBusy } from "./_db_errors.ts";
import type { SearchKind } from "./_search_index.ts";
import { compareIds, type IndexWord, inWords, TUNING, wordScore } from "./_search_topk.ts";
import type { RegistryDb } from "./db.ts";

const WEIGHTS = [3, 2, 1] as const;

/**
 * The ids of the best `k` records matching every word (`words[i]`: query
 * word i's index words and how well each matches), best first, found by
 * intersecting the postings of words `a` and `b` (on PostgreSQL: every
 * word's, in `search_doc`); `undefined` when that costs more than other
 * plans: either word has `cap` postings or more (on PostgreSQL: `cap` or
 * more records match every word).
 */
export async function intersectTop(
  db: RegistryDb,
  kind: SearchKind,
  words: readonly (readonly IndexWord[])[],
  a: number,
  b: number,
  k: number,
  cap: number,
): Promise<string[] | undefined> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const r = sql.ref("i.r");
  const scores = sql.join(words.map((ws, i) => wordScore(db, kind, r, ws, `w${i}`)), sql` + `);
  const rank = (rows: { r: string | null; score: unknown }[]) =>
    // Best first, ties by id in code point order (as the statement ordered them, union aside).
    rows.map((x) => [String(x.r), Number(x.score)] as const)
      .sort((x, y) => y[1] - x[1] || compareIds(x[0], y[0])).map(([id]) => id);
  if (pg) {
    // The GIN index intersects the words' posting lists (compressed, in the index): the records
    // having every word at once; then only those are scored.
    const all = words.map((ws) => sql`tokens && ${ws.map((w) => w.token)}::text[]`);
    const rows = await retryBusy(() =>
      sql<{ r: string | null; score: unknown; n: unknown }>`with
        i as materialized (select record_id as r from search_doc where kind = ${kind}
          and ${sql.join(all, sql` and `)} limit ${sql.lit(cap)})
        select i.r as r, ${scores} as score, (select count(*) from i) as n from i
        order by score desc, r limit ${sql.lit(k)}`.execute(db)
    );
    // `cap` records or more (none read when cap is 0): maybe more, declined.
    if ((rows.rows.length > 0 ? Number(rows.rows[0].n) : 0) >= cap) return undefined;
    return rank(rows.rows);
  }
  const tokens = (i: number) => words[i].map((w) => w.token);
  const merge = [a, b].every((i) => words[i].length * WEIGHTS.length <= TUNING.merged);
  // One word's postings, merged in record id order (a record once per pair it is in).
  const merged = (i: number) =>
    sql`select r from (${
      sql.join(
        words[i].flatMap((w) =>
          WEIGHTS.map((weight) =>
            sql`select record_id as r from search_token where kind = ${kind}
              and token = ${w.token} and weight = ${sql.lit(weight)}`
          )
        ),
        sql` union all `,
      )
    } order by 1)`;
  // Materialized: SQLite drops a subquery's "order by" as useless, and with it the merge.
  // The probe: "+" keeps SQLite from driving by the second word's list instead.
  const both = merge
    ? sql`${merged(a)} intersect ${merged(b)} order by 1`
    : sql`select distinct t0.record_id as r from search_token t0 where t0.kind = ${kind}
      and ${inWords(db, "t0.token", tokens(a))} and +t0.record_id in (select record_id
      from search_token where kind = ${kind} and ${inWords(db, "token", tokens(b))})`;
  // The other words checked first (most records fail there), then every word scored.
  const rest = words.map((_, i) => i).filter((i) => i !== a && i !== b);
  const has: RawBuilder<unknown>[] = rest.map((i) =>
    sql`exists (select 1 from search_token ${sql.raw(`e${i}`)} where ${
      sql.raw(`e${i}`)
    }.kind = ${kind} and ${sql.raw(`e${i}`)}.record_id = ${r} and ${
      inWords(db, `e${i}.token`, tokens(i))
    })`
  );
  // Both words counted first (up to `cap`), in the statement: a round trip less.
  const count = (i: number) =>
    sql`(select count(*) from (select 1 as x from search_token where kind = ${kind} and ${
      inWords(db, "token", tokens(i))
    } limit ${sql.lit(cap)}) ${sql.raw(`c${i}`)}) < ${sql.lit(cap)}`;
  const rows = await retryBusy(() =>
    sql<{ r: string | null; score: unknown }>`with
      g as materialized (select ${count(a)} and ${count(b)} as ok),
      i as materialized (${both})
      select r, score from (select i.r as r, ${scores} as score from i
        where (select ok from g) ${has.length > 0 ? sql`and ${sql.join(has, sql` and `)}` : sql``}
        order by score desc, r limit ${sql.lit(k)}) top
      union all select null, null from g where not ok`.execute(db)
  );
  if (rows.rows.some((x) => x.r === null)) return undefined;
  return rank(rows.rows);
}
