// Installing the kernelspec: from the repository, and what a JSR install would run.
import * as ln from "../../mod.ts";
import { kernelEntry } from "../../kernel/install.ts";
import { StorageError } from "../../src/errors.ts";
import { lookupPassword, PGPASSFILE_ENV } from "../../src/registry/_pgpass.ts";
import { kernelGlobalCode } from "../../src/track/kernel_messages.ts";
import { assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";
import { needsPython } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";

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

Deno.test("`kernel install --db` with a password: kernel.json holds none; a 0600 pgpass file does", async () => {
  const dir = await tempDir();
  const config = `${dir}/config`;
  const password = "s3cr3t:P\\W@/x";
  const url = `postgresql://lamin:${encodeURIComponent(password)}@db.example.org:5433/atlas`;
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "install", "--prefix", dir, "--storage", "data", "--db", url],
      env: { XDG_CONFIG_HOME: config },
      stdout: "piped",
      stderr: "piped",
      cwd: dir,
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const text = await Deno.readTextFile(`${dir}/share/jupyter/kernels/lamindeno/kernel.json`);
    for (const s of [password, encodeURIComponent(password), "s3cr3t"]) {
      assertEquals(text.includes(s), false, text);
    }
    const { env } = JSON.parse(text);
    assertEquals(env.LAMINDENO_DB, "postgresql://lamin@db.example.org:5433/atlas");
    const file: string = env.LAMINDENO_PGPASSFILE;
    assertEquals(file.startsWith(`${config}/lamindeno/kernel-lamindeno-`), true, file);
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${config}/lamindeno`)).mode! & 0o077, 0);
    // libpq's format: host:port:database:user:password, ":" and "\" escaped.
    const entry = (await Deno.readTextFile(file)).split("\n").find((l) => !l.startsWith("#"));
    assertEquals(entry, "db.example.org:5433:atlas:lamin:s3cr3t\\:P\\\\W@/x");
    // The library finds the password there for the password-less URL, and
    // refuses the file once others can read it.
    Deno.env.set(PGPASSFILE_ENV, file);
    try {
      assertEquals(await lookupPassword(env.LAMINDENO_DB), password);
      assertEquals(await lookupPassword("postgresql://other@db.example.org:5433/atlas"), undefined);
      await Deno.chmod(file, 0o644);
      await assertRejects(() => lookupPassword(env.LAMINDENO_DB), StorageError, /chmod 600/);
    } finally {
      Deno.env.delete(PGPASSFILE_ENV);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the kernel's global in the notebook never holds a registry password", () => {
  const url = "postgresql://lamin:hunter22@db.org/lamin?password=hunter22&sslmode=require";
  const run = { run_id: "r", root: "/d", registry: { kind: "postgres" as const, url } };
  const code = kernelGlobalCode({ sessionId: "s", connectionFile: "/c.json", early: run, run });
  assertEquals(code.includes("hunter22"), false, code);
  assertEquals(code.includes("postgresql://lamin@db.org/lamin?sslmode=require"), true, code);
});

const py = needsPython("kernel recording with a password", "jupyter_client");
const pgOpts = needsPostgres("kernel recording into a password-protected PostgreSQL");

Deno.test({
  name:
    "a kernel installed with a password-protected registry records cells without the password in the notebook",
  ...py,
  ignore: py.ignore || pgOpts.ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using specs = await kernelspecs();
    await using server = await postgresServer();
    const password = "kernel-s3cr3t-PW";
    const url = await server.passwordDatabase(password);
    const root = await tempDir();
    const config = `${specs.dir}/config`;
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "install", "--prefix", specs.dir, "--storage", root, "--db", url],
      env: { XDG_CONFIG_HOME: config },
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(install.success, true, new TextDecoder().decode(install.stderr));
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const cwd = new URL("../../notebooks/", import.meta.url).pathname;
    // No cell names the password: the library finds it the way the kernel does.
    const leak = "if (/:[^@/]+@/.test(JSON.stringify(globalThis.__lamindeno_kernel) + " +
      'Deno.env.get("LAMINDENO_DB"))) throw new Error("a password in the notebook");';
    const cells = [
      `import * as ln from "${mod}";\n${leak}`,
      `await ln.init({ storage: "${root}", db: Deno.env.get("LAMINDENO_DB") });\n` +
      `await ln.track({ name: "with a password" });`,
      `${leak}\n2 * 21;`,
    ];
    try {
      const r = await runPython(specs.env, [
        new URL("./_cells.py", import.meta.url).pathname,
        cwd,
        JSON.stringify(cells),
      ]);
      assertEquals(r.ok, true, r.stderr);
      assertEquals(lastJson(r.stdout), ["ok", "ok", "ok"], r.stderr);
      assertEquals(r.stderr.includes(password), false, r.stderr);
      // The server does ask for the password: without the kernel's file, no way in.
      const bare = url.replace(`:${encodeURIComponent(password)}@`, "@");
      await assertRejects(() => ln.connect({ storage: root, db: bare }), StorageError, /password/);
      await ln.init({ storage: root, db: url });
      const run = (await ln.Run.filter({})).find((r) => r.transform?.name === "with a password");
      const recorded = await run!.cells();
      assertEquals(recorded.map((c) => [c.code, c.status]), cells.map((c) => [c, "ok"]));
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
