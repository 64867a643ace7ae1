// The search index: the `search_token` rows of File, Transform, ULabel and
// Collection records, written in the same transaction as the records (save,
// replace, delete), and filled for older registries by migrations 0007
// (files, transforms, labels) and 0010 (collections). Only latest versions
// of files and collections are indexed. On PostgreSQL each record's words
// are also one `search_doc` row (an array, GIN-indexed: migration 0011),
// written and removed with its `search_token` rows.
import { type Kysely, PostgresAdapter, sql } from "kysely";
import { recordWords } from "./_search_tokens.ts";
import type { Database } from "./schema.ts";

/** A searchable record class. */
export type SearchKind = "file" | "transform" | "ulabel" | "collection";

/** The searched columns of each kind's table and their weights. */
export const SEARCH_FIELDS = {
  file: [["name", 3], ["key", 2], ["description", 1]],
  transform: [["name", 3], ["short_name", 3], ["description", 1]],
  ulabel: [["name", 3], ["description", 1]],
  collection: [["name", 3], ["description", 1]],
} as const satisfies Record<SearchKind, readonly (readonly [string, number])[]>;

/** A row as indexed: its id (and version, for a transform) and searched columns. */
export type SearchDoc = Record<string, unknown> & { id: string; version?: string | null };

/** The `search_token.record_id` of a row. */
export function searchId(kind: SearchKind, row: { id: string; version?: string | null }): string {
  return kind === "transform" ? `${row.id}/${row.version}` : row.id;
}

const CHUNK = 500;
const JSON_CHUNK = 5000;

/**
 * Write the words of `rows` (replacing any they had unless `fresh`: rows
 * just inserted). Run it in the transaction that writes the rows. `docs`:
 * also their `search_doc` rows (PostgreSQL; not before migration 0011 made
 * the table, which then fills it from `search_token`).
 */
export async function indexForSearch(
  // deno-lint-ignore no-explicit-any
  db: Kysely<Database> | Kysely<any>,
  kind: SearchKind,
  rows: readonly SearchDoc[],
  fresh = false,
  docs = true,
): Promise<void> {
  const d = db as Kysely<Database>;
  if (!fresh) await unindexForSearch(d, kind, rows.map((r) => searchId(kind, r)));
  const out: Database["search_token"][] = [];
  for (const row of rows) {
    const record_id = searchId(kind, row);
    const ws = recordWords(SEARCH_FIELDS[kind].map(([col, w]) => [row[col] as string | null, w]));
    for (const [token, weight] of ws) out.push({ kind, record_id, token, weight });
  }
  // Sorted: concurrent writers take the words' locks in one order (no deadlock on PostgreSQL).
  const vocabulary = [...new Set(out.map((t) => t.token))].sort().map((token) => ({ kind, token }));
  if (!(d.getExecutor().adapter instanceof PostgresAdapter)) {
    // SQLite: rows as one JSON parameter per statement (a statement of thousands of
    // parameters costs more to prepare than to run).
    for (let i = 0; i < vocabulary.length; i += JSON_CHUNK) {
      const part = JSON.stringify(vocabulary.slice(i, i + JSON_CHUNK).map((w) => w.token));
      await sql`insert into search_word (kind, token) select ${kind}, value
        from json_each(${part}) where true on conflict (kind, token) do nothing`.execute(d);
    }
    for (let i = 0; i < out.length; i += JSON_CHUNK) {
      const part = JSON.stringify(
        out.slice(i, i + JSON_CHUNK).map((t) => [t.record_id, t.token, t.weight]),
      );
      // Two writers re-indexing one record at once both insert: the same words, kept once.
      await sql`insert into search_token (kind, record_id, token, weight)
        select ${kind}, value ->> 0, value ->> 1, value ->> 2 from json_each(${part}) where true
        on conflict (kind, record_id, token) do nothing`.execute(d);
    }
    return;
  }
  for (let i = 0; i < vocabulary.length; i += CHUNK) {
    await d.insertInto("search_word").values(vocabulary.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(["kind", "token"]).doNothing()).execute();
  }
  for (let i = 0; i < out.length; i += CHUNK) {
    // Two writers re-indexing one record at once both insert: the same words, kept once.
    await d.insertInto("search_token").values(out.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(["kind", "record_id", "token"]).doNothing()).execute();
  }
  if (!docs) return;
  const byRecord = new Map<string, string[]>();
  for (const t of out) {
    const ws = byRecord.get(t.record_id);
    if (ws) ws.push(t.token);
    else byRecord.set(t.record_id, [t.token]);
  }
  const docRows = [...byRecord].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  for (let i = 0; i < docRows.length; i += CHUNK) {
    // As with the postings: two writers re-indexing one record keep the words of both.
    await sql`insert into search_doc (kind, record_id, tokens)
      select ${kind}, x ->> 0, array(select jsonb_array_elements_text(x -> 1))
      from jsonb_array_elements(${JSON.stringify(docRows.slice(i, i + CHUNK))}::jsonb) x
      on conflict (kind, record_id) do update set tokens = array(
        select distinct w from unnest(search_doc.tokens || excluded.tokens) w)`.execute(d);
  }
}

/** Remove the words of records (by `search_token.record_id`). */
export async function unindexForSearch(
  db: Kysely<Database>,
  kind: SearchKind,
  ids: readonly string[],
): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db.deleteFrom("search_token").where("kind", "=", kind)
      .where("record_id", "in", ids.slice(i, i + CHUNK)).execute();
    if (pg) {
      await sql`delete from search_doc where kind = ${kind}
        and record_id = any(${ids.slice(i, i + CHUNK)}::text[])`.execute(db);
    }
  }
}

const TABLE: Record<SearchKind, string> = {
  file: "file",
  transform: "transform",
  ulabel: "ulabel",
  collection: "collection",
};

/**
 * Index every record of `kinds` already in the registry (migrations 0007 and
 * 0010), a page at a time; of files and collections, the latest versions.
 */
export async function backfillSearch(
  // deno-lint-ignore no-explicit-any
  db: Kysely<any>,
  kinds: readonly SearchKind[] = ["file", "transform", "ulabel"],
): Promise<void> {
  for (const kind of kinds) {
    const cols = [
      "id",
      ...(kind === "transform" ? ["version"] : []),
      ...SEARCH_FIELDS[kind].map(([c]) => c),
    ];
    let after: [string, string] | undefined;
    for (;;) {
      let q = db.selectFrom(TABLE[kind]).select(cols).orderBy("id").limit(2000);
      if (kind === "file" || kind === "collection") q = q.where("is_latest", "=", 1);
      if (kind === "transform") q = q.orderBy("version");
      if (after) {
        q = kind === "transform"
          ? q.where((eb) =>
            eb.or([
              eb("id", ">", after![0]),
              eb.and([eb("id", "=", after![0]), eb("version", ">", after![1])]),
            ])
          )
          : q.where("id", ">", after[0]);
      }
      const rows = await q.execute() as SearchDoc[];
      if (rows.length === 0) break;
      await indexForSearch(db, kind, rows, true, false);
      const last = rows[rows.length - 1];
      after = [last.id, String(last.version ?? "")];
    }
  }
}
