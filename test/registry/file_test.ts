import * as ln from "../../mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  freshInstance,
  HEALTHY,
  listTree,
  strictEqual,
  tempDir,
} from "../_helpers.ts";

const enc = new TextEncoder();

async function withInstance(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await freshInstance();
  try {
    await fn(root);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the API before init() throws NotInitializedError", async () => {
  await ln.close();
  await assertRejects(() => new ln.File(enc.encode("x")).save(), ln.NotInitializedError, /init/);
  await assertRejects(() => ln.File.filter({}), ln.NotInitializedError);
  await assertRejects(() => ln.fsck(), ln.NotInitializedError);
  await assertRejects(() => ln.settings.storage, ln.NotInitializedError);
});

Deno.test("new File() does no I/O and validates its input", async () => {
  const f = new ln.File("/definitely/not/here.csv");
  assertEquals([f.id.length, f.suffix, f.name, f.hash, f.isSaved], [
    20,
    ".csv",
    "here.csv",
    null,
    false,
  ]);
  await assertRejects(() => new ln.File(enc.encode("x"), { key: "../x" }), ln.InvalidKeyError);
  await assertRejects(() => new ln.File(enc.encode("x"), { key: "/abs" }), ln.InvalidKeyError);
  await assertRejects(() => new ln.File(enc.encode("x"), { key: "a\\b" }), ln.InvalidKeyError);
  await assertRejects(() => new ln.File(enc.encode("x"), { key: "a\0b" }), ln.InvalidKeyError);
  await assertRejects(() => new ln.File(enc.encode("x"), { key: "a//b" }), ln.InvalidKeyError);
  await assertRejects(() => new ln.File(enc.encode("x"), { id: "short" }), ln.ValidationError);
  await assertRejects(() => new ln.File(42 as never), ln.ValidationError, /Uint8Array/);
  await assertRejects(() => new ln.File("ftp://x.org/x.csv"), ln.StorageError, /http\(s\)/);
  new ln.File("https://x.org/x.csv"); // a public URL, registered in place on save()
});

Deno.test("save() records size and md5 vectors, and File.get() finds the file by id and key", () =>
  withInstance(async () => {
    const a = await new ln.File(enc.encode("a"), { key: "vec/a.txt" }).save();
    assertEquals([a.size, a.hash, a.hashType], [1, "DMF1ucDxtqgxw5niaXcmYQ", "md5"]);
    const empty = await new ln.File(new Uint8Array(), { key: "vec/empty" }).save();
    assertEquals([empty.size, empty.hash, empty.suffix], [0, "1B2M2Y8AsgTpgAmY7PhCfg", ""]);
    const got = await ln.File.get(a.id);
    assertEquals([got.key, got.hash, got.suffix, got.name], ["vec/a.txt", a.hash, ".txt", "a.txt"]);
    assertEquals((await ln.File.get({ key: "vec/a.txt" })).id, a.id);
    assertEquals(got.storage?.id, ln.settings.storage.id);
    assertEquals(got.createdBy?.id, ln.settings.user.id);
    assertEquals(got.createdById, ln.settings.user.id);
    assert(got.createdAt instanceof Date && got.updatedAt instanceof Date);
  }));

Deno.test("lamindb 1.x spellings: ln.Artifact is ln.File, artifact.cache() is stage()", () =>
  withInstance(async (root) => {
    assert((ln.Artifact as unknown) === ln.File);
    const a = await new ln.Artifact(enc.encode("g,c\nCD4,3\n"), { key: "qc/counts.csv" }).save();
    assert(a instanceof ln.File);
    assertEquals((await ln.Artifact.get({ key: "qc/counts.csv" })).id, a.id);
    assertEquals((await ln.Artifact.filter({ suffix: ".csv" })).map((f) => f.id), [a.id]);
    const path = await a.cache();
    assertEquals(path, await a.stage());
    assertEquals(path, `${root}/qc/counts.csv`);
    assertEquals(await Deno.readTextFile(path), "g,c\nCD4,3\n");
    // Bad input is checked as stage() checks it.
    await assertRejects(
      () => a.cache({ isRunInput: "yes" } as unknown as ln.StageOptions),
      ln.ValidationError,
    );
    // Unsaved: said as for stage().
    await assertRejects(() => new ln.Artifact(enc.encode("x")).cache(), ln.LaminError);
  }));

Deno.test("lamindb 1.11 spellings: fromDataFrame, fromAnnData, toDataFrame(), toList(); wrong kinds refused", () =>
  withInstance(async () => {
    const pl = (await import("nodejs-polars")).default;
    const df = pl.DataFrame({ gene: ["CD4", "CD8A"], count: [3, 5] });
    const t = await ln.Artifact.fromDataFrame(df, { key: "t.parquet", description: "qc" }).save();
    assertEquals([t.suffix, t.description], [".parquet", "qc"]);
    assertEquals(((await t.load()) as typeof df).getColumn("count").toArray(), [3, 5]);
    const adata = new ln.AnnData({
      X: new ln.DenseMatrix(new Float32Array([1, 0, 0, 2]), [2, 2]),
      varNames: ["CD4", "CD8A"],
    });
    const a = await ln.File.fromAnnData(adata, { key: "toy.zarr", format: "zarr" }).save();
    assertEquals(a.suffix, ".zarr");
    assertEquals(((await a.load()) as ln.AnnData).varNames, ["CD4", "CD8A"]);
    const table = await ln.Artifact.filter({ description: "qc" }).toDataFrame();
    assertEquals([table.height, table.getColumn("key").toArray()], [1, ["t.parquet"]]);
    assertEquals((await ln.File.filter({ suffix: ".zarr" }).toList()).map((f) => f.id), [a.id]);
    // The wrong kind of data: a ValidationError naming what was given, nothing saved.
    for (
      const [call, what] of [
        [() => ln.Artifact.fromDataFrame(adata as never), /polars DataFrame, got/],
        [() => ln.Artifact.fromAnnData(df as never), /ln\.AnnData .*got/],
        [() => ln.Artifact.fromDataFrame("t.csv" as never), /got a string/],
      ] as const
    ) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      assert(error instanceof ln.ValidationError, String(error));
      assert(what.test((error as Error).message), (error as Error).message);
    }
    assertEquals(await ln.File.filter({}).count(), 2);
  }));

Deno.test("lamindb 1.11: toDataFrame() on every record class, toList(field), options in a where explained", () =>
  withInstance(async () => {
    const a = await new ln.Artifact(enc.encode("a"), { key: "a.csv", description: "x" }).save();
    const b = await new ln.Artifact(enc.encode("b"), { key: "b.csv" }).save();
    await new ln.ULabel({ name: "T cell" }).save();
    await new ln.Collection([a, b], { key: "ab" }).save();
    await new ln.Transform({ name: "qc" }).save();
    const classes = [
      [ln.Artifact, 2],
      [ln.ULabel, 1],
      [ln.Collection, 1],
      [ln.Transform, 1],
      [ln.Run, 0],
      [ln.Storage, 1],
      [ln.User, 1],
      [ln.Folder, 0],
      [ln.Features, 0],
    ] as const;
    for (const [cls, n] of classes) {
      const table = await cls.toDataFrame();
      assertEquals(table.height, n, cls.name);
      assertEquals(table.columns, (await cls.df()).columns, cls.name);
    }
    const one = await ln.Artifact.toDataFrame({ suffix: ".csv" }, { orderBy: "key", limit: 1 });
    assertEquals(one.getColumn("key").toArray(), ["a.csv"]);
    // toList(field): the values, in the query's order (a search's too).
    assertEquals(await ln.Artifact.filter({}).orderBy("-key").toList("key"), ["b.csv", "a.csv"]);
    assertEquals(await ln.File.filter({ key: "a.csv" }).toList("description"), ["x"]);
    assertEquals(await ln.File.filter({ key: "none" }).toList("id"), []);
    assertEquals(await ln.File.search("b.csv").toList("id"), [b.id]);
    assertEquals(await ln.ULabel.filter({}).toList("name"), ["T cell"]);
    assertEquals((await ln.File.filter({}).toList()).length, 2);
    // A field the records lack: refused before any query, with lamindb's spelling.
    await assertRejects(
      () => ln.File.filter({}).toList("created_at" as never),
      ln.ValidationError,
      /no field "created_at"; lamindb's created_at is createdAt here; fields: id, name/,
    );
    await assertRejects(
      () => ln.File.filter({}).toList(3 as never),
      ln.ValidationError,
      /no field 3/,
    );
    await assertRejects(() => ln.File.search("b").toList("save" as never), ln.ValidationError);
    // lamindb's to_dataframe(limit=5) written as a where: said to be an option.
    await assertRejects(
      () => ln.Artifact.toDataFrame({ limit: 5 }),
      ln.ValidationError,
      /limit is an option, the second argument: File\.toDataFrame\(\{\}, \{ limit: 5 \}\)/,
    );
    await assertRejects(
      () => ln.Run.toDataFrame({ order_by: "-createdAt" }),
      ln.ValidationError,
      /order_by is an option, .*\{ orderBy: "-createdAt" \}/,
    );
  }));

Deno.test("lamindb's chained queries: filter().filter(), exclude(), get() on a query", () =>
  withInstance(async () => {
    const save = (text: string, key: string) => new ln.Artifact(enc.encode(text), { key }).save();
    const v1 = await save("a1", "raw/a.csv");
    const v2 = await save("a2", "raw/a.csv");
    const b = await save("b", "raw/b.txt");
    const c = await save("c", "out/c.csv");
    const label = await new ln.ULabel({ name: "keep" }).save();
    await c.ulabels.add(label);
    await v2.ulabels.add(label);
    const keys = (q: ln.Query<ln.File>) => q.toList("id");
    // Narrowed in steps, in the query's order; latest versions unless a step asks otherwise.
    const csv = ln.Artifact.filter({ suffix: ".csv" }).orderBy("-key");
    assertEquals(await keys(csv.filter({})), [v2.id, c.id]);
    assertEquals(await keys(csv.filter({ key: { startsWith: "raw/" } })), [v2.id]);
    assertEquals(await keys(csv.filter({ ulabels: label })), [v2.id, c.id]);
    assertEquals(await keys(csv.filter({ isLatest: false })), [v1.id]);
    assertEquals(await keys(ln.File.filter({ isLatest: false }).filter({ suffix: ".csv" })), [
      v1.id,
    ]);
    // The same field twice: both must hold (an and), the scope kept.
    assertEquals(await keys(csv.filter({ suffix: ".txt" })), []);
    assertEquals(
      await csv.filter({ key: { startsWith: "raw" } }).filter({ key: "raw/a.csv" }).count(),
      1,
    );
    assertEquals(
      await keys(ln.File.filter({ key: "raw/a.csv" }).filter({ key: { endsWith: "csv" } })),
      [v2.id],
    );
    assertEquals(
      await keys(ln.File.filter({ hash: v1.hash }).filter({ key: { endsWith: "csv" } })),
      [v1.id],
    );
    // exclude() and get().
    assertEquals(await keys(ln.File.filter({}).exclude({ suffix: ".csv" })), [b.id]);
    assertEquals(await keys(csv.exclude({ ulabels: label })), []);
    assertEquals((await ln.File.filter({ suffix: ".csv" }).get({ key: "out/c.csv" })).id, c.id);
    assertEquals((await ln.File.filter({}).get(v1.id)).id, v1.id);
    await assertRejects(() => csv.get({ key: "raw/b.txt" }), ln.NotFoundError);
    await assertRejects(() => csv.get({}), ln.MultipleResultsError);
    await assertRejects(() => csv.get(3 as never), ln.ValidationError, /takes an id or an object/);
    // Other record classes, and queries of another instance.
    assertEquals(await ln.ULabel.filter({}).filter({ name: "keep" }).toList("id"), [label.id]);
    const other = await tempDir();
    const inst = await ln.connect({ storage: other });
    try {
      await new ln.File(enc.encode("o"), { key: "o.txt", instance: inst }).save();
      assertEquals(await ln.File.using(inst).filter({}).filter({ suffix: ".txt" }).toList("key"), [
        "o.txt",
      ]);
    } finally {
      await inst.close();
      await Deno.remove(other, { recursive: true });
    }
    // Refused: a bad where (as for filter()), after a limit, on a search.
    await assertRejects(() => csv.filter(null as never), ln.ValidationError, /takes an object/);
    await assertRejects(
      () => csv.filter({ key__startswith: "raw" }),
      ln.ValidationError,
      /startsWith/,
    );
    await assertRejects(
      () => csv.limit(1).filter({ key: "raw/a.csv" }),
      ln.ValidationError,
      /filter\(\) or exclude\(\) after limit\(\) or offset\(\)/,
    );
    await assertRejects(
      () => ln.File.search("raw").filter({ suffix: ".csv" }).count(),
      ln.ValidationError,
      /search\(\) results are not filtered further/,
    );
    // Filtered, then paged.
    assertEquals(await keys(csv.filter({ suffix: ".csv" }).limit(1).offset(1)), [c.id]);
  }));

Deno.test("lamindb's names of fields: uid, inputOfRuns; a run's startedAt, input/outputArtifacts; a transform's key", () =>
  withInstance(async () => {
    const input = await new ln.Artifact(enc.encode("a"), { key: "a.txt" }).save();
    const run = await ln.track({ name: "aliases" });
    try {
      await input.cache();
      const output = await new ln.Artifact(enc.encode("b"), { key: "b.txt" }).save();
      assertEquals([input.uid, run.uid], [input.id, run.id]);
      assertEquals((await ln.Artifact.get(output.uid)).id, output.id);
      assertEquals((await input.inputOfRuns.all()).map((r) => r.id), [run.id]);
      assertEquals(input.inputOfRuns, input.inputOf);
      assertEquals((await run.inputArtifacts.all()).map((f) => f.id), [input.id]);
      assertEquals((await run.outputArtifacts.all()).map((f) => f.id), [output.id]);
      assertEquals(run.startedAt, run.runAt);
      const read = await ln.Run.get(run.uid);
      assertEquals([read.startedAt.getTime(), read.transform?.key], [
        run.runAt.getTime(),
        run.transform?.name,
      ]);
      // Not fields of their own: records, tables and JSON show them as before.
      assert(!Object.keys(input).includes("uid") && !JSON.stringify(run).includes("startedAt"));
      assert(!(await ln.File.df()).columns.includes("uid"));
    } finally {
      await ln.finish();
    }
    // A transform's key (lamindb 1.x) is its name: taken as one, set as one.
    const t = await new ln.Transform({ key: "qc.ts", type: "script" }).save();
    assertEquals([t.name, t.key], ["qc.ts", "qc.ts"]);
    t.key = "qc2.ts";
    assertEquals((await t.save()).name, "qc2.ts");
    assertEquals((await ln.Transform.get({ name: "qc2.ts" })).id, t.id);
    await assertRejects(
      () => new ln.Transform({ key: "a", name: "b" }),
      ln.ValidationError,
      /got key "a" and name "b"/,
    );
    await assertRejects(() => new ln.Transform({}), ln.ValidationError, /needs a non-empty `name`/);
  }));

Deno.test("save() of a saved file writes its edited name, description and version; a new key is refused", () =>
  withInstance(async () => {
    const v1 = await new ln.Artifact(enc.encode("a"), { key: "a.txt" }).save();
    const v2 = await new ln.Artifact(enc.encode("b"), { key: "a.txt" }).save();
    const before = v2.updatedAt;
    // Unchanged: nothing written.
    await v2.save();
    assertEquals((await ln.File.get(v2.id)).updatedAt.getTime(), before.getTime());
    Object.assign(v2, { name: "b.txt", description: "second letter", version: "2" });
    assertEquals(await v2.save(), v2);
    const got = await ln.File.get({ key: "a.txt" });
    assertEquals([got.id, got.name, got.description, got.version], [
      v2.id,
      "b.txt",
      "second letter",
      "2",
    ]);
    assert(v2.updatedAt.getTime() >= before.getTime());
    assertEquals(v2.updatedAt.getTime(), got.updatedAt.getTime());
    // The search finds the new description; an older version is written too (not indexed).
    assertEquals((await ln.File.search("second letter")).map((f) => f.id), [v2.id]);
    v1.description = "first";
    await ln.save([v1]);
    assertEquals((await ln.File.get(v1.id)).description, "first");
    assertEquals(await ln.File.search("first").count(), 0);
    // Cleared fields are written as null.
    v2.description = null;
    await v2.save();
    assertEquals((await ln.File.get(v2.id)).description, null);
    // Bad values and another key: nothing written.
    for (
      const [field, value, re] of [
        ["version", " 3", /version is a label/],
        ["description", 3, /File description must be a string, got 3/],
        ["name", "x\0", /NUL/],
        ["key", "b.txt", /key does not change .*"a.txt" in the registry, "b.txt" here/],
      ] as const
    ) {
      const f = await ln.File.get(v2.id);
      Object.assign(f, { description: "edited", [field]: value });
      await assertRejects(() => f.save(), ln.ValidationError, re);
      assertEquals((await ln.File.get(v2.id)).description, null);
    }
    // A file deleted meanwhile.
    const held = await ln.File.get(v2.id);
    await v2.delete();
    held.description = "late";
    await assertRejects(() => held.save(), ln.NotFoundError, /was deleted; nothing was saved/);
  }));

Deno.test("a file inside the root is registered in place; one outside is copied to .lamindb/{id}{suffix}", () =>
  withInstance(async (root) => {
    await Deno.mkdir(`${root}/raw`);
    await Deno.writeTextFile(`${root}/raw/s1.fastq.gz`, "@r1\nACGT\n");
    const inPlace = await new ln.File(`${root}/raw/s1.fastq.gz`).save();
    assertEquals([inPlace.key, inPlace.suffix], ["raw/s1.fastq.gz", ".fastq.gz"]);
    assertEquals(inPlace.path(), `${root}/raw/s1.fastq.gz`);

    const out = await tempDir();
    await Deno.writeTextFile(`${out}/b.tar.gz`, "tarball");
    const copied = await new ln.File(`${out}/b.tar.gz`).save();
    assertEquals([copied.key, copied.suffix, copied.name], [null, ".tar.gz", "b.tar.gz"]);
    assertEquals(copied.path(), `${root}/.lamindb/${copied.id}.tar.gz`);
    assertEquals(await Deno.readTextFile(copied.path()), "tarball");

    const keyed = await new ln.File(new URL(`file://${out}/b.tar.gz`), { key: "x/y.bin" });
    await Deno.writeTextFile(`${out}/b.tar.gz`, "changed");
    await keyed.save();
    assertEquals(keyed.path(), `${root}/x/y.bin`);
    assertEquals(await Deno.readTextFile(keyed.path()), "changed");
    assertEquals(await Deno.readTextFile(`${out}/b.tar.gz`), "changed", "source untouched");
    await Deno.remove(out, { recursive: true });
  }));

Deno.test("saving identical content twice returns the existing record and stores nothing new", () =>
  withInstance(async (root) => {
    const first = await new ln.File(enc.encode("same"), { key: "one.txt" }).save();
    const before = await listTree(root);
    const second = new ln.File(enc.encode("same"), { key: "two.txt", name: "other" });
    const secondId = second.id;
    const r = await second.save();
    strictEqual(r, second);
    assertEquals([second.id, second.key, second.name], [first.id, "one.txt", "one.txt"]);
    assert(secondId !== second.id);
    assertEquals((await ln.File.filter({})).length, 1);
    assertEquals(await listTree(root), before);
  }));

Deno.test("a missing path gives NotFoundError naming it, and nothing is written", () =>
  withInstance(async (root) => {
    const before = await listTree(root);
    await assertRejects(
      () => new ln.File(`${root}/nope.csv`).save(),
      ln.NotFoundError,
      /nope\.csv/,
    );
    assertEquals(await listTree(root), before);
    assertEquals((await ln.File.filter({})).length, 0);
  }));

Deno.test("other content under a registered key is a new version; the object moves aside verified", () =>
  withInstance(async (root) => {
    const v1 = await new ln.File(enc.encode("v1"), { key: "k.txt" }).save();
    const v2 = await new ln.File(enc.encode("v2"), { key: "k.txt" }).save();
    assertEquals(await Deno.readTextFile(`${root}/k.txt`), "v2");
    assertEquals(await Deno.readTextFile(`${root}/.lamindb/${v1.id}.txt`), "v1");
    assertEquals((await ln.File.filter({})).map((f) => f.id), [v2.id]);
    assertEquals(await Array.fromAsync(Deno.readDir(`${root}/.lamindb/.tmp`)), []);
    // An old object that no longer matches its row is not moved: nothing changes.
    await Deno.writeTextFile(`${root}/k.txt`, "v2 edited by hand");
    await assertRejects(
      () => new ln.File(enc.encode("v3"), { key: "k.txt" }).save(),
      ln.IntegrityError,
    );
    assertEquals(await Deno.readTextFile(`${root}/k.txt`), "v2 edited by hand");
    assertEquals((await v1.versions()).length, 2);
  }));

Deno.test("an unregistered object at the key is not overwritten by save()", () =>
  withInstance(async (root) => {
    await Deno.writeTextFile(`${root}/taken.txt`, "user data");
    await assertRejects(
      () => new ln.File(enc.encode("ours"), { key: "taken.txt" }).save(),
      ln.StorageError,
      /already exists/,
    );
    assertEquals(await Deno.readTextFile(`${root}/taken.txt`), "user data");
    assertEquals((await ln.File.filter({})).length, 0);
    assertEquals(await ln.fsck(), HEALTHY);
  }));

Deno.test("get() on nothing / on several: NotFoundError / MultipleResultsError; filter() validates fields", () =>
  withInstance(async () => {
    await new ln.File(enc.encode("1"), { key: "a.csv" }).save();
    await new ln.File(enc.encode("2"), { key: "b.csv" }).save();
    await new ln.File(enc.encode("3"), { key: "c.h5ad" }).save();
    await assertRejects(() => ln.File.get("00000000000000000000"), ln.NotFoundError);
    await assertRejects(() => ln.File.get({ suffix: ".csv" }), ln.MultipleResultsError, /2 File/);
    assertEquals((await ln.File.filter({ suffix: ".csv" })).map((f) => f.key).sort(), [
      "a.csv",
      "b.csv",
    ]);
    assertEquals((await ln.File.filter({ suffix: ".h5ad", key: "c.h5ad" })).length, 1);
    assertEquals((await ln.File.filter({ key: ["a.csv", "c.h5ad"] })).length, 2);
    assertEquals((await ln.File.filter({ runId: null })).length, 3);
    await assertRejects(
      () => ln.File.filter({ colour: "red" }),
      ln.ValidationError,
      /no field "colour".*suffix/,
    );
  }));

Deno.test("replace() keeps the id, updates hash, size and updatedAt, and removes the old object after commit", () =>
  withInstance(async (root) => {
    const out = await tempDir();
    await Deno.writeTextFile(`${out}/t.csv`, "a\n1\n");
    const f = await new ln.File(`${out}/t.csv`).save();
    const oldPath = f.path();
    const oldUpdated = f.updatedAt;
    await new Promise((r) => setTimeout(r, 5));
    await Deno.writeTextFile(`${out}/t.parquet`, "PAR1 not really");
    await f.replace(`${out}/t.parquet`);
    assertEquals([f.suffix, f.size], [".parquet", 15]);
    assertEquals(f.path(), `${root}/.lamindb/${f.id}.parquet`);
    assert(f.updatedAt > oldUpdated);
    const again = await ln.File.get(f.id);
    assertEquals([again.hash, again.size, again.suffix], [f.hash, 15, ".parquet"]);
    await assertRejects(() => Deno.stat(oldPath), Deno.errors.NotFound);
    // Same suffix: same key, new content.
    await f.replace(enc.encode("PAR1 v3"));
    assertEquals(await Deno.readTextFile(f.path()), "PAR1 v3");
    assertEquals((await ln.File.get(f.id)).hash, ln.hashBytes(enc.encode("PAR1 v3")));
    // Content registered elsewhere is refused.
    await new ln.File(enc.encode("taken"), { key: "z.txt" }).save();
    await assertRejects(
      () => f.replace(enc.encode("taken")),
      ln.IntegrityError,
      /already registered/,
    );
    assertEquals(await Deno.readTextFile(f.path()), "PAR1 v3");
    assertEquals((await ln.fsck()).mismatched, []);
    await Deno.remove(out, { recursive: true });
  }));

Deno.test("delete() removes the row, its links and a managed object, but never an in-place object", () =>
  withInstance(async (root) => {
    const t = await new ln.Transform({ name: "t" }).save();
    const run = await new ln.Run({ transform: t }).save();
    const managed = await new ln.File(enc.encode("m"), { key: "m.bin", inputOf: [run] }).save();
    assertEquals((await run.inputs.all()).map((f) => f.id), [managed.id]);
    await managed.delete();
    await assertRejects(() => ln.File.get(managed.id), ln.NotFoundError);
    await assertRejects(() => Deno.stat(`${root}/m.bin`), Deno.errors.NotFound);
    assertEquals(await run.inputs.all(), []);

    await Deno.writeTextFile(`${root}/keep.txt`, "mine");
    const inPlace = await new ln.File(`${root}/keep.txt`).save();
    await inPlace.delete();
    assertEquals(await Deno.readTextFile(`${root}/keep.txt`), "mine");
    assertEquals((await ln.File.filter({})).length, 0);
    assertEquals(await ln.fsck(), HEALTHY);
  }));

Deno.test("a folder-like store (.zarr) is one File whose hash derives from its files", () =>
  withInstance(async (root) => {
    const out = await tempDir();
    await Deno.mkdir(`${out}/s.zarr/X`, { recursive: true });
    await Deno.writeTextFile(`${out}/s.zarr/.zattrs`, "{}");
    await Deno.writeTextFile(`${out}/s.zarr/X/0.0`, "chunk");
    const z = await new ln.File(`${out}/s.zarr`).save();
    assertEquals([z.suffix, z.size, z.hashType], [".zarr", 7, "md5-d"]);
    assertEquals(
      z.hash,
      ln.hashDirectory([
        { path: ".zattrs", hash: ln.hashBytes(enc.encode("{}")) },
        { path: "X/0.0", hash: ln.hashBytes(enc.encode("chunk")) },
      ]),
    );
    assertEquals(await Deno.readTextFile(`${root}/.lamindb/${z.id}.zarr/X/0.0`), "chunk");
    assertEquals(await z.stage(), z.path());
    assertEquals((await ln.fsck()).mismatched, []);
    await z.delete();
    await assertRejects(() => Deno.stat(`${root}/.lamindb/${z.id}.zarr`), Deno.errors.NotFound);
    await Deno.remove(out, { recursive: true });
  }));

Deno.test("load() of .fastq/.vcf/.html and unknown suffixes: NoInMemoryRepresentationError pointing to path()", () =>
  withInstance(async () => {
    for (const key of ["r.fastq", "v.vcf.gz", "p.html", "x.weird", "noext"]) {
      const f = await new ln.File(enc.encode(key), { key }).save();
      await assertRejects(
        () => f.load(),
        ln.NoInMemoryRepresentationError,
        /path\(\) or file\.stage\(\)/,
      );
    }
  }));

Deno.test("records survive close() and reopen, with pre-joined relations", async () => {
  const root = await freshInstance();
  const t = await new ln.Transform({ name: "pipe", version: "2", type: "pipeline" }).save();
  const run = await new ln.Run({ transform: t }).save();
  const f = await new ln.File(enc.encode("x"), { key: "x.txt", run }).save();
  await ln.close();
  await ln.init({ storage: root });
  const g = await ln.File.get(f.id);
  assertEquals([g.runId, g.transformId, g.transformVersion], [run.id, t.id, "2"]);
  assertEquals([g.run?.id, g.transform?.name, g.storage?.root, g.createdBy?.handle], [
    run.id,
    "pipe",
    root,
    ln.settings.user.handle,
  ]);
  assertEquals((await (await ln.Run.get(run.id)).outputs.all()).map((x) => x.id), [f.id]);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("inputOf, features and folders related managers link and list records", () =>
  withInstance(async () => {
    const t = await new ln.Transform({ name: "t" }).save();
    const r1 = await new ln.Run({ transform: t }).save();
    const r2 = await new ln.Run({ transform: t }).save();
    const fs = ln.Features.fromValues(["a", "b"], { type: "column" });
    const f = await new ln.File(enc.encode("q"), { key: "q", features: [fs], inputOf: [r1] })
      .save();
    await f.inputOf.add(r2);
    await f.inputOf.add(r2);
    assertEquals((await f.inputOf.all()).map((r) => r.id).sort(), [r1.id, r2.id].sort());
    assertEquals((await f.features.all()).map((x) => x.hash), [fs.hash]);
    await f.inputOf.remove(r1);
    assertEquals((await f.inputOf.all()).map((r) => r.id), [r2.id]);
    assertEquals(await f.folders.all(), []);
    await assertRejects(
      () => new ln.File(enc.encode("u")).inputOf.all(),
      ln.ValidationError,
      /not saved/,
    );
  }));

Deno.test("ln.save() registers many files in one go, deduplicating within the batch", () =>
  withInstance(async () => {
    const files = ["a", "b", "a"].map((s, i) => new ln.File(enc.encode(s), { key: `${i}.txt` }));
    await ln.save(files);
    assertEquals(files[2].id, files[0].id);
    assertEquals((await ln.File.filter({})).length, 2);
  }));

Deno.test("createdBy comes from LAMIN_USER", async () => {
  const prev = Deno.env.get("LAMIN_USER");
  Deno.env.set("LAMIN_USER", "testuser-42");
  try {
    await withInstance(async () => {
      assertEquals(ln.settings.user.handle, "testuser-42");
      const f = await new ln.File(enc.encode("u"), { key: "u" }).save();
      assertEquals((await ln.File.get(f.id)).createdBy?.handle, "testuser-42");
      assertEquals((await ln.User.get({ handle: "testuser-42" })).id.length, 8);
    });
  } finally {
    if (prev === undefined) Deno.env.delete("LAMIN_USER");
    else Deno.env.set("LAMIN_USER", prev);
  }
});

/**
 * A test run twice: on an instance with local storage, then on one with an
 * S3 bucket (s3rver); each with a cache folder of its own, closed after.
 */
function localAndS3(name: string, fn: (instance: ln.Instance) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { s3Server } = await import("../_s3.ts");
      await using server = await s3Server();
      const bucket = await server.bucket();
      for (const storage of [await tempDir(), `s3://${bucket}/p`]) {
        const s3 = storage.startsWith("s3://") ? { s3: server.options } : {};
        const instance = await ln.connect({ storage, ...s3, cacheDir: await tempDir() });
        try {
          await fn(instance);
        } finally {
          await instance.close();
        }
      }
    },
  });
}

localAndS3(
  "a key inside another file's key, over other files' keys, or a folder over objects, is refused before any write (local and S3)",
  async (instance) => {
    const src = await tempDir();
    await Deno.mkdir(`${src}/a.zarr`);
    await Deno.writeTextFile(`${src}/a.zarr/.zgroup`, '{"zarr_format":2}');
    const zarr = await new ln.File(`${src}/a.zarr`, { key: "z/a.zarr", instance }).save();
    const txt = await new ln.File(enc.encode("x"), { key: "x.txt", instance }).save();
    // Saved, the first made the folder's content another; the second a key both file
    // and folder (S3 took it, so no stage() could cache both).
    for (const key of ["z/a.zarr/intruder", "z/a.zarr/c/0", "x.txt/y"]) {
      await assertRejects(
        () => new ln.File(enc.encode(key), { key, instance }).save(),
        ln.IntegrityError,
        /inside/,
      );
    }
    // A file over a folder of registered files (S3 took it, beside them).
    await assertRejects(
      () => new ln.File(enc.encode("over z"), { key: "z", instance }).save(),
      ln.IntegrityError,
      /key z is a folder of registered files \(z\/a\.zarr is file/,
    );
    // Not a folder of theirs: a key that only starts alike.
    const zz = await new ln.File(enc.encode("zz"), { key: "z.txt", instance }).save();
    await zz.delete();
    // A folder saved over objects no file registers would take them in.
    const backend = instance.backendFor(instance.storage.id);
    await backend.put("w.zarr/stray", enc.encode("stray"));
    await Deno.writeTextFile(`${src}/a.zarr/.zattrs`, "{}"); // other content: no dedup
    await assertRejects(
      () => new ln.File(`${src}/a.zarr`, { key: "w.zarr", instance }).save(),
      ln.StorageError,
      /already/,
    );
    assertEquals(
      (await ln.File.using(instance).filter({})).map((f) => f.id).sort(),
      [
        txt.id,
        zarr.id,
      ].sort(),
    );
    assertEquals(await backend.head("w.zarr/.zgroup"), undefined);
    await backend.delete("w.zarr/stray");
    assertEquals(await ln.fsck({ instance }), HEALTHY);
  },
);

localAndS3(
  "two keys of one ln.save(), one inside the other, are refused before any write (local and S3)",
  async (instance) => {
    // Checked against registered keys only, S3 took both (x.txt a file and a folder),
    // local disk failed at the second's move with a StorageError quoting EEXIST.
    for (const keys of [["x.txt", "x.txt/y"], ["d/e/f", "d"]]) {
      const files = keys.map((key) => new ln.File(enc.encode(key), { key, instance }));
      await assertRejects(() => ln.save(files), ln.IntegrityError, /inside/);
    }
    assertEquals(await ln.File.using(instance).filter({}), []);
    const backend = instance.backendFor(instance.storage.id);
    for (const key of ["x.txt", "x.txt/y", "d", "d/e/f"]) {
      assertEquals(await backend.head(key), undefined);
    }
    assertEquals(await ln.fsck({ instance }), HEALTHY);
  },
);
