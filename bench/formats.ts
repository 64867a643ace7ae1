// Format loading, ours and Python's side by side in one run:
//   a 200,000 x 2,000 CSR h5ad: ln.readH5ad vs anndata.read_h5ad
//   a 1,000,000-row csv:        File.load() (polars) vs pandas.read_csv
// Each side is timed in-process (interpreter start and imports excluded),
// best of 3. Inputs are written once by Python into bench/.cache/.
import * as ln from "../mod.ts";
import { readTable } from "../src/formats/tables.ts";

const CACHE = new URL("./.cache/", import.meta.url).pathname;
const PY = "/usr/bin/python3";

async function py(script: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(PY, { args: ["-c", script, ...args], stderr: "inherit" })
    .output();
  if (!out.success) throw new Error(`python failed: ${script.slice(0, 80)}`);
  return new TextDecoder().decode(out.stdout);
}

/** A cached input built by bench/_fixtures.py. */
export async function fixture(what: "atlas" | "table"): Promise<string> {
  await Deno.mkdir(CACHE, { recursive: true });
  const path = `${CACHE}${what === "atlas" ? "atlas_python.h5ad" : "table_1m.csv"}`;
  if (!(await Deno.stat(path).then(() => true, () => false))) {
    console.error(`building ${path} with Python (once) ...`);
    const script = new URL("./_fixtures.py", import.meta.url).pathname;
    const r = await new Deno.Command(PY, { args: [script, what, `${path}.tmp`] }).output();
    if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
    await Deno.rename(`${path}.tmp`, path);
  }
  return path;
}

async function best(n: number, fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}

const PY_TIMER = `
import sys, time
what, path = sys.argv[1], sys.argv[2]
if what == "h5ad":
    import anndata as ad
    load = lambda: ad.read_h5ad(path)
else:
    import pandas as pd
    load = lambda: pd.read_csv(path)
times = []
for _ in range(3):
    t = time.perf_counter(); load(); times.append(time.perf_counter() - t)
print(min(times))
`;

function row(label: string, ours: number, ref: number, target: string) {
  console.log(
    `${label.padEnd(44)} ours ${ours.toFixed(3)} s   python ${ref.toFixed(3)} s   ` +
      `ratio ${(ours / ref).toFixed(2)}x   (target ${target})`,
  );
}

if (import.meta.main) {
  const atlas = await fixture("atlas");
  const table = await fixture("table");
  const size = (await Deno.stat(atlas)).size;
  console.log(`inputs: ${atlas} (${(size / 1e6).toFixed(0)} MB), ${table}`);

  const oursH5ad = await best(3, () => ln.readH5ad(atlas));
  const pyH5ad = Number(await py(PY_TIMER, "h5ad", atlas));
  row("load 200k x 2000 CSR h5ad (read_h5ad)", oursH5ad, pyH5ad, "<= 1x");

  const oursCsv = await best(3, () => readTable(table, ".csv"));
  const pyCsv = Number(await py(PY_TIMER, "csv", table));
  row("load 1M-row csv (pandas.read_csv)", oursCsv, pyCsv, "<= 1x");
}
