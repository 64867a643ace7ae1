// The HDF5 shuffle filter on read (H5Zshuffle.c): byte k of every element
// stored together, leftover bytes at the end as they are. Differential
// against the definition, for every element size, length and alignment.
import { assertEquals } from "../../_helpers.ts";
import { FILTER_ID, FILTERS } from "../../../src/formats/hdf5/_filters.ts";

function reference(b: Uint8Array, size: number): Uint8Array {
  if (size <= 1) return b.slice();
  const n = Math.floor(b.length / size);
  const out = b.slice();
  for (let k = 0; k < size; k++) for (let i = 0; i < n; i++) out[i * size + k] = b[k * n + i];
  return out;
}

Deno.test("unshuffle: the definition's bytes for element sizes 1-17 and 32, any length and alignment", () => {
  const shuffle = FILTERS.get(FILTER_ID.shuffle)!;
  let x = 3;
  const rand = (k: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % k;
  for (let t = 0; t < 2_000; t++) {
    const size = t % 19 === 18 ? 32 : 1 + (t % 18);
    const len = rand(t % 7 ? 300 : 20_000);
    const pad = rand(4);
    const buf = new Uint8Array(len + pad);
    for (let i = 0; i < buf.length; i++) buf[i] = rand(256);
    const b = buf.subarray(pad);
    const ctx = { values: [size], elem: size, expected: len, where: "t", address: 0 };
    assertEquals(
      shuffle.decode(b, ctx),
      reference(b, size),
      `size ${size}, ${len} bytes, at ${pad}`,
    );
  }
});
