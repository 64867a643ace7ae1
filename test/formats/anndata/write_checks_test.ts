// What the writers refuse, and what they write so that Python reads it as
// given: keys that would leave the store, a target that is not a store,
// AnnData fields changed after construction, dtypes that do not describe
// their values, categories that do not cover them, missing strings,
// integers past int64, DataFrames in obsm, non-ASCII names in zarr.
import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assertEquals, assertRejects, listTree, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { encodeAnnData } from "../../../src/formats/anndata/_encode.ts";
import { writeTreeH5 } from "../../../src/formats/anndata/write_h5ad.ts";
import { group, type TreeGroup } from "../../../src/formats/anndata/_tree.ts";

const py = needsPython("writing AnnData", "anndata", "h5py", "zarr", "pandas");

const X = () => new ln.DenseMatrix(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
const small = (o: Partial<ln.AnnDataOptions> = {}) =>
  new ln.AnnData({ X: X(), obsNames: ["a", "b", "c"], varNames: ["g1", "g2"], ...o });

/** What Python anndata reads of `path`: `expr` evaluated with `a` the AnnData. */
const pyRead = async (path: string, expr: string) =>
  (await python(
    `import anndata as ad, sys; p = sys.argv[1]; a = ad.read_zarr(p) if p.endswith(".zarr") else ad.read_h5ad(p); print(${expr})`,
    path,
  )).trim();

Deno.test("writeZarr refuses keys that would leave the store or overwrite its metadata, writing nothing", async () => {
  const dir = await tempDir();
  for (
    const a of [
      small({ layers: { "../../escaped": X() } }),
      small({ layers: { "..": X() } }),
      small({ uns: { "a/b": 1 } }),
      small({ uns: { ".zattrs": 1 } }),
      small({ obs: pl.DataFrame({ "": [1, 2, 3] }) }),
    ]
  ) {
    await assertRejects(
      () => ln.writeZarr(a, `${dir}/store/x.zarr`),
      ln.ValidationError,
      /cannot be a key of a zarr store/,
    );
  }
  assertEquals(await listTree(dir), []);
});

Deno.test("writeZarr refuses to replace a folder or file that is not a zarr store", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/mine`);
  await Deno.writeTextFile(`${dir}/mine/keep.txt`, "keep");
  await Deno.writeTextFile(`${dir}/file.zarr`, "not a store");
  for (const target of [`${dir}/mine`, `${dir}/file.zarr`]) {
    await assertRejects(
      () => ln.writeZarr(small(), target),
      ln.ValidationError,
      /is not a zarr store/,
    );
  }
  assertEquals(await listTree(dir), ["file.zarr", "mine/keep.txt"]);
  // A zarr store is replaced.
  await ln.writeZarr(small(), `${dir}/ok.zarr`);
  await ln.writeZarr(small({ uns: { v: 2 } }), `${dir}/ok.zarr`);
  assertEquals((await ln.readZarr(`${dir}/ok.zarr`)).uns.v, 2);
});

Deno.test("the writers check an AnnData again (fields are assignable), and refuse what is not one", async () => {
  const dir = await tempDir();
  const a = small();
  a.obs = pl.DataFrame({ n: [1, 2] });
  const b = small();
  b.categories.obs.c = { categories: ["x", "x"], ordered: false };
  const c = small();
  c.raw = {
    X: new ln.DenseMatrix(new Float32Array(2), [1, 2]),
    var: pl.DataFrame({}),
    varNames: ["g1", "g2"],
    varm: {},
  };
  const d = small();
  (d as { obsNames: unknown }).obsNames = undefined;
  const e = small();
  (e as { X: unknown }).X = { shape: [3, 2] };
  const f = small();
  (f as { layers: unknown }).layers = null;
  for (const write of [ln.writeH5ad, ln.writeZarr]) {
    await assertRejects(
      () => write(d, `${dir}/d`),
      ln.ValidationError,
      /obsNames is undefined, expected strings/,
    );
    await assertRejects(
      () => write(e, `${dir}/e`),
      ln.ValidationError,
      /X is an object, expected a DenseMatrix/,
    );
    await assertRejects(
      () => write(f, `${dir}/f`),
      ln.ValidationError,
      /layers is null, expected an object/,
    );
    await assertRejects(
      () => write(a, `${dir}/a`),
      ln.ValidationError,
      /obs's height is 2, expected 3/,
    );
    await assertRejects(() => write(b, `${dir}/b`), ln.ValidationError, /categories of obs.c/);
    await assertRejects(() => write(c, `${dir}/c`), ln.ValidationError, /raw.X's shape/);
    await assertRejects(
      () => write({} as ln.AnnData, `${dir}/d`),
      ln.ValidationError,
      /expected an AnnData/,
    );
  }
  assertEquals(await listTree(dir), []);
});

Deno.test("matrices refuse values of another kind than their dtype says", async () => {
  await assertRejects(
    () => new ln.DenseMatrix(new Float64Array(4), [2, 2], "float32"),
    ln.ValidationError,
    /Float64Array \(float64\), but dtype "float32"/,
  );
  await assertRejects(
    () =>
      new ln.CsrMatrix(
        new Float32Array(1),
        new Int32Array(1),
        new Int32Array([0, 1, 1]),
        [2, 2],
        "int64",
      ),
    ln.ValidationError,
    /dtype "int64"/,
  );
  await assertRejects(
    () => new ln.DenseMatrix(null as unknown as Float32Array, [1, 2]),
    ln.ValidationError,
    /must be a typed array/,
  );
  await assertRejects(
    () => new ln.DenseMatrix([1, 2] as unknown as Float32Array, [1, 2]),
    ln.ValidationError,
    /must be a typed array/,
  );
  assertEquals(new ln.DenseMatrix(new Uint8Array(2), [1, 2], "bool").dtype, "bool");
});

Deno.test("categories given for a column must cover its values", async () => {
  const a = small({
    obs: pl.DataFrame([pl.Series("c", ["lo", "hi", "other"]).cast(pl.Categorical)]),
    categories: { obs: { c: { categories: ["lo", "mid", "hi"], ordered: true } } },
  });
  await assertRejects(
    async () => ln.writeH5ad(a, `${await tempDir()}/x.h5ad`),
    ln.ValidationError,
    /"c" has values that are not among the categories given for it \(other\)/,
  );
});

Deno.test("uns values that cannot be written are typed errors naming them; a cycle too", async () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (
    const [uns, cls, re] of [
      [{ huge: 2n ** 64n }, ln.ValidationError, /uns\/huge: .* outside the 64-bit integer range/],
      [{ deep: { c: cyclic } }, ln.ValidationError, /uns\/deep\/c\/self: it contains itself/],
      [{ when: new Date(0) }, ln.UnsupportedFormatError, /uns\/when: unsupported value a Date/],
    ] as const
  ) {
    await assertRejects(
      async () => ln.writeH5ad(small({ uns }), `${await tempDir()}/x.h5ad`),
      cls,
      re,
    );
  }
});

Deno.test({
  name:
    "Python reads what was written: missing strings, big integers in uns, DataFrames in obsm, non-ASCII zarr names",
  ...py,
  async fn() {
    const dir = await tempDir();
    const bare = Object.create(null);
    bare.k = 1;
    const a = small({
      obs: pl.DataFrame([
        pl.Series("s", ["x", null, "y"]),
        pl.Series("ünï 🧬", new Int32Array([1, 2, 3])),
      ]),
      obsm: { meta: pl.DataFrame({ m: [1.5, 2.5, 3.5] }) },
      uns: { big: 1e20, u64: 2n ** 63n + 1n, bare },
    });
    for (const p of [`${dir}/a.h5ad`, `${dir}/a.zarr`]) {
      await (p.endsWith(".zarr") ? ln.writeZarr(a, p) : ln.writeH5ad(a, p));
      assertEquals(
        await pyRead(
          p,
          `list(a.obs["s"].astype(object).where(a.obs["s"].notna(), None)), list(a.obs["ünï 🧬"]), list(a.obsm["meta"].index), a.uns["big"], int(a.uns["u64"]), dict(a.uns["bare"])`,
        ),
        "['x', None, 'y'] [1, 2, 3] ['a', 'b', 'c'] 1e+20 9223372036854775809 {'k': 1}",
      );
      const back = await (p.endsWith(".zarr") ? ln.readZarr(p) : ln.readH5ad(p));
      assertEquals(back.obs.getColumn("s").toArray(), ["x", null, "y"]);
      assertEquals([back.uns.big, back.uns.u64], [1e20, 2n ** 63n + 1n]);
      assertEquals((back.obsm.meta as pl.DataFrame).getColumn("m").toArray(), [1.5, 2.5, 3.5]);
    }
  },
});

Deno.test("writeH5ad and writeZarr into a folder that does not exist, writeH5ad onto a folder: said, nothing written", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/sub`);
  for (const [write, name] of [[ln.writeH5ad, "x.h5ad"], [ln.writeZarr, "x.zarr"]] as const) {
    await assertRejects(
      () => write(small(), `${dir}/missing/${name}`),
      ln.StorageError,
      /the folder .*missing does not exist; create it first/,
    );
  }
  await assertRejects(
    () => ln.writeH5ad(small(), `${dir}/sub`),
    ln.ValidationError,
    /it is a folder/,
  );
  assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["sub"]);
  assertEquals(await listTree(dir), []);
});

Deno.test("writeH5ad refuses a string holding NUL (HDF5 readers cut it there), writing nothing; zarr keeps it", async () => {
  const dir = await tempDir();
  for (
    const a of [
      small({ obsNames: ["a", "b\0c", "d"] }),
      small({ uns: { note: "x\0y" } }),
      small({ obs: pl.DataFrame({ s: ["p", "q\0", "r"] }) }),
    ]
  ) {
    await assertRejects(() => ln.writeH5ad(a, `${dir}/x.h5ad`), ln.ValidationError, /NUL/);
    assertEquals(await listTree(dir), []);
  }
  await ln.writeZarr(small({ uns: { note: "x\0y" } }), `${dir}/x.zarr`);
  assertEquals((await ln.readZarr(`${dir}/x.zarr`)).uns.note, "x\0y");
});

Deno.test("CsrMatrix/CscMatrix refuse index arrays of other types (written as int64 bytes they are not, Python crashed reading the file)", () => {
  const data = Float32Array.of(1, 2);
  const cases: [string, () => unknown, RegExp][] = [
    [
      "Uint32Array indices",
      () =>
        new ln.CsrMatrix(
          data,
          Uint32Array.of(0, 1) as unknown as Int32Array,
          Int32Array.of(0, 1, 2),
          [2, 2],
        ),
      /indices is an Int32Array or a BigInt64Array, got a Uint32Array/,
    ],
    [
      "Float64Array indptr",
      () =>
        new ln.CscMatrix(
          data,
          Int32Array.of(0, 1),
          Float64Array.of(0, 1, 2) as unknown as Int32Array,
          [2, 2],
        ),
      /indptr is an Int32Array or a BigInt64Array, got a Float64Array/,
    ],
    [
      "a plain array of indices",
      () => new ln.CsrMatrix(data, [0, 1] as unknown as Int32Array, Int32Array.of(0, 1, 2), [2, 2]),
      /got an array/,
    ],
    [
      "plain data",
      () =>
        new ln.CsrMatrix(
          [1, 2] as unknown as Float32Array,
          Int32Array.of(0, 1),
          Int32Array.of(0, 1, 2),
          [2, 2],
        ),
      /must be a typed array/,
    ],
  ];
  for (const [name, make, re] of cases) {
    let err: unknown;
    try {
      make();
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ln.ValidationError)) throw new Error(`${name}: ${err}`);
    if (!re.test(err.message)) throw new Error(`${name}: ${err.message}`);
  }
});

Deno.test({
  name: "categories given for a column: value categories checked in the column's dtype (same " +
    "value twice, out of range, not a number: refused; float32 ones match), a string column " +
    "without nulls written as a categorical, metadata that does not fit refused",
  ...py,
  async fn() {
    const dir = await tempDir();
    const withCats = (col: pl.Series, categories: string[], values?: "number" | "boolean") =>
      new ln.AnnData({
        obs: pl.DataFrame([col]),
        obsNames: ["x", "y"],
        categories: {
          obs: { a: { categories, ordered: true, ...(values ? { values } : {}) } },
          var: {},
        },
      });
    const refused: [pl.Series, string[], "number" | "boolean" | undefined, RegExp][] = [
      [pl.Series("a", [0, 0], pl.Int32), ["0", "00"], "number", /"0" and "00" are the same value/],
      [pl.Series("a", [1, 0], pl.Int32), ["1", "", "0"], "number", /"", which is not a whole/],
      [pl.Series("a", [1, 1], pl.Float64), ["1", "1.0"], "number", /the same value \(1\)/],
      [pl.Series("a", [1, 1], pl.Float64), ["1", "abc"], "number", /"abc", which is not a number/],
      [pl.Series("a", [1, 1], pl.Int8), ["1", "1000"], "number", /outside int8's range/],
      [pl.Series("a", [1, 1], pl.UInt8), ["1", "-1"], "number", /outside uint8's range/],
      [pl.Series("a", [true, false], pl.Bool), ["false", "true", "maybe"], "boolean", /neither/],
      [pl.Series("a", [1, 2], pl.Int32), ["1", "2"], undefined, /give values: "number"/],
      [pl.Series("a", ["p", "q"]), ["p", "q"], "number", /leave values out/],
    ];
    for (const [col, cats, values, re] of refused) {
      await assertRejects(
        () => ln.writeH5ad(withCats(col, cats, values), `${dir}/bad.h5ad`),
        ln.ValidationError,
        re,
      );
    }
    await ln.writeH5ad(
      withCats(pl.Series("a", [0.1, 0.5], pl.Float32), ["0.5", "0.1", "1e-3"], "number"),
      `${dir}/f32.h5ad`,
    );
    assertEquals(
      await pyRead(
        `${dir}/f32.h5ad`,
        `list(a.obs.a.cat.categories.astype(str)), a.obs.a.dtype.ordered, a.obs.a.cat.codes.tolist()`,
      ),
      "['0.5', '0.10000000149011612', '0.0010000000474974513'] True [1, 0]",
    );
    await ln.writeH5ad(withCats(pl.Series("a", ["x", "y"]), ["y", "x", "z"]), `${dir}/s.h5ad`);
    assertEquals(
      await pyRead(
        `${dir}/s.h5ad`,
        `list(a.obs.a.cat.categories), a.obs.a.dtype.ordered, list(a.obs.a)`,
      ),
      "['y', 'x', 'z'] True ['x', 'y']",
    );
  },
});

Deno.test({
  name:
    "DataFrames without columns (polars gives them no rows) keep their rows: in uns and obsm, " +
    "read and written back",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(
      `import sys, anndata as ad, numpy as np, pandas as pd
a = ad.AnnData(X=np.ones((2, 2), dtype=np.float32), obs=pd.DataFrame(index=["a", "b"]),
               var=pd.DataFrame(index=["g", "h"]), dtype=np.float32)
a.uns["df"] = pd.DataFrame(index=["x", "y", "z"])
a.obsm["df"] = pd.DataFrame(index=a.obs_names)
a.write_h5ad(sys.argv[1] + "/a.h5ad"); a.write_zarr(sys.argv[1] + "/a.zarr")`,
      dir,
    );
    for (const [read, src] of [[ln.readH5ad, "a.h5ad"], [ln.readZarr, "a.zarr"]] as const) {
      const a = await read(`${dir}/${src}`);
      await ln.writeH5ad(a, `${dir}/back.h5ad`);
      await ln.writeZarr(a, `${dir}/back.zarr`);
      for (const out of ["back.h5ad", "back.zarr"]) {
        assertEquals(
          await pyRead(
            `${dir}/${out}`,
            `list(a.uns["df"].index), a.obsm["df"].shape, list(a.obsm["df"].index)`,
          ),
          "['x', 'y', 'z'] (2, 0) ['a', 'b']",
          `${src} -> ${out}`,
        );
      }
    }
  },
});

Deno.test({
  name: "writeH5ad: a group of more than 4,096 members (a B-tree of two levels) is read by h5py " +
    "and anndata, by name and whole",
  ...py,
  async fn() {
    const dir = await tempDir();
    const uns: Record<string, number> = {};
    for (let i = 0; i < 6000; i++) uns[`k${String(i).padStart(5, "0")}`] = i;
    await ln.writeH5ad(small({ uns }), `${dir}/wide.h5ad`);
    assertEquals(
      await pyRead(
        `${dir}/wide.h5ad`,
        `len(a.uns), a.uns["k04097"], a.uns["k05999"], sorted(a.uns) == sorted(f"k{i:05d}" for i in range(6000))`,
      ),
      "6000 4097 5999 True",
    );
    assertEquals(
      (await python(
        `import h5py, sys; f = h5py.File(sys.argv[1]); print(f["uns/k03000"][()], f["uns"]["k00000"][()], len(f["uns"]))`,
        `${dir}/wide.h5ad`,
      )).trim(),
      "3000 0 6000",
    );
    const back = await ln.readH5ad(`${dir}/wide.h5ad`);
    assertEquals(Object.keys(back.uns).length, 6000);
    assertEquals(back.uns.k05432, 5432);
  },
});

Deno.test("writers refuse strings with a lone surrogate (UTF-8 cannot store them: they became U+FFFD), writing nothing", async () => {
  const dir = await tempDir();
  const bad = [
    small({ obsNames: ["a", "b\ud800", "c"] }),
    small({ uns: { note: "half \ud83d" } }),
  ];
  for (const a of bad) {
    for (const [write, out] of [[ln.writeH5ad, "x.h5ad"], [ln.writeZarr, "x.zarr"]] as const) {
      await assertRejects(() => write(a, `${dir}/${out}`), ln.ValidationError, /lone surrogate/);
      assertEquals(await listTree(dir), []);
    }
  }
  // (A polars column cannot hold one: polars makes it U+FFFD itself.) A whole pair is fine.
  await ln.writeH5ad(small({ uns: { note: "\ud83d\ude00" } }), `${dir}/ok.h5ad`);
  assertEquals((await ln.readH5ad(`${dir}/ok.h5ad`)).uns.note, "😀");
});

Deno.test("writeH5ad, writeZarr and writeH5mu refuse a path that is not a string and bad options, writing nothing", async () => {
  const dir = await tempDir();
  const m = new ln.MuData({ mod: { rna: small() } });
  const writers: [string, (p: unknown, o?: unknown) => Promise<void>][] = [
    ["writeH5ad", (p, o) => ln.writeH5ad(small(), p as string, o as never)],
    ["writeZarr", (p, o) => ln.writeZarr(small(), p as string, o as never)],
    ["writeH5mu", (p, o) => ln.writeH5mu(m, p as string, o as never)],
  ];
  for (const [name, write] of writers) {
    for (const p of [null, undefined, 5, {}, ["a"], "", `${dir}/a\0b`]) {
      await assertRejects(
        () => write(p),
        ln.ValidationError,
        new RegExp(`${name}\\(data, path\\)`),
      );
    }
    for (const o of [null, "x", 5, { compression: "zip" }, { chunks: -1 }, { compression: 1 }]) {
      await assertRejects(
        () => write(`${dir}/o`, o),
        ln.ValidationError,
        new RegExp(`${name}\\(data, path, options\\)`),
      );
    }
  }
  assertEquals(await listTree(dir), []);
  await ln.writeH5ad(small(), `${dir}/g.h5ad`, { compression: "gzip" });
  await ln.writeZarr(small(), `${dir}/z.zarr`, { compression: "zlib" });
  assertEquals((await ln.readH5ad(`${dir}/g.h5ad`)).nObs, 3);
});

Deno.test("uns nested deeper than 100 levels is a ValidationError for every writer, not a stack overflow", async () => {
  const dir = await tempDir();
  const deep = JSON.parse('{"a":'.repeat(3000) + "1" + "}".repeat(3000));
  const a = small({ uns: deep });
  for (const write of [ln.writeH5ad, ln.writeZarr]) {
    await assertRejects(
      () => write(a, `${dir}/deep`),
      ln.ValidationError,
      /nests more than 100 levels/,
    );
  }
  const m = new ln.MuData({ mod: { rna: small() }, uns: deep });
  await assertRejects(
    () => ln.writeH5mu(m, `${dir}/deep.h5mu`),
    ln.ValidationError,
    /nests more than 100/,
  );
  assertEquals(await listTree(dir), []);
  // 99 levels under uns still write and read back.
  const ok = JSON.parse('{"a":'.repeat(99) + "1" + "}".repeat(99));
  await ln.writeH5ad(small({ uns: ok }), `${dir}/ok.h5ad`);
  let v: unknown = (await ln.readH5ad(`${dir}/ok.h5ad`)).uns;
  for (let i = 0; i < 99; i++) v = (v as Record<string, unknown>).a;
  assertEquals(v, 1);
});

Deno.test("a file whose uns nests absurdly deep is a CorruptFileError, not a stack overflow", async () => {
  const dir = await tempDir();
  // Written around the encoder's limit: the tree as a crafted file would hold it.
  const tree = encodeAnnData(small());
  let g = tree.children.uns as TreeGroup;
  for (let i = 0; i < 400; i++) {
    const next = group({ "encoding-type": "dict", "encoding-version": "0.1.0" });
    g.children.a = next;
    g = next;
  }
  await writeTreeH5(tree, `${dir}/deep.h5ad`);
  await assertRejects(
    () => ln.readH5ad(`${dir}/deep.h5ad`),
    ln.CorruptFileError,
    /nests more than 100 levels deep/,
  );
});
