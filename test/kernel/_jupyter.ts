// Helpers for the kernel tests: temporary kernelspecs (lamindeno and stock
// deno) and running Python Jupyter clients against them.
import { join } from "node:path";
import { PYTHON } from "../_python.ts";

const INSTALL = new URL("../../kernel/install.ts", import.meta.url).pathname;

/** A temporary Jupyter setup with the `lamindeno` and stock `deno` kernelspecs. */
export interface Kernelspecs extends AsyncDisposable {
  /** The temporary directory. */
  dir: string;
  /** Environment for Jupyter clients: sees only these kernelspecs' dirs; NO_COLOR unset. */
  env: Record<string, string>;
}

/** Install both kernelspecs into a temp dir (`kernel/install.ts --prefix`). */
export async function kernelspecs(): Promise<Kernelspecs> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "lamindeno-kernel-test-" }));
  const install = await new Deno.Command(Deno.execPath(), {
    // --bin-dir: a deno from a package cache is linked here, not into the user's home.
    args: ["run", "-A", INSTALL, "--prefix", dir, "--bin-dir", join(dir, "bin")],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!install.success) throw new Error(new TextDecoder().decode(install.stderr));
  const stock = join(dir, "share", "jupyter", "kernels", "deno");
  await Deno.mkdir(stock, { recursive: true });
  await Deno.writeTextFile(
    join(stock, "kernel.json"),
    JSON.stringify({
      argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
      display_name: "Deno",
      language: "typescript",
    }),
  );
  const env = Deno.env.toObject();
  // Stock deno only colours its results when colour is allowed, as under a Jupyter server.
  delete env.NO_COLOR;
  Object.assign(env, {
    JUPYTER_PATH: join(dir, "share", "jupyter"),
    JUPYTER_DATA_DIR: join(dir, "data"),
    JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
    JUPYTER_PLATFORM_DIRS: "0",
    PYTHONWARNINGS: "ignore",
  });
  return {
    dir,
    env,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Run a Python script (a file path or `-c` code) with args; stdout, stderr and success. */
export async function runPython(
  env: Record<string, string>,
  args: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const child = new Deno.Command(PYTHON, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A kernel left running inherits Python's pipes: read them until Python has
  // exited and 5 s more, not until every holder closes them (which would hang
  // the test instead of failing its cleanup checks).
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const texts = ["", ""];
  const reading = readers.map(async (reader, i) => {
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      texts[i] += decoder.decode(value, { stream: true });
    }
  });
  const status = await child.status;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(reading),
    new Promise((resolve) => timer = setTimeout(resolve, 5000)),
  ]);
  clearTimeout(timer);
  for (const reader of readers) await reader.cancel().catch(() => {});
  return { ok: status.success, stdout: texts[0], stderr: texts[1] };
}

/** The last line of `stdout`, parsed as JSON. */
export function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}
