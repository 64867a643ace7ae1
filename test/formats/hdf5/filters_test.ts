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

Deno.test("two compression filters on a chunk: the second never writes into the memory it reads", async () => {
  const { unfilter } = await import("../../../src/formats/hdf5/_filters.ts");
  const { useBloscWasm } = await import("../../../src/formats/_blosc.ts");
  const { nativeInflateInfo } = await import("../../../src/_runtime.ts");
  const { deflateSync } = await import("node:zlib");
  // LZF by hand: four literals, then back references of 264 bytes at distance 4 (the stream
  // is far shorter than its output: decoded in place, it would overwrite what it reads next).
  const n = 40_000, lzf = [3, 97, 98, 99, 100];
  for (let left = n - 4; left > 0; left -= 264) {
    const len = Math.min(264, left);
    if (len >= 9) lzf.push(0xe0, len - 9, 3);
    else lzf.push((len - 2) << 5, 3);
  }
  const plain = new Uint8Array(n);
  for (let i = 0; i < n; i++) plain[i] = 97 + (i % 4);
  let kept = new Uint8Array(0);
  const scratch = (k: number) =>
    (kept.length < k ? (kept = new Uint8Array(k)) : kept).subarray(0, k);
  const ctx = { elem: 1, expected: n, where: "t", address: 0, scratch };
  const lzfThenDeflate = deflateSync(Uint8Array.from(lzf));
  const twice = deflateSync(deflateSync(plain));
  const F = (id: number) => ({ id, values: [] as number[] });
  // libdeflate inflates into the kept memory (CI installs it); the TypeScript LZF decoder too.
  assertEquals(nativeInflateInfo().on, true, "libdeflate in use");
  useBloscWasm(false);
  try {
    const got = unfilter(lzfThenDeflate, [F(FILTER_ID.lzf), F(FILTER_ID.deflate)], 0, ctx);
    assertEquals(got, plain, "LZF after deflate");
    assertEquals(unfilter(twice, [F(FILTER_ID.deflate), F(FILTER_ID.deflate)], 0, ctx), plain);
  } finally {
    useBloscWasm(true);
  }
});

Deno.test("a pick of a chunk's first bytes stops LZF there; other pipelines decode it whole", async () => {
  const { unfilter } = await import("../../../src/formats/hdf5/_filters.ts");
  const { CorruptFileError } = await import("../../../src/errors.ts");
  // 1,000 literal runs of 32 bytes (32,000 bytes); run 100 (output byte 3,200) damaged.
  const n = 32_000, lzf: number[] = [], plain = new Uint8Array(n);
  for (let i = 0; i < n; i++) plain[i] = (i * 7) % 251;
  for (let i = 0; i < n; i += 32) lzf.push(31, ...plain.subarray(i, i + 32));
  const damaged = Uint8Array.from(lzf);
  damaged[100 * 33] = 0xff; // a reference ~8,000 bytes back, before the start
  const F = (id: number) => ({ id, values: [] as number[] });
  const ctx = { elem: 1, expected: n, where: "t", address: 0 };
  for (const wasm of [true, false]) {
    const { useBloscWasm } = await import("../../../src/formats/_blosc.ts");
    useBloscWasm(wasm);
    try {
      const part = unfilter(damaged, [F(FILTER_ID.lzf)], 0, { ...ctx, want: 1000 });
      assertEquals(part.length >= 1000 && part.length < n, true, `stopped (${part.length})`);
      assertEquals(part, plain.subarray(0, part.length));
      // Wanting the damaged part, or the whole chunk, finds the damage.
      for (const want of [20_000, undefined]) {
        let refused = false;
        try {
          unfilter(damaged, [F(FILTER_ID.lzf)], 0, { ...ctx, want });
        } catch (e) {
          refused = e instanceof CorruptFileError;
        }
        assertEquals(refused, true, `want ${want}`);
      }
      // Cut short before the bytes wanted: damage, not a short result.
      let short = false;
      try {
        unfilter(Uint8Array.from(lzf).subarray(0, 33 * 10), [F(FILTER_ID.lzf)], 0, {
          ...ctx,
          want: 1000,
        });
      } catch (e) {
        short = e instanceof CorruptFileError;
      }
      assertEquals(short, true, "cut short");
      // Shuffle before LZF needs the whole chunk: decoded (and checked) whole.
      const shuffled = [F(FILTER_ID.shuffle), F(FILTER_ID.lzf)];
      const whole = unfilter(Uint8Array.from(lzf), shuffled, 0, { ...ctx, want: 1000 });
      assertEquals(whole.length, n);
    } finally {
      useBloscWasm(true);
    }
  }
});
