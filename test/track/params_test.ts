// Runs keep what made them: params (stored, filterable, validated), the
// transform's source, and the run's status (completed / errored / killed),
// with scripts run as real child processes; and an older registry upgrades.
import { createClient } from "@libsql/client/node";
import { LibsqlDialect } from "@libsql/kysely-libsql";
import { Kysely } from "kysely";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import type pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { notebookSource } from "../../src/track/_where.ts";
import { redactSource, redactText } from "../../src/_redact.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";
import { migrateToPreviousRelease } from "../registry/_previous_release.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

function command(path: string, ...args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    // The script lives outside the project: give it the project's import map.
    args: ["run", "-A", "--config", CONFIG, path, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { LAMIN_LOG_LEVEL: "error", NO_COLOR: "1" },
  });
}

const dec = new TextDecoder();

Deno.test("track({ params }) keeps them on the run, and Run.filter({ params }) finds runs by them", async () => {
  const root = await freshInstance();
  try {
    const a = await ln.track({
      name: "train",
      params: { lr: 0.1, donors: ["D1"], opt: { b: 1, a: 2 } },
    });
    await ln.finish();
    const b = await ln.track({ name: "train", params: { lr: 0.01, donors: ["D1", "D2"] } });
    await ln.finish();
    const c = await ln.track({ name: "train" });
    await ln.finish();
    assertEquals((await ln.Run.get(a.id)).params, { lr: 0.1, donors: ["D1"], opt: { a: 2, b: 1 } });
    assertEquals((await ln.Run.get(c.id)).params, null);
    const ids = async (where: ln.Where) => (await ln.Run.filter(where)).map((r) => r.id).sort();
    assertEquals(await ids({ params: { lr: 0.1 } }), [a.id]);
    assertEquals(await ids({ params: { donors: ["D1", "D2"] } }), [b.id]);
    assertEquals(await ids({ params: { donors: ["D1"] } }), [a.id], "arrays compare as wholes");
    assertEquals(await ids({ params: { opt: { a: 2, b: 1 } } }), [a.id], "key order is irrelevant");
    assertEquals(await ids({ params: { lr: 0.1, donors: ["D1", "D2"] } }), []);
    assertEquals(await ids({ params: { lr: "0.1" } }), [], "a string is not the number");
    assertEquals(await ids({ params: null }), [c.id]);
    assertEquals(await ids({ params: { lr: 0.01 }, transformId: b.transformId }), [b.id]);
    // Params saved again (changed) are what the filter sees.
    const run = await ln.Run.get(a.id);
    run.params = { lr: 0.5 };
    await run.save();
    assertEquals(await ids({ params: { lr: 0.1 } }), []);
    assertEquals(await ids({ params: { lr: 0.5 } }), [a.id]);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("params that are not plain JSON are a ValidationError, and nothing is written", async () => {
  const root = await freshInstance();
  try {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const bad: [unknown, RegExp][] = [
      [{ lr: NaN }, /finite/],
      [{ lr: Infinity }, /finite/],
      [{ f: () => 1 }, /function/],
      [{ n: 10n }, /bigint/],
      [{ d: new Date() }, /Date/],
      [{ m: new Map() }, /Map/],
      [{ u: undefined }, /undefined/],
      // deno-lint-ignore no-sparse-arrays
      [{ holes: [1, , 3] }, /holes\[1\]: .*empty/],
      [cyclic, /cycle/],
      [JSON.parse('{"__proto__": {"x": 1}}'), /__proto__/],
      [{ nested: { constructor: 1 } }, /constructor/],
      [{ big: "x".repeat(1024 * 1024 + 1) }, /1 MiB/],
      [[1, 2], /plain object/],
    ];
    for (const [params, re] of bad) {
      await assertRejects(
        () => ln.track({ name: "bad", params: params as ln.RunParams }),
        ln.ValidationError,
        re,
      );
    }
    assertEquals(await ln.Transform.filter({ name: "bad" }), [], "no transform was written");
    assertEquals(await ln.Run.filter({}), []);
    await assertRejects(() => ln.Run.filter({ params: { lr: NaN } }), ln.ValidationError, /finite/);
    await assertRejects(() => ln.Run.filter({ params: "lr" }), ln.ValidationError, /plain object/);
    await assertRejects(
      () => new ln.Run({ transform: new ln.Transform({ name: "t" }), params: { a: new Array(2) } }),
      ln.ValidationError,
      /empty/,
    );
    // Many top-level keys are stored in parts and still filterable.
    const many = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]));
    const run = await ln.track({ name: "wide", params: many });
    assertEquals((await ln.Run.filter({ params: { k2999: 2999 } })).map((r) => r.id), [run.id]);
    await ln.finish();
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

function script(body: string): string {
  return `import * as ln from "${MOD}";
const [root] = Deno.args;
await ln.init({ storage: root });
await ln.track({ params: { lr: 0.1 } });
console.log("tracked");
${body}
`;
}

Deno.test("a tracked script's text is kept once per version; completed, errored and killed runs say so", async () => {
  const root = await freshInstance();
  await ln.close();
  const dir = await tempDir();
  try {
    const ok = `${dir}/ok.ts`;
    await Deno.writeTextFile(ok, script("await ln.finish();\nawait ln.close();"));
    assert((await command(ok, root).output()).success);

    // Throws at top level: the run is errored; the process fails as it would untracked.
    const fails = `${dir}/fails.ts`;
    await Deno.writeTextFile(fails, script('throw new Error("boom in script");'));
    const failed = await command(fails, root).output();
    assertEquals(failed.code, 1);
    assert(dec.decode(failed.stderr).includes("boom in script"), dec.decode(failed.stderr));

    // Throws in a callback (an `error` event, not a rejection).
    const cb = `${dir}/callback.ts`;
    await Deno.writeTextFile(
      cb,
      script('setTimeout(() => { throw new Error("late boom"); }, 10);'),
    );
    const late = await command(cb, root).output();
    assertEquals(late.code, 1);
    assert(dec.decode(late.stderr).includes("late boom"), dec.decode(late.stderr));

    // Finished, then throws: the listener is gone with the run; it stays completed.
    const after = `${dir}/after.ts`;
    await Deno.writeTextFile(after, script('await ln.finish();\nthrow new Error("after finish");'));
    const afterOut = await command(after, root).output();
    assertEquals(afterOut.code, 1);
    assert(dec.decode(afterOut.stderr).includes("after finish"), dec.decode(afterOut.stderr));

    // Killed while it runs: nothing can be recorded; the run stays started.
    const hangs = `${dir}/hangs.ts`;
    await Deno.writeTextFile(
      hangs,
      script("await new Promise(() => setInterval(() => {}, 1000));"),
    );
    const child = command(hangs, root).spawn();
    const reader = child.stdout.getReader();
    let out = "";
    while (!out.includes("tracked")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value);
    }
    reader.releaseLock();
    child.kill("SIGKILL");
    await child.status;
    await child.stderr.cancel();
    await child.stdout.cancel();

    await ln.init({ storage: root });
    const byName = async (name: string) => {
      const [t] = await ln.Transform.filter({ name });
      const runs = await ln.Run.filter({ transformId: t.id });
      assertEquals(runs.length, 1);
      return [t, runs[0]] as const;
    };
    const [tOk, rOk] = await byName("ok.ts");
    assertEquals(await tOk.source(), await Deno.readTextFile(ok));
    assertEquals(tOk.sourceCode, await Deno.readTextFile(ok));
    assertEquals([rOk.status, rOk.params], ["completed", { lr: 0.1 }]);
    assert(rOk.finishedAt! >= rOk.runAt);
    assertEquals(rOk.reportedAt, null);
    const [tFail, rFail] = await byName("fails.ts");
    assertEquals(await tFail.source(), await Deno.readTextFile(fails));
    assertEquals(rFail.status, "errored");
    assert(rFail.finishedAt !== null);
    assertEquals((await byName("callback.ts"))[1].status, "errored");
    assertEquals((await byName("after.ts"))[1].status, "completed");
    const [, rKilled] = await byName("hangs.ts");
    assertEquals([rKilled.status, rKilled.finishedAt], ["started", null]);
    assertEquals(
      (await ln.Run.filter({ status: "started" })).map((r) => r.id),
      [rKilled.id],
    );
    await ln.close();

    // Run again unchanged: the same version, the source stored once.
    assert((await command(ok, root).output()).success);
    await ln.init({ storage: root });
    const versions = await ln.Transform.filter({ name: "ok.ts" });
    assertEquals(versions.length, 1);
    assertEquals(await versions[0].source(), await Deno.readTextFile(ok));
    const pipeline = await new ln.Transform({ name: "no code" }).save();
    assertEquals(await pipeline.source(), null);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secrets written into a tracked script are not stored with its source; its hash is the file's", async () => {
  const root = await freshInstance();
  await ln.close();
  const dir = await tempDir();
  try {
    const path = `${dir}/creds.ts`;
    const body = [
      'const db = "postgresql://ana:hunter2-pw@db.example.org/lamin";',
      'const password = "pw-in-the-clear";',
      'const s3 = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI" };',
      // Names that end in a secret's: as written in scripts, env-style and camelCase.
      'const DB_PASSWORD = "db-pw-upper";',
      'const AWS_SECRET_ACCESS_KEY = "aws-secret-upper";',
      'const dbPassword: string = "db-pw-camel";',
      'const env = { "GITHUB_TOKEN": "gh-token-quoted" };',
      'const bypass = "not-a-secret";',
      'const nul = "a\0b";',
      'const data = "https://x.org/atlas.h5ad?raw=true";',
      "console.log(db.length + password.length + Object.keys(s3).length + data.length);",
      "console.log(DB_PASSWORD, AWS_SECRET_ACCESS_KEY, dbPassword, env, bypass);",
      "await ln.finish();",
    ].join("\n");
    await Deno.writeTextFile(path, script(body));
    assert((await command(path, root).output()).success);
    await ln.init({ storage: root });
    const [t] = await ln.Transform.filter({ name: "creds.ts" });
    const source = (await t.source())!;
    for (
      const secret of [
        "hunter2-pw",
        "pw-in-the-clear",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI",
        "db-pw-upper",
        "aws-secret-upper",
        "db-pw-camel",
        "gh-token-quoted",
      ]
    ) {
      assert(!source.includes(secret), `${secret} stored in:\n${source}`);
    }
    assert(source.includes('"postgresql://***@db.example.org/lamin"'), source);
    assert(source.includes('secretAccessKey: "***"'), source);
    assert(source.includes('const dbPassword: string = "***";'), source);
    assert(source.includes('const bypass = "not-a-secret";'), "a name merely ending in pass");
    assert(source.includes("https://x.org/atlas.h5ad?raw=true"), "code is kept as written");
    // A NUL in the script (the registry cannot store one) is kept as U+FFFD, the rest whole.
    assert(source.includes('const nul = "a\ufffdb";'), source);
    assert(source.endsWith("await ln.finish();\n"), source);
    const { createHash } = await import("node:crypto");
    const hash = createHash("md5").update(await Deno.readFile(path)).digest("base64url");
    assertEquals(t.hash, hash, "the version is the file's, as run");
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("redacting a long run of scheme-like characters (a gapped alignment) takes linear time", () => {
  // Each word start of "ACG-T-ACG-T..." could begin a URL scheme: scanning to the
  // end of the run from each took 4 s for these 200 KB (minutes for a few MB,
  // freezing the kernel that records the cell).
  const code = `const aln = "${"ACG-T".repeat(40_000)}";\nconst db = "postgresql://ana:pw-x@h/db";`;
  for (const redact of [redactSource, (t: string) => redactText(t)]) {
    const t0 = performance.now();
    const out = redact(code);
    const ms = performance.now() - t0;
    assert(ms < 1000, `${ms} ms`);
    assert(out.includes("postgresql://***@h") && !out.includes("pw-x"), out.slice(-60));
  }
});

Deno.test("redacting a long line of names with typed values and unclosed generics takes linear time", () => {
  // Every name followed by ":" could begin a typed assignment (pw: Map<...> = "..."): the
  // generic's arguments were scanned to the end of the line from each (minified code such as
  // a:b<a:b<...: 3 s for these 160 KB, quadratic).
  const code = `const m = {${"a:b<".repeat(40_000)}};\nconst DB_PASSWORD = "hunter2";`;
  const t0 = performance.now();
  const out = redactSource(code);
  const ms = performance.now() - t0;
  assert(ms < 1000, `${ms} ms`);
  assert(out.endsWith('DB_PASSWORD = "***";'), out.slice(-60));
  assertEquals(
    redactSource('let password: Map<string, number> = "x";'),
    'let password: Map<string, number> = "***";',
  );
});

Deno.test("redacting a long run of URL starts without an @ takes linear time", () => {
  // From each "x://", the userinfo pattern scanned for its "@" to the end of the run
  // (a://b:a://b:...: 10 s for these 240 KB, quadratic).
  for (const run of ["a://b:".repeat(40_000), "a://".repeat(40_000)]) {
    const code = `const s = "${run}";\nconst db = "postgresql://ana:pw-x@h/db";`;
    const t0 = performance.now();
    const out = redactSource(code);
    const ms = performance.now() - t0;
    assert(ms < 1000, `${ms} ms`);
    assert(out.includes("postgresql://***@h") && !out.includes("pw-x"), out.slice(-60));
  }
});

Deno.test("a registry made by migrations 0001-0003 upgrades in place and its runs still load", async () => {
  const root = await tempDir();
  try {
    await Deno.mkdir(`${root}/.lamindb`);
    const client = createClient({ url: pathToFileURL(`${root}/.lamindb/lamin.db`).href });
    // deno-lint-ignore no-explicit-any
    const db = new Kysely<any>({ dialect: new LibsqlDialect({ client }) });
    await migrateToPreviousRelease(db);
    const now = new Date().toISOString();
    await db.insertInto("user").values({
      id: "u0000001",
      handle: "old-user",
      name: null,
      created_at: now,
      updated_at: now,
    }).execute();
    await db.insertInto("transform").values({
      id: "T00000000001",
      version: "1",
      name: "old.ts",
      type: "script",
      created_at: now,
      updated_at: now,
      created_by_id: "u0000001",
    }).execute();
    await db.insertInto("run").values({
      id: "R0000000000000000001",
      transform_id: "T00000000001",
      transform_version: "1",
      run_at: now,
      finished_at: now,
      status: "completed",
      created_at: now,
      created_by_id: "u0000001",
    }).execute();
    // A file registered in place by the old release.
    const csv = "x,y\n1,2\n3,4\n";
    await Deno.mkdir(`${root}/raw`);
    await Deno.writeTextFile(`${root}/raw/a.csv`, csv);
    await db.insertInto("storage").values({
      id: "S00000000001",
      root,
      type: "local",
      region: null,
      created_at: now,
      updated_at: now,
      created_by_id: "u0000001",
    }).execute();
    await db.insertInto("file").values({
      id: "F0000000000000000001",
      name: null,
      suffix: ".csv",
      size: csv.length,
      hash: createHash("md5").update(csv).digest("base64url"),
      hash_type: "md5",
      key: "raw/a.csv",
      managed: 0,
      is_dir: 0,
      run_id: "R0000000000000000001",
      transform_id: "T00000000001",
      transform_version: "1",
      storage_id: "S00000000001",
      created_at: now,
      updated_at: now,
      created_by_id: "u0000001",
    }).execute();
    await db.destroy();

    await ln.init({ storage: root });
    const run = await ln.Run.get("R0000000000000000001");
    assertEquals([run.status, run.params, run.reportedAt], ["completed", null, null]);
    assertEquals(await run.transform!.source(), null);
    assertEquals((await ln.Run.filter({ params: null })).length, 1);
    const oldFile = await ln.File.get({ key: "raw/a.csv" });
    assertEquals(oldFile.run?.id, run.id);
    const df = await oldFile.load() as pl.DataFrame;
    assertEquals(df.shape, { height: 2, width: 2 });
    const fresh = await ln.track({ name: "new", params: { x: [1, 2] } });
    assertEquals((await ln.Run.filter({ params: { x: [1, 2] } })).map((r) => r.id), [fresh.id]);
    await ln.finish();
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a notebook's source is its code cells in order, each after a // %% line", () => {
  const ipynb = JSON.stringify({
    cells: [
      { cell_type: "markdown", source: ["# Title"] },
      { cell_type: "code", source: ["const a = 1;\n", "console.log(a);"], outputs: [] },
      { cell_type: "raw", source: "not code" },
      { cell_type: "code", source: "await ln.finish();" },
    ],
  });
  assertEquals(
    notebookSource(ipynb),
    "// %%\nconst a = 1;\nconsole.log(a);\n\n// %%\nawait ln.finish();\n",
  );
  assertEquals(notebookSource(JSON.stringify({ cells: "broken" })), "");
});
