import * as ln from "../../../mod.ts";
import { assertRejects, freshInstance } from "../../_helpers.ts";
import { needsPython } from "../../_python.ts";
import { assertMatchesPython, pythonFixtures } from "./_compare.ts";

const py = needsPython("h5ad reading", "anndata", "h5py", "scipy", "pandas");

for (
  const name of [
    "csr.h5ad",
    "csr_gzip.h5ad",
    "csc.h5ad",
    "csc_gzip.h5ad",
    "dense.h5ad",
    "dense_gzip.h5ad",
    "raw.h5ad",
    "legacy07.h5ad",
  ]
) {
  Deno.test({
    name: `readH5ad() of Python's ${name} equals what anndata reports`,
    ...py,
    async fn() {
      const { dir, desc } = await pythonFixtures();
      assertMatchesPython(await ln.readH5ad(`${dir}/${name}`), desc[name], name);
    },
  });
}

for (const name of ["csr.zarr", "csc.zarr", "dense.zarr"]) {
  Deno.test({
    name: `readZarr() of Python's ${name} (zarr v2, blosc) equals what anndata reports`,
    ...py,
    async fn() {
      const { dir, desc } = await pythonFixtures();
      assertMatchesPython(await ln.readZarr(`${dir}/${name}`), desc[name], name);
    },
  });
}

Deno.test({
  name: "File.load() of a .zarr AnnData store (a folder) returns an AnnData",
  ...py,
  async fn() {
    const { dir, desc } = await pythonFixtures();
    const root = await freshInstance();
    const f = await new ln.File(`${dir}/dense.zarr`).save();
    assertMatchesPython(await f.load() as ln.AnnData, desc["dense.zarr"], "loaded zarr");
    await ln.close();
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test({
  name: "File.load() of an .h5ad returns an AnnData",
  ...py,
  async fn() {
    const { dir, desc } = await pythonFixtures();
    const root = await freshInstance();
    const f = await new ln.File(`${dir}/csr.h5ad`).save();
    const a = await f.load() as ln.AnnData;
    assertMatchesPython(a, desc["csr.h5ad"], "loaded");
    await ln.close();
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test("readH5ad() of bytes that are not HDF5, or a truncated file: CorruptFileError naming it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/random.h5ad`, crypto.getRandomValues(new Uint8Array(4096)));
  await assertRejects(() => ln.readH5ad(`${dir}/random.h5ad`), ln.CorruptFileError, /random\.h5ad/);
  await Deno.remove(dir, { recursive: true });
});
