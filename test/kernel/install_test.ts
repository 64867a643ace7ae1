// Installing the kernelspec: from the repository, and what a JSR install would run.
import * as ln from "../../mod.ts";
import { inPackageCache, kernelEntry, stableDeno } from "../../kernel/install.ts";
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
    const ok = await run(
      ...["--prefix", dir, "--storage", "data", "--db", "postgresql://u@h/db"],
      ...["--bin-dir", `${dir}/bin`],
    );
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
    for (
      const bad of [["--bogus"], ["--prefix"], ["--storage", "--db", "x"], ["extra"], [
        "--user",
        "--prefix",
        dir,
      ]]
    ) {
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
      args: [
        ...["run", "-A", MAIN, "install", "--prefix", dir, "--storage", "data", "--db", url],
        ...["--bin-dir", `${dir}/bin`],
      ],
      env: { XDG_CONFIG_HOME: config, LAMINDENO_HOME: "" },
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
      args: [
        ...["run", "-A", MAIN, "install", "--prefix", specs.dir, "--storage", root, "--db", url],
        ...["--bin-dir", `${specs.dir}/bin`],
      ],
      env: { XDG_CONFIG_HOME: config, LAMINDENO_HOME: "" },
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

/** Run `deno` (a binary) with args; exit code, stdout and stderr. */
async function exec(deno: string, args: string[], env?: Record<string, string>) {
  const r = await new Deno.Command(deno, { args, env, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

const specOf = async (prefix: string) =>
  JSON.parse(await Deno.readTextFile(`${prefix}/share/jupyter/kernels/lamindeno/kernel.json`));

Deno.test("a deno started from a package cache is linked to a lasting place: the kernelspec outlives the cache", async () => {
  const dir = await tempDir();
  const cached = `${dir}/npm-cache/_npx/0a1b2c/node_modules/deno/bin/deno`;
  try {
    await Deno.mkdir(cached.slice(0, cached.lastIndexOf("/")), { recursive: true });
    await Deno.link(Deno.execPath(), cached).catch(() => Deno.copyFile(Deno.execPath(), cached));
    const args = ["run", "-A", MAIN, "install", "--prefix", dir, "--bin-dir", `${dir}/bin`];
    const r = await exec(cached, args);
    assertEquals(r.code, 0, r.stderr);
    assertEquals((await specOf(dir)).argv[0], `${dir}/bin/deno`);
    // Installing again replaces it in place.
    assertEquals((await exec(cached, args)).code, 0);
    assertEquals(await Array.fromAsync(Deno.readDir(`${dir}/bin`), (e) => e.name), ["deno"]);
    // The cache is cleaned: the kernelspec's deno still runs.
    await Deno.remove(`${dir}/npm-cache`, { recursive: true });
    const v = await exec(`${dir}/bin/deno`, ["--version"]);
    assertEquals(v.code, 0, v.stderr);
    assertEquals(v.stdout.includes(Deno.version.deno), true, v.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a deno outside a package cache is recorded where it is; --deno names one, refused when missing", async () => {
  assertEquals(inPackageCache("/home/a/.npm/_npx/1f/node_modules/deno/deno"), true);
  assertEquals(inPackageCache("/root/.cache/x/node_modules/deno/deno"), true);
  assertEquals(inPackageCache("/usr/local/bin/deno"), false);
  assertEquals(inPackageCache("/home/a/.deno/bin/deno"), false);
  assertEquals(
    await stableDeno("/home/a/.deno/bin/deno", "/nonexistent"),
    "/home/a/.deno/bin/deno",
  );
  const dir = await tempDir();
  const install = (extra: string[], env?: Record<string, string>) =>
    exec(Deno.execPath(), ["run", "-A", MAIN, "install", "--prefix", dir, ...extra], env);
  try {
    // An explicit binary is recorded as given, even one in a package cache.
    assertEquals((await install(["--deno", Deno.execPath()])).code, 0);
    assertEquals((await specOf(dir)).argv[0], Deno.execPath());
    // A bare name is resolved on PATH when Jupyter starts the kernel; it must be there now.
    const bin = Deno.execPath().replace(/\/[^/]+$/, "");
    const onPath = await install(["--deno", "deno"], { PATH: bin });
    assertEquals(onPath.code, 0, onPath.stderr);
    assertEquals((await specOf(dir)).argv[0], "deno");
    const notOnPath = await install(["--deno", "deno"], { PATH: `${dir}/empty` });
    assertEquals(notOnPath.code, 1, notOnPath.stderr);
    assertEquals(/--deno deno: not found on PATH/.test(notOnPath.stderr), true, notOnPath.stderr);
    const missing = await install(["--deno", `${dir}/no/deno`]);
    assertEquals(missing.code, 1, missing.stderr);
    assertEquals(missing.stderr.includes("no such file"), true, missing.stderr);
    // The kernelspec was left as the last good install wrote it.
    assertEquals((await specOf(dir)).argv[0], "deno");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`kernel install --help` and `kernel --help` print their usage and exit 0", async () => {
  const help = await exec(Deno.execPath(), ["run", "-A", MAIN, "install", "--help"]);
  assertEquals(help.code, 0, help.stderr);
  for (const o of ["--user", "--prefix", "--storage", "--db", "--deno", "--bin-dir", "--help"]) {
    assertEquals(help.stdout.includes(o), true, o);
  }
  const main = await exec(Deno.execPath(), ["run", "-A", MAIN, "--help"]);
  assertEquals([main.code, main.stdout.startsWith("usage:")], [0, true], main.stderr);
  const none = await exec(Deno.execPath(), ["run", "-A", MAIN]);
  assertEquals(none.code, 2);
});
