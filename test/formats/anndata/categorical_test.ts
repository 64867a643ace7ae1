// Categorical obs columns decoded on both of their paths (the Series' own
// gather up to 200,000 rows, polars' query engine beyond): the same values
// as pandas, missing codes as null.
import { assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes } from "../../../src/formats/hdf5/h5file.ts";
import { openH5Range } from "../../../src/formats/hdf5/store.ts";
import { readDataFrame } from "../../../src/formats/anndata/_decode.ts";

const py = needsPython("categorical columns", "anndata", "pandas", "numpy");

Deno.test({
  name:
    "a categorical column reads as pandas has it, missing codes null, whole (250,001 rows) or a few rows",
  ...py,
  async fn() {
    const dir = await tempDir();
    const out = await python(
      `import sys, json, anndata as ad, numpy as np, pandas as pd
n = 250_001
codes = (np.arange(n) * 7919) % 5 - 1  # -1 (missing) every fifth row
cats = ["T cell", "B cell", "NK cell", "bé"]
obs = pd.DataFrame({"ct": pd.Categorical.from_codes(codes, cats)}, index=[f"c{i}" for i in range(n)])
ad.AnnData(obs=obs).write_h5ad(sys.argv[1])
print(json.dumps([None if pd.isna(v) else v for v in obs["ct"]]))`,
      `${dir}/c.h5ad`,
    );
    const want: (string | null)[] = JSON.parse(out);
    const src = fileBytes(`${dir}/c.h5ad`);
    try {
      const store = await openH5Range(src, "c.h5ad");
      const whole = await readDataFrame(store, "obs");
      assertEquals(whole.df.getColumn("ct").toArray(), want);
      const rows = Uint32Array.from({ length: 1000 }, (_, k) => k * 250);
      const some = await readDataFrame(store, "obs", rows);
      assertEquals(some.df.getColumn("ct").toArray(), Array.from(rows, (r) => want[r]));
      assertEquals(String(some.df.getColumn("ct").dtype), String(whole.df.getColumn("ct").dtype));
    } finally {
      src.close();
    }
  },
});
