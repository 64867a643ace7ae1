// Global heap collections of a remote file read together (HeapCache.getAll).
import { assertEquals, assertRejects } from "../../_helpers.ts";
import { HeapCache } from "../../../src/formats/hdf5/_heap_cache.ts";
import type { ByteReader } from "../../../src/formats/hdf5/_bytes_io.ts";
import { CorruptFileError } from "../../../mod.ts";

/** A collection of `size` bytes at `at` of `file` holding one object: `text`. */
function collection(file: Uint8Array, at: number, size: number, text: string): void {
  const v = new DataView(file.buffer);
  file.set(new TextEncoder().encode("GCOL"), at);
  file[at + 4] = 1;
  v.setUint32(at + 8, size, true);
  const data = new TextEncoder().encode(text);
  v.setUint16(at + 16, 1, true); // object 1
  v.setUint32(at + 24, data.length, true);
  file.set(data, at + 32);
}

Deno.test("HeapCache.getAll reads missing collections in one batch, large ones again whole", async () => {
  const file = new Uint8Array(600_000);
  collection(file, 0, 4096, "first");
  collection(file, 4096, 200_000, "large"); // beyond the 64 KiB read with each
  collection(file, 300_000, 65_536, "last");
  const log: [number, number][] = [];
  const src: ByteReader = {
    size: () => Promise.resolve(file.length),
    read(offset, length) {
      log.push([offset, length]);
      return Promise.resolve(file.slice(offset, offset + length));
    },
  };
  const heaps = new HeapCache(src, "t", () => file.length);
  const batches: number[] = [];
  heaps.readTogether((pieces) => {
    batches.push(pieces.length);
    for (const p of pieces) p.target.set(file.subarray(p.offset, p.offset + p.length));
    return Promise.resolve();
  });
  const text = (c: { bytes: Uint8Array; offsets: Float64Array; sizes: Float64Array }) =>
    new TextDecoder().decode(c.bytes.subarray(c.offsets[1], c.offsets[1] + c.sizes[1]));
  const got = await heaps.getAll([0, 4096, 300_000, 0]);
  assertEquals(got.map(text), ["first", "large", "last", "first"]);
  assertEquals(batches, [3]);
  assertEquals(log, [[4096, 200_000]]); // only the large one read again, whole
  // Kept: asked again, nothing is read.
  assertEquals((await heaps.getAll([0, 300_000])).map(text), ["first", "last"]);
  assertEquals(batches, [3]);
  // No collection there: a CorruptFileError, and nothing kept for it.
  await assertRejects(() => heaps.getAll([500_000, 510_000]), CorruptFileError);
  await assertRejects(() => heaps.getAll([500_000, 510_000]), CorruptFileError);
  assertEquals(batches, [3, 2, 2]);
  await assertRejects(() => heaps.getAll([599_990, 0]), CorruptFileError, /outside the file/);
});
