// The HDF5 reader against damaged files: Fletcher32 checksums verified
// (files h5py wrote with fletcher32=True, then one byte flipped), chunk
// lookups at scale, and structures patched to loop.
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { fletcher32 } from "../../../src/formats/hdf5/_filters.ts";
import { assertReadable } from "../../../src/formats/hdf5/store.ts";
import { CorruptFileError } from "../../../mod.ts";
import { ds } from "./_ds.ts";

const py = needsPython("HDF5 integrity", "h5py", "numpy");

/** Bytes of `path` with byte `at` flipped, written to a new file. */
async function flipped(path: string, at: number, to: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  bytes[at] ^= 0xff;
  await Deno.writeFile(to, bytes);
  return to;
}

/** Whether h5py fails to read dataset `name` of `path` (it verifies checksums). */
async function h5pyRefuses(path: string, name: string): Promise<boolean> {
  const out = await python(
    `import sys, h5py
try:
    h5py.File(sys.argv[1], "r")[sys.argv[2]][...]
    print("read")
except OSError:
    print("refused")`,
    path,
    name,
  );
  return out.trim() === "refused";
}

const FLETCHER = `
import sys, json, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
data = {
    "plain": (rng.random(20_000).astype("f4"), (1000,), {}),
    "gzip": (rng.random(20_000).astype("f4"), (999,), {"compression": "gzip", "shuffle": True}),
    "lzf": ((np.arange(20_000) // 3).astype("i8"), (1001,), {"compression": "lzf"}),
    "odd": ((np.arange(1001) % 251).astype("u1"), (7,), {}),
    "d2": (np.arange(300 * 7, dtype="f8").reshape(300, 7), (16, 3), {}),
}
chunks = {}
with h5py.File(f"{d}/f.h5", "w") as f:
    for name, (a, c, kw) in data.items():
        x = f.create_dataset(name, data=a, chunks=c, fletcher32=True, **kw)
        info = x.id.get_chunk_info(5)
        chunks[name] = [info.byte_offset, info.size]
with h5py.File(f"{d}/f.h5", "r") as f:
    for name in data:
        open(f"{d}/{name}.bin", "wb").write(f[name][...].tobytes())
print(json.dumps(chunks))
`;

Deno.test({
  name:
    "fletcher32 datasets h5py wrote read equal to h5py's values; one flipped byte gives CorruptFileError naming the dataset",
  ...py,
  async fn() {
    const dir = await tempDir();
    const chunks: Record<string, [number, number]> = JSON.parse(await python(FLETCHER, dir));
    const path = `${dir}/f.h5`;
    const src = fileBytes(path);
    try {
      const f = await H5File.open(src, "f.h5");
      for (const name of Object.keys(chunks)) {
        const d = await ds(f, name);
        assertEquals(d.info.filters?.some((x) => x.id === 3), true, `${name} has fletcher32`);
        const raw = await d.readRows([[0, d.shape[0]]]);
        assertEquals(raw, await Deno.readFile(`${dir}/${name}.bin`), name);
      }
      // Row ranges read through the same verified chunks.
      const rows = await (await ds(f, "odd")).readRanges([[3, 40], [990, 1001]]);
      const want = [
        ...Array.from({ length: 37 }, (_, i) => 3 + i),
        ...Array.from(
          { length: 11 },
          (_, i) => (990 + i) % 251,
        ),
      ];
      assertEquals(Array.from(rows.data as Uint8Array), want);
    } finally {
      src.close();
    }

    // A byte of a chunk's data flipped (uncompressed, compressed, at the
    // checksum itself): h5py refuses the file, and so do we, naming it.
    const cases: [string, (c: [number, number]) => number][] = [
      ["plain", ([o, s]) => o + Math.floor(s / 2)],
      ["gzip", ([o, s]) => o + Math.floor(s / 3)],
      ["lzf", ([o]) => o + 1],
      ["odd", ([o, s]) => o + s - 5],
      ["d2", ([o, s]) => o + s - 1],
    ];
    for (const [name, at] of cases) {
      const bad = await flipped(path, at(chunks[name]), `${dir}/bad_${name}.h5`);
      assert(await h5pyRefuses(bad, name), `h5py refuses the damaged ${name}`);
      const s = fileBytes(bad);
      try {
        const f = await H5File.open(s, `bad_${name}.h5`);
        const d = await ds(f, name);
        await assertRejects(
          () => d.read(),
          CorruptFileError,
          new RegExp(`bad_${name}\\.h5.*/${name}.*Fletcher32`),
        );
        // Chunks other than the damaged one still read.
        const c0 = d.chunks![0];
        const first = await d.readRows([[0, c0]]);
        assertEquals(first, (await Deno.readFile(`${dir}/${name}.bin`)).subarray(0, first.length));
      } finally {
        s.close();
      }
    }
  },
});

Deno.test("fletcher32 follows HDF5's H5_checksum_fletcher32 (big-endian words, odd tail, 360-word folds)", () => {
  // Reference values computed by hand from the C algorithm.
  assertEquals(fletcher32(new Uint8Array([0x01, 0x02])), ((0x0102 << 16) | 0x0102) >>> 0);
  // Two words a, b: sum1 = a + b, sum2 = a + (a + b).
  assertEquals(fletcher32(new Uint8Array([0, 1, 0, 2])), ((4 << 16) | 3) >>> 0);
  // An odd last byte is the high byte of a word.
  assertEquals(fletcher32(new Uint8Array([0, 1, 0x05])), (((1 + 0x501) << 16) | 0x501) >>> 0);
  // Long runs of 0xff: folded without losing bits. 0xffff words sum to
  // multiples of 0xffff, which fold to 0xffff (never 0) for n > 0.
  const ones = new Uint8Array(2 * 10_000).fill(0xff);
  assertEquals(fletcher32(ones), 0xffffffff);
});

const MANY_CHUNKS = `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    a = np.arange(100_000, dtype="f4")
    f.create_dataset("u", data=a, chunks=(4,))
    f.create_dataset("z", data=a, chunks=(4,), compression="gzip")
    f.create_dataset("w", data=np.arange(5000 * 40, dtype="f4").reshape(5000, 40), chunks=(1, 8))
`;

Deno.test({
  name:
    "chunk lookups of a 25,000-chunk dataset visit each B-tree node at most once, and a few rows visit a few nodes",
  ...py,
  async fn() {
    const dir = await tempDir();
    const path = `${dir}/many.h5`;
    await python(MANY_CHUNKS, path);
    const src = fileBytes(path);
    try {
      const f = await H5File.open(src, "many.h5");
      // Two rows out of every five, over 99% of the rows: most chunks.
      const ranges: [number, number][] = [];
      for (let r = 0; r < 99_000; r += 5) ranges.push([r, r + 2]);
      const want = ranges.flatMap(([s]) => [s, s + 1]);
      for (const name of ["u", "z"]) {
        const before = { ...f.stats };
        const d = await ds(f, name);
        const got = Array.from((await d.readRanges(ranges, { gap: 0 })).data as Float32Array);
        assertEquals([got.length, got.findIndex((x, i) => x !== want[i])], [want.length, -1]);
        const nodes = f.stats.nodes - before.nodes, entries = f.stats.entries - before.entries;
        // 25,000 chunks in leaves of at most 64: some 400-800 nodes; a
        // lookup per chunk row against the whole index would examine
        // hundreds of millions of entries.
        assert(nodes <= 1000, `${name}: ${nodes} nodes visited`);
        assert(entries <= 2 * 25_000, `${name}: ${entries} entries examined`);
        // Asked again: nothing more to look up.
        const again = f.stats.nodes;
        await d.readRanges(ranges.slice(0, 100));
        assertEquals(f.stats.nodes, again, `${name}: no second walk`);
        const all = await d.chunkIndex();
        assertEquals(all.length, 25_000);
        assert(all.every((c, i) => c.offset[0] === 4 * i), `${name}: the index walk is in order`);
      }
      // 2-D, 5 chunks per row: the row's chunks are found in every leaf holding one.
      const w = await ds(f, "w");
      const wr: [number, number][] = [[0, 3], [1000, 1001], [2047, 2050], [4990, 5000]];
      const got = Array.from((await w.readRanges(wr)).data as Float32Array);
      const rows = wr.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i));
      assertEquals(got, rows.flatMap((r) => Array.from({ length: 40 }, (_, c) => r * 40 + c)));
    } finally {
      src.close();
    }

    // A few rows of a fresh file: a few nodes, a few KiB of metadata.
    const small = fileBytes(path);
    try {
      const f = await H5File.open(small, "many.h5");
      const d = await ds(f, "z");
      const bytes = small.stats.bytesRead;
      const v = await d.readRanges([[10, 12], [50_000, 50_001], [99_998, 100_000]]);
      assertEquals(Array.from(v.data as Float32Array), [10, 11, 50_000, 99_998, 99_999]);
      assert(f.stats.nodes <= 12, `${f.stats.nodes} nodes visited for 3 chunks`);
      const read = small.stats.bytesRead - bytes;
      assert(read < 64 * 1024, `${read} bytes read for 3 chunks of a 25,000-chunk dataset`);
      // Two reads of the same rows at once, both looking their chunks up: both right.
      const twice = await ds(await H5File.open(small, "many.h5"), "z");
      const rows: [number, number][] = [[3, 9], [400, 404]];
      const [a, b] = await Promise.all([twice.readRanges(rows), twice.readRanges(rows)]);
      for (const v of [a, b]) {
        assertEquals(Array.from(v.data as Float32Array), [3, 4, 5, 6, 7, 8, 400, 401, 402, 403]);
      }
    } finally {
      small.close();
    }
  },
});

const LOOPS = `
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/base.h5", "w") as f:
    f.create_dataset("c", data=np.arange(100, dtype="i4"), chunks=(10,))
    f.create_group("g").create_dataset("x", data=[1, 2, 3])
with h5py.File(f"{d}/cycle.h5", "w") as f:
    f.create_group("a/b").create_dataset("x", data=[1])
    f["a/b/up"] = f["a"]
`;

/** A version 1 object header's messages: type, body offset and size. */
function messages(bytes: Uint8Array, at: number): { type: number; body: number; size: number }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  assertEquals(bytes[at], 1, "a version 1 object header");
  const n = v.getUint16(at + 2, true), end = at + 16 + v.getUint32(at + 8, true);
  const out = [];
  for (let p = at + 16; out.length < n && p + 8 <= end;) {
    const type = v.getUint16(p, true), size = v.getUint16(p + 2, true);
    out.push({ type, body: p + 8, size });
    p += 8 + size;
  }
  return out;
}

/** Make the v1 B-tree node at `node` an internal node whose first child is itself. */
function selfParent(bytes: Uint8Array, node: number, keySize: number): void {
  assertEquals(new TextDecoder().decode(bytes.subarray(node, node + 4)), "TREE");
  bytes[node + 5] = 1; // level
  new DataView(bytes.buffer).setBigUint64(node + 24 + keySize, BigInt(node), true);
}

Deno.test({
  name:
    "structures that loop (object header continuation into itself, B-tree nodes their own child, a group linking to its ancestor) give CorruptFileError",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(LOOPS, dir);
    const base = await Deno.readFile(`${dir}/base.h5`);
    const src = fileBytes(`${dir}/base.h5`);
    const f = await H5File.open(src, "base.h5");
    const root = f.root;
    const c = await ds(f, "c");
    const chunkTree = c.info.layout?.kind === "chunked" ? c.info.layout.btree! : -1;
    assertEquals(Array.from((await c.read()).data as Int32Array).slice(0, 3), [0, 1, 2]);
    src.close();
    const open = async (bytes: Uint8Array, name: string) => {
      await Deno.writeFile(`${dir}/${name}`, bytes);
      return await H5File.open(fileBytes(`${dir}/${name}`), name);
    };

    // The root's symbol table message made a continuation back into the root's own block.
    const cont = base.slice();
    const table = messages(cont, root).find((m) => m.type === 0x11)!;
    const dv = new DataView(cont.buffer);
    const groupTree = Number(dv.getBigUint64(table.body, true));
    dv.setUint16(table.body - 8, 0x10, true);
    dv.setBigUint64(table.body, BigInt(root + 16), true);
    dv.setBigUint64(table.body + 8, BigInt(dv.getUint32(root + 8, true)), true);
    await assertRejects(
      async () => await (await open(cont, "cont.h5")).keys(""),
      CorruptFileError,
      /cont\.h5.*object header.*already read/,
    );

    // The root group's B-tree node made its own parent.
    const group = base.slice();
    selfParent(group, groupTree, 8);
    await assertRejects(
      async () => await (await open(group, "group.h5")).keys(""),
      CorruptFileError,
      /group\.h5.*symbol table is damaged/,
    );

    // The chunk B-tree's node made its own parent (rank 1: keys of 8 + 8 * 2 bytes).
    const chunks = base.slice();
    selfParent(chunks, chunkTree, 24);
    const bad = await ds(await open(chunks, "chunks.h5"), "c");
    await assertRejects(() => bad.read(), CorruptFileError, /chunks\.h5.*\/c.*chunk index/);
    await assertRejects(() => bad.chunkIndex(), CorruptFileError, /chunk index/);

    // A group holding a hard link to its ancestor (h5py writes it as is).
    const cyc = await H5File.open(fileBytes(`${dir}/cycle.h5`), "cycle.h5");
    assertEquals(await cyc.keys("a/b"), ["up", "x"]);
    await assertRejects(
      () => cyc.get("a/b/up"),
      CorruptFileError,
      /cycle\.h5.*\/a\/b\/up links back to \/a/,
    );
    // So a walk over every group ends, with that error.
    await assertRejects(() => assertReadable(cyc), CorruptFileError, /links back/);
  },
});
