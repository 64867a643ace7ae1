// Query expressions over the columns of obs/var: a tagged union (plain data)
// wrapped in immutable builder values.
import { ValidationError } from "../errors.ts";
import { showExpressions } from "./_repr.ts";

/** A value a column is compared with. */
export type Scalar = string | number | boolean;

/** Comparison operators. */
export type CompareOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";

/** An expression as plain data. */
export type ExprNode =
  | { readonly op: "col"; readonly name: string }
  | {
    readonly op: "compare";
    readonly cmp: CompareOp;
    readonly col: string;
    readonly value: Scalar;
  }
  | { readonly op: "isin"; readonly col: string; readonly values: readonly Scalar[] }
  | { readonly op: "isNull"; readonly col: string; readonly negate: boolean }
  | { readonly op: "and" | "or"; readonly left: ExprNode; readonly right: ExprNode }
  | { readonly op: "not"; readonly expr: ExprNode };

const SYMBOL: Record<CompareOp, string> = {
  eq: "==",
  ne: "!=",
  gt: ">",
  ge: ">=",
  lt: "<",
  le: "<=",
};

function showValue(v: Scalar): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function showName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `col(${JSON.stringify(name)})`;
}

/** Print an expression node, e.g. `(cell_type.isin(["T cell"]) & (n_genes > 100))`. */
export function show(node: ExprNode): string {
  switch (node.op) {
    case "col":
      return showName(node.name);
    case "compare":
      return `(${showName(node.col)} ${SYMBOL[node.cmp]} ${showValue(node.value)})`;
    case "isin":
      return `${showName(node.col)}.isin([${node.values.map(showValue).join(", ")}])`;
    case "isNull":
      return `${showName(node.col)}.${node.negate ? "isNotNull" : "isNull"}()`;
    case "and":
    case "or":
      return `(${show(node.left)} ${node.op === "and" ? "&" : "|"} ${show(node.right)})`;
    case "not":
      return `~${show(node.expr)}`;
  }
}

/** The column names an expression reads, in first-use order. */
export function columnsOf(node: ExprNode): string[] {
  const out = new Set<string>();
  const visit = (n: ExprNode): void => {
    switch (n.op) {
      case "col":
        out.add(n.name);
        return;
      case "compare":
      case "isin":
      case "isNull":
        out.add(n.col);
        return;
      case "and":
      case "or":
        visit(n.left);
        visit(n.right);
        return;
      case "not":
        visit(n.expr);
        return;
    }
  };
  visit(node);
  return [...out];
}

function checkScalar(v: unknown, where: string): Scalar {
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number" && !Number.isNaN(v)) return v;
  throw new ValidationError(
    `${where} takes a string, number or boolean${
      typeof v === "number" ? " (NaN never matches; use isNull())" : ""
    }, got ${v === null ? "null (use isNull())" : typeof v}`,
  );
}

function toNode(x: unknown, where: string): ExprNode {
  if (x instanceof Expression) return x.node;
  throw new ValidationError(
    `${where} takes an expression or a column (e.g. df.x.gt(1)), got ${
      x === null ? "null" : typeof x
    }`,
  );
}

/** How deep expressions may nest (`and`/`or`/`not`); deeper ones are refused. */
export const MAX_DEPTH = 1000;

const DEPTHS = new WeakMap<ExprNode, number>();

function childrenOf(n: ExprNode): ExprNode[] {
  return n.op === "and" || n.op === "or" ? [n.left, n.right] : n.op === "not" ? [n.expr] : [];
}

/** Nesting depth of a node, iteratively (no recursion to overflow), memoized per node. */
function depthOf(root: ExprNode): number {
  const stack: ExprNode[] = [root];
  let steps = 0;
  while (stack.length > 0) {
    const n = stack[stack.length - 1];
    if (DEPTHS.has(n)) {
      stack.pop();
      continue;
    }
    if (++steps > 4 * MAX_DEPTH * MAX_DEPTH) {
      throw new ValidationError("expression is too large (or refers to itself)");
    }
    const pending = childrenOf(n).filter((k) => !DEPTHS.has(k));
    if (pending.length > 0) {
      if (stack.length > MAX_DEPTH + 1) return MAX_DEPTH + 1;
      stack.push(...pending);
      continue;
    }
    stack.pop();
    DEPTHS.set(n, 1 + Math.max(0, ...childrenOf(n).map((k) => DEPTHS.get(k)!)));
  }
  return DEPTHS.get(root)!;
}

/**
 * A predicate over rows: immutable, printable, combinable with `and`,
 * `or`, `not`. Missing values never match a comparison or `isin`, and
 * `not()` keeps them unmatched.
 *
 * @example
 * ```ts
 * import { LazyDataFrame } from "@lamindeno/lamindb";
 * const df = new LazyDataFrame();
 * const q = df.cell_type.isin(["T cell"]).and(df.n_genes.gt(200).not());
 * console.assert(q.toString() === '(cell_type.isin(["T cell"]) & ~(n_genes > 200))');
 * ```
 */
export class Expression {
  /** The expression as plain data. */
  readonly node: ExprNode;
  /** Set only by this constructor: what `instanceof` checks, so a forged object is no expression. */
  readonly #made = true;

  /**
   * Whether `x` was made by this constructor (or a subclass's): an object
   * given `Expression.prototype` by hand, without a checked node, is not.
   */
  static [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === "object" && x !== null && #made in x &&
      Function.prototype[Symbol.hasInstance].call(this, x);
  }

  /**
   * Wrap a node (usually built through a `LazyDataFrame`). Nesting deeper
   * than {@linkcode MAX_DEPTH} is a `ValidationError` (combine many values
   * of one column with `isin` instead of a chain of `or`).
   */
  constructor(node: ExprNode) {
    if (node === null || typeof node !== "object" || typeof node.op !== "string") {
      throw new ValidationError("new Expression(node) takes an expression node like { op: 'col' }");
    }
    const depth = depthOf(node);
    if (depth > MAX_DEPTH) {
      throw new ValidationError(
        `expression nests more than ${MAX_DEPTH} levels deep; combine values of one column with ` +
          `isin([...]) instead of chaining or()/and()`,
      );
    }
    this.node = Object.freeze(node);
  }

  /** Rows where both hold. */
  and(other: Expression): Expression {
    return new Expression({ op: "and", left: this.node, right: toNode(other, "and()") });
  }

  /** Rows where either holds. */
  or(other: Expression): Expression {
    return new Expression({ op: "or", left: this.node, right: toNode(other, "or()") });
  }

  /** Rows where this is false (rows where it is missing stay unmatched). */
  not(): Expression {
    return new Expression({ op: "not", expr: this.node });
  }

  /** The columns this expression reads. */
  columns(): string[] {
    return columnsOf(this.node);
  }

  /** e.g. `(cell_type.isin(["T cell"]) & (n_genes > 100))`. */
  toString(): string {
    return show(this.node);
  }
}

showExpressions(Expression);

/**
 * A column of a {@linkcode LazyDataFrame}. Used bare, it is the predicate
 * "this boolean column is true".
 *
 * @example
 * ```ts
 * import { LazyDataFrame } from "@lamindeno/lamindb";
 * const df = new LazyDataFrame();
 * console.assert(df.col("n genes").ge(3).toString() === '(col("n genes") >= 3)');
 * ```
 */
export class Column extends Expression {
  /** The column name. */
  readonly name: string;

  /** A column named `name`. */
  constructor(name: string) {
    if (typeof name !== "string" || name === "") {
      throw new ValidationError(`a column name is a non-empty string, got ${JSON.stringify(name)}`);
    }
    super({ op: "col", name });
    this.name = name;
  }

  #compare(cmp: CompareOp, value: unknown): Expression {
    return new Expression({
      op: "compare",
      cmp,
      col: this.name,
      value: checkScalar(value, `${this.name}.${cmp}()`),
    });
  }

  /** Equal to `value`. */
  eq(value: Scalar): Expression {
    return this.#compare("eq", value);
  }
  /** Not equal to `value` (missing values do not match). */
  ne(value: Scalar): Expression {
    return this.#compare("ne", value);
  }
  /** Greater than `value`. */
  gt(value: Scalar): Expression {
    return this.#compare("gt", value);
  }
  /** Greater than or equal to `value`. */
  ge(value: Scalar): Expression {
    return this.#compare("ge", value);
  }
  /** Less than `value`. */
  lt(value: Scalar): Expression {
    return this.#compare("lt", value);
  }
  /** Less than or equal to `value`. */
  le(value: Scalar): Expression {
    return this.#compare("le", value);
  }

  /** One of `values`. */
  isin(values: readonly Scalar[]): Expression {
    if (!Array.isArray(values)) {
      throw new ValidationError(`${this.name}.isin() takes an array of values`);
    }
    return new Expression({
      op: "isin",
      col: this.name,
      values: Object.freeze(values.map((v) => checkScalar(v, `${this.name}.isin()`))),
    });
  }

  /** The value is missing. */
  isNull(): Expression {
    return new Expression({ op: "isNull", col: this.name, negate: false });
  }

  /** The value is present. */
  isNotNull(): Expression {
    return new Expression({ op: "isNull", col: this.name, negate: true });
  }
}
