// Zarr v2 blosc chunks as numcodecs writes them (LZ4, BloscLZ, zlib, zstd;
// byte shuffle, bit shuffle, none), decoded on the worker pool by
// src/formats/_blosc.ts or numcodecs' wasm (zstd, bit shuffle): the values equal
// numpy's, and a damaged chunk is a CorruptFileError naming the element.
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { bloscDecodable, decodeBlosc } from "../../../src/formats/_blosc.ts";
import { zarrRangeArray } from "../../../src/formats/anndata/_zarr_ranges.ts";
import { localZarr, openZarr } from "../../../src/formats/anndata/_zarr_store.ts";
import { decodeVLenUTF8 } from "../../../src/formats/anndata/_zarr_vlen.ts";
import { intoGroups } from "../../../src/formats/hdf5/_unfilter_pool.ts";
import { CorruptFileError, StorageError } from "../../../mod.ts";

const py = needsPython("zarr v2 blosc", "zarr", "numcodecs", "numpy");

// Arrays: 1-D float32 (chunks over 64 KiB compressed: decoded on the pool),
// int64, int16 and uint16 (type size 2), uint8 (type size 1), a leftover block, and a 2-D float32 chunked
// by rows and columns. Each under every codec and shuffle.
const WRITE = `
import sys, json, zarr, numpy as np
from numcodecs import Blosc
d = sys.argv[1]
rng = np.random.default_rng(3)
arrays = {
    "f4": ((rng.poisson(2, 400_003) * rng.random(400_003)).astype("<f4"), (100_000,)),
    "i8": (np.sort(rng.integers(0, 10**12, 50_001)).astype("<i8"), (20_000,)),
    "u1": (rng.integers(0, 4, 70_000).astype("u1"), (70_000,)),
    "rand": (rng.integers(0, 2**31, 120_000).astype("<i4"), (60_000,)),
    "pca": (rng.standard_normal((30_000, 12)).astype("<f4"), (8_000, 5)),
    # 2-byte elements (int16, uint16): their own SIMD unshuffle; an odd chunk length.
    "i2": (rng.integers(-30_000, 30_000, 90_001).astype("<i2"), (40_003,)),
    "u2": (rng.integers(0, 65_535, 50_000).astype("<u2"), (50_000,)),
}
g = zarr.open_group(f"{d}/t.zarr", mode="w")
names = []
for cname in ["lz4", "blosclz", "zlib", "zstd"]:
    for shuffle in [0, 1, 2]:
        for key, (a, chunks) in arrays.items():
            name = f"{key}_{cname}_{shuffle}"
            g.create_dataset(name, data=a, chunks=chunks,
                             compressor=Blosc(cname=cname, clevel=5, shuffle=shuffle))
            np.save(f"{d}/{key}.npy", a)
            names.append(name)
json.dump(names, open(f"{d}/names.json", "w"))
`;

async function expected(dir: string, key: string): Promise<Uint8Array> {
  // The .npy payload: after the header, whose length is at bytes 8..10.
  const b = await Deno.readFile(`${dir}/${key}.npy`);
  const header = b[8] | (b[9] << 8);
  return b.subarray(10 + header);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

Deno.test({
  name: "blosc zarr arrays of every codec and shuffle read back numpy's bytes, whole and by rows",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const names: string[] = JSON.parse(await Deno.readTextFile(`${dir}/names.json`));
    assertEquals(names.length, 84);
    const source = localZarr(`${dir}/t.zarr`);
    const store = openZarr(source, "t.zarr");
    for (const name of names) {
      const key = name.split("_")[0];
      const want = await expected(dir, key);
      const whole = await store.read(name);
      assert(whole.kind === "number", name);
      sameBytes(bytesOf(whole.data), want, `${name} whole`);
      const arr = await zarrRangeArray(source, name, "t.zarr");
      const rowBytes = want.length / arr.shape[0];
      const ranges: [number, number][] = [[1, 5], [arr.shape[0] - 9_001, arr.shape[0] - 3]];
      const part = bytesOf(await arr.readRanges(ranges));
      const cut = ranges.map(([s, e]) => want.subarray(s * rowBytes, e * rowBytes));
      sameBytes(part, new Uint8Array(cut.flatMap((c) => [...c])), `${name} rows`);
      // Scattered rows across every chunk (1-D: picked out on the workers).
      let x = name.length;
      const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const scattered: [number, number][] = [];
      for (let r = Math.floor(rand() * 9); r < arr.shape[0];) {
        const len = 1 + Math.floor(rand() * 20);
        scattered.push([r, Math.min(arr.shape[0], r + len)]);
        r += len + 1 + Math.floor(rand() * 3_000);
      }
      const got = bytesOf(await arr.readRanges(scattered));
      const wantRows = new Uint8Array(got.length);
      let o = 0;
      for (const [s, e] of scattered) {
        wantRows.set(want.subarray(s * rowBytes, e * rowBytes), o);
        o += (e - s) * rowBytes;
      }
      sameBytes(got, wantRows, `${name} scattered rows`);
      // The same rows as spans (starts and ends apart, no pair per range).
      const st = Float64Array.from(scattered, (r) => r[0]);
      const en = Float64Array.from(scattered, (r) => r[1]);
      sameBytes(bytesOf(await arr.readSpans!(st, en, st.length)), wantRows, `${name} spans`);
    }
  },
});

Deno.test({
  name:
    "decodeBlosc decodes LZ4, BloscLZ, zlib and zstd chunks and leaves bit shuffle to numcodecs",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const chunk = (name: string) => Deno.readFile(`${dir}/t.zarr/${name}/0`);
    for (const cname of ["lz4", "blosclz", "zlib"]) {
      for (const shuffle of [0, 1]) {
        const c = await chunk(`f4_${cname}_${shuffle}`);
        assert(bloscDecodable(c), `${cname} ${shuffle}`);
        const want = (await expected(dir, "f4")).subarray(0, 400_000);
        assertEquals(decodeBlosc(c, 400_000), want, `${cname} shuffle ${shuffle}`);
      }
    }
    // zstd streams: by the WebAssembly decoder (zstd_frame.c).
    const zstd = decodeBlosc(await chunk("f4_zstd_1"), 400_000);
    assert(zstd !== null, "zstd decoded");
    assert(zstd.length === 400_000, "zstd size");
    const want = (await expected(dir, "f4")).subarray(0, 400_000);
    assertEquals(zstd.findIndex((v, i) => v !== want[i]), -1, "zstd bytes");
    assert(decodeBlosc(await chunk("f4_lz4_2"), 400_000) === null, "bit shuffle: numcodecs'");
  },
});

Deno.test({
  name:
    "damaged blosc chunks (bad LZ4 or zstd data, a short header, sizes past the cap) are CorruptFileError",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const c = await Deno.readFile(`${dir}/t.zarr/f4_lz4_1/0`);
    // A claim beyond the chunk's declared size: refused before allocating.
    assertRejectsSync(() => decodeBlosc(c, 1000), "beyond its declared size");
    assertRejectsSync(() => decodeBlosc(c.subarray(0, 10), 400_000), "shorter than its header");
    assertRejectsSync(() => decodeBlosc(c.subarray(0, c.length - 5), 400_000), "it says it is");
    // The first LZ4 sequence of a compressed split of block 0 made to refer
    // before the block's start (a changed literal cannot be told: blosc
    // has no checksum).
    const broken = c.slice();
    const bv = new DataView(broken.buffer);
    const neblock = bv.getUint32(8, true) / broken[3];
    let at = bv.getInt32(16, true);
    while (bv.getInt32(at, true) === neblock) at += 4 + neblock;
    broken.set([0x0f, 0xff, 0xff], at + 4);
    assertRejectsSync(() => decodeBlosc(broken, 400_000), "damaged");
    // A zstd stream of a blosc zstd chunk damaged (its first block's frame
    // header's magic): refused by the WebAssembly zstd decoder.
    const z = (await Deno.readFile(`${dir}/t.zarr/f4_zstd_1/0`)).slice();
    const zv = new DataView(z.buffer);
    let zat = zv.getInt32(16, true);
    while (zv.getInt32(zat, true) === zv.getUint32(8, true) / z[3]) {
      zat += 4 + zv.getUint32(8, true) / z[3];
    }
    z[zat + 4] ^= 0xff;
    assertRejectsSync(() => decodeBlosc(z, 400_000), "not a valid zstd stream");
    // A block offset past the end.
    const offset = c.slice();
    new DataView(offset.buffer).setUint32(16, c.length + 7, true);
    assertRejectsSync(() => decodeBlosc(offset, 400_000), "block 0 starts at");
    // The same in a store: read on the worker pool, named in the error.
    const bad = c.slice();
    const v = new DataView(bad.buffer);
    v.setInt32(v.getInt32(16, true), 1 << 24, true);
    assertRejectsSync(() => decodeBlosc(bad, 400_000), "claims");
    await Deno.writeFile(`${dir}/t.zarr/f4_lz4_1/1`, bad);
    const store = openZarr(localZarr(`${dir}/t.zarr`), "t.zarr");
    const e = await assertRejects(() => store.read("f4_lz4_1"), CorruptFileError);
    assert(e.message.includes("t.zarr") && e.message.includes("f4_lz4_1"), e.message);
    // A chunk whose header claims more than its chunks hold.
    const big = c.slice();
    new DataView(big.buffer).setUint32(4, 1 << 30, true);
    await Deno.writeFile(`${dir}/t.zarr/f4_lz4_1/1`, big);
    await assertRejects(() => store.read("f4_lz4_1"), CorruptFileError, /beyond/);
    // Scattered rows (each chunk's rows picked where it is decoded): the same checks, the
    // element and the chunk named.
    const rows = await zarrRangeArray(localZarr(`${dir}/t.zarr`), "f4_lz4_1", "t.zarr");
    const scattered: [number, number][] = [[1, 5], [150_000, 150_010], [250_000, 250_001]];
    const e2 = await assertRejects(() => rows.readRanges(scattered), CorruptFileError, /beyond/);
    assert(/t\.zarr.*f4_lz4_1, chunk 1/.test(e2.message), e2.message);
    await Deno.writeFile(`${dir}/t.zarr/f4_lz4_1/1`, bad);
    await assertRejects(() => rows.readRanges(scattered), CorruptFileError, /chunk 1/);
  },
});

Deno.test("vlen-utf8 chunks decode ASCII and UTF-8 strings and reject counts past the end", () => {
  const enc = new TextEncoder();
  const pack = (strs: string[]) => {
    const parts = strs.map((s) => enc.encode(s));
    const out = new Uint8Array(4 + parts.reduce((n, p) => n + 4 + p.length, 0));
    const v = new DataView(out.buffer);
    v.setUint32(0, strs.length, true);
    let pos = 4;
    for (const p of parts) {
      v.setUint32(pos, p.length, true);
      out.set(p, pos + 4);
      pos += 4 + p.length;
    }
    return out;
  };
  const ascii = Array.from({ length: 300 }, (_, i) => `cell-${"x".repeat(i % 200)}${i}`);
  assertEquals(decodeVLenUTF8(pack(ascii)), ascii);
  const utf8 = ["héllo", "", "日本", "a"];
  assertEquals(decodeVLenUTF8(pack(utf8)), utf8);
  const b = pack(utf8);
  new DataView(b.buffer).setUint32(4, 1000, true);
  assertRejectsSync(() => decodeVLenUTF8(b), "runs past the chunk");
  new DataView(b.buffer).setUint32(0, 1 << 30, true);
  assertRejectsSync(() => decodeVLenUTF8(b), "claims");
});

function assertRejectsSync(f: () => unknown, includes: string): void {
  let err: Error | undefined;
  try {
    f();
  } catch (e) {
    err = e as Error;
  }
  assert(err, `expected an error containing "${includes}"`);
  assert(err.message.includes(includes), err.message);
}

Deno.test({
  name: "chunk files read by the decoding workers: counted, missing ones filled, odd ones refused",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const z = `${dir}/t.zarr`;
    const want = await expected(dir, "f4");
    let read = 0;
    const source = { ...localZarr(z), counted: (n: number) => void (read += n) };
    const arr = await zarrRangeArray(source, "f4_lz4_1", "t.zarr");
    const rows: [number, number][] = [[3, 9], [123_456, 123_470], [399_990, 400_003]];
    const cut = (ranges: [number, number][], from = want) =>
      new Uint8Array(ranges.flatMap(([s, e]) => [...from.subarray(4 * s, 4 * e)]));
    assertEquals(bytesOf(await arr.readRanges(rows)), cut(rows));
    // Every byte the workers read is counted: the four chunk files touched.
    let files = 0;
    for (const c of [0, 1, 3, 4]) files += (await Deno.stat(`${z}/f4_lz4_1/${c}`)).size;
    assertEquals(read, files);
    // One long range: decoded by one worker straight into the result
    // (moved there and back), from mid-chunk to mid-chunk; counted the same.
    const long: [number, number][] = [[5, 399_001]];
    read = 0;
    sameBytes(bytesOf(await arr.readRanges(long)), cut(long), "one long range");
    let four = 0;
    for (const c of [0, 1, 2, 3]) four += (await Deno.stat(`${z}/f4_lz4_1/${c}`)).size;
    assertEquals(read, four);
    // Many short ranges making a megabyte: picked on one worker into the result.
    const many = Array.from({ length: 133_000 }, (_, i): [number, number] => [3 * i, 3 * i + 2]);
    sameBytes(bytesOf(await arr.readRanges(many)), cut(many), "many ranges");
    const [st, en] = [0, 1].map((i) => Float64Array.from(many, (r) => r[i]));
    sameBytes(bytesOf(await arr.readSpans!(st, en, many.length)), cut(many), "many spans");
    await assertRejects(
      () => arr.readSpans!(Float64Array.of(5, 9), Float64Array.of(7, 400_004), 2),
      CorruptFileError,
      /rows 9\.\.400004 of \/f4_lz4_1 are asked, it has 400003/,
    );
    // Spans out of order (the chunks' blocks would overlap): refused, not read wrong.
    await assertRejects(
      () => arr.readSpans!(Float64Array.of(0, 100, 5), Float64Array.of(5, 105, 10), 3),
      CorruptFileError,
      /rows 5\.\.10 of \/f4_lz4_1/,
    );
    // A chunk file never written: zarr's fill value (0), as zarrita reads it.
    await Deno.remove(`${z}/f4_lz4_1/1`);
    const zeros = new Uint8Array(want.length);
    zeros.set(want.subarray(0, 400_000));
    zeros.set(want.subarray(800_000), 800_000);
    assertEquals(bytesOf(await arr.readRanges(rows)), cut(rows, zeros));
    sameBytes(
      bytesOf(await arr.readRanges(long)),
      cut(long, zeros),
      "a long range, a chunk missing",
    );
    sameBytes(bytesOf(await arr.readRanges(many)), cut(many, zeros), "many, a chunk missing");
    // A file larger than any chunk of the array can be: refused before it is read.
    await Deno.writeFile(`${z}/f4_lz4_1/1`, new Uint8Array(600_000));
    const e = await assertRejects(() => arr.readRanges(rows), CorruptFileError, /more than/);
    assert(e.message.includes("f4_lz4_1, chunk 1"), e.message);
    const e1 = await assertRejects(() => arr.readRanges(long), CorruptFileError, /more than/);
    assert(e1.message.includes("t.zarr") && e1.message.includes("f4_lz4_1/1"), e1.message);
    // A folder where a chunk file should be: a StorageError, not a silent fill.
    await Deno.remove(`${z}/f4_lz4_1/1`);
    await Deno.mkdir(`${z}/f4_lz4_1/1`);
    await assertRejects(() => arr.readRanges(rows), StorageError, /could not read/);
    await assertRejects(() => arr.readRanges(long), StorageError, /could not read/);
    // Chunks of codecs the wasm decoder leaves (zstd): decoded by numcodecs on
    // the workers, their files counted as the others'.
    // (A counter of its own: the reads refused above may still be counting.)
    let zread = 0;
    const zsource = { ...localZarr(z), counted: (n: number) => void (zread += n) };
    const zstd = await zarrRangeArray(zsource, "f4_zstd_1", "t.zarr");
    assertEquals(bytesOf(await zstd.readRanges(rows)), cut(rows));
    let zfiles = 0;
    for (const c of [0, 1, 3, 4]) zfiles += (await Deno.stat(`${z}/f4_zstd_1/${c}`)).size;
    // Of chunks of several blosc blocks, the workers read the blocks the rows lie in alone.
    assert(zread > 0 && zread < zfiles, `${zread} of ${zfiles} bytes counted`);
    sameBytes(bytesOf(await zstd.readRanges(long)), cut(long), "zstd, one long range");
    sameBytes(bytesOf(await zstd.readRanges(many)), cut(many), "zstd, many ranges");
    // A zstd chunk cut short (its header checked where it is decoded): a
    // CorruptFileError naming it, by either path. (Damage inside its blocks
    // may decode to garbage of the right size: blosc has no checksum.)
    const zc = `${z}/f4_zstd_1/2`, zb = await Deno.readFile(zc);
    await Deno.writeFile(zc, zb.subarray(0, zb.length - 100));
    const ez = await assertRejects(() => zstd.readRanges(long), CorruptFileError);
    assert(ez.message.includes("f4_zstd_1"), ez.message);
    await assertRejects(() => zstd.readRanges([[200_005, 200_010]]), CorruptFileError);
  },
});

// 2-D arrays (obsm): rows picked on the workers from each chunk of rows and
// columns, for both key separators, 4- and 8-byte elements, a column chunk
// wider than the array, chunks never written (zarr's fill value), and
// Fortran order (read through zarrita: its chunks are not rows).
const WRITE_2D = `
import sys, json, zarr, numpy as np
from numcodecs import Blosc
d = sys.argv[1]
rng = np.random.default_rng(5)
b = Blosc(cname="lz4", clevel=5, shuffle=1)
arrays = {
    "dot": (rng.standard_normal((20_011, 9)).astype("<f4"), (3_000, 4), ".", "C"),
    "slash": (rng.standard_normal((20_011, 9)).astype("<f4"), (3_000, 4), "/", "C"),
    "i8": (rng.integers(-2**40, 2**40, (9_001, 3)).astype("<i8"), (1_000, 2), ".", "C"),
    "wide": (rng.standard_normal((7_000, 3)).astype("<f4"), (2_500, 8), ".", "C"),
    "fill": (rng.standard_normal((7_000, 5)).astype("<f4"), (1_000, 2), ".", "C"),
    "fort": (rng.standard_normal((7_000, 5)).astype("<f4"), (1_000, 2), ".", "F"),
    # A megabyte and more: decoded on one worker straight into the result.
    "big": (rng.standard_normal((40_003, 9)).astype("<f4"), (3_000, 4), ".", "C"),
    "bigwide": (rng.standard_normal((100_000, 3)).astype("<f4"), (25_000, 8), "/", "C"),
    "bigi8": (rng.integers(-2**40, 2**40, (30_001, 5)).astype("<i8"), (4_000, 2), ".", "C"),
}
g = zarr.open_group(f"{d}/m.zarr", mode="w")
for name, (a, chunks, sep, order) in arrays.items():
    z = g.create_dataset(name, shape=a.shape, dtype=a.dtype, chunks=chunks, compressor=b,
                         dimension_separator=sep, order=order, fill_value=0)
    z[:] = a
    np.save(f"{d}/{name}.npy", a)
json.dump(list(arrays), open(f"{d}/names.json", "w"))
`;

/** Equal bytes, or an error naming the first difference (no diff of a megabyte). */
function sameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  const k = got.findIndex((v, i) => v !== want[i]);
  assertEquals(k, -1, `${what}: first difference at byte ${k}`);
}

Deno.test({
  name: "2-D blosc zarr arrays by rows: each chunk's rows picked where it is decoded",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE_2D, dir);
    const z = `${dir}/m.zarr`;
    // Chunk (2, 1) of "fill" never written: its values are the fill value; "big" too.
    await Deno.remove(`${z}/fill/2.1`);
    await Deno.remove(`${z}/big/3.1`);
    const names: string[] = JSON.parse(await Deno.readTextFile(`${dir}/names.json`));
    for (const name of names) {
      let want = await expected(dir, name);
      const arr = await zarrRangeArray(localZarr(z), name, "m.zarr");
      const [n, cols] = arr.shape;
      const rowBytes = want.length / n, bpe = rowBytes / cols;
      if (name === "fill") {
        want = want.slice();
        for (let r = 2_000; r < 3_000; r++) {
          want.fill(0, r * rowBytes + 2 * bpe, r * rowBytes + 4 * bpe);
        }
      }
      if (name === "big") {
        want = want.slice();
        for (let r = 9_000; r < 12_000; r++) {
          want.fill(0, r * rowBytes + 4 * bpe, r * rowBytes + 8 * bpe);
        }
      }
      let x = name.length;
      const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const scattered: [number, number][] = [];
      for (let r = Math.floor(rand() * 5); r < n;) {
        const len = 1 + Math.floor(rand() * 30);
        scattered.push([r, Math.min(n, r + len)]);
        r += len + 1 + Math.floor(rand() * 700);
      }
      const half = Array.from({ length: Math.floor(n / 2) }, (_, i) => [2 * i, 2 * i + 1]);
      for (const ranges of [[[0, n]], [[n - 1, n]], [[5, 6], [999, 1_001]], scattered, half]) {
        const got = bytesOf(await arr.readRanges(ranges as [number, number][]));
        const rows = new Uint8Array(got.length);
        let o = 0;
        for (const [s, e] of ranges) {
          rows.set(want.subarray(s * rowBytes, e * rowBytes), o);
          o += (e - s) * rowBytes;
        }
        sameBytes(got, rows, `${name}: ${ranges.length} ranges`);
      }
    }
    // A small scattered read: its chunks go to the workers in groups of up
    // to 8, a message each (not one per chunk).
    const dot = await zarrRangeArray(localZarr(z), "dot", "m.zarr");
    const before = { ...intoGroups };
    const few: [number, number][] = Array.from({ length: 7 }, (_, c) => [c * 3_000, c * 3_000 + 2]);
    assertEquals(bytesOf(await dot.readRanges(few)).length, 14 * 9 * 4);
    assertEquals(intoGroups.reads - before.reads, 1, "one grouped read");
    assertEquals(intoGroups.groups - before.groups, 3, "21 chunks (7 x 3) in 3 groups");
    // A damaged chunk: a CorruptFileError naming the array and the chunk.
    const path = `${z}/slash/1/2`;
    const b = await Deno.readFile(path);
    await Deno.writeFile(path, b.subarray(0, b.length - 40));
    const arr = await zarrRangeArray(localZarr(z), "slash", "m.zarr");
    const e = await assertRejects(() => arr.readRanges([[3_100, 3_200]]), CorruptFileError);
    assert(e.message.includes("slash, chunk 1.2"), e.message);
    // The same in a read decoded into the result on one worker.
    const bigChunk = `${z}/big/1.2`;
    const c = await Deno.readFile(bigChunk);
    await Deno.writeFile(bigChunk, c.subarray(0, c.length - 40));
    const big = await zarrRangeArray(localZarr(z), "big", "m.zarr");
    const e2 = await assertRejects(() => big.readRanges([[0, 40_003]]), CorruptFileError);
    assert(e2.message.includes("/big, chunk 1.2"), e2.message);
  },
});
