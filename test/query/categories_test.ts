// A streamed subset keeps the categories anndata's subset keeps: each
// categorical obs/var column's unused categories dropped (their order kept,
// numbers and booleans too), scanpy's colors cut alike (dropped where they
// were not one per category); out-of-core batches keep them all.
import * as ln from "../../mod.ts";
import { assertEquals, freshInstance, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const py = needsPython("categories of a subset", "anndata", "pandas", "numpy");

const WRITE = `
import sys, json, numpy as np, pandas as pd, anndata as ad
d = sys.argv[1]
obs = pd.DataFrame({
    "ct": pd.Categorical(["T", "B", "T", "NK", "B", "T"], categories=["B", "NK", "T", "unused"]),
    "grade": pd.Categorical(["lo", "hi", "lo", "lo", "hi", "lo"], categories=["lo", "mid", "hi"], ordered=True),
    "num": pd.Categorical([10, 2, 10, 2, 7, 10]),
    "k": np.arange(6),
}, index=[f"c{i}" for i in range(6)])
var = pd.DataFrame({"kind": pd.Categorical(["a", "b", "a", "c"]), "hv": [True, False, True, False]},
                   index=[f"g{j}" for j in range(4)])
a = ad.AnnData(X=np.arange(24, dtype=np.float32).reshape(6, 4), obs=obs, var=var,
               uns={"ct_colors": np.array(["#b", "#n", "#t", "#u"]), "grade_colors": np.array(["#1", "#2"]),
                    "kind_colors": np.array(["#a", "#b", "#c"])})
a.write_h5ad(f"{d}/c.h5ad"); a.write_zarr(f"{d}/c.zarr")
out = {}
for name, s in [("t", a[a.obs.ct == "T"]), ("k", a[a.obs.k >= 3, a.var.hv])]:
    s = s.copy()
    out[name] = {
        "obs": {c: [str(x) for x in s.obs[c].cat.categories] for c in ["ct", "grade", "num"]},
        "var": {"kind": [str(x) for x in s.var["kind"].cat.categories]},
        "uns": {k: [str(x) for x in v] for k, v in s.uns.items()},
    }
print(json.dumps(out))
`;

Deno.test({
  name:
    "a streamed subset keeps the categories and colors anndata's subset keeps; batches keep all",
  ...py,
  async fn() {
    const dir = await tempDir();
    const want = JSON.parse(await python(WRITE, dir));
    await freshInstance();
    try {
      for (const name of ["c.h5ad", "c.zarr"]) {
        const f = await new ln.File(`${dir}/${name}`).save();
        const df = f.subsetter();
        for (
          const [key, query] of [
            ["t", { subsetObs: df.ct.eq("T") }],
            ["k", { subsetObs: df.k.ge(3), subsetVar: df.hv.eq(true) }],
          ] as const
        ) {
          const a = await f.stream({ ...query, isRunInput: false });
          const cats = (side: "obs" | "var", cols: string[]) =>
            Object.fromEntries(cols.map((c) => [c, a.categories[side][c].categories]));
          assertEquals(cats("obs", ["ct", "grade", "num"]), want[key].obs, `${name} ${key}`);
          assertEquals(cats("var", ["kind"]), want[key].var, `${name} ${key}`);
          const colors = Object.fromEntries(
            Object.entries(a.uns).map(([k, v]) => [k, Array.from(v as string[], String)]),
          );
          assertEquals(colors, want[key].uns, `${name} ${key} colors`);
        }
        // Out-of-core batches: every batch the same categories (all of them).
        for await (
          const b of f.batches({ subsetObs: df.ct.eq("T"), batchSize: 2, isRunInput: false })
        ) {
          assertEquals(b.categories.obs.ct.categories, ["B", "NK", "T", "unused"]);
        }
      }
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
