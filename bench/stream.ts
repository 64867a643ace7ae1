// Streaming a subset of a 200,000 x 2,000 CSR h5ad (5% density, written by
// Python anndata with h5py's default chunking; and the same data written by
// us): ours (file.stream) against anndata backed mode
// (`read_h5ad(p, backed="r")[mask].to_memory()`), same masks, one run.
// Prints time ratios and bytes read against the bytes the result needs.
import * as ln from "../mod.ts";
import { fixture } from "./formats.ts";
import { s3Server } from "../test/_s3.ts";

const PY = "/usr/bin/python3";

const QUERIES = [
  {
    name: "seed example (~10%)",
    ours: (df: ln.LazyDataFrame) =>
      df.cell_type.isin(["dendritic cell", "T cell"]).and(df.disease.isin(["Alzheimer's"])),
    py: `obs.cell_type.isin(["dendritic cell", "T cell"]) & obs.disease.isin(["Alzheimer's"])`,
  },
  {
    name: 'donor == "D3" (8%)',
    ours: (df: ln.LazyDataFrame) => df.donor.eq("D3"),
    py: 'obs.donor == "D3"',
  },
  {
    name: "n_genes > 1980 (1%)",
    ours: (df: ln.LazyDataFrame) => df.n_genes.gt(1980),
    py: "obs.n_genes > 1980",
  },
];

// anndata backed mode, timed in-process (best of 3), plus what the result needs.
const PY_SCRIPT = `
import sys, json, time, h5py, numpy as np, anndata as ad
path = sys.argv[1]; queries = json.loads(sys.argv[2])
with h5py.File(path, "r") as f:
    ptr = f["X/indptr"][:]
    # obs/var read whole: every dataset's storage, plus, for strings (names,
    # categories), their global heap objects (16-byte header + data padded to 8).
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
    chunks = f["X/data"].chunks
    compression = f["X/data"].compression
out = []
for q in queries:
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        a = ad.read_h5ad(path, backed="r")
        obs = a.obs
        mask = np.asarray(eval(q, {"obs": obs}), bool)
        sub = a[mask].to_memory()
        best = min(best, time.perf_counter() - t)
        a.file.close()
    rows = np.flatnonzero(mask)
    nnz = int((ptr[rows + 1] - ptr[rows]).sum())
    out.append({"seconds": best, "rows": int(len(rows)), "shape": list(sub.shape),
                "needed": nnz * item + 2 * len(rows) * ptr_item + whole})
print(json.dumps({"queries": out, "chunks": chunks, "compression": compression}))
`;

async function python(path: string): Promise<{
  queries: { seconds: number; rows: number; shape: number[]; needed: number }[];
  chunks: number[];
  compression: string | null;
}> {
  const out = await new Deno.Command(PY, {
    args: ["-c", PY_SCRIPT, path, JSON.stringify(QUERIES.map((q) => q.py))],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("python failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function ours(file: ln.File) {
  const df = file.subsetter();
  const results = [];
  for (const q of QUERIES) {
    let best = Infinity;
    let io = { bytesRead: 0, requests: 0 };
    let shape: number[] = [];
    for (let i = 0; i < 3; i++) {
      const run = { bytesRead: 0, requests: 0 };
      const t0 = performance.now();
      const a = await file.stream({ subsetObs: q.ours(df), io: run, isRunInput: false });
      const s = (performance.now() - t0) / 1000;
      if (s < best) [best, io, shape] = [s, run, [a.nObs, a.nVars]];
    }
    results.push({ seconds: best, io, shape });
  }
  return results;
}

if (import.meta.main) {
  Deno.env.set("LAMIN_LOG_LEVEL", "warn");
  const pyPath = await fixture("atlas");
  const root = await Deno.makeTempDir({ prefix: "lamindeno-bench-stream-" });
  await ln.init({ storage: root });
  try {
    const inputs: [string, string][] = [["written by Python anndata", pyPath]];
    const oursPath = `${pyPath.replace(/_python\.h5ad$/, "")}_ours.h5ad`;
    if (!(await Deno.stat(oursPath).then(() => true, () => false))) {
      try {
        await ln.writeH5ad(await ln.readH5ad(pyPath), oursPath);
      } catch (e) {
        console.log(`(no h5ad written by us: ${(e as Error).message})`);
      }
    }
    if (await Deno.stat(oursPath).then(() => true, () => false)) {
      inputs.push(["written by lamindeno", oursPath]);
    }
    const refs = new Map<string, { queries: { needed: number }[] }>();
    for (const [label, path] of inputs) {
      const file = await new ln.File(path).save();
      const ref = await python(path);
      refs.set(path, ref);
      console.log(
        `\n${label}: ${path} (${((await Deno.stat(path)).size / 1e6).toFixed(0)} MB, ` +
          `X chunks ${ref.chunks ?? "contiguous"}, ${ref.compression ?? "uncompressed"})`,
      );
      const mine = await ours(file);
      for (const [i, q] of QUERIES.entries()) {
        const r = ref.queries[i], m = mine[i];
        if (String(r.shape) !== String(m.shape)) {
          throw new Error(`${q.name}: shapes differ: ours ${m.shape}, anndata ${r.shape}`);
        }
        console.log(
          `  ${q.name.padEnd(22)} ${String(r.rows).padStart(6)} rows  ours ${
            m.seconds.toFixed(3)
          } s  ` +
            `anndata ${r.seconds.toFixed(3)} s  ratio ${(m.seconds / r.seconds).toFixed(2)}x  ` +
            `read ${(m.io.bytesRead / 1e6).toFixed(1)} MB / needed ${
              (r.needed / 1e6).toFixed(1)
            } MB ` +
            `= ${(m.io.bytesRead / r.needed).toFixed(2)}x (${m.io.requests} requests)`,
        );
      }
    }
    console.log("\ntargets: time <= 0.5x anndata (stretch 0.25x); bytes read <= 1.2x needed");
    await onS3(pyPath, refs.get(pyPath)!, root);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * The same queries with the atlas on S3 (a local s3rver): streaming by range
 * GETs against fetching the whole object (what staging it would cost).
 */
async function onS3(
  path: string,
  ref: { queries: { needed: number }[] },
  root: string,
): Promise<void> {
  await using s3 = await s3Server();
  const storage = `s3://${await s3.bucket()}/bench`;
  await ln.close();
  await ln.init({ storage, s3: s3.options, db: `${root}/s3-registry.db` });
  const file = await new ln.File(path, { key: "atlas_python.h5ad" }).save();
  const store = new ln.S3Storage(storage, s3.options);
  let whole = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await new Response(await store.get("atlas_python.h5ad")).arrayBuffer();
    whole = Math.min(whole, (performance.now() - t0) / 1000);
  }
  store.close();
  console.log(
    `\non S3 (s3rver on 127.0.0.1, requests planned by the measured cost model): ${storage}/atlas_python.h5ad; ` +
      `GET of the whole object (${(file.size! / 1e6).toFixed(0)} MB) ${whole.toFixed(3)} s`,
  );
  const mine = await ours(file);
  for (const [i, q] of QUERIES.entries()) {
    const m = mine[i], needed = ref.queries[i].needed;
    console.log(
      `  ${q.name.padEnd(22)} ours ${m.seconds.toFixed(3)} s = ${
        (m.seconds / whole).toFixed(2)
      }x the whole GET  read ${(m.io.bytesRead / 1e6).toFixed(1)} MB / needed ${
        (needed / 1e6).toFixed(1)
      } MB = ${(m.io.bytesRead / needed).toFixed(2)}x (${m.io.requests} requests)`,
    );
  }
}
