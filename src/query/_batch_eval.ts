// A query over stored obs/var columns evaluated on their typed arrays
// (categorical codes, numbers, booleans), without polars: the selection of
// a 1M-row atlas costs a few MB here, where polars' frame of Int64 codes and
// its allocator kept ~40 MB for the rest of the process (out-of-core
// batches count every MB). Whatever this evaluator does not take (string or
// nullable columns, a value of the wrong type, an ordered comparison on an
// unordered categorical, ...) it returns undefined for, and the polars
// evaluator (evaluate.ts) decides: same rows, same errors.
import type { NumericArray } from "../formats/anndata/matrix.ts";
import { type ElementStore, join } from "../formats/anndata/_store.ts";
import {
  checkCodes,
  encoding,
  legacyCategories,
  readCategories,
} from "../formats/anndata/_decode.ts";
import { CorruptFileError } from "../errors.ts";
import { columnsOf, type CompareOp, type ExprNode, type Scalar } from "./expr.ts";

/** A column as typed values. */
export type TypedColumn =
  | {
    kind: "categorical";
    /** Codes into `categories`; negative is missing. */
    codes: ArrayLike<number | bigint>;
    categories: readonly string[];
    ordered: boolean;
  }
  /** Numbers; NaN is missing (as the polars reader makes it null). */
  | { kind: "number"; values: NumericArray }
  | { kind: "bool"; values: Uint8Array };

/** Truth per row, and where it is missing (Kleene logic; undefined: nowhere). */
interface Tri {
  v: Uint8Array;
  nul: Uint8Array | undefined;
}

/** Not for this evaluator: the polars one decides (and raises the errors). */
class Unsupported extends Error {}

const CMP: Record<CompareOp, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
};

function numbersOf(c: TypedColumn): { x: ArrayLike<number | bigint>; nul: Uint8Array | undefined } {
  const x = c.kind === "categorical" ? c.codes : c.values;
  let nul: Uint8Array | undefined;
  const n = x.length;
  if (c.kind === "categorical") {
    for (let i = 0; i < n; i++) {
      if (Number(x[i]) < 0) (nul ??= new Uint8Array(n))[i] = 1;
    }
  } else if (x instanceof Float32Array || x instanceof Float64Array) {
    for (let i = 0; i < n; i++) if (x[i] !== x[i]) (nul ??= new Uint8Array(n))[i] = 1;
  }
  return { x, nul };
}

/** `test` per present row, missing rows kept missing. */
function map(c: TypedColumn, test: (v: number) => boolean): Tri {
  const { x, nul } = numbersOf(c);
  const n = x.length;
  const v = new Uint8Array(n);
  if (x instanceof BigInt64Array || x instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) v[i] = !nul?.[i] && test(Number(x[i])) ? 1 : 0;
  } else {
    const xs = x as ArrayLike<number>;
    for (let i = 0; i < n; i++) v[i] = !nul?.[i] && test(xs[i]) ? 1 : 0;
  }
  return { v, nul };
}

/** The comparable value of `v` for column `c` (codes for categoricals, 0/1 for booleans). */
function valueFor(c: TypedColumn, v: Scalar): number {
  if (c.kind === "categorical" && typeof v === "string") return c.categories.indexOf(v);
  if (c.kind === "number" && typeof v === "number") return v;
  if (c.kind === "bool" && typeof v === "boolean") return v ? 1 : 0;
  throw new Unsupported(); // the polars evaluator says what is wrong
}

function run(node: ExprNode, n: number, get: (name: string) => TypedColumn): Tri {
  switch (node.op) {
    case "col": {
      const c = get(node.name);
      if (c.kind !== "bool") throw new Unsupported();
      return { v: c.values.map((b) => (b ? 1 : 0)), nul: undefined };
    }
    case "compare": {
      const c = get(node.col);
      // A float32 column against a number rounded to float32, as numpy
      // compares them (isin below widens, as pandas' isin does).
      const v = valueFor(c, node.value);
      const code = c.kind === "number" && c.values instanceof Float32Array ? Math.fround(v) : v;
      const cmp = CMP[node.cmp];
      if (c.kind === "categorical" && node.cmp !== "eq" && node.cmp !== "ne") {
        if (!c.ordered || code < 0) throw new Unsupported();
      }
      return map(c, (x) => cmp(x, code));
    }
    case "isin": {
      const c = get(node.col);
      let set: Set<number>;
      if (c.kind === "categorical") {
        // Categories looked up in a map, not searched per value.
        const code = new Map(c.categories.map((x, i) => [x, i]));
        if (node.values.some((v) => typeof v !== "string")) throw new Unsupported();
        set = new Set(node.values.map((v) => code.get(v as string) ?? -1).filter((k) => k >= 0));
      } else set = new Set(node.values.map((v) => valueFor(c, v)));
      return map(c, (x) => set.has(x));
    }
    case "isNull": {
      const nul = numbersOf(get(node.col)).nul;
      const v = new Uint8Array(n);
      if (node.negate) v.fill(1);
      if (nul) { for (let i = 0; i < n; i++) if (nul[i]) v[i] = node.negate ? 0 : 1; }
      return { v, nul: undefined };
    }
    case "not": {
      const a = run(node.expr, n, get);
      for (let i = 0; i < n; i++) a.v[i] ^= 1;
      return a; // missing stays missing
    }
    case "and":
    case "or": {
      const a = run(node.left, n, get), b = run(node.right, n, get);
      // Kleene: false & missing is false, true | missing is true.
      const and = node.op === "and";
      const dominant = and ? 0 : 1;
      let nul: Uint8Array | undefined;
      for (let i = 0; i < n; i++) {
        const an = a.nul?.[i] ?? 0, bn = b.nul?.[i] ?? 0;
        const av = a.v[i], bv = b.v[i];
        if ((!an && av === dominant) || (!bn && bv === dominant)) a.v[i] = dominant;
        else if (an || bn) {
          a.v[i] = 0;
          (nul ??= new Uint8Array(n))[i] = 1;
        } else a.v[i] = and ? av & bv : av | bv;
      }
      return { v: a.v, nul };
    }
  }
}

/** Nodes this evaluator takes at most (a few masks of n bytes alive at once). */
const MAX_NODES = 64;

function size(node: ExprNode): number {
  let count = 0;
  const stack = [node];
  while (stack.length && count <= MAX_NODES) {
    const n = stack.pop()!;
    count++;
    if (n.op === "and" || n.op === "or") stack.push(n.left, n.right);
    else if (n.op === "not") stack.push(n.expr);
  }
  return count;
}

/**
 * The rows (ascending) where `node` is true over typed columns of `n` rows,
 * missing never matching (also under `not`); undefined when the query is
 * not one this evaluator takes (the polars evaluator then decides).
 */
export function evaluateTyped(
  node: ExprNode,
  n: number,
  get: (name: string) => TypedColumn,
): Uint32Array | undefined {
  // Each node holds a mask of n bytes while its parent runs: deep or wide
  // expressions are left to polars.
  if (size(node) > MAX_NODES) return undefined;
  let t: Tri;
  try {
    t = run(node, n, get);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  let count = 0;
  for (let i = 0; i < n; i++) if (t.v[i] && !t.nul?.[i]) count++;
  const out = new Uint32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (t.v[i] && !t.nul?.[i]) out[k++] = i;
  return out;
}

/**
 * The categorical column at `p` as codes (checked against its categories)
 * and string categories; undefined when its categories are numbers or
 * booleans (those are read as a plain column of their values).
 */
export async function storedCategorical(
  store: ElementStore,
  p: string,
): Promise<Extract<TypedColumn, { kind: "categorical" }> | undefined> {
  const [codes, cats, attrs] = await Promise.all([
    store.read(join(p, "codes")),
    readCategories(store, join(p, "categories")),
    store.attrs(p),
  ]);
  if (cats.kind !== "string") return undefined;
  if (codes.kind !== "number") {
    throw new CorruptFileError(`"${store.label}": /${p} is not a valid categorical`);
  }
  checkCodes(codes.data as ArrayLike<number>, cats.data.length, store.label, join(p, "codes"));
  return {
    kind: "categorical",
    codes: codes.data as ArrayLike<number>,
    categories: cats.data.map((s) => s ?? ""),
    ordered: Boolean(attrs.ordered),
  };
}

/**
 * Evaluate `query` over the stored columns of the dataframe at `path`
 * (obs or var) on their typed arrays, when every column it names is a
 * categorical or a plain numeric/boolean array (checked from metadata
 * before anything is read); undefined otherwise.
 */
export async function evaluateStored(
  store: ElementStore,
  path: "obs" | "var",
  query: ExprNode,
): Promise<Uint32Array | undefined> {
  const names = columnsOf(query);
  // Every column's kind, then every column, at once (from object storage:
  // one round trip for all of them, not one or two each).
  const kinds = await Promise.all(names.map(async (name) => {
    const p = join(path, name);
    // The legacy categories' place (anndata < 0.7) asked at the same time.
    const legacy = legacyCategories(store, path, name);
    legacy.catch(() => {});
    const [enc, kind] = await Promise.all([encoding(store, p), store.describe(p)]);
    if (enc === "categorical") return enc;
    if ((enc === undefined || enc === "array") && kind === "array" && await legacy === undefined) {
      return "array";
    }
    return undefined;
  }));
  if (kinds.includes(undefined)) return undefined;
  const columns = await Promise.all(names.map(async (name, k): Promise<TypedColumn | undefined> => {
    const p = join(path, name);
    // Categories of numbers or booleans: the polars evaluator, on their values.
    if (kinds[k] === "categorical") return await storedCategorical(store, p);
    const a = await store.read(p);
    if (a.shape.length !== 1 || a.kind === "string") return undefined;
    return a.kind === "bool"
      ? { kind: "bool", values: a.data }
      : { kind: "number", values: a.data };
  }));
  const data = new Map<string, TypedColumn>();
  let n = -1;
  for (const [k, c] of columns.entries()) {
    if (!c) return undefined;
    const len = c.kind === "categorical" ? c.codes.length : c.values.length;
    if (n >= 0 && len !== n) return undefined; // the polars evaluator names the column
    n = len;
    data.set(names[k], c);
  }
  return evaluateTyped(query, n, (name) => data.get(name)!);
}
