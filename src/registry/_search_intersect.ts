// The intersection plan of a search on SQLite: the postings of the two
// rarest words merged in record id order (no temporary index), the other
// words looked up in the records left, and those scored and ranked
// exactly as the other plans do (score, then id in code point order).
//
// Each (index word, weight) pair's postings are one range of the index
// `(kind, token, weight, record_id)`, in record id order, so a word's pairs
// are merged (`union all ... order by`) and two words' merges intersected
// (`intersect ... order by`) as streams: SQLite reads every posting of both
// words once, ~0.1 µs each, where probing one word's postings in a list
// built from the other's (`in (select ...)`) costs ~1 µs per posting.
import { type RawBuilder, sql } from "kysely";
import { retryBusy } from "./_db_errors.ts";
import type { SearchKind } from "./_search_index.ts";
import { type IndexWord, inWords, TUNING, wordScore } from "./_search_topk.ts";
import type { RegistryDb } from "./db.ts";

const WEIGHTS = [3, 2, 1] as const;

/**
 * The ids of the best `k` records matching every word (`words[i]`: query
 * word i's index words and how well each matches), best first, found by
 * intersecting the postings of words `a` and `b`; `undefined` when either
 * stands for more than `TUNING.merged` (index word, weight) ranges.
 */
export async function mergeIntersect(
  db: RegistryDb,
  kind: SearchKind,
  words: readonly (readonly IndexWord[])[],
  a: number,
  b: number,
  k: number,
): Promise<string[] | undefined> {
  if ([a, b].some((i) => words[i].length * WEIGHTS.length > TUNING.merged)) return undefined;
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
  const r = sql.ref("i.r");
  const rest = words.map((_, i) => i).filter((i) => i !== a && i !== b);
  const has: RawBuilder<unknown>[] = rest.map((i) =>
    sql`exists (select 1 from search_token ${sql.raw(`e${i}`)} where ${
      sql.raw(`e${i}`)
    }.kind = ${kind} and ${sql.raw(`e${i}`)}.record_id = ${r} and ${
      inWords(db, `e${i}.token`, words[i].map((w) => w.token))
    })`
  );
  const scores = words.map((ws, i) => wordScore(db, kind, r, ws, `w${i}`));
  const rows = await retryBusy(() =>
    // Materialized: a subquery's "order by" is dropped as useless, and with it the merge.
    sql<{ r: string }>`with i as materialized (${merged(a)} intersect ${merged(b)} order by 1)
      select i.r as r, ${sql.join(scores, sql` + `)} as score from i
      ${has.length > 0 ? sql`where ${sql.join(has, sql` and `)}` : sql``}
      order by score desc, r limit ${sql.lit(k)}`.execute(db)
  );
  return rows.rows.map((x) => String(x.r));
}
