// The tutorials in notebooks/, executed by nbclient in a Deno Jupyter
// kernel; the registry is checked afterwards.
import * as ln from "../../mod.ts";
import { assert, assertEquals, tempDir } from "../_helpers.ts";
import { needsPython, PYTHON } from "../_python.ts";

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

type Outputs = { error?: string; data?: string; stream?: string; text?: string }[][];

/** Execute a notebook; each code cell's outputs. */
export async function execute(name: string, root: string): Promise<Outputs> {
  await ensureKernelspec();
  const r = await new Deno.Command(PYTHON, {
    args: [EXEC, `${NB}${name}`, KERNEL],
    env: { LAMINDENO_NOTEBOOK_ROOT: root, LAMIN_LOG_LEVEL: "info" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
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
