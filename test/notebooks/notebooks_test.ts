// The tutorials in notebooks/, executed by nbclient in a Deno Jupyter
// kernel; the registry is checked afterwards.
import * as ln from "../../mod.ts";
import { assert, assertEquals, tempDir } from "../_helpers.ts";
import { needsPython, PYTHON } from "../_python.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";

const py = needsPython("notebooks", "nbclient", "nbformat", "jupyter_client");
const NB = new URL("../../notebooks/", import.meta.url).pathname;
const EXEC = new URL("./_execute.py", import.meta.url).pathname;

/** The kernelspec to run notebooks with: ours when the kernel exists, else stock `deno`. */
export const KERNEL = Deno.env.get("LAMINDENO_TEST_KERNEL") ??
  (await Deno.stat(new URL("../../kernel/install.ts", import.meta.url)).then(
    () => "lamindeno",
    () => "deno",
  ));

/** Install the kernelspec the notebooks run with (ours, or stock `deno jupyter`). */
async function ensureKernelspec(): Promise<void> {
  const args = KERNEL === "deno"
    ? ["jupyter", "--install", "--force"]
    : ["run", "-A", new URL("../../kernel/install.ts", import.meta.url).pathname];
  const r = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

type Outputs = {
  error?: string;
  data?: string;
  stream?: string;
  text?: string;
  html?: string;
  mimes?: string[];
  type?: string;
}[][];

/** Execute a notebook; each code cell's outputs. */
export async function execute(
  name: string,
  root: string,
  env: Record<string, string> = {},
): Promise<Outputs> {
  await ensureKernelspec();
  const r = await new Deno.Command(PYTHON, {
    args: [EXEC, `${NB}${name}`, KERNEL],
    env: { LAMINDENO_NOTEBOOK_ROOT: root, LAMIN_LOG_LEVEL: "info", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(err);
  // Shown in the test log: a retried kernel start explains an odd count of runs.
  if (err.includes("retrying")) console.error(err);
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

const errors = (o: Outputs) => o.map((c) => c.filter((x) => x.error).map((x) => x.error)).flat();

Deno.test({
  name: "notebooks run without tracking code: transform, run, inputs and outputs are recorded",
  ...py,
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    try {
      const first = await execute("01-register-files.ipynb", root);
      assertEquals(errors(first), []);
      // Stock `deno jupyter` 2.9.6 can send a result after its idle status, and
      // nbclient then loses it; the lamindeno kernel delivers it.
      if (KERNEL !== "deno") {
        assertEquals(first[2].at(-1)?.data, "true", "ingesting the same content again");
      }

      const second = await execute("02-track-inputs.ipynb", root);
      assertEquals(errors(second), ["Error"], "only the deliberately failing cell fails");
      const again = await execute("02-track-inputs.ipynb", root); // unchanged: same transform

      await ln.init({ storage: root });
      const transforms = await ln.Transform.filter({ type: "notebook" });
      const t02 = transforms.filter((t) => t.name === "02-track-inputs.ipynb");
      assertEquals(t02.length, 1, "one transform for the unchanged notebook");
      assertEquals(t02[0].reference, "notebooks/02-track-inputs.ipynb");
      const runs = await ln.Run.filter({ transformId: t02[0].id });
      assertEquals(runs.length, 2);
      for (const run of runs) {
        assertEquals((await run.inputs.all()).map((f) => f.key), ["raw/cells.csv"]);
        assert(
          (await run.outputs.all()).some((f) => f.key === "analysis/type_counts.parquet") ||
            run === runs[1],
        );
      }
      assertEquals(errors(again), ["Error"]);
      if (KERNEL === "lamindeno") {
        // Every executed cell is recorded, in order, with its status.
        const nb = JSON.parse(await Deno.readTextFile(`${NB}02-track-inputs.ipynb`));
        const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
          .map((c: { source: string | string[] }) => [c.source].flat().join(""));
        for (const run of runs) {
          const cells = await run.cells();
          assertEquals(cells.map((c) => c.code), code);
          assertEquals(cells.map((c) => c.status), ["ok", "ok", "ok", "ok", "error", "ok"]);
          assertEquals(cells[4].errorName, "Error");
          assertEquals(cells.map((c) => c.executionCount), [1, 2, 3, 4, 5, 6]);
          assert(cells.every((c) => c.finishedAt && c.finishedAt >= c.startedAt));
        }
      }
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "the streaming tutorial selects the cells it asks for",
  ...py,
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    try {
      const out = await execute("03-stream-subset.ipynb", root);
      assertEquals(errors(out), []);
      assertEquals(out.at(-1)?.at(-1)?.data?.replace(/\s+/g, ""), "[2500,67]");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the registry tutorial walks through versions, labels, queries, tables, describe() and search",
  ...py,
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    try {
      const out = await execute("05-registry.ipynb", root);
      assertEquals(errors(out), []);
      const data = out.map((c) => c.at(-1)?.data?.replace(/\s+/g, ""));
      assert(/latest=falseversion=null.*latest=trueversion=2/.test(data[1] ?? ""), data[1]);
      assertEquals(data.slice(2, 5), ["[true,true]", "2", "2"]);
      assertEquals(data.slice(5, 7), ['["tables/donors.parquet"]', "1"]);
      assertEquals(data[9], "2");
      assert(data[11]?.startsWith('["id","name"'), data[11]);
      assert(data[12]?.includes("tables/donors.parquet"), data[12]);
      assert(data[13]?.includes("File") && data[13]?.includes("ULabel"), data[13]);
      assertEquals(data[14], '["atlas/pbmc.parquet"]');
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "the S3 tutorial streams one donor's cells reading under a tenth of the object",
  ...py,
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    try {
      const out = await execute("04-s3-instance.ipynb", root);
      assertEquals(errors(out), []);
      assertEquals(out.at(-2)?.at(-1)?.data?.replace(/\s+/g, ""), "[200,500,true]");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "editing a code cell gives the notebook's transform a new version; unchanged, the same",
  ...py,
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    const dir = await Deno.makeTempDir({ dir: NB, prefix: ".tmp-" });
    const name = dir.split("/").pop()!;
    try {
      const nb = JSON.parse(await Deno.readTextFile(`${NB}01-register-files.ipynb`));
      for (const c of nb.cells) {
        if (c.cell_type === "code") {
          c.source = [c.source].flat().join("").replace("../mod.ts", "../../mod.ts");
        }
      }
      await Deno.writeTextFile(`${dir}/versioned.ipynb`, JSON.stringify(nb));
      assertEquals(errors(await execute(`${name}/versioned.ipynb`, root)), []);
      assertEquals(errors(await execute(`${name}/versioned.ipynb`, root)), []);
      nb.cells.push({
        cell_type: "code",
        metadata: {},
        source: "1 + 1;",
        outputs: [],
        execution_count: null,
      });
      await Deno.writeTextFile(`${dir}/versioned.ipynb`, JSON.stringify(nb));
      assertEquals(errors(await execute(`${name}/versioned.ipynb`, root)), []);
      await ln.init({ storage: root });
      const versions = (await ln.Transform.filter({ name: "versioned.ipynb" }))
        .map((t) => t.version).sort();
      assertEquals(versions, ["1", "2"]);
      // Each version keeps its code cells (stored once, as `// %%` cells).
      const [v1, v2] = await Promise.all(
        ["1", "2"].map(async (version) =>
          await (await ln.Transform.get({ name: "versioned.ipynb", version })).source()
        ),
      );
      assert(v1?.startsWith("// %%\n") && !v1.includes("1 + 1;"), String(v1));
      assert(v2?.endsWith("// %%\n1 + 1;\n") && v2.startsWith(v1 ?? "-"), String(v2));
      const runs = await ln.Run.filter({});
      assertEquals(runs.map((r) => r.transformVersion).sort(), ["1", "1", "2"]);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "with LAMINDENO_STORAGE the kernel starts the notebook's run before the first cell; the library adopts it",
  ...py,
  ignore: py.ignore || KERNEL !== "lamindeno",
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    const dir = await Deno.makeTempDir({ dir: NB, prefix: ".tmp-" });
    const name = dir.split("/").pop()!;
    const cell = (source: string) => ({
      cell_type: "code",
      metadata: {},
      source,
      outputs: [],
      execution_count: null,
    });
    try {
      // A notebook that never touches the library is still recorded.
      await Deno.writeTextFile(
        `${dir}/plain.ipynb`,
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {},
          cells: [cell("1 + 1"), cell('console.log("hi")')],
        }),
      );
      const env = { LAMINDENO_STORAGE: root };
      assertEquals(errors(await execute(`${name}/plain.ipynb`, root, env)), []);
      // Ones that open the same instance and save and load files: the run is the kernel's.
      assertEquals(errors(await execute("01-register-files.ipynb", root, env)), []);
      assertEquals(errors(await execute("02-track-inputs.ipynb", root, env)), ["Error"]);

      await ln.init({ storage: root });
      const [plain] = await ln.Transform.filter({ name: "plain.ipynb" });
      assertEquals(plain?.type, "notebook");
      const [run] = await ln.Run.filter({ transformId: plain.id });
      const cells = await run.cells();
      assertEquals(cells.map((c) => [c.code, c.status]), [["1 + 1", "ok"], [
        'console.log("hi")',
        "ok",
      ]]);
      assert(run.runAt <= cells[0].startedAt, "the run existed before the first cell");

      const [t02] = await ln.Transform.filter({ name: "02-track-inputs.ipynb" });
      const runs = await ln.Run.filter({ transformId: t02.id });
      assertEquals(runs.length, 1, "the library adopted the kernel's run instead of starting one");
      assertEquals((await runs[0].inputs.all()).map((f) => f.key), ["raw/cells.csv"]);
      assertEquals((await runs[0].cells()).length, 6);
      assertEquals((await runs[0].outputs.all()).map((f) => f.key), [
        "analysis/type_counts.parquet",
      ]);
      assertEquals((await ln.Run.filter({})).length, 3, "one run per notebook execution");
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "in a notebook a record shows as an HTML table with a short text form; describe(), viewLineage(), view(), a query, df() and an AnnData each give exactly one rich output",
  ...py,
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    const dir = await Deno.makeTempDir({ dir: NB, prefix: ".tmp-" });
    const cell = (source: string) => ({
      cell_type: "code",
      metadata: {},
      source,
      outputs: [],
      execution_count: null,
    });
    try {
      await Deno.writeTextFile(
        `${dir}/display.ipynb`,
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {},
          cells: [
            cell(
              'import * as ln from "../../mod.ts";\n' +
                'await ln.init({ storage: Deno.env.get("LAMINDENO_NOTEBOOK_ROOT")! });',
            ),
            cell(
              'const file = await new ln.File(new TextEncoder().encode("a"), ' +
                '{ key: "a.txt", description: "<script>x</script>" }).save();\nfile',
            ),
            cell("await file.describe()"),
            cell("await file.viewLineage()"),
            cell("await ln.view()"),
            cell("ln.File.filter({})"),
            cell("await ln.File.df()"),
            cell('new ln.AnnData({ obsNames: ["c1"], varNames: ["g1", "g2"] })'),
          ],
        }),
      );
      const out = await execute(`${dir.split("/").pop()}/display.ipynb`, root);
      assertEquals(errors(out), []);
      const [, [rec], [desc], [lineage], [view], [query], [df], [adata]] = out;
      // One output each (the cell's value), as rich as the object allows.
      assertEquals(out.slice(1).map((c) => c.filter((o) => o.type).length), Array(7).fill(1));
      assertEquals(rec.mimes, ["text/html", "text/plain"]);
      assert(rec.data!.startsWith("File(id=") && rec.data!.split("\n").length <= 4, rec.data);
      assert(!rec.data!.includes("_instance") && !rec.data!.includes("_input"), rec.data);
      assert(rec.html!.startsWith("<table") && rec.html!.includes("a.txt"), rec.html);
      assert(
        rec.html!.includes("&lt;script&gt;x&lt;/script&gt;") && !rec.html!.includes("<script>"),
      );
      assert(desc.data!.startsWith("File: a.txt") && desc.html!.includes("General"), desc.data);
      assertEquals(lineage.mimes, ["image/svg+xml", "text/plain"]);
      assert(view.html!.includes("<h4>File</h4>") && view.data!.includes("a.txt"));
      assert(query.html!.includes("<table") && query.html!.includes("a.txt"), query.html);
      assert(df.html!.includes("<table") && df.html!.includes("a.txt"), JSON.stringify(df));
      assert(!df.html!.includes("<script>"), "the DataFrame's HTML escapes the description");
      assertEquals(adata.data, "AnnData object with n_obs × n_vars = 1 × 2");
      assert(adata.html!.includes("AnnData object with n_obs × n_vars = 1 × 2"), adata.html);
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const pgOpts = needsPostgres("notebook runs in a PostgreSQL registry");

Deno.test({
  name: "with LAMINDENO_STORAGE and LAMINDENO_DB the kernel's run and cells go to PostgreSQL",
  ...py,
  ignore: py.ignore || pgOpts.ignore || KERNEL !== "lamindeno",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await postgresServer();
    const db = await server.database();
    const root = await tempDir();
    const dir = await Deno.makeTempDir({ dir: NB, prefix: ".tmp-" });
    try {
      await Deno.writeTextFile(
        `${dir}/shared.ipynb`,
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {},
          cells: [{ cell_type: "code", metadata: {}, source: "6 * 7", outputs: [] }],
        }),
      );
      const out = await execute(`${dir.split("/").pop()}/shared.ipynb`, root, {
        LAMINDENO_STORAGE: root,
        LAMINDENO_DB: db,
      });
      assertEquals(errors(out), []);
      await ln.init({ storage: root, db });
      const [t] = await ln.Transform.filter({ name: "shared.ipynb" });
      const [run] = await ln.Run.filter({ transformId: t.id });
      assertEquals((await run.cells()).map((c) => [c.code, c.status]), [["6 * 7", "ok"]]);
      assertEquals(await Deno.stat(`${root}/.lamindb/lamin.db`).then(() => 1, () => 0), 0);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});
