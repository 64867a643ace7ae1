// The typed-array query evaluator (src/query/_batch_eval.ts) against the
// polars one (evaluate.ts) on random columns and queries: the same rows, or
// undefined where polars raises or the query is not one it takes.
import * as ln from "../../mod.ts";
import { assert, assertEquals, seeded } from "../_helpers.ts";
import { type ColumnData, evaluate } from "../../src/query/evaluate.ts";
import { evaluateTyped, type TypedColumn } from "../../src/query/_batch_eval.ts";
import { toSeries } from "../../src/formats/anndata/_decode.ts";
import type { ExprNode, Scalar } from "../../src/query/expr.ts";

const rng = seeded;

const N = 300;
const CATS = ["B cell", "T cell", "NK cell", "monocyte"];
const GRADES = ["low", "mid", "high"];

function columns(r: () => number): Record<string, TypedColumn> {
  const int = (k: number) => Math.floor(r() * k);
  const withNaN = <T extends Float32Array | Float64Array>(a: T) =>
    a.map(() => (r() < 0.1 ? NaN : int(20) / 4)) as T;
  return {
    cell_type: {
      kind: "categorical",
      codes: Int8Array.from({ length: N }, () => int(CATS.length + 1) - 1),
      categories: CATS,
      ordered: false,
    },
    grade: {
      kind: "categorical",
      codes: Int16Array.from({ length: N }, () => int(GRADES.length + 1) - 1),
      categories: GRADES,
      ordered: true,
    },
    f64: { kind: "number", values: withNaN(new Float64Array(N)) },
    f32: { kind: "number", values: withNaN(new Float32Array(N)) },
    i32: { kind: "number", values: Int32Array.from({ length: N }, () => int(10) - 3) },
    i64: { kind: "number", values: BigInt64Array.from({ length: N }, () => BigInt(int(10))) },
    flag: { kind: "bool", values: Uint8Array.from({ length: N }, () => (r() < 0.5 ? 1 : 0)) },
  };
}

/** As the readers hand columns to the polars evaluator. */
function asPolars(c: TypedColumn, name: string): ColumnData {
  if (c.kind === "categorical") return c;
  const a = c.kind === "bool"
    ? { kind: "bool" as const, data: c.values, shape: [N] }
    : { kind: "number" as const, data: c.values, shape: [N], dtype: "float64" as const };
  return { kind: "series", series: toSeries(name, a) };
}

const NAMES = ["cell_type", "grade", "f64", "f32", "i32", "i64", "flag"];
const OPS = ["eq", "ne", "gt", "ge", "lt", "le"] as const;

function value(r: () => number, col: string): Scalar {
  if (r() < 0.05) return ["x", 1, true][Math.floor(r() * 3)] as Scalar; // often the wrong type
  if (col === "cell_type") return [...CATS, "no such type"][Math.floor(r() * 5)];
  if (col === "grade") return [...GRADES, "huge"][Math.floor(r() * 4)];
  if (col === "flag") return r() < 0.5;
  return Math.floor(r() * 24) / 4 - 1;
}

function query(r: () => number, depth: number): ExprNode {
  const col = NAMES[Math.floor(r() * NAMES.length)];
  const k = depth > 3 ? r() * 0.55 : r();
  if (k < 0.3) {
    return { op: "compare", cmp: OPS[Math.floor(r() * 6)], col, value: value(r, col) };
  }
  if (k < 0.42) {
    const values = Array.from({ length: Math.floor(r() * 4) }, () => value(r, col));
    return { op: "isin", col, values };
  }
  if (k < 0.5) return { op: "isNull", col, negate: r() < 0.5 };
  if (k < 0.55) return { op: "col", name: r() < 0.8 ? "flag" : col };
  if (k < 0.65) return { op: "not", expr: query(r, depth + 1) };
  return {
    op: r() < 0.5 ? "and" : "or",
    left: query(r, depth + 1),
    right: query(r, depth + 1),
  };
}

Deno.test("typed evaluation selects the rows polars selects, on 1,000 random queries", () => {
  const r = rng(7);
  let typed = 0;
  for (let round = 0; round < 10; round++) {
    const cols = columns(r);
    const get = (name: string) => cols[name];
    const getPolars = (name: string) => asPolars(cols[name], name);
    for (let q = 0; q < 100; q++) {
      const node = query(r, 0);
      const got = evaluateTyped(node, N, get);
      let want: number[] | Error;
      try {
        want = Array.from(evaluate(node, N, getPolars));
      } catch (e) {
        want = e as Error;
      }
      const shown = new ln.Expression(node).toString();
      if (want instanceof Error) {
        assert(want instanceof ln.ValidationError, `${shown}: ${want}`);
        assertEquals(got, undefined, `${shown}: polars raised ${want.message}`);
      } else if (got) {
        assertEquals(Array.from(got), want, shown);
        typed++;
      }
    }
  }
  // Most queries are the typed evaluator's (only errors and wrong types are not).
  assert(typed > 700, `${typed} of 1,000 evaluated typed`);
});

Deno.test("typed evaluation leaves strings, wrong types and very large queries to polars", () => {
  const cols = columns(rng(1));
  const get = (name: string) => cols[name];
  const df = new ln.LazyDataFrame();
  assertEquals(evaluateTyped(df.i32.eq("5").node, N, get), undefined);
  assertEquals(evaluateTyped(df.cell_type.gt("B cell").node, N, get), undefined);
  assertEquals(evaluateTyped(df.grade.gt("huge").node, N, get), undefined);
  assertEquals(evaluateTyped(df.i32.node, N, get), undefined);
  let wide = df.i32.eq(0);
  for (let i = 1; i < 100; i++) wide = wide.or(df.i32.eq(i));
  assertEquals(evaluateTyped(wide.node, N, get), undefined);
  // Missing values never match, also under not: NaN is missing.
  const nan = cols.f64.kind === "number" ? cols.f64.values : new Float64Array();
  const got = evaluateTyped(df.f64.ge(0).not().node, N, get)!;
  assertEquals(Array.from(got).filter((i) => Number.isNaN(nan[i])), []);
  assertEquals(got.length, 0); // every present value is >= 0
});

Deno.test("a float32 column is compared with a number rounded to float32 (as numpy and pandas do), isin widens (as pandas' isin does), in both evaluators", () => {
  const values = Float32Array.of(0.1, 0.3, 0.5);
  const typed: TypedColumn = { kind: "number", values };
  const polars: ColumnData = {
    kind: "series",
    series: toSeries("x", { kind: "number", data: values, shape: [3], dtype: "float32" }),
  };
  const df = new ln.LazyDataFrame();
  const cases: [ln.Expression, number[]][] = [
    [df.x.eq(0.1), [0]],
    [df.x.ne(0.1), [1, 2]],
    [df.x.le(0.3), [0, 1]],
    [df.x.lt(0.3), [0]],
    [df.x.gt(0.3), [2]],
    [df.x.ge(0.3), [1, 2]],
    [df.x.isin([0.1, 0.5]), [2]],
  ];
  for (const [e, want] of cases) {
    assertEquals(Array.from(evaluateTyped(e.node, 3, () => typed)!), want, `typed ${e}`);
    assertEquals(Array.from(evaluate(e.node, 3, () => polars)), want, `polars ${e}`);
  }
});
