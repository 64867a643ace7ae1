// file.stream() projections: only the named obs/var columns, layers, obsm
// and X are read; unknown names are refused before any data is read.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";
import { py, pyFixtures } from "./_py_fixtures.ts";

async function withFile(name: string, fn: (file: ln.File) => Promise<void>): Promise<void> {
  const dir = await pyFixtures();
  const root = await freshInstance();
  try {
    await fn(await new ln.File(`${dir}/${name}`).save());
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

async function counted(
  file: ln.File,
  options: ln.StreamOptions,
): Promise<{ a: ln.AnnData; bytes: number }> {
  const io = { bytesRead: 0, requests: 0 };
  const a = await file.stream({ ...options, io });
  return { a, bytes: io.bytesRead };
}

for (const name of ["csr.h5ad", "csr.zarr", "dense.h5ad"]) {
  Deno.test({
    name: `stream() of ${name} returns only the parts asked for, and reads fewer bytes for it`,
    ...py,
    async fn() {
      await withFile(name, async (file) => {
        const df = file.subsetter();
        const subsetObs = df.n_genes.gt(1000);
        const full = await counted(file, { subsetObs });
        const proj = await counted(file, {
          subsetObs,
          obsColumns: ["donor", "cell_type"],
          varColumns: [],
          layers: false,
          obsm: false,
          X: false,
        });
        assertEquals(proj.a.obsNames, full.a.obsNames);
        assertEquals(proj.a.varNames, full.a.varNames);
        assertEquals(proj.a.obs.columns, ["donor", "cell_type"], "in the order asked");
        for (const c of ["donor", "cell_type"]) {
          assertEquals(proj.a.obs.getColumn(c).toArray(), full.a.obs.getColumn(c).toArray());
        }
        assertEquals(proj.a.var.columns, []);
        assertEquals(proj.a.X, undefined);
        assertEquals(Object.keys(proj.a.layers), []);
        assertEquals(Object.keys(proj.a.obsm), []);
        assertEquals(Object.keys(proj.a.obsp), ["distances"], "what is not projected is read");
        assertEquals(Object.keys(full.a.layers), ["counts"]);
        // (On h5ad, metadata read in blocks dominates a file this small.)
        assert(proj.bytes < full.bytes, `${proj.bytes} bytes vs ${full.bytes} for all`);

        // Each part left out alone reads less than everything.
        for (const leave of [{ layers: false }, { obsm: [] }, { X: false }] as const) {
          const { a, bytes } = await counted(file, { subsetObs, ...leave });
          assert(bytes < full.bytes, `${JSON.stringify(leave)}: ${bytes} vs ${full.bytes}`);
          assertEquals(a.obsNames, full.a.obsNames);
        }
        // Named ones are read whole and equal.
        const named = await counted(file, { subsetObs, layers: ["counts"], obsm: ["X_pca"] });
        assertEquals(
          Array.from(named.a.layers.counts.toDense().data as Float32Array),
          Array.from(full.a.layers.counts.toDense().data as Float32Array),
        );
        assertEquals(named.bytes, full.bytes, "naming every part reads what all reads");
      });
    },
  });
}

Deno.test({
  name: "stream() refuses unknown layer, obsm and column names before reading any data",
  ...py,
  async fn() {
    await withFile("csr.h5ad", async (file) => {
      // What reading nothing but names and metadata costs.
      const least = await counted(file, {
        obsColumns: [],
        varColumns: [],
        layers: false,
        obsm: false,
        X: false,
      });
      const cases: [ln.StreamOptions, RegExp][] = [
        [{ layers: ["raw"] }, /no layer "raw" in ".*\.h5ad"; its layer names are: counts$/],
        [{ obsm: ["X_umap", "X_pca"] }, /no obsm "X_umap" in .*its obsm names are: X_pca$/],
        [{ obsColumns: ["donor", "age"] }, /no obs column "age" .*: cell_type, disease, grade/],
        [{ varColumns: ["nope"] }, /no var column "nope" .*: highly_variable, mean$/],
      ];
      for (const [options, re] of cases) {
        const io = { bytesRead: 0, requests: 0 };
        await assertRejects(() => file.stream({ ...options, io }), ln.ColumnNotFoundError, re);
        assert(io.bytesRead > 0, "metadata was read");
        assert(io.bytesRead < least.bytes, `${io.bytesRead} bytes, reading names: ${least.bytes}`);
      }
      await assertRejects(
        () => file.stream({ layers: "counts" as never }),
        ln.ValidationError,
        /layers.*array of names, or false/,
      );
      await assertRejects(() => file.stream({ X: 1 as never }), ln.ValidationError, /X/);
      await assertRejects(
        () => file.stream({ obsColumns: ["donor", "donor"] }),
        ln.ValidationError,
        /"donor" is named twice/,
      );
    });
  },
});

// raw (scanpy's adata.raw = adata before a gene subset): a stream keeps
// raw's X for the selected rows with all of raw's var, as anndata's backed
// subset (`[mask, vmask].to_memory().raw`) does; `raw: false` leaves it out.
const RAW = `
import sys, json, numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
d = sys.argv[1]
rng = np.random.default_rng(3)
x = sp.random(300, 40, density=0.3, format="csr", dtype=np.float32, random_state=rng)
obs = pd.DataFrame({"g": np.arange(300) % 4}, index=[f"c{i}" for i in range(300)])
var = pd.DataFrame({"hv": np.arange(40) % 3 == 0, "m": rng.random(40)}, index=[f"v{j}" for j in range(40)])
a = ad.AnnData(x, obs=obs, var=var)
a.varm["PCs"] = rng.standard_normal((40, 3)).astype(np.float32)
a.raw = a
a = a[:, :25].copy()
a.write_h5ad(f"{d}/raw.h5ad"); a.write_h5ad(f"{d}/raw_gzip.h5ad", compression="gzip"); a.write_zarr(f"{d}/raw.zarr")
b = ad.read_h5ad(f"{d}/raw.h5ad", backed="r")
m = b[(b.obs.g == 1).values, b.var.hv.values].to_memory()
print(json.dumps({"X": m.raw.X.toarray().ravel().tolist(), "shape": list(m.raw.shape),
                  "var": list(m.raw.var_names), "m": m.raw.var.m.tolist(),
                  "PCs": m.raw.varm["PCs"].ravel().tolist()}))
`;

Deno.test({
  name:
    "stream() and batches() keep raw's selected rows with all of raw's var; raw: false leaves it out",
  ...py,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "lamindeno-raw-" });
    const { python } = await import("../_python.ts");
    const want = JSON.parse(await python(RAW, dir));
    const root = await freshInstance();
    try {
      for (const name of ["raw.h5ad", "raw_gzip.h5ad", "raw.zarr"]) {
        const file = await new ln.File(`${dir}/${name}`).save();
        const df = file.subsetter();
        const s = await file.stream({ subsetObs: df.g.eq(1), subsetVar: df.hv.eq(true) });
        assertEquals([s.nObs, s.nVars], [75, 9], name);
        const raw = s.raw!;
        assertEquals(raw.X!.shape, want.shape, name);
        assertEquals(Array.from(raw.X!.toDense().data as Float32Array), want.X, name);
        assertEquals(raw.varNames, want.var, name);
        assertEquals(raw.var.getColumn("m").toArray(), want.m, name);
        assertEquals(Array.from((raw.varm.PCs as ln.DenseMatrix).data as Float32Array), want.PCs);
        // Left out on request, and nothing of it read.
        const io = { bytesRead: 0, requests: 0 }, io2 = { bytesRead: 0, requests: 0 };
        await file.stream({ subsetObs: df.g.eq(1), io });
        const none = await file.stream({ subsetObs: df.g.eq(1), raw: false, io: io2 });
        assertEquals(none.raw, undefined);
        assert(io2.bytesRead < io.bytesRead, `${io2.bytesRead} vs ${io.bytesRead} bytes`);
        // Batches: each with its rows of raw.
        const rows: number[] = [];
        for await (const b of file.batches({ subsetObs: df.g.eq(1), batchSize: 30 })) {
          assertEquals(b.raw!.X!.shape, [b.nObs, 40]);
          rows.push(...Array.from(b.raw!.X!.toDense().data as Float32Array));
        }
        assertEquals(rows, want.X, `${name} batches`);
      }
      await assertRejects(
        async () => {
          const file = await new ln.File(`${dir}/raw.h5ad`).save();
          await file.stream({ raw: "yes" as never });
        },
        ln.ValidationError,
        /raw/,
      );
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
