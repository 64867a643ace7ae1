// concatAnnData: anndata's concat along obs, checked on small cases.
import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assert, assertEquals } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { allocate } from "../../../src/formats/anndata/matrix.ts";

const py = needsPython("concatAnnData against anndata", "anndata", "numpy", "pandas");

/** A part of one row whose var names are `vars` (float32 ones). */
const row = (vars: string[], obs?: pl.DataFrame) =>
  new ln.AnnData({
    X: new ln.DenseMatrix(new Float32Array(vars.length).fill(1), [1, vars.length]),
    varNames: vars,
    ...(obs ? { obs } : {}),
  });

/** Python anndata's outer-join var names of parts with these var names, per case. */
async function anndataOuterVars(cases: string[][][]): Promise<string[][]> {
  const out = await python(
    `import anndata as ad, numpy as np, pandas as pd, json, sys, warnings
warnings.filterwarnings("ignore")
p = lambda v: ad.AnnData(np.ones((1, len(v)), dtype="float32"), var=pd.DataFrame(index=pd.Index(v, dtype=object)))
print(json.dumps([list(ad.concat([p(v) for v in c], join="outer").var_names) for c in json.loads(sys.argv[1])]))`,
    JSON.stringify(cases),
  );
  return JSON.parse(out);
}

const dense = (rows: number[][], dtype?: "int64") =>
  dtype === "int64"
    ? new ln.DenseMatrix(BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length])
    : new ln.DenseMatrix(Float32Array.from(rows.flat()), [rows.length, rows[0].length]);

function throwsValidation(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert(e instanceof ln.ValidationError, String(e));
    assert(re.test((e as Error).message), (e as Error).message);
    return;
  }
  throw new Error("expected a ValidationError");
}

Deno.test("concatAnnData joins var inner in the first part's order and outer sorted, as anndata", () => {
  const a = new ln.AnnData({ X: dense([[1, 2, 3]]), varNames: ["C", "A", "B"] });
  const b = new ln.AnnData({ X: dense([[4, 5]]), varNames: ["B", "C"] });
  const inner = ln.concatAnnData([a, b]);
  assertEquals(inner.varNames, ["C", "B"]);
  assertEquals(Array.from(inner.X!.toDense().data as Float32Array), [1, 3, 5, 4]);
  const outer = ln.concatAnnData([a, b], { join: "outer" });
  assertEquals(outer.varNames, ["A", "B", "C"]);
  assertEquals(Array.from(outer.X!.toDense().data as Float32Array), [2, 3, 1, NaN, 4, 5]);
  const same = ln.concatAnnData([b, b], { join: "outer" });
  assertEquals(same.varNames, ["B", "C"], "equal var names keep their order");
});

Deno.test("concatAnnData keeps common layers, widens mixed dtypes, keeps int64 and labels parts", () => {
  const a = new ln.AnnData({
    X: dense([[1, 2]], "int64"),
    varNames: ["A", "B"],
    layers: { counts: dense([[7, 8]]), only: dense([[0, 0]]) },
    obs: pl.DataFrame({ n: [1] }),
  });
  const b = new ln.AnnData({
    X: dense([[3, 4]], "int64"),
    varNames: ["A", "B"],
    layers: { counts: new ln.DenseMatrix(Float64Array.from([9, 10]), [1, 2]) },
    obs: pl.DataFrame({ s: ["x"] }),
  });
  const out = ln.concatAnnData([a, b], { label: "batch", keys: ["a", "b"] });
  assertEquals(out.X!.dtype, "int64");
  assertEquals(Array.from(out.X!.toDense().data as BigInt64Array), [1n, 2n, 3n, 4n]);
  assertEquals(Object.keys(out.layers), ["counts"]);
  assertEquals(out.layers.counts.dtype, "float64");
  assertEquals(Array.from(out.layers.counts.toDense().data as Float64Array), [7, 8, 9, 10]);
  assertEquals(out.obs.getColumn("batch").cast(pl.Utf8).toArray(), ["a", "b"]);
  // Inner (the default): the obs columns every part has, as pandas' concat; outer: all.
  assertEquals(out.obs.columns, ["batch"]);
  const outer = ln.concatAnnData([a, b], { label: "batch", keys: ["a", "b"], join: "outer" });
  assertEquals(outer.obs.getColumn("n").toArray(), [1, null]);
  assertEquals(outer.obs.getColumn("s").toArray(), [null, "x"]);
  assertEquals(out.categories.obs.batch, { categories: ["a", "b"], ordered: false });
});

Deno.test("concatAnnData keeps an ordered categorical ordered only where every part has the same categories, and the obsm entries every part has", () => {
  const part = (st: string[], cats: string[], pca: number[]) =>
    new ln.AnnData({
      X: dense(st.map(() => [1])),
      varNames: ["A"],
      obs: pl.DataFrame({ st: pl.Series("st", st).cast(pl.Categorical) }),
      categories: { obs: { st: { categories: cats, ordered: true } } },
      obsm: {
        pca: new ln.DenseMatrix(Float32Array.from(pca), [st.length, 2]),
        ...(cats.length === 2 ? { only: dense(st.map(() => [0])) } : {}),
      },
    });
  const a = part(["lo", "hi"], ["lo", "hi"], [1, 2, 3, 4]);
  const same = part(["hi"], ["lo", "hi"], [5, 6]);
  const other = part(["mid", "hi"], ["lo", "mid", "hi"], [7, 8, 9, 10]);
  assertEquals(ln.concatAnnData([a, same]).categories.obs.st, {
    categories: ["lo", "hi"],
    ordered: true,
  });
  // Two orders merged could contradict either: plain categories then.
  assertEquals(ln.concatAnnData([a, other]).categories.obs.st, {
    categories: ["lo", "hi", "mid"],
    ordered: false,
  });
  const both = ln.concatAnnData([a, other]);
  assertEquals(Object.keys(both.obsm), ["pca"]);
  const pca = both.obsm.pca as ln.DenseMatrix;
  assertEquals(Array.from(pca.toDense().data as Float32Array), [1, 2, 3, 4, 7, 8, 9, 10]);
});

Deno.test("concatAnnData refuses what cannot be aligned: duplicate var names, an empty inner join, a label clash, X in some parts only", () => {
  const a = new ln.AnnData({ X: dense([[1, 2]]), varNames: ["A", "A"] });
  const b = new ln.AnnData({ X: dense([[1, 2]]), varNames: ["A", "B"] });
  const c = new ln.AnnData({ X: dense([[1]]), varNames: ["Z"] });
  throwsValidation(() => ln.concatAnnData([a, b]), /var name "A" twice/);
  throwsValidation(() => ln.concatAnnData([b, c]), /no var name in common/);
  const labelled = new ln.AnnData({
    X: dense([[1]]),
    varNames: ["Z"],
    obs: pl.DataFrame({ k: [1] }),
  });
  throwsValidation(
    () => ln.concatAnnData([labelled, c], { label: "k" }),
    /already has a column "k"/,
  );
  throwsValidation(
    () => ln.concatAnnData([c, new ln.AnnData({ varNames: ["Z"], obsNames: ["o"] })]),
    /have no X/,
  );
  throwsValidation(() => ln.concatAnnData([]), /at least one/);
  throwsValidation(() => ln.concatAnnData([c], { join: "left" as never }), /"inner" or "outer"/);
});

Deno.test("a column categorical in one part and plain strings in another is written with every value among its categories", async () => {
  const a = new ln.AnnData({
    X: dense([[1], [2]]),
    obsNames: ["a1", "a2"],
    varNames: ["g"],
    obs: pl.DataFrame([pl.Series("ct", ["x", "y"]).cast(pl.Categorical)]),
    categories: { obs: { ct: { categories: ["y", "x"], ordered: false } } },
  });
  const b = new ln.AnnData({
    X: dense([[3], [4]]),
    obsNames: ["b1", "b2"],
    varNames: ["g"],
    obs: pl.DataFrame({ ct: ["z", "x"] }),
  });
  const c = ln.concatAnnData([a, b]);
  assertEquals(c.categories.obs.ct.categories, ["y", "x", "z"]);
  const path = `${await Deno.makeTempDir()}/c.h5ad`;
  await ln.writeH5ad(c, path);
  assertEquals((await ln.readH5ad(path)).obs.getColumn("ct").toArray(), ["x", "y", "z", "x"]);
});

/** `vals` (rows x w, row-major) as CSR, or CSC when `byCol`. */
function sparse(vals: number[], rows: number[] | number, w: number, byCol: boolean, int: boolean) {
  const n = rows as number;
  const [outer, inner] = byCol ? [w, n] : [n, w];
  const data: number[] = [], indices: number[] = [], indptr = [0];
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const v = byCol ? vals[b * w + a] : vals[a * w + b];
      if (v !== 0) (data.push(v), indices.push(b));
    }
    indptr.push(data.length);
  }
  const d = int ? Int32Array.from(data) : Float32Array.from(data);
  return byCol
    ? new ln.CscMatrix(d, Int32Array.from(indices), Int32Array.from(indptr), [n, w])
    : new ln.CsrMatrix(d, Int32Array.from(indices), Int32Array.from(indptr), [n, w]);
}

Deno.test("assembleRows: random parts (CSR, CSC, dense; mixed dtypes), column maps and picks agree with a dense reference", async () => {
  const { assembleRows } = await import("../../../src/formats/anndata/concat.ts");
  let x = 9;
  const rand = (k: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % k;
  };
  let reordered = 0;
  for (let t = 0; t < 300; t++) {
    const nCols = 1 + rand(8);
    const parts = Array.from({ length: 1 + rand(3) }, () => {
      const rows = rand(5), w = 1 + rand(8);
      const vals = Array.from({ length: rows * w }, () => (rand(3) ? 0 : 1 + rand(50)));
      const d = t % 4 === 0
        ? new ln.DenseMatrix(Int32Array.from(vals), [rows, w])
        : new ln.DenseMatrix(Float32Array.from(vals), [rows, w]);
      const m = rand(3) === 0 ? d : sparse(vals, rows, w, rand(2) === 0, t % 4 === 0);
      // Each stored column to a distinct result column (identity, shuffled, or dropped: -1).
      const perm = Array.from({ length: nCols }, (_, j) => j).sort(() => rand(3) - 1);
      const cols = Int32Array.from(
        { length: w },
        (_, j) => t % 3 === 0 && w === nCols ? j : j < nCols && rand(4) ? perm[j] : -1,
      );
      return { m, cols, vals, w };
    });
    const all = parts.flatMap((p, i) => Array.from({ length: p.m.shape[0] }, (_, r) => [i, r]));
    const picks = t % 2 ? all.filter(() => rand(3) > 0).sort(() => rand(3) - 1) : undefined;
    const got = assembleRows(parts, nCols, picks);
    const want = (picks ?? all).map(([i, r]) => {
      const row = Array(nCols).fill(0);
      const p = parts[i];
      for (let j = 0; j < p.w; j++) if (p.cols[j] >= 0) row[p.cols[j]] = p.vals[r * p.w + j];
      return row;
    });
    const dense = got.toDense();
    const sparseAny = parts.some((p) => !(p.m instanceof ln.DenseMatrix));
    for (let i = 0; i < want.length; i++) {
      for (let j = 0; j < nCols; j++) {
        const v = Number(dense.data[i * nCols + j]);
        // Dense results fill columns no part maps with NaN (floats); sparse ones leave 0.
        if (!sparseAny && Number.isNaN(v)) continue;
        assertEquals(v, want[i][j], `case ${t}: row ${i}, column ${j}`);
      }
    }
    if (got instanceof ln.CsrMatrix) {
      for (let i = 0; i < want.length; i++) {
        reordered += parts.some((p) => p.cols.some((c, j) => j && c >= 0 && c < p.cols[j - 1]))
          ? 1
          : 0;
        for (let k = Number(got.indptr[i]) + 1; k < Number(got.indptr[i + 1]); k++) {
          assert(got.indices[k - 1] < got.indices[k], `case ${t}: row ${i} sorted`);
        }
      }
    }
  }
  assert(reordered > 100, `${reordered} rows of parts whose columns were reordered`);
});

Deno.test({
  name:
    "concatAnnData's outer join orders var names as anndata: by code point, parts without var names not counted",
  ...py,
  async fn() {
    const cases = [
      [["\uff47", "b"], ["\u{1F600}", "b"]], // above U+FFFF sorts after U+FF47
      [["\u{1F600}", "\uffff", "a"], ["\ue000", "a"]],
      [["c", "a"], []], // an empty part leaves the names in their order
      [[], ["c", "a"], ["c", "a"]],
      [["c", "a"], [], ["b"]],
      [["c", "a"], ["a", "c"]],
      [[], []],
    ];
    const want = await anndataOuterVars(cases);
    for (const [i, c] of cases.entries()) {
      const got = ln.concatAnnData(c.map((v) => row(v)), { join: "outer" }).varNames;
      assertEquals(got, want[i], `case ${JSON.stringify(c)}`);
    }
  },
});

Deno.test({
  name:
    "concatAnnData adds the label column after the stacked obs columns, and keeps the rows of a part without obs columns, as anndata",
  ...py,
  async fn() {
    const a = row(["g"], pl.DataFrame({ x: [1] }));
    const b = row(["g"], pl.DataFrame({ x: [2], y: ["u"] }));
    const none = new ln.AnnData({
      X: new ln.DenseMatrix(new Float32Array([1, 2]), [2, 1]),
      varNames: ["g"],
      obsNames: ["p", "q"],
    });
    const want = JSON.parse(
      await python(`import anndata as ad, numpy as np, pandas as pd, json, warnings
warnings.filterwarnings("ignore")
x = lambda n, obs: ad.AnnData(np.ones((n, 1), dtype="float32"), obs=obs, var=pd.DataFrame(index=["g"]))
a = x(1, pd.DataFrame({"x": [1]}, index=["a"]))
b = x(1, pd.DataFrame({"x": [2], "y": ["u"]}, index=["b"]))
n = x(2, pd.DataFrame(index=["p", "q"]))
out = []
for parts, label in [([a, b], "batch"), ([a, n, b], "batch"), ([a, n], None), ([n, n], "batch")]:
    o = ad.concat(parts, join="outer", label=label).obs
    out.append({"columns": list(o.columns), "rows": len(o),
                "x": [None if pd.isna(v) else int(v) for v in o["x"]] if "x" in o else None})
print(json.dumps(out))`),
    );
    const cases: [ln.AnnData[], string | undefined][] = [
      [[a, b], "batch"],
      [[a, none, b], "batch"],
      [[a, none], undefined],
      [[none, none], "batch"],
    ];
    for (const [i, [ps, label]] of cases.entries()) {
      const obs = ln.concatAnnData(ps, { join: "outer", label }).obs;
      assertEquals(obs.columns, want[i].columns, `case ${i}`);
      assertEquals(obs.height, want[i].rows, `case ${i}`);
      if (want[i].x) assertEquals(obs.getColumn("x").toArray(), want[i].x, `case ${i}`);
    }
  },
});

const DTYPES: ln.Dtype[] = [
  "bool",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float32",
  "float64",
];

/** A part of one row [1, 1] of `dtype`, dense or CSR. */
function ones(dtype: ln.Dtype, csr: boolean): ln.AnnData {
  const v = allocate(dtype, 2);
  v.fill((dtype.endsWith("int64") ? 1n : 1) as never);
  const X = csr
    ? new ln.CsrMatrix(v, Int32Array.from([0, 1]), Int32Array.from([0, 2]), [1, 2], dtype)
    : new ln.DenseMatrix(v, [1, 2], dtype);
  return new ln.AnnData({ X, varNames: ["A", "B"] });
}

Deno.test({
  name: "concatAnnData gives X, dense or sparse, the dtype anndata (numpy's promotion) gives it",
  ...py,
  async fn() {
    const want = JSON.parse(
      await python(
        `import anndata as ad, numpy as np, scipy.sparse as sp, json, sys, warnings
warnings.filterwarnings("ignore")
ds = json.loads(sys.argv[1])
part = lambda d, csr: ad.AnnData(sp.csr_matrix(np.ones((1, 2), dtype=d)) if csr else np.ones((1, 2), dtype=d), dtype=d)
print(json.dumps({f"{a}+{b}+{csr}": str(ad.concat([part(a, csr), part(b, csr)]).X.dtype)
                  for a in ds for b in ds for csr in (False, True)}))`,
        JSON.stringify(DTYPES),
      ),
    );
    for (const a of DTYPES) {
      for (const b of DTYPES) {
        for (const csr of [false, true]) {
          const X = ln.concatAnnData([ones(a, csr), ones(b, csr)]).X!;
          assertEquals(
            X.dtype,
            want[`${a}+${b}+${csr ? "True" : "False"}`],
            `${a} + ${b}, csr ${csr}`,
          );
          assertEquals(X instanceof ln.CsrMatrix, csr);
          assertEquals(Array.from(X.toDense().data, Number), [1, 1, 1, 1], `${a} + ${b}`);
        }
      }
    }
    // int64 counts above 2^53 next to int32 ones stay exact (int64, not float64).
    const big = 2n ** 53n + 1n;
    for (const csr of [false, true]) {
      const p64 = new ln.AnnData({
        X: csr
          ? new ln.CsrMatrix(BigInt64Array.from([big]), Int32Array.of(0), Int32Array.of(0, 1), [
            1,
            1,
          ])
          : new ln.DenseMatrix(BigInt64Array.from([big]), [1, 1]),
        varNames: ["A"],
        obsNames: ["x"],
      });
      const p32 = new ln.AnnData({
        X: new ln.DenseMatrix(Int32Array.of(1), [1, 1]),
        varNames: ["A"],
        obsNames: ["y"],
      });
      const X = ln.concatAnnData([p32, p64]).X!;
      assertEquals(X.dtype, "int64");
      assertEquals(Array.from(X.toDense().data as BigInt64Array), [1n, big]);
    }
  },
});

Deno.test("concatAnnData refuses parts that are not AnnData and options it does not know, naming what it takes", () => {
  const a = row(["A"]);
  const cases: [() => unknown, RegExp][] = [
    [() => ln.concatAnnData(null as never), /parts is an array of at least one AnnData, got null/],
    [() => ln.concatAnnData([] as never), /at least one AnnData, got an array of 0/],
    [() => ln.concatAnnData({} as never), /at least one AnnData, got an object/],
    [() => ln.concatAnnData([null] as never), /parts\[0\] is null, not an AnnData/],
    [() => ln.concatAnnData([a, 5] as never), /parts\[1\] is number 5, not an AnnData/],
    [
      () => ln.concatAnnData([a], null as never),
      /options must be an object like \{ join, label, keys \}/,
    ],
    [() => ln.concatAnnData([a], [] as never), /options must be an object/],
    [
      () => ln.concatAnnData([a], { bogus: 1 } as never),
      /unknown option "bogus"; the options are join, label, keys/,
    ],
    [
      () => ln.concatAnnData([a], { label: 5 } as never),
      /label is .*non-empty string.*got number 5/,
    ],
    [() => ln.concatAnnData([a], { label: "" }), /label is .*got ""/],
    [() => ln.concatAnnData([a], { keys: "x" } as never), /keys is an array of strings/],
    [() => ln.concatAnnData([a], { keys: [1] } as never), /keys is an array of strings/],
    [() => ln.concatAnnData([a], { join: 1 } as never), /"inner" or "outer", got number 1/],
  ];
  for (const [fn, re] of cases) throwsValidation(fn, re);
  assertEquals(ln.concatAnnData([a], { label: "p" }).obs.columns, ["p"]);
});

Deno.test("concatAnnData keeps an obs or var column named like its own helper column", () => {
  const part = (names: string[]) =>
    new ln.AnnData({
      obsNames: names,
      varNames: ["g"],
      obs: pl.DataFrame({ __lamin_position: names.map((_, i) => i * 10) }),
      var: pl.DataFrame({ __lamin_position: ["v"] }),
    });
  const c = ln.concatAnnData([part(["a", "b"]), part(["c"])]);
  assertEquals(c.obs.getColumn("__lamin_position").toArray(), [0, 10, 0]);
  assertEquals(c.var.getColumn("__lamin_position").toArray(), ["v"]);
});
