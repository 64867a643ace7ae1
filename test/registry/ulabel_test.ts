// Labels and descriptions on the embedded libSQL registry (the cases shared
// with PostgreSQL are in contract.ts), and the upgrade of a registry written
// before migration 0004 — on libSQL, and on PostgreSQL when it is installed.
import { createClient } from "@libsql/client/node";
import { createHash } from "node:crypto";
import { type Dialect, Kysely } from "kysely";
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { base62, newId } from "../../src/_ids.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { libsqlDialect } from "../../src/registry/libsql.ts";
import { connectingRole, postgresDialect } from "../../src/registry/postgres.ts";
import type { Database } from "../../src/registry/schema.ts";
import { ensureStorage } from "../../src/registry/storage_record.ts";
import { currentHandle, ensureUser } from "../../src/registry/user.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";
import { migrateToPreviousRelease } from "./_previous_release.ts";

const enc = new TextEncoder();

/**
 * Write a registry as the release before labels did: migrations 0001–0003
 * only, a user, the storage root, a transform, a run and one file registered
 * in place at `raw/a.csv`. Returns the file's id.
 */
async function writeOldRegistry(
  dialect: Dialect,
  root: string,
  handle: (db: Kysely<Database>) => Promise<string>,
): Promise<string> {
  const db = new Kysely<Database>({ dialect });
  try {
    await migrateToPreviousRelease(db);
    await db.insertInto("lamin_meta").values({ key: "schema_version", value: "3" }).execute();
    const user = await ensureUser(db, await handle(db));
    const storage = await ensureStorage(db, new LocalStorage(root).root, "local", user.id);
    const now = new Date().toISOString();
    await db.insertInto("transform").values({
      id: "oldTransform",
      version: "1",
      name: "old.ts",
      short_name: null,
      type: "script",
      reference: null,
      hash: null,
      created_at: now,
      updated_at: now,
      created_by_id: user.id,
    }).execute();
    const runId = newId("run");
    await db.insertInto("run").values({
      id: runId,
      name: null,
      transform_id: "oldTransform",
      transform_version: "1",
      run_at: now,
      finished_at: now,
      status: "completed",
      reference: null,
      reference_type: null,
      created_at: now,
      created_by_id: user.id,
    }).execute();
    const bytes = enc.encode("x,y\n1,2\n");
    await Deno.mkdir(`${root}/raw`, { recursive: true });
    await Deno.writeFile(`${root}/raw/a.csv`, bytes);
    const id = base62(20); // as the release before versions made them: no version counter
    await db.insertInto("file").values({
      id,
      name: "a.csv",
      suffix: ".csv",
      size: bytes.byteLength,
      hash: createHash("md5").update(bytes).digest("base64url"),
      hash_type: "md5",
      key: "raw/a.csv",
      managed: 0,
      is_dir: 0,
      run_id: runId,
      transform_id: "oldTransform",
      transform_version: "1",
      storage_id: storage.id,
      created_at: now,
      updated_at: now,
      created_by_id: user.id,
    }).execute();
    return id;
  } finally {
    await db.destroy();
  }
}

/** After the upgrade: the old file loads, has no description, and takes labels. */
async function checkUpgraded(fileId: string): Promise<void> {
  const file = await ln.File.get({ key: "raw/a.csv" });
  assertEquals([file.id, file.description, file.transform?.name], [fileId, null, "old.ts"]);
  assertEquals((await file.load() as pl.DataFrame).toRecords(), [{ x: 1, y: 2 }]);
  assertEquals((await ln.Transform.get({ id: "oldTransform" })).description, null);
  assertEquals((await ln.Run.get(file.runId!)).description, null);
  const label = await new ln.ULabel({ name: "from before" }).save();
  await file.ulabels.add(label);
  await file.run!.ulabels.add(label);
  assertEquals((await ln.File.filter({ ulabels: label })).map((f) => f.id), [fileId]);
  assertEquals((await ln.File.filter({ description: null })).map((f) => f.id), [fileId]);
  const added = await new ln.File(enc.encode("new"), { key: "n.txt", description: "new" }).save();
  assertEquals((await ln.File.get({ description: "new" })).id, added.id);
  // A file from before versions is the latest of its family, and gets new versions.
  assertEquals(file.isLatest, true);
  const v2 = await new ln.File(enc.encode("x,y\n3,4\n"), { key: "raw/a.csv" }).save();
  assertEquals(v2.id.slice(0, 16), fileId.slice(0, 16));
  assertEquals((await file.versions()).map((f) => f.id), [fileId, v2.id]);
  assertEquals((await (await ln.File.get(fileId)).load() as pl.DataFrame).toRecords(), [
    { x: 1, y: 2 },
  ]);
  assertEquals((await ln.File.get({ key: "raw/a.csv" })).id, v2.id);
}

Deno.test("a libSQL registry written before labels upgrades in place and its files still load", async () => {
  const root = await Deno.realPath(await tempDir());
  await Deno.mkdir(`${root}/.lamindb`);
  const path = `${root}/.lamindb/lamin.db`;
  const fileId = await writeOldRegistry(
    await libsqlDialect(path),
    root,
    () => Promise.resolve(currentHandle()),
  );
  try {
    await ln.init({ storage: root });
    await checkUpgraded(fileId);
    await ln.close();
    const client = createClient({ url: `file:${path}` });
    const names = (await client.execute("select name from kysely_migration order by name")).rows
      .map((r) => String(r.name));
    const cols = (await client.execute("select name from pragma_table_info('file')")).rows
      .map((r) => String(r.name));
    client.close();
    assert(names.includes("0004_labels_descriptions"), names.join());
    assert(cols.includes("description"), cols.join());
    await ln.init({ storage: root }); // reopening does not migrate again
    assertEquals((await ln.File.filter({})).length, 2);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

const pg = needsPostgres("PostgreSQL upgrade");
Deno.test({
  name: "a PostgreSQL registry written before labels upgrades in place and its files still load",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await postgresServer();
    const url = await server.database();
    const root = await Deno.realPath(await tempDir());
    const fileId = await writeOldRegistry(await postgresDialect(url), root, connectingRole);
    try {
      await ln.init({ storage: root, db: url });
      await checkUpgraded(fileId);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("deleting a file deletes its label links, not the labels", async () => {
  const root = await freshInstance();
  const label = await new ln.ULabel({ name: "gone" }).save();
  const keep = await new ln.File(enc.encode("keep"), { key: "keep.txt" }).save();
  const file = await new ln.File(enc.encode("x"), { key: "x.txt" }).save();
  await file.ulabels.add(label);
  await keep.ulabels.add(label);
  await file.delete();
  await ln.close();
  const client = createClient({ url: `file:${root}/.lamindb/lamin.db` });
  const rows = (await client.execute("select file_id from file_ulabel")).rows
    .map((r) => String(r.file_id));
  const labels = (await client.execute("select name from ulabel")).rows.map((r) => String(r.name));
  client.close();
  assertEquals([rows, labels], [[keep.id], ["gone"]]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("labels and their links survive reopening the instance", async () => {
  const root = await freshInstance();
  const parent = await new ln.ULabel({ name: "tissue", description: "where cells come from" })
    .save();
  const child = await new ln.ULabel({ name: "lung" }).save();
  await child.parents.add(parent);
  const file = await new ln.File(enc.encode("l"), { key: "lung.txt" }).save();
  await file.ulabels.add(child);
  await ln.close();
  await ln.init({ storage: root });
  const lung = await ln.ULabel.get({ name: "lung" });
  assertEquals(lung.id, child.id);
  assertEquals((await lung.parents.all()).map((l) => l.description), ["where cells come from"]);
  assertEquals((await lung.files.all()).map((f) => f.key), ["lung.txt"]);
  assertEquals(
    String(lung),
    `ULabel(id=${child.id}, name="lung")`,
  );
  assert(String(parent).endsWith(`description="where cells come from")`), String(parent));
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("saving a saved label writes its new name and description; a taken name is refused", async () => {
  const root = await freshInstance();
  const a = await new ln.ULabel({ name: "a" }).save();
  await new ln.ULabel({ name: "b" }).save();
  a.description = "first letter";
  a.name = "alpha";
  await a.save();
  assertEquals([(await ln.ULabel.get(a.id)).name, (await ln.ULabel.get(a.id)).description], [
    "alpha",
    "first letter",
  ]);
  a.name = "b";
  await assertRejects(() => a.save(), ln.ValidationError, /another label is named "b"/);
  assertEquals((await ln.ULabel.get(a.id)).name, "alpha");
  a.name = "x".repeat(300);
  await assertRejects(() => a.save(), ln.ValidationError, /at most 255/);
  assertEquals((await ln.ULabel.filter({})).map((l) => l.name).sort(), ["alpha", "b"]);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("a cycle through a wide hierarchy is found (more labels than one query's batch)", async () => {
  const root = await freshInstance();
  const top = await new ln.ULabel({ name: "top" }).save();
  const kids: ln.ULabel[] = [];
  for (let i = 0; i < 700; i++) kids.push(await new ln.ULabel({ name: `kid ${i}` }).save());
  await top.children.add(...kids);
  const grandchild = await new ln.ULabel({ name: "grandchild" }).save();
  await kids[650].children.add(grandchild);
  await assertRejects(() => top.parents.add(grandchild), ln.ValidationError, /cycle/);
  assertEquals(await top.parents.all(), []);
  await assertRejects(() => grandchild.children.add(top), ln.ValidationError, /cycle/);
  assertEquals(await grandchild.children.all(), []);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("bad label input is a ValidationError and writes nothing", async () => {
  const root = await freshInstance();
  await assertRejects(
    () => new ln.ULabel({ name: "a\0b" }),
    ln.ValidationError,
    /NUL/,
  );
  await assertRejects(
    () => new ln.ULabel({ name: "ok", description: "a\0b" }),
    ln.ValidationError,
    /NUL/,
  );
  await assertRejects(
    () => new ln.ULabel(null as unknown as ln.ULabelOptions),
    ln.ValidationError,
    /options like/,
  );
  await assertRejects(
    () => new ln.Transform({ name: "t", description: 5 as unknown as string }),
    ln.ValidationError,
    /description must be a string/,
  );
  const unsaved = new ln.ULabel({ name: "unsaved" });
  await assertRejects(() => unsaved.files.all(), ln.ValidationError, /not saved yet/);
  await assertRejects(() => unsaved.parents.all(), ln.ValidationError, /not saved yet/);
  const label = await new ln.ULabel({ name: "saved" }).save();
  await assertRejects(() => label.parents.add(unsaved), ln.ValidationError, /not saved yet/);
  const file = await new ln.File(enc.encode("f"), { key: "f.txt" }).save();
  await assertRejects(
    () => file.ulabels.add(file as unknown as ln.ULabel),
    ln.ValidationError,
    /file\.ulabels: add\(\)\/remove\(\) take ULabel records, got a File/,
  );
  // lamindb users pass a name: the message says how to get or make that label.
  await assertRejects(
    () => file.ulabels.add("T cell" as unknown as ln.ULabel),
    ln.ValidationError,
    /got "T cell"; for a label by name: await ln\.ULabel\.get\(\{ name: "T cell" \}\), or await new ln\.ULabel\(\{ name: "T cell" \}\)\.save\(\)/,
  );
  for (const bad of [3, null, [["nested"]], () => "x"]) {
    await assertRejects(
      () => ln.File.filter({ ulabels: bad }),
      ln.ValidationError,
      /where\.ulabels: expected a record, an id/,
    );
  }
  // An object is a where over the labels, checked as one.
  await assertRejects(
    () => ln.File.filter({ ulabels: { id: 5 } }),
    ln.ValidationError,
    /ULabel where\.id\.eq: id holds strings/,
  );
  await assertRejects(
    () => ln.File.filter({ ulabels: Array.from({ length: 20_001 }, (_, i) => `id${i}`) }),
    ln.ValidationError,
    /at most 20000 values/,
  );
  const many = Array.from({ length: 19_999 }, (_, i) => `id${i}`);
  assertEquals(await ln.File.filter({ ulabels: [...many, label.id] }), []);
  await file.ulabels.add(label);
  assertEquals((await ln.File.filter({ ulabels: [...many, label] })).map((f) => f.id), [file.id]);
  assertEquals((await ln.ULabel.filter({})).map((l) => l.name), ["saved"]);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("lamindb's names of a label's fields: uid is the id, artifacts the files", async () => {
  const root = await freshInstance();
  try {
    const label = await new ln.ULabel({ name: "T cell" }).save();
    const file = await new ln.File(enc.encode("a"), { key: "a.txt" }).save();
    await file.ulabels.add(label);
    assertEquals(label.uid, label.id);
    assertEquals((await ln.ULabel.get(label.uid)).name, "T cell");
    assertEquals((await label.artifacts.all()).map((f) => f.id), [file.id]);
    assertEquals(label.artifacts, label.files);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
