// The README's test command: runs every test (including the JSDoc examples)
// and closes with one "N passed, N failed" line. In CI (CI=true) a skipped
// test group is a failure: every peer must be installed.
const ci = Deno.env.get("CI") === "true";
const args = ["test", "-A", "--doc", "--parallel", ...Deno.args];
console.error(`$ deno ${args.join(" ")}${ci ? "   (CI: no test may be skipped)" : ""}`);

// Populate node_modules once, before parallel test workers and the processes
// they start (kernels, children) would each set it up at the same time.
const install = await new Deno.Command(Deno.execPath(), {
  args: ["install"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!install.success) {
  console.log("\n0 passed, 1 failed");
  Deno.exit(1);
}

// Every temporary file and folder of the run (tests' temp dirs, PostgreSQL
// servers' data, kernels' scratch) goes under one folder, removed at the end
// with any server still running there: a test that does not clean up, or a
// run stopped midway, leaves nothing behind (they added up to tens of GB).
// Traversable by others: PostgreSQL runs as its own user in there.
const tmp = await Deno.makeTempDir({ prefix: "lamindeno-tests-" });
await Deno.chmod(tmp, 0o755);

const child = new Deno.Command(Deno.execPath(), {
  args,
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1", TMPDIR: tmp },
}).spawn();
const stop = () => {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

// Stream the output through while keeping the last lines for the summary.
const decoder = new TextDecoder();
let tail = "";
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-20_000);
}
const status = await child.status;
await removeRunTemp(tmp);

/** Stop the PostgreSQL servers left running under `dir` (immediate shutdown), then remove it. */
async function removeRunTemp(dir: string): Promise<void> {
  const pids: number[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory || !e.name.startsWith("lamindeno-pg-")) continue;
    const pid = await Deno.readTextFile(`${dir}/${e.name}/data/postmaster.pid`)
      .then((t) => Number(t.split("\n")[0]), () => NaN);
    if (Number.isSafeInteger(pid) && pid > 0) {
      try {
        Deno.kill(pid, "SIGQUIT");
        pids.push(pid);
      } catch { /* not running */ }
    }
  }
  // Gone once signal 0 fails (up to ~5 s).
  for (let i = 0; i < 50 && pids.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    for (let k = pids.length - 1; k >= 0; k--) {
      try {
        Deno.kill(pids[k], "SIGCONT");
      } catch {
        pids.splice(k, 1);
      }
    }
  }
  await Deno.remove(dir, { recursive: true }).catch((e) =>
    console.error(`could not remove the run's temporary folder ${dir}: ${e.message}`)
  );
}

const count = (label: string): number => {
  const all = [...tail.matchAll(new RegExp(`(\\d+) ${label}`, "g"))];
  return all.length ? Number(all[all.length - 1][1]) : 0;
};
const summary = tail.split("\n").findLast((l) => /^(ok|FAILED) \|/.test(l.trim()));
let passed = 0, failed = 0, ignored = 0;
if (summary) {
  passed = count("passed");
  failed = count("failed");
  ignored = count("ignored");
} else if (!status.success) {
  failed = 1; // deno could not even run the tests (type error, missing permission)
}

console.log("");
if (ignored > 0) {
  console.log(`${ignored} test(s) were skipped${ci ? " — not allowed in CI" : ""}`);
}
const ciFailure = ci && ignored > 0 ? 1 : 0;
console.log(`${passed} passed, ${failed + ciFailure} failed`);
Deno.exit(status.success && !ciFailure ? 0 : 1);
