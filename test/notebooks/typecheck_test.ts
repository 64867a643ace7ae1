// The tutorials' code type-checks as written (no casts needed): the code
// cells of each notebook, joined in order, go through `deno check` as one
// module placed in the repository (so `../mod.ts` and the import map resolve).
import { basename, join } from "node:path";
import { assert, assertEquals } from "../_helpers.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const NB = join(REPO, "notebooks");

/** The code cells of a notebook (`source` as a string or a list of lines), in order. */
function codeOf(notebook: string): string {
  const nb = JSON.parse(notebook) as { cells: { cell_type: string; source: string | string[] }[] };
  return nb.cells.filter((c) => c.cell_type === "code")
    .map((c, i) => `// cell ${i + 1}\n${[c.source].flat().join("")}\n`)
    .join("\n");
}

/** `deno check` of the notebooks' code: success, and the checker's output. */
async function checkNotebooks(notebooks: Record<string, string>) {
  // One folder below the repository root, like notebooks/: `../mod.ts` is the library.
  const dir = await Deno.makeTempDir({ dir: REPO, prefix: ".nbcheck-" });
  try {
    const files: string[] = [];
    for (const [name, text] of Object.entries(notebooks)) {
      const file = join(dir, `${basename(name, ".ipynb")}.ts`);
      await Deno.writeTextFile(file, codeOf(text));
      files.push(file);
    }
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", ...files],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { success: r.success, out };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const cell = (source: string) => ({ cell_type: "code", metadata: {}, source, outputs: [] });
const notebook = (sources: string[]) => JSON.stringify({ cells: sources.map(cell), nbformat: 4 });
const SETUP = 'import * as ln from "../mod.ts";\nconst f = await ln.File.get({ key: "a.csv" });\n';

/** Type errors reported in `file` (one `at file:///…/{file}:line:col` each). */
function errorsIn(out: string, file: string): number {
  return out.split("\n").filter((l) => l.includes(`/${file}:`) && /^\s*at /.test(l)).length;
}

// One `deno check` (type-checking the library takes most of a minute here):
// the tutorials and a notebook using load()'s types must pass, a notebook
// misusing them must fail exactly where it does.
Deno.test("the tutorials' code cells pass deno check with no cast on load(); misuse fails", async () => {
  const notebooks: Record<string, string> = {};
  for await (const e of Deno.readDir(NB)) {
    if (e.name.endsWith(".ipynb")) notebooks[e.name] = await Deno.readTextFile(join(NB, e.name));
  }
  const tutorials = Object.keys(notebooks);
  assert(tutorials.length >= 4, "the tutorials are there");
  for (const [name, text] of Object.entries(notebooks)) {
    assert(!/load\([^)]*\)\s+as\s/.test(codeOf(text)), `${name} casts a load() result`);
  }
  notebooks["typed.ipynb"] = notebook([
    SETUP,
    'const df = await f.load({ as: "dataframe" });\nconst h: number = df.height;',
    'const a = await f.load({ as: "anndata" });\nconst n: number = a.nObs;',
    "const any = await f.load();\nif (any instanceof ln.AnnData) any.nObs;",
  ]);
  notebooks["misuse.ipynb"] = notebook([
    SETUP,
    "(await f.load()).height; // a union: not every member has height",
    '(await f.load({ as: "anndata" })).height; // an AnnData has none',
  ]);
  const r = await checkNotebooks(notebooks);
  assertEquals(r.success, false, "the misuse notebook fails");
  for (const name of [...tutorials, "typed.ipynb"]) {
    assertEquals(errorsIn(r.out, `${basename(name, ".ipynb")}.ts`), 0, `${name}:\n${r.out}`);
  }
  assertEquals(errorsIn(r.out, "misuse.ts"), 2, r.out);
  assert(/Property 'height' does not exist on type 'AnnData'/.test(r.out), r.out);
});
