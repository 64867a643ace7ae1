// The WebAssembly blosc/LZ4 and LZF decoders (src/formats/_wasm/blosc_lz4.c): the
// embedded module is the one its source builds to, it decodes what
// numcodecs writes (every type size, shuffled or not, leftover blocks) to
// numpy's bytes, and on damaged chunks it agrees with the TypeScript decoder
// byte for byte or both refuse with a CorruptFileError.
import { assert, assertEquals, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";
import { buildWasm, WASM_SOURCES, wasmModule } from "./_wasm.ts";
import { decodeBlosc, useBloscWasm, wasmIndexOutside, wasmLzf } from "../../src/formats/_blosc.ts";
import { lzfDecompress } from "../../src/formats/hdf5/_filters.ts";
import { checkIndices } from "../../src/formats/hdf5/_pick.ts";
import { CorruptFileError } from "../../mod.ts";

/** clang and wasm-ld, or (outside CI) a loud skip. */
function needsClang(): { ignore: boolean } {
  const has = (cmd: string) => {
    try {
      return new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  };
  if (has("clang") && has("wasm-ld")) return { ignore: false };
  const msg = "the wasm build check needs clang and wasm-ld: apt-get install -y clang lld";
  if (Deno.env.get("CI") === "true") throw new Error(`CI must not skip tests: ${msg}`);
  console.error(`\n!!! SKIPPING ${msg}\n`);
  return { ignore: true };
}

Deno.test({
  name: "the embedded WebAssembly modules are what their C sources build to",
  ...needsClang(),
  async fn() {
    for (const name of WASM_SOURCES) {
      const bytes = await buildWasm(name);
      const embedded = await Deno.readTextFile(
        new URL(`../../src/formats/_wasm/${name}.wasm.ts`, import.meta.url),
      );
      assertEquals(embedded, wasmModule(name, bytes), `${name}: run \`deno task wasm\``);
    }
  },
});

// Chunks as numcodecs writes them: type sizes 1, 2, 3, 4, 8 and 16; no
// shuffle and byte shuffle; block sizes that leave a leftover block; data
// that compresses well (runs, small patterns) and badly (random bytes).
const WRITE = `
import sys, numpy as np
from numcodecs import Blosc
d = sys.argv[1]
rng = np.random.default_rng(7)
n = 0
def put(a, shuffle, blocksize=0):
    global n
    c = Blosc(cname="lz4", clevel=5, shuffle=shuffle, blocksize=blocksize).encode(a)
    open(f"{d}/{n}.blosc", "wb").write(c)
    open(f"{d}/{n}.raw", "wb").write(a.tobytes())
    n += 1
arrays = [
    (rng.poisson(2, 100_003) * rng.random(100_003)).astype("<f4"),
    np.sort(rng.integers(0, 10**12, 30_001)).astype("<i8"),
    rng.integers(0, 4, 70_001).astype("u1"),
    rng.integers(0, 2**15, 50_000).astype("<i2"),
    np.array([b"ab%d" % (i % 7) for i in range(40_000)], dtype="S3"),
    rng.integers(0, 2**31, 60_000).astype("<i4"),
    np.tile(np.arange(5, dtype="<f8"), 9_001),
    np.repeat(rng.integers(0, 9, 3_000), 17).astype("<i4"),
    rng.standard_normal((5_000, 2)).astype("<c16").ravel(),
]
for a in arrays:
    for shuffle in (0, 1):
        put(a, shuffle)
        put(a, shuffle, blocksize=4096)
print(n)
`;

const py = needsPython("blosc lz4 chunks", "numcodecs", "numpy");

/** numcodecs' chunks (WRITE) in a new folder: it, how many, and seeded integers below `k`. */
async function written(seed: number) {
  const dir = await tempDir();
  const n = Number(await python(WRITE, dir));
  let x = seed;
  const rand = (k: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % k;
  };
  return { dir, n, rand };
}

/** Decode with the wasm decoder on or off: bytes, or the error's message. */
function decodeWith(
  wasm: boolean,
  c: Uint8Array,
  cap: number,
  transient = false,
): string | Uint8Array {
  useBloscWasm(wasm, true); // a trap is thrown, not answered by the TypeScript decoder
  try {
    const out = decodeBlosc(c, cap, transient);
    assert(out);
    return out.slice();
  } catch (e) {
    if (!(e instanceof CorruptFileError)) throw e;
    return "CorruptFileError";
  } finally {
    useBloscWasm(true);
  }
}

Deno.test({
  name: "the wasm LZ4 decoder decodes numcodecs' chunks of every type size to numpy's bytes",
  ...py,
  async fn() {
    const dir = await tempDir();
    const n = Number(await python(WRITE, dir));
    assertEquals(n, 36);
    for (let i = 0; i < n; i++) {
      const c = await Deno.readFile(`${dir}/${i}.blosc`);
      const want = await Deno.readFile(`${dir}/${i}.raw`);
      assertEquals(decodeWith(true, c, want.length), want, `chunk ${i}`);
      assertEquals(decodeWith(true, c, want.length, true), want, `chunk ${i} (transient)`);
      assertEquals(decodeWith(false, c, want.length), want, `chunk ${i} (TypeScript)`);
    }
  },
});

Deno.test({
  name: "a few rows of a chunk: only the blosc blocks they lie in are decoded, their bytes exact",
  ...py,
  async fn() {
    const { dir, n, rand } = await written(777);
    let partial = 0;
    for (let i = 0; i < n; i++) {
      const c = await Deno.readFile(`${dir}/${i}.blosc`);
      const want = await Deno.readFile(`${dir}/${i}.raw`);
      const blocksize = new DataView(c.buffer, c.byteOffset).getUint32(8, true);
      for (let t = 0; t < 8; t++) {
        // 1 to 5 ascending ranges (some empty, some across a block boundary).
        const cuts = Array.from({ length: 2 * (1 + rand(5)) }, () => rand(want.length + 1))
          .sort((a, b) => a - b);
        if (t === 0) cuts.splice(0, cuts.length, blocksize - 3, blocksize + 5); // across
        if (cuts[cuts.length - 1] > want.length) continue;
        // Memory the decoder reuses, filled first so that stale bytes would show.
        decodeBlosc(c, want.length, true)!.fill(0xa5);
        const got = decodeBlosc(c, want.length, true, cuts)!;
        for (let k = 0; k < cuts.length; k += 2) {
          const [s0, e0] = [cuts[k], cuts[k + 1]];
          assertEquals(got.subarray(s0, e0), want.subarray(s0, e0), `chunk ${i}, ${s0}..${e0}`);
        }
        // Some blocks left undecoded (their bytes still the fill) where ranges skip them.
        if (want.length > 2 * blocksize && got.some((v, j) => v === 0xa5 && want[j] !== 0xa5)) {
          partial++;
        }
      }
    }
    assert(partial > 20, `${partial} reads left blocks undecoded`);
  },
});

Deno.test({
  name: "a few rows of a damaged chunk: bytes or a CorruptFileError, never a trap or another error",
  ...py,
  async fn() {
    const { dir, n, rand } = await written(4242);
    let refused = 0, decoded = 0;
    useBloscWasm(true, true); // traps thrown
    try {
      for (let i = 0; i < n; i++) {
        const c = await Deno.readFile(`${dir}/${i}.blosc`);
        const cap = (await Deno.stat(`${dir}/${i}.raw`)).size;
        for (let t = 0; t < 40; t++) {
          const bad = c.slice();
          // Damage anywhere past the header: block starts, stream sizes, tokens.
          for (let h = 1 + rand(4); h > 0; h--) bad[16 + rand(bad.length - 16)] = rand(256);
          const a = rand(cap), b = Math.min(cap, a + 1 + rand(64));
          try {
            const got = decodeBlosc(bad, cap, true, [a, b]);
            assert(got && got.length === cap, `chunk ${i}, damage ${t}: ${got?.length} bytes`);
            decoded++;
          } catch (e) {
            assert(e instanceof CorruptFileError, `chunk ${i}, damage ${t}: ${e}`);
            refused++;
          }
        }
      }
    } finally {
      useBloscWasm(true);
    }
    assert(refused > 50 && decoded > 50, `${refused} refused, ${decoded} decoded`);
  },
});

Deno.test({
  name: "on damaged chunks the wasm and TypeScript decoders agree (bytes, or CorruptFileError)",
  ...py,
  async fn() {
    const { dir, n, rand } = await written(12345);
    let refused = 0, decoded = 0;
    for (let i = 0; i < n; i++) {
      const c = await Deno.readFile(`${dir}/${i}.blosc`);
      const cap = (await Deno.stat(`${dir}/${i}.raw`)).size;
      for (let t = 0; t < 60; t++) {
        const bad = c.slice();
        // One to four bytes changed past the header (sizes, offsets, tokens,
        // literals), or the chunk cut short and its size field made to match.
        const cut = t % 10 === 9;
        const hits = 1 + rand(4);
        for (let h = 0; h < hits; h++) bad[16 + rand(bad.length - 16)] = rand(256);
        const damaged = cut ? bad.slice(0, 16 + rand(bad.length - 16)) : bad;
        if (cut) new DataView(damaged.buffer).setUint32(12, damaged.length, true);
        const wasm = decodeWith(true, damaged, cap);
        const ts = decodeWith(false, damaged, cap);
        assertEquals(typeof wasm, typeof ts, `chunk ${i}, damage ${t}`);
        if (typeof wasm === "string") refused++;
        else {
          decoded++;
          assertEquals(wasm, ts, `chunk ${i}, damage ${t}`);
        }
      }
    }
    // Both kinds occur (a changed literal byte cannot be told: blosc has no checksum).
    assert(refused > 200 && decoded > 100, `${refused} refused, ${decoded} decoded`);
  },
});

Deno.test({
  name: "sparse indices checked in the decoder's memory: the same verdict as TypeScript's",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    // Chunk 30 is 51,000 int32 values, shuffled: decoded into the wasm memory (transient).
    const c = await Deno.readFile(`${dir}/30.blosc`);
    const view = decodeBlosc(c, 204_000, true)!;
    assert(wasmIndexOutside(view, 1) !== undefined, "a view of the decoder's memory");
    assertEquals(wasmIndexOutside(view.slice(), 1), undefined, "a copy: left to TypeScript");
    const a = new Int32Array(view.buffer, view.byteOffset, view.length / 4);
    const first = (len: number, bound: number) => {
      for (let i = 0; i < len; i++) if (a[i] < 0 || a[i] >= bound) return i;
      return -1;
    };
    let x = 99;
    const rand = (k: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % k;
    let found = 0;
    for (let t = 0; t < 2_000; t++) {
      const len = rand(200), bound = 1 + rand(1_000);
      for (let i = 0; i < len; i++) a[i] = rand(bound);
      // Zero to two values put out of bounds: negative, the bound, or far past it.
      for (let h = rand(3); h > 0 && len; h--) {
        a[rand(len)] = [-1, bound, 2 ** 31 - 1, -(2 ** 31), bound + rand(9)][rand(5)];
      }
      const want = first(len, bound);
      found += want >= 0 ? 1 : 0;
      assertEquals(wasmIndexOutside(view.subarray(0, 4 * len), bound), want, `case ${t}`);
      // Through checkIndices (the workers' check): an error exactly when one is outside.
      const sub = view.subarray(0, 4 * len);
      let threw = false;
      try {
        checkIndices(sub, bound);
      } catch (e) {
        assert(e instanceof CorruptFileError);
        threw = true;
      }
      assertEquals(threw, want >= 0, `case ${t}: checkIndices`);
    }
    assert(found > 500 && found < 1_800, `${found} cases with a value outside`);
  },
});

/** A valid LZF stream of random literals and back references (short and far, overlapping), and what it decodes to. */
function lzfStream(
  rand: (k: number) => number,
  size: number,
): { lzf: Uint8Array; plain: Uint8Array } {
  const plain: number[] = [], lzf: number[] = [];
  while (plain.length < size) {
    if (plain.length === 0 || rand(3) === 0) {
      const n = 1 + rand(32);
      lzf.push(n - 1);
      for (let i = 0; i < n; i++) {
        const v = rand(4) ? rand(8) : rand(256);
        lzf.push(v);
        plain.push(v);
      }
    } else {
      const back = 1 + rand(Math.min(plain.length, rand(2) ? 20 : 8192));
      const len = 3 + rand(rand(4) ? 12 : 262);
      const l = len - 2, d = back - 1;
      if (l >= 7) lzf.push((7 << 5) | (d >> 8), l - 7, d & 0xff);
      else lzf.push((l << 5) | (d >> 8), d & 0xff);
      for (let i = 0; i < len; i++) plain.push(plain[plain.length - back]);
    }
  }
  return { lzf: new Uint8Array(lzf), plain: new Uint8Array(plain) };
}

Deno.test("LZF in WebAssembly decodes as the TypeScript decoder, and refuses what it refuses", () => {
  let x = 5;
  const rand = (k: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % k;
  let refused = 0, damaged = 0;
  for (let t = 0; t < 3_000; t++) {
    const { lzf, plain } = lzfStream(rand, 1 + rand(t % 10 ? 600 : 80_000));
    const out = new Uint8Array(plain.length);
    assertEquals(wasmLzf(lzf, out), plain.length, `case ${t}`);
    assertEquals(out, plain, `case ${t}`);
    assertEquals(lzfDecompress(lzf, plain.length, "t"), plain, `case ${t}: TypeScript`);
    // Into memory given (the filter's kept scratch), not a new array.
    const given = new Uint8Array(plain.length).fill(7);
    const into = lzfDecompress(lzf, plain.length, "t", given);
    assert(into.buffer === given.buffer && into.length === plain.length, `case ${t}: in place`);
    assertEquals(given, plain, `case ${t}: TypeScript, into memory given`);
    // Only the first `stop` bytes wanted: both stop at the token that reaches them.
    const stop = rand(plain.length + 1);
    const part = new Uint8Array(plain.length);
    const n = wasmLzf(lzf, part, stop)!;
    assert(n >= stop && n <= plain.length, `case ${t}: ${n} bytes for a stop at ${stop}`);
    assertEquals(part.subarray(0, n), plain.subarray(0, n), `case ${t}: stopped`);
    assertEquals(lzfDecompress(lzf, plain.length, "t", undefined, stop).length, n, `case ${t}`);
    // Damaged: a byte changed, cut short, or an output too small.
    const bad = t % 3 === 2 ? lzf.subarray(0, rand(lzf.length)) : lzf.slice();
    if (t % 3 === 0) bad[rand(bad.length)] = rand(256);
    const room = t % 3 === 1 ? rand(plain.length + 1) : plain.length;
    let want: Uint8Array | "refused";
    try {
      want = lzfDecompress(bad, room, "t");
    } catch (e) {
      assert(e instanceof CorruptFileError);
      want = "refused";
    }
    const o2 = new Uint8Array(room);
    const got = wasmLzf(bad, o2);
    // Stopping early refuses only damage it meets, as both decoders do.
    const cut = rand(room + 1);
    let tsCut: number | "refused";
    try {
      tsCut = lzfDecompress(bad, room, "t", undefined, cut).length;
    } catch {
      tsCut = "refused";
    }
    const wCut = wasmLzf(bad, new Uint8Array(room), cut);
    assertEquals(wCut === -1 ? "refused" : wCut, tsCut, `case ${t}: stop at ${cut} after damage`);
    if (want === "refused") {
      refused++;
      assertEquals(got, -1, `case ${t}: refused by both`);
    } else {
      damaged++;
      assertEquals(got, want.length, `case ${t}`);
      assertEquals(o2.subarray(0, want.length), want, `case ${t}`);
    }
  }
  assert(refused > 500 && damaged > 500, `${refused} refused, ${damaged} decoded after damage`);
});

/**
 * A valid LZ4 block of random sequences, matches at every offset from 1 to
 * 40 (periods shorter than a 16-byte store, and longer), of 4 to ~80 bytes,
 * and what it decodes to (written as the format says, byte by byte).
 */
function lz4Stream(
  rand: (k: number) => number,
  size: number,
): { lz4: Uint8Array; plain: Uint8Array } {
  const plain: number[] = [], out: number[] = [];
  const len = (n: number) => {
    for (; n >= 255; n -= 255) out.push(255);
    out.push(n);
  };
  while (plain.length < size) {
    const lit = plain.length === 0 ? 1 + rand(20) : rand(4) ? rand(3) : rand(40);
    const off = 1 + rand(Math.min(plain.length + lit, rand(3) ? 17 : 40));
    const ml = 4 + (rand(4) ? rand(13) : rand(80));
    out.push((Math.min(lit, 15) << 4) | Math.min(ml - 4, 15));
    if (lit >= 15) len(lit - 15);
    for (let i = 0; i < lit; i++) {
      const v = rand(3) ? 0 : rand(256);
      out.push(v);
      plain.push(v);
    }
    out.push(off & 0xff, off >> 8);
    if (ml - 4 >= 15) len(ml - 4 - 15);
    for (let i = 0; i < ml; i++) plain.push(plain[plain.length - off]);
  }
  // The last sequence: literals only (at least 5 bytes, as LZ4 ends).
  out.push(5 << 4);
  for (let i = 0; i < 5; i++) {
    out.push(7);
    plain.push(7);
  }
  return { lz4: new Uint8Array(out), plain: new Uint8Array(plain) };
}

/** A blosc chunk of one unshuffled, unsplit block (type size 1) holding `lz4`. */
function bloscOf(lz4: Uint8Array, nbytes: number): Uint8Array {
  const c = new Uint8Array(16 + 4 + 4 + lz4.length);
  const v = new DataView(c.buffer);
  c.set([2, 1, 0x10 | (1 << 5), 1]); // version, LZ4 version, flags (no split, lz4), type size
  v.setUint32(4, nbytes, true);
  v.setUint32(8, nbytes, true); // one block
  v.setUint32(12, c.length, true);
  v.setUint32(16, 20, true); // the block's start
  v.setUint32(20, lz4.length, true);
  c.set(lz4, 24);
  return c;
}

Deno.test("LZ4 matches at every short offset (1 to 40 bytes back) decode as the format says", () => {
  let x = 99;
  const rand = (k: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % k;
  for (let t = 0; t < 200; t++) {
    const { lz4, plain } = lz4Stream(rand, 200 + rand(5000));
    const c = bloscOf(lz4, plain.length);
    assertEquals(decodeWith(true, c, plain.length), plain, `stream ${t}`);
    assertEquals(decodeWith(false, c, plain.length), plain, `stream ${t} (TypeScript)`);
  }
});
