// Evaluate a query over the columns it names: compiled to polars
// expressions over a frame of just those columns. Categorical columns are
// given as codes + categories and compared by code, never decoded.
import pl from "nodejs-polars";
import { match } from "ts-pattern";
import { ValidationError } from "../errors.ts";
import { columnsOf, type CompareOp, type ExprNode, type Scalar, show } from "./expr.ts";

/** One column as the evaluator takes it. */
export type ColumnData =
  | {
    kind: "categorical";
    /** Codes into `categories`; -1 is missing. */
    codes: ArrayLike<number | bigint>;
    categories: readonly string[];
    ordered: boolean;
  }
  | { kind: "series"; series: pl.Series };

type Kind = "categorical" | "string" | "number" | "bool";

interface Compiled {
  frame: pl.DataFrame;
  kinds: Map<string, Kind>;
  /** The float32 columns: compared with a number rounded to float32, as numpy does. */
  f32: Set<string>;
  cats: Map<string, { categories: readonly string[]; ordered: boolean }>;
}

function kindOfSeries(name: string, s: pl.Series): Kind {
  const d = String(s.dtype).replace(/^DataType\((.*)\)$/, "$1");
  if (/^(Utf8|String)/.test(d)) return "string";
  if (/^Bool/.test(d)) return "bool";
  if (/^(Int|UInt|Float)/.test(d)) return "number";
  if (/^Categorical/.test(d)) return "string";
  throw new ValidationError(`column ${name} has dtype ${d}, which queries cannot compare`);
}

function build(names: string[], nRows: number, get: (name: string) => ColumnData): Compiled {
  const kinds = new Map<string, Kind>();
  const cats = new Map<string, { categories: readonly string[]; ordered: boolean }>();
  const f32 = new Set<string>();
  const series: pl.Series[] = [];
  for (const name of names) {
    const c = get(name);
    let s: pl.Series;
    if (c.kind === "categorical") {
      // Codes straight from the typed array; -1 (missing) becomes null below,
      // inside polars.
      const codes = c.codes instanceof Int8Array || c.codes instanceof Int16Array ||
          c.codes instanceof Int32Array
        ? c.codes
        : Int32Array.from(c.codes as ArrayLike<number>, Number);
      s = pl.Series(name, codes as unknown as number[]).cast(pl.Int64);
      kinds.set(name, "categorical");
      cats.set(name, { categories: c.categories, ordered: c.ordered });
    } else {
      s = c.series.alias(name);
      kinds.set(name, kindOfSeries(name, s));
      if (String(s.dtype).includes("Float32")) f32.add(name);
    }
    if (s.length !== nRows) {
      throw new ValidationError(`column ${name} has ${s.length} rows, expected ${nRows}`);
    }
    series.push(s);
  }
  let frame = pl.DataFrame(series);
  const nullCodes = [...cats.keys()].map((n) =>
    pl.when(pl.col(n).lt(0)).then(pl.lit(null)).otherwise(pl.col(n)).alias(n)
  );
  if (nullCodes.length) frame = frame.withColumns(...nullCodes);
  return { frame, kinds, cats, f32 };
}

const OPS: Record<CompareOp, (e: pl.Expr, v: unknown) => pl.Expr> = {
  // pl.lit: a bare string argument would name a column.
  eq: (e, v) => e.eq(pl.lit(v)),
  ne: (e, v) => e.neq(pl.lit(v)),
  gt: (e, v) => e.gt(pl.lit(v)),
  ge: (e, v) => e.gtEq(pl.lit(v)),
  lt: (e, v) => e.lt(pl.lit(v)),
  le: (e, v) => e.ltEq(pl.lit(v)),
};

/** Missing stays missing: the result is null wherever the column is. */
function keepNull(col: string, e: pl.Expr): pl.Expr {
  return pl.when(pl.col(col).isNull()).then(pl.lit(null)).otherwise(e);
}

function valueFor(c: Compiled, col: string, v: Scalar, what: () => string): unknown {
  const kind = c.kinds.get(col)!;
  const ok = match(kind)
    .with("categorical", "string", () => typeof v === "string")
    .with("number", () => typeof v === "number")
    .with("bool", () => typeof v === "boolean")
    .exhaustive();
  if (!ok) {
    throw new ValidationError(
      `${what()}: column ${col} holds ${
        kind === "categorical" ? "categories (strings)" : `${kind}s`
      }, ` +
        `cannot compare it with ${typeof v} ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function compile(c: Compiled, node: ExprNode): pl.Expr {
  return match(node)
    .with({ op: "col" }, (n) => {
      if (c.kinds.get(n.name) !== "bool") {
        throw new ValidationError(
          `column ${n.name} is used as a condition but is not boolean; compare it, e.g. ` +
            `df.${n.name}.eq(...)`,
        );
      }
      return pl.col(n.name);
    })
    .with({ op: "compare" }, (n) => {
      const v = valueFor(c, n.col, n.value, () => show(node));
      const cat = c.cats.get(n.col);
      // numpy (so pandas) compares a float32 column with a number rounded
      // to float32 (`f32 <= 0.3` holds for the stored 0.3); isin widens.
      const w = c.f32.has(n.col) ? Math.fround(v as number) : v;
      if (!cat) return keepNull(n.col, OPS[n.cmp](pl.col(n.col), w));
      const code = cat.categories.indexOf(v as string);
      if (n.cmp === "eq" || n.cmp === "ne") {
        // An unknown category matches nothing (eq) or every present value (ne).
        return keepNull(n.col, OPS[n.cmp](pl.col(n.col), code));
      }
      if (!cat.ordered) {
        throw new ValidationError(
          `${show(node)}: ${n.col} is an unordered categorical; only eq, ne and isin apply`,
        );
      }
      if (code < 0) {
        throw new ValidationError(
          `${show(node)}: ${JSON.stringify(v)} is not a category of ${n.col} ` +
            `(${cat.categories.join(", ")})`,
        );
      }
      return keepNull(n.col, OPS[n.cmp](pl.col(n.col), code));
    })
    .with({ op: "isin" }, (n) => {
      // Linear in the values: the label is printed only for an error, and
      // categories are looked up in a map, not searched per value.
      const cat = c.cats.get(n.col);
      const values = n.values.map((v) => valueFor(c, n.col, v, () => show(node)));
      let list: unknown[] = values;
      if (cat) {
        const code = new Map(cat.categories.map((x, i) => [x, i]));
        list = values.map((v) => code.get(v as string) ?? -1).filter((i) => i >= 0);
      }
      if (list.length === 0) return keepNull(n.col, pl.lit(false));
      const kind = c.kinds.get(n.col);
      const col = kind === "number"
        ? pl.col(n.col).cast(pl.Float64)
        : kind === "string"
        ? pl.col(n.col).cast(pl.Utf8)
        : pl.col(n.col);
      const set = cat
        ? pl.Series("set", list as number[], pl.Int64)
        : kind === "number"
        ? pl.Series("set", list as number[], pl.Float64)
        : pl.Series("set", list as (string | boolean)[]);
      // implode: membership in the list (is_in on a same-typed Series is deprecated).
      return keepNull(n.col, col.isIn(set.implode()));
    })
    .with({ op: "isNull" }, (n) => n.negate ? pl.col(n.col).isNotNull() : pl.col(n.col).isNull())
    .with({ op: "and" }, (n) => compile(c, n.left).and(compile(c, n.right)))
    .with({ op: "or" }, (n) => compile(c, n.left).or(compile(c, n.right)))
    .with({ op: "not" }, (n) => compile(c, n.expr).not())
    .exhaustive();
}

/**
 * The rows (ascending indices) where `node` is true. `get` supplies each
 * column the query names; missing values never match, also under `not`.
 */
export function evaluate(
  node: ExprNode,
  nRows: number,
  get: (name: string) => ColumnData,
): Uint32Array {
  const c = build(columnsOf(node), nRows, get);
  const mask = c.frame.select(compile(c, node).fillNull(false).alias("__m")).getColumn("__m");
  // As a typed array (a JS number per selected row costs 30x more).
  const rows = mask.argTrue().toTypedArray() as ArrayLike<number>;
  return rows instanceof Uint32Array ? rows : Uint32Array.from(rows);
}
