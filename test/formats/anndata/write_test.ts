import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assert, assertEquals, freshInstance, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { assertMatchesPython, describeWithPython, pythonFixtures } from "./_compare.ts";

const py = needsPython("AnnData writing", "anndata", "h5py", "scipy", "pandas", "zarr");

for (const name of ["csr.h5ad", "csc.h5ad", "dense.h5ad", "raw.h5ad", "csr.zarr"]) {
  Deno.test({
    name:
      `Python writes ${name} -> we load -> writeZarr/writeH5ad -> Python loads: equal to the original`,
    ...py,
    async fn() {
      const { dir, desc } = await pythonFixtures();
      const a = name.endsWith(".zarr")
        ? await ln.readZarr(`${dir}/${name}`)
        : await ln.readH5ad(`${dir}/${name}`);
      const out = await tempDir();
      for (const compression of [undefined, "zlib"] as const) {
        await ln.writeZarr(a, `${out}/ours.zarr`, { compression });
        assertEquals(await describeWithPython(`${out}/ours.zarr`), desc[name]);
        assertMatchesPython(await ln.readZarr(`${out}/ours.zarr`), desc[name], `re-read ${name}`);
      }
      for (const compression of [undefined, "gzip"] as const) {
        await ln.writeH5ad(a, `${out}/ours.h5ad`, { compression });
        assertEquals(
          await describeWithPython(`${out}/ours.h5ad`),
          desc[name],
          `h5ad ${compression}`,
        );
        assertMatchesPython(await ln.readH5ad(`${out}/ours.h5ad`), desc[name], `re-read ${name}`);
      }
      await Deno.remove(out, { recursive: true });
    },
  });
}

Deno.test({
  name: "an AnnData built in TypeScript opens in Python anndata with the same content",
  ...py,
  async fn() {
    const adata = new ln.AnnData({
      X: new ln.CsrMatrix(
        new Float32Array([1, 2, 3]),
        new Int32Array([0, 2, 1]),
        new Int32Array([0, 2, 2, 3]),
        [3, 3],
      ),
      obs: pl.DataFrame({
        cell_type: pl.Series("cell_type", ["T cell", null, "B cell"]).cast(pl.Categorical),
        n: pl.Series("n", [1, null, 3], pl.Int64).cast(pl.Int32),
        ok: [true, false, true],
      }),
      obsNames: ["a", "b", "c"],
      varNames: ["g1", "g2", "g3"],
      uns: { note: "built in Deno" },
      categories: { obs: { cell_type: { categories: ["B cell", "T cell"], ordered: true } } },
    });
    const out = await tempDir();
    await ln.writeZarr(adata, `${out}/built.zarr`);
    await ln.writeH5ad(adata, `${out}/built.h5ad`);
    for (const path of [`${out}/built.zarr`, `${out}/built.h5ad`]) {
      const d = await describeWithPython(path);
      assertBuilt(d);
    }
    await Deno.remove(out, { recursive: true });
  },
});

// deno-lint-ignore no-explicit-any
function assertBuilt(d: any): void {
  assertEquals(d.shape, [3, 3]);
  assertEquals(d.obs.cols.cell_type, {
    kind: "categorical",
    values: ["T cell", null, "B cell"],
    categories: ["B cell", "T cell"],
    ordered: true,
  });
  // A nullable Int32 column stays Int32 in pandas (written of its own width).
  assertEquals(d.obs.cols.n, { kind: "Int32", values: [1, null, 3] });
  assertEquals(d.obs.cols.ok, { kind: "bool", values: [true, false, true] });
  assertEquals(d.X, [[1, 0, 2], [0, 0, 0], [0, 3, 0]]);
  assertEquals(d.uns, { note: "built in Deno" });
}

Deno.test({
  name: "new File(adata, { format: 'zarr' }) saves a zarr store that loads back equal",
  ...py,
  async fn() {
    const { dir, desc } = await pythonFixtures();
    const root = await freshInstance();
    const a = await ln.readH5ad(`${dir}/csc.h5ad`);
    const f = await new ln.File(a, { format: "zarr", name: "csc" }).save();
    assertEquals([f.suffix, f.hashType], [".zarr", "md5-d"]);
    assertMatchesPython(await f.load() as ln.AnnData, desc["csc.h5ad"], "saved zarr");
    assertEquals(await describeWithPython(f.path()), desc["csc.h5ad"]);
    const again = await new ln.File(a, { format: "zarr" }).save();
    assertEquals(again.id, f.id, "same AnnData written twice hashes the same");
    assertEquals((await ln.fsck()).mismatched, []);
    await ln.close();
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test({
  name:
    "writeZarr's consolidated metadata is what zarr-python's consolidate_metadata writes; open_consolidated reads the store",
  ...py,
  async fn() {
    const { dir } = await pythonFixtures();
    const a = await ln.readZarr(`${dir}/csr.zarr`);
    const out = await tempDir();
    await ln.writeZarr(a, `${out}/ours.zarr`);
    const got = await python(
      `
import json, shutil, sys, zarr
p = sys.argv[1]
ours = json.load(open(p + "/.zmetadata"))
shutil.copytree(p, p + ".copy")
zarr.consolidate_metadata(p + ".copy")
theirs = json.load(open(p + ".copy/.zmetadata"))
g = zarr.open_consolidated(p)
print(json.dumps({"same": ours == theirs, "n": len(ours["metadata"]), "X": list(g["X"].keys())}))
`,
      `${out}/ours.zarr`,
    );
    const r = JSON.parse(got.trim().split("\n").pop()!);
    assertEquals(r.same, true, "the same documents as zarr-python consolidates");
    assert(r.n > 10, `${r.n} documents`);
    assertEquals(r.X, ["data", "indices", "indptr"]);
    await Deno.remove(out, { recursive: true });
  },
});
