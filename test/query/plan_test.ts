import { assertEquals, assertRejects } from "../_helpers.ts";
import { describePlan, planElements, planIndptr, spanList } from "../../src/query/plan.ts";
import { merge, type Range, type RangeArray, runs, total } from "../../src/formats/ranges.ts";
import { CorruptFileError } from "../../src/errors.ts";
import { type StoredMatrix, subsetMatrix } from "../../src/query/subset.ts";
import type { NumericArray } from "../../src/formats/anndata/matrix.ts";

Deno.test("runs, merge", () => {
  assertEquals(runs(new Uint32Array([1, 2, 3, 7, 9, 10])), [[1, 4], [7, 8], [9, 11]]);
  assertEquals(runs([]), []);
  assertEquals(merge([[0, 2], [2, 5], [8, 9], [11, 12]], 0), [[0, 5], [8, 9], [11, 12]]);
  assertEquals(merge([[0, 2], [2, 5], [8, 9], [11, 12]], 2), [[0, 5], [8, 12]]);
  assertEquals(merge([[3, 3], [4, 6]]), [[4, 6]]);
});

Deno.test("a CSR row plan reads the selected rows' indptr entries and exactly their elements", async () => {
  // 6 rows with 2, 0, 3, 1, 0, 4 elements.
  const indptr = [0, 2, 2, 5, 6, 6, 10];
  const rows = new Uint32Array([0, 3, 5]);
  const ptr = planIndptr(rows);
  assertEquals(spanList(ptr), [[0, 2], [3, 5], [5, 7]]); // entries 0..1, 3..4, 5..6
  assertEquals(spanList(planIndptr(new Uint32Array([3, 4]))), [[3, 6]]); // one run: 3..5
  const values = spanList(ptr).flatMap(([s, e]) => indptr.slice(s, e));
  const { indptr: own, elements } = planElements(rows, ptr, values);
  assertEquals(spanList(elements), [[0, 2], [5, 10]]); // row 0: 0..2, rows 3 and 5: 5..6, 6..10
  assertEquals(Array.from(own), [0, 2, 3, 7]);
  const sparse = planElements(new Uint32Array([1, 4]), planIndptr(new Uint32Array([1, 4])), [
    2,
    2,
    6,
    6,
  ]);
  assertEquals(sparse.elements.n, 0); // empty rows read no elements
  assertEquals(Array.from(sparse.indptr), [0, 0, 0]);
  // A decreasing or out-of-range indptr is a damaged file, named.
  await assertRejects(
    async () =>
      await planElements(new Uint32Array([0]), planIndptr(new Uint32Array([0])), [5, 3], 10, "X"),
    CorruptFileError,
    /X: indptr\[0\.\.1\] is 5\.\.3, decreasing/,
  );
  await assertRejects(
    async () =>
      await planElements(new Uint32Array([0]), planIndptr(new Uint32Array([0])), [0, 11], 10),
    CorruptFileError,
    /outside 0\.\.10/,
  );
  await assertRejects(async () => await planIndptr([2, 1]), RangeError, /ascending/);
});

Deno.test("plans of random selections read exactly the selected lines' elements", () => {
  const r = rng(7);
  for (let round = 0; round < 200; round++) {
    const n = 1 + Math.floor(r() * 60);
    const indptr = [0];
    for (let i = 0; i < n; i++) indptr.push(indptr[i] + Math.floor(r() * 4));
    const lines = Uint32Array.from(Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.4));
    const ptr = planIndptr(lines);
    const values = spanList(ptr).flatMap(([s, e]) => indptr.slice(s, e));
    const { indptr: own, elements } = planElements(lines, ptr, values, indptr[n]);
    // Reference: each line's elements, in order, one by one.
    const want = Array.from(lines).flatMap((i) =>
      Array.from({ length: indptr[i + 1] - indptr[i] }, (_, k) => indptr[i] + k)
    );
    assertEquals(
      spanList(elements).flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k)),
      want,
    );
    assertEquals(own[own.length - 1], want.length);
    // Spans are merged: no two touch.
    for (let k = 1; k < elements.n; k++) {
      assertEquals(elements.starts[k] > elements.ends[k - 1], true);
    }
  }
});

function rng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** An in-memory RangeArray that counts the elements it hands out. */
function mem(values: NumericArray, shape: number[], count: { n: number }): RangeArray {
  const row = shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    shape,
    dtype: values instanceof Float32Array
      ? "float32"
      : values instanceof Int32Array
      ? "int32"
      : "float64",
    readRanges(ranges: readonly Range[]) {
      const n = total(ranges) * row;
      count.n += n;
      const out = new (values.constructor as new (n: number) => NumericArray)(n);
      let o = 0;
      for (const [s, e] of ranges) {
        // deno-lint-ignore no-explicit-any
        (out as any).set((values as any).subarray(s * row, e * row), o);
        o += (e - s) * row;
      }
      return Promise.resolve(out);
    },
  };
}

function pick(r: () => number, n: number, p: number): Uint32Array | undefined {
  if (r() < 0.15) return undefined;
  return Uint32Array.from(Array.from({ length: n }, (_, i) => i).filter(() => r() < p));
}

Deno.test("subsetMatrix on random CSR, CSC and dense matrices equals the dense reference", async () => {
  const r = rng(1234);
  for (let t = 0; t < 60; t++) {
    const nr = 1 + Math.floor(r() * 40), nc = 1 + Math.floor(r() * 30);
    const dense = Float32Array.from(
      { length: nr * nc },
      () => (r() < 0.2 ? Math.round(r() * 100) : 0),
    );
    const rows = pick(r, nr, r()), cols = pick(r, nc, r());
    const want: number[] = [];
    for (const i of rows ?? Array.from({ length: nr }, (_, i) => i)) {
      for (const j of cols ?? Array.from({ length: nc }, (_, j) => j)) want.push(dense[i * nc + j]);
    }
    // CSR and CSC of the same matrix.
    for (const kind of ["csr", "csc"] as const) {
      const [outer, inner] = kind === "csr" ? [nr, nc] : [nc, nr];
      const data: number[] = [], indices: number[] = [], indptr = [0];
      for (let a = 0; a < outer; a++) {
        for (let b = 0; b < inner; b++) {
          const v = kind === "csr" ? dense[a * nc + b] : dense[b * nc + a];
          if (v !== 0) {
            data.push(v);
            indices.push(b);
          }
        }
        indptr.push(data.length);
      }
      const count = { n: 0 };
      const src: StoredMatrix = {
        kind,
        shape: [nr, nc],
        data: mem(Float32Array.from(data), [data.length], count),
        indices: mem(Int32Array.from(indices), [data.length], count),
        indptr: mem(Int32Array.from(indptr), [indptr.length], { n: 0 }),
      };
      const m = await subsetMatrix(src, rows, cols);
      assertEquals(Array.from(m.toDense().data as Float32Array), want, `${kind} case ${t}`);
      const major = kind === "csr" ? rows : cols;
      if (major) {
        const needed = Array.from(major).reduce((a, i) => a + indptr[i + 1] - indptr[i], 0);
        assertEquals(count.n, 2 * needed, `${kind} case ${t}: elements read`);
      }
    }
    const count = { n: 0 };
    const m = await subsetMatrix(
      { kind: "dense", shape: [nr, nc], values: mem(dense, [nr, nc], count) },
      rows,
      cols,
    );
    assertEquals(Array.from(m.toDense().data as Float32Array), want, `dense case ${t}`);
    assertEquals(count.n, (rows?.length ?? nr) * nc);
  }
});

Deno.test("describePlan() prints a plan's ranges, elements and bytes", () => {
  assertEquals(
    describePlan("X rows", [[0, 2], [5, 6]], 4),
    "X rows: 2 range(s), 3 elements, 12 bytes [0..2, 5..6]",
  );
  assertEquals(
    describePlan("many", Array.from({ length: 5 }, (_, i) => [i * 2, i * 2 + 1] as const), 8),
    "many: 5 range(s), 5 elements, 40 bytes",
  );
});

Deno.test("subsetMatrix keeps values of every width exactly when it filters columns", async () => {
  const r = rng(99);
  const nr = 30, nc = 20;
  const ctors = [Float64Array, Float32Array, Int32Array, Int16Array, Uint8Array] as const;
  for (const Ctor of ctors) {
    const data: number[] = [], indices: number[] = [], indptr = [0];
    const dense = new Float64Array(nr * nc);
    for (let a = 0; a < nr; a++) {
      for (let b = 0; b < nc; b++) {
        if (r() < 0.3) {
          // Values that need every bit of their type (and a fraction for floats).
          const v = Ctor === Uint8Array
            ? 1 + Math.floor(r() * 254)
            : Ctor === Int16Array
            ? Math.floor(r() * 60000) - 30000
            : Ctor === Int32Array
            ? Math.floor(r() * 4e9) - 2e9
            : Ctor === Float32Array
            ? Math.fround(r() * 1e6 - 5e5)
            : r() * 1e300;
          if (v === 0) continue;
          data.push(v);
          indices.push(b);
          dense[a * nc + b] = v;
        }
      }
      indptr.push(data.length);
    }
    const values = Ctor.from(data) as unknown as NumericArray;
    const src: StoredMatrix = {
      kind: "csr",
      shape: [nr, nc],
      data: {
        ...mem(values, [data.length], { n: 0 }),
        dtype: ({
          Float64Array: "float64",
          Float32Array: "float32",
          Int32Array: "int32",
          Int16Array: "int16",
          Uint8Array: "uint8",
        } as const)[Ctor.name as "Uint8Array"],
      },
      indices: mem(Int32Array.from(indices), [data.length], { n: 0 }),
      indptr: mem(Int32Array.from(indptr), [indptr.length], { n: 0 }),
    };
    const rows = Uint32Array.from([0, 3, 4, 5, 17, 29]), cols = Uint32Array.from([1, 2, 7, 19]);
    const m = await subsetMatrix(src, rows, cols);
    const want: number[] = [];
    for (const i of rows) for (const j of cols) want.push(dense[i * nc + j]);
    assertEquals(Array.from(m.toDense().data as ArrayLike<number>, Number), want, Ctor.name);
  }
});
