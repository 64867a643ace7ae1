import * as ln from "../mod.ts";
import { defaultInstance } from "../src/registry/instance.ts";
import { assertEquals, freshInstance, HEALTHY } from "./_helpers.ts";

const enc = new TextEncoder();

Deno.test("fsck() reports each kind of problem and repair fixes what it safely can", async () => {
  const root = await freshInstance();
  const db = defaultInstance().db;
  const keep = await new ln.File(enc.encode("keep"), { key: "keep.txt" }).save();
  const gone = await new ln.File(enc.encode("gone"), { key: "gone.txt" }).save();
  const edited = await new ln.File(enc.encode("edited"), { key: "edited.txt" }).save();
  const replaced = await new ln.File(enc.encode("old"), { key: "r.txt" }).save();
  assertEquals(await ln.fsck(), HEALTHY);

  // A temp file of an interrupted put.
  await Deno.writeTextFile(`${root}/.lamindb/.tmp/abc`, "partial");
  // A crash after the object was moved into place but before the row committed.
  await Deno.writeTextFile(`${root}/crashed.txt`, "crashed");
  await db.insertInto("pending_object").values({
    id: "p".repeat(20),
    op: "save",
    storage_id: ln.settings.storage.id,
    key: "crashed.txt",
    is_dir: 0,
    file_id: "f".repeat(20),
    hash: ln.hashBytes(enc.encode("crashed")),
    size: 7,
    created_at: new Date().toISOString(),
  }).execute();
  // An object in .lamindb/ that no row references.
  await Deno.writeTextFile(`${root}/.lamindb/${"Z".repeat(20)}.csv`, "stray");
  // A crash after a replace moved the new object in, before the row was updated.
  await Deno.writeTextFile(`${root}/r.txt`, "new");
  await db.insertInto("pending_object").values({
    id: "q".repeat(20),
    op: "replace",
    storage_id: ln.settings.storage.id,
    key: "r.txt",
    is_dir: 0,
    file_id: replaced.id,
    hash: ln.hashBytes(enc.encode("new")),
    size: 3,
    created_at: new Date().toISOString(),
  }).execute();
  await Deno.remove(gone.path());
  await Deno.writeTextFile(edited.path(), "EDITED");

  const r = await ln.fsck();
  assertEquals(r.leftovers, [`${root}/.lamindb/.tmp/abc`]);
  assertEquals(r.orphans.sort(), [`${root}/.lamindb/${"Z".repeat(20)}.csv`, `${root}/crashed.txt`]);
  assertEquals(r.interrupted.map((p) => p.id), [replaced.id]);
  assertEquals(r.missing.map((p) => p.id), [gone.id]);
  assertEquals(r.mismatched.map((p) => [p.id, p.detail]), [[
    edited.id,
    "md5 " + ln.hashBytes(enc.encode("EDITED")) + " != recorded " + edited.hash,
  ]]);
  // fsck without repair changed nothing.
  assertEquals(await Deno.readTextFile(`${root}/crashed.txt`), "crashed");

  const repaired = await ln.fsck({ repair: true });
  assertEquals(repaired.orphans.length, 2);
  const after = await ln.fsck();
  assertEquals(after.leftovers, []);
  assertEquals(after.orphans, []);
  assertEquals(after.interrupted, []);
  assertEquals(after.missing.map((p) => p.id), [gone.id], "missing rows are reported, not deleted");
  assertEquals(after.mismatched.map((p) => p.id), [edited.id]);
  assertEquals((await ln.File.get(replaced.id)).hash, ln.hashBytes(enc.encode("new")));
  assertEquals(await Deno.readTextFile(keep.path()), "keep");
  assertEquals((await db.selectFrom("pending_object").selectAll().execute()).length, 0);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("fsck({ hash: false }) compares sizes only", async () => {
  const root = await freshInstance();
  const f = await new ln.File(enc.encode("abc"), { key: "a" }).save();
  await Deno.writeTextFile(f.path(), "xyz");
  assertEquals((await ln.fsck({ hash: false })).mismatched, []);
  assertEquals((await ln.fsck()).mismatched.length, 1);
  await Deno.writeTextFile(f.path(), "xyzw");
  assertEquals((await ln.fsck({ hash: false })).mismatched[0].detail, "size 4 != recorded 3");
  await ln.close();
  await Deno.remove(root, { recursive: true });
});
