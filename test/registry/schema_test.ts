import { createClient } from "@libsql/client/node";
import * as ln from "../../mod.ts";
import { SCHEMA_VERSION } from "../../src/registry/db.ts";
import { assertEquals, assertRejects, freshInstance } from "../_helpers.ts";

Deno.test("init() on an existing instance opens it and records the schema version", async () => {
  const root = await freshInstance();
  const storageId = ln.settings.storage.id;
  const userId = ln.settings.user.id;
  await ln.init({ storage: root }); // again, while open: idempotent
  assertEquals([ln.settings.storage.id, ln.settings.user.id], [storageId, userId]);
  await ln.close();
  const client = createClient({ url: `file:${root}/.lamindb/lamin.db` });
  const r = await client.execute("select value from lamin_meta where key = 'schema_version'");
  assertEquals(String(r.rows[0].value), String(SCHEMA_VERSION));
  const tables = (await client.execute("select name from sqlite_master where type='table'")).rows
    .map((x) => String(x.name));
  for (
    const t of [
      "storage",
      "user",
      "transform",
      "run",
      "file",
      "folder",
      "features",
      "run_input",
      "file_features",
      "folder_file",
    ]
  ) assertEquals(tables.includes(t), true, t);
  client.close();
  await Deno.remove(root, { recursive: true });
});

/** Every table's definition and rows in a SQLite registry, as one text. */
async function contentOf(path: string): Promise<string> {
  const client = createClient({ url: `file:${path}` });
  try {
    const out: unknown[] = [];
    const tables = await client.execute(
      "select name, sql from sqlite_master where type = 'table' order by name",
    );
    for (const t of tables.rows) {
      const rows = await client.execute(`select * from "${String(t.name)}" order by 1`);
      out.push(t.sql, rows.rows.map((r) => Object.values(r)));
    }
    return JSON.stringify(out, (_k, v) => typeof v === "bigint" ? String(v) : v);
  } finally {
    client.close();
  }
}

Deno.test("a registry written by a newer schema is refused with a clear error and left unchanged", async () => {
  const root = await freshInstance();
  await new ln.File(new Uint8Array([1]), { key: "one" }).save();
  await ln.close();
  const path = `${root}/.lamindb/lamin.db`;
  const client = createClient({ url: `file:${path}` });
  await client.execute(
    "insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')",
  );
  client.close();
  const before = await contentOf(path);
  await assertRejects(
    () => ln.init({ storage: root }),
    ln.SchemaVersionError,
    /newer lamindeno.*9999_from_the_future.*upgrade/,
  );
  // What it holds, not its bytes: a WAL checkpoint at close moves pages into the file
  // unchanged (and a byte diff of two such files took assertEquals past 20 GB).
  assertEquals(await contentOf(path), before);
  await assertRejects(() => ln.File.filter({}), ln.NotInitializedError);
  await Deno.remove(root, { recursive: true });
});

Deno.test("ids are base62 of lamindb's lengths", async () => {
  const root = await freshInstance();
  const t = await new ln.Transform({ name: "t" }).save();
  const r = await new ln.Run({ transform: t }).save();
  const f = await new ln.File(new Uint8Array([2]), { key: "two" }).save();
  const lengths = [f.id, r.id, t.id, ln.settings.storage.id, ln.settings.user.id].map((s) => {
    assertEquals(/^[0-9A-Za-z]+$/.test(s), true);
    return s.length;
  });
  assertEquals(lengths, [20, 20, 12, 12, 8]);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("newest files under a key prefix are picked from an index of key, version flag and date", async () => {
  const root = await freshInstance();
  await ln.close();
  const client = createClient({ url: `file:${root}/.lamindb/lamin.db` });
  try {
    const cols = (await client.execute("pragma index_info('file_key_latest_idx')")).rows
      .map((r) => String(r.name));
    assertEquals(cols, ["key", "is_latest", "created_at"]);
    // What File.filter({ key: { startsWith } }).df() asks: the range and the flag come from
    // the index, so rows outside the 100 newest are not read to be sorted.
    const plan = (await client.execute(
      `explain query plan select * from file where key >= 'a/' and key < 'a0' and is_latest = 1
       order by created_at desc limit 100`,
    )).rows.map((r) => String(r.detail)).join("; ");
    assertEquals(/USING INDEX file_key_latest_idx \(key>\? AND key<\?\)/.test(plan), true, plan);
  } finally {
    client.close();
    await Deno.remove(root, { recursive: true });
  }
});
