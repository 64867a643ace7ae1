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

Deno.test("new MuData() refuses what is not { mod } of AnnData, and names that disagree with the modalities", async () => {
  for (const parts of [null, undefined, 5, [], "x"]) {
    await assertRejects(
      () => new ln.MuData(parts as never),
      ln.ValidationError,
      /parts is an object like/,
    );
  }
  await assertRejects(
    () => new ln.MuData({} as never),
    ln.ValidationError,
    /mod is a non-empty object/,
  );
  await assertRejects(() => new ln.MuData({ mod: {} }), ln.ValidationError, /got an empty object/);
  await assertRejects(
    () => new ln.MuData({ mod: { rna: 5 as never } }),
    ln.ValidationError,
    /mod\.rna is a number, expected an AnnData/,
  );
  await assertRejects(
    () => new ln.MuData({ mod: { rna: new ln.AnnData() }, bogus: 1 } as never),
    ln.ValidationError,
    /unknown part "bogus"/,
  );
  const rna = new ln.AnnData({ obsNames: ["a", "b"], varNames: ["g1"] });
  const prot = new ln.AnnData({ obsNames: ["b", "c"], varNames: ["p1"] });
  await assertRejects(
    () => new ln.MuData({ mod: { rna }, obsNames: ["zz"] }),
    ln.ValidationError,
    /mod\.rna has the obs name "a", which the global obsNames lack/,
  );
  await assertRejects(
    () => new ln.MuData({ mod: { rna }, obsNames: ["a", "b", "c"] }),
    ln.ValidationError,
    /the global obs name "c" is no modality's/,
  );
  await assertRejects(
    () => new ln.MuData({ mod: { rna }, obsNames: new Array(2) }),
    ln.ValidationError,
    /position 0 is empty/,
  );
  const m = new ln.MuData({ mod: { rna, prot } });
  assertEquals([m.obsNames, m.varNames, m.shape], [["a", "b", "c"], ["g1", "p1"], [3, 2]]);
  // Changed after construction: writeH5mu checks again, writing nothing.
  const dir = await Deno.makeTempDir();
  m.obsNames = ["zz"];
  await assertRejects(
    () => ln.writeH5mu(m, `${dir}/m.h5mu`),
    ln.ValidationError,
    /global obsNames lack/,
  );
  await assertRejects(
    () => ln.writeH5mu(null as never, `${dir}/m.h5mu`),
    ln.ValidationError,
    /expected a MuData/,
  );
  assertEquals([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "a var name two modalities share is two global vars, each mapped to its own (as mudata)",
  ...py,
  async fn() {
    const rna = new ln.AnnData({ obsNames: ["a", "b"], varNames: ["CD4", "CD8A"] });
    const prot = new ln.AnnData({ obsNames: ["a", "b"], varNames: ["CD4"] });
    const m = new ln.MuData({ mod: { rna, prot } });
    assertEquals([m.varNames, m.shape], [["CD4", "CD8A", "CD4"], [2, 3]]);
    const dir = await Deno.makeTempDir();
    try {
      await ln.writeH5mu(m, `${dir}/m.h5mu`);
      const maps = JSON.parse(
        await python(
          `import h5py, json, sys
f = h5py.File(sys.argv[1])
print(json.dumps({k: f["varmap"][k][()].tolist() for k in f["varmap"]}))`,
          `${dir}/m.h5mu`,
        ),
      );
      assertEquals(maps, { rna: [1, 2, 0], prot: [0, 0, 1] });
      const back = await ln.readH5mu(`${dir}/m.h5mu`);
      assertEquals(back.varNames, ["CD4", "CD8A", "CD4"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
