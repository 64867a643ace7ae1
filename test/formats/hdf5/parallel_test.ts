// Chunks undone on the worker pool (reads of over 1 MiB of compressed
// chunks): the bytes equal numpy's, and a damaged chunk is a CorruptFileError.
import { assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes } from "../../../src/formats/hdf5/h5file.ts";
import { openH5Range } from "../../../src/formats/hdf5/store.ts";
import { CorruptFileError } from "../../../mod.ts";
import { ds } from "./_ds.ts";

const py = needsPython("HDF5 reading", "h5py", "numpy");

const WRITE = `
import sys, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
big = rng.random(1_000_000).astype("f4")
pca = rng.standard_normal((60_000, 50)).astype("f4")
with h5py.File(f"{d}/t.h5", "w") as f:
    f.create_dataset("gzip", data=big, chunks=(20_000,), compression="gzip")
    f.create_dataset("shuffled", data=big, chunks=(30_000,), compression="gzip", shuffle=True)
    f.create_dataset("lzf", data=big, chunks=(25_000,), compression="lzf")
    f.create_dataset("lzf_shuffled", data=big, chunks=(25_000,), compression="lzf", shuffle=True)
    f.create_dataset("pca", data=pca, chunks=(4_000, 8), compression="gzip")
    f.create_dataset("damaged", data=big, chunks=(20_000,), compression="gzip")
    info = f["damaged"].id.get_chunk_info(25)
open(f"{d}/big.bin", "wb").write(big.tobytes())
open(f"{d}/pca.bin", "wb").write(pca.tobytes())
# Overwrite the middle of chunk 25 of "damaged" with bytes that do not inflate.
with open(f"{d}/t.h5", "r+b") as fh:
    fh.seek(info.byte_offset + info.size // 2)
    fh.write(b"\\xff" * 64)
`;

Deno.test({
  name: "gzip and LZF chunks read in parallel on workers equal numpy's bytes, whole and by rows",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const src = fileBytes(`${dir}/t.h5`);
    try {
      const store = await openH5Range(src, "t.h5");
      const big = new Uint8Array(await Deno.readFile(`${dir}/big.bin`));
      const pca = new Uint8Array(await Deno.readFile(`${dir}/pca.bin`));
      const bytes = (v: { data: unknown }) => {
        const a = v.data as Float32Array;
        return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      };
      for (const name of ["gzip", "shuffled", "lzf", "lzf_shuffled"]) {
        assertEquals(bytes(await store.read(name)), big, name);
      }
      assertEquals(bytes(await store.read("pca")), pca, "pca (chunks split columns)");
      // Rows: a range inside one chunk, ranges across chunk boundaries.
      const f = store.file;
      const ranges: [number, number][] = [[5, 9], [19_990, 60_010], [999_000, 1_000_000]];
      const want = new Uint8Array(ranges.reduce((n, [s, e]) => n + (e - s) * 4, 0));
      let o = 0;
      for (const [s, e] of ranges) {
        want.set(big.subarray(s * 4, e * 4), o);
        o += (e - s) * 4;
      }
      assertEquals(bytes(await (await ds(f, "gzip")).readRanges(ranges)), want);
      const rowRanges: [number, number][] = [[3, 4100], [59_000, 60_000]];
      const pw = new Uint8Array(rowRanges.reduce((n, [s, e]) => n + (e - s) * 200, 0));
      o = 0;
      for (const [s, e] of rowRanges) {
        pw.set(pca.subarray(s * 200, e * 200), o);
        o += (e - s) * 200;
      }
      assertEquals(bytes(await (await ds(f, "pca")).readRanges(rowRanges)), pw);
      // Scattered rows touching every chunk (over 1 MiB compressed: the workers pick each
      // chunk's rows and send back only those), for several seeds.
      for (let seed = 1; seed <= 4; seed++) {
        let x = seed;
        const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const scattered: [number, number][] = [];
        for (let r = Math.floor(rand() * 50); r < 1_000_000;) {
          const len = 1 + Math.floor(rand() * (seed === 4 ? 30_000 : 40));
          scattered.push([r, Math.min(1_000_000, r + len)]);
          r += len + 1 + Math.floor(rand() * 5_000);
        }
        const w = new Uint8Array(scattered.reduce((n, [s, e]) => n + (e - s) * 4, 0));
        o = 0;
        for (const [s, e] of scattered) {
          w.set(big.subarray(s * 4, e * 4), o);
          o += (e - s) * 4;
        }
        // LZF: each chunk left in the decoder's memory while its rows are picked.
        for (const name of ["gzip", "shuffled", "lzf", "lzf_shuffled"]) {
          assertEquals(
            bytes(await (await ds(f, name)).readRanges(scattered)),
            w,
            `${name} ${seed}`,
          );
        }
      }
    } finally {
      src.close();
    }
  },
});

Deno.test({
  name: "a chunk that does not inflate, decoded on a worker, is a CorruptFileError naming it",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const src = fileBytes(`${dir}/t.h5`);
    try {
      const store = await openH5Range(src, "t.h5");
      await assertRejects(
        () => store.read("damaged"),
        CorruptFileError,
        /\/damaged.*(does not inflate|declared size)/,
      );
      // The pool still works after a failed read.
      assertEquals((await store.read("gzip")).data.length, 1_000_000);
    } finally {
      src.close();
    }
  },
});

Deno.test({
  name: "compressed chunks of a local file are read by the workers: each once, every byte counted",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    // The stored sizes of the chunks of "gzip" (h5py's chunk index).
    const sizes = JSON.parse(
      await python(
        `import sys, json, h5py
d = h5py.File(sys.argv[1] + "/t.h5", "r")["gzip"]
print(json.dumps([d.id.get_chunk_info(i).size for i in range(d.id.get_num_chunks())]))`,
        dir,
      ),
    ) as number[];
    const src = fileBytes(`${dir}/t.h5`);
    try {
      const store = await openH5Range(src, "t.h5");
      const d = await ds(store.file, "gzip");
      await d.readRanges([[0, 10]]); // metadata and the chunk index, read here
      const before = { ...src.stats };
      // Rows in chunks 1, 2 and 10-49 (chunks of 20,000 rows): over 1 MiB compressed.
      const got = await d.readRanges([[20_000, 20_001], [59_999, 60_000], [200_000, 1_000_000]]);
      assertEquals((got.data as Float32Array).length, 2 + 800_000);
      const want = sizes[1] + sizes[2] + sizes.slice(10).reduce((a, b) => a + b, 0);
      assertEquals(src.stats.bytesRead - before.bytesRead, want, "each touched chunk read once");
      assertEquals(src.stats.requests - before.requests, 2 + 40, "a read a chunk");
    } finally {
      src.close();
    }
  },
});
