// The smoke run of the bundled package under Node and Bun (started by
// node_bun_test.ts, next to the bundle `lamindeno.mjs` and the npm
// dependencies): init, save a DataFrame and an h5ad, filter, load, stream a
// query, tracked as a run. Plain JavaScript with node: built-ins only, as a
// Node user writes it. Prints one JSON line of what it saw; exits non-zero on
// any difference. `smoke.mjs errored`: a tracked script that throws (run
// here as a child, `smoke.mjs throw ROOT`) leaves its run "errored" and exits
// as the runtime does for an uncaught error.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import pl from "nodejs-polars";
// The bundle exists only next to the installed dependencies (a computed
// specifier, so \`deno check test/\` does not look for it here).
const ln = await import(new URL("./lamindeno.mjs", import.meta.url).href);

const runtime = typeof globalThis.Bun === "object"
  ? `bun ${globalThis.Bun.version}`
  : `node ${process.versions.node}`;
const check = (ok, what) => {
  if (!ok) throw new Error(`smoke (${runtime}): ${what}`);
};

if (process.argv[2] === "throw") {
  await ln.init({ storage: process.argv[3] });
  await ln.track();
  throw new Error("smoke: thrown on purpose");
}

if (process.argv[2] === "errored") {
  const root = await mkdtemp(join(tmpdir(), "lamindeno-smoke-"));
  try {
    const child = spawnSync(process.execPath, [process.argv[1], "throw", root], {
      encoding: "utf8",
    });
    check(child.status !== 0, `the throwing script exits non-zero (${child.status})`);
    check(
      child.stderr.includes("smoke: thrown on purpose"),
      `its error is reported: ${child.stderr}`,
    );
    await ln.init({ storage: root });
    const runs = await ln.Run.filter({});
    await ln.close();
    console.log(JSON.stringify({ runtime, runs: runs.map((r) => r.status) }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  process.exit(0);
}

const root = await mkdtemp(join(tmpdir(), "lamindeno-smoke-"));
try {
  await ln.init({ storage: root });
  await ln.track();

  const cells = pl.DataFrame({ cell: ["c1", "c2", "c3"], type: ["T cell", "B cell", "NK cell"] });
  const table = await new ln.File(cells, { key: "tables/cells.parquet" }).save();

  const adata = new ln.AnnData({
    X: new ln.DenseMatrix(new Float32Array([1, 0, 0, 2, 3, 0, 0, 4]), [4, 2]),
    obs: pl.DataFrame({ donor: ["D1", "D3", "D2", "D3"] }),
    obsNames: ["o1", "o2", "o3", "o4"],
    varNames: ["CD4", "CD8A"],
    uns: { params: { n: 15, method: "umap" } },
  });
  const atlas = await new ln.File(adata, { key: "atlas.h5ad" }).save();

  const parquets = await ln.File.filter({ suffix: ".parquet" });
  check(parquets.length === 1 && parquets[0].id === table.id, "filter({ suffix }) found the table");

  const loaded = await (await ln.File.get({ key: "tables/cells.parquet" })).load();
  check(loaded.frameEqual(cells), "the loaded DataFrame equals the saved one");

  const whole = await (await ln.File.get({ key: "atlas.h5ad" })).load();
  check(whole.nObs === 4 && whole.varNames.join() === "CD4,CD8A", "the loaded AnnData's shape");

  const d3 = await atlas.stream({ subsetObs: atlas.subsetter().donor.eq("D3") });
  const x = Array.from(d3.X.data);
  check(d3.obsNames.join() === "o2,o4" && x.join() === "0,2,0,4", `the streamed subset (${x})`);

  // The same as a zarr store: its small files read at once (runtime calls of
  // their own under Node and Bun), its uns's scalars and strings back.
  const store = await new ln.File(adata, { key: "atlas.zarr", format: "zarr" }).save();
  const z = await store.stream({ subsetObs: store.subsetter().donor.eq("D3") });
  const zx = Array.from(z.X.data), params = z.uns.params;
  check(zx.join() === "0,2,0,4", `the streamed zarr subset (${zx})`);
  check(params.n === 15 && params.method === "umap", `the zarr's uns (${JSON.stringify(params)})`);

  const report = await ln.fsck();
  const problems = Object.values(report).filter((v) => Array.isArray(v) && v.length > 0);
  check(problems.length === 0, `fsck finds nothing (${JSON.stringify(report)})`);

  await ln.finish();
  const [run] = await ln.Run.filter({});
  check(run.status === "completed", `the tracked run completed (${run.status})`);
  check(table.runId === run.id, "the saved file names the run");
  const [transform] = await ln.Transform.filter({ id: run.transformId });
  await ln.close();
  console.log(JSON.stringify({
    runtime,
    run: { status: run.status, transform: transform.name },
    files: (await Promise.all([table, atlas, store].map((f) => f.key))).join(","),
    table: loaded.shape,
    streamed: { obs: d3.obsNames, X: x },
  }));
} finally {
  await rm(root, { recursive: true, force: true });
}
