// Out of core: a 10% query of a large CSR h5ad read with file.batches()
// versus file.stream() (all selected rows at once), each in its own process
// under `/usr/bin/time -v` for its peak RSS. Target: batches' peak RSS <=
// 2 x one batch + 150 MB.
//
//   deno run -A bench/batches.ts [nObs=1000000] [nVars=2000] [perRow=250] [batchSizes=10000,50000] [reps=1]
//
// Each mode runs `reps` times (fresh processes); peak RSS and CPU time are
// given as min–max over them, with the load average, and the RSS after
// each batch arrived (of the last run) shows whether anything accumulates.
//
// The atlas is written block by block by bench/_atlas_blocks.py (h5py, never
// whole in memory) into bench/.cache/batches/, once per size, and registered
// in place in an instance there. Every 10th cell is a "T cell": the query
// selects exactly 10%, scattered.
import * as ln from "../mod.ts";

const DIR = new URL("./.cache/batches/", import.meta.url).pathname;
const PY = "/usr/bin/python3";
const SELF = new URL(import.meta.url).pathname;
const MB = 1e6;

interface ChildResult {
  seconds: number;
  rows: number;
  batches: number;
  /** Bytes of the largest batch's X (data, indices, indptr) and obs names. */
  batchBytes: number;
  bytesRead: number;
  /** The process's RSS (MB) after each batch arrived (batches mode). */
  rssAfter: number[];
}

function batchBytes(a: ln.AnnData): number {
  const x = a.X as ln.CsrMatrix | undefined;
  const names = a.obsNames.reduce((n, s) => n + s.length, 0);
  return (x ? x.data.byteLength + x.indices.byteLength + x.indptr.byteLength : 0) + names;
}

async function child(mode: string, key: string, batchSize: number): Promise<ChildResult> {
  await ln.init({ storage: DIR });
  ln.settings.trackRunInputs = false;
  const file = await ln.File.get({ key });
  const subsetObs = file.subsetter().cell_type.eq("T cell");
  const io = { bytesRead: 0, requests: 0 };
  const t0 = performance.now();
  let rows = 0, batches = 0, most = 0;
  const rssAfter: number[] = [];
  if (mode === "batches") {
    for await (const b of file.batches({ subsetObs, batchSize, io })) {
      rows += b.nObs;
      batches++;
      most = Math.max(most, batchBytes(b));
      rssAfter.push(Math.round(Deno.memoryUsage().rss / MB));
    }
  } else if (mode === "stream") {
    const a = await file.stream({ subsetObs, io });
    [rows, batches, most] = [a.nObs, 1, batchBytes(a)];
  } // "baseline": the process, polars and the instance, no data
  const seconds = (performance.now() - t0) / 1000;
  await ln.close();
  return { seconds, rows, batches, batchBytes: most, bytesRead: io.bytesRead, rssAfter };
}

async function measured(mode: string, key: string, batchSize: number) {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", Deno.execPath(), "run", "-A", SELF, "--child", mode, key, String(batchSize)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${mode} failed:\n${err}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1]);
  const cpu = ["User", "System"].reduce(
    (t, k) => t + Number(new RegExp(`${k} time \\(seconds\\): ([\\d.]+)`).exec(err)?.[1] ?? 0),
    0,
  );
  const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { ...(result as ChildResult), peakRss: kb * 1024, cpu };
}

async function main() {
  const [nObs = 1_000_000, nVars = 2_000, perRow = 250] = Deno.args.slice(0, 3).map(Number);
  const sizes = (Deno.args[3] ?? "10000,50000").split(",").map(Number);
  await Deno.mkdir(DIR, { recursive: true });
  const key = `atlas_${nObs}x${nVars}_${perRow}.h5ad`;
  const path = `${DIR}${key}`;
  if (!(await Deno.stat(path).then(() => true, () => false))) {
    console.error(`writing ${path} with Python (once) ...`);
    const t0 = performance.now();
    const script = new URL("./_atlas_blocks.py", import.meta.url).pathname;
    const r = await new Deno.Command(PY, {
      args: [script, `${path}.tmp`, String(nObs), String(nVars), String(perRow)],
      stderr: "inherit",
    }).output();
    if (!r.success) throw new Error("the atlas generator failed");
    await Deno.rename(`${path}.tmp`, path);
    console.error(`written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  await ln.init({ storage: DIR });
  if ((await ln.File.filter({ key })).length === 0) await new ln.File(path, { key }).save();
  await ln.close();
  const size = (await Deno.stat(path)).size;
  console.log(
    `atlas: ${nObs.toLocaleString()} x ${nVars.toLocaleString()} CSR, ${perRow} values a row, ` +
      `${(size / MB).toFixed(0)} MB; query: cell_type == "T cell" (every 10th row)`,
  );
  const reps = Number(Deno.args[4] ?? 1);
  const span = (xs: number[], f: (x: number) => string) => {
    const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
    return f(lo) === f(hi) ? f(lo) : `${f(lo)}–${f(hi)}`;
  };
  const load = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  const repeat = async (mode: string, bs: number) => {
    const runs = [];
    for (let i = 0; i < reps; i++) runs.push(await measured(mode, key, bs));
    return runs;
  };
  const base = await repeat("baseline", 1);
  console.log(
    `baseline (Deno, polars, instance; no data): peak RSS ${
      span(base.map((r) => r.peakRss / MB), (x) => x.toFixed(0))
    } MB (load ${await load()})`,
  );
  const rows: string[][] = [];
  const row = (label: string, runs: Awaited<ReturnType<typeof repeat>>, bounded: boolean) => {
    const r = runs.at(-1)!;
    const bound = 2 * r.batchBytes + 150 * MB;
    const peaks = runs.map((x) => x.peakRss / MB);
    return [
      label,
      `${span(runs.map((x) => x.seconds), (x) => x.toFixed(2))} s`,
      `${span(runs.map((x) => x.cpu), (x) => x.toFixed(1))} s`,
      `${r.batches} x ${(r.batchBytes / MB).toFixed(1)} MB`,
      `${span(peaks, (x) => x.toFixed(0))} MB`,
      bounded ? `${(bound / MB).toFixed(0)} MB` : "—",
      bounded ? (Math.max(...peaks) <= bound / MB ? "yes" : "NO") : "—",
      `${(r.bytesRead / MB).toFixed(0)} MB`,
    ];
  };
  for (const bs of sizes) {
    const runs = await repeat("batches", bs);
    rows.push(row(`batches(${bs.toLocaleString()})`, runs, true));
    console.log(
      `batches(${bs}): RSS after each batch (MB, last run): ${runs.at(-1)!.rssAfter.join(", ")} ` +
        `(load ${await load()})`,
    );
  }
  rows.push(row("stream() at once", await repeat("stream", 0), false));
  console.log(
    "| read | time | CPU (user+sys) | batches x largest | peak RSS | 2 x batch + 150 MB | within " +
      "| bytes read |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(`load average at the end: ${await load()}`);
}

if (Deno.args[0] === "--child") {
  const [, mode, key, bs] = Deno.args;
  console.log(JSON.stringify(await child(mode, key, Number(bs))));
} else {
  await main();
}
