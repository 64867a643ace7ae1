// The kernel records cells into the registry as they run; a kernel that
// dies mid-cell leaves its run unfinished with the cells so far.
import { createClient } from "@libsql/client/node";
import * as ln from "../../mod.ts";
import { assertEquals, tempDir } from "../_helpers.ts";
import { needsPython } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";

const py = needsPython("kernel recording", "jupyter_client");

Deno.test({
  name: "a kernel killed mid-cell: the run stays unfinished, with every cell so far recorded",
  ...py,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const root = await tempDir();
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const cwd = new URL("../../notebooks/", import.meta.url).pathname;
    const r = await runPython(specs.env, [
      new URL("./_die_mid_cell.py", import.meta.url).pathname,
      cwd,
      root,
      mod,
    ]);
    assertEquals(r.ok, true, r.stderr);
    await ln.init({ storage: root });
    try {
      const [run] = await ln.Run.filter({});
      assertEquals([run.status, run.finishedAt, run.transform?.name], ["started", null, "dies"]);
      const cells = await run.cells();
      assertEquals(cells.map((c) => c.status), ["ok", "ok", "error", "running"]);
      assertEquals(cells[2].errorName, "TypeError");
      assertEquals(cells[3].finishedAt, null);
      assertEquals(cells[1].code, "1 + 1;");
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a registry the kernel cannot write: it logs once and keeps serving every cell",
  ...py,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const cwd = new URL("../../notebooks/", import.meta.url).pathname;
    // A file where the registry's folder should be: lamin.db cannot be opened.
    const root = await tempDir();
    await Deno.writeTextFile(`${root}/.lamindb`, "not a folder");
    try {
      const r = await runPython(specs.env, [
        new URL("./_unreachable.py", import.meta.url).pathname,
        cwd,
        root,
      ]);
      assertEquals(r.ok, true, r.stderr);
      assertEquals(lastJson(r.stdout), ["ok", "ok", "error", "ok", "three"]);
      const warnings = r.stderr.split("\n").filter((l) => l.includes("cannot record cells"));
      assertEquals(warnings.length, 1, r.stderr);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a registry of a newer schema: the kernel logs once, keeps replying, and writes nothing",
  ...py,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const cwd = new URL("../../notebooks/", import.meta.url).pathname;
    const root = await tempDir();
    await ln.init({ storage: root });
    const run = await ln.track({ name: "newer schema" });
    await ln.close();
    const client = createClient({ url: `file:${root}/.lamindb/lamin.db` });
    const state = () =>
      [
        "select name from kysely_migration order by name",
        "select value from lamin_meta order by key",
        "select count(*) as n from run_cell",
      ].map(async (sql) => (await client.execute(sql)).rows.map((r) => Object.values(r)));
    try {
      await client.execute(
        "insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')",
      );
      const before = await Promise.all(state());
      assertEquals(before[2], [[0]]);
      const r = await runPython(specs.env, [
        new URL("./_unreachable.py", import.meta.url).pathname,
        cwd,
        root,
        run.id,
      ]);
      assertEquals(r.ok, true, r.stderr);
      assertEquals(lastJson(r.stdout), ["ok", "ok", "error", "ok", "three"]);
      const warnings = r.stderr.split("\n").filter((l) => l.includes("cannot record cells"));
      assertEquals(warnings.length, 1, r.stderr);
      assertEquals(/newer lamindeno.*9999_from_the_future/.test(warnings[0]), true, warnings[0]);
      assertEquals(await Promise.all(state()), before);
    } finally {
      client.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

const pgOpts = needsPostgres("kernel recording into PostgreSQL");

Deno.test({
  name: "a notebook on a PostgreSQL registry: the kernel records its cells there",
  ...py,
  ignore: py.ignore || pgOpts.ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using specs = await kernelspecs();
    await using server = await postgresServer();
    const db = await server.database();
    const root = await tempDir();
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const cwd = new URL("../../notebooks/", import.meta.url).pathname;
    try {
      const cells = [
        `import * as ln from "${mod}";\nawait ln.init({ storage: "${root}", db: "${db}" });\n` +
        `await ln.track({ name: "on postgres" });`,
        "2 * 21;",
        "throw new RangeError('recorded as an error');",
      ];
      const r = await runPython(specs.env, [
        new URL("./_cells.py", import.meta.url).pathname,
        cwd,
        JSON.stringify(cells),
      ]);
      assertEquals(r.ok, true, r.stderr);
      assertEquals(lastJson(r.stdout), ["ok", "ok", "error"]);
      await ln.init({ storage: root, db });
      const [run] = await ln.Run.filter({});
      const recorded = await run.cells();
      assertEquals(
        recorded.map((c) => [c.code, c.status]),
        cells.map((c, i) => [
          c,
          i === 2 ? "error" : "ok",
        ]),
      );
      assertEquals(recorded[2].errorName, "RangeError");
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
