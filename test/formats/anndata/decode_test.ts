// Columns decoded into polars Series: the fast paths give what one value at a time gives.
import { assertEquals } from "../../_helpers.ts";
import { toSeries } from "../../../src/formats/anndata/_decode.ts";

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
