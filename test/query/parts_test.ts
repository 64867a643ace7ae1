// obsm/varm entries that are dataframes (CITE-seq protein counts, as
// anndata writes a DataFrame in obsm) in a stream: only the selected rows
// (or genes), every column of every kind as Python anndata's subset has it,
// from h5ad and zarr.
import * as ln from "../../mod.ts";
import { assertEquals, freshInstance, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const py = needsPython("obsm dataframes", "anndata", "h5py", "pandas", "zarr");

// 3,000 cells x 40 genes; obsm["protein"]: float32 with NaN, int64,
// categorical (with a missing value) and string columns; varm["stats"] a
// dataframe too. Prints anndata's subset of both for a scattered
// selection and a var subset.
const WRITE = `
import sys, json, numpy as np, pandas as pd, anndata as ad
d = sys.argv[1]
rng = np.random.default_rng(3)
n, m = 3000, 40
obs = pd.DataFrame({"score": rng.random(n)}, index=[f"c{i}" for i in range(n)])
var = pd.DataFrame({"hv": np.arange(m) % 3 == 0}, index=[f"g{j}" for j in range(m)])
a = ad.AnnData(rng.random((n, m)).astype(np.float32), obs=obs, var=var)
cd3 = rng.random(n).astype(np.float32)
cd3[::7] = np.nan
kind = pd.Categorical(rng.choice(["T", "B", "NK"], n))
kind[::11] = np.nan
a.obsm["protein"] = pd.DataFrame({"CD3": cd3, "CD4": rng.integers(0, 10**6, n),
                                  "kind": kind, "tag": [f"t{i % 17}x{i}" for i in range(n)]},
                                 index=obs.index)
a.varm["stats"] = pd.DataFrame({"mean": rng.random(m), "rank": np.arange(m)}, index=var.index)
a.write_h5ad(f"{d}/a.h5ad")
a.write_zarr(f"{d}/a.zarr")
s = a[(obs.score < 0.3).values, var.hv.values]
p, v = s.obsm["protein"], s.varm["stats"]
print(json.dumps({"n": int(s.n_obs), "CD3": [None if x != x else float(x) for x in p.CD3],
                  "CD4": p.CD4.tolist(), "kind": [None if x != x else x for x in p.kind],
                  "tag": p.tag.tolist(), "mean": v["mean"].tolist(), "rank": v["rank"].tolist()}))
`;

for (const suffix of ["h5ad", "zarr"]) {
  Deno.test({
    name:
      `a dataframe in obsm/varm streams only the selected rows, as anndata's subset (${suffix})`,
    ...py,
    async fn() {
      const dir = await tempDir();
      const want = JSON.parse(await python(WRITE, dir));
      await freshInstance();
      try {
        const file = await new ln.File(`${dir}/a.${suffix}`).save();
        const df = file.subsetter();
        const a = await file.stream({
          subsetObs: df.score.lt(0.3),
          subsetVar: df.hv.eq(true),
          isRunInput: false,
        });
        assertEquals(a.shape[0], want.n);
        const p = a.obsm.protein as ln.DataFrame;
        assertEquals(p.height, want.n);
        const col = (f: ln.DataFrame, c: string) => f.getColumn(c).toArray() as unknown[];
        // float32 values as numbers (compared at float32 precision), NaN as missing
        const cd3 = col(p, "CD3").map((x) => x == null ? null : Math.fround(x as number));
        assertEquals(cd3, want.CD3.map((x: number | null) => x == null ? null : Math.fround(x)));
        assertEquals(col(p, "CD4").map(Number), want.CD4);
        assertEquals(col(p, "kind"), want.kind);
        assertEquals(col(p, "tag"), want.tag);
        const v = a.varm.stats as ln.DataFrame;
        assertEquals(col(v, "mean"), want.mean);
        assertEquals(col(v, "rank").map(Number), want.rank);
      } finally {
        await ln.close();
      }
    },
  });
}
