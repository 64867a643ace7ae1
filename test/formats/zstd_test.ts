// zstd frames as zarr stores them: the frame header's declared size read
// and checked against the chunk's before anything is decoded (every field
// width, reserved bits, the wrong magic, claims past the cap), frames
// decoded to their declared size by our WebAssembly decoder (zstd_frame.c)
// as by libzstd's encoder at every level on data of every kind (raw, RLE and
// compressed blocks; Huffman literals in 1 and 4 streams, treeless, raw and
// RLE; predefined, FSE, RLE and repeated sequence tables; repeat offsets),
// damaged ones a CorruptFileError and never a trap; zarr
// v3 arrays of zstd chunks read by rows on the worker pool, equal to the
// values written, a damaged chunk named.
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { decodeZstd, zstdContentSize } from "../../src/formats/_zstd.ts";
import { decodeZstdNativeInto, wholeFrame } from "../../src/formats/_zstd_native.ts";
import * as zlib from "node:zlib";
import { decodeZstdWasm, useBloscWasm } from "../../src/formats/_blosc.ts";
import { needsPython, python } from "../_python.ts";
import { zarrRangeArray } from "../../src/formats/anndata/_zarr_ranges.ts";
import { localZarr, openZarr } from "../../src/formats/anndata/_zarr_store.ts";
import { intoGroups } from "../../src/formats/hdf5/_unfilter_pool.ts";
import { CorruptFileError } from "../../mod.ts";

/** The error `f` throws, which must be a `cls`. */
function assertThrows<E extends Error>(f: () => unknown, cls: new (...a: never[]) => E): E {
  try {
    f();
  } catch (e) {
    assert(e instanceof cls, `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return e;
  }
  throw new Error("did not throw");
}

/** A frame header: magic, descriptor `fhd`, then `rest` (window, dict id, content size). */
function header(fhd: number, ...rest: number[]): Uint8Array {
  return Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, fhd, ...rest);
}

async function zstd(bytes: Uint8Array): Promise<Uint8Array> {
  const { default: Zstd } = await import("numcodecs/zstd");
  return await (Zstd as unknown as {
    fromConfig(c: unknown): { encode(b: Uint8Array): Promise<Uint8Array> };
  })
    .fromConfig({ level: 3 }).encode(bytes);
}

Deno.test("zstdContentSize: the declared size of every field width, refused past the cap", () => {
  // Single segment, 1-byte size (flag 0).
  assertEquals(zstdContentSize(header(0x20, 200), 1_000), 200);
  // 2 bytes: 256 more than stored; a window descriptor before it.
  assertEquals(zstdContentSize(header(0x40, 0x50, 0x10, 0x00), 1_000), 0x10 + 256);
  // 4 bytes after a 1-byte dictionary id.
  assertEquals(zstdContentSize(header(0x81, 0x50, 7, 0x00, 0x00, 0x01, 0x00), 1 << 20), 65_536);
  // 8 bytes, and a window descriptor: 2^40, past any cap.
  const big = header(0xc0, 0x50, 0, 0, 0, 0, 0, 1, 0, 0);
  const e = assertThrows(() => zstdContentSize(big, 1 << 30), CorruptFileError);
  assert(e.message.includes("1099511627776 bytes"), e.message);
  // No size (not single segment, flag 0): undefined.
  assertEquals(zstdContentSize(header(0x00, 0x50), 10), undefined);
  // Claims past the cap, the wrong magic, reserved bit, cut short.
  assertThrows(() => zstdContentSize(header(0x20, 201), 200), CorruptFileError);
  assertThrows(() => zstdContentSize(Uint8Array.of(1, 2, 3, 4, 0x20, 5), 10), CorruptFileError);
  assertThrows(() => zstdContentSize(header(0x28, 5), 10), CorruptFileError);
  assertThrows(() => zstdContentSize(header(0x80, 0x50, 1, 2), 1 << 20), CorruptFileError);
  assertThrows(() => zstdContentSize(Uint8Array.of(0x28, 0xb5), 10), CorruptFileError);
});

Deno.test("decodeZstd: a frame to its declared size; damaged or oversized frames refused", async () => {
  const data = new Uint8Array(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251 & (i % 3 ? 0xff : 0);
  const frame = await zstd(data);
  assertEquals(zstdContentSize(frame, data.length), data.length);
  assertEquals(await decodeZstd(frame, data.length), data);
  // A chunk may not be larger than the array's chunks.
  await assertRejects(() => decodeZstd(frame, data.length - 1), CorruptFileError);
  // Cut short: numcodecs' error, as a CorruptFileError.
  await assertRejects(
    () => decodeZstd(frame.subarray(0, frame.length - 50), data.length),
    CorruptFileError,
  );
});

Deno.test({
  name: "zarr v3 zstd arrays are read by rows on the workers, equal to the values written",
  async fn() {
    const dir = await tempDir();
    const rows = 10_007, cols = 6, chunk = 1_000;
    const a = new Float32Array(rows * cols).map((_, i) => Math.sin(i) * (i % 5 ? 1 : 0));
    const v = new Int32Array(rows).map((_, i) => (i * 37) % 2_000);
    // Two arrays as zarr-python 3 writes them: bytes (little endian), then zstd.
    const write = async (
      name: string,
      shape: number[],
      chunks: number[],
      dtype: string,
      bytes: Uint8Array,
    ) => {
      const base = `${dir}/s.zarr/${name}`;
      await Deno.mkdir(`${base}/c`, { recursive: true });
      await Deno.writeTextFile(
        `${base}/zarr.json`,
        JSON.stringify({
          shape,
          data_type: dtype,
          chunk_grid: { name: "regular", configuration: { chunk_shape: chunks } },
          chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
          fill_value: 0,
          codecs: [
            { name: "bytes", configuration: { endian: "little" } },
            { name: "zstd", configuration: { level: 0, checksum: false } },
          ],
          attributes: {},
          zarr_format: 3,
          node_type: "array",
          storage_transformers: [],
        }),
      );
      const rowBytes = bytes.length / shape[0];
      for (let c = 0; c * chunks[0] < shape[0]; c++) {
        // Edge chunks are stored whole (padded with the fill value).
        const part = new Uint8Array(chunks[0] * rowBytes);
        part.set(bytes.subarray(c * chunks[0] * rowBytes, (c + 1) * chunks[0] * rowBytes));
        const key = shape.length === 2 ? `${base}/c/${c}/0` : `${base}/c/${c}`;
        if (shape.length === 2) await Deno.mkdir(`${base}/c/${c}`, { recursive: true });
        await Deno.writeFile(key, await zstd(part));
      }
    };
    await Deno.mkdir(`${dir}/s.zarr`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/s.zarr/zarr.json`,
      JSON.stringify({ attributes: {}, zarr_format: 3, node_type: "group" }),
    );
    await write("m", [rows, cols], [chunk, cols], "float32", new Uint8Array(a.buffer));
    await write("v", [rows], [chunk], "int32", new Uint8Array(v.buffer));
    const src = localZarr(`${dir}/s.zarr`);
    const m = await zarrRangeArray(src, "m", "s.zarr");
    const vec = await zarrRangeArray(src, "v", "s.zarr");
    const picks: [number, number][] = [[0, 3], [2_500, 2_501], [5_000, 5_100], [10_000, 10_007]];
    const before = { ...intoGroups };
    const gotM = await m.readRanges(picks) as Float32Array;
    const gotV = await vec.readRanges(picks) as Int32Array;
    assert(intoGroups.reads - before.reads >= 2, "both read in groups on the workers");
    let o = 0;
    for (const [s, e] of picks) {
      for (let r = s; r < e; r++, o++) {
        assertEquals(gotV[o], v[r], `v[${r}]`);
        for (let k = 0; k < cols; k++) assertEquals(gotM[o * cols + k], a[r * cols + k], `m[${r}]`);
      }
    }
    assertEquals(await vec.readRanges([[0, rows]]), v, "whole");
    // A string array (vlen-utf8 then zstd, as zarr-python 3 writes them):
    // read by rows and as UTF-8 bytes without zarrita.
    const strs = Array.from({ length: 2_500 }, (_, i) => i % 7 ? `cell-${i}` : `ünï ${i}`);
    const sbase = `${dir}/s.zarr/names`;
    await Deno.mkdir(`${sbase}/c`, { recursive: true });
    await Deno.writeTextFile(
      `${sbase}/zarr.json`,
      JSON.stringify({
        shape: [strs.length],
        data_type: "string",
        chunk_grid: { name: "regular", configuration: { chunk_shape: [1_000] } },
        chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
        fill_value: "",
        codecs: [
          { name: "vlen-utf8", configuration: {} },
          { name: "zstd", configuration: { level: 0, checksum: false } },
        ],
        attributes: {},
        zarr_format: 3,
        node_type: "array",
        storage_transformers: [],
      }),
    );
    for (let c = 0; c * 1_000 < strs.length; c++) {
      const items = Array.from({ length: 1_000 }, (_, i) => strs[c * 1_000 + i] ?? "");
      const enc = items.map((x) => new TextEncoder().encode(x));
      const buf = new Uint8Array(4 + enc.reduce((n, e) => n + 4 + e.length, 0));
      const dv = new DataView(buf.buffer);
      dv.setUint32(0, items.length, true);
      let at = 4;
      for (const e of enc) {
        dv.setUint32(at, e.length, true);
        buf.set(e, at + 4);
        at += 4 + e.length;
      }
      await Deno.writeFile(`${sbase}/c/${c}`, await zstd(buf));
    }
    const store = openZarr(localZarr(`${dir}/s.zarr`), "s.zarr");
    const rowsWanted = Uint32Array.of(0, 7, 999, 1_000, 2_499);
    const byRows = await store.readRows!("names", rowsWanted);
    assertEquals(byRows.data, Array.from(rowsWanted, (r) => strs[r]));
    const utf8 = await store.readUtf8!("names");
    assert(utf8, "v3 strings read as UTF-8 bytes (not left to zarrita)");
    assertEquals(utf8.offsets.length, strs.length + 1);
    const dec = new TextDecoder();
    assertEquals(dec.decode(utf8.bytes.subarray(utf8.offsets[7], utf8.offsets[8])), strs[7]);
    // Chunks of 256 KiB (the runtime's zstd, decoded on a worker straight
    // into the result when read whole), the last one in part.
    const big = new Int32Array(300_001).map((_, i) => (i * 7) % 5_003 - (i % 11 ? 0 : 9_999));
    await write("w", [big.length], [65_536], "int32", new Uint8Array(big.buffer));
    const wide = await zarrRangeArray(src, "w", "s.zarr");
    assertEquals(await wide.readRanges([[0, big.length]]), big, "whole, large chunks");
    assertEquals(
      await wide.readRanges([[3, 70_000], [299_990, 300_001]]),
      Int32Array.of(...big.subarray(3, 70_000), ...big.subarray(299_990)),
      "runs of large chunks",
    );
    // A chunk that decodes to fewer bytes than a chunk holds: refused, named.
    await Deno.writeFile(`${dir}/s.zarr/w/c/1`, await zstd(new Uint8Array(4_000)));
    const short = await assertRejects(() => wide.readRanges([[0, big.length]]), CorruptFileError);
    assert(short.message.includes("/w") && short.message.includes("1"), short.message);
    // A damaged chunk (cut short): a CorruptFileError naming the array and chunk.
    const f = `${dir}/s.zarr/v/c/5`;
    const b = await Deno.readFile(f);
    await Deno.writeFile(f, b.subarray(0, b.length - 30));
    const e = await assertRejects(() => vec.readRanges([[5_050, 5_060]]), CorruptFileError);
    assert(e.message.includes("/v") && e.message.includes("chunk 5"), e.message);
  },
});

const FRAMES = `
import sys, os, json, numpy as np, numcodecs
d = sys.argv[1]
rng = np.random.default_rng(7)
cases = {
    "empty": b"", "one": b"a", "small": bytes(range(200)) * 3,
    "text": (b"the quick brown fox jumps over the lazy dog " * 3000)[:100_001],
    "zeros": bytes(300_000),
    "random": rng.integers(0, 256, 70_000, dtype=np.uint8).tobytes(),
    "sparse_f32": (rng.standard_normal(200_000).astype(np.float32) * (rng.random(200_000) < 0.1)).tobytes(),
    "sorted_i32": np.sort(rng.integers(0, 2000, 300_000)).astype(np.int32).tobytes(),
    "counts": rng.poisson(0.3, 250_000).astype(np.int32).tobytes(),
    "acgt": (rng.integers(0, 4, 500_000, dtype=np.uint8) + 65).tobytes(),
    "walk_f64": np.cumsum(rng.standard_normal(150_000)).tobytes(),
    "runs": b"".join(bytes([i % 7]) * int(n) for i, n in enumerate(rng.integers(1, 40, 20_000))),
}
names = []
for name, data in cases.items():
    for level in [-5, 1, 3, 9, 19]:
        fn = f"{name}_{level}"
        open(f"{d}/{fn}.zst", "wb").write(bytes(numcodecs.Zstd(level=level).encode(data)))
        open(f"{d}/{fn}.raw", "wb").write(data)
        names.append(fn)
json.dump(names, open(f"{d}/names.json", "w"))
`;

/** Damage `t` of the frame `z`: cut short (every third), else a bit flipped past its header. */
function damaged(z: Uint8Array, t: number, rand: (k: number) => number): Uint8Array {
  const bad = t % 3 === 2 ? z.subarray(0, 6 + rand(z.length - 6)) : z.slice();
  if (t % 3 !== 2) bad[6 + rand(bad.length - 6)] ^= 1 << rand(8);
  return bad;
}

/** libzstd's frames (FRAMES) in a new folder: it, and the frames' names. */
async function frames(): Promise<{ dir: string; names: string[] }> {
  const dir = await tempDir();
  await python(FRAMES, dir);
  return { dir, names: JSON.parse(await Deno.readTextFile(`${dir}/names.json`)) };
}

Deno.test({
  name: "the WebAssembly zstd decoder gives libzstd's input back at every level; damage is refused",
  ...needsPython("zstd frames", "numcodecs", "numpy"),
  async fn() {
    const { dir, names } = await frames();
    useBloscWasm(true, true); // traps thrown, not hidden
    try {
      let seed = 11;
      const rand = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
      for (const n of names) {
        const z = await Deno.readFile(`${dir}/${n}.zst`);
        const raw = await Deno.readFile(`${dir}/${n}.raw`);
        const size = zstdContentSize(z, 1 << 30)!;
        assertEquals(size, raw.length, n);
        const got = decodeZstdWasm(z, size);
        assert(got, `${n}: decoded by ours`);
        assertEquals(got.length, raw.length, n);
        assertEquals(got.findIndex((v, i) => v !== raw[i]), -1, `${n}: bytes`);
        // Damage: a flipped byte past the header, or the frame cut short:
        // the right number of bytes (blosc-like: no checksum) or a
        // CorruptFileError, never a trap or another error.
        for (let t = 0; t < 12 && z.length > 8; t++) {
          const bad = damaged(z, t, rand);
          try {
            const r = decodeZstdWasm(bad, size);
            if (r) assertEquals(r.length, size, `${n}: damaged, decoded`);
          } catch (e) {
            assert(e instanceof CorruptFileError, `${n}: ${(e as Error)?.constructor?.name}: ${e}`);
          }
        }
      }
    } finally {
      useBloscWasm(true);
    }
  },
});

Deno.test({
  name: "decodeZstd (the runtime's zstd first) gives libzstd's input back; damage and lies refused",
  ...needsPython("zstd frames", "numcodecs", "numpy"),
  async fn() {
    const { dir, names } = await frames();
    let seed = 5;
    const rand = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
    for (const n of names) {
      const z = await Deno.readFile(`${dir}/${n}.zst`);
      const raw = await Deno.readFile(`${dir}/${n}.raw`);
      const got = await decodeZstd(z, 1 << 30, true);
      assert(got, n);
      assertEquals(got.length, raw.length, n);
      assertEquals(got.findIndex((v, i) => v !== raw[i]), -1, `${n}: bytes`);
      for (let t = 0; t < 6 && z.length > 8; t++) {
        const bad = damaged(z, t, rand);
        try {
          const r = await decodeZstd(bad, 1 << 30);
          if (r) assert(r.length === zstdContentSize(bad, 1 << 30), `${n}: damaged, decoded`);
        } catch (e) {
          assert(e instanceof CorruptFileError, `${n}: ${(e as Error)?.constructor?.name}: ${e}`);
        }
      }
      // A header that says one byte less than the frame holds: refused, never
      // a buffer of either length (the native decoder stops at the size said).
      if (raw.length > 300) {
        const fhd = z[4], fcsBytes = [(fhd >> 5) & 1, 2, 4, 8][fhd >> 6];
        const at = 5 + ((fhd >> 5) & 1 ? 0 : 1) + [0, 1, 2, 4][fhd & 3];
        assert(fcsBytes >= 2, `${n}: a 2-, 4- or 8-byte content size`);
        const lie = z.slice(), v = new DataView(lie.buffer);
        if (fcsBytes === 2) v.setUint16(at, raw.length - 1 - 256, true);
        else v.setUint32(at, raw.length - 1, true);
        assertEquals(zstdContentSize(lie, 1 << 30), raw.length - 1);
        await assertRejects(() => decodeZstd(lie, 1 << 30), CorruptFileError);
      }
    }
  },
});

Deno.test({
  name: "the runtime's zstd decodes into a range of a buffer, nothing outside it; lies refused",
  ...needsPython("zstd frames", "numcodecs", "numpy"),
  async fn() {
    const { dir, names } = await frames();
    const cases: [string, Uint8Array, Uint8Array][] = [];
    for (const n of names) {
      cases.push([
        n,
        await Deno.readFile(`${dir}/${n}.zst`),
        await Deno.readFile(`${dir}/${n}.raw`),
      ]);
    }
    const SENTINEL = 0xa5;
    /** `z` decoded into `size` bytes at 3 of a buffer with sentinels around. */
    const into = (z: Uint8Array, size: number) => {
      const buf = new Uint8Array(size + 8).fill(SENTINEL);
      const ok = decodeZstdNativeInto(z, size, buf, 3);
      for (const k of [0, 1, 2, ...Array.from({ length: 5 }, (_, i) => size + 3 + i)]) {
        assertEquals(buf[k], SENTINEL, `byte ${k} outside the range was written`);
      }
      return { ok, got: buf.subarray(3, 3 + size) };
    };
    let seed = 3;
    const rand = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
    for (const [n, z, raw] of cases) {
      // Decoded where it was told (the fast path: a runtime without it fails here).
      const { ok, got } = into(z, raw.length);
      assert(ok, `${n}: decoded natively`);
      assertEquals(got.findIndex((v, i) => v !== raw[i]), -1, `${n}: bytes`);
      if (raw.length < 2) continue;
      // A size other than the frame's, two frames, cut short, damaged: false, never a throw.
      assertEquals(into(z, raw.length - 1).ok, false, `${n}: one byte less`);
      assertEquals(into(z, raw.length + 1).ok, false, `${n}: one byte more`);
      const two = new Uint8Array(2 * z.length);
      two.set(z);
      two.set(z, z.length);
      assertEquals(into(two, raw.length).ok, false, `${n}: two frames`);
      assertEquals(into(z.subarray(0, z.length - 1), raw.length).ok, false, `${n}: cut short`);
      for (let t = 0; t < 4; t++) {
        const bad = damaged(z, t, rand);
        // Decoded or not (a flipped literal still decodes), never a throw or
        // a byte written outside the range (`into` checks).
        into(bad, raw.length);
      }
      // Good frames decode again after the failures.
      assert(into(z, raw.length).ok, `${n}: again`);
    }
    // A frame with a checksum (its size declared, as node's encoder writes
    // it): left to the other decoders (this way cannot tell a frame cut
    // short in its checksum from a whole one).
    const text = new TextEncoder().encode("checksummed ".repeat(30_000));
    const c = (zlib as unknown as { constants: Record<string, number> }).constants;
    const sums = (zlib as unknown as {
      zstdCompressSync(b: Uint8Array, o: object): Uint8Array;
    }).zstdCompressSync(text, {
      pledgedSrcSize: text.length,
      params: { [c.ZSTD_c_checksumFlag]: 1 },
    });
    assert(sums[4] & 0x04, "a checksum flag");
    assertEquals(zstdContentSize(sums, 1 << 30), text.length);
    assertEquals(into(sums, text.length).ok, false);
  },
});

/** CRC-32C (Castagnoli) of `b`, as zarr's crc32c codec stores it. */
function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

Deno.test("a sharded zarr v3 zstd array is read by rows through its shards' indexes", async () => {
  const dir = await tempDir();
  const n = 10_007, shard = 4_000, inner = 1_000, per = shard / inner;
  const v = new Int32Array(n).map((_, i) => (i * 7919) % 100_003);
  const base = `${dir}/s.zarr/v`;
  await Deno.mkdir(`${base}/c`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/s.zarr/zarr.json`,
    JSON.stringify({ attributes: {}, zarr_format: 3, node_type: "group" }),
  );
  await Deno.writeTextFile(
    `${base}/zarr.json`,
    JSON.stringify({
      shape: [n],
      data_type: "int32",
      chunk_grid: { name: "regular", configuration: { chunk_shape: [shard] } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: 0,
      codecs: [{
        name: "sharding_indexed",
        configuration: {
          chunk_shape: [inner],
          codecs: [
            { name: "bytes", configuration: { endian: "little" } },
            { name: "zstd", configuration: { level: 0, checksum: false } },
          ],
          index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, {
            name: "crc32c",
          }],
          index_location: "end",
        },
      }],
      attributes: {},
      zarr_format: 3,
      node_type: "array",
      storage_transformers: [],
    }),
  );
  const bytes = new Uint8Array(v.buffer);
  for (let sh = 0; sh * shard < n; sh++) {
    const parts: Uint8Array[] = [];
    const index = new DataView(new ArrayBuffer(per * 16));
    let at = 0;
    for (let k = 0; k < per; k++) {
      const c = sh * per + k;
      if (c * inner >= n || c === 5) {
        // Past the array, or never written (chunk 5: its fill value).
        index.setBigUint64(16 * k, 2n ** 64n - 1n, true);
        index.setBigUint64(16 * k + 8, 2n ** 64n - 1n, true);
        continue;
      }
      const part = new Uint8Array(inner * 4);
      part.set(bytes.subarray(c * inner * 4, (c + 1) * inner * 4));
      const z = await zstd(part);
      index.setBigUint64(16 * k, BigInt(at), true);
      index.setBigUint64(16 * k + 8, BigInt(z.length), true);
      parts.push(z);
      at += z.length;
    }
    const ib = new Uint8Array(index.buffer);
    const crc = new Uint8Array(4);
    new DataView(crc.buffer).setUint32(0, crc32c(ib), true);
    const file = new Uint8Array(at + ib.length + 4);
    let o = 0;
    for (const p of parts) {
      file.set(p, o);
      o += p.length;
    }
    file.set(ib, o);
    file.set(crc, o + ib.length);
    await Deno.writeFile(`${base}/c/${sh}`, file);
  }
  const arr = await zarrRangeArray(localZarr(`${dir}/s.zarr`), "v", "s.zarr");
  const picks: [number, number][] = [[0, 2], [3_999, 4_001], [5_500, 5_502], [10_000, 10_007]];
  const groups = intoGroups.reads;
  const got = await arr.readRanges(picks) as Int32Array;
  // Read where the shards' indexes say by the workers (one read in groups), not here.
  assertEquals(intoGroups.reads, groups + 1);
  const want: number[] = [];
  for (const [s, e] of picks) {
    for (let r = s; r < e; r++) want.push(r >= 5_000 && r < 6_000 ? 0 : v[r]);
  }
  assertEquals(Array.from(got), want);
  // An index entry pointing past the shard: refused by its checksum, and
  // with the checksum made to match, as past the shard's end.
  const f = `${base}/c/0`;
  const b = await Deno.readFile(f);
  const idx = new DataView(b.buffer, b.length - 4 - per * 16);
  idx.setBigUint64(16 * 1, BigInt(b.length + 100), true);
  await Deno.writeFile(f, b);
  const again = await zarrRangeArray(localZarr(`${dir}/s.zarr`), "v", "s.zarr");
  await assertRejects(() => again.readRanges([[1_500, 1_501]]), CorruptFileError, /checksum/);
  const ib = b.subarray(b.length - 4 - per * 16, b.length - 4);
  new DataView(b.buffer).setUint32(b.length - 4, crc32c(ib), true);
  await Deno.writeFile(f, b);
  const third = await zarrRangeArray(localZarr(`${dir}/s.zarr`), "v", "s.zarr");
  await assertRejects(
    () => third.readRanges([[1_500, 1_501]]),
    CorruptFileError,
    /past the shard's end/,
  );
  // The same read by the workers (several chunks): the shard ends before it.
  await assertRejects(
    () => third.readRanges([[0, 1], [1_500, 1_501]]),
    CorruptFileError,
    /s\.zarr.*\/v.*ends before its chunk at byte/,
  );
});

Deno.test("the runtime's zstd: a frame cut short after its content, an offset past 4 GiB", () => {
  const zs = zlib as unknown as { zstdCompressSync(b: Uint8Array, o: object): Uint8Array };
  const data = new Uint8Array(70_000).map((_, i) => (i * 31) >> 3);
  const frame = new Uint8Array(zs.zstdCompressSync(data, { pledgedSrcSize: data.length }));
  assert(wholeFrame(frame));
  // Its last block's flag cleared: every byte of content comes out, but the
  // frame says more follows. Refused here, and the other decoders say so.
  assertEquals(frame[4] & 0x2f, 0x20, "single segment, no dictionary id or checksum");
  let p = 5 + [1, 2, 4, 8][frame[4] >> 6];
  const cut = frame.slice();
  for (;;) {
    const h = cut[p] | (cut[p + 1] << 8) | (cut[p + 2] << 16);
    if (h & 1) {
      cut[p] &= 0xfe;
      break;
    }
    p += 3 + (((h >> 1) & 3) === 1 ? 1 : h >>> 3);
  }
  assertEquals(wholeFrame(cut), false);
  assertEquals(decodeZstdNativeInto(cut, data.length, new Uint8Array(data.length), 0), false);
  assertThrows(() => decodeZstdWasm(cut, data.length, false), CorruptFileError);
  // A trailing byte, a skippable frame, cut in a block header: not one whole frame.
  assertEquals(wholeFrame(Uint8Array.of(...frame, 0)), false);
  assertEquals(wholeFrame(Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0)), false);
  assertEquals(wholeFrame(frame.subarray(0, 8)), false);

  // The handle's offsets are 32-bit: a frame decoded at 4 GiB + 100 of a
  // buffer lands there, not at 100 (pages are only touched where written).
  const big = new Uint8Array(2 ** 32 + 2 * data.length);
  const at = 2 ** 32 + 100;
  assert(decodeZstdNativeInto(frame, data.length, big, at));
  assertEquals(big.subarray(at, at + data.length).findIndex((v, i) => v !== data[i]), -1);
  assertEquals(big.subarray(0, 100 + data.length).findIndex((v) => v !== 0), -1, "nothing at 100");
});

Deno.test({
  name: "under Node 22 (its zstd handle reports errors, never throws): a damaged frame is " +
    "false, the process lives on and decodes the next frame",
  async fn() {
    const dir = await tempDir();
    try {
      const mod = new URL("../../src/formats/_zstd_native.ts", import.meta.url).href;
      await Deno.writeTextFile(
        `${dir}/z.mjs`,
        `import * as zlib from "node:zlib";
import { decodeZstdNativeInto } from ${JSON.stringify(mod)};
const data = new Uint8Array(70000).map((_, i) => (i * 31) >> 3);
const frame = new Uint8Array(zlib.zstdCompressSync(data, { pledgedSrcSize: data.length }));
const bad = frame.slice(); bad[10] ^= 0xff; bad[11] ^= 0xff; bad[12] ^= 0x55;
const out = new Uint8Array(data.length);
const got = [];
for (const f of [bad, frame, bad, bad, frame]) {
  out.fill(0);
  got.push(decodeZstdNativeInto(f, data.length, out, 0) && out.every((v, i) => v === data[i]));
}
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ version: process.version, got }));
`,
      );
      const out = await new Deno.Command("npx", {
        args: ["-y", "node@22", `${dir}/z.mjs`],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
      assert(out.success, `node exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
      const { version, got } = JSON.parse(text);
      assert(/^v22\./.test(version), version);
      assertEquals(got, [false, true, false, false, true]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
