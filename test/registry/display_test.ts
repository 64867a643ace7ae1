// Records as tables and how records show themselves: df() on libSQL and on a
// real PostgreSQL, describe(), ln.view(), text forms, notebook HTML, JSON.
import { inspect } from "node:util";
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, tempDir } from "../_helpers.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";

const enc = new TextEncoder();
const JUPYTER = Symbol.for("Jupyter.display");
const EVIL = `<script>alert("x")</script> & 'co'`;

type Bundle = Record<string, string>;
/** What a notebook gets for `x` as a cell's value. */
async function bundleOf(x: unknown): Promise<Bundle> {
  const show = (x as Record<symbol, () => Bundle | Promise<Bundle>>)[JUPYTER];
  assert(typeof show === "function", "has Symbol.for('Jupyter.display')");
  return await show.call(x);
}

const pgOpts = needsPostgres("records as tables on PostgreSQL");
const server = pgOpts.ignore ? undefined : await postgresServer();
globalThis.addEventListener("unload", () => void server?.[Symbol.asyncDispose]());

/** Register `fn` on a fresh libSQL instance and on a fresh PostgreSQL one. */
function onBoth(what: string, fn: (root: string) => Promise<void>): void {
  for (const db of ["libSQL", "PostgreSQL"] as const) {
    Deno.test({
      name: `${db} registry: ${what}`,
      ignore: db === "PostgreSQL" && pgOpts.ignore,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const root = await tempDir();
        await ln.init({
          storage: root,
          ...(db === "PostgreSQL" ? { db: await server!.database() } : {}),
        });
        try {
          await fn(root);
        } finally {
          await ln.close();
          await Deno.remove(root, { recursive: true });
        }
      },
    });
  }
}

/** A small registry: a raw file, a tracked run of qc.ts reading it and saving two files. */
async function populate() {
  const raw = await new ln.File(enc.encode("a,b\n1,2\n"), {
    key: "raw/cells.csv",
    description: EVIL,
  })
    .save();
  await new Promise((r) => setTimeout(r, 5)); // distinct createdAt
  const run = await ln.track({ name: "qc.ts", params: { lr: 0.1 } });
  await raw.load();
  const df = pl.DataFrame({ gene: ["CD4"], n: [1] });
  const out = await new ln.File(df, {
    key: "out/genes.parquet",
    features: [ln.Features.fromDataFrame(df)],
  }).save();
  await new Promise((r) => setTimeout(r, 5));
  const notes = await new ln.File(enc.encode("n"), { key: "out/notes.txt" }).save();
  const label = await new ln.ULabel({ name: "T cell" }).save();
  await out.ulabels.add(label);
  await ln.finish();
  return { raw, out, notes, run: await ln.Run.get(run.id), label };
}

const RELATED_IDS = ["runId", "transformId", "storageId", "createdById"];

onBoth("File.df() has the fields as columns, related names joined, newest first", async () => {
  const { raw, out, notes, run } = await populate();
  const df = await ln.File.df();
  for (
    const c of ["id", "key", "description", "suffix", "size", "hash", "createdAt", "updatedAt"]
  ) {
    assert(df.columns.includes(c), `column ${c} in ${df.columns}`);
  }
  for (
    const [rel, id] of [["run", "runId"], ["transform", "transformId"], ["storage", "storageId"]]
  ) {
    assert(df.columns.includes(rel) && !df.columns.includes(id), `${rel} replaces ${id}`);
  }
  assert(df.columns.includes("createdBy") && !df.columns.some((c) => c.startsWith("_")));
  assertEquals(df.getColumn("key").toArray(), [notes.key, out.key, raw.key]);
  assertEquals(df.getColumn("transform").toArray(), ["qc.ts", "qc.ts", null]);
  assertEquals(df.getColumn("run").toArray(), [run.id, run.id, null]);
  assertEquals(df.getColumn("storage").toArray(), Array(3).fill(ln.settings.storage.root));
  assertEquals(df.getColumn("createdBy").toArray(), Array(3).fill(ln.settings.user.handle));
  assertEquals(df.getColumn("size").toArray(), [notes.size, out.size, raw.size]);
  assertEquals(df.getColumn("description").toArray(), [null, null, EVIL]);
  assertEquals(df.getColumn("size").dtype.variant, "Int64");
  assertEquals(df.getColumn("createdAt").dtype.variant, "Datetime");
  assertEquals(
    (df.getColumn("createdAt").toArray() as unknown as Date[]).map((d) => d.getTime()),
    [notes, out, raw].map((f) => f.createdAt.getTime()),
  );

  // where, options, and the same through a query (also of another instance).
  assertEquals((await ln.File.df({ suffix: ".txt" })).getColumn("key").toArray(), [notes.key]);
  assertEquals((await ln.File.df({}, { limit: 2, offset: 1 })).getColumn("key").toArray(), [
    out.key,
    raw.key,
  ]);
  assertEquals(
    (await ln.File.filter({ runId: run.id }).orderBy("key").df()).getColumn("key").toArray(),
    [out.key, notes.key],
  );
  // Another instance's records, through `using()`.
  const other = await tempDir();
  const inst = await ln.connect({ storage: other });
  try {
    await new ln.File(enc.encode("o"), { key: "other.csv", instance: inst }).save();
    const theirs = await ln.File.using(inst).filter({ suffix: ".csv" }).df();
    assertEquals(theirs.getColumn("key").toArray(), ["other.csv"]);
  } finally {
    await inst.close();
    await Deno.remove(other, { recursive: true });
  }
  assertEquals((await ln.File.df({ key: "none" })).height, 0);
  assertEquals((await ln.File.df({ key: "none" })).columns, df.columns);
});

onBoth(
  "every record class has df(): Run and Transform join names, labels and users too",
  async () => {
    const { run, label } = await populate();
    const runs = await ln.Run.df();
    assertEquals(runs.getColumn("id").toArray(), [run.id]);
    assertEquals(runs.getColumn("transform").toArray(), ["qc.ts"]);
    assertEquals(runs.getColumn("createdBy").toArray(), [ln.settings.user.handle]);
    assert(!runs.columns.some((c) => RELATED_IDS.includes(c)));
    assertEquals((await ln.Transform.df()).getColumn("name").toArray(), ["qc.ts"]);
    const labels = await ln.ULabel.df();
    assertEquals(labels.getColumn("name").toArray(), [label.name]);
    assertEquals(labels.getColumn("createdBy").toArray(), [ln.settings.user.handle]);
    assertEquals((await ln.User.df()).getColumn("handle").toArray(), [ln.settings.user.handle]);
    assertEquals((await ln.Storage.df()).getColumn("root").toArray(), [ln.settings.storage.root]);
    assertEquals((await ln.Features.df()).height, 1);
    assertEquals((await ln.Folder.df()).height, 0);
  },
);

onBoth("df() returns 100 rows unless asked for more", async () => {
  await ln.save(
    Array.from({ length: 102 }, (_, i) => new ln.File(enc.encode(`f${i}`), { key: `f/${i}.txt` })),
  );
  assertEquals((await ln.File.df()).height, 100);
  assertEquals((await ln.File.filter({}).df()).height, 100);
  assertEquals((await ln.File.df({}, { limit: 200 })).height, 102);
});

onBoth("ln.view() shows the latest records of each registry as text and HTML", async () => {
  const { raw, notes } = await populate();
  const v = await ln.view({ limit: 2 });
  for (const label of ["File", "Transform", "Run", "ULabel", "Features", "Storage", "User"]) {
    assert(v.text.includes(`${label}\n`), `text has ${label}`);
    assert(v.html.includes(`<h4>${label}</h4>`), `html has ${label}`);
  }
  assert(!v.text.includes("Folder\n"), "empty registries are left out");
  assert(v.html.includes(notes.key!) && !v.html.includes(raw.key!), "the latest 2 files only");
  assertEquals(inspect(v), v.text);
  assertEquals(await bundleOf(v), { "text/plain": v.text, "text/html": v.html });
});

onBoth("describe() of a file, its run and its transform: what one wants at a glance", async () => {
  const { raw, out, run } = await populate();
  const d = await out.describe();
  const text = d.text;
  assert(text.startsWith("File: out/genes.parquet\n├── General\n"), text);
  for (
    const s of [
      `id: ${out.id}`,
      `storage path: ${out.path()}`,
      "transform: qc.ts (script, version 1)",
      `run: ${run.id} (completed,`,
      "ulabels: T cell",
      "column (2): gene (String), n (Float64)",
      `createdBy: ${ln.settings.user.handle}`,
    ]
  ) assert(text.includes(s), `describe() shows "${s}":\n${text}`);
  assert(text.split("\n").length < 25 && !/\b_\w/.test(text));
  assertEquals(String(d), text);
  assertEquals(inspect(d), text);
  assert(d.html.includes("out/genes.parquet") && d.html.includes("T cell"));

  const r = (await raw.describe()).text;
  assert(r.includes(`read by runs: ${run.id} (qc.ts)`) && r.includes("description: <script>"), r);
  assert(!(await raw.describe()).html.includes("<script>"), "HTML escapes the description");

  const rd = (await run.describe()).text;
  for (
    const s of ["Run: ", "status: completed", "lr: 0.1", "files: raw/cells.csv", "out/notes.txt"]
  ) {
    assert(rd.includes(s), `run.describe() shows "${s}":\n${rd}`);
  }
  const td = (await run.transform!.describe()).text;
  for (
    const s of [
      "Transform: qc.ts",
      "type: script",
      "count: 1",
      `latest: ${run.id}`,
      "out/genes.parquet",
    ]
  ) {
    assert(td.includes(s), `transform.describe() shows "${s}":\n${td}`);
  }
  // An unsaved file has nothing to look up.
  const unsaved = await new ln.File(enc.encode("x"), { key: "u.txt" }).describe();
  assert(unsaved.text.includes("createdAt: not saved yet"), unsaved.text);
});

onBoth(
  "records show a short text form without private fields, the same in Node's inspect",
  async () => {
    const { out, run, label } = await populate();
    const folderDir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${folderDir}/a.txt`, "a");
    const folder = await new ln.Folder(folderDir).save();
    const records: [string, unknown][] = [
      ["File", out],
      ["Run", run],
      ["Transform", run.transform],
      ["ULabel", label],
      ["Folder", folder],
      ["Features", (await out.features.all())[0]],
      ["Storage", ln.settings.storage],
      ["User", ln.settings.user],
    ];
    for (const [cls, rec] of records) {
      const text = Deno.inspect(rec);
      assert(text.startsWith(`${cls}(id=`) && text.endsWith(")"), text);
      assert(text.split("\n").length <= 4, `at most a few lines: ${text}`);
      assert(!/[\s(]_\w+=/.test(text) && !text.includes("sourceCode"), text);
      assertEquals(inspect(rec), text);
    }
    const text = Deno.inspect(out);
    for (const s of [`key="out/genes.parquet"`, `transform="qc.ts"`, `run="${run.id}"`]) {
      assert(text.includes(s), `${s} in ${text}`);
    }
    assert(!text.includes("transformId") && !text.includes("inputOf"), text);
    // Arrays of records (awaited queries) print element by element.
    assert(Deno.inspect(await ln.File.filter({})).includes(`File(id="${out.id}"`));
    // A query shows what it is without running.
    assertEquals(
      Deno.inspect(ln.File.filter({}).limit(2)),
      "Query<File>(limit=2): await it for the records, df() for a table",
    );
    await Deno.remove(folderDir, { recursive: true });
  },
);

onBoth(
  "notebooks get a record as a small HTML table and a list of records as a table, escaped",
  async () => {
    const { raw, out } = await populate();
    const b = await bundleOf(raw);
    assertEquals(b["text/plain"], Deno.inspect(raw));
    assert(b["text/html"].startsWith("<table") && b["text/html"].includes("raw/cells.csv"));
    assert(!b["text/html"].includes("<script>"), "a description is escaped");
    assert(
      b["text/html"].includes(
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;",
      ),
    );
    const q = await bundleOf(ln.File.filter({}));
    assert(q["text/html"].includes(out.key!) && q["text/html"].includes(raw.key!));
    assert(!q["text/html"].includes("<script>"));
    assert(q["text/html"].includes("<th>createdBy</th>"));
  },
);

onBoth("JSON.stringify(record) gives its public fields", async () => {
  const { out, run } = await populate();
  const json = JSON.parse(JSON.stringify(out));
  assertEquals(json.id, out.id);
  assertEquals(json.key, out.key);
  assertEquals(json.runId, run.id);
  assertEquals(json.createdAt, out.createdAt.toISOString());
  for (const k of Object.keys(json)) {
    assert(!k.startsWith("_"), `no private field ${k}`);
    assert(!["run", "transform", "storage", "createdBy", "inputOf", "ulabels"].includes(k), k);
  }
  const publicFields = Object.keys(out).filter((k) =>
    !k.startsWith("_") &&
    !["run", "transform", "storage", "createdBy", "inputOf", "features", "folders", "ulabels"]
      .includes(k)
  );
  assertEquals(Object.keys(json), publicFields);
  assertEquals(JSON.parse(JSON.stringify(run)).params, { lr: 0.1 });
  assert(!("inputs" in JSON.parse(JSON.stringify(run))));
});

onBoth("a collection shows as the other records do, and describes itself", async () => {
  const { raw, out, label } = await populate();
  await ln.track({ name: "collect.ts" });
  const c = await new ln.Collection([raw, out], { name: "qc", description: "both" }).save();
  await ln.finish();
  await c.ulabels.add(label);
  // Was the object's internals, down to the instance's database handle; JSON.stringify threw.
  const text = Deno.inspect(c);
  assert(text.startsWith(`Collection(id="${c.id}"`) && text.endsWith(")"), text);
  assert(!text.includes("_instance") && !text.includes("Kysely"), text);
  assertEquals(inspect(c), text);
  assertEquals(JSON.parse(JSON.stringify(c)).name, "qc");
  assert((await bundleOf(c))["text/html"].startsWith("<table"));
  const d = await c.describe();
  for (
    const s of [
      "Collection: qc",
      `id: ${c.id}`,
      "description: both",
      "isLatest: true",
      "transform: collect.ts (",
      `run: ${c.runId} (completed, `,
      "count: 2",
      "files: raw/cells.csv, out/genes.parquet",
      `ulabels: ${label.name}`,
      `createdBy: ${ln.settings.user.handle}`,
    ]
  ) {
    assert(d.text.includes(s), `collection.describe() shows "${s}":\n${d.text}`);
  }
  assert(d.html.includes("qc") && !d.html.includes("<script>"));
  const unsaved = await new ln.Collection([raw], { name: "u" }).describe();
  assert(unsaved.text.includes("createdAt: not saved yet"), unsaved.text);
});

onBoth("viewLineage() gives one value that a notebook shows as one SVG image", async () => {
  const { out } = await populate();
  const lineage = await out.viewLineage();
  assert(lineage.svg.startsWith("<?xml") && lineage.dot.startsWith("digraph"));
  assertEquals(String(lineage), lineage.svg);
  assertEquals(Deno.inspect(lineage).split("\n").length, 1);
  const b = await bundleOf(lineage);
  assertEquals(Object.keys(b).sort(), ["image/svg+xml", "text/plain"]);
  assertEquals(b["image/svg+xml"], lineage.svg);
});
