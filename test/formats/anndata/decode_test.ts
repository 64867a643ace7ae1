// Columns decoded into polars Series: the fast paths give what one value at a time gives.
import { assertEquals } from "../../_helpers.ts";
import { toSeries } from "../../../src/formats/anndata/_decode.ts";
import { outside32 } from "../../../src/formats/anndata/matrix.ts";

Deno.test("toSeries: many strings (unicode, empty, one holding NUL) come back as they were", () => {
  const data = Array.from(
    { length: 3000 },
    (_, i) => i % 7 === 0 ? "" : i % 5 === 0 ? `wörld 🧬 ${i}` : `b${i}`,
  );
  for (const nul of [false, true]) {
    const d = [...data];
    if (nul) d[10] = "a\0b";
    const s = toSeries("x", { kind: "string", data: d, shape: [d.length] });
    assertEquals(s.toArray(), d, nul ? "with a NUL" : "without");
  }
});

Deno.test("toSeries: NaN floats become nulls, other values stay", () => {
  const values = Array.from({ length: 5000 }, (_, i) => (i % 13 === 0 ? NaN : i / 4));
  for (const d of [Float32Array.from(values), Float64Array.from(values)]) {
    const s = toSeries("x", { kind: "number", data: d, shape: [d.length], dtype: "float64" });
    assertEquals(s.nullCount(), 385);
    assertEquals(s.toArray(), Array.from(d, (v) => (Number.isNaN(v) ? null : v)));
  }
});

Deno.test("outside32 finds the first index outside [0, n), as a loop over every element does", () => {
  const naive = (a: Int32Array, n: number) => a.findIndex((j) => !(j >= 0 && j < n));
  let x = 7;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let t = 0; t < 300; t++) {
    const n = [0, 1, 50, 2000, 2 ** 31 - 1, 2 ** 31, 2 ** 33][t % 7];
    // Every fifth: long enough for the WebAssembly check (from 65,536 values, in
    // blocks of 262,144), and a view into a larger buffer.
    const len = t % 5 === 0
      ? 65_536 + Math.floor(rand() * 600_000)
      : 1 + Math.floor(rand() * 20_000);
    const a = new Int32Array(len + 3).subarray(3);
    for (let k = 0; k < a.length; k++) a[k] = Math.floor(rand() * Math.min(n, 2 ** 31));
    // One to three bad entries (or none), anywhere: negative, n, just past n, int32's extremes.
    const bad = [-1, n, n + 1, -(2 ** 31), 2 ** 31 - 1, -7];
    for (let b = Math.floor(rand() * 4); b > 0; b--) {
      a[Math.floor(rand() * a.length)] = bad[Math.floor(rand() * bad.length)];
    }
    assertEquals(outside32(a, n), naive(a, n), `n ${n}, ${a.length} entries`);
  }
  assertEquals(outside32(new Int32Array(0), 0), -1);
});
