// Mutations act only on the row as it was loaded (optimistic concurrency),
// and replace() never writes over another file's object or a user's file.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assertEquals, assertRejects, freshInstance, HEALTHY, listTree } from "../_helpers.ts";

const enc = new TextEncoder();

Deno.test("a stale record's delete() after the file was deleted and its key reused touches nothing", async () => {
  const root = await freshInstance();
  try {
    const first = await new ln.File(enc.encode("one"), { key: "k.txt" }).save();
    const stale = await ln.File.get(first.id);
    await first.delete();
    const second = await new ln.File(enc.encode("two"), { key: "k.txt" }).save();
    await assertRejects(() => stale.delete(), ln.NotFoundError, /deleted since it was loaded/);
    assertEquals(await Deno.readTextFile(`${root}/k.txt`), "two");
    assertEquals((await ln.File.get({ key: "k.txt" })).id, second.id);
    await assertRejects(() => stale.replace(enc.encode("three")), ln.NotFoundError);
    assertEquals(await Deno.readTextFile(`${root}/k.txt`), "two");
    assertEquals(await ln.fsck(), HEALTHY);
  } finally {
    await ln.close();
  }
});

Deno.test("a stale record's replace() after a newer replace is an IntegrityError; the newer content stays", async () => {
  const root = await freshInstance();
  try {
    const f = await new ln.File(enc.encode("v1"), { key: "v.txt" }).save();
    const stale = await ln.File.get(f.id);
    await f.replace(enc.encode("v2"));
    await assertRejects(() => stale.replace(enc.encode("v3")), ln.IntegrityError, /changed since/);
    await assertRejects(() => stale.delete(), ln.IntegrityError, /changed since/);
    assertEquals(await Deno.readTextFile(`${root}/v.txt`), "v2");
    assertEquals((await ln.File.get(f.id)).hash, ln.hashBytes(enc.encode("v2")));
    // A fresh record works.
    await (await ln.File.get(f.id)).replace(enc.encode("v3"));
    assertEquals(await Deno.readTextFile(`${root}/v.txt`), "v3");
    assertEquals(await ln.fsck(), HEALTHY);
  } finally {
    await ln.close();
  }
});

Deno.test("replace() after a plain delete leaves no unreferenced object", async () => {
  const root = await freshInstance();
  try {
    const f = await new ln.File(enc.encode("managed")).save(); // .lamindb/{id}.txt-less
    const stale = await ln.File.get(f.id);
    await f.delete();
    const before = await listTree(root);
    await assertRejects(() => stale.replace(enc.encode("again")), ln.NotFoundError);
    assertEquals(await listTree(root), before);
    assertEquals(await ln.fsck(), HEALTHY);
  } finally {
    await ln.close();
  }
});

Deno.test("replace() that changes the suffix never overwrites what sits at the new key", async () => {
  const root = await freshInstance();
  try {
    // Another registered file at the new key.
    const csv = await new ln.File(enc.encode("a,b\n1,2\n"), { key: "x.csv" }).save();
    const df = pl.DataFrame({ a: [1, 2, 3] });
    const parquet = await new ln.File(df, { key: "x.parquet" }).save();
    const parquetBytes = await Deno.readFile(`${root}/x.parquet`);
    await assertRejects(
      () => csv.replace(pl.DataFrame({ z: [9] })),
      ln.IntegrityError,
      /registered as file/,
    );
    assertEquals(await Deno.readFile(`${root}/x.parquet`), parquetBytes);
    assertEquals(((await parquet.load()) as pl.DataFrame).height, 3);
    assertEquals(await Deno.readTextFile(`${root}/x.csv`), "a,b\n1,2\n");

    // An unregistered user file at the new key.
    const notes = await new ln.File(enc.encode("n,o\n"), { key: "notes.csv" }).save();
    await Deno.writeTextFile(`${root}/notes.parquet`, "my own file");
    await assertRejects(
      () => notes.replace(pl.DataFrame({ z: [1] })),
      ln.IntegrityError,
      /an object already is/,
    );
    assertEquals(await Deno.readTextFile(`${root}/notes.parquet`), "my own file");
    // The failed attempts changed nothing: the records still act.
    await notes.replace(enc.encode("n,o\n1,2\n"));
    assertEquals(await Deno.readTextFile(`${root}/notes.csv`), "n,o\n1,2\n");
    await Deno.remove(`${root}/notes.parquet`);
    assertEquals(await ln.fsck(), HEALTHY);
  } finally {
    await ln.close();
  }
});
