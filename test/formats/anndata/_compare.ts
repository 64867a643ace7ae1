// Compare an AnnData with the JSON description Python anndata gave of it.
import type pl from "nodejs-polars";
import { type AnnData, CscMatrix, CsrMatrix, DenseMatrix, type Matrix } from "../../../mod.ts";
import { assertEquals } from "../../_helpers.ts";
import { python } from "../../_python.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

let fixtureDir: Promise<{ dir: string; desc: Record<string, Json> }> | undefined;

/** Generate the Python fixtures once per process (in a temp dir). */
export function pythonFixtures(): Promise<{ dir: string; desc: Record<string, Json> }> {
  fixtureDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "lamindeno-fixtures-" });
    const script = await Deno.readTextFile(new URL("./_fixtures.py", import.meta.url));
    await python(script, dir);
    return { dir, desc: JSON.parse(await Deno.readTextFile(`${dir}/fixtures.json`)) };
  })();
  return fixtureDir;
}

/** What Python anndata reports for a file (the fixtures' describe()). */
export async function describeWithPython(path: string): Promise<Json> {
  const script = await Deno.readTextFile(new URL("./_fixtures.py", import.meta.url));
  return JSON.parse(await python(script, "describe", path));
}

export function denseRows(m: Matrix): number[][] {
  const d = m instanceof DenseMatrix ? m : (m as CsrMatrix | CscMatrix).toDense();
  const [n, k] = d.shape;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: k }, (_, j) => {
      const v = d.get(i, j);
      return typeof v === "bigint" ? Number(v) : v;
    }));
}

function jsonable(x: unknown): unknown {
  if (typeof x === "bigint") return Number(x);
  if (ArrayBuffer.isView(x)) {
    return Array.from(x as unknown as ArrayLike<number | bigint>, jsonable);
  }
  if (Array.isArray(x)) return x.map(jsonable);
  if (x && typeof x === "object" && !(x instanceof DenseMatrix)) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, jsonable(v)]));
  }
  return x;
}

function compareFrame(
  df: pl.DataFrame,
  names: string[],
  cats: Record<string, { categories: string[]; ordered: boolean }>,
  want: Json,
  where: string,
): void {
  assertEquals(names, want.index, `${where} names`);
  assertEquals(df.columns, want.columns, `${where} columns`);
  for (const c of want.columns) {
    const w = want.cols[c];
    const got = df.getColumn(c).toArray().map((v: unknown) =>
      typeof v === "bigint" ? Number(v) : v
    );
    if (w.kind === "categorical") {
      assertEquals(got, w.values, `${where}.${c} values`);
      assertEquals(
        cats[c],
        { categories: w.categories, ordered: w.ordered },
        `${where}.${c} dtype`,
      );
    } else if (w.kind.startsWith("float")) {
      const f32 = df.getColumn(c).dtype.toString().includes("32");
      assertEquals(
        got,
        w.values.map((v: number | null) => v === null ? null : f32 ? Math.fround(v) : v),
        `${where}.${c}`,
      );
    } else {
      assertEquals(got, w.values, `${where}.${c}`);
    }
  }
}

/** Assert that `a` holds what Python reported in `want`, value for value. */
export function assertMatchesPython(a: AnnData, want: Json, label: string): void {
  assertEquals(a.shape, want.shape, `${label} shape`);
  compareFrame(a.obs, a.obsNames, a.categories.obs, want.obs, `${label} obs`);
  compareFrame(a.var, a.varNames, a.categories.var, want.var, `${label} var`);
  if (want.X === null) assertEquals(a.X, undefined);
  else {
    assertEquals(denseRows(a.X!), want.X, `${label} X`);
    const kind = a.X instanceof CsrMatrix ? "csr" : a.X instanceof CscMatrix ? "csc" : "dense";
    assertEquals(kind, want.X_kind, `${label} X kind`);
    assertEquals(a.X!.dtype, want.X_dtype, `${label} X dtype`);
  }
  for (const slot of ["layers", "obsm", "obsp"] as const) {
    assertEquals(Object.keys(a[slot]).sort(), Object.keys(want[slot]).sort(), `${label} ${slot}`);
    for (const [k, v] of Object.entries(want[slot])) {
      assertEquals(denseRows(a[slot][k] as Matrix), v, `${label} ${slot}.${k}`);
    }
  }
  assertEquals(jsonable(a.uns), want.uns, `${label} uns`);
  assertEquals(a.raw?.varNames ?? null, want.raw_var, `${label} raw var names`);
}
