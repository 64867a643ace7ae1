// Variable-length strings (global heap collections) read by our HDF5 reader:
// any subset of rows decodes to the same strings as the whole dataset, from
// a local file (collections read into a reused buffer) or a remote one
// (collections read whole and kept); damaged references are CorruptFileError.
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { type ByteReader, fileBytes, H5Dataset, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { CorruptFileError } from "../../../mod.ts";
import { ds } from "./_ds.ts";

const py = needsPython("HDF5 strings", "h5py", "numpy");

// 60,000 names written 20,000 at a time (h5py puts each write's strings in
// collections of their own, as anndata's obs names), of every kind: ASCII,
// UTF-8, empty, longer than 32 bytes; and 3,000 in a contiguous dataset.
const WRITE = `
import sys, json, h5py, numpy as np
d = sys.argv[1]
def name(i):
    if i % 11 == 0: return ""
    if i % 7 == 0: return f"zellé_{i} 🧬"
    if i % 13 == 0: return "x" * 40 + str(i)
    if i % 17 == 0: return f"AAACCTGAGAAACC-{i}"
    return f"cell_{i}"
names = [name(i) for i in range(60_000)]
with h5py.File(f"{d}/s.h5", "w") as f:
    ds = f.create_dataset("names", (60_000,), dtype=h5py.string_dtype(), chunks=(20_000,))
    for s in range(0, 60_000, 20_000):
        ds[s:s + 20_000] = np.array(names[s:s + 20_000], dtype=object)
    c = f.create_dataset("contig", data=np.array(names[:3000], dtype=object), dtype=h5py.string_dtype())
    offset = c.id.get_offset()
print(json.dumps({"names": names, "contig": offset}))
`;

async function written(): Promise<{ path: string; names: string[]; contig: number }> {
  const dir = await tempDir();
  const out = JSON.parse(await python(WRITE, dir));
  return { path: `${dir}/s.h5`, ...out };
}

/** A reader of `path` without synchronous reads (as a remote store), counting bytes. */
function remote(path: string): ByteReader & { stats: { bytesRead: number }; close(): void } {
  const f = fileBytes(path);
  return { size: () => f.size(), read: (o, l) => f.read(o, l), stats: f.stats, close: f.close };
}

/** Strings of `rows` (ascending) as the store reads a selection: by spans of consecutive rows. */
async function readRows(d: H5Dataset, rows: number[]): Promise<string[]> {
  const starts: number[] = [], ends: number[] = [];
  for (const r of rows) {
    if (ends.length && ends[ends.length - 1] === r) ends[ends.length - 1]++;
    else {
      starts.push(r);
      ends.push(r + 1);
    }
  }
  const v = await d.readSpans(
    Float64Array.from(starts),
    Float64Array.from(ends),
    starts.length,
  );
  assert(v.kind === "string");
  return v.data;
}

Deno.test({
  name:
    "random subsets of string heap collections decode to the same strings as the whole dataset, local or remote",
  ...py,
  async fn() {
    const { path, names } = await written();
    let seed = 11;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (const kind of ["local", "remote"]) {
      const src = kind === "local" ? fileBytes(path) : remote(path);
      try {
        const f = await H5File.open(src, "s.h5");
        const d = await ds(f, "names");
        const whole = await d.read();
        assertEquals(whole.data, names, `${kind}: whole`);
        for (let t = 0; t < 40; t++) {
          // Densities from a few rows to nearly all, in runs or scattered.
          const p = [0.0005, 0.01, 0.1, 0.5, 0.95][t % 5], run = t % 2 ? 1 : 40;
          const rows: number[] = [];
          for (let r = Math.floor(rand() * 100); r < names.length; r++) {
            if (rand() < p) { for (let k = 0; k < run && r < names.length; k++) rows.push(r++); }
          }
          const got = await readRows(d, rows);
          const want = rows.map((r) => names[r]);
          const bad = want.findIndex((s, i) => got[i] !== s);
          assertEquals([got.length, bad], [want.length, -1], `${kind}: selection ${t}`);
        }
      } finally {
        src.close();
      }
    }
  },
});

Deno.test({
  name:
    "reading a dataset's strings in consecutive slices reads each string heap about once (the boundary ones are kept)",
  ...py,
  async fn() {
    const { path, names } = await written();
    const rows = names.map((_, i) => i).filter((i) => i % 10 === 3);
    const src = fileBytes(path);
    try {
      const f = await H5File.open(src, "s.h5");
      const d = await ds(f, "names");
      await d.chunkIndex();
      let before = src.stats.bytesRead;
      await readRows(d, rows);
      const once = src.stats.bytesRead - before;
      const f2 = await H5File.open(src, "s.h5");
      const d2 = await ds(f2, "names");
      await d2.chunkIndex();
      before = src.stats.bytesRead;
      const got: string[] = [];
      for (let s = 0; s < rows.length; s += 250) {
        got.push(...await readRows(d2, rows.slice(s, s + 250)));
      }
      const sliced = src.stats.bytesRead - before;
      assertEquals(got, rows.map((r) => names[r]));
      assert(sliced < 1.3 * once, `24 slices read ${sliced} bytes, one read ${once}`);
    } finally {
      src.close();
    }
  },
});

Deno.test({
  name:
    "a string reference to a heap outside the file, to no heap, or to an object the heap lacks is a CorruptFileError",
  ...py,
  async fn() {
    const { path, contig } = await written();
    const bytes = await Deno.readFile(path);
    const dir = await tempDir();
    // Reference 5 of /contig: length (u32), heap address (u64), object index (u32).
    const at = contig + 5 * 16;
    const patches: [string, (v: DataView) => void, RegExp][] = [
      [
        "heap past the end",
        (v) => v.setBigUint64(at + 4, BigInt(bytes.length + 4096), true),
        /outside the file/,
      ],
      ["heap at the superblock", (v) => v.setBigUint64(at + 4, 0n, true), /s\.h5/],
      [
        "heap in the middle of data",
        (v) => v.setBigUint64(at + 4, BigInt(contig + 8), true),
        /s\.h5/,
      ],
      ["object index absent", (v) => v.setUint32(at + 12, 60_000, true), /missing from its heap/],
      ["length beyond the object", (v) => v.setUint32(at, 1 << 20, true), /claims/],
    ];
    for (const [what, patch, re] of patches) {
      const damaged = bytes.slice();
      patch(new DataView(damaged.buffer));
      await Deno.writeFile(`${dir}/bad.h5`, damaged);
      for (const kind of ["local", "remote"]) {
        const src = kind === "local" ? fileBytes(`${dir}/bad.h5`) : remote(`${dir}/bad.h5`);
        try {
          const f = await H5File.open(src, "s.h5");
          const d = await ds(f, "contig");
          await assertRejects(() => d.read(), CorruptFileError, re);
          // Rows without the damaged reference still read.
          assertEquals((await readRows(d, [1, 2, 3])).length, 3, `${what} (${kind})`);
          await assertRejects(() => readRows(d, [4, 5, 6]), CorruptFileError, re);
        } finally {
          src.close();
        }
      }
    }
  },
});
