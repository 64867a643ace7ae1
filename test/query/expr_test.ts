import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals } from "../_helpers.ts";
import { type ColumnData, evaluate } from "../../src/query/evaluate.ts";
import { checkColumns } from "../../src/query/lazy_frame.ts";

function throws(fn: () => unknown, cls: new (...a: never[]) => Error, re: RegExp) {
  try {
    fn();
  } catch (e) {
    assert(
      e instanceof cls,
      `expected ${cls.name}, got ${(e as Error).name}: ${(e as Error).message}`,
    );
    assert(re.test((e as Error).message), (e as Error).message);
    return;
  }
  throw new Error(`expected ${cls.name}`);
}

Deno.test("expressions print, are immutable, and list their columns", () => {
  const df = new ln.LazyDataFrame();
  const q = df.cell_type.isin(["dendritic cell", "T cell"]).and(df.disease.isin(["Alzheimer's"]));
  assertEquals(
    q.toString(),
    '(cell_type.isin(["dendritic cell", "T cell"]) & disease.isin(["Alzheimer\'s"]))',
  );
  const a = df.n.gt(1);
  const b = a.or(df.flag);
  assertEquals(a.toString(), "(n > 1)"); // unchanged by or()
  assertEquals(b.toString(), "((n > 1) | flag)");
  assertEquals(b.not().toString(), "~((n > 1) | flag)");
  assertEquals(df.col("a b").isNotNull().toString(), 'col("a b").isNotNull()');
  assertEquals(b.columns(), ["n", "flag"]);
  assert(Object.isFrozen(a.node));
  assertEquals(String(df.x.le(2).and(df.y.ne("z"))), '((x <= 2) & (y != "z"))');
});

Deno.test("bad query input: ValidationError saying what to do", () => {
  const df = new ln.LazyDataFrame();
  throws(() => df.x.eq(null as never), ln.ValidationError, /isNull/);
  throws(() => df.x.gt(NaN), ln.ValidationError, /NaN never matches/);
  throws(() => df.x.isin("a" as never), ln.ValidationError, /array/);
  throws(() => df.x.isin([{}] as never), ln.ValidationError, /string, number or boolean/);
  throws(() => df.x.and(3 as never), ln.ValidationError, /expression/);
  throws(() => df.col(""), ln.ValidationError, /non-empty/);
});

Deno.test("a LazyDataFrame is not a thenable; with column names it refuses unknown ones", async () => {
  const df = new ln.LazyDataFrame(["a", "b"]);
  assertEquals(await Promise.resolve(df), df); // awaiting does not call df.then
  throws(() => df.c, ln.ColumnNotFoundError, /"c".*columns are: a, b/);
  throws(
    () => checkColumns(new ln.LazyDataFrame().z.eq(1).node, ["a", "b"], "obs"),
    ln.ColumnNotFoundError,
    /no column "z" in obs; its columns are: a, b/,
  );
});

// A frame with every column kind, missing values included.
const CATS = ["B cell", "T cell", "dendritic cell"];
const codes = new Int8Array([0, 1, -1, 2, 1, 0, -1, 2]);
const cols: Record<string, ColumnData> = {
  cell_type: { kind: "categorical", codes, categories: CATS, ordered: false },
  grade: {
    kind: "categorical",
    codes: new Int8Array([0, 1, 2, -1, 0, 1, 2, 0]),
    categories: ["low", "mid", "high"],
    ordered: true,
  },
  n: { kind: "series", series: pl.Series("n", [5, 10, null, 20, 10, 0, 7, 30], pl.Float64) },
  score: {
    kind: "series",
    series: pl.Series("score", [0.5, null, 1.5, 2.5, null, 0.1, 3, 1], pl.Float64),
  },
  flag: {
    kind: "series",
    series: pl.Series("flag", [true, false, null, true, true, false, false, null], pl.Bool),
  },
  donor: {
    kind: "series",
    series: pl.Series("donor", ["D1", "D2", "D3", null, "D1", "D2", "D3", "D1"], pl.Utf8),
  },
};
const get = (name: string) => cols[name];
const run = (q: ln.Expression) => Array.from(evaluate(q.node, 8, get));

Deno.test("evaluation: every expression kind, missing values never match (also under not)", () => {
  const df = new ln.LazyDataFrame();
  assertEquals(run(df.cell_type.isin(["T cell", "dendritic cell"])), [1, 3, 4, 7]);
  assertEquals(run(df.cell_type.isin(["T cell", "dendritic cell"]).not()), [0, 5]);
  assertEquals(run(df.cell_type.eq("B cell")), [0, 5]);
  assertEquals(run(df.cell_type.ne("B cell")), [1, 3, 4, 7]);
  assertEquals(run(df.cell_type.eq("no such type")), []);
  assertEquals(run(df.cell_type.ne("no such type")), [0, 1, 3, 4, 5, 7]);
  assertEquals(run(df.cell_type.isNull()), [2, 6]);
  assertEquals(run(df.grade.ge("mid")), [1, 2, 5, 6]);
  assertEquals(run(df.n.gt(7)), [1, 3, 4, 7]);
  assertEquals(run(df.n.gt(7).not()), [0, 5, 6]);
  assertEquals(run(df.n.isin([10, 0])), [1, 4, 5]);
  assertEquals(run(df.score.le(1)), [0, 5, 7]);
  assertEquals(run(df.score.isNotNull()), [0, 2, 3, 5, 6, 7]);
  assertEquals(run(df.flag), [0, 3, 4]);
  assertEquals(run(df.flag.not()), [1, 5, 6]);
  assertEquals(run(df.flag.eq(false)), [1, 5, 6]);
  assertEquals(run(df.donor.isin(["D1", "D3"])), [0, 2, 4, 6, 7]);
  assertEquals(run(df.donor.ne("D1")), [1, 2, 5, 6]);
  // Kleene logic: missing OR true is true; missing AND false is false.
  assertEquals(run(df.flag.or(df.n.eq(20))), [0, 3, 4]);
  assertEquals(run(df.flag.or(df.score.gt(2))), [0, 3, 4, 6]);
  assertEquals(run(df.flag.and(df.score.isNull()).not()), [0, 1, 2, 3, 5, 6, 7]);
  // Empty and full selections.
  assertEquals(run(df.n.gt(1000)), []);
  assertEquals(run(df.n.isNull().or(df.n.isNotNull())), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("evaluation refuses mismatched types and orders on unordered categoricals", () => {
  const df = new ln.LazyDataFrame();
  throws(
    () => run(df.n.eq("5")),
    ln.ValidationError,
    /n holds numbers, cannot compare it with string/,
  );
  throws(() => run(df.cell_type.gt("B cell")), ln.ValidationError, /unordered categorical/);
  throws(() => run(df.grade.gt("huge")), ln.ValidationError, /not a category of grade/);
  throws(() => run(df.donor), ln.ValidationError, /not boolean/);
});

Deno.test("isin() with 100,000 values over 200,000 rows is linear (was quadratic: over 400 s)", () => {
  const n = 200_000;
  const values = Array.from({ length: 100_000 }, (_, i) => `cell${2 * i}`);
  const names = pl.Series("name", Array.from({ length: n }, (_, i) => `cell${i}`));
  const cats = Array.from({ length: 50_000 }, (_, i) => `type${i}`);
  const codes = Int32Array.from({ length: n }, (_, i) => i % 50_000);
  const df = new ln.LazyDataFrame();
  const t0 = performance.now();
  const rows = evaluate(df.name.isin(values).node, n, () => ({ kind: "series", series: names }));
  const byCode = evaluate(
    df.ct.isin(cats.filter((_, i) => i % 2 === 0)).node,
    n,
    () => ({ kind: "categorical", codes, categories: cats, ordered: false }),
  );
  const seconds = (performance.now() - t0) / 1000;
  assertEquals(rows.length, 100_000);
  assertEquals([rows[0], rows[1], rows[rows.length - 1]], [0, 2, 199_998]);
  assertEquals(byCode.length, 100_000);
  // A generous bound: linear takes well under a second here, quadratic minutes.
  assert(seconds < 20, `isin took ${seconds.toFixed(1)} s`);
});

Deno.test("expressions nested deeper than MAX_DEPTH are a ValidationError, not a stack overflow", () => {
  const df = new ln.LazyDataFrame();
  let q = df.n.eq(0);
  let error: unknown;
  try {
    for (let i = 1; i < 5_000; i++) q = q.or(df.n.eq(i));
  } catch (e) {
    error = e;
  }
  assert(error instanceof ln.ValidationError, `got ${error}`);
  assert(/isin/.test((error as Error).message));
  // A raw node 5,000 deep, built by hand, is refused the same way.
  let node: ln.ExprNode = { op: "col", name: "flag" };
  for (let i = 0; i < 5_000; i++) node = { op: "not", expr: node };
  throws(() => new ln.Expression(node), ln.ValidationError, /levels deep/);
  // Up to the limit, deep expressions evaluate.
  let ok = df.n.eq(0);
  for (let i = 1; i < 900; i++) ok = ok.or(df.n.eq(i));
  const n = pl.Series("n", Array.from({ length: 2_000 }, (_, i) => i));
  assertEquals(evaluate(ok.node, 2_000, () => ({ kind: "series", series: n })).length, 900);
});

Deno.test("an object given Expression.prototype by hand is no expression: refused as a subset and in and()", async () => {
  const forged = Object.create(ln.Expression.prototype);
  assert(!(forged instanceof ln.Expression));
  const df = new ln.LazyDataFrame();
  const real = df.n.gt(1);
  assert(real instanceof ln.Expression && !(real instanceof ln.Column));
  assert(df.n instanceof ln.Column && df.n instanceof ln.Expression);
  const r = await ln.StreamOptionsSchema.safeParse({ subsetObs: forged });
  assert(!r.success && r.error instanceof ln.ValidationError, "a forged subsetObs is refused");
  assert((await ln.StreamOptionsSchema.safeParse({ subsetObs: real })).success);
  let err: unknown;
  try {
    real.and(forged);
  } catch (e) {
    err = e;
  }
  assert(err instanceof ln.ValidationError);
});
