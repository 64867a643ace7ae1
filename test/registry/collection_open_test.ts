// lamindb's Collection.open(), cache() and append(): a collection's tables
// as one lazy scan, its files on local disk, its next version with one
// more file; locally and on s3rver.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";
import { s3InstanceTest } from "../_s3.ts";

const enc = new TextEncoder();

/** Three tables of three formats; `y` only in the first, `z` only in the last. */
async function saveTables(): Promise<ln.File[]> {
  const a = await new ln.File(pl.DataFrame({ x: [1, 5], y: ["a", "b"] }), { key: "t/a.parquet" })
    .save();
  const b = await new ln.File(pl.DataFrame({ x: [7, 2] }), { key: "t/b.ipc", format: "ipc" })
    .save();
  const c = await new ln.File(enc.encode("x,z\n9,true\n3,false\n"), { key: "t/c.csv" }).save();
  return [a, b, c];
}

const xs = (df: pl.DataFrame) => df.getColumn("x").toArray().map(Number);

/** open() against load() on the collection of `saveTables()`, inner and outer. */
async function openCases(c: ln.Collection): Promise<void> {
  const inner = await c.open();
  assertEquals(inner.columns, ["x"]);
  const all = await inner.collect();
  assertEquals(xs(all), [1, 5, 7, 2, 9, 3]);
  assertEquals(xs(all), xs(await c.load() as pl.DataFrame), "open().collect() is load()");
  // A filter and a selection run on the scans.
  assertEquals(xs(await inner.filter(pl.col("x").gt(4)).collect()), [5, 7, 9]);
  // polars' errors are LaminErrors, as for one file's scan.
  await assertRejects(() => inner.select("nope").collect(), ln.ColumnNotFoundError, /nope/);
  const outer = await (await c.open({ join: "outer" })).collect();
  const loaded = await c.load({ join: "outer" }) as pl.DataFrame;
  assertEquals(outer.columns.sort(), ["x", "y", "z"]);
  for (const col of ["x", "y", "z"]) {
    assertEquals(
      outer.getColumn(col).toArray().map(String),
      loaded.getColumn(col).toArray().map(String),
      col,
    );
  }
  assertEquals(outer.getColumn("y").toArray(), ["a", "b", null, null, null, null]);
}

Deno.test("collection.open() scans its tables as one LazyFrame (inner or outer), as load() reads them; cache() gives local paths in order", async () => {
  const root = await freshInstance();
  try {
    const files = await saveTables();
    const c = await new ln.Collection(files, { name: "tables" }).save();
    await openCases(c);
    // One file: its own scan.
    const one = await new ln.Collection([files[1]], { name: "one" }).save();
    assertEquals(xs(await (await one.open()).collect()), [7, 2]);
    // A column of different types: their supertype, as load() gives.
    const f = await new ln.File(pl.DataFrame({ x: [0.5] }), { key: "t/f.parquet" }).save();
    const s = await new ln.File(pl.DataFrame({ x: ["text"] }), { key: "t/s.parquet" }).save();
    for (const [name, list] of [["floats", [files[0], f]], ["texts", [files[0], s]]] as const) {
      const mixed = await new ln.Collection([...list], { name }).save();
      const got = await (await mixed.open()).collect();
      const want = await mixed.load() as pl.DataFrame;
      assertEquals(got.getColumn("x").toArray(), want.getColumn("x").toArray(), name);
      assertEquals(String(got.getColumn("x").dtype), String(want.getColumn("x").dtype));
    }
    const paths = await c.cache();
    assertEquals(paths, files.map((f) => f.path()));
    assert(paths.every((p) => p.startsWith(root)));
  } finally {
    await ln.close();
  }
});

Deno.test("collection.open() and cache(): bad options, AnnData, other formats and no common column are ValidationErrors before reading; a missing file a StorageError naming it", async () => {
  await freshInstance();
  try {
    const files = await saveTables();
    const c = await new ln.Collection(files, { name: "tables" }).save();
    await assertRejects(
      () => c.open({ joins: "inner" } as unknown as ln.CollectionOpenOptions),
      ln.ValidationError,
      /joins/,
    );
    await assertRejects(
      () => c.open({ join: "left" } as unknown as ln.CollectionOpenOptions),
      ln.ValidationError,
      /join/,
    );
    await assertRejects(
      () => c.cache({ isRunInput: "yes" } as unknown as ln.CollectionCacheOptions),
      ln.ValidationError,
      /isRunInput/,
    );
    const ad = new ln.AnnData({
      X: new ln.DenseMatrix(new Float32Array(2), [1, 2]),
      varNames: ["A", "B"],
    });
    const h5ad = await new ln.File(ad, { key: "a.h5ad" }).save();
    await assertRejects(
      () => new ln.Collection([h5ad], { name: "cells" }).open(),
      ln.ValidationError,
      /AnnData.*stream\(\)/,
    );
    const tsv = await new ln.File(enc.encode("x\n1\n"), { key: "d.txt" }).save();
    await assertRejects(
      () => new ln.Collection([files[0], tsv], { name: "txt" }).open(),
      ln.ValidationError,
      /d\.txt/,
    );
    const other = await new ln.File(pl.DataFrame({ w: [1] }), { key: "w.parquet" }).save();
    await assertRejects(
      () => new ln.Collection([files[0], other], { name: "apart" }).open(),
      ln.ValidationError,
      /no column in common.*outer/,
    );
    assertEquals(
      (await (await new ln.Collection([files[0], other], { name: "apart" }).open({
        join: "outer",
      })).collect()).columns.sort(),
      ["w", "x", "y"],
    );
    await Deno.remove(files[1].path());
    for (const read of [() => c.open(), () => c.cache()]) {
      const e = await assertRejects(read, ln.StorageError);
      assert(e.message.includes(files[1].id), e.message);
    }
  } finally {
    await ln.close();
  }
});

Deno.test("collection.open() and cache() link the collection and its files as inputs of the tracked run, unless isRunInput: false", async () => {
  await freshInstance();
  try {
    const files = await saveTables();
    const c = await new ln.Collection(files, { name: "tables" }).save();
    const run = await ln.track({ name: "scan.ts" });
    await c.open({ isRunInput: false });
    await c.cache({ isRunInput: false });
    assertEquals((await c.inputOf.all()).length, 0);
    assertEquals((await run.inputs.all()).length, 0);
    await c.open();
    assertEquals((await c.inputOf.all()).map((r) => r.id), [run.id]);
    assertEquals((await run.inputs.all()).map((f) => f.id).sort(), files.map((f) => f.id).sort());
    await ln.finish();
  } finally {
    await ln.close();
  }
});

Deno.test("collection.append(file) is the next version with the file at the end; the collection appended to is unchanged", async () => {
  await freshInstance();
  try {
    const [a, b, c] = await saveTables();
    const v1 = await new ln.Collection([a, b], { name: "tables", description: "first" }).save();
    const draft = await v1.append(c, { version: "2" });
    assert(!draft.isSaved, "append() returns an unsaved collection");
    const v2 = await draft.save();
    assertEquals((await v2.files.all()).map((f) => f.id), [a.id, b.id, c.id]);
    assertEquals((await v1.files.all()).map((f) => f.id), [a.id, b.id]);
    assertEquals([v2.name, v2.description, v2.version], ["tables", "first", "2"]);
    assertEquals(v2.id.slice(0, 16), v1.id.slice(0, 16), "one version family");
    assertEquals((await v2.versions()).map((v) => v.id), [v1.id, v2.id]);
    assertEquals((await ln.Collection.get({ name: "tables" })).id, v2.id, "the latest");
    // Bad input changes nothing.
    await assertRejects(() => v2.append(a), ln.ValidationError, /twice/);
    await assertRejects(
      () => v2.append("c.csv" as unknown as ln.File),
      ln.ValidationError,
      /saved File/,
    );
    await assertRejects(
      () => v2.append(c, { key: "x" } as unknown as ln.CollectionAppendOptions),
      ln.ValidationError,
      /key/,
    );
    const unsaved = new ln.Collection([a], { name: "draft" });
    await assertRejects(() => unsaved.append(b), ln.ValidationError, /not saved/);
    await assertRejects(
      () => v2.append(c, null as unknown as ln.CollectionAppendOptions),
      ln.ValidationError,
      /options is an object/,
    );
    // An unsaved collection's versions: itself, and a query that says why it goes no further.
    assertEquals((await unsaved.versions()).map((x) => x.id), [unsaved.id]);
    await assertRejects(
      () => unsaved.versions().filter({ name: "draft" }),
      ln.ValidationError,
      /not saved/,
    );
    await assertRejects(() => unsaved.versions().df(), ln.ValidationError, /not saved/);
    const fresh = new ln.File(enc.encode("new"), { key: "n.txt" });
    await assertRejects(() => v2.append(fresh), ln.ValidationError, /not saved/);
    assertEquals((await v2.versions()).length, 2);
  } finally {
    await ln.close();
  }
});

s3InstanceTest(
  "collection.open() and cache() on S3 (s3rver): cached copies, scanned and stacked",
  async ({ cache }) => {
    const files = await saveTables();
    const c = await new ln.Collection(files, { name: "tables" }).save();
    await openCases(c);
    const paths = await c.cache();
    assertEquals(paths.length, 3);
    for (const [i, p] of paths.entries()) {
      assert(p.startsWith(cache), p);
      assertEquals(ln.hashBytes(await Deno.readFile(p)), files[i].hash);
    }
  },
);
