import * as ln from "../../../mod.ts";
import { assertEquals, assertRejects, freshInstance } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
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

Deno.test({
  name:
    "writeH5mu / new File(mdata): mudata's layout that h5py + anndata read, and that loads back equal",
  ...py,
  async fn() {
    const { dir, desc } = await pythonFixtures();
    const want = desc["multi.h5mu"];
    const root = await freshInstance();
    try {
      const m = await ln.readH5mu(`${dir}/multi.h5mu`);
      const f = await new ln.File(m, { name: "multi" }).save();
      assertEquals(f.suffix, ".h5mu");
      const back = await f.load() as ln.MuData;
      for (const name of ["rna", "prot"]) assertMatchesPython(back.mod[name], want.mod[name], name);
      assertEquals(back.obs.getColumn("batch").toArray(), want.obs_batch);
      assertEquals(back.varNames, want.var_names);
      assertEquals(denseRows(back.obsm.X_joint)[3], [6, 7]);
      assertEquals(back.uns, { study: "multi" });
      // Python: the layout mudata reads, each modality an AnnData for anndata's reader.
      const out = await python(
        `import sys, json, h5py
from anndata.experimental import read_elem
with h5py.File(sys.argv[1], "r") as f:
    mods = {k: list(read_elem(f["mod"][k]).shape) for k in f["mod"].attrs["mod-order"]}
    print(json.dumps({"type": f.attrs["encoding-type"], "mods": mods,
        "obsmap": f["obsmap/rna"][:].tolist(), "batch": list(read_elem(f["obs"])["batch"].astype(str))}))`,
        f.path() as string,
      );
      assertEquals(JSON.parse(out), {
        type: "MuData",
        mods: { rna: [8, 5], prot: [8, 3] },
        obsmap: [1, 2, 3, 4, 5, 6, 7, 8],
        batch: want.obs_batch,
      });
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
