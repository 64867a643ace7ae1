// Rows of chunked datasets some of whose chunks were never written: those
// rows read as zeros (HDF5's fill value), also when the chunks around them
// lie a small gap apart in the file (read as one window).
import { assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { ds } from "./_ds.ts";

const py = needsPython("HDF5 rows", "h5py", "numpy");

Deno.test({
  name:
    "rows of never-written chunks read as zeros, when their neighbours in the file hold other data in between",
  ...py,
  async fn() {
    const dir = await tempDir();
    // Chunks of a and b written alternately (so b's chunk lies between a's
    // chunks 0 and 2 in the file); a's chunk 1 is never written.
    await python(
      `import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    a = f.create_dataset("a", shape=(5000,), dtype="i4", chunks=(1000,))
    b = f.create_dataset("b", shape=(5000,), dtype="i4", chunks=(1000,))
    for q in [0, 2, 3, 4]:
        a[q * 1000:(q + 1) * 1000] = np.arange(q * 1000, (q + 1) * 1000) + 1
        f.flush()
        b[q * 1000:(q + 1) * 1000] = -7
        f.flush()
    assert a.id.get_chunk_info(0).byte_offset + 4000 < b.id.get_chunk_info(0).byte_offset + 1
    assert b.id.get_chunk_info(0).byte_offset < a.id.get_chunk_info(1).byte_offset`,
      `${dir}/h.h5`,
    );
    const src = fileBytes(`${dir}/h.h5`);
    try {
      const f = await H5File.open(src, "h.h5");
      const a = await ds(f, "a");
      const want = (s: number, e: number) =>
        Array.from({ length: e - s }, (_, k) => (s + k >= 1000 && s + k < 2000 ? 0 : s + k + 1));
      const spans: [number, number][][] = [
        [[990, 2010]],
        [[995, 1000], [1500, 1510], [2000, 2005]],
        [[0, 5000]],
      ];
      for (const ranges of spans) {
        const expect = ranges.flatMap(([s, e]) => want(s, e));
        const byRanges = await a.readRanges(ranges);
        assertEquals(Array.from(byRanges.data as Int32Array), expect, `ranges ${ranges}`);
        const bySpans = await a.readSpans(
          Float64Array.from(ranges, (r) => r[0]),
          Float64Array.from(ranges, (r) => r[1]),
          ranges.length,
        );
        assertEquals(Array.from(bySpans.data as Int32Array), expect, `spans ${ranges}`);
      }
    } finally {
      src.close();
    }
  },
});
