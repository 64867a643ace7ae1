// A collection of AnnData shards on S3 (s3rver) behind the latency proxy
// (default 20 ms per request, 200 MB/s per connection, 1.25 GB/s together;
// all printed): 10 shards x 100,000 cells (bench/_collection_ref.py gen,
// cached under ~/.cache/lamindeno-bench/), saved as one ln.Collection in an
// S3 instance with a libSQL registry file. Measured, each in its own process
// (peak RSS by /usr/bin/time):
//   collection.stream({ subsetObs })  one 5% query over all shards
//   file.stream, file after file       the same query, shard by shard
//   anndata                           backed subsets concatenated
//                                     (bench/_collection_ref.py ref): through
//                                     fsspec's HTTP file via the proxy, and
//                                     from local copies
//   collection.mapped()               cells/s of one pass, shuffled, with 1, 2
//                                     and 4 worker processes sharing the
//                                     registry and the bucket; their shares
//                                     are checked disjoint and complete
// Bytes and requests are counted by the proxy (from outside the process).
// Usage: deno run -A bench/collection_s3.ts [latencyMs] [bytesPerSec]
//          [totalBytesPerSec] [--cells N] [--shards K] [--batch B] [--block R]
//          [--shuffled-batches M] [--no-remote-ref] [--mapped-only | --stream-only]
//          [--shuffled-only] [--prefetch P] [--workers 1,2,4]
import * as ln from "../mod.ts";
import { spawnProxy } from "./_latency_proxy.ts";

const PY = "/usr/bin/python3";
const REF = new URL("./_collection_ref.py", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const CACHE = `${Deno.env.get("HOME")}/.cache/lamindeno-bench`;
const NAME = "shards";
const QUERY_PY = `obs.cell_type == "dendritic cell"`;
const query = (df: ln.LazyDataFrame) => df.cell_type.eq("dendritic cell");

const MB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const load = async () =>
  (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");

function flag(name: string, dflt: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}

function s3Options(endpoint: string): ln.S3Options {
  return {
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  };
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.slice(0, 2).join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

/** `args` of this script in a child process under /usr/bin/time: its JSON result and peak RSS. */
async function child(args: string[]): Promise<{ out: Record<string, unknown>; rssMB: number }> {
  const rss = await Deno.makeTempFile();
  try {
    const res = await run("/usr/bin/time", [
      "-f",
      "%M",
      "-o",
      rss,
      Deno.execPath(),
      "run",
      "-A",
      SELF,
      ...args,
    ]);
    const kb = Number((await Deno.readTextFile(rss)).trim().split("\n").pop());
    return { out: JSON.parse(res.trim().split("\n").pop()!), rssMB: kb / 1024 };
  } finally {
    await Deno.remove(rss);
  }
}

async function shards(cells: number, n: number): Promise<string[]> {
  const dir = `${CACHE}/collection-v1-${cells}`;
  await Deno.mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = `${dir}/shard_${String(i).padStart(2, "0")}.h5ad`;
    if (!(await Deno.stat(path).then(() => true, () => false))) {
      console.error(`writing ${path} with Python anndata (once) ...`);
      await run(PY, [REF, "gen", String(cells), String(i), path]);
    }
    paths.push(path);
  }
  return paths;
}

// ---- child processes -------------------------------------------------------

/** `stream <collection|sequential> <storage> <db> <endpoint>`: the 5% query, twice. */
async function streamChild([mode, storage, db, endpoint]: string[]) {
  Deno.env.set("LAMIN_LOG_LEVEL", "warn");
  await ln.init({ storage, db, s3: s3Options(endpoint) });
  const c = await ln.Collection.get({ name: NAME });
  const files = await c.files.all();
  const seconds: number[] = [];
  let shape: number[] = [];
  for (let rep = 0; rep < 2; rep++) {
    const t = performance.now();
    if (mode === "collection") {
      const a = await c.stream({ subsetObs: query(files[0].subsetter()), isRunInput: false });
      shape = [a.nObs, a.nVars];
    } else {
      let n = 0, v = 0;
      for (const f of files) {
        const a = await f.stream({ subsetObs: query(f.subsetter()), isRunInput: false });
        n += a.nObs;
        v = a.nVars;
      }
      shape = [n, v];
    }
    seconds.push((performance.now() - t) / 1000);
  }
  await ln.close();
  console.log(JSON.stringify({ seconds, shape }));
}

/** `mapped <storage> <db> <endpoint> <worker> <workers> <batch> <out>`: one pass, indices to `out`. */
async function mappedChild(
  [storage, db, endpoint, worker, workers, batch, out, shuffle, limit, blockSize, prefetch]:
    string[],
) {
  Deno.env.set("LAMIN_LOG_LEVEL", "warn");
  await ln.init({ storage, db, s3: s3Options(endpoint) });
  const c = await ln.Collection.get({ name: NAME });
  const t = performance.now();
  let first = 0;
  const seen: number[] = [];
  let batches = 0;
  for await (
    const b of c.mapped({
      batchSize: Number(batch),
      shuffle: shuffle === "1",
      blockSize: Number(blockSize),
      prefetch: prefetch === "-" ? undefined : Number(prefetch),
      seed: 7,
      obsColumns: ["cell_type"],
      encodeLabels: true,
      worker: Number(worker),
      workers: Number(workers),
      isRunInput: false,
    })
  ) {
    if (batches++ === 0) first = (performance.now() - t) / 1000;
    for (const g of b.index) seen.push(g);
    if (b.X.shape[0] !== b.index.length) throw new Error("a batch's X and index differ");
    if (batches === Number(limit)) break;
  }
  const seconds = (performance.now() - t) / 1000;
  await Deno.writeFile(out, new Uint8Array(Uint32Array.from(seen).buffer));
  await ln.close();
  console.log(JSON.stringify({ cells: seen.length, batches, seconds, first }));
}

// ---- the bench -------------------------------------------------------------

async function main() {
  const pos = Deno.args.filter((a, i) =>
    !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")
  );
  const latencyMs = Number(pos[0] ?? 20);
  const bytesPerSec = Number(pos[1] ?? 200e6);
  const totalBytesPerSec = Number(pos[2] ?? 1.25e9);
  const shuffledBatches = flag("--shuffled-batches", 5);
  const blockSize = flag("--block", 64);
  const only = Deno.args.includes("--mapped-only")
    ? "mapped"
    : Deno.args.includes("--stream-only")
    ? "stream"
    : undefined;
  const cells = flag("--cells", 100_000), nShards = flag("--shards", 10);
  const batch = flag("--batch", 512);
  const remoteRef = !Deno.args.includes("--no-remote-ref");
  const prefetch = Deno.args.includes("--prefetch") ? String(flag("--prefetch", 0)) : "-";
  const wi = Deno.args.indexOf("--workers");
  const workerCounts = wi >= 0 ? Deno.args[wi + 1].split(",").map(Number) : [1, 2, 4];
  const shuffledOnly = Deno.args.includes("--shuffled-only");
  Deno.env.set("LAMIN_LOG_LEVEL", "warn");
  const paths = await shards(cells, nShards);

  await using server = await spawnProxy(latencyMs, bytesPerSec, totalBytesPerSec);
  const proxy = server.info;
  const stats = () => server.stats();
  const root = await Deno.makeTempDir({ prefix: "lamindeno-bench-coll-" });
  const storage = `s3://${proxy.bucket}/bench`;
  const db = `${root}/registry.db`;
  try {
    console.log(
      `S3 (s3rver on 127.0.0.1) through a proxy adding ${latencyMs} ms per request, ` +
        `${MB(bytesPerSec)}/s per connection, ${MB(totalBytesPerSec)}/s together; ` +
        `${nShards} shards x ${cells} cells; ${navigator.hardwareConcurrency} cores; ` +
        `load ${await load()}`,
    );
    // Saved straight to s3rver (uploads are not what is measured).
    await ln.init({ storage, s3: s3Options(proxy.direct), db });
    const files: ln.File[] = [];
    for (const [i, p] of paths.entries()) {
      files.push(await new ln.File(p, { key: `shards/shard_${i}.h5ad` }).save());
    }
    await new ln.Collection(files, { name: NAME }).save();
    const total = files.reduce((s, f) => s + f.size!, 0);
    const urls = files.map((f) =>
      `${proxy.endpoint}/${proxy.bucket}/${f.path().slice(5 + proxy.bucket.length + 1)}`
    );
    await ln.close();
    console.log(`collection: ${nShards} objects, ${MB(total)}`);

    // One whole GET of a shard (best of 2), as the stream bench's yardstick.
    const plain = new ln.S3Storage(storage, s3Options(proxy.endpoint));
    const key0 = urls[0].slice(`${proxy.endpoint}/${proxy.bucket}/bench/`.length);
    let whole = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      await new Response(await plain.get(key0)).arrayBuffer();
      whole = Math.min(whole, (performance.now() - t0) / 1000);
    }
    const model = await plain.costModel(key0);
    plain.close();
    console.log(
      `one whole GET of a shard: ${whole.toFixed(3)} s (${MB(files[0].size!)}); ` +
        `cost model: ${ln.describeCostModel(model)}`,
    );

    // ---- stream: one 5% query ----
    const streamRows: string[][] = [];
    const measure = async (
      name: string,
      fn: () => Promise<{ s: number; rss: number; shape: unknown }>,
    ) => {
      const before = await stats();
      const l = await load();
      const r = await fn();
      const after = await stats();
      streamRows.push([
        name,
        `${r.s.toFixed(2)} s`,
        MB(after.bytes - before.bytes),
        String(after.requests - before.requests),
        `${r.rss.toFixed(0)} MB`,
        JSON.stringify(r.shape),
        l,
      ]);
      console.error(streamRows[streamRows.length - 1].join(" | "));
    };
    for (const mode of only === "mapped" ? [] : ["collection", "sequential"]) {
      await measure(
        mode === "collection"
          ? "`collection.stream({ subsetObs })`"
          : "`file.stream` file after file",
        async () => {
          const { out, rssMB } = await child(["stream", mode, storage, db, proxy.endpoint]);
          const s = out.seconds as number[];
          return { s: Math.min(...s), rss: rssMB, shape: out.shape };
        },
      );
    }
    const py = async (sources: string[]) => {
      const rss = await Deno.makeTempFile();
      const res = await run("/usr/bin/time", [
        "-f",
        "%M",
        "-o",
        rss,
        PY,
        REF,
        "ref",
        QUERY_PY,
        "600",
        ...sources,
      ]);
      const kb = Number((await Deno.readTextFile(rss)).trim().split("\n").pop());
      await Deno.remove(rss);
      const r = JSON.parse(res.trim().split("\n").pop()!);
      return { s: r.seconds ?? Infinity, rss: kb / 1024, shape: r.shape ?? "timed out (600 s)" };
    };
    if (remoteRef && only !== "mapped") {
      await measure(
        "anndata: backed subsets concatenated, h5py + fsspec over HTTP",
        () => py(urls),
      );
    }
    if (only !== "mapped") {
      await measure(
        'anndata: `read_h5ad(backed="r")[mask].to_memory()` + `concat`, local copies',
        () => py(paths),
      );
    }
    const head = [
      '5% query (`cell_type == "dendritic cell"`)',
      "time",
      "bytes via proxy",
      "requests",
      "peak RSS",
      "shape",
      "load",
    ];
    console.log(`\n| ${head.join(" | ")} |\n|${head.map(() => " --- |").join("")}`);
    for (const r of streamRows) console.log(`| ${r.join(" | ")} |`);

    // ---- mapped: one pass in file order, then shuffled batches; 1, 2, 4 workers ----
    const N = nShards * cells;
    const mapRows: string[][] = [];
    const modes = [
      { shuffle: false, block: 1, limit: 0, workers: workerCounts },
      { shuffle: true, block: blockSize, limit: 0, workers: workerCounts },
      { shuffle: true, block: 1, limit: shuffledBatches, workers: [1] },
    ].filter((m) => !shuffledOnly || m.shuffle);
    for (const { shuffle, block, limit, workers: counts } of only === "stream" ? [] : modes) {
      for (const workers of counts) {
        const before = await stats();
        const l = await load();
        const t = performance.now();
        const outs = Array.from({ length: workers }, (_, w) => `${root}/seen_${workers}_${w}.u32`);
        const res = await Promise.all(outs.map((out, w) =>
          child([
            "mapped",
            storage,
            db,
            proxy.endpoint,
            String(w),
            String(workers),
            String(batch),
            out,
            shuffle ? "1" : "0",
            String(limit),
            String(block),
            prefetch,
          ])
        ));
        const wall = (performance.now() - t) / 1000;
        const after = await stats();
        // Disjoint (and, for a whole pass, complete): no row twice over all workers.
        const count = new Uint8Array(N);
        for (const out of outs) {
          for (const g of new Uint32Array((await Deno.readFile(out)).buffer)) count[g]++;
        }
        const twice = count.findIndex((n) => n > 1);
        const never = limit ? -1 : count.findIndex((n) => n === 0);
        if (twice >= 0 || never >= 0) {
          throw new Error(
            `${workers} workers: row ${twice >= 0 ? `${twice} twice` : `${never} never`}`,
          );
        }
        const cellsAll = res.reduce((sum, r) => sum + (r.out.cells as number), 0);
        const slowest = Math.max(...res.map((r) => r.out.seconds as number));
        mapRows.push([
          !shuffle
            ? "file order, one pass"
            : block > 1
            ? `shuffled in runs of ${block} rows, one pass`
            : `shuffled row by row, first ${limit} batches`,
          String(workers),
          `${Math.round(cellsAll / slowest).toLocaleString("en")}`,
          res.map((r) =>
            `${
              Math.round((r.out.cells as number) / (r.out.seconds as number)).toLocaleString("en")
            }`
          ).join(", "),
          `${slowest.toFixed(1)} s (${wall.toFixed(1)} s with start-up)`,
          res.map((r) => `${(r.out.first as number).toFixed(2)}`).join(", "),
          res.map((r) => r.rssMB.toFixed(0)).join(", "),
          `${MB(after.bytes - before.bytes)} (${
            ((after.bytes - before.bytes) / cellsAll / 1e3).toFixed(1)
          } KB/cell), ${after.requests - before.requests}`,
          limit ? "disjoint" : "disjoint and complete",
          l,
        ]);
        console.error(mapRows[mapRows.length - 1].join(" | "));
      }
    }
    const mhead = [
      "order",
      "worker processes",
      "cells/s together (cells / slowest)",
      "cells/s each",
      "slowest worker",
      "first batch (s)",
      "peak RSS each (MB)",
      "bytes, requests (proxy)",
      "shares checked",
      "load",
    ];
    console.log(
      `\nmapped({ batchSize: ${batch}, obsColumns: ["cell_type"], encodeLabels: true, ` +
        `worker, workers }) over ${N.toLocaleString("en")} cells:`,
    );
    console.log(`\n| ${mhead.join(" | ")} |\n|${mhead.map(() => " --- |").join("")}`);
    for (const r of mapRows) console.log(`| ${r.join(" | ")} |`);
    console.log(`\nload at the end: ${await load()}`);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) {
  const [cmd, ...rest] = Deno.args;
  if (cmd === "stream") await streamChild(rest);
  else if (cmd === "mapped") await mappedChild(rest);
  else await main();
}
