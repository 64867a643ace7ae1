// A column selection of a sparse matrix in a local zarr store, read chunk
// file by chunk file (decoded and filtered on the workers, or here without
// them: only the kept entries come back), equals the same selection cut
// from the whole matrix: CSR float32 and float64 values, data and indices
// in chunks of different sizes, blosc LZ4 and zstd, bare zstd frames (small ones, and ones of
// 128 KiB and more, which the runtime's zstd decodes), a CSC matrix, a row
// longer than a chunk; a chunk never written is its fill value, a damaged
// one and an index outside the matrix a CorruptFileError.
import * as ln from "../../mod.ts";
import { readZarr } from "../../src/formats/anndata/read_zarr.ts";
import { localZarr } from "../../src/formats/anndata/_zarr_store.ts";
import { zarrRangeArray } from "../../src/formats/anndata/_zarr_ranges.ts";
import { type StoredMatrix, subsetMatrix } from "../../src/query/subset.ts";
import { keptChunksHere, keptStats } from "../../src/query/_kept.ts";
import { assert, assertEquals, assertRejects, seeded, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const py = needsPython(
  "chunked column selection",
  "zarr",
  "numcodecs",
  "numpy",
  "scipy",
  "anndata",
);

const N = 3000, M = 500;

const WRITE = `
import sys, numpy as np, scipy.sparse as sp, anndata as ad, zarr
from numcodecs import Blosc, Zstd
rng = np.random.default_rng(4)
n, m = ${N}, ${M}
counts = rng.integers(0, 120, n)
counts[rng.random(n) < 0.1] = 0   # empty rows
rows = [np.sort(rng.choice(m, counts[i], replace=False)) for i in range(n)]
rows[1500] = np.sort(rng.integers(0, m, 7000))   # longer than a chunk (repeats columns)
indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
indices = np.concatenate(rows).astype(np.int32)
X = sp.csr_matrix((rng.random(len(indices)).astype(np.float32), indices, indptr), shape=(n, m))
F = sp.csr_matrix((rng.random(len(indices)), indices, indptr), shape=(n, m))
a = ad.AnnData(X=X, layers={"f64": F, "csc": sp.csc_matrix(X), "zs": X.copy(), "zl": X.copy()})
a.write_zarr(sys.argv[1])
# Chunks of different sizes for data and indices; the float64 values in zstd.
g = zarr.open_group(sys.argv[1], mode="a")
def put(path, chunks, comp):
    v = g[path][()]
    del g[path]
    g.create_dataset(path, data=v, chunks=(chunks,), compressor=comp)
lz4 = Blosc(cname="lz4", clevel=5, shuffle=1)
put("X/data", 1000, lz4)
put("X/indices", 700, lz4)
put("layers/f64/data", 900, Blosc(cname="zstd", clevel=3, shuffle=1))
put("layers/f64/indices", 1300, lz4)
put("layers/csc/data", 2000, lz4)
put("layers/csc/indices", 2000, lz4)
# Bare zstd frames (numcodecs' Zstd; zarr v3's default compressor).
put("layers/zs/data", 800, Zstd(level=3))
put("layers/zs/indices", 600, Zstd(level=1))
# Bare zstd frames of 128 KiB and more (decoded by the runtime's zstd where it has one).
put("layers/zl/data", 40000, Zstd(level=3))
put("layers/zl/indices", 33000, Zstd(level=1))
`;

/** The sparse matrix at `group` of the store `dir`, read by range. */
async function stored(
  dir: string,
  group: string,
  kind: "csr" | "csc",
): Promise<Extract<StoredMatrix, { kind: "csr" | "csc" }>> {
  const source = localZarr(dir);
  const at = (k: string) => zarrRangeArray(source, `${group}/${k}`, "m.zarr");
  return {
    kind,
    shape: [N, M],
    data: await at("data"),
    indices: await at("indices"),
    indptr: await at("indptr"),
    where: `/${group}`,
  };
}

function pick(n: number, p: number, next: () => number): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (next() < p) out.push(i);
  return Uint32Array.from(out);
}

/** The rows x cols of a matrix as [row, col, value] triples in row, then stored, order. */
function cut(
  m: ln.CsrMatrix | ln.CscMatrix,
  rows: Uint32Array | undefined,
  cols: Uint32Array | undefined,
): [number, number, number][] {
  const dense = m.toDense().data as ArrayLike<number>;
  const r = rows ?? Uint32Array.from({ length: m.shape[0] }, (_, i) => i);
  const c = cols ?? Uint32Array.from({ length: m.shape[1] }, (_, i) => i);
  const out: [number, number, number][] = [];
  for (let i = 0; i < r.length; i++) {
    for (let j = 0; j < c.length; j++) {
      const v = dense[r[i] * m.shape[1] + c[j]];
      if (v !== 0) out.push([i, j, v]);
    }
  }
  return out;
}

/** A matrix's stored entries summed into cells (repeated columns add up, as in `toDense`). */
function cells(m: ln.CsrMatrix | ln.CscMatrix): [number, number, number][] {
  return cut(m, undefined, undefined);
}

async function withStore(fn: (dir: string) => Promise<void>): Promise<void> {
  const tmp = await tempDir();
  try {
    await python(WRITE, `${tmp}/m.zarr`);
    await fn(`${tmp}/m.zarr`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

for (const where of ["on the workers", "here"]) {
  Deno.test({
    name: `a column selection of a local zarr matrix, chunk files decoded and filtered ${where}, ` +
      "equals the selection cut from the whole matrix",
    ...py,
    async fn() {
      const was = keptChunksHere(where === "here");
      const before = { ...keptStats };
      try {
        await withStore(async (dir) => {
          const whole = await readZarr(dir);
          const cases = [
            ["X", whole.X, "csr"],
            ["layers/f64", whole.layers.f64, "csr"],
            ["layers/csc", whole.layers.csc, "csc"],
            ["layers/zs", whole.layers.zs, "csr"],
            ["layers/zl", whole.layers.zl, "csr"],
          ] as const;
          for (const [group, want, kind] of cases) {
            assert(want instanceof ln.CsrMatrix || want instanceof ln.CscMatrix);
            const m = await stored(dir, group, kind);
            assert(m.data.localChunks?.(), `${group}: local chunk files`);
            for (let seed = 1; seed <= 12; seed++) {
              const next = seeded(seed);
              const p = [0.002, 0.1, 0.5, 1][seed % 4];
              const q = [0.01, 0.2, 0.7][seed % 3];
              // CSR: rows picked (all for p = 1), columns kept; CSC the other way round.
              const rows = kind === "csr"
                ? (p < 1 ? pick(N, p, next) : undefined)
                : pick(N, q, next);
              const cols = kind === "csr"
                ? pick(M, q, next)
                : (p < 1 ? pick(M, p, next) : undefined);
              const got = await subsetMatrix(m, rows, cols);
              assertEquals(got.shape, [rows?.length ?? N, cols?.length ?? M]);
              assertEquals(got.dtype, want.dtype, group);
              assertEquals(
                cells(got as ln.CsrMatrix),
                cut(want, rows, cols),
                `${group} seed ${seed}`,
              );
            }
          }
        });
      } finally {
        keptChunksHere(was);
      }
      const k = where === "here" ? "chunkedHere" : "chunked";
      // Every case chunk by chunk, zstd (blosc's and bare frames) too.
      const want = 60;
      assertEquals(keptStats[k] - before[k], want, `${k}: the selections read chunk by chunk`);
    },
  });
}

Deno.test({
  name: "a zarr chunk never written in a chunked column selection is its fill value (read whole)",
  ...py,
  async fn() {
    await withStore(async (dir) => {
      await Deno.remove(`${dir}/X/data/3`);
      const want = (await readZarr(dir)).X as ln.CsrMatrix;
      const m = await stored(dir, "X", "csr");
      const rows = pick(N, 0.3, seeded(1)), cols = pick(M, 0.2, seeded(2));
      const before = keptStats.chunked;
      const got = await subsetMatrix(m, rows, cols);
      assertEquals(cells(got as ln.CsrMatrix), cut(want, rows, cols));
      assertEquals(keptStats.chunked, before, "left to the whole read");
    });
  },
});

Deno.test({
  name: "a damaged chunk or an index outside the matrix in a chunked column selection is a " +
    "CorruptFileError, on the workers and here",
  ...py,
  async fn() {
    await withStore(async (dir) => {
      // Chunk 2 of X/data: its header's size made larger than a chunk can be.
      const path = `${dir}/X/data/2`;
      const b = await Deno.readFile(path);
      new DataView(b.buffer).setUint32(4, 1 << 24, true);
      await Deno.writeFile(path, b);
      // An index of the float64 layer set outside the 500 columns.
      await python(
        `import sys, zarr
g = zarr.open_group(sys.argv[1], mode="a")
v = g["layers/f64/indices"][()]; v[12345] = 777; g["layers/f64/indices"][:] = v`,
        dir,
      );
      for (const here of [false, true]) {
        const was = keptChunksHere(here);
        try {
          const x = await stored(dir, "X", "csr");
          await assertRejects(
            () => subsetMatrix(x, undefined, Uint32Array.of(1, 2, 3)),
            ln.CorruptFileError,
            /\/X: chunk 2: /,
          );
          const f = await stored(dir, "layers/f64", "csr");
          await assertRejects(
            () => subsetMatrix(f, undefined, Uint32Array.of(1, 2, 3)),
            ln.CorruptFileError,
            /\/layers\/f64: index 777 is outside 0\.\.499/,
          );
        } finally {
          keptChunksHere(was);
        }
      }
    });
  },
});
