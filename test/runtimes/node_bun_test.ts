// Node and Bun importers. JSR serves the same code to them, so: the library
// reaches the runtime only through src/_runtime.ts (node: built-ins, which
// all three have), the shipped code has no syntax or API Node 20 lacks, and
// the proof: `deno bundle` turns mod.ts into one ES module (npm packages left
// as imports, syntax untouched, so Node parses what we ship), npm installs
// the dependencies at the versions deno.json pins (cached under
// ~/.cache/lamindeno-runtimes-*), and smoke.mjs runs under `node` and under
// Bun (from npm): init, save a DataFrame and an h5ad, filter, load, stream.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const SHIPPED = ["mod.ts", "src/"];
/** deno.json imports the tests use, never the package. */
const TEST_ONLY = new Set(["s3rver"]);
/** Bun, from npm, at the version the smoke runs were made with. */
const BUN = "1.4.5";

const decoder = new TextDecoder();

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    ok: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

async function shippedFiles(): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    const info = await Deno.stat(join(ROOT, rel));
    if (info.isFile) {
      if (rel.endsWith(".ts")) out.push(rel);
      return;
    }
    for await (const e of Deno.readDir(join(ROOT, rel))) await visit(join(rel, e.name));
  };
  for (const s of SHIPPED) await visit(s);
  return out.sort();
}

/** Source without comments (JSDoc examples are for Deno readers); strings stay. */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Lines of `src` (comments removed) that match `re`, as `file:line: text`. */
async function offending(re: RegExp, except: string[] = []): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await shippedFiles()) {
    if (except.includes(file)) continue;
    const lines = code(await Deno.readTextFile(join(ROOT, file))).split("\n");
    lines.forEach((l, i) => {
      if (re.test(l)) hits.push(`${file}:${i + 1}: ${l.trim()}`);
    });
  }
  return hits;
}

/** A use of the Deno global: `Deno.x` outside comments, not inside a string. */
const DENO_USE = /(^|[^\w.$"'`])Deno\s*\.\s*[A-Za-z]/;

Deno.test("outside src/_runtime.ts the shipped code never touches the Deno global (kernel/ and cli/ run under deno only)", async () => {
  const hits = await offending(DENO_USE, ["src/_runtime.ts"]);
  assertEquals(hits, [], "go through src/_runtime.ts (node: built-ins) instead");
  // The check itself sees a use, and only a use.
  assert(DENO_USE.test(code("const x = await Deno.readFile(p);")));
  assert(DENO_USE.test(code("if (x) Deno.exit(1);")));
  assert(!DENO_USE.test(code("/** await Deno.readFile(p) */ f(); // Deno.x")));
  assert(!DENO_USE.test(code('const inspect = Symbol.for("Deno.customInspect");')));
});

/** Syntax and built-ins Node 20 does not have (each would fail there only at run time). */
const NOT_IN_NODE_20: [string, RegExp][] = [
  ["`using` declarations", /(^|[;{}]\s*|^\s*)(await\s+)?using\s+[\w$[{]+\s*=/],
  ["Array.fromAsync (use collect from src/_runtime.ts)", /\bArray\.fromAsync\b/],
  ["Promise.withResolvers", /\bPromise\.withResolvers\b/],
  ["Promise.try", /\bPromise\.try\b/],
  ["Object.groupBy / Map.groupBy", /\b(Object|Map)\.groupBy\b/],
  [
    "iterator helpers",
    /\bIterator\.from\b|\.(keys|values|entries)\(\)\.(map|filter|take|drop|flatMap|reduce|toArray|some|every|find|forEach)\(/,
  ],
  [
    "Set methods",
    /(?<!\bz)\.(union|intersection|difference|symmetricDifference|isSubsetOf|isSupersetOf|isDisjointFrom)\(/,
  ],
  ["Uint8Array base64/hex", /\bUint8Array\.from(Base64|Hex)\b|\.to(Base64|Hex)\(\)/],
  [
    "RegExp.escape / Error.isError / Float16Array",
    /\bRegExp\.escape\b|\bError\.isError\b|\bFloat16Array\b/,
  ],
  ["import.meta.main", /\bimport\.meta\.main\b/],
  ["global events (watchUncaught in src/_runtime.ts)", /\bglobalThis\.(add|remove)EventListener\b/],
];

Deno.test("the shipped code uses no syntax or built-in that Node 20 lacks", async () => {
  for (const [what, re] of NOT_IN_NODE_20) {
    assertEquals(await offending(re, ["src/_runtime.ts"]), [], `${what}: not in Node 20`);
  }
  assert(NOT_IN_NODE_20[0][1].test("  using f = await open(p);"));
  assert(NOT_IN_NODE_20[0][1].test("  await using s = x;"));
  assert(!NOT_IN_NODE_20[0][1].test("  const using = 1; // File.using(inst)"));
  assert(!NOT_IN_NODE_20[6][1].test("z.union([a, b])"));
});

// ---------------------------------------------------------------- the smoke runs

interface Prepared {
  dir: string;
  bun: string;
}

let prepared: Promise<Prepared> | undefined;

/** The npm dependencies installed (once per set of versions) and the bundle next to them. */
function prepare(): Promise<Prepared> {
  return prepared ??= (async () => {
    const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
    const imports = config.imports as Record<string, string>;
    const deps: Record<string, string> = {};
    for (const target of Object.values(imports)) {
      const m = target.match(/^npm:(@?[^@/]+(?:\/[^@/]+)?)@([^/]+)/);
      if (m && !TEST_ONLY.has(m[1])) deps[m[1]] = m[2];
    }
    assert(deps["nodejs-polars"] && deps["kysely"], "deno.json pins the npm dependencies");
    // nodejs-polars' platform binaries declare node >= 22, so npm skips them
    // (an optional dependency) under Node 20; they work there: ask for ours.
    if (Deno.build.os === "linux" && Deno.build.arch === "x86_64") {
      deps["nodejs-polars-linux-x64-gnu"] = deps["nodejs-polars"];
    }
    deps["bun"] = BUN;
    const pkg = JSON.stringify({ private: true, type: "module", dependencies: deps }, null, 2);
    const tag = createHash("sha256").update(pkg).digest("hex").slice(0, 12);
    const home = Deno.env.get("HOME") ?? "/tmp";
    const cache = Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache");
    const dir = join(cache, `lamindeno-runtimes-${tag}`);
    const done = join(dir, "node_modules", ".lamindeno-installed");
    if (!(await Deno.stat(done).catch(() => undefined))) {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "package.json"), pkg);
      const npm = await run("npm", ["install", "--no-audit", "--no-fund"], dir);
      assert(npm.ok, `npm install failed:\n${npm.stderr}`);
      await Deno.writeTextFile(done, pkg);
    }
    // This run's bundle, in a folder of its own below the installed node_modules.
    const work = await Deno.makeTempDir({ dir, prefix: "run-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
    const externals = Object.keys(imports).flatMap((
      k,
    ) => ["--external", k, "--external", `${k}/*`]);
    const bundle = await run(Deno.execPath(), [
      "bundle",
      "--platform",
      "deno",
      "--format",
      "esm",
      ...externals,
      "-o",
      join(work, "lamindeno.mjs"),
      "mod.ts",
    ], ROOT);
    assert(bundle.ok, `deno bundle failed:\n${bundle.stderr}`);
    await Deno.copyFile(join(ROOT, "test/runtimes/smoke.mjs"), join(work, "smoke.mjs"));
    return { dir: work, bun: join(dir, "node_modules", ".bin", "bun") };
  })();
}

const EXPECTED = {
  run: { status: "completed", transform: "smoke.mjs" },
  files: "tables/cells.parquet,atlas.h5ad,atlas.zarr",
  table: { height: 3, width: 2 },
  streamed: { obs: ["o2", "o4"], X: [0, 2, 0, 4] },
};

async function smoke(cmd: string, dir: string, mode?: string): Promise<Record<string, unknown>> {
  const r = await run(cmd, ["smoke.mjs", ...(mode ? [mode] : [])], dir);
  assert(r.ok, `${cmd} smoke.mjs ${mode ?? ""} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

Deno.test("the bundled package runs under Node 20: init, save a DataFrame and an h5ad, filter, load, stream a query, tracked", async () => {
  const { dir } = await prepare();
  const { runtime, ...seen } = await smoke("node", dir);
  assertEquals(seen, EXPECTED);
  const major = Number(String(runtime).match(/^node (\d+)\./)?.[1]);
  assert(major >= 20, `${runtime}: the package supports Node 20 and later`);
});

Deno.test("the bundled package runs under Bun: init, save a DataFrame and an h5ad, filter, load, stream a query, tracked", async () => {
  const { dir, bun } = await prepare();
  assertEquals(await smoke(bun, dir), { runtime: `bun ${BUN}`, ...EXPECTED });
});

Deno.test("under Node and Bun a tracked script that throws exits with its error and leaves its run errored", async () => {
  const { dir, bun } = await prepare();
  for (const cmd of ["node", bun]) {
    assertEquals((await smoke(cmd, dir, "errored")).runs, ["errored"], cmd);
  }
});

Deno.test("JSR: deno publish --dry-run passes without a warning (slow types, dynamic imports) and deno doc --lint is clean", async () => {
  const publish = await run(Deno.execPath(), ["publish", "--dry-run", "--allow-dirty"], ROOT);
  assert(publish.ok, publish.stderr);
  const out = publish.stdout + publish.stderr;
  assert(out.includes("Dry run complete"), out);
  assert(!/warning|error/i.test(out.replace(/^\s+file:\/\/\S+.*$/gm, "")), out);
  const doc = await run(Deno.execPath(), [
    "doc",
    "--lint",
    "mod.ts",
    "kernel/main.ts",
    "cli/main.ts",
  ], ROOT);
  assert(doc.ok, doc.stdout + doc.stderr);
});
