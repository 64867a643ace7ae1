// The lamindeno CLI, run as a subprocess the way a shell runs it: stdout,
// --json that parses, exit codes (0 ok, 1 the library refused, 2 usage,
// 3 fsck problems) and --help for every command.
import { assert, assertEquals, listTree, tempDir } from "../_helpers.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temp working dir and LAMINDENO_HOME, and `run(...args)` of the CLI in them. */
async function sandbox() {
  const dir = await tempDir();
  const home = `${dir}/.home`;
  const cwd = `${dir}/work`;
  await Deno.mkdir(cwd);
  const run = async (...args: string[]): Promise<Result> => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      cwd,
      env: { LAMINDENO_HOME: home, LAMIN_LOG_LEVEL: "info", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  };
  return {
    dir,
    home,
    cwd,
    run,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const show = (r: Result) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** No stack trace: a library refusal is its message only. */
function assertNoStack(r: Result): void {
  assert(!/^\s+at /m.test(r.stderr), show(r));
}

Deno.test("every command answers --help with its usage on stdout and exit 0", async () => {
  await using box = await sandbox();
  const commands = ["init", "info", "ls", "view", "save", "get", "load", "lineage", "fsck"];
  const runs = [
    ["--help"],
    ["-h"],
    ["help"],
    ["help", "save"],
    ...commands.map((c) => [c, "--help"]),
    ["kernel", "--help"],
    ["kernel", "install", "--help"],
  ];
  for (const args of runs) {
    const r = await box.run(...args);
    assertEquals(r.code, 0, `${args.join(" ")}: ${show(r)}`);
    assert(r.stdout.startsWith("usage: "), `${args.join(" ")}: ${show(r)}`);
    const [cmd] = args[0] === "help" ? [args[1]] : args;
    if (commands.includes(cmd)) {
      const name = cmd === "view" ? "ls" : cmd;
      assert(r.stdout.includes(`lamindeno ${name}`), `${args.join(" ")}: ${show(r)}`);
      assert(r.stdout.includes("--help"), show(r));
    }
  }
  const install = await box.run("kernel", "install", "--help");
  for (const o of ["--prefix", "--storage", "--db", "--deno", "--bin-dir"]) {
    assert(install.stdout.includes(o), install.stdout);
  }
  assertEquals(await listTree(box.dir), [], "help writes nothing");
});

Deno.test("bad usage exits 2 with the command's help on stderr; nothing written", async () => {
  await using box = await sandbox();
  const cases: [string[], RegExp][] = [
    [[], /usage: lamindeno <command>/],
    [["bogus"], /unknown command bogus/],
    [["help", "bogus"], /unknown command bogus/],
    [["ls", "--bogus"], /Unknown option '--bogus'[\s\S]*usage: lamindeno ls/],
    [["ls", "--limit", "x"], /--limit takes a positive whole number, got x/],
    [["ls", "--limit", "0"], /--limit takes a positive whole number/],
    [["save"], /save needs a PATH[\s\S]*usage: lamindeno save/],
    [["get", "a", "b"], /unexpected argument b/],
    [["get", "--key"], /Unknown option '--key'/],
    [["load"], /load needs a KEY/],
    [["lineage"], /lineage needs a KEY/],
    [["fsck", "extra"], /unexpected argument extra/],
    [["init", "--db", "x.db"], /these options need --storage/],
    [["init", "--storage"], /argument missing/],
    [["info", "--db", "x.db"], /--db needs --storage/],
    [["kernel"], /usage: lamindeno kernel install/],
    [["kernel", "uninstall"], /unknown subcommand uninstall/],
    [["kernel", "install", "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = await box.run(...args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${show(r)}`);
    assert(re.test(r.stderr), `${args.join(" ")}: ${show(r)}`);
    assertEquals(r.stdout, "", show(r));
  }
  assertEquals(await listTree(box.dir), []);
});

Deno.test("before init, commands exit 1 with the library's message and no stack; a malformed storage creates nothing", async () => {
  await using box = await sandbox();
  for (const cmd of ["info", "ls", "fsck"]) {
    const r = await box.run(cmd);
    assertEquals(r.code, 1, show(r));
    assert(r.stderr.includes("ValidationError: ln.init() without options"), show(r));
    assert(r.stderr.includes("lamindeno init --storage DIR"), show(r));
    assertNoStack(r);
  }
  for (const storage of ["s3:/x", "s3://", "ftp://x"]) {
    const r = await box.run("init", "--storage", storage);
    assertEquals(r.code, 1, show(r));
    assert(/ValidationError: storage: .* (not an S3 URI|not a storage)/.test(r.stderr), show(r));
    assertNoStack(r);
  }
  const missing = await box.run("init", "--storage", "data", "--no-create");
  assertEquals(missing.code, 1, show(missing));
  assert(missing.stderr.includes("NotFoundError"), show(missing));
  assertEquals(await listTree(box.dir), [], "nothing created");
});

Deno.test("init creates then opens, and makes the instance the default the other commands use", async () => {
  await using box = await sandbox();
  const root = `${box.cwd}/data`;
  const created = await box.run("init", "--storage", "data");
  assertEquals(created.code, 0, show(created));
  assertEquals(
    created.stdout,
    `created instance: registry ${root}/.lamindb/lamin.db, storage ${root} ` +
      `(now the default instance, in ${box.home}/settings.json)\n`,
  );
  const opened = await box.run("init", "--storage", "data", "--json");
  assertEquals(opened.code, 0, show(opened));
  assertEquals(JSON.parse(opened.stdout), {
    created: false,
    registry: { kind: "libsql", path: `${root}/.lamindb/lamin.db` },
    storage: root,
    settings: `${box.home}/settings.json`,
  });
  const again = await box.run("init");
  assertEquals(again.stdout.startsWith(`opened instance: registry ${root}/`), true, show(again));
  const info = await box.run("info", "--json");
  assertEquals(info.code, 0, show(info));
  const i = JSON.parse(info.stdout);
  assertEquals([i.instance, i.registry.path, i.storage.root, i.storage.type], [
    root,
    `${root}/.lamindb/lamin.db`,
    root,
    "local",
  ]);
  assertEquals(i.counts, { files: 0, runs: 0, transforms: 0, ulabels: 0 });
  assertEquals(typeof i.user.handle, "string");
  const text = await box.run("info");
  assert(text.stdout.includes(`instance    ${root}\n`), show(text));
  assert(/files\s+0\n/.test(text.stdout), show(text));
  const empty = await box.run("ls");
  assertEquals([empty.code, empty.stdout], [
    0,
    "no files yet: add one with `lamindeno save PATH`\n",
  ]);
});

Deno.test("save, ls, get, load and lineage: what they print, and their --json", async () => {
  await using box = await sandbox();
  assertEquals((await box.run("init", "--storage", "data")).code, 0);
  await Deno.writeTextFile(`${box.cwd}/cells.csv`, "cell,type\nc1,T\nc2,B\nc3,NK\n");
  const saved = await box.run(
    "save",
    "cells.csv",
    "--key",
    "raw/cells.csv",
    "--description",
    "three cells",
    "--json",
  );
  assertEquals(saved.code, 0, show(saved));
  const f = JSON.parse(saved.stdout);
  assertEquals([f.key, f.suffix, f.size, f.description], [
    "raw/cells.csv",
    ".csv",
    26,
    "three cells",
  ]);
  assertEquals(f.uri, `${box.cwd}/data/raw/cells.csv`);
  await Deno.writeTextFile(`${box.cwd}/notes.txt`, "line 1\nline 2\n");
  const plain = await box.run("save", "notes.txt", "--key", "notes.txt");
  assertEquals(plain.code, 0, show(plain));
  assert(
    /^saved file \w+: key notes\.txt, .*\/data\/notes\.txt\n$/.test(plain.stdout),
    show(plain),
  );

  const ls = await box.run("ls");
  assertEquals(ls.code, 0, show(ls));
  const lines = ls.stdout.trimEnd().split("\n");
  assertEquals(lines[0].split(/\s+/), ["id", "key", "suffix", "size", "updated"]);
  assertEquals(lines.length, 4, show(ls));
  assert(
    lines.some((l) => l.includes("raw/cells.csv") && l.includes(".csv") && l.includes("26 B")),
  );
  const limited = await box.run("view", "--limit", "1", "--json");
  assertEquals(limited.code, 0, show(limited));
  assertEquals(JSON.parse(limited.stdout).length, 1);
  const one = await box.run("ls", "--limit", "1");
  assert(one.stdout.includes("(1 of 2 files; --limit N shows more)"), show(one));

  const got = await box.run("get", "raw/cells.csv");
  assertEquals(got.code, 0, show(got));
  assertEquals(await Deno.readTextFile(got.stdout.trim()), "cell,type\nc1,T\nc2,B\nc3,NK\n");
  const gotJson = JSON.parse((await box.run("get", "raw/cells.csv", "--json")).stdout);
  assertEquals([gotJson.id, gotJson.key, gotJson.path], [f.id, "raw/cells.csv", got.stdout.trim()]);
  const none = await box.run("get", "no/such.csv");
  assertEquals(none.code, 1, show(none));
  assert(none.stderr.includes("NotFoundError"), show(none));
  assertNoStack(none);

  const load = await box.run("load", "raw/cells.csv", "--rows", "2");
  assertEquals(load.code, 0, show(load));
  assert(load.stdout.includes("shape: (2, 2)") && load.stdout.includes("c2"), show(load));
  assert(!load.stdout.includes("NK"), show(load));
  const text = await box.run("load", "notes.txt");
  assertEquals([text.code, text.stdout], [0, "line 1\nline 2\n\n"]);

  const lineage = await box.run("lineage", "raw/cells.csv");
  assertEquals([lineage.code, lineage.stdout], [0, `${box.cwd}/cells.csv.lineage.svg\n`]);
  assert((await Deno.readTextFile(`${box.cwd}/cells.csv.lineage.svg`)).includes("<svg"));
  const out = await box.run("lineage", "notes.txt", "--out", "n.svg");
  assertEquals([out.code, out.stdout], [0, `${box.cwd}/n.svg\n`]);

  const info = JSON.parse((await box.run("info", "--json")).stdout);
  assertEquals(info.counts.files, 2);
  // Another instance, named on the command line: the default is not changed.
  assertEquals((await box.run("init", "--storage", "other")).code, 0);
  const elsewhere = await box.run("ls", "--json", "--storage", "data");
  assertEquals(JSON.parse(elsewhere.stdout).length, 2, show(elsewhere));
  assertEquals(JSON.parse((await box.run("ls", "--json")).stdout), []);
});

Deno.test("fsck exits 0 when healthy and 3 with problems, with --json and --repair", async () => {
  await using box = await sandbox();
  assertEquals((await box.run("init", "--storage", "data")).code, 0);
  await Deno.writeTextFile(`${box.cwd}/a.txt`, "a");
  assertEquals((await box.run("save", "a.txt", "--key", "a.txt")).code, 0);
  const healthy = await box.run("fsck");
  assertEquals([healthy.code, healthy.stdout], [0, "healthy: every object as registered\n"]);
  assertEquals(JSON.parse((await box.run("fsck", "--json")).stdout), {
    leftovers: [],
    orphans: [],
    interrupted: [],
    missing: [],
    mismatched: [],
  });
  await Deno.remove(`${box.cwd}/data/a.txt`);
  await Deno.mkdir(`${box.cwd}/data/.lamindb/.tmp`, { recursive: true });
  await Deno.writeTextFile(`${box.cwd}/data/.lamindb/.tmp/left.part`, "x");
  const sick = await box.run("fsck", "--json");
  assertEquals(sick.code, 3, show(sick));
  const report = JSON.parse(sick.stdout);
  assertEquals([report.missing.length, report.leftovers.length], [1, 1]);
  const text = await box.run("fsck", "--no-hash");
  assertEquals(text.code, 3, show(text));
  assert(text.stdout.includes(`missing: ${box.cwd}/data/a.txt`), show(text));
  // Repair removes the leftover; the missing object is not repairable: still 3.
  const repaired = await box.run("fsck", "--repair");
  assertEquals(repaired.code, 3, show(repaired));
  const after = JSON.parse((await box.run("fsck", "--json")).stdout);
  assertEquals([after.missing.length, after.leftovers.length], [1, 0]);
});

Deno.test("kernel install through the CLI writes the kernelspec", async () => {
  await using box = await sandbox();
  const r = await box.run(
    "kernel",
    "install",
    "--prefix",
    `${box.dir}/prefix`,
    "--bin-dir",
    `${box.dir}/bin`,
  );
  assertEquals(r.code, 0, show(r));
  const spec = JSON.parse(
    await Deno.readTextFile(`${box.dir}/prefix/share/jupyter/kernels/lamindeno/kernel.json`),
  );
  assertEquals(spec.display_name, "Deno (lamindeno)");
  assertEquals(spec.argv.slice(1, 3), ["run", "-A"]);
});
