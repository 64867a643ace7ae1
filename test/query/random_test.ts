// Randomized: our evaluation (categoricals as codes, only the named columns)
// against polars evaluating the whole decoded frame (categoricals as strings).
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assertEquals } from "../_helpers.ts";
import { type ColumnData, evaluate } from "../../src/query/evaluate.ts";

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const CATS = ["a", "b", "c", "d"];

interface Frame {
  n: number;
  ours: Record<string, ColumnData>;
  full: pl.DataFrame;
  kinds: Record<string, "cat" | "num" | "str" | "bool">;
}

function makeFrame(r: () => number): Frame {
  const n = 1 + Math.floor(r() * 300);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const maybe = <T>(v: T) => (r() < 0.15 ? null : v);
  const codes = Int8Array.from({ length: n }, () => (r() < 0.15 ? -1 : Math.floor(r() * 4)));
  const num = Array.from({ length: n }, () => maybe(Math.floor(r() * 20) - 5));
  const flt = Array.from({ length: n }, () => maybe(Math.round(r() * 100) / 10));
  const str = Array.from({ length: n }, () => maybe(pick(["x", "y", "z"])));
  const bool = Array.from({ length: n }, () => maybe(r() < 0.5));
  const ours: Record<string, ColumnData> = {
    cat: { kind: "categorical", codes, categories: CATS, ordered: false },
    num: { kind: "series", series: pl.Series("num", num, pl.Float64) },
    flt: { kind: "series", series: pl.Series("flt", flt, pl.Float64) },
    str: { kind: "series", series: pl.Series("str", str, pl.Utf8) },
    bool: { kind: "series", series: pl.Series("bool", bool, pl.Bool) },
  };
  const full = pl.DataFrame([
    pl.Series("cat", Array.from(codes, (c) => (c < 0 ? null : CATS[c])), pl.Utf8).cast(
      pl.Categorical,
    ),
    pl.Series("num", num, pl.Float64),
    pl.Series("flt", flt, pl.Float64),
    pl.Series("str", str, pl.Utf8),
    pl.Series("bool", bool, pl.Bool),
    pl.Series("unused", Array.from({ length: n }, (_, i) => i)),
  ]);
  return {
    n,
    ours,
    full,
    kinds: { cat: "cat", num: "num", flt: "num", str: "str", bool: "bool" },
  };
}

function makeExpr(r: () => number, depth: number): ln.Expression {
  const df = new ln.LazyDataFrame();
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  if (depth > 0 && r() < 0.5) {
    const k = pick(["and", "or", "not"] as const);
    const a = makeExpr(r, depth - 1);
    return k === "not" ? a.not() : a[k](makeExpr(r, depth - 1));
  }
  const col = pick(["cat", "num", "flt", "str", "bool"]);
  const value = () =>
    col === "cat"
      ? pick([...CATS, "zz"])
      : col === "str"
      ? pick(["x", "y", "w"])
      : col === "bool"
      ? r() < 0.5
      : Math.floor(r() * 20) - 5;
  const kind = pick(["cmp", "isin", "null", "bare"]);
  if (kind === "bare" && col === "bool") return df.bool;
  if (kind === "null") return r() < 0.5 ? df[col].isNull() : df[col].isNotNull();
  if (kind === "isin") return df[col].isin([value(), value()]);
  const ops = col === "cat" || col === "bool"
    ? (["eq", "ne"] as const)
    : (["eq", "ne", "gt", "ge", "lt", "le"] as const);
  return df[col][pick([...ops])](value() as never);
}

/** The reference: plain polars over the whole frame, same null rules. */
function reference(node: ln.ExprNode): pl.Expr {
  const keep = (col: string, e: pl.Expr) =>
    pl.when(pl.col(col).isNull()).then(pl.lit(null)).otherwise(e);
  switch (node.op) {
    case "col":
      return pl.col(node.name);
    case "compare": {
      const col = typeof node.value === "boolean"
        ? pl.col(node.col)
        : pl.col(node.col).cast(typeof node.value === "string" ? pl.Utf8 : pl.Float64);
      const v = pl.lit(node.value);
      const e = {
        eq: col.eq(v),
        ne: col.neq(v),
        gt: col.gt(v),
        ge: col.gtEq(v),
        lt: col.lt(v),
        le: col.ltEq(v),
      }[node.cmp];
      return keep(node.col, e);
    }
    case "isin": {
      const strs = node.values.every((v) => typeof v === "string");
      const bools = node.values.every((v) => typeof v === "boolean");
      const col = strs
        ? pl.col(node.col).cast(pl.Utf8)
        : bools
        ? pl.col(node.col)
        : pl.col(node.col).cast(pl.Float64);
      const set = strs || bools
        ? pl.Series("s", [...node.values] as string[])
        : pl.Series("s", [...node.values] as number[], pl.Float64);
      return keep(node.col, col.isIn(set));
    }
    case "isNull":
      return node.negate ? pl.col(node.col).isNotNull() : pl.col(node.col).isNull();
    case "and":
      return reference(node.left).and(reference(node.right));
    case "or":
      return reference(node.left).or(reference(node.right));
    case "not":
      return reference(node.expr).not();
  }
}

Deno.test("randomized: 300 frames x expressions agree with polars over the whole frame", () => {
  const seed = Number(Deno.env.get("QUERY_SEED") ?? Date.now() % 1e6);
  const r = rng(seed);
  for (let i = 0; i < 300; i++) {
    const f = makeFrame(r);
    const q = makeExpr(r, 3);
    const ours = Array.from(evaluate(q.node, f.n, (name) => f.ours[name]));
    const mask = f.full.select(reference(q.node).fillNull(false).alias("m")).getColumn("m")
      .toArray() as boolean[];
    const want = mask.flatMap((m, j) => (m ? [j] : []));
    assertEquals(ours, want, `seed ${seed}, case ${i}: ${q}`);
  }
});
