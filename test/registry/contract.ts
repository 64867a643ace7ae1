// The contract every registry database must meet, run through the public API
// against each kysely dialect we support (libSQL, PostgreSQL): each test
// opens a fresh instance with `open(storageDir)`.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";

const enc = new TextEncoder();

/** Register the registry contract for instances opened by `open`. */
export function registryContract(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  const t = (what: string, fn: (root: string) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${what}`,
      ignore: options.ignore ?? false,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const root = await tempDir();
        await open(root);
        try {
          await fn(root);
        } finally {
          await ln.close();
          await Deno.remove(root, { recursive: true });
        }
      },
    });

  t("save, query, get: fields come back with their types", async (root) => {
    await Deno.mkdir(`${root}/raw`);
    await Deno.writeTextFile(`${root}/raw/a.csv`, "x,y\n1,2\n");
    const inPlace = await new ln.File(`${root}/raw/a.csv`).save();
    const copied = await new ln.File(enc.encode("hello"), { key: "notes/h.txt" }).save();
    const got = await ln.File.get({ key: "raw/a.csv" });
    assertEquals([got.id, got.size, got.suffix, got.hash], [
      inPlace.id,
      8,
      ".csv",
      inPlace.hash,
    ]);
    assertEquals(typeof got.size, "number");
    assert(got.createdAt instanceof Date && got.createdBy?.handle);
    assertEquals((await ln.File.filter({ suffix: ".txt" })).map((f) => f.id), [copied.id]);
    await assertRejects(() => ln.File.get({ key: "nope" }), ln.NotFoundError);
    await new ln.File(enc.encode("other"), { key: "notes/o.txt" }).save();
    await assertRejects(() => ln.File.get({ suffix: ".txt" }), ln.MultipleResultsError);
  });

  t("the same content twice is one record, also when saved at the same moment", async () => {
    const a = await new ln.File(enc.encode("same")).save();
    const b = await new ln.File(enc.encode("same")).save();
    assertEquals(b.id, a.id);
    const many = await Promise.all(
      Array.from({ length: 4 }, () => new ln.File(enc.encode("race")).save()),
    );
    assertEquals(new Set(many.map((f) => f.id)).size, 1);
    assertEquals((await ln.File.filter({})).length, 2);
  });

  t("replace() keeps the id with a new hash; delete() removes row, links and object", async () => {
    const f = await new ln.File(enc.encode("v1"), { key: "doc.txt" }).save();
    const before = f.hash;
    await f.replace(enc.encode("version 2"));
    const again = await ln.File.get(f.id);
    assert(again.hash !== before && again.size === 9);
    const path = f.path();
    await f.delete();
    await assertRejects(() => ln.File.get(f.id), ln.NotFoundError);
    assertEquals(await Deno.stat(path).then(() => true, () => false), false);
  });

  t("runs: inputs and outputs are linked once; finish() completes the run", async () => {
    const input = await new ln.File(enc.encode("a,b\n1,2\n"), { key: "in.csv" }).save();
    const run = await ln.track({ name: "pipeline" });
    await input.load();
    await input.load(); // not twice
    const out = await new ln.File(pl.DataFrame({ n: [1] }), { key: "out.parquet" }).save();
    assertEquals(out.runId, run.id);
    assertEquals((await run.inputs.all()).map((f) => f.key), ["in.csv"]);
    assertEquals((await run.outputs.all()).map((f) => f.key), ["out.parquet"]);
    assertEquals((await input.inputOf.all()).map((r) => r.id), [run.id]);
    await ln.finish();
    const done = await ln.Run.get(run.id);
    assertEquals(done.status, "completed");
    assert(done.finishedAt instanceof Date);
    const again = await ln.track({ name: "pipeline" });
    assertEquals(again.transformId, run.transformId, "same transform, new run");
  });

  t("feature sets deduplicate and link to files", async () => {
    const df = pl.DataFrame({ b: [1.5], a: ["x"] });
    const fs = await ln.Features.fromDataFrame(df).save();
    const same = await ln.Features.fromDataFrame(pl.DataFrame({ a: ["y"], b: [2.5] })).save();
    assertEquals(same.id, fs.id);
    const f = await new ln.File(df, { features: [fs] }).save();
    assertEquals((await f.features.all()).map((x) => x.id), [fs.id]);
    assertEquals((await fs.members()).map((m) => m.name), ["a", "b"]);
  });

  t("folders and reopening the instance", async (root) => {
    await Deno.mkdir(`${root}/batch`);
    for (const n of ["1", "2"]) await Deno.writeTextFile(`${root}/batch/${n}.txt`, n);
    const folder = await new ln.Folder(`${root}/batch`).save();
    assertEquals((await folder.files.all()).map((f) => f.key).sort(), [
      "batch/1.txt",
      "batch/2.txt",
    ]);
    const storageId = ln.settings.storage.id;
    await ln.close();
    await open(root);
    assertEquals(ln.settings.storage.id, storageId);
    assertEquals((await ln.File.filter({})).length, 2);
  });

  t(
    "descriptions are saved, loaded and filterable on File, Transform, Run and Folder",
    async (root) => {
      const f = await new ln.File(enc.encode("d"), { key: "d.txt", description: "raw counts" })
        .save();
      const tr = await new ln.Transform({ name: "qc", description: "quality control" }).save();
      const run = await new ln.Run({ transform: tr, description: "first try" }).save();
      await Deno.mkdir(`${root}/batch`);
      await Deno.writeTextFile(`${root}/batch/1.txt`, "1");
      const folder = await new ln.Folder(`${root}/batch`, { description: "batch one" }).save();
      await ln.close();
      await open(root);
      assertEquals((await ln.File.get(f.id)).description, "raw counts");
      assertEquals((await ln.File.filter({ description: "raw counts" })).map((x) => x.id), [f.id]);
      assertEquals((await ln.File.filter({ key: "batch/1.txt" }))[0].description, null);
      assertEquals((await ln.Transform.filter({ description: "quality control" }))[0].id, tr.id);
      assertEquals((await ln.Run.get({ description: "first try" })).id, run.id);
      assertEquals((await ln.Folder.get({ description: "batch one" })).id, folder.id);
      assert(String(await ln.File.get(f.id)).includes('description="raw counts"'));
      await assertRejects(
        () => new ln.File(enc.encode("x"), { description: 3 as unknown as string }),
        ln.ValidationError,
        /description must be a string/,
      );
    },
  );

  t(
    "labels: one record per name, on files and runs, File.filter by a label, labels or ids",
    async () => {
      const tcell = await new ln.ULabel({ name: "T cell", description: "CD3+" }).save();
      const bcell = await new ln.ULabel({ name: "B cell" }).save();
      assertEquals(tcell.id.length, 8);
      const again = await new ln.ULabel({ name: "T cell" }).save();
      assertEquals([again.id, again.description], [tcell.id, "CD3+"]);
      const same = await Promise.all(
        Array.from({ length: 4 }, () => new ln.ULabel({ name: "raced" }).save()),
      );
      assertEquals(new Set(same.map((l) => l.id)).size, 1);
      const a = await new ln.File(enc.encode("a"), { key: "a.txt" }).save();
      const b = await new ln.File(enc.encode("b"), { key: "b.txt" }).save();
      await new ln.File(enc.encode("c"), { key: "c.txt" }).save();
      await a.ulabels.add(tcell);
      await a.ulabels.add(tcell, bcell); // idempotent
      await b.ulabels.add(bcell);
      const keys = (fs: ln.File[]) => fs.map((f) => f.key).sort();
      assertEquals(keys(await ln.File.filter({ ulabels: tcell })), ["a.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: bcell })), ["a.txt", "b.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: [tcell, bcell] })), ["a.txt", "b.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: tcell.id, key: "a.txt" })), ["a.txt"]);
      assertEquals(keys(await ln.File.filter({ ulabels: tcell, key: "b.txt" })), []);
      assertEquals(await ln.File.filter({ ulabels: [] }), []);
      assertEquals((await a.ulabels.all()).map((l) => l.name).sort(), ["B cell", "T cell"]);
      assertEquals(keys(await bcell.files.all()), ["a.txt", "b.txt"]);
      await a.ulabels.remove(bcell);
      assertEquals(keys(await bcell.files.all()), ["b.txt"]);
      const run = await new ln.Run({ transform: await new ln.Transform({ name: "t" }).save() })
        .save();
      await run.ulabels.add(tcell);
      assertEquals((await tcell.runs.all()).map((r) => r.id), [run.id]);
      assertEquals((await ln.Run.filter({ ulabels: tcell })).map((r) => r.id), [run.id]);
      assertEquals((await ln.ULabel.get({ name: "B cell" })).id, bcell.id);
      assertEquals((await ln.ULabel.filter({})).length, 3);
      await assertRejects(
        () => a.ulabels.add(new ln.ULabel({ name: "unsaved" })),
        ln.ValidationError,
        /not saved yet/,
      );
      await assertRejects(
        () => ln.File.filter({ ulabels: { name: "T cell" } }),
        ln.ValidationError,
        /ulabels: expected a record, an id/,
      );
      await a.delete();
      assertEquals(keys(await tcell.files.all()), []);
    },
  );

  t("label parents and children; a cycle is refused and nothing is written", async () => {
    const l = async (name: string) => await new ln.ULabel({ name }).save();
    const [c, ly, t1, c8] = [
      await l("cell"),
      await l("lymphocyte"),
      await l("T cell"),
      await l("CD8"),
    ];
    await ly.parents.add(c);
    await t1.parents.add(ly);
    await ly.children.add(await l("B cell"));
    await c8.parents.add(t1);
    const names = (ls: ln.ULabel[]) => ls.map((x) => x.name).sort();
    assertEquals(names(await ly.children.all()), ["B cell", "T cell"]);
    assertEquals(names(await c8.parents.all()), ["T cell"]);
    assertEquals(names(await ln.ULabel.filter({ parents: ly })), ["B cell", "T cell"]);
    assertEquals(names(await ln.ULabel.filter({ children: ly })), ["cell"]);
    const links = async () =>
      (await Promise.all([c, ly, t1, c8].map((x) => x.parents.all())))
        .map(names);
    const before = await links();
    await assertRejects(() => c.parents.add(c8), ln.ValidationError, /cycle.*nothing was changed/);
    const fine = await l("fine");
    await assertRejects(() => c.parents.add(fine, c8), ln.ValidationError, /cycle/);
    await assertRejects(() => c8.children.add(c), ln.ValidationError, /cycle/);
    await assertRejects(() => t1.parents.add(t1), ln.ValidationError, /its own parent/);
    assertEquals(await links(), before);
    assertEquals(await fine.children.all(), []);
    // Two additions at once that would close a cycle between them (x > y > z > w > x): one wins.
    for (let round = 0; round < 8; round++) {
      const [x, y, z, w] = await Promise.all(["x", "y", "z", "w"].map((n) => l(`${n}${round}`)));
      await Promise.all([y.parents.add(z), w.parents.add(x)]);
      const raced = await Promise.allSettled([x.parents.add(y), z.parents.add(w)]);
      assertEquals(raced.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
      const lost = raced.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert(lost.reason instanceof ln.ValidationError, String(lost.reason));
    }
    await c8.parents.remove(t1);
    await c.parents.add(c8); // no longer a cycle
    assertEquals(names(await c.parents.all()), ["CD8"]);
  });

  t("label names: empty, 10,000 characters, __proto__ and constructor", async () => {
    for (const name of ["", "   ", 3, undefined]) {
      await assertRejects(
        () => new ln.ULabel({ name: name as string }),
        ln.ValidationError,
        /non-empty `name`/,
      );
    }
    await assertRejects(
      () => new ln.ULabel({ name: "x".repeat(10_000) }),
      ln.ValidationError,
      /at most 255 characters, got 10000/,
    );
    assertEquals((await new ln.ULabel({ name: "é".repeat(255) }).save()).name.length, 255);
    for (const name of ["__proto__", "constructor", "toString", "a'; drop table ulabel; --"]) {
      const saved = await new ln.ULabel({ name }).save();
      assertEquals((await ln.ULabel.get({ name })).id, saved.id);
    }
    await assertRejects(
      () => ln.ULabel.filter({ ["__proto__"]: "x" } as ln.Where),
      ln.ValidationError,
    );
    await assertRejects(
      () => ln.File.filter(JSON.parse('{"__proto__": {"ulabels": "x"}}')),
      ln.ValidationError,
      /no field "__proto__"/,
    );
    assertEquals((await ln.ULabel.filter({})).length, 5);
  });
}
