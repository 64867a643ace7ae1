import * as ln from "../../../mod.ts";
import pl from "nodejs-polars";
import { assert, assertEquals, assertRejects, freshInstance } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
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

Deno.test({
  name:
    "broken h5ad files (truncated, X/data missing) give CorruptFileError; an unknown encoding " +
    "type UnsupportedFormatError",
  ...py,
  async fn() {
    const { dir } = await pythonFixtures();
    const out = await Deno.makeTempDir();
    await python(
      `
import sys, shutil, h5py
src, out = sys.argv[1], sys.argv[2]
shutil.copy(src, f"{out}/nodata.h5ad")
with h5py.File(f"{out}/nodata.h5ad", "r+") as f: del f["X/data"]
shutil.copy(src, f"{out}/badenc.h5ad")
with h5py.File(f"{out}/badenc.h5ad", "r+") as f: f["obs"].attrs["encoding-type"] = "mystery-frame"
shutil.copy(src, f"{out}/noX.h5ad")
with h5py.File(f"{out}/noX.h5ad", "r+") as f: del f["X"]
`,
      `${dir}/csr.h5ad`,
      out,
    );
    const bytes = await Deno.readFile(`${dir}/csr.h5ad`);
    for (const cut of [100, 2048, Math.floor(bytes.length / 2), bytes.length - 10]) {
      await Deno.writeFile(`${out}/cut.h5ad`, bytes.subarray(0, cut));
      await assertRejects(() => ln.readH5ad(`${out}/cut.h5ad`), ln.CorruptFileError, /cut\.h5ad/);
    }
    await assertRejects(
      () => ln.readH5ad(`${out}/nodata.h5ad`),
      ln.CorruptFileError,
      /nodata\.h5ad.*X.*data/,
    );
    await assertRejects(
      () => ln.readH5ad(`${out}/badenc.h5ad`),
      ln.UnsupportedFormatError,
      /badenc\.h5ad.*mystery-frame.*does not know/,
    );
    // anndata writes no X for X=None: that is valid, not corrupt.
    const noX = await ln.readH5ad(`${out}/noX.h5ad`);
    assertEquals(noX.X, undefined);
    const root = await freshInstance();
    try {
      const f = await new ln.File(`${out}/badenc.h5ad`).save();
      const before = await ln.File.filter({});
      await assertRejects(() => f.load(), ln.UnsupportedFormatError, /mystery-frame/);
      assertEquals((await ln.File.filter({})).map((x) => x.hash), before.map((x) => x.hash));
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "a layout only the h5wasm fallback reads, with an lzf dataset: UnsupportedFormatError " +
    "naming the filter (h5wasm gave the stored bytes as values); with gzip, the values",
  ...py,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      await python(
        `
import sys, h5py, numpy as np, pandas as pd, anndata as ad, scipy.sparse as sp
out = sys.argv[1]
n = 100
obs = pd.DataFrame({f"c{i}": np.arange(n) * i for i in range(10)}, index=[f"c{i}" for i in range(n)])
X = sp.random(n, 20, density=0.3, format="csr", random_state=0, dtype=np.float32)
ad.AnnData(X=X, obs=obs, dtype=np.float32).write_h5ad(f"{out}/src.h5ad")
for comp in ["lzf", "gzip"]:
    # A fill value other than zero: a layout our reader leaves to h5wasm.
    with h5py.File(f"{out}/src.h5ad", "r") as s, h5py.File(f"{out}/{comp}.h5ad", "w") as d:
        for k, v in s.attrs.items(): d.attrs[k] = v
        for k in s: s.copy(s[k], d, name=k)
        for t in ["X/data", "obs/c3"]:
            a = d[t][...]; at = dict(d[t].attrs); del d[t]
            nd = d.create_dataset(t, data=a, chunks=(7,), compression=comp, fillvalue=1)
            for k, v in at.items(): nd.attrs[k] = v
`,
        out,
      );
      await assertRejects(
        () => ln.readH5ad(`${out}/lzf.h5ad`),
        ln.UnsupportedFormatError,
        /is compressed with lzf \(HDF5 filter 32000\).*compression="gzip"/,
      );
      const a = await ln.readH5ad(`${out}/gzip.h5ad`);
      assertEquals(
        Array.from(a.obs.getColumn("c3").toArray().slice(0, 5), Number),
        [0, 3, 6, 9, 12],
      );
      const want = await ln.readH5ad(`${out}/src.h5ad`);
      assertEquals(Array.from(a.X!.data as Float32Array), Array.from(want.X!.data as Float32Array));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "zarr names with a trailing space, %, ? and # (zarrita resolves paths as URLs): read " +
    "whole and streamed as Python names them",
  ...py,
  async fn() {
    const out = await Deno.makeTempDir();
    const root = await freshInstance();
    try {
      await python(
        `
import sys, numpy as np, pandas as pd, anndata as ad
obs = pd.DataFrame({"score ": [1., 2, 3, 4], "x%20y": [5., 6, 7, 8], "q?": ["a", "b", "a", "b"],
                    "h#": [True, False, True, True]}, index=["c0", "c1", "c2", "c3"])
obs["q?"] = obs["q?"].astype("category")
a = ad.AnnData(X=np.arange(8, dtype=np.float32).reshape(4, 2), obs=obs,
               uns={"x%20y": 2, "sp ace ": {"k?": 3}}, dtype=np.float32)
a.write_zarr(sys.argv[1] + "/names.zarr")
`,
        out,
      );
      const a = await ln.readZarr(`${out}/names.zarr`);
      assertEquals(a.obs.columns, ["score ", "x%20y", "q?", "h#"]);
      assertEquals(Array.from(a.obs.getColumn("score ").toArray(), Number), [1, 2, 3, 4]);
      assertEquals(Array.from(a.obs.getColumn("x%20y").toArray(), Number), [5, 6, 7, 8]);
      assertEquals(a.obs.getColumn("q?").cast(pl.Utf8).toArray(), ["a", "b", "a", "b"]);
      assertEquals(a.obs.getColumn("h#").toArray(), [true, false, true, true]);
      assertEquals(Number(a.uns["x%20y"]), 2);
      assertEquals(Number((a.uns["sp ace "] as Record<string, unknown>)["k?"]), 3);
      const f = await new ln.File(`${out}/names.zarr`).save();
      const df = f.subsetter();
      const s = await f.stream({ subsetObs: df.col("score ").gt(1).and(df.col("q?").eq("b")) });
      assertEquals(s.obsNames, ["c1", "c3"]);
      assertEquals(Array.from(s.obs.getColumn("x%20y").toArray(), Number), [6, 8]);
      assertEquals(Array.from(s.X!.data as Float32Array), [2, 3, 6, 7]);
    } finally {
      await ln.close();
      await Deno.remove(out, { recursive: true });
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("readH5ad/readZarr/readH5mu of a missing path: NotFoundError; a folder for a file (and back): ValidationError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "x");
    await assertRejects(() => ln.readH5ad(`${dir}/nope.h5ad`), ln.NotFoundError, /nope\.h5ad/);
    await assertRejects(() => ln.readH5mu(`${dir}/nope.h5mu`), ln.NotFoundError, /readH5mu/);
    await assertRejects(() => ln.readZarr(`${dir}/nope.zarr`), ln.NotFoundError, /nope\.zarr/);
    await assertRejects(() => ln.readH5ad(dir), ln.ValidationError, /is a folder/);
    await assertRejects(() => ln.readZarr(`${dir}/a.txt`), ln.ValidationError, /is a file/);
    await assertRejects(() => ln.readH5ad("" as string), ln.ValidationError, /non-empty string/);
    await assertRejects(
      () => ln.readZarr(7 as unknown as string),
      ln.ValidationError,
      /got number/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "an h5ad whose obs is new-style (names not ASCII) and dense (past 8 links), lzf and " +
    "gzip: read by our reader (h5wasm, its fallback, has no lzf), equal to anndata's values",
  ...py,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      const want = JSON.parse(
        await python(
          `
import sys, json, numpy as np, pandas as pd, anndata as ad, scipy.sparse as sp, warnings
warnings.filterwarnings("ignore")
out, n = sys.argv[1], 200
rng = np.random.default_rng(0)
obs = pd.DataFrame({
    "aß": rng.integers(0, 9, n).astype(np.uint8),
    "b": pd.Categorical(rng.choice([0.5, 1.25], n)),
    "c": rng.random(n), "d": np.arange(n),
    "eΩ": pd.Categorical(rng.choice(["lo", "hi"], n), categories=["lo", "hi"], ordered=True),
    "f": rng.random(n), "g": pd.Categorical(rng.choice(["T", "B"], n)), "h": np.arange(n),
}, index=[f"i{i}" for i in range(n)])
X = np.arange(n * 7, dtype=np.float32).reshape(n, 7)
L = sp.random(n, 7, density=0.5, format="csr", random_state=0, dtype=np.float32)
a = ad.AnnData(X=X, obs=obs, layers={"L": L}, dtype=np.float32)
a.write_h5ad(f"{out}/lzf.h5ad", compression="lzf")
a.write_h5ad(f"{out}/gzip.h5ad", compression="gzip")
b = ad.read_h5ad(f"{out}/lzf.h5ad")
print(json.dumps({"columns": list(b.obs.columns), "a": b.obs["aß"].tolist(), "e": b.obs["eΩ"].astype(str).tolist(),
                  "X": b.X.ravel().tolist(), "L": b.layers["L"].data.tolist(), "names": list(b.obs_names)}))
`,
          out,
        ),
      );
      const dense = await Deno.readFile(`${out}/lzf.h5ad`);
      const sig = new TextEncoder().encode("FRHP");
      assert(
        dense.some((v, i) =>
          v === sig[0] && dense.subarray(i, i + 4).every((b, k) => b === sig[k])
        ),
        "the file keeps links densely (a fractal heap)",
      );
      for (const name of ["lzf.h5ad", "gzip.h5ad"]) {
        const a = await ln.readH5ad(`${out}/${name}`);
        assertEquals(a.obs.columns, want.columns, name);
        assertEquals(a.obsNames, want.names);
        assertEquals(Array.from(a.obs.getColumn("aß").toArray(), Number), want.a);
        assertEquals(a.obs.getColumn("eΩ").cast(pl.Utf8).toArray(), want.e);
        assertEquals(Array.from(a.X!.data as Float32Array), want.X);
        assertEquals(Array.from(a.layers.L.data as Float32Array), want.L);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
