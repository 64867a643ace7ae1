// A column selection of a CSR matrix read window by window (only the kept
// entries copied out) equals the same selection cut from the whole matrix:
// random rows and columns, chunked and contiguous storage, float32 and
// float64 values, empty rows and a row longer than one window.
import * as ln from "../../mod.ts";
import { readH5ad } from "../../src/formats/anndata/read_h5ad.ts";
import { fileBytes, H5File } from "../../src/formats/hdf5/h5file.ts";
import { h5RangeArray } from "../../src/formats/hdf5/store.ts";
import { type StoredMatrix, subsetMatrix } from "../../src/query/subset.ts";
import { keptOnWorkersFrom, keptStats, shareLines } from "../../src/query/_kept.ts";
import { keptEntries, keptFromFile, packKept, unpackKept } from "../../src/formats/_kept_filter.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const py = needsPython("windowed column selection", "h5py", "numpy", "scipy", "anndata");

const WRITE = `
import sys, numpy as np, scipy.sparse as sp, anndata as ad, h5py
rng = np.random.default_rng(3)
n, m = 3000, 500
counts = rng.integers(0, 120, n)
counts[rng.random(n) < 0.1] = 0   # empty rows
rows = []
for i in range(n):
    rows.append(np.sort(rng.choice(m, counts[i], replace=False)))
# one row longer than a window (65,536 entries): a wide matrix would need
# that many columns, so it repeats columns (CSR does not forbid it)
rows[1500] = np.sort(rng.integers(0, m, 70000))
indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
indices = np.concatenate(rows).astype(np.int32)
X = sp.csr_matrix((rng.random(len(indices)).astype(np.float32), indices, indptr), shape=(n, m))
a = ad.AnnData(X=X, layers={"f64": sp.csr_matrix((rng.random(len(indices)), indices, indptr), shape=(n, m))})
a.write_h5ad(sys.argv[1])
# X/data and X/indices re-written in small chunks (h5py), the layer stays contiguous.
with h5py.File(sys.argv[1], "a") as f:
    for k in ("data", "indices"):
        v = f["X/" + k][()]
        del f["X/" + k]
        f.create_dataset("X/" + k, data=v, chunks=(1000,))
`;

function rand(seed: number) {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function pick(n: number, p: number, next: () => number): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (next() < p) out.push(i);
  return Uint32Array.from(out);
}

/** The rows x cols of `m`, as [row, col, value] triples in CSR order. */
function cut(m: ln.CsrMatrix, rows: ArrayLike<number> | undefined, cols: Uint32Array) {
  const at = new Map<number, number>();
  cols.forEach((c, k) => at.set(c, k));
  const out: [number, number, number][] = [];
  const list = rows ?? Array.from({ length: m.shape[0] }, (_, i) => i);
  for (let r = 0; r < list.length; r++) {
    for (let k = Number(m.indptr[list[r]]); k < Number(m.indptr[list[r] + 1]); k++) {
      const c = at.get(Number(m.indices[k]));
      if (c !== undefined) out.push([r, c, Number(m.data[k])]);
    }
  }
  return out;
}

/** `fn` on the matrices Python wrote (path, and the file opened by our reader). */
async function withMatrix(
  fn: (path: string, file: H5File, src: ReturnType<typeof fileBytes>) => Promise<void>,
): Promise<void> {
  const dir = await tempDir();
  const path = `${dir}/m.h5ad`;
  try {
    await python(WRITE, path);
    const src = fileBytes(path);
    try {
      await fn(path, await H5File.open(src, path), src);
    } finally {
      src.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The 3000 x 500 CSR matrix at `group` of `file`, read by range. */
async function csr(
  file: H5File,
  group: string,
): Promise<Extract<StoredMatrix, { kind: "csr" | "csc" }>> {
  const at = (k: string) => h5RangeArray(file, `${group.replace(/^\//, "")}/${k}`);
  return {
    kind: "csr",
    shape: [3000, 500],
    data: await at("data"),
    indices: await at("indices"),
    indptr: await at("indptr"),
    where: group,
  };
}

function triples(m: ln.CsrMatrix) {
  const out: [number, number, number][] = [];
  for (let r = 0; r < m.shape[0]; r++) {
    for (let k = Number(m.indptr[r]); k < Number(m.indptr[r + 1]); k++) {
      out.push([r, Number(m.indices[k]), Number(m.data[k])]);
    }
  }
  return out;
}

for (const where of ["here", "on the workers"]) {
  Deno.test({
    name: `subsetMatrix with columns, read window by window ${where}, equals the selection cut ` +
      "from the whole matrix: random rows and columns, chunked float32 and contiguous float64",
    ...py,
    async fn() {
      const was = keptOnWorkersFrom(where === "here" ? Infinity : 0);
      const before = keptStats.parallel;
      try {
        await columnSelections();
      } finally {
        keptOnWorkersFrom(was);
      }
      // Every selection with more than one line went to the workers, or none did.
      if (where === "here") assertEquals(keptStats.parallel, before);
      else assert(keptStats.parallel - before >= 24, `${keptStats.parallel - before} reads`);
    },
  });
}

async function columnSelections(): Promise<void> {
  {
    await withMatrix(async (path, file) => {
      const whole = await readH5ad(path);
      for (const [group, want] of [["X", whole.X], ["layers/f64", whole.layers.f64]] as const) {
        assert(want instanceof ln.CsrMatrix);
        const stored = await csr(file, group);
        assert(stored.data.readSpansInto, "uncompressed local data reads into a buffer");
        for (let seed = 1; seed <= 16; seed++) {
          const next = rand(seed);
          const rows = seed % 4 === 0
            ? undefined
            : pick(3000, [0.002, 0.1, 0.5, 0.97][seed % 4], next);
          const cols = pick(500, [0.01, 0.1, 0.6, 1][(seed >> 2) % 4], next);
          const got = await subsetMatrix(stored, rows, cols);
          assert(got instanceof ln.CsrMatrix);
          assertEquals(got.shape, [rows?.length ?? 3000, cols.length]);
          assertEquals(triples(got), cut(want, rows, cols), `${group} seed ${seed}`);
          assertEquals(got.dtype, want.dtype);
        }
      }
    });
  }
}

Deno.test({
  name: "the bytes the workers read for a column selection are counted as if read here",
  ...py,
  async fn() {
    await withMatrix(async (path, file, src) => {
      const stored = await csr(file, "X");
      const rows = pick(3000, 0.5, rand(5)), cols = pick(500, 0.1, rand(6));
      await subsetMatrix(stored, rows, cols); // metadata and chunk index read once
      const counts: [number, number][] = [];
      for (const from of [Infinity, 0]) {
        const was = keptOnWorkersFrom(from);
        const [b0, r0] = [src.stats.bytesRead, src.stats.requests];
        try {
          await subsetMatrix(stored, rows, cols);
        } finally {
          keptOnWorkersFrom(was);
        }
        counts.push([src.stats.bytesRead - b0, src.stats.requests - r0]);
      }
      // The selected rows' indices and values (4 bytes each) at least; at
      // most what is read here (which also reads the small gaps where the
      // workers' shares meet).
      const whole = (await readH5ad(path)).X as ln.CsrMatrix;
      let needed = 0;
      for (const r of rows) needed += 8 * (Number(whole.indptr[r + 1]) - Number(whole.indptr[r]));
      assert(counts[0][0] >= needed && needed > 100_000, `${counts[0][0]} bytes, ${needed} needed`);
      assert(counts[1][0] >= needed && counts[1][0] <= counts[0][0], `workers: ${counts[1][0]}`);
      assert(counts[0][0] - counts[1][0] < 8 * 2048 * 8, "at most the gaps where shares meet");
      assert(counts[1][1] > 0, "reads counted");
    });
  },
});

Deno.test({
  name: "a column index outside the matrix in a windowed column selection is a CorruptFileError",
  ...py,
  async fn() {
    await withMatrix(async (path, file) => {
      await python(
        `import sys, h5py\nwith h5py.File(sys.argv[1], "a") as f: f["layers/f64/indices"][123456] = 777`,
        path,
      );
      const stored = await csr(file, "/layers/f64");
      for (const from of [Infinity, 0]) {
        // Here, and on the workers (the same error, from a worker).
        const was = keptOnWorkersFrom(from);
        try {
          await assertRejects(
            () => subsetMatrix(stored, undefined, Uint32Array.of(1, 2, 3)),
            ln.CorruptFileError,
            /\/layers\/f64: index 777 is outside 0\.\.499/,
          );
        } finally {
          keptOnWorkersFrom(was);
        }
      }
    });
  },
});

Deno.test({
  name: "a column index outside the matrix in a column selection of compressed data is a " +
    "CorruptFileError",
  ...py,
  async fn() {
    await withMatrix(async (path, file) => {
      await python(
        `import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    for k in ("data", "indices"):
        v = f["X/" + k][()]
        if k == "indices": v[123456] = 777
        del f["X/" + k]
        f.create_dataset("X/" + k, data=v, chunks=(1000,), compression="gzip")`,
        path,
      );
      const src = fileBytes(path);
      try {
        const stored = await csr(await H5File.open(src, path), "X");
        assertEquals(stored.data.readSpansInto, undefined, "compressed: not read window by window");
        await assertRejects(
          () => subsetMatrix(stored, undefined, Uint32Array.of(1, 2, 3)),
          ln.CorruptFileError,
          /X: index 777 is outside 0\.\.499/,
        );
      } finally {
        src.close();
      }
      void file;
    });
  },
});

Deno.test("shareLines cuts spans and indptr into shares of whole lines that add up to them", () => {
  const next = rand(7);
  for (let t = 0; t < 300; t++) {
    // Lines of random lengths (some empty), their entries in random spans.
    const lines = 1 + Math.floor(next() * 40);
    const indptr = new Float64Array(lines + 1);
    for (let l = 0; l < lines; l++) {
      indptr[l + 1] = indptr[l] + Math.floor(next() * 4) * Math.floor(next() * 30);
    }
    const total = indptr[lines];
    const starts: number[] = [], ends: number[] = [];
    for (let g = 0, at = Math.floor(next() * 9); g < total;) {
      const len = Math.min(total - g, 1 + Math.floor(next() * 50));
      starts.push(at);
      ends.push(at + len);
      g += len;
      at += len + 1 + Math.floor(next() * 20);
    }
    const spans = {
      starts: Float64Array.from(starts),
      ends: Float64Array.from(ends),
      n: starts.length,
    };
    const k = 1 + Math.floor(next() * 9);
    const shares = shareLines(spans, indptr, k, "m");
    assert(shares.length <= k);
    // The shares' lines, in order, are the lines; their elements the elements.
    const elements = (s: { starts: Float64Array; ends: Float64Array; n: number }) =>
      Array.from(
        { length: s.n },
        (_, i) => Array.from({ length: s.ends[i] - s.starts[i] }, (_, j) => s.starts[i] + j),
      ).flat();
    assertEquals(shares.flatMap((s) => elements(s.spans)), elements(spans), `case ${t}`);
    const lens = shares.flatMap((s) =>
      Array.from({ length: s.indptr.length - 1 }, (_, l) => s.indptr[l + 1] - s.indptr[l])
    );
    assertEquals(
      lens,
      Array.from({ length: lines }, (_, l) => indptr[l + 1] - indptr[l]),
      `case ${t} lines`,
    );
    for (const s of shares) assertEquals(s.indptr[0], 0);
  }
  // Spans holding fewer entries than indptr claims: refused.
  const e = assertThrowsCorrupt(() =>
    shareLines(
      { starts: Float64Array.of(0), ends: Float64Array.of(5), n: 1 },
      Float64Array.of(0, 4, 9),
      2,
      "m",
    )
  );
  assert(e.message.includes("the spans hold fewer"), e.message);
});

function assertThrowsCorrupt(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    assert(e instanceof ln.CorruptFileError, String(e));
    return e;
  }
  throw new Error("expected a CorruptFileError");
}

Deno.test("a worker's share reads chunks at their addresses, a chunk never written as zeros, and refuses a file too short", async () => {
  const dir = await tempDir();
  try {
    // Indices 0..19 in chunks of 8 (chunk 1 never written), values 100 + i, one line.
    const path = `${dir}/f.bin`;
    const bytes = new Uint8Array(1024);
    const dv = new DataView(bytes.buffer);
    const ixAt = [0, -1, 200], valAt = [400, 600, 800];
    for (let i = 0; i < 20; i++) {
      const q = Math.floor(i / 8), r = i % 8;
      if (ixAt[q] >= 0) dv.setInt32(ixAt[q] + 4 * r, i, true);
      dv.setFloat32(valAt[q] + 4 * r, 100 + i, true);
    }
    await Deno.writeFile(path, bytes);
    const fd = await Deno.open(path);
    const readAt = (_: string, offset: number, into: Uint8Array) => {
      let n = 0;
      fd.seekSync(offset, Deno.SeekMode.Start);
      while (n < into.length) {
        const r = fd.readSync(into.subarray(n));
        if (!r) break;
        n += r;
      }
      return n;
    };
    const keep = new Int32Array(20).fill(-1);
    for (const j of [0, 3, 9, 17]) keep[j] = j;
    const share = (addresses: number[]) => ({
      ix: { path, itemsize: 4, chunk: 8, addresses: Float64Array.from(ixAt) },
      val: { path, itemsize: 4, chunk: 8, addresses: Float64Array.from(addresses) },
      size: 20,
      w: 1,
      spans: { starts: Float64Array.of(0), ends: Float64Array.of(20), n: 1 },
      indptr: Float64Array.of(0, 20),
      keep,
      where: "m",
    });
    const got = keptFromFile(share(valAt), readAt);
    // Chunk 1's indices read as 0 (never written): index 0 kept 8 more times.
    assertEquals(Array.from(got.indices), [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 17]);
    const vals = Array.from(new Float32Array(got.words.slice().buffer));
    assertEquals(vals, [100, 103, 108, 109, 110, 111, 112, 113, 114, 115, 117]);
    assertEquals(Array.from(got.indptr), [0, 11]);
    // Values past the end of the file: refused, not zeros.
    const e = assertThrowsCorrupt(() => keptFromFile(share([400, 600, 1020]), readAt));
    assert(e.message.includes("past the end of the file"), e.message);
    fd.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kept entries far beyond what the share of kept indices predicts grow their room, packed as they lie", () => {
  // 300 lines of 1,000 entries, every entry at index 0, the only index of
  // 1,000 kept: 300,000 kept where 300 were expected (room for ~66,000).
  const lines = 300, per = 1000, total = lines * per;
  const indptr = Float64Array.from({ length: lines + 1 }, (_, l) => l * per);
  const keep = new Int32Array(1000).fill(-1);
  keep[0] = 0;
  const span = { n: 1, starts: new Float64Array([0]), ends: new Float64Array([total]) };
  const it = keptEntries(span, indptr, keep, 1, "test");
  let r = it.next();
  while (!r.done) {
    const { w0, w1, ixBuf, valBuf } = r.value;
    new Int32Array(ixBuf.buffer, 0, w1 - w0).fill(0);
    const v = new Uint32Array(valBuf.buffer, 0, w1 - w0);
    for (let x = w0; x < w1; x++) v[x - w0] = x;
    r = it.next();
  }
  const k = r.value;
  assertEquals(k.indices.length, total);
  assertEquals(k.words[123_456], 123_456);
  assertEquals(k.indptr[lines], total);
  assertEquals(k.indptr[7], 7 * per);
  // What a worker sends is the buffer as it lies; read back the same.
  const back = unpackKept(packKept(k), lines, 1);
  assertEquals(back.words[total - 1], total - 1);
  assertEquals(back.indices.every((i) => i === 0), true);
  assertEquals(Array.from(back.indptr.subarray(0, 3)), [0, per, 2 * per]);
});
