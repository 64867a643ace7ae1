// A seeded synthetic AnnData (CSR X, a CSR layer, dense obsm, obs columns),
// large enough that data, not metadata, dominates what is read.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";

/** An `n` x `m` AnnData with ~`density` of X non-zero. */
export function atlas(n: number, m: number, density = 0.1, seed = 1): ln.AnnData {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const indptr = new Int32Array(n + 1);
  const idx: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      if (rand() < density) {
        idx.push(j);
        vals.push(Math.floor(rand() * 10) + 1);
      }
    }
    indptr[i + 1] = idx.length;
  }
  const X = new ln.CsrMatrix(Float32Array.from(vals), Int32Array.from(idx), indptr, [n, m]);
  const counts = new ln.CsrMatrix(Int32Array.from(vals), Int32Array.from(idx), indptr, [n, m]);
  const pca = new Float32Array(n * 8).map(() => rand());
  return new ln.AnnData({
    X,
    layers: { counts },
    obsm: { X_pca: new ln.DenseMatrix(pca, [n, 8]) },
    obs: pl.DataFrame({
      n_genes: Int32Array.from({ length: n }, (_, i) => indptr[i + 1] - indptr[i]),
      donor: Array.from({ length: n }, (_, i) => `D${i % 4}`),
    }),
    obsNames: Array.from({ length: n }, (_, i) => `cell${i}`),
    varNames: Array.from({ length: m }, (_, j) => `g${j}`),
    uns: { note: "atlas" },
  });
}
