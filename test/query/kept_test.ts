// A column selection of a CSR matrix read window by window (only the kept
// entries copied out) equals the same selection cut from the whole matrix:
// random rows and columns, chunked and contiguous storage, float32 and
// float64 values, empty rows and a row longer than one window.
import * as ln from "../../mod.ts";
import { readH5ad } from "../../src/formats/anndata/read_h5ad.ts";
import { fileBytes, H5File } from "../../src/formats/hdf5/h5file.ts";
import { h5RangeArray } from "../../src/formats/hdf5/store.ts";
import { type StoredMatrix, subsetMatrix } from "../../src/query/subset.ts";
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
async function withMatrix(fn: (path: string, file: H5File) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const path = `${dir}/m.h5ad`;
  try {
    await python(WRITE, path);
    const src = fileBytes(path);
    try {
      await fn(path, await H5File.open(src, path));
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

Deno.test({
  name: "subsetMatrix with columns, read window by window, equals the selection cut from the " +
    "whole matrix: random rows and columns, chunked float32 and contiguous float64",
  ...py,
  async fn() {
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
      await assertRejects(
        () => subsetMatrix(stored, undefined, Uint32Array.of(1, 2, 3)),
        ln.CorruptFileError,
        /\/layers\/f64: index 777 is outside 0\.\.499/,
      );
    });
  },
});
