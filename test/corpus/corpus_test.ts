// The damaged-file corpus (_make_corpus.ts) through load(), stream() and
// backed(), in child processes watched for time and memory. Done means:
// no crash (a child that dies), no hang (the watchdog), no raw error (every
// error a LaminError), no silently wrong result (per case class: a
// successful read equals the seed's, or the case must fail), peak memory
// under 1 GiB per child.
import { assert, tempDir } from "../_helpers.ts";
import { needsPython } from "../_python.ts";
import type { Outcome } from "./_child.ts";
import { type Case, makeCorpus, SEEDS, writeSeeds } from "./_make_corpus.ts";

const py = needsPython("damaged-file corpus", "anndata", "h5py", "pandas", "PIL", "zarr");

const CHILD = new URL("./_child.ts", import.meta.url).pathname;
/** A child with no progress for this long is hung. */
const WATCHDOG_MS = 30_000;
/** Resident memory a child may reach. */
const MEMORY_CAP = 1 << 30;
const BATCH = 40;
const PARALLEL = 2;

interface CaseResult {
  n: number;
  save?: Outcome;
  ops: Record<string, Outcome>;
  /** Set by the parent: the child died or was killed during this case. */
  fatal?: "crash" | "hang" | "memory";
}

function rssOf(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s*(\d+)/.exec(s)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Run `cases[from..]` in one child until it ends or dies; the results got,
 * where it stopped, and its peak memory.
 */
async function runChild(
  dir: string,
  cases: Case[],
  from: number,
  to: number,
): Promise<{ results: CaseResult[]; next: number; peak: number }> {
  const batchFile = `${dir}/batch-${from}.json`;
  await Deno.writeTextFile(
    batchFile,
    JSON.stringify({ cases: cases.slice(from, to), first: from }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=1024", CHILD, batchFile],
    stdout: "piped",
    stderr: "null",
    env: { LAMIN_LOG_LEVEL: "error" },
  }).spawn();
  const results: CaseResult[] = [];
  let current = -1, peak = 0, last = Date.now();
  let killed: "hang" | "memory" | undefined;
  const timer = setInterval(() => {
    const rss = rssOf(child.pid);
    peak = Math.max(peak, rss);
    if (killed) return;
    if (rss > MEMORY_CAP) killed = "memory";
    else if (Date.now() - last > WATCHDOG_MS) killed = "hang";
    if (killed) child.kill("SIGKILL");
  }, 50);
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    buf += dec.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      last = Date.now();
      if (line.startsWith("START ")) current = Number(line.slice(6));
      else if (line.startsWith("RESULT ")) {
        results.push(JSON.parse(line.slice(7)));
        current = -1;
      } else if (line.startsWith("PEAK ")) peak = Math.max(peak, Number(line.slice(5)) * 1024);
    }
  }
  const status = await child.status;
  clearInterval(timer);
  if (current >= 0) {
    results.push({ n: current, ops: {}, fatal: killed ?? "crash" });
    return { results, next: current + 1, peak };
  }
  if (!status.success && results.length < to - from) {
    // Died between cases: blame the next one.
    const n = from + results.length;
    results.push({ n, ops: {}, fatal: killed ?? "crash" });
    return { results, next: n + 1, peak };
  }
  return { results, next: to, peak };
}

/** Run every case, `PARALLEL` children at a time, resuming after a case that killed its child. */
async function runAll(
  dir: string,
  cases: Case[],
): Promise<{ results: CaseResult[]; peak: number }> {
  const batches: [number, number][] = [];
  for (let i = 0; i < cases.length; i += BATCH) {
    batches.push([i, Math.min(cases.length, i + BATCH)]);
  }
  const results: CaseResult[] = [];
  let peak = 0;
  const worker = async () => {
    while (batches.length) {
      let [from, to] = batches.shift()!;
      while (from < to) {
        const r = await runChild(dir, cases, from, to);
        results.push(...r.results);
        peak = Math.max(peak, r.peak);
        from = r.next;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return { results: results.sort((a, b) => a.n - b.n), peak };
}

/** Why a case's outcome breaks the rules, or undefined. */
function violation(c: Case, r: CaseResult, ref: Record<string, Outcome> | undefined): string[] {
  if (r.fatal) return [`${r.fatal}`];
  const out: string[] = [];
  if (r.save && !r.save.ok && !r.save.lamin) {
    out.push(`save: raw ${r.save.name}: ${r.save.message}`);
  }
  for (const [op, o] of Object.entries(r.ops)) {
    if (!o.ok) {
      if (!o.lamin) out.push(`${op}: raw ${o.name}: ${o.message}`);
      continue;
    }
    if (c.expect === "error") out.push(`${op}: read without error`);
    else if (c.expect === "equal-or-error") {
      const want = ref?.[op];
      if (!want?.ok || want.digest !== o.digest) out.push(`${op}: silently different result`);
    }
  }
  return out;
}

Deno.test({
  name:
    "the damaged-file corpus (>= 200 cases) gives no crash, hang, raw error or silently wrong result in load(), stream() and backed(), each child under 1 GiB",
  ...py,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir("lamindeno-corpus-");
    try {
      const seeds = `${dir}/seeds`;
      await Deno.mkdir(seeds);
      await writeSeeds(seeds);
      const cases = await makeCorpus(seeds, `${dir}/cases`);
      assert(cases.length >= 200, `the corpus has ${cases.length} cases`);
      // The references: each valid seed read undamaged (must succeed).
      const refSeeds = [...SEEDS.h5ad, ...SEEDS.zarr, ...SEEDS.other];
      const refCases: Case[] = refSeeds.map((s) => ({
        id: `seed/${s}`,
        cls: "seed",
        path: `${seeds}/${s}`,
        key: `seeds/${s}`,
        seed: s,
        expect: "any",
      }));
      const refRun = await runChild(dir, refCases, 0, refCases.length);
      const refs: Record<string, Record<string, Outcome>> = {};
      for (const r of refRun.results) {
        const seed = refSeeds[r.n];
        assert(!r.fatal && !r.save, `seed ${seed} saves: ${JSON.stringify(r)}`);
        assert(r.ops.load.ok, `seed ${seed} loads: ${JSON.stringify(r.ops.load)}`);
        refs[seed] = r.ops;
      }
      const started = performance.now();
      const { results, peak } = await runAll(dir, cases);
      const seconds = (performance.now() - started) / 1000;

      const byOutcome = new Map<string, number>();
      const byClass = new Map<string, Map<string, number>>();
      const bad: string[] = [];
      let different = 0;
      for (const r of results) {
        const c = cases[r.n];
        const ref = refs[c.seed];
        const kinds = r.fatal
          ? [r.fatal]
          : r.save && !r.save.ok
          ? [`save ${r.save.name}`]
          : Object.entries(r.ops).map(([op, o]) => {
            if (!o.ok) return o.name;
            const want = ref?.[op];
            if (want?.ok && want.digest === o.digest) return "ok (equal)";
            different++;
            return "ok (different)";
          });
        for (const k of kinds) byOutcome.set(k, (byOutcome.get(k) ?? 0) + 1);
        const cls = byClass.get(c.cls) ?? new Map<string, number>();
        for (const k of kinds) cls.set(k, (cls.get(k) ?? 0) + 1);
        byClass.set(c.cls, cls);
        for (const v of violation(c, r, refs[c.seed])) bad.push(`${c.id} (${c.path}): ${v}`);
      }
      console.log(
        `corpus: ${cases.length} cases, ${results.length} results in ${seconds.toFixed(0)} s, ` +
          `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB; outcomes (per op):`,
        Object.fromEntries([...byOutcome].sort()),
      );
      for (const [cls, m] of byClass) console.log(`  ${cls}:`, Object.fromEntries([...m].sort()));
      console.log(
        `  successful reads differing from the seed (only where the class allows it): ${different}`,
      );
      assert(results.length === cases.length, `every case has a result (${results.length})`);
      assert(bad.length === 0, `${bad.length} violations:\n${bad.join("\n")}`);
      assert(peak < MEMORY_CAP, `peak RSS ${peak} bytes`);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
