// Installing the kernelspec: from the repository, and what a JSR install would run.
import { kernelEntry } from "../../kernel/install.ts";
import { assertEquals, tempDir } from "../_helpers.ts";

const MAIN = new URL("../../kernel/main.ts", import.meta.url).pathname;

Deno.test("kernelEntry: the local main.ts, or the package's ./kernel export on JSR", () => {
  assertEquals(
    kernelEntry("file:///opt/lamindeno/kernel/install.ts"),
    "/opt/lamindeno/kernel/main.ts",
  );
  assertEquals(
    kernelEntry("https://jsr.io/@lamindeno/lamindb/0.1.0/kernel/install.ts"),
    "jsr:@lamindeno/lamindb@0.1.0/kernel",
  );
});

Deno.test("`kernel install` writes the kernelspec (with a default instance); bad options exit 2", async () => {
  const dir = await tempDir();
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "install", ...args],
      stdout: "piped",
      stderr: "piped",
      cwd: dir,
    }).output();
  try {
    const ok = await run("--prefix", dir, "--storage", "data", "--db", "postgresql://u@h/db");
    assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const spec = JSON.parse(
      await Deno.readTextFile(`${dir}/share/jupyter/kernels/lamindeno/kernel.json`),
    );
    assertEquals(spec.argv.slice(1), ["run", "-A", MAIN, "--conn", "{connection_file}"]);
    assertEquals(spec.env, {
      LAMINDENO_STORAGE: `${await Deno.realPath(dir)}/data`,
      LAMINDENO_DB: "postgresql://u@h/db",
    });
    assertEquals(spec.display_name, "Deno (lamindeno)");
    for (const bad of [["--bogus"], ["--prefix"], ["--storage", "--db", "x"]]) {
      const r = await run(...bad);
      assertEquals(r.code, 2, bad.join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
