// A zarr AnnData store on S3 (s3rver) behind the latency proxy (default 20
// ms per request, 200 MB/s per connection, 1.25 GB/s together; printed):
// the 200k-cell realistic atlas of bench/atlas.ts (`atlas.zarr`, written by
// Python anndata 0.8: ~435 objects, 174 MB) saved to the bucket, then
// `file.stream()` of grouped and scattered queries (best of 2) against
// `file.load()` (every object fetched into the cache, then read), the save
// itself, and the first 100 batches of `mapped()` (file order, and shuffled
// in runs of 64 rows). Bytes and requests are counted by the proxy. (Python has no
// reference here: fsspec's HTTP store cannot list s3rver's bucket, and the
// atlas has no consolidated metadata.) With `ZARR_CONSOLIDATED=1`, a copy
// of the atlas consolidated by zarr-python (`.zmetadata`) is saved instead.
// With `ZARR_STORE=<path>`, that store instead of the atlas.
//   deno run -A bench/zarr_s3.ts [latencyMs] [bytesPerSec] [totalBytesPerSec]
import * as ln from "../mod.ts";
import { spawnProxy } from "./_latency_proxy.ts";

const [lat, bw, total] = [
  Number(Deno.args[0] ?? 20),
  Number(Deno.args[1] ?? 200e6),
  Number(
    Deno.args[2] ?? 1.25e9,
  ),
];
// ZARR_STORE: another store instead (e.g. the atlas as zarr v3 by bench/_layouts_v3.py).
const atlas = Deno.env.get("ZARR_STORE") ??
  `${Deno.env.get("HOME")}/.cache/lamindeno-bench/atlas-v1-200000/atlas.zarr`;
if (!(await Deno.stat(atlas).then(() => true, () => false))) {
  console.error(`no ${atlas}: run bench/atlas.ts once to build the atlases`);
  Deno.exit(1);
}
Deno.env.set("LAMIN_LOG_LEVEL", "warn");
await using proxy = await spawnProxy(lat, bw, total);
const root = await Deno.makeTempDir({ prefix: "lamindeno-bench-zarr-s3-" });
const consolidated = Deno.env.get("ZARR_CONSOLIDATED") === "1";
const path = consolidated ? `${root}/atlas.zarr` : atlas;
if (consolidated) {
  const py = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import shutil, sys, zarr; shutil.copytree(sys.argv[1], sys.argv[2]); " +
      "zarr.consolidate_metadata(sys.argv[2])",
      atlas,
      path,
    ],
  });
  if (!(await py.output()).success) throw new Error("zarr.consolidate_metadata failed");
}
const s3: ln.S3Options = {
  endpoint: proxy.info.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
};
const load = async () =>
  (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(
  `S3 (s3rver) through a proxy adding ${lat} ms per request, ${bw / 1e6} MB/s per connection, ` +
    `${total / 1e6} MB/s together; ${navigator.hardwareConcurrency} cores; load ${await load()}` +
    (consolidated ? "; the atlas with consolidated metadata (.zmetadata)" : ""),
);
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
try {
  await ln.init({
    storage: `s3://${proxy.info.bucket}/bench`,
    s3,
    db: `${root}/r.db`,
    cacheDir: `${root}/cache`,
  });
  const measure = async <T>(fn: () => Promise<T>) => {
    const before = await proxy.stats(), t = performance.now();
    const out = await fn();
    const s = (performance.now() - t) / 1000, after = await proxy.stats();
    return {
      out,
      s,
      bytes: after.bytes - before.bytes,
      requests: after.requests - before.requests,
    };
  };
  const saved = await measure(() => new ln.File(path, { key: "atlas.zarr" }).save());
  const file = saved.out;
  console.log(
    `\n| step | cells | time | bytes via proxy | requests |\n| --- | --- | --- | --- | --- |`,
  );
  console.log(
    `| save (upload ${mb(file.size!)}) | | ${saved.s.toFixed(2)} s | ${
      mb(saved.bytes)
    } | ${saved.requests} |`,
  );
  const df = file.subsetter();
  const queries: [string, ln.Expression][] = [
    ["grouped 1% (one donor)", df.donor.eq("D0000")],
    ["grouped 10%", df.donor.eq("D0001")],
    ["scattered 1%", df.qc_score.lt(0.01)],
    ["scattered 10%", df.qc_score.lt(0.1)],
  ];
  for (const [name, q] of queries) {
    let best: Awaited<ReturnType<typeof measure<ln.AnnData>>> | undefined;
    for (let i = 0; i < 2; i++) {
      const r = await measure(() => file.stream({ subsetObs: q, isRunInput: false }));
      if (!best || r.s < best.s) best = r;
    }
    console.log(
      `| stream ${name} | ${best!.out.nObs} | ${best!.s.toFixed(2)} s | ${mb(best!.bytes)} | ${
        best!.requests
      } |`,
    );
  }
  // mapped() over the store as a collection of one: the first 100 batches of 512.
  const coll = await new ln.Collection([file], { name: "zarr-atlas" }).save();
  for (const shuffle of [false, true]) {
    const r = await measure(async () => {
      let n = 0, b = 0;
      const opts = { batchSize: 512, shuffle, blockSize: 64, seed: 1, isRunInput: false };
      for await (const batch of coll.mapped(opts)) {
        n += batch.index.length;
        if (++b === 100) break;
      }
      return n;
    });
    console.log(
      `| mapped, ${shuffle ? "shuffled in runs of 64" : "file order"}, 100 batches of 512 | ` +
        `${r.out} | ${r.s.toFixed(2)} s (${(r.out / r.s).toFixed(0)} cells/s) | ${
          mb(r.bytes)
        } | ${r.requests} |`,
    );
  }
  const whole = await measure(() => file.load({ isRunInput: false }));
  console.log(
    `| load (all objects fetched, then read) | 200000 | ${whole.s.toFixed(2)} s | ${
      mb(whole.bytes)
    } | ${whole.requests} |`,
  );
  console.log(`\nload at the end: ${await load()}`);
} finally {
  await ln.close();
  await Deno.remove(root, { recursive: true }).catch(() => {});
}
