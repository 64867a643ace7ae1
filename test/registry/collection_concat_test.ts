// Collections against anndata's concat: mapped() batches as load() gives X,
// checks of the options before anything is read.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";

/** A file of `n` rows over `vars`: values 1.., as `dtype`, dense or CSR. */
async function shard(
  key: string,
  vars: string[],
  n: number,
  dtype: ln.Dtype,
  csr = false,
): Promise<ln.File> {
  const k = vars.length;
  const big = dtype.endsWith("int64");
  const vals = Array.from({ length: n * k }, (_, i) => i + 1);
  const typed = (v: number[]) => {
    const out = new ({
      int32: Int32Array,
      int64: BigInt64Array,
      float32: Float32Array,
      uint8: Uint8Array,
    } as Record<string, new (n: number) => ln.NumericArray>)[dtype](v.length);
    v.forEach((x, i) => (out[i] = (big ? BigInt(x) : x) as never));
    return out;
  };
  const X = csr
    ? new ln.CsrMatrix(
      typed(vals),
      Int32Array.from(vals, (_, i) => i % k),
      Int32Array.from({ length: n + 1 }, (_, r) => r * k),
      [n, k],
    )
    : new ln.DenseMatrix(typed(vals), [n, k]);
  const adata = new ln.AnnData({
    X,
    varNames: vars,
    obsNames: Array.from({ length: n }, (_, r) => `${key}${r}`),
    obs: pl.DataFrame({ cell: Array.from({ length: n }, (_, r) => `${key}${r}`) }),
  });
  return await new ln.File(adata, { key: `${key}.h5ad` }).save();
}

/** A matrix's rows as strings (NaN kept), for comparing. */
const rows = (m: ln.Matrix) => Array.from(m.toDense().data as ArrayLike<unknown>, String);

Deno.test("every batch of mapped() has the dtype, layout and missing-value fill load() gives X, whichever files it reads", async () => {
  await freshInstance();
  try {
    const i32 = await shard("i32", ["A", "B"], 2, "int32");
    const f32 = await shard("f32", ["A", "C"], 2, "float32");
    const i64 = await shard("i64", ["A", "B"], 2, "int64", true);
    const empty = await shard("e", ["A", "B"], 0, "float32");
    const cases: [ln.File[], ln.Join, ln.Dtype, boolean][] = [
      [[i32, f32], "outer", "float64", false], // int32 + float32: float64, NaN for missing genes
      [[i32, i64], "inner", "int64", true], // a dense file's batch is CSR too
      [[empty, i32], "inner", "float64", false], // an empty float32 file counts
    ];
    for (const [i, [files, join, dtype, sparse]] of cases.entries()) {
      const c = await new ln.Collection(files, { name: `c${i}` }).save();
      const all = (await c.load({ join })) as ln.AnnData;
      assertEquals(all.X!.dtype, dtype, `case ${i}`);
      assertEquals(all.X instanceof ln.CsrMatrix, sparse, `case ${i}`);
      for (const prefetch of [1, undefined]) {
        const got: string[] = [];
        for await (const b of c.mapped({ batchSize: 2, join, prefetch })) {
          assertEquals(b.X.dtype, dtype, `case ${i}, batch ${b.index}`);
          assertEquals(b.X instanceof ln.CsrMatrix, sparse, `case ${i}, batch ${b.index}`);
          got.push(...rows(b.X));
        }
        assertEquals(got, rows(all.X!), `case ${i}, prefetch ${prefetch}`);
      }
    }
  } finally {
    await ln.close();
  }
});

Deno.test("mapped({ encodeLabels }) sorts a column's values by code point, as Python sorts them", async () => {
  await freshInstance();
  try {
    const adata = new ln.AnnData({
      X: new ln.DenseMatrix(new Float32Array(3), [3, 1]),
      varNames: ["A"],
      obs: pl.DataFrame({ ct: ["\u{1F600}", "\uff47", "b"] }),
    });
    const f = await new ln.File(adata, { key: "l.h5ad" }).save();
    const c = await new ln.Collection([f], { name: "labels" }).save();
    for await (const b of c.mapped({ obsColumns: ["ct"], encodeLabels: true })) {
      assertEquals(b.labels.ct, ["b", "\uff47", "\u{1F600}"]);
      assertEquals(b.obs.ct, [2, 1, 0]);
    }
  } finally {
    await ln.close();
  }
});

Deno.test("load(), stream() and mapped() refuse unknown options and options of the wrong type before anything is read", async () => {
  const root = await freshInstance();
  try {
    // A corrupt .h5ad: a read would fail otherwise than with a ValidationError.
    await Deno.writeTextFile(`${root}/bad.h5ad`, "not an hdf5 file");
    const c = await new ln.Collection([await new ln.File(`${root}/bad.h5ad`).save()], {
      name: "bad",
    }).save();
    const drain = async (it: AsyncIterable<unknown>) => {
      for await (const _ of it) { /* read on */ }
    };
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      [
        "load bogus",
        () => c.load({ bogus: 1 } as never),
        /unknown option "bogus"; the options are join, isRunInput/,
      ],
      ["load parallel", () => c.load({ parallel: 2 } as never), /unknown option "parallel"/],
      [
        "load isRunInput",
        () => c.load({ isRunInput: "no" } as never),
        /isRunInput is true or false, got "no"/,
      ],
      ["load null", () => c.load(null as never), /options must be an object/],
      ["load array", () => c.load([] as never), /options must be an object/],
      [
        "stream bogus",
        () => c.stream({ bogus: 1 } as never),
        /unknown option "bogus"; the options are join, isRunInput, subsetObs, subsetVar, parallel/,
      ],
      [
        "stream subsetObs",
        () => c.stream({ subsetObs: "x" } as never),
        /subsetObs is an expression from file.subsetter\(\).*got "x"/,
      ],
      [
        "stream subsetVar",
        () => c.stream({ subsetVar: true } as never),
        /subsetVar is an expression/,
      ],
      [
        "stream isRunInput",
        () => c.stream({ isRunInput: 1 } as never),
        /isRunInput is true or false/,
      ],
      ...[-1, 0, 1.5, 1e9, "2"].map((p): [string, () => Promise<unknown>, RegExp] => [
        `stream parallel ${p}`,
        () => c.stream({ parallel: p as number }),
        /parallel is a whole number from 1 to 64/,
      ]),
      [
        "mapped bogus",
        () => drain(c.mapped({ bogus: 1 } as never)),
        /unknown option "bogus"; the options are batchSize, shuffle/,
      ],
      [
        "mapped layers",
        () => drain(c.mapped({ layers: ["nope"] } as never)),
        /unknown option "layers"/,
      ],
      [
        "mapped shuffle",
        () => drain(c.mapped({ shuffle: "yes" } as never)),
        /shuffle is true or false, got "yes"/,
      ],
      [
        "mapped dropLast",
        () => drain(c.mapped({ dropLast: "yes" } as never)),
        /dropLast is true or false/,
      ],
      [
        "mapped encodeLabels",
        () => drain(c.mapped({ encodeLabels: 1 } as never)),
        /encodeLabels is true or false/,
      ],
      [
        "mapped parallel",
        () => drain(c.mapped({ parallel: 1e9 })),
        /parallel is a whole number from 1 to 64/,
      ],
      ["mapped io", () => drain(c.mapped({ io: {} as never })), /io is an object of counters/],
    ];
    for (const [what, fn, re] of cases) {
      const e = await assertRejects(fn, ln.ValidationError, re);
      assert(!/hdf5|corrupt/i.test(e.message), `${what}: ${e.message}`);
    }
  } finally {
    await ln.close();
  }
});

Deno.test("stream({ subsetVar }) whose selections share no var name is a ValidationError before X is read", async () => {
  await freshInstance();
  try {
    const mk = async (key: string, hv: boolean[]) =>
      await new ln.File(
        new ln.AnnData({
          X: new ln.DenseMatrix(new Float32Array([1, 2, 3, 4]), [2, 2]),
          varNames: ["A", "B"],
          var: pl.DataFrame({ hv }),
        }),
        { key },
      ).save();
    const c = await new ln.Collection([
      await mk("1.h5ad", [true, false]),
      await mk("2.h5ad", [false, true]),
    ], {
      name: "hv",
    }).save();
    const hv = new ln.LazyDataFrame().hv;
    await assertRejects(
      () => c.stream({ subsetVar: hv }),
      ln.ValidationError,
      /the var that subsetVar selects .* no name in common \(e.g\. .*selects A\).*nothing was read/,
    );
    const outer = await c.stream({ subsetVar: hv, join: "outer" });
    assertEquals(outer.varNames, ["A", "B"]);
    assertEquals(outer.shape, [4, 2]);
    const both = await c.stream({ subsetVar: new ln.LazyDataFrame().hv.or(hv.not()) });
    assertEquals(both.shape, [4, 2]);
    await assertRejects(
      () => c.stream({ subsetVar: new ln.LazyDataFrame().nope.eq(1) }),
      ln.ColumnNotFoundError,
    );
  } finally {
    await ln.close();
  }
});
