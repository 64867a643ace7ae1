// Streaming subsets of the 200,000 x 2,000 CSR atlas from S3 (s3rver)
// behind a proxy that adds a network's costs (default 20 ms per request,
// 200 MB/s per connection, 1.25 GB/s for all connections together, so
// parallel range GETs add bandwidth as on S3; all printed), side by side:
//   ours         file.stream(): requests planned by the measured cost model
//   tight        the same reader planned for free requests (every gap skipped)
//   whole GET    one GET of the whole object
//   h5py+fsspec  h5py on fsspec's HTTP file (what lamindb's cloud open() does),
//                obs/var read whole, X rows through anndata's SparseDataset
// Queries: grouped 1% (rows stored together), scattered 1%, scattered ~10%.
// Usage: deno run -A bench/stream_s3.ts [latencyMs] [bytesPerSec] [totalBytesPerSec]
import * as ln from "../mod.ts";
import { spawnProxy } from "./_latency_proxy.ts";
import { fixture } from "./formats.ts";
import { openRangeReader } from "../src/query/_open.ts";
import { streamAnnData } from "../src/query/stream.ts";

const PY = "/usr/bin/python3";
const KEY = "atlas_grouped.h5ad";

const QUERIES = [
  {
    name: "grouped 1% (batch == 50)",
    ours: (df: ln.LazyDataFrame) => df.batch.eq(50),
    py: "obs.batch == 50",
  },
  {
    name: "scattered 1% (n_genes > 1980)",
    ours: (df: ln.LazyDataFrame) => df.n_genes.gt(1980),
    py: "obs.n_genes > 1980",
  },
  {
    name: "scattered ~10% (seed example)",
    ours: (df: ln.LazyDataFrame) =>
      df.cell_type.isin(["dendritic cell", "T cell"]).and(df.disease.isin(["Alzheimer's"])),
    py: `obs.cell_type.isin(["dendritic cell", "T cell"]) & obs.disease.isin(["Alzheimer's"])`,
  },
];

// The atlas with an obs column `batch` = row // 2000 (rows of a batch stored
// together, as an atlas's donors or samples usually are), added by h5py.
const GROUPED = `
import sys, shutil, h5py, numpy as np
src, dst = sys.argv[1], sys.argv[2]
shutil.copyfile(src, dst)
with h5py.File(dst, "r+") as f:
    n = f["obs"][f["obs"].attrs["_index"]].shape[0]
    d = f["obs"].create_dataset("batch", data=np.arange(n, dtype=np.int64) // 2000)
    d.attrs["encoding-type"] = "array"; d.attrs["encoding-version"] = "0.2.0"
    f["obs"].attrs["column-order"] = list(f["obs"].attrs["column-order"]) + ["batch"]
`;

// What each query needs (from the local file), then h5py on fsspec's HTTP
// file against the proxy, one run per query (bytes and requests counted
// at fsspec's range fetches).
const PY_SCRIPT = `
import sys, json, time, signal, h5py, numpy as np, pandas as pd, fsspec
from fsspec.implementations.http import HTTPFile
from anndata._io.specs import read_elem
from anndata._core.sparse_dataset import SparseDataset
path, url, queries, limit = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
with h5py.File(path, "r") as f:
    ptr = f["X/indptr"][:]
    whole = 0
    def add(name, obj):
        global whole
        if isinstance(obj, h5py.Dataset):
            whole += obj.id.get_storage_size()
            if h5py.check_string_dtype(obj.dtype) and obj.dtype.kind == "O":
                whole += sum(16 + (len(s) + 7) // 8 * 8 for s in obj[()].ravel())
    f["obs"].visititems(add); f["var"].visititems(add)
    item = f["X/data"].dtype.itemsize + f["X/indices"].dtype.itemsize
    ptr_item = f["X/indptr"].dtype.itemsize
stats = {"bytes": 0, "requests": 0}
orig = HTTPFile._fetch_range
def counted(self, start, end):
    stats["requests"] += 1
    out = orig(self, start, end)
    stats["bytes"] += len(out)
    return out
HTTPFile._fetch_range = counted
class Timeout(Exception): pass
def alarm(*_): raise Timeout()
signal.signal(signal.SIGALRM, alarm)
out = []
for q in queries:
    stats["bytes"] = stats["requests"] = 0
    t = time.perf_counter()
    r = {}
    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        with fsspec.filesystem("http").open(url, "rb") as fo, h5py.File(fo, "r") as f:
            obs = read_elem(f["obs"]); var = read_elem(f["var"])
            mask = np.asarray(eval(q, {"obs": obs}), bool)
            rows = np.flatnonzero(mask)
            X = SparseDataset(f["X"])[rows]
            r["shape"] = list(X.shape)
        signal.setitimer(signal.ITIMER_REAL, 0)
        r["seconds"] = time.perf_counter() - t
    except Timeout:
        r["seconds"] = None
        mask = np.asarray(eval(q, {"obs": read_elem(h5py.File(path, "r")["obs"])}), bool)
        rows = np.flatnonzero(mask)
    r.update(bytes=stats["bytes"], requests=stats["requests"], rows=int(len(rows)))
    nnz = int((ptr[rows + 1] - ptr[rows]).sum())
    r["needed"] = nnz * item + 2 * len(rows) * ptr_item + whole
    out.append(r)
print(json.dumps({"queries": out, "fsspec": fsspec.__version__, "h5py": h5py.__version__}))
`;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} failed`);
  return new TextDecoder().decode(out.stdout);
}

async function grouped(): Promise<string> {
  const atlas = await fixture("atlas");
  const path = atlas.replace(/atlas_python\.h5ad$/, KEY);
  if (!(await Deno.stat(path).then(() => true, () => false))) {
    await run(PY, ["-c", GROUPED, atlas, `${path}.tmp`]);
    await Deno.rename(`${path}.tmp`, path);
  }
  return path;
}

const MB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

if (import.meta.main) {
  Deno.env.set("LAMIN_LOG_LEVEL", "warn");
  const latencyMs = Number(Deno.args[0] ?? 20), bytesPerSec = Number(Deno.args[1] ?? 200e6);
  const totalBytesPerSec = Number(Deno.args[2] ?? 1.25e9);
  const path = await grouped();
  await using server = await spawnProxy(latencyMs, bytesPerSec, totalBytesPerSec);
  const proxy = server.info;
  const root = await Deno.makeTempDir({ prefix: "lamindeno-bench-s3-" });
  try {
    const s3: ln.S3Options = {
      endpoint: proxy.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    };
    const storage = `s3://${proxy.bucket}/bench`;
    await ln.init({ storage, s3, db: `${root}/registry.db` });
    const file = await new ln.File(path, { key: KEY }).save();
    const key = `${file.path().slice(storage.length + 1)}`;
    console.log(
      `S3 through a proxy adding ${latencyMs} ms per request and capping each connection at ` +
        `${MB(bytesPerSec)}/s, all together at ${MB(totalBytesPerSec)}/s (s3rver on 127.0.0.1 ` +
        `behind it; ${navigator.hardwareConcurrency} shared cores, load ` +
        `${
          (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")
        }; runs vary)`,
    );
    console.log(`object: ${file.path()} (${MB(file.size!)})`);

    // One whole GET, best of 3.
    const plain = new ln.S3Storage(storage, s3);
    let whole = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await new Response(await plain.get(key)).arrayBuffer();
      whole = Math.min(whole, (performance.now() - t0) / 1000);
    }
    const t0 = performance.now();
    const model = await plain.costModel(key);
    const measureS = (performance.now() - t0) / 1000;
    plain.close();
    console.log(`one whole GET: ${whole.toFixed(3)} s`);
    console.log(
      `cost model measured in ${measureS.toFixed(3)} s: ${ln.describeCostModel(model)}`,
    );

    const df = file.subsetter();
    const ref = JSON.parse(
      await run(PY, [
        "-c",
        PY_SCRIPT,
        path,
        `${proxy.endpoint}/${proxy.bucket}/bench/${key}`,
        JSON.stringify(QUERIES.map((q) => q.py)),
        "120",
      ]),
    );
    // The bytes-tight plan: our reader told requests are free.
    const tightStore = new ln.S3Storage(storage, {
      ...s3,
      costModel: { latencyMs: 0, bytesPerSec: 1e12, parallelism: 32 },
    });
    const rows: string[][] = [];
    for (const [i, q] of QUERIES.entries()) {
      const r = ref.queries[i];
      const expr = q.ours(df);
      let ours = { s: Infinity, bytes: 0, requests: 0, shape: [0, 0] };
      for (let k = 0; k < 3; k++) {
        const io = { bytesRead: 0, requests: 0 };
        const t = performance.now();
        const a = await file.stream({ subsetObs: expr, io, isRunInput: false });
        const s = (performance.now() - t) / 1000;
        if (s < ours.s) {
          ours = { s, bytes: io.bytesRead, requests: io.requests, shape: [a.nObs, a.nVars] };
        }
      }
      const counting = new ln.CountingStorage(tightStore);
      const t = performance.now();
      const src = await openRangeReader(counting, key, ".h5ad", "tight");
      const a = await streamAnnData(src, { obs: expr.node });
      const tight = {
        s: (performance.now() - t) / 1000,
        bytes: counting.stats.bytesRead,
        requests: counting.stats.requests,
      };
      await src.close?.();
      if (a.nObs !== ours.shape[0] || r.rows !== ours.shape[0]) {
        throw new Error(
          `${q.name}: rows differ: ours ${ours.shape[0]}, tight ${a.nObs}, py ${r.rows}`,
        );
      }
      const best = Math.min(whole, tight.s);
      rows.push([
        q.name,
        String(r.rows),
        `${ours.s.toFixed(3)} s`,
        `${(ours.s / whole).toFixed(2)}x`,
        `${(ours.s / best).toFixed(2)}x`,
        `${MB(ours.bytes)} / ${MB(r.needed)} = ${(ours.bytes / r.needed).toFixed(2)}x`,
        String(ours.requests),
        `${tight.s.toFixed(3)} s, ${MB(tight.bytes)}, ${tight.requests} req`,
        r.seconds === null
          ? `> 120 s (${MB(r.bytes)} and ${r.requests} requests by then)`
          : `${r.seconds.toFixed(3)} s, ${MB(r.bytes)}, ${r.requests} req`,
      ]);
    }
    tightStore.close();
    const head = [
      "query",
      "rows",
      "ours",
      "/ whole GET",
      "/ min(whole, tight)",
      "ours: read / needed",
      "requests",
      "bytes-tight plan",
      `h5py + fsspec ${ref.fsspec}`,
    ];
    console.log(`\n| ${head.join(" | ")} |\n|${head.map(() => " --- |").join("")}`);
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
    console.log(
      "\ntargets: grouped 1% read <= 1.2x needed; every query <= 1.1x min(whole GET, tight); " +
        "scattered 10% <= 0.7x the whole GET",
    );
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}
