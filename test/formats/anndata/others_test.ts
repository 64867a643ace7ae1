// Files other writers make: pandas 3's strings (anndata 0.11 on), scanpy's
// rec-arrays, nullable integers of every width, categoricals of numbers,
// duplicate sparse entries, uint64 indptr, empty zarr arrays, HDF5 user
// blocks. Each written by Python (_others.py) the way those writers do.
import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../../_helpers.ts";
import { needsPython, PYTHON, python } from "../../_python.ts";
import { fileBytes } from "../../../src/formats/hdf5/h5file.ts";
import { openH5Range } from "../../../src/formats/hdf5/store.ts";
import { readAnnData, readDict } from "../../../src/formats/anndata/_decode.ts";
import { openH5 } from "../../../src/formats/anndata/_h5wasm_store.ts";

const py = needsPython("others' AnnData files", "anndata", "h5py", "scipy", "pandas", "zarr");

let made: Promise<string> | undefined;
/** The fixtures' folder, written once per test process. */
function files(): Promise<string> {
  return made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "lamindeno-others-" });
    const script = new URL("./_others.py", import.meta.url).pathname;
    const r = await new Deno.Command(PYTHON, { args: [script, dir], stderr: "piped" }).output();
    if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
    return dir;
  })();
}

/** `fn` in a fresh instance, closed afterwards. */
async function inInstance(fn: () => Promise<void>): Promise<void> {
  await freshInstance();
  try {
    await fn();
  } finally {
    await ln.close();
  }
}

const dense = (m: { toDense(): { data: unknown } }) => Array.from(m.toDense().data as Float32Array);

const read = async (name: string) =>
  name.endsWith(".zarr")
    ? await ln.readZarr(`${await files()}/${name}`)
    : await ln.readH5ad(`${await files()}/${name}`);

Deno.test({
  name:
    "pandas 3's string index and columns (nullable-string-array) read as strings, missing as null",
  ...py,
  async fn() {
    const a = await read("f1_nsa_index.h5ad");
    assertEquals(a.obsNames, ["a", "b", "c"]);
    assertEquals((await read("f9_nsa_col.h5ad")).obs.getColumn("ns").toArray(), ["p", null, "q"]);
    await inInstance(async () => {
      const f = await new ln.File(`${await files()}/f1_nsa_index.h5ad`).save();
      assertEquals((await f.stream({ isRunInput: false })).obsNames, ["a", "b", "c"]);
      const g = await new ln.File(`${await files()}/f9_nsa_col.h5ad`).save();
      const df = g.subsetter();
      const s = await g.stream({ subsetObs: df.ns.eq("q"), isRunInput: false });
      assertEquals(s.obsNames, ["c"]);
    });
  },
});

Deno.test({
  name: "nullable integers keep their width and values (UInt32 past 2^31), and write back as such",
  ...py,
  async fn() {
    const a = await read("f2_nullable_uint.h5ad");
    const u32 = a.obs.getColumn("u32");
    assertEquals(u32.dtype.variant, "UInt32");
    assertEquals(u32.toArray(), [3_000_000_000, null, 1]);
    // Int64 past 2^53 exactly (polars' toArray would round it: read it as text).
    assertEquals(a.obs.getColumn("i64").dtype.variant, "Int64");
    assertEquals(a.obs.getColumn("i64").cast(pl.Utf8).toArray(), ["9007199254740993", null, "1"]);
    assertEquals(a.obs.getColumn("big").cast(pl.Utf8).toArray(), [
      "1152921504606846977",
      "5",
      "-36028797018963971",
    ]);
    await inInstance(async () => {
      const f = await new ln.File(`${await files()}/f2_nullable_uint.h5ad`).save();
      const df = f.subsetter();
      assertEquals((await f.stream({ subsetObs: df.u32.gt(1e9), isRunInput: false })).obsNames, [
        "a",
      ]);
    });
    const out = `${await Deno.makeTempDir()}/back.h5ad`;
    await ln.writeH5ad(a, out);
    const got = await python(
      `import anndata as ad, sys; o = ad.read_h5ad(sys.argv[1]).obs; print(o["u32"].dtype, list(o["u32"].astype(object)), o["i64"].dtype, list(o["i64"].astype(object)), list(o["big"]))`,
      out,
    );
    assertEquals(
      got.trim(),
      "UInt32 [3000000000, <NA>, 1] Int64 [9007199254740993, <NA>, 1] " +
        "[1152921504606846977, 5, -36028797018963971]",
    );
  },
});

Deno.test({
  name: "a sparse matrix listing a position twice sums it in toDense (as scipy does)",
  ...py,
  async fn() {
    assertEquals(dense((await read("f3_csr_dup.h5ad")).X!), [0, 7, 0, 0, 0, 0]);
    const csc = new ln.CscMatrix(
      new Float32Array([1, 2]),
      new Int32Array([1, 1]),
      new Int32Array([0, 2, 2]),
      [2, 2],
    );
    assertEquals(dense(csc), [0, 0, 3, 0]);
  },
});

Deno.test({
  name: "a false scalar in uns stays false in a file with dense link storage (track_order)",
  ...py,
  async fn() {
    const uns = (await read("f4_bool_trackorder.h5ad")).uns;
    assertEquals(uns.flag, false);
    // Scalars keep their type and value there too (an int32 or float64 for each made 2^32 - 1 a -1).
    assertEquals([uns.u32, uns.u64, uns.i8, uns.f32], [2 ** 32 - 1, 2n ** 64n - 1n, -5, 1.5]);
    // And through the h5wasm fallback (for layouts our reader leaves to it).
    const wasm = await openH5(`${await files()}/f4_bool_trackorder.h5ad`);
    try {
      const viaWasm = (await readAnnData(wasm)).uns;
      assertEquals(viaWasm.flag, false);
      assertEquals(
        [viaWasm.u32, viaWasm.u64, viaWasm.i8, viaWasm.f32],
        [2 ** 32 - 1, 2n ** 64n - 1n, -5, 1.5],
      );
    } finally {
      wasm.close();
    }
    const out = `${await Deno.makeTempDir()}/x.h5ad`;
    await ln.writeH5ad(await read("f4_bool_trackorder.h5ad"), out);
    assertEquals(
      (await python(
        `import anndata as ad, sys; u = ad.read_h5ad(sys.argv[1]).uns
u["res"] = u["params"]["resolution"]; u["npcs"] = u["params"]["n_pcs"]
print(*[f"{k}={u[k]!r}:{type(u[k]).__name__}" for k in ["u32", "u64", "i8", "f32", "f64", "u64mid", "neg0", "res", "npcs"]])`,
        out,
      )).trim(),
      "u32=4294967295:uint32 u64=18446744073709551615:uint64 i8=-5:int8 f32=1.5:float32 " +
        "f64=1.0:float64 u64mid=1152921504606846976:uint64 neg0=-0.0:float64 res=1.0:float64 " +
        "npcs=50:int64",
    );
  },
});

for (const name of ["f6_recarray.h5ad", "f6_recarray.zarr"]) {
  Deno.test({
    name: `scanpy's rec-arrays in uns (rank_genes_groups) read as a record of columns (${
      name.split(".")[1]
    }); stream() ignores them`,
    ...py,
    async fn() {
      const a = await read(name);
      const rgg = a.uns.rank_genes_groups as Record<string, Record<string, unknown>>;
      assertEquals(rgg.names, { g0: ["x", "y"], g1: ["y", "x"] });
      assertEquals(Array.from(rgg.scores.g1 as Float32Array), [3, -1]);
      assertEquals(rgg.params, { method: "wilcoxon" });
      // Each field of its own type: bool, uint32 past 2^31, int16, int64.
      const kinds = rgg.kinds as Record<string, ArrayLike<unknown>>;
      assertEquals(kinds.b, [true, false, true]);
      assert(kinds.u4 instanceof Uint32Array && kinds.i2 instanceof Int16Array);
      assertEquals([Array.from(kinds.u4), Array.from(kinds.i2)], [[3_000_000_000, 1, 2], [
        -5,
        0,
        7,
      ]]);
      assertEquals(Array.from(kinds.i8 as BigInt64Array), [2n ** 40n, -1n, 0n]);
      // Scalars beside them keep their type and value (h5wasm's fallback made 2^32 - 1 a -1).
      assertEquals([a.uns.u32, a.uns.u64, a.uns.i8, a.uns.f32], [
        2 ** 32 - 1,
        2n ** 64n - 1n,
        -5,
        1.5,
      ]);
      if (name.endsWith(".h5ad")) {
        // Read by our own reader (records and all), not through the h5wasm fallback.
        const path = `${await files()}/${name}`, src = fileBytes(path);
        try {
          const uns = await readDict(await openH5Range(src, path), "uns");
          assertEquals((uns.rank_genes_groups as typeof rgg).names, rgg.names);
        } finally {
          src.close();
        }
      }
      await inInstance(async () => {
        const f = await new ln.File(`${await files()}/${name}`).save();
        assertEquals((await f.stream({ isRunInput: false })).shape, [3, 2]);
      });
    },
  });
}

Deno.test({
  name: "categoricals of numbers or booleans read as their values, and can be queried",
  ...py,
  async fn() {
    const a = await read("f7_intcat.h5ad");
    assertEquals(a.obs.getColumn("icat").toArray(), [10, 2, 10]);
    assertEquals(a.obs.getColumn("icat_na").toArray(), [null, 2.5, 2.5]);
    assertEquals((await read("f7_boolcat.h5ad")).obs.getColumn("bcat").toArray(), [
      true,
      false,
      true,
    ]);
    await inInstance(async () => {
      const f = await new ln.File(`${await files()}/f7_intcat.h5ad`).save();
      const df = f.subsetter();
      assertEquals((await f.stream({ subsetObs: df.icat.eq(10), isRunInput: false })).obsNames, [
        "a",
        "c",
      ]);
    });
  },
});

Deno.test({
  name:
    "uint64 indptr, an anndata null, empty zarr arrays and an HDF5 user block read as Python reads them",
  ...py,
  async fn() {
    assertEquals(dense((await read("f8_u64_indptr.h5ad")).X!), [
      1,
      0,
      0,
      1,
      0,
      0,
    ]);
    const uns = (await read("f9_uns.h5ad")).uns;
    assertEquals([uns.nothing, uns.nsa, uns.s2d], [null, ["u", null, "w"], [["a", "b"], [
      "c",
      "d",
    ]]]);
    // ... and the 2-D strings go back 2-D.
    const back = `${await Deno.makeTempDir()}/s2d.h5ad`;
    await ln.writeH5ad(new ln.AnnData({ uns: { s2d: uns.s2d } }), back);
    assertEquals(
      (await python(
        `import anndata as ad, sys; print(ad.read_h5ad(sys.argv[1]).uns["s2d"].tolist())`,
        back,
      )).trim(),
      "[['a', 'b'], ['c', 'd']]",
    );
    // Chunks never written hold the dataset's fill value (7 here), not zeros.
    assertEquals(dense((await read("f5_fill.h5ad")).X!), [1, 1, 7, 7, 7, 7]);
    const empty = await read("f10_empty_csr.zarr");
    assertEquals(empty.shape, [3, 2]);
    assertEquals(dense(empty.X!), [0, 0, 0, 0, 0, 0]);
    assertEquals(((await read("f10_empty_uns.zarr")).uns.e as Float64Array).length, 0);
    const none = await read("f10_zero_obs.zarr");
    assertEquals([none.shape, none.obsNames], [[0, 2], []]);
    assertEquals((await read("f11_userblock.h5ad")).X!.toDense().data[1], 7);
  },
});

Deno.test({
  name: "an awkward array is refused as unsupported (not as damage), naming it and what to do",
  ...py,
  async fn() {
    const e = await assertRejects(() => read("f9_awkward.h5ad"), ln.UnsupportedFormatError);
    assert(
      /\/obsm\/ragged is an awkward array/.test(e.message) && /Python/.test(e.message),
      e.message,
    );
  },
});

Deno.test({
  name:
    "a zarr array of records with a field lamindeno cannot read, or a broken dtype, is a typed error naming it",
  ...py,
  async fn() {
    for (
      const [change, cls, re] of [
        [
          { dtype: [["g0", "<U1", [2]], ["g1", "<U1"]] },
          ln.UnsupportedFormatError,
          /a field of shape \[2\]/,
        ],
        [{ dtype: [["g0", ">f4"], ["g1", "<U1"]] }, ln.UnsupportedFormatError, /big-endian/],
        [{ dtype: [["g0"], ["g1", "<U1"]] }, ln.CorruptFileError, /is not valid/],
        [{ dtype: [["", "<U1"], ["g1", "<U1"]] }, ln.CorruptFileError, /names a field "" \(empty/],
        [{ dtype: [["g0", "<U1"], ["g0", "<U1"]] }, ln.CorruptFileError, /names a field "g0"/],
        // A size its stored chunks do not back: refused before anything is allocated.
        [{ shape: [2 ** 28], chunks: [2] }, ln.CorruptFileError, /last chunk is not stored/],
        [{ shape: [2.5] }, ln.CorruptFileError, /claims shape \[2.5\]/],
      ] as const
    ) {
      const dir = `${await Deno.makeTempDir()}/r.zarr`;
      await Deno.mkdir(dir);
      await new Deno.Command("cp", { args: ["-r", `${await files()}/f6_recarray.zarr/.`, dir] })
        .output();
      const at = `${dir}/uns/rank_genes_groups/names/.zarray`;
      const meta = JSON.parse(await Deno.readTextFile(at));
      await Deno.writeTextFile(at, JSON.stringify({ ...meta, ...change }));
      const e = await assertRejects(() => ln.readZarr(dir), cls, re);
      assert(e.message.includes("/uns/rank_genes_groups/names"), e.message);
    }
  },
});

Deno.test({
  name: "raw.var keeps its categories' order through a read and a write",
  ...py,
  async fn() {
    const a = await read("f12_raw_cats.h5ad");
    assertEquals(a.raw?.categories?.c, { categories: ["z", "y", "x"], ordered: true });
    const out = `${await Deno.makeTempDir()}/raw.h5ad`;
    await ln.writeH5ad(a, out);
    assertEquals(
      (await python(
        `import anndata as ad, sys; c = ad.read_h5ad(sys.argv[1]).raw.var["c"]; print(list(c.cat.categories), c.cat.ordered)`,
        out,
      )).trim(),
      "['z', 'y', 'x'] True",
    );
  },
});

Deno.test({
  name: "named obs/var indexes (cell_id, gene_ids) are kept through a read, a stream and a write",
  ...py,
  async fn() {
    for (const name of ["f13_index_names.h5ad", "f13_index_names.zarr"]) {
      const a = await read(name);
      assertEquals([a.indexNames, a.obsNames], [{ obs: "cell_id", var: "gene_ids" }, [
        "a",
        "b",
        "c",
      ]]);
      for (
        const out of [`${await Deno.makeTempDir()}/x.h5ad`, `${await Deno.makeTempDir()}/x.zarr`]
      ) {
        await (out.endsWith(".zarr") ? ln.writeZarr(a, out) : ln.writeH5ad(a, out));
        assertEquals(
          (await python(
            `import anndata as ad, sys; p = sys.argv[1]; a = ad.read_zarr(p) if p.endswith(".zarr") else ad.read_h5ad(p); print(a.obs.index.name, a.var.index.name, list(a.obs_names))`,
            out,
          )).trim(),
          "cell_id gene_ids ['a', 'b', 'c']",
        );
      }
      await inInstance(async () => {
        const f = await new ln.File(`${await files()}/${name}`).save();
        const df = f.subsetter();
        const s = await f.stream({ subsetObs: df.n.gt(1), isRunInput: false });
        assertEquals([s.indexNames, s.obsNames], [{ obs: "cell_id", var: "gene_ids" }, ["b", "c"]]);
      });
    }
  },
});

Deno.test({
  name: "an encoding newer than anndata 0.12's, or one anndata does not know, is refused by name",
  ...py,
  async fn() {
    await assertRejects(
      () => read("f14_newer.h5ad"),
      ln.UnsupportedFormatError,
      /\/obs has encoding-type "dataframe" version "0\.3\.0", which lamindeno reads up to version 0\.2\.0/,
    );
    await assertRejects(
      () => read("f14_unknown.h5ad"),
      ln.UnsupportedFormatError,
      /\/uns\/ds has encoding-type "xarray-dataset" version "0\.1\.0", which lamindeno does not know/,
    );
    await inInstance(async () => {
      const f = await new ln.File(`${await files()}/f14_newer.h5ad`).save();
      await assertRejects(
        () => f.stream({ isRunInput: false }),
        ln.UnsupportedFormatError,
        /0\.3\.0/,
      );
    });
  },
});

Deno.test({
  name: "DataFrames in uns and obsm keep their index and categories, and categoricals of " +
    "numbers stay categoricals, through a read and a write",
  ...py,
  async fn() {
    for (const name of ["f15_frames.h5ad", "f15_frames.zarr"]) {
      const a = await read(name);
      assertEquals(a.obs.getColumn("k").toArray(), [2, 7, 2]);
      assertEquals(a.categories.obs.k, { categories: ["7", "2"], ordered: true, values: "number" });
      const t = a.uns.table as pl.DataFrame;
      assertEquals(t.getColumn("x").toArray(), [0.5, 1.5]);
      const printed = await readBack(
        a,
        `t = a.uns["table"]; k = a.obs["k"]; g = a.obsm["meta"]["g"]
print(t.index.name, list(t.index), list(t["c"].cat.categories), t["c"].cat.ordered, list(t["k"].cat.categories), t["k"].dtype.categories.dtype, list(t["k"]))
print(list(k.cat.categories), k.cat.ordered, list(k), list(g.cat.categories), list(g))`,
      );
      for (const got of printed) {
        assertEquals(
          got,
          "gene ['r1', 'r2'] ['z', 'a', 'm'] True [1, 3] int64 [3, 1]\n" +
            "[7, 2] True [2, 7, 2] ['b', 'a'] ['b', 'a', 'b']",
        );
      }
    }
    // A DataFrame made from it is a new one: written with a fresh index.
    const a = await read("f15_frames.h5ad");
    a.uns.table = (a.uns.table as pl.DataFrame).select("x");
    const out = `${await Deno.makeTempDir()}/y.h5ad`;
    await ln.writeH5ad(a, out);
    assertEquals(
      (await python(
        `import anndata as ad, sys; print(list(ad.read_h5ad(sys.argv[1]).uns["table"].index))`,
        out,
      )).trim(),
      "['0', '1']",
    );
  },
});

Deno.test({
  name: "numbers in uns keep their width (int8, float32, uint16, ...) through a read and a " +
    "write while they still fit it",
  ...py,
  async fn() {
    for (const name of ["f16_scalars.h5ad", "f16_scalars.zarr"]) {
      const a = await read(name);
      assertEquals(
        { ...a.uns, inner: { ...(a.uns.inner as object) } },
        { i8: -3, f32: 0.5, u16: 7, u64: 5, f64: 2.5, big: 100, inner: { i32: 12 } },
      );
      // Changed values: 1000 no longer fits an int8, 0.1 is not a float32.
      (a.uns as Record<string, unknown>).big = 1000;
      (a.uns as Record<string, unknown>).f64 = 0.1;
      const printed = await readBack(
        a,
        `u = a.uns; print(" ".join(f"{k}={u[k]}:{u[k].dtype}" for k in ["i8", "f32", "u16", "u64", "f64", "big"]), u["inner"]["i32"].dtype)`,
      );
      for (const got of printed) {
        assertEquals(
          got,
          "i8=-3:int8 f32=0.5:float32 u16=7:uint16 u64=5:uint64 f64=0.1:float64 big=1000:int64 int32",
        );
      }
    }
  },
});

/** `a` written as .h5ad and as .zarr, each read back by Python anndata (as `a`): what `code` prints. */
async function readBack(a: ln.AnnData, code: string): Promise<string[]> {
  const printed: string[] = [];
  for (const out of [`${await Deno.makeTempDir()}/x.h5ad`, `${await Deno.makeTempDir()}/x.zarr`]) {
    await (out.endsWith(".zarr") ? ln.writeZarr(a, out) : ln.writeH5ad(a, out));
    const read = `import anndata as ad, sys; p = sys.argv[1]
a = ad.read_zarr(p) if p.endswith(".zarr") else ad.read_h5ad(p)
`;
    printed.push((await python(read + code, out)).trim());
  }
  return printed;
}

Deno.test({
  name:
    "int64 indices and indptr with float64 values (h5ad and zarr) read, streamed and checked as Python reads them",
  ...py,
  async fn() {
    const dir = await files();
    // Python's subset: rows g == 1, columns hv, as float64 row-major.
    const want = JSON.parse(
      await python(
        `import numpy as np, sys, json; d = np.load(sys.argv[1]); ` +
          `print(json.dumps(d[np.arange(40) % 3 == 1][:, np.arange(30) % 4 == 0].ravel().tolist()))`,
        `${dir}/f17_dense.npy`,
      ),
    ) as number[];
    const whole = JSON.parse(
      await python(
        `import numpy as np, sys, json; print(json.dumps(np.load(sys.argv[1]).ravel().tolist()))`,
        `${dir}/f17_dense.npy`,
      ),
    ) as number[];
    for (const name of ["f17_int64.h5ad", "f17_int64.zarr"]) {
      const a = await read(name);
      assertEquals(Array.from(a.X!.toDense().data as Float64Array), whole, name);
      assertEquals(Array.from(a.layers.counts.toDense().data as Float64Array), whole, name);
      await inInstance(async () => {
        const f = await new ln.File(`${dir}/${name}`).save();
        const df = f.subsetter();
        for (const subsetVar of [df.hv.eq(true), undefined]) {
          const s = await f.stream({ subsetObs: df.g.eq(1), subsetVar, isRunInput: false });
          const got = Array.from(s.X!.toDense().data as Float64Array);
          const full = whole.filter((_, k) => Math.floor(k / 30) % 3 === 1);
          assertEquals(got, subsetVar ? want : full, `${name} ${subsetVar ? "+var" : ""}`);
          assertEquals(Array.from(s.layers.counts.toDense().data as Float64Array), got);
        }
      });
    }
    // An index of 2^32 + 1 is damage, not column 1 (what a 32-bit wrap would make of it).
    await assertRejects(() => read("f17_wrap.h5ad"), ln.CorruptFileError, /index/);
    await inInstance(async () => {
      const f = await new ln.File(`${dir}/f17_wrap.h5ad`).save();
      const df = f.subsetter();
      for (const subsetVar of [df.hv.eq(true), undefined]) {
        await assertRejects(
          () => f.stream({ subsetObs: df.g.eq(2), subsetVar, isRunInput: false }),
          ln.CorruptFileError,
          /index/,
        );
      }
      // Rows that do not hold it read as they are.
      const s = await f.stream({ subsetObs: df.g.eq(0), isRunInput: false });
      assertEquals(s.nObs, 14);
    });
  },
});

Deno.test({
  name:
    "a uint64 index past 2^63, a fractional index and an int64 indptr past 2^32 are damage to every reader, not valid entries",
  ...py,
  async fn() {
    const dir = await files();
    for (const name of ["f18_u64_index.h5ad", "f18_f64_index.h5ad", "f18_ptr_wrap.h5ad"]) {
      await assertRejects(() => read(name), ln.CorruptFileError);
      await inInstance(async () => {
        const f = await new ln.File(`${dir}/${name}`).save();
        const df = f.subsetter();
        // All rows, and rows through a query (also those without the damage: indptr
        // entries are read for them too).
        for (const subsetObs of [undefined, df.g.ge(0)]) {
          await assertRejects(
            () => f.stream({ subsetObs, isRunInput: false }),
            ln.CorruptFileError,
          );
        }
        const b = await f.backed();
        await assertRejects(() => b.X!.get(), ln.CorruptFileError);
        await assertRejects(
          async () => {
            for await (const _ of f.batches({ batchSize: 2, isRunInput: false })) { /* read */ }
          },
          ln.CorruptFileError,
        );
      });
    }
  },
});

Deno.test({
  name: "a dense X in uncompressed chunks wider than the matrix reads its rows where they lie",
  ...py,
  async fn() {
    const want = Array.from({ length: 2700 }, (_, i) => i + 1);
    for (const name of ["f19_wide_chunks.h5ad", "f19_wide_chunks_gzip.h5ad"]) {
      assertEquals(Array.from((await read(name)).X!.toDense().data as Float64Array), want, name);
      await inInstance(async () => {
        const f = await new ln.File(`${await files()}/${name}`).save();
        const df = f.subsetter();
        const s = await f.stream({ subsetObs: df.k.isin([1, 2, 70, 89]), isRunInput: false });
        const rows = [1, 2, 70, 89].flatMap((r) => want.slice(r * 30, r * 30 + 30));
        assertEquals(Array.from(s.X!.toDense().data as Float64Array), rows, name);
      });
    }
  },
});

Deno.test({
  name: "a bool X reads and streams as its 0/1 bytes; a float16 X is an UnsupportedFormatError " +
    "everywhere (h5ad and zarr)",
  ...py,
  async fn() {
    for (const ext of ["h5ad", "zarr"]) {
      const name = `f20_bool.${ext}`;
      const a = await read(name);
      assertEquals(a.X!.dtype, "bool", name);
      assertEquals(Array.from(a.X!.toDense().data as Uint8Array), [1, 0, 0, 1, 1, 1], name);
      await inInstance(async () => {
        const f = await new ln.File(`${await files()}/${name}`).save();
        const s = await f.stream({ subsetObs: f.subsetter().k.ge(1), isRunInput: false });
        assertEquals(s.X!.dtype, "bool", name);
        assertEquals(Array.from(s.X!.toDense().data as Uint8Array), [0, 1, 1, 1], name);
        const g = await new ln.File(`${await files()}/f20_f16.${ext}`).save();
        for (
          const read of [
            () => g.load({ isRunInput: false }),
            () => g.stream({ subsetObs: g.subsetter().k.ge(1), isRunInput: false }),
          ]
        ) await assertRejects(read, ln.UnsupportedFormatError, /float16/);
      });
      await assertRejects(() => read(`f20_f16.${ext}`), ln.UnsupportedFormatError, /float16/);
    }
  },
});

Deno.test({
  name: "nullable columns with nothing missing stay nullable, raw.var keeps its index name and " +
    "/raw its encoding, through a read and a write (h5ad and zarr)",
  ...py,
  async fn() {
    for (const name of ["f21_nullable_raw.h5ad", "f21_nullable_raw.zarr"]) {
      const a = await read(name);
      assertEquals(a.raw?.indexName, "gene_symbol", name);
      const printed = await readBack(
        a,
        `import h5py, zarr
print(*[f"{c}:{a.obs[c].dtype}" for c in a.obs.columns], a.raw.var.index.name)
g = zarr.open(p) if p.endswith(".zarr") else h5py.File(p)
print(dict(g["raw"].attrs))`,
      );
      for (const p of printed) {
        assertEquals(
          p.split("\n"),
          [
            "i:Int64 u8:UInt8 b:boolean bn:boolean gene_symbol",
            "{'encoding-type': 'raw', 'encoding-version': '0.1.0'}",
          ],
          name,
        );
      }
    }
  },
});

Deno.test({
  name: "scanpy's rec-arrays read from h5ad and zarr are written back as rec-arrays that anndata " +
    "reads as such (rank_genes_groups)",
  ...py,
  async fn() {
    for (const name of ["f6_recarray.h5ad", "f6_recarray.zarr"]) {
      const printed = await readBack(
        await read(name),
        `import numpy as np
r = a.uns["rank_genes_groups"]
for k in ["names", "scores", "kinds"]:
    v = r[k]
    print(k, type(v).__name__, v.dtype.names, [list(map(lambda x: x.item() if hasattr(x, "item") else x, v[f])) for f in v.dtype.names])
print(r["names"].dtype, r["kinds"].dtype, r["params"])`,
      );
      for (const p of printed) {
        assertEquals(p.split("\n"), [
          // As anndata reads its own: structured ndarrays, strings as objects.
          "names ndarray ('g0', 'g1') [['x', 'y'], ['y', 'x']]",
          "scores ndarray ('g0', 'g1') [[2.5, 1.0], [3.0, -1.0]]",
          "kinds ndarray ('b', 'u4', 'i2', 'i8') [[True, False, True], [3000000000, 1, 2], " +
          "[-5, 0, 7], [1099511627776, -1, 0]]",
          "[('g0', 'O'), ('g1', 'O')] [('b', '?'), ('u4', '<u4'), ('i2', '<i2'), ('i8', '<i8')] " +
          "{'method': 'wilcoxon'}",
        ], name);
      }
      // And our reader reads them back as they were.
      const a = await read(name);
      for (
        const out of [`${await Deno.makeTempDir()}/x.h5ad`, `${await Deno.makeTempDir()}/x.zarr`]
      ) {
        await (out.endsWith(".zarr") ? ln.writeZarr(a, out) : ln.writeH5ad(a, out));
        const b = out.endsWith(".zarr") ? await ln.readZarr(out) : await ln.readH5ad(out);
        assertEquals(b.uns.rank_genes_groups, a.uns.rank_genes_groups, `${name} -> ${out}`);
      }
    }
  },
});

Deno.test({
  name: "a 3-D array in uns is written back with its shape; a 3-D obsm is an " +
    "UnsupportedFormatError that says how to leave it out, and stream() can",
  ...py,
  async fn() {
    for (const name of ["f22_uns3d.h5ad", "f22_uns3d.zarr"]) {
      const a = await read(name);
      assertEquals(Array.from(a.uns.a3 as BigInt64Array, Number), [0, 1, 2, 3, 4, 5, 6, 7]);
      for (
        const p of await readBack(
          a,
          `print(a.uns["a3"].shape, a.uns["a3"].dtype, a.uns["a3"][1, 0, 1])`,
        )
      ) {
        assertEquals(p, "(2, 2, 2) int64 5", name);
      }
    }
    await assertRejects(
      () => read("f22_obsm3d.h5ad"),
      ln.UnsupportedFormatError,
      /obsm\/t has 3 dimensions/,
    );
    await inInstance(async () => {
      const f = await new ln.File(`${await files()}/f22_obsm3d.h5ad`).save();
      const s = await f.stream({ subsetObs: f.subsetter().k.ge(1), obsm: [], isRunInput: false });
      assertEquals(s.nObs, 2);
    });
  },
});

Deno.test({
  name: "a DataFrame in uns indexed by numbers is written back indexed by those numbers",
  ...py,
  async fn() {
    const a = await read("f23_uns_df_range.h5ad");
    for (
      const p of await readBack(
        a,
        `d = a.uns["df"]; print(d.index.dtype, list(d.index), list(d.v))`,
      )
    ) {
      assertEquals(p, "int64 [0, 1, 2] [1.5, 2.5, 3.5]");
    }
  },
});

Deno.test({
  name:
    "a zarr X of more than 256 MB whose last chunks zarr left unwritten (fill value) reads as " +
    "zeros there, not refused as damaged",
  ...py,
  async fn() {
    await inInstance(async () => {
      const f = await new ln.File(`${await files()}/f24_tail_unwritten.zarr`).save();
      const b = await f.backed();
      const m = (await b.X!.get([3, 59999, 60000, 69999])).toDense();
      assertEquals([0, 1000, 2000, 3000].map((i) => m.data[i]), [1, 30, 0, 0]);
      b.close();
      const s = await f.stream({ subsetObs: f.subsetter().k.isin([1, 69998]), isRunInput: false });
      assertEquals(dense(s.X!).filter((_, i) => i % 1000 === 0), [1, 0]);
    });
  },
});
