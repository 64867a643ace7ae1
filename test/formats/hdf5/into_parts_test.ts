// A large into job (a dense matrix's chunks decoded straight into the
// result) cut into parts for idle workers: the cuts (pure, random extents)
// keep every part's output bytes apart, and reads through them (zarr blosc,
// h5ad gzip of whole-row chunks; sparse arrays, which are not cut; selections
// that allow a cut and ones that do not)
// give numpy's bytes.
import { assert, assertEquals, freshInstance, seeded, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { cutParts, intoSplits, weight } from "../../../src/formats/hdf5/_unfilter_pool.ts";
import { type KeptFileShare, shareWork } from "../../../src/formats/_kept_filter.ts";
import * as ln from "../../../mod.ts";

/** The arrays one after the other. */
function concat(parts: Float32Array[]): Float32Array<ArrayBuffer> {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whole numbers in [0, k), seeded. */
function rng(seed: number): (k: number) => number {
  const r = seeded(seed);
  return (k) => Math.floor(r() * k);
}

Deno.test("a chunk at hand weighs what its header says, not its cap", () => {
  // A string column's chunk: capped at 256 MB, 1 MB by its header. Weighed
  // by its cap, it sent every job of a stream's matrices to the other worker.
  const chunk = new Uint8Array(64);
  new DataView(chunk.buffer).setUint32(4, 1 << 20, true);
  assertEquals(weight([{ bytes: chunk, blosc: { cap: 256 << 20 } }]), 1 << 20);
  // No more than the cap, whatever the header claims; a file not yet read: its cap.
  new DataView(chunk.buffer).setUint32(4, 2 ** 32 - 1, true);
  assertEquals(weight([{ bytes: chunk, blosc: { cap: 4 << 20 } }]), 4 << 20);
  assertEquals(weight([{ path: "c/0", blosc: { cap: 4 << 20 } }]), 4 << 20);
  assertEquals(weight([{ into: { paths: ["a", "b"], cap: 1_000 } }]), 2_000);
  // A zstd frame: its declared size (single segment, 2-byte size: 0x0100 + 256),
  // not bytes 4-8 read as blosc's.
  const frame = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  assertEquals(weight([{ bytes: frame, blosc: { cap: 256 << 20, codec: "zstd" } }]), 512);
});

Deno.test("a kept-entries share weighs the bytes its worker decodes or reads, not its spec", () => {
  // Weighed by its packed spec (a few KiB), every share of a zarr query's
  // +var filtering went to the worker with less queued, one after another.
  const base = {
    w: 1,
    size: 1_000_000,
    spans: { starts: new Float64Array(0), ends: new Float64Array(0), n: 0 },
    keep: new Int32Array(0),
    where: "X",
  };
  const files = (n: number, itemsize: number) => ({
    kind: "blosc" as const,
    itemsize,
    chunk: 1000,
    first: 0,
    paths: Array.from({ length: n }, (_, k) => `c/${k}`),
  });
  const chunked: KeptFileShare = {
    ...base,
    ix: files(3, 4),
    val: files(2, 8),
    indptr: Float64Array.of(0, 2500),
  };
  assertEquals(shareWork(chunked), 3 * 1000 * 4 + 2 * 1000 * 8);
  // Uncompressed: its lines' entries of both arrays.
  const extent = (itemsize: number) => ({
    path: "x.h5ad",
    itemsize,
    chunk: 1_000_000,
    addresses: Float64Array.of(0),
  });
  const local: KeptFileShare = {
    ...base,
    ix: extent(4),
    val: extent(8),
    indptr: Float64Array.of(100, 150, 700),
  };
  assertEquals(shareWork(local), 600 * (4 + 8));
  assertEquals(shareWork({ ...local, indptr: new Float64Array(0) }), 0);
});

Deno.test("cutParts: runs of entries in order, each part's bytes apart from the others'", () => {
  const r = rng(3);
  let cut = 0;
  for (let t = 0; t < 500; t++) {
    const n = 1 + r(60), want = 2 + r(3);
    const lo = new Float64Array(n), hi = new Float64Array(n);
    if (r(2)) {
      // 1-D: picked bytes one after the other (some chunks pick nothing).
      for (let k = 0, a = 0; k < n; k++) {
        const len = r(3) * 100;
        [lo[k], hi[k]] = [a, a + len];
        a += len;
      }
    } else {
      // 2-D: chunk rows of `cols` column chunks, each writing its columns of the block's rows.
      const cols = 1 + r(4), dst = cols * 40;
      let row = 0;
      for (let k = 0; k < n; k += cols) {
        const lines = r(4);
        for (let j = 0; j < cols && k + j < n; j++) {
          lo[k + j] = row * dst + j * 40;
          hi[k + j] = lines ? lo[k + j] + (lines - 1) * dst + 40 : lo[k + j];
        }
        row += lines;
      }
    }
    const parts = cutParts({ lo, hi }, want);
    if (!parts) continue;
    cut++;
    assert(parts.length >= 2 && parts.length <= want);
    assertEquals(parts[0].from, 0);
    assertEquals(parts[parts.length - 1].to, n);
    for (const [i, p] of parts.entries()) {
      assert(p.from < p.to, "no empty part");
      if (i) assertEquals(p.from, parts[i - 1].to);
      for (let k = p.from; k < p.to; k++) {
        if (hi[k] > lo[k]) assert(lo[k] >= p.at && hi[k] <= p.end, `entry ${k} inside its part`);
      }
      // No entry of another part writes inside this part's bytes.
      for (let k = 0; k < n; k++) {
        if (k >= p.from && k < p.to || hi[k] <= lo[k]) continue;
        assert(hi[k] <= p.at || lo[k] >= p.end, `entry ${k} outside part ${i}`);
      }
    }
  }
  assert(cut > 200, `${cut} cut`);
});

const py = needsPython("split into jobs", "h5py", "zarr", "numpy", "anndata");

const WRITE = `
import sys, numpy as np, anndata as ad, pandas as pd, scipy.sparse as sp
from numcodecs import Blosc
import zarr
d = sys.argv[1]
rng = np.random.default_rng(5)
n, m = 8192, 1024
x = (rng.random((n, m), dtype=np.float32) * (rng.random((n, m)) < 0.2)).astype(np.float32)
obs = pd.DataFrame({"q": rng.random(n), "blk": np.arange(n) // 1024}, index=[f"c{i}" for i in range(n)])
a = ad.AnnData(x, obs=obs, var=pd.DataFrame(index=[f"g{j}" for j in range(m)]))
a.obsm["emb"] = rng.standard_normal((n, 8)).astype(np.float32)
a.write_zarr(f"{d}/dense.zarr", chunks=(1024, 256))
a.write_h5ad(f"{d}/dense_gzip.h5ad", compression="gzip")
import h5py
with h5py.File(f"{d}/dense_gzip.h5ad", "a") as f:  # chunks of whole rows, as some writers make
    attrs = dict(f["X"].attrs); del f["X"]
    f.create_dataset("X", data=x, chunks=(256, m), compression="gzip").attrs.update(attrs)
a.write_h5ad(f"{d}/dense_cols.h5ad", compression="gzip")
with h5py.File(f"{d}/dense_cols.h5ad", "a") as f:  # chunks across columns, edges in both
    attrs = dict(f["X"].attrs); del f["X"]
    f.create_dataset("X", data=x, chunks=(300, 96), compression="gzip", shuffle=True).attrs.update(attrs)
# 1-D: a CSR matrix whose data and indices alone are over 32 MB
s = sp.random(n, 4096, density=0.3, format="csr", dtype=np.float32, random_state=rng)
b = ad.AnnData(s, obs=obs, var=pd.DataFrame(index=[f"g{j}" for j in range(4096)]))
b.write_zarr(f"{d}/csr.zarr")
b.write_h5ad(f"{d}/csr_gzip.h5ad", compression="gzip")
np.save(f"{d}/x.npy", x)
sp.save_npz(f"{d}/s.npz", s)
`;

Deno.test({
  name:
    "dense reads cut into parts on idle workers (sparse ones whole; chunks across columns) give numpy's bytes",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const names = ["dense.zarr", "dense_gzip.h5ad", "dense_cols.h5ad", "csr.zarr", "csr_gzip.h5ad"];
    // Numpy's bytes of each selection (sha-256), all in one Python run.
    const want: Record<string, string> = JSON.parse(
      await python(
        `import sys, json, hashlib, numpy as np, scipy.sparse as sp, anndata as ad\n` +
          `d = sys.argv[1]; o = ad.read_h5ad(d + "/dense_gzip.h5ad", backed="r").obs\n` +
          `xs = {"dense": np.load(d + "/x.npy"), "csr": sp.load_npz(d + "/s.npz").toarray()}\n` +
          `rows = {"scattered": np.flatnonzero(o.q.values < 0.3), "blocks 2-5": np.arange(2048, 6144),\n` +
          `        "block 7": np.arange(7168, 8192)}\n` +
          `print(json.dumps({f"{k} {l}": hashlib.sha256(np.ascontiguousarray(x[r]).tobytes()).hexdigest()\n` +
          `                  for k, x in xs.items() for l, r in rows.items()}))`,
        dir,
      ),
    );
    await freshInstance();
    try {
      const before = intoSplits.jobs;
      for (const name of names) {
        const f = await new ln.File(`${dir}/${name}`).save();
        const df = f.subsetter();
        // Scattered (every chunk row), one block of rows, rows of one chunk row only.
        for (
          const [label, q] of [
            ["scattered", df.q.lt(0.3)],
            ["blocks 2-5", df.blk.ge(2).and(df.blk.le(5))],
            ["block 7", df.blk.eq(7)],
          ] as const
        ) {
          const s = await f.stream({ subsetObs: q, isRunInput: false });
          const got = (s.X!.toDense().data as Float32Array).slice();
          const hash = Array.from(
            new Uint8Array(await crypto.subtle.digest("SHA-256", got)),
            (b) => b.toString(16).padStart(2, "0"),
          ).join("");
          assertEquals(
            hash,
            want[`${name.startsWith("csr") ? "csr" : "dense"} ${label}`],
            `${name} ${label}`,
          );
        }
        // The whole matrix too (readZarr / readH5ad).
        const whole = name.endsWith(".zarr")
          ? await ln.readZarr(`${dir}/${name}`)
          : await ln.readH5ad(`${dir}/${name}`);
        assertEquals(whole.X!.shape, [8192, name.startsWith("csr") ? 4096 : 1024]);
      }
      // Out-of-core batches read the same rows without cutting (a part's own
      // array would add to the peak memory they bound).
      {
        const f = await new ln.File(`${dir}/dense.zarr`).save();
        const cut = intoSplits.jobs;
        const got: Float32Array[] = [];
        for await (
          const b of f.batches({ subsetObs: f.subsetter().q.lt(0.3), batchSize: 2400 })
        ) {
          got.push((b.X!.toDense().data as Float32Array).slice());
        }
        assertEquals(intoSplits.jobs, cut, "a batch's job was cut");
        const hash = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", concat(got))),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        assertEquals(hash, want["dense scattered"], "batches");
      }
      // The reads above were cut (two idle workers: a machine of one core has one).
      if (navigator.hardwareConcurrency >= 2) assert(intoSplits.jobs > before, "no job was cut");
    } finally {
      await ln.close();
    }
  },
});
