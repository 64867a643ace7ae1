// Lazy tables: a 1% filter of a 10M-row parquet, file.open() (a scan, the
// filter pushed down) then collect(), against file.load() then filter. Each
// side runs in its own process under `/usr/bin/time -v` (time and peak RSS).
//
//   deno run -A bench/tables.ts [rows=10000000]
//
// The parquet is written once by polars into bench/.cache/tables/ (row
// groups of polars' default size) and registered in place there.
import pl from "nodejs-polars";
import * as ln from "../mod.ts";

const DIR = new URL("./.cache/tables/", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const MB = 1e6;

// 1% of the rows two ways: spread over every row group (id % 100 == 7), and
// contiguous (the first 1% of ids), where row-group statistics skip the rest.
const FILTERS: Record<string, { label: string; expr: (n: number) => pl.Expr }> = {
  spread: { label: "id % 100 == 7", expr: () => pl.col("id").modulo(100).eq(7) },
  range: { label: "id < n / 100", expr: (n) => pl.col("id").lt(n / 100) },
};

async function child(mode: string, key: string, filter: string, n: number) {
  const FILTER = () => FILTERS[filter].expr(n);
  await ln.init({ storage: DIR });
  ln.settings.trackRunInputs = false;
  const file = await ln.File.get({ key });
  const t0 = performance.now();
  let rows = 0;
  if (mode === "open") {
    const lf = await file.open() as ln.LazyFrame;
    rows = (await lf.filter(FILTER()).collect()).height;
  } else if (mode === "load") {
    const df = await file.load() as pl.DataFrame;
    rows = df.filter(FILTER()).height;
  }
  const seconds = (performance.now() - t0) / 1000;
  await ln.close();
  return { seconds, rows };
}

async function measured(mode: string, key: string, filter = "spread", n = 0) {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", Deno.execPath(), "run", "-A", SELF, "--child", mode, key, filter, String(n)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${mode} failed:\n${err}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1]);
  const wall = /Elapsed \(wall clock\) time.*: (.*)/.exec(err)?.[1];
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { ...(r as { seconds: number; rows: number }), peakRss: kb * 1024, wall };
}

async function main() {
  const n = Number(Deno.args[0] ?? 10_000_000);
  await Deno.mkdir(DIR, { recursive: true });
  const key = `table_${n}.parquet`;
  const path = `${DIR}${key}`;
  if (!(await Deno.stat(path).then(() => true, () => false))) {
    console.error(`writing ${path} (once) ...`);
    const id = Int32Array.from({ length: n }, (_, i) => i);
    pl.DataFrame({
      id: pl.Series("id", id),
      group: pl.Series("g", Int32Array.from(id, (i) => i % 1000)).cast(pl.Utf8),
      score: pl.Series("score", Float64Array.from(id, (i) => (i * 7919) % 10007 / 100)),
      depth: pl.Series("depth", Int32Array.from(id, (i) => (i * 31) % 5000)),
    }).writeParquet(`${path}.tmp`);
    await Deno.rename(`${path}.tmp`, path);
  }
  await ln.init({ storage: DIR });
  if ((await ln.File.filter({ key })).length === 0) await new ln.File(path, { key }).save();
  await ln.close();
  const size = (await Deno.stat(path)).size;
  console.log(
    `parquet: ${n.toLocaleString()} rows x 4 columns, ${(size / MB).toFixed(0)} MB; ` +
      `filters selecting 1%`,
  );
  const base = await measured("baseline", key);
  console.log(
    `baseline (Deno, polars, instance; no data): peak RSS ${(base.peakRss / MB).toFixed(0)} MB`,
  );
  console.log("| filter | read | rows | time (in process, best of 2) | peak RSS |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const filter of Object.keys(FILTERS)) {
    for (
      const [mode, what] of [["open", "open().filter().collect()"], ["load", "load(), filter"]]
    ) {
      const runs = [await measured(mode, key, filter, n), await measured(mode, key, filter, n)];
      const best = runs.sort((a, b) => a.seconds - b.seconds)[0];
      console.log(
        `| ${FILTERS[filter].label} | ${what} | ${best.rows.toLocaleString()} | ${
          best.seconds.toFixed(2)
        } s | ${(best.peakRss / MB).toFixed(0)} MB |`,
      );
    }
  }
}

if (Deno.args[0] === "--child") {
  const [, mode, key, filter, n] = Deno.args;
  console.log(JSON.stringify(await child(mode, key, filter, Number(n))));
} else {
  await main();
}
