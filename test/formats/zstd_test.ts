// zstd frames as zarr stores them: the frame header's declared size read
// and checked against the chunk's before anything is decoded (every field
// width, reserved bits, the wrong magic, claims past the cap), frames
// decoded to their declared size, and damaged ones a CorruptFileError; zarr
// v3 arrays of zstd chunks read by rows on the worker pool, equal to the
// values written, a damaged chunk named.
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { decodeZstd, zstdContentSize } from "../../src/formats/_zstd.ts";
import { zarrRangeArray } from "../../src/formats/anndata/_zarr_ranges.ts";
import { localZarr } from "../../src/formats/anndata/_zarr_store.ts";
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
    // A damaged chunk (cut short): a CorruptFileError naming the array and chunk.
    const f = `${dir}/s.zarr/v/c/5`;
    const b = await Deno.readFile(f);
    await Deno.writeFile(f, b.subarray(0, b.length - 30));
    const e = await assertRejects(() => vec.readRanges([[5_050, 5_060]]), CorruptFileError);
    assert(e.message.includes("/v") && e.message.includes("chunk 5"), e.message);
  },
});
