import * as ln from "../../../mod.ts";
import { assertEquals, assertRejects, freshInstance } from "../../_helpers.ts";
import { needsPython } from "../../_python.ts";
import { assertMatchesPython, denseRows, pythonFixtures } from "./_compare.ts";

const py = needsPython("MuData reading", "anndata", "h5py", "scipy", "pandas");

Deno.test({
  name: "readH5mu() reads mudata's layout written by h5py: modalities, global obs/var, obsm, uns",
  ...py,
  async fn() {
    const { dir, desc } = await pythonFixtures();
    const want = desc["multi.h5mu"];
    const root = await freshInstance();
    const file = await new ln.File(`${dir}/multi.h5mu`).save();
    const m = await file.load() as ln.MuData;
    assertEquals(Object.keys(m.mod).sort(), ["prot", "rna"]);
    for (const name of ["rna", "prot"]) assertMatchesPython(m.mod[name], want.mod[name], name);
    assertEquals(m.obs.getColumn("batch").toArray(), want.obs_batch);
    assertEquals(m.varNames, want.var_names);
    assertEquals(m.shape, [8, 8]);
    assertEquals(denseRows(m.obsm.X_joint)[3], [6, 7]);
    assertEquals(m.uns, { study: "multi" });
    await assertRejects(() => ln.readH5mu(`${dir}/csr.h5ad`), ln.CorruptFileError, /not a MuData/);
    await ln.close();
    await Deno.remove(root, { recursive: true });
  },
});
