// Every notebook execution is recorded, path or not: nbclient running a
// notebook from memory, `jupyter nbconvert --execute` (from a file and from
// stdin) and a Jupyter server session. Without a path the kernel records an
// unnamed notebook transform with its run, cells, inputs and outputs;
// `ln.track({ name })` or the path found later names it.
import { join, relative } from "node:path";
import * as ln from "../../mod.ts";
import { assert, assertEquals, tempDir } from "../_helpers.ts";
import { needsPython, PYTHON } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";
import { papermillInputPath } from "../../src/track/_papermill.ts";
import { unnamedNotebookName } from "../../src/track/_unnamed.ts";

const py = needsPython("kernel without a notebook path", "jupyter_client", "nbclient", "nbformat");
const MOD = new URL("../../mod.ts", import.meta.url).href;
const INSTALL = new URL("../../kernel/install.ts", import.meta.url).pathname;
const NBCLIENT = new URL("./_unnamed_nbclient.py", import.meta.url).pathname;
const SERVER = new URL("./_server_session.py", import.meta.url).pathname;
// The kernel runs in the repository (its imports need deno.json): "notebooks" is that folder.
const NOTEBOOKS = new URL("../../notebooks", import.meta.url).pathname;
const UNNAMED = /^notebook in notebooks \(path unknown, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/;

type Outputs = { stream?: string; text?: string; data?: string; error?: string }[][];

/** A registry at a new root holding `raw/in.txt`, for the notebook to read. */
async function registryWithInput(): Promise<string> {
  const root = await tempDir();
  await ln.init({ storage: root });
  try {
    await new ln.File(new TextEncoder().encode("input"), { key: "raw/in.txt" }).save();
  } finally {
    await ln.close();
  }
  return root;
}

/** The cells: open the instance, read an input and save an output, fail once. */
function cells(root: string, ...more: string[]): string[] {
  return [
    `import * as ln from "${MOD}";\nawait ln.init({ storage: "${root}" });\nln.context.transform?.name`,
    'await (await ln.File.get({ key: "raw/in.txt" })).stage();\n' +
    'const out = await new ln.File(new TextEncoder().encode("result"), { key: "out/result.txt" }).save();\n' +
    "out.runId === ln.context.run?.id",
    'throw new TypeError("recorded too")',
    ...more,
  ];
}

/** The one notebook run in `root`: its transform, cells, inputs and outputs. */
async function recorded(root: string) {
  await ln.init({ storage: root });
  try {
    const transforms = await ln.Transform.filter({ type: "notebook" });
    assertEquals(transforms.length, 1, transforms.map((t) => t.name).join(", "));
    const runs = await ln.Run.filter({ transformId: transforms[0].id });
    assertEquals(runs.length, 1);
    const run = runs[0];
    return {
      transform: transforms[0],
      run,
      cells: (await run.cells()).map((c) => [c.code, c.status]),
      inputs: (await run.inputs.all()).map((f) => f.key),
      outputs: (await run.outputs.all()).map((f) => f.key),
    };
  } finally {
    await ln.close();
  }
}

const stderrText = (outs: Outputs) =>
  outs.flat().filter((o) => o.stream === "stderr").map((o) => o.text).join("");

Deno.test({
  name: "nbclient running a notebook from memory records an unnamed notebook with its run, " +
    "every cell, inputs and outputs, and warns once",
  ...py,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const cwd = NOTEBOOKS;
    const root = await registryWithInput();
    try {
      const code = cells(root, "2 * 21");
      const r = await runPython(specs.env, [NBCLIENT, cwd, JSON.stringify(code)]);
      assert(r.ok, r.stderr);
      const outs = lastJson<Outputs>(r.stdout);
      assert(UNNAMED.test(JSON.parse(outs[0].find((o) => o.data)!.data!)), JSON.stringify(outs));
      assertEquals(outs[1].find((o) => o.data)?.data, "true");
      assertEquals(stderrText(outs).split("the notebook's path is unknown").length, 2);

      const got = await recorded(root);
      assert(UNNAMED.test(got.transform.name), got.transform.name);
      assertEquals(got.transform.reference, null);
      assert(got.transform.description?.includes(cwd), got.transform.description ?? "");
      assertEquals(got.cells, code.map((c, i) => [c, i === 2 ? "error" : "ok"]));
      assertEquals([got.inputs, got.outputs], [["raw/in.txt"], ["out/result.txt"]]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

for (const early of [false, true]) {
  Deno.test({
    name: "ln.track({ name }) in a later cell names the unnamed notebook and keeps its run" +
      (early ? " (the kernel's own run, --storage)" : ""),
    ...py,
    sanitizeResources: false,
    async fn() {
      await using specs = await kernelspecs();
      const cwd = NOTEBOOKS;
      const root = await registryWithInput();
      if (early) await withStorage(specs.dir, root);
      try {
        const code = cells(
          root,
          "const before = ln.context.run!.id;\n" +
            'const run = await ln.track({ name: "qc notebook", params: { lr: 0.1 } });\n' +
            "[run.id === before, ln.context.transform!.name]",
          'await new ln.File(new TextEncoder().encode("late"), { key: "out/late.txt" }).save();\n' +
            "ln.context.run!.id",
        );
        const r = await runPython(specs.env, [NBCLIENT, cwd, JSON.stringify(code)]);
        assert(r.ok, r.stderr);
        const outs = lastJson<Outputs>(r.stdout);
        assertEquals(outs[3].find((o) => o.data)?.data, '[ true, "qc notebook" ]');
        // Warned once in the notebook, whichever process started the run.
        assertEquals(stderrText(outs).split("the notebook's path is unknown").length, 2);

        const got = await recorded(root);
        assertEquals([got.transform.name, got.transform.version], ["qc notebook", "1"]);
        assert(got.transform.description?.includes(cwd), got.transform.description ?? "");
        assertEquals(got.run.params, { lr: 0.1 });
        assertEquals(got.cells.map(([, status]) => status), ["ok", "ok", "error", "ok", "ok"]);
        assertEquals(got.outputs.sort(), ["out/late.txt", "out/result.txt"]);
        assertEquals(got.inputs, ["raw/in.txt"]);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}

for (const early of [false, true]) {
  Deno.test({
    name: "a notebook that opens its instance again (the init cell run twice, close and init) " +
      "keeps its run, and another instance gets a run of its own" +
      (early ? " (the kernel's own run, --storage)" : ""),
    ...py,
    sanitizeResources: false,
    async fn() {
      await using specs = await kernelspecs();
      const root = await registryWithInput();
      const other = await tempDir();
      if (early) await withStorage(specs.dir, root);
      try {
        const [init, readAndWrite] = cells(root);
        const code = [
          `${init};\nln.context.run!.id`,
          // The init cell run again, then reading and writing.
          `await ln.init({ storage: "${root}" });\nln.context.run?.id`,
          readAndWrite,
          `await ln.close();\nawait ln.init({ storage: "${root}" });\n` +
          'await (await ln.File.get({ key: "raw/in.txt" })).stage();\nln.context.run?.id',
          `await ln.init({ storage: "${other}" });\n` +
          'const o = await new ln.File(new TextEncoder().encode("o"), { key: "o.txt" }).save();\n' +
          "o.runId !== null && o.runId === ln.context.run?.id",
        ];
        const r = await runPython(specs.env, [NBCLIENT, NOTEBOOKS, JSON.stringify(code)]);
        assert(r.ok, r.stderr);
        const results = lastJson<Outputs>(r.stdout).map((o) => o.find((x) => x.data)?.data);
        const got = await recorded(root);
        const id = JSON.stringify(got.run.id);
        assertEquals(results, [id, id, "true", id, "true"]);
        assertEquals([got.inputs, got.outputs], [["raw/in.txt"], ["out/result.txt"]]);
        assertEquals(got.cells.map(([c]) => c), code.slice(0, 4));
        const there = await recorded(other);
        assertEquals(there.outputs, ["o.txt"]);
        assert(there.run.id !== got.run.id);
      } finally {
        await Deno.remove(root, { recursive: true });
        await Deno.remove(other, { recursive: true });
      }
    },
  });
}

/** Install the lamindeno kernelspec into `specs` with `--storage root` (the early run). */
async function withStorage(dir: string, root: string): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", INSTALL, "--prefix", dir, "--storage", root],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/** A notebook file of code cells (never importing the library), for the lamindeno kernel. */
function notebookJson(sources: string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "lamindeno", display_name: "lamindeno", language: "typescript" },
    },
    cells: sources.map((s, i) => ({
      cell_type: "code",
      id: `c${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source: s,
    })),
  });
}

Deno.test({
  name: "jupyter nbconvert --execute records a notebook file by its path, and one from stdin " +
    "as an unnamed notebook, every cell of both",
  ...py,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const root = await tempDir();
    const work = join(specs.dir, "work");
    await Deno.mkdir(work);
    await withStorage(specs.dir, root);
    const code = ["6 * 7", 'throw new RangeError("in nbconvert")', '"ok".repeat(2)'];
    await Deno.writeTextFile(join(work, "analysis.ipynb"), notebookJson(code));
    const nbconvert = async (args: string[], stdin?: string) => {
      const child = new Deno.Command(PYTHON, {
        args: ["-m", "nbconvert", "--to", "notebook", "--execute", "--allow-errors", ...args],
        cwd: work,
        env: specs.env,
        clearEnv: true,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      }
      const r = await child.output();
      const err = new TextDecoder().decode(r.stderr);
      assert(r.success, err);
      return { stdout: new TextDecoder().decode(r.stdout), stderr: err };
    };
    try {
      await nbconvert(["analysis.ipynb", "--output", "executed"]);
      const executed = JSON.parse(await Deno.readTextFile(join(work, "executed.ipynb")));
      assertEquals(executed.cells[0].outputs[0].data["text/plain"], ["42"]);
      const piped = await nbconvert(["--stdin", "--stdout"], notebookJson(code));
      assertEquals(JSON.parse(piped.stdout).cells[2].outputs[0].data["text/plain"], ['"okok"']);
      // The kernel itself warned, in its log.
      assert(piped.stderr.includes("the notebook's path is unknown"), piped.stderr);

      await ln.init({ storage: root });
      const transforms = await ln.Transform.filter({ type: "notebook" });
      const byName = new Map(transforms.map((t) => [t.name, t]));
      const named = byName.get("analysis.ipynb");
      assertEquals(named?.reference, join(work, "analysis.ipynb"));
      const unnamed = transforms.find((t) => t !== named);
      assertEquals(transforms.length, 2);
      assert(
        /^notebook in work \(path unknown, .* UTC\)$/.test(unnamed!.name),
        unnamed!.name,
      );
      for (const t of [named!, unnamed!]) {
        const runs = await ln.Run.filter({ transformId: t.id });
        assertEquals(runs.length, 1, t.name);
        assertEquals(
          (await runs[0].cells()).map((c) => [c.code, c.status, c.errorName]),
          [[code[0], "ok", undefined], [code[1], "error", "RangeError"], [
            code[2],
            "ok",
            undefined,
          ]],
        );
      }
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

const server = needsPython("kernel in a Jupyter server", "jupyter_server", "websocket");

Deno.test({
  name: "a Jupyter server session: the notebook is named by the session's path, and a notebook " +
    "saved only after its cells ran is named by that path at shutdown",
  ...server,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const root = await tempDir();
    const served = join(specs.dir, "served");
    await Deno.mkdir(join(served, "sub"), { recursive: true });
    await Deno.mkdir(join(served, "later"));
    await withStorage(specs.dir, root);
    const code = ["6 * 7", 'throw new RangeError("in a session")'];
    await Deno.writeTextFile(join(served, "sub", "analysis.ipynb"), notebookJson(code));
    const saved = JSON.parse(notebookJson(code));
    try {
      const r = await runPython(specs.env, [
        SERVER,
        served,
        JSON.stringify([
          { path: "sub/analysis.ipynb", cells: code },
          { path: "later/Untitled.ipynb", cells: code, save: saved },
        ]),
      ]);
      assert(r.ok, r.stderr + await Deno.readTextFile(join(specs.dir, "server.log")));
      assertEquals(lastJson(r.stdout), [["ok", "error"], ["ok", "error"]]);

      await ln.init({ storage: root });
      const transforms = await ln.Transform.filter({ type: "notebook" });
      assertEquals(
        transforms.map((t) => [t.name, t.reference, t.description]).sort(),
        [
          ["Untitled.ipynb", join(served, "later", "Untitled.ipynb"), null],
          ["analysis.ipynb", join(served, "sub", "analysis.ipynb"), null],
        ],
      );
      for (const t of transforms) {
        assertEquals(t.sourceCode, code.map((c) => `// %%\n${c}\n`).join("\n"));
        const runs = await ln.Run.filter({ transformId: t.id });
        assertEquals(runs.length, 1, t.name);
        assertEquals((await runs[0].cells()).map((c) => [c.code, c.status]), [
          [code[0], "ok"],
          [code[1], "error"],
        ]);
      }
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "papermill's parameters cell (inject_paths) names the notebook by PAPERMILL_INPUT_PATH, " +
    "relative to papermill's folder",
  ...py,
  sanitizeResources: false,
  async fn() {
    await using specs = await kernelspecs();
    const root = await tempDir();
    const work = join(specs.dir, "work");
    await Deno.mkdir(work);
    await withStorage(specs.dir, root);
    // The notebook papermill reads; it runs it from memory, with its parameters cell first.
    const input = join(specs.dir, "input.ipynb");
    const body = ["alpha * 2"];
    await Deno.writeTextFile(input, notebookJson(body));
    const injected = "// Parameters\nconst alpha = 0.5;\n" +
      `const PAPERMILL_INPUT_PATH = ${JSON.stringify(relative(Deno.cwd(), input))};\n` +
      'const PAPERMILL_OUTPUT_PATH = "output.ipynb";\n';
    try {
      const r = await runPython(specs.env, [NBCLIENT, work, JSON.stringify([injected, ...body])]);
      assert(r.ok, r.stderr);
      assertEquals(lastJson<Outputs>(r.stdout)[1], [{ data: "1" }]);

      await ln.init({ storage: root });
      const transforms = await ln.Transform.filter({ type: "notebook" });
      assertEquals(transforms.map((t) => [t.name, t.reference]), [["input.ipynb", input]]);
      assertEquals(transforms[0].sourceCode, "// %%\nalpha * 2\n");
      const [run] = await ln.Run.filter({ transformId: transforms[0].id });
      assertEquals((await run.cells()).map((c) => c.code), [injected, ...body]);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("papermillInputPath reads the path a parameters cell assigns, quoted either way", () => {
  assertEquals(
    papermillInputPath('# Parameters\nPAPERMILL_INPUT_PATH = "in dir/a.ipynb"\n'),
    "in dir/a.ipynb",
  );
  assertEquals(papermillInputPath("const PAPERMILL_INPUT_PATH = 'it\\'s.ipynb';"), "it's.ipynb");
  assertEquals(
    papermillInputPath('let PAPERMILL_INPUT_PATH: string = "a\\"b.ipynb";'),
    'a"b.ipynb',
  );
  assertEquals(papermillInputPath('PAPERMILL_OUTPUT_PATH = "out.ipynb"'), undefined);
  assertEquals(papermillInputPath('PAPERMILL_INPUT_PATH = "not a notebook.txt"'), undefined);
  assertEquals(papermillInputPath("PAPERMILL_INPUT_PATH = someVariable"), undefined);
});

Deno.test("an unnamed notebook is named after the kernel's folder (relative to the git root) and the time", () => {
  const at = new Date("2026-12-03T00:50:12.345Z");
  assertEquals(
    unnamedNotebookName(NOTEBOOKS, at),
    "notebook in notebooks (path unknown, 2026-12-03 00:50:12 UTC)",
  );
  assertEquals(unnamedNotebookName("/", at), "notebook (path unknown, 2026-12-03 00:50:12 UTC)");
});
