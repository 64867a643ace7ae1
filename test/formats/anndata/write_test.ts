import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assert, assertEquals, freshInstance, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { createHash } from "node:crypto";
import { consolidatedDocs, type ListedKey } from "../../../src/formats/anndata/_zmetadata.ts";
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
    "writeZarr's documents and consolidated metadata are byte for byte what zarr-python writes; a store zarr-python consolidated passes our etag check",
  ...py,
  async fn() {
    const { dir } = await pythonFixtures();
    const a = await ln.readZarr(`${dir}/csr.zarr`);
    const out = await tempDir();
    await ln.writeZarr(a, `${out}/ours.zarr`);
    const got = await python(
      `
import json, os, shutil, sys, zarr
from zarr.util import json_dumps
p = sys.argv[1]
shutil.copytree(p, p + ".copy")
zarr.consolidate_metadata(p + ".copy")
same = open(p + "/.zmetadata", "rb").read() == open(p + ".copy/.zmetadata", "rb").read()
docs = json.load(open(p + "/.zmetadata"))["metadata"]
differ = [k for k in docs if open(os.path.join(p, k), "rb").read() != json_dumps(json.load(open(os.path.join(p, k))))]
g = zarr.open_consolidated(p)
# A store as anndata writes it, consolidated by zarr-python.
theirs = sys.argv[2] + "/theirs.zarr"
shutil.copytree(sys.argv[3], theirs)
zarr.consolidate_metadata(theirs)
print(json.dumps({"same": same, "differ": differ, "n": len(docs), "X": list(g["X"].keys())}))
`,
      `${out}/ours.zarr`,
      out,
      `${dir}/csr.zarr`,
    );
    const r = JSON.parse(got.trim().split("\n").pop()!);
    assertEquals(r.same, true, "the same .zmetadata bytes as zarr.consolidate_metadata writes");
    assertEquals(r.differ, [], "each document as zarr-python's json_dumps writes it");
    assert(r.n > 10, `${r.n} documents`);
    assertEquals(r.X, ["data", "indices", "indptr"]);
    // zarr-python's consolidation of anndata's store: each document it holds,
    // written back out, is its file byte for byte (the md5 S3 lists as etag).
    const theirs = `${out}/theirs.zarr`;
    const listing: ListedKey[] = [];
    const walk = async (rel: string) => {
      for await (const e of Deno.readDir(rel ? `${theirs}/${rel}` : theirs)) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) await walk(key);
        else {
          const bytes = await Deno.readFile(`${theirs}/${key}`);
          listing.push({ key, etag: `"${createHash("md5").update(bytes).digest("hex")}"` });
        }
      }
    };
    await walk("");
    const docs = consolidatedDocs(await Deno.readFile(`${theirs}/.zmetadata`), listing);
    assert(docs, "trusted: every document as zarr-python wrote it");
    assert(docs.size > 10, `${docs.size} documents`);
    await Deno.remove(out, { recursive: true });
  },
});
