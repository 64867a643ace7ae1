// Our byte-range HDF5 reader against files h5py wrote.
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { h5RangeArray, openH5Range } from "../../../src/formats/hdf5/store.ts";
import type { ByteReader } from "../../../src/formats/hdf5/_bytes_io.ts";
import { CorruptFileError, LaminError } from "../../../mod.ts";
import { ds } from "./_ds.ts";

const py = needsPython("HDF5 reading", "h5py", "numpy");

const WRITE = `
import sys, h5py, numpy as np
d, libver = sys.argv[1], sys.argv[2]
kw = {"libver": "latest"} if libver == "latest" else {}
with h5py.File(f"{d}/t.h5", "w", **kw) as f:
    f.attrs["s"] = "anndata"; f.attrs["b"] = True; f.attrs["i"] = 3; f.attrs["x"] = 1.5
    f.attrs["names"] = np.array(["a", "bé"], dtype=object); f.attrs["shape"] = [4, 5]
    for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"]:
        f.create_dataset(t, data=np.arange(-3, 7).astype(t) if t[0] != "u" else np.arange(10).astype(t))
    f.create_dataset("bools", data=np.array([True, False, True]))
    f.create_dataset("strs", data=np.array(["hello", "", "wörld 🧬"], dtype=object), dtype=h5py.string_dtype())
    f.create_dataset("fixed", data=np.array([b"ab", b"cde"], dtype="S3"))
    f.create_dataset("scalar", data=7)
    f.create_dataset("compact", data=np.arange(5, dtype="i4"), **({} if libver == "latest" else {}))
    rng = np.random.default_rng(1)
    big = rng.random(200_000).astype("f4")
    f.create_dataset("chunked", data=big, chunks=(1000,))
    f.create_dataset("gzip", data=big, chunks=(777,), compression="gzip")
    f.create_dataset("shuffled", data=big, chunks=(999,), compression="gzip", shuffle=True)
    f.create_dataset("contig", data=big)
    f.create_dataset("lzf", data=big, chunks=(1001,), compression="lzf")
    f.create_dataset("lzf_shuffled", data=big, chunks=(999,), compression="lzf", shuffle=True)
    f.create_dataset("lzf_ints", data=np.arange(50_000, dtype="i8") // 7, chunks=(4096,), compression="lzf")
    f.create_dataset("dense2d", data=np.arange(300 * 7, dtype="f8").reshape(300, 7), chunks=(16, 3))
    g = f.create_group("grp/inner"); g.attrs["k"] = "v"
    many = f.create_group("many")
    for i in range(40): many.create_dataset(f"c{i:02d}", data=[i])
`;

async function written(libver: "default" | "latest"): Promise<string> {
  const dir = await tempDir();
  await python(WRITE, dir, libver);
  return `${dir}/t.h5`;
}

for (const libver of ["default"] as const) {
  Deno.test({
    name:
      `H5File reads what h5py wrote (libver ${libver}): dtypes, strings, attrs, layouts, filters`,
    ...py,
    async fn() {
      const path = await written(libver);
      const src = fileBytes(path);
      const store = await openH5Range(src, path);
      try {
        assertEquals(await store.attrs(""), {
          s: "anndata",
          b: true,
          i: 3,
          x: 1.5,
          names: ["a", "bé"],
          shape: [4, 5],
        });
        for (const t of ["i1", "i2", "i4", "i8", "f4", "f8"]) {
          const a = await store.read(t);
          assertEquals(Array.from(a.data as ArrayLike<number | bigint>, Number), [
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            4,
            5,
            6,
          ], t);
        }
        for (const t of ["u1", "u2", "u4", "u8"]) {
          const a = await store.read(t);
          assertEquals(Array.from(a.data as ArrayLike<number | bigint>, Number), [
            0,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
          ], t);
        }
        assertEquals(
          (await store.read("i8")).kind === "number" &&
            (await store.read("i8")).data instanceof BigInt64Array,
          true,
        );
        const bools = await store.read("bools");
        assertEquals([bools.kind, Array.from(bools.data as Uint8Array)], ["bool", [1, 0, 1]]);
        assertEquals((await store.read("strs")).data, ["hello", "", "wörld 🧬"]);
        assertEquals((await store.read("fixed")).data, ["ab", "cde"]);
        assertEquals([
          (await store.read("scalar")).shape,
          Number((await store.read("scalar")).data[0]),
        ], [[], 7]);
        const want = JSON.parse(
          await python(
            `import sys, h5py, json
f = h5py.File(sys.argv[1], "r")
print(json.dumps({"big": f["chunked"][:].tolist(), "d2": f["dense2d"][:].tolist()}))`,
            path,
          ),
        );
        for (const name of ["chunked", "gzip", "shuffled", "contig", "lzf", "lzf_shuffled"]) {
          const a = await store.read(name);
          assertEquals(Array.from(a.data as Float32Array), want.big.map(Math.fround), name);
        }
        assertEquals(
          await store.keys("many"),
          Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, "0")}`),
        );
        assertEquals(await store.describe("grp/inner"), "group");
        assertEquals(await store.attrs("grp/inner"), { k: "v" });
        assertEquals(await store.describe("nothing/here"), undefined);

        // Row ranges equal numpy slices, for every layout.
        const f = store.file;
        const ranges: [number, number][] = [[0, 3], [999, 1002], [5000, 5001], [150_000, 150_500], [
          199_990,
          200_000,
        ]];
        const slice = ranges.flatMap(([s, e]) => want.big.slice(s, e).map(Math.fround));
        const ints = await store.read("lzf_ints");
        assertEquals(
          Array.from(ints.data as BigInt64Array, Number).every((v, i) => v === Math.floor(i / 7)),
          true,
          "lzf int64",
        );
        for (const name of ["chunked", "gzip", "shuffled", "contig", "lzf"]) {
          const v = await (await ds(f, name)).readRanges(ranges);
          assertEquals(Array.from(v.data as Float32Array), slice, name);
        }
        // A dense selection (many ranges a few rows apart, read as one span
        // and picked), with a gap option that makes it take that path.
        const dense: [number, number][] = [];
        for (let r = 17; r + 3 < 200_000; r += 7 + (r % 5)) dense.push([r, r + 1 + (r % 3)]);
        const picked = dense.flatMap(([s, e]) => want.big.slice(s, e).map(Math.fround));
        for (const name of ["chunked", "gzip", "contig"]) {
          for (const gap of [0, 4096]) {
            const got = (await (await ds(f, name)).readRanges(dense, { gap })).data as Float32Array;
            const bad = picked.findIndex((x: number, i: number) => got[i] !== x);
            assertEquals([got.length, bad], [picked.length, -1], `${name} gap ${gap}`);
          }
        }
        const strs = await ds(f, "strs");
        assertEquals((await strs.readRanges([[0, 1], [2, 3]])).data, ["hello", "wörld 🧬"]);
        const rows = await (await ds(f, "dense2d")).readRanges([[3, 5], [290, 300]]);
        assertEquals(
          Array.from(rows.data as Float64Array),
          [...want.d2.slice(3, 5), ...want.d2.slice(290, 300)].flat(),
        );
      } finally {
        src.close();
      }
    },
  });
}

Deno.test({
  name:
    "H5File: 20 scattered small ranges of an uncompressed chunked dataset read < 2x their bytes",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(
      `import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("x", data=np.arange(2_000_000, dtype="f4"), chunks=(19532,))`,
      `${dir}/x.h5`,
    );
    const src = fileBytes(`${dir}/x.h5`);
    const f = await H5File.open(src, "x.h5");
    const x = await ds(f, "x");
    await x.chunkIndex(); // metadata first, then count only the data reads
    const before = src.stats.bytesRead;
    const ranges: [number, number][] = Array.from(
      { length: 20 },
      (_, i) => [i * 97_000 + 13, i * 97_000 + 113],
    );
    const v = await x.readRanges(ranges, { gap: 0 });
    const data = Array.from(v.data as Float32Array);
    assertEquals(data.slice(0, 3), [13, 14, 15]);
    assertEquals(data.length, 2000);
    const read = src.stats.bytesRead - before;
    assert(read < 2 * 2000 * 4, `read ${read} bytes for ${2000 * 4} bytes of data`);
    src.close();
  },
});

Deno.test({
  name:
    "H5File: truncated files and random bytes give CorruptFileError; unread layouts UnsupportedFormatError",
  ...py,
  async fn() {
    const path = await written("default");
    const bytes = await Deno.readFile(path);
    const dir = await tempDir();
    for (const cut of [50, 4000, Math.floor(bytes.length / 3)]) {
      await Deno.writeFile(`${dir}/cut.h5`, bytes.subarray(0, cut));
      const src = fileBytes(`${dir}/cut.h5`);
      await assertRejects(
        async () => {
          const store = await openH5Range(src, "cut.h5");
          for (const k of ["i4", "strs", "chunked", "gzip", "many"]) {
            if ((await store.describe(k)) === "array") await store.read(k);
          }
          await store.keys("many");
        },
        CorruptFileError,
        /cut\.h5/,
      );
      src.close();
    }
    await Deno.writeFile(`${dir}/junk.h5`, crypto.getRandomValues(new Uint8Array(2048)));
    await assertRejects(
      () => H5File.open(fileBytes(`${dir}/junk.h5`), "junk.h5"),
      CorruptFileError,
      /not an HDF5 file/,
    );
  },
});

Deno.test({
  name:
    "H5File reads libver='latest' files (v2 object headers, compact and dense links); refuses " +
    "what it cannot",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(
      `import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/small.h5", "w", libver="latest") as f:
    f.attrs["s"] = "x"; f.create_dataset("a", data=np.arange(5, dtype="i4"))
    f.create_dataset("strs", data=np.array(["p", "q"], dtype=object), dtype=h5py.string_dtype())
    f.create_dataset("chunked", data=np.arange(100, dtype="f4"), chunks=(10,))
with h5py.File(sys.argv[1] + "/wide.h5", "w", libver="latest") as f:
    for i in range(40): f.create_dataset(f"c{i}", data=[i])`,
      dir,
    );
    const small = await openH5Range(fileBytes(`${dir}/small.h5`), "small.h5");
    assertEquals(await small.attrs(""), { s: "x" });
    assertEquals(Array.from((await small.read("a")).data as Int32Array), [0, 1, 2, 3, 4]);
    assertEquals((await small.read("strs")).data, ["p", "q"]);
    // Chunked datasets of new files use layout version 4 indexes (_chunk_index.ts).
    assertEquals(
      Array.from((await small.read("chunked")).data as Float32Array),
      Array.from({ length: 100 }, (_, i) => i),
    );
    // Past 8 links, dense link storage: read (_dense.ts).
    const wide = await openH5Range(fileBytes(`${dir}/wide.h5`), "wide.h5");
    assertEquals((await wide.keys("")).length, 40);
    assertEquals(Array.from((await wide.read("c39")).data as BigInt64Array), [39n]);
  },
});

Deno.test({
  name:
    "H5File: thousands of spans read by typed arrays equal the elements, unwritten chunks zero, windows or not",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(
      `import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("contig", data=np.arange(1, 300_001, dtype="f4"))
    f.create_dataset("chunked", data=np.arange(1, 300_001, dtype="i4"), chunks=(2_500,))
    part = f.create_dataset("part", shape=(300_000,), dtype="i4", chunks=(2_500,))
    part[:100_000] = np.arange(1, 100_001); part[200_000:] = np.arange(200_001, 300_001)`,
      `${dir}/s.h5`,
    );
    const src = fileBytes(`${dir}/s.h5`);
    const f = await H5File.open(src, "s.h5");
    let seed = 7;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    try {
      for (const name of ["contig", "chunked", "part"]) {
        const d = await ds(f, name);
        for (const [maxGap, maxLen] of [[4, 3], [300, 200], [40_000, 5_000]]) {
          const starts: number[] = [], ends: number[] = [];
          for (let at = Math.floor(rand() * maxGap); at < 300_000;) {
            const e = Math.min(300_000, at + Math.floor(rand() * maxLen));
            starts.push(at);
            ends.push(e);
            at = e + 1 + Math.floor(rand() * maxGap);
          }
          const want: number[] = [];
          starts.forEach((s, k) => {
            for (let i = s; i < ends[k]; i++) {
              want.push(name === "part" && i >= 100_000 && i < 200_000 ? 0 : i + 1);
            }
          });
          for (const syncGap of [0, 8192]) {
            const v = await d.readSpans(
              Float64Array.from(starts),
              Float64Array.from(ends),
              starts.length,
              { gap: 0, syncGap },
            );
            const got = Array.from(v.data as ArrayLike<number>);
            assertEquals(got.length, want.length, `${name} ${maxGap} ${syncGap}`);
            const bad = got.findIndex((x, i) => x !== want[i]);
            assertEquals(
              bad,
              -1,
              `${name}, gaps up to ${maxGap}, syncGap ${syncGap}: element ${bad}`,
            );
          }
        }
        // Spans that overlap or leave the dataset: the file's claims are damaged.
        await assertRejects(
          () => d.readSpans(Float64Array.of(0, 5), Float64Array.of(10, 20), 2),
          CorruptFileError,
        );
        await assertRejects(
          () => d.readSpans(Float64Array.of(0), Float64Array.of(300_001), 1),
          CorruptFileError,
        );
      }
    } finally {
      src.close();
    }
  },
});

/** A remote-like reader over `bytes` (async reads only) that logs its requests. */
function remoteLike(bytes: Uint8Array, log: [number, number][]): ByteReader {
  return {
    size: () => Promise.resolve(bytes.length),
    read(offset, length) {
      log.push([offset, length]);
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
  };
}

Deno.test({
  name:
    "a remote dataset's chunk index looked up ahead (prefetch): a later read asks only for data",
  ...py,
  async fn() {
    const bytes = await Deno.readFile(await written("default"));
    const cost = { latencyMs: 20, bytesPerSec: 100e6, parallelism: 8 };
    /** The dataset `chunked` of a fresh remote-like open, and the log of its requests. */
    const open = async () => {
      const log: [number, number][] = [];
      const store = await openH5Range(remoteLike(bytes, log), "t.h5", { cost });
      return { file: store.file, log };
    };
    const rows: [number, number][] = [[0, 10], [150_000, 150_010], [199_990, 200_000]];
    const cold = await open();
    const array = await h5RangeArray(cold.file, "chunked", { cost });
    cold.log.length = 0;
    const want = await array.readRanges(rows);
    const coldRequests = cold.log.length;

    const warm = await open();
    const first = await h5RangeArray(warm.file, "chunked", { cost });
    assert(first.prefetch, "a remote chunked dataset can look up its index ahead");
    await first.prefetch();
    // A later read makes its own dataset object, as a stream's parts do.
    const later = await h5RangeArray(warm.file, "chunked", { cost });
    warm.log.length = 0;
    assertEquals(await later.readRanges(rows), want);
    assert(
      warm.log.length < coldRequests,
      `${warm.log.length} requests after the prefetch, ${coldRequests} without`,
    );
    // Only the rows' bytes (unfiltered chunks are read in part): a request
    // per range at most, none for the index.
    assert(warm.log.length <= rows.length, JSON.stringify(warm.log));
    // Local files look chunks up as they go (a positional read costs µs).
    const dir = await tempDir();
    await Deno.writeFile(`${dir}/t.h5`, bytes);
    const local = fileBytes(`${dir}/t.h5`);
    try {
      const store = await openH5Range(local, "t.h5");
      assertEquals((await h5RangeArray(store.file, "chunked")).prefetch, undefined);
    } finally {
      local.close();
    }
  },
});

Deno.test({
  name: "remote strings: the heaps a scattered selection touches are read together, not one each",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(
      `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1] + "/s.h5", "w") as f:
    f.create_dataset("names", data=np.array([f"cell-{i:07d}-AACGTTGCA" for i in range(100_000)], dtype=object), dtype=h5py.string_dtype())
`,
      dir,
    );
    const bytes = await Deno.readFile(`${dir}/s.h5`);
    const log: [number, number][] = [];
    const cost = { latencyMs: 20, bytesPerSec: 100e6, parallelism: 8 };
    const store = await openH5Range(remoteLike(bytes, log), "s.h5", { cost });
    const rows = Uint32Array.from({ length: 5_000 }, (_, i) => i * 20 + (i % 7));
    log.length = 0;
    const got = await store.readRows!("names", rows);
    assertEquals(got.kind, "string");
    const values = got.data as (string | null)[];
    assertEquals(values.length, rows.length);
    rows.forEach((r, i) => {
      if (values[i] !== `cell-${String(r).padStart(7, "0")}-AACGTTGCA`) {
        throw new Error(`row ${r}: ${values[i]}`);
      }
    });
    // ~3 MB of strings in dozens of heaps (h5py: 64 KiB or less each).
    const heaps = new Set<number>();
    for (let k = 0; k < bytes.length - 4; k++) {
      if (
        bytes[k] === 0x47 && bytes[k + 1] === 0x43 && bytes[k + 2] === 0x4f && bytes[k + 3] === 0x4c
      ) {
        heaps.add(k);
      }
    }
    assert(heaps.size > 30, `${heaps.size} heaps`);
    assert(log.length <= 12, `${log.length} requests for ${heaps.size} heaps`);
  },
});

Deno.test({
  name:
    "a remote file's first metadata block is asked together with its size (one round trip, not two), and read once",
  ...py,
  async fn() {
    const bytes = await Deno.readFile(await written("default"));
    const cost = { latencyMs: 20, bytesPerSec: 100e6, parallelism: 8 };
    const log: string[] = [];
    let sized = false;
    const src: ByteReader = {
      async size() {
        log.push("size asked");
        await new Promise((r) => setTimeout(r, 10));
        sized = true;
        return bytes.length;
      },
      read(offset, length) {
        log.push(`read ${offset} ${sized ? "after" : "before"} the size`);
        return Promise.resolve(bytes.slice(offset, offset + length));
      },
    };
    const store = await openH5Range(src, "t.h5", { cost });
    assertEquals(log.slice(0, 2).sort(), ["read 0 before the size", "size asked"]);
    assertEquals(log.filter((l) => l.startsWith("read 0 ")).length, 1, JSON.stringify(log));
    assertEquals(
      await store.keys(""),
      await (await openH5Range(remoteLike(bytes, []), "t.h5", { cost })).keys(""),
    );
  },
});

Deno.test("fileBytes: large reads at once go through several handles (one handle runs them in turn), each byte right", async () => {
  const dir = await tempDir();
  const path = `${dir}/big.bin`;
  const data = Uint8Array.from({ length: 4 << 20 }, (_, i) => (i * 31) & 255);
  await Deno.writeFile(path, data);
  const src = fileBytes(path);
  const handlesOn = async () => {
    let n = 0;
    for await (const e of Deno.readDir("/proc/self/fd")) {
      if (await Deno.readLink(`/proc/self/fd/${e.name}`).catch(() => "") === path) n++;
    }
    return n;
  };
  try {
    const parts = await Promise.all(
      [0, 1, 2, 3].map((k) => src.read(k << 20, 1 << 20)),
    );
    parts.forEach((p, k) => assertEquals(p, data.subarray(k << 20, (k + 1) << 20)));
    const most = src.stats.handles;
    assert(most >= 2 && most <= 4, `${most} handles on the file at once`);
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(await handlesOn(), 1, "idle again: one handle kept, the others closed");
  } finally {
    src.close();
  }
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(await handlesOn(), 0, "all closed");
});

Deno.test("fileBytes: one large read is cut into pieces read at once on several handles; the end of the file ends it", async () => {
  const dir = await tempDir();
  const path = `${dir}/big.bin`;
  const data = Uint8Array.from({ length: 21 << 20 }, (_, i) => (i * 131 + (i >> 12)) & 255);
  await Deno.writeFile(path, data);
  const src = fileBytes(path);
  try {
    const got = await src.read(12_345, 17 << 20);
    assertEquals(got.length, 17 << 20);
    const k = got.findIndex((v, i) => v !== data[12_345 + i]);
    assertEquals(k, -1, `first wrong byte at ${k}`);
    const most = src.stats.handles;
    assert(most >= 2 && most <= 4, `${most} handles for one read`);
    assertEquals(src.stats.requests, 4, "four pieces");
    // Past the end: the bytes up to it, each right, as one read would give.
    const tail = new Uint8Array(12 << 20);
    const n = await src.readInto!(data.length - (9 << 20) - 7, tail);
    assertEquals(n, (9 << 20) + 7);
    assertEquals(tail.subarray(0, n), data.subarray(data.length - n));
  } finally {
    src.close();
  }
});

Deno.test("fileBytes: with no file descriptor left for another handle, concurrent reads share the first one", async () => {
  const dir = await tempDir();
  const script = `${dir}/fds.ts`;
  const reader = new URL("../../../src/formats/hdf5/_bytes_io.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `
import { fileBytes } from ${JSON.stringify(reader)};
const path = ${JSON.stringify(`${dir}/big.bin`)};
const data = Uint8Array.from({ length: 4 << 20 }, (_, i) => (i * 7) & 255);
Deno.writeFileSync(path, data);
const src = fileBytes(path);
await src.read(0, 1 << 20);
const held = [];
try { for (;;) held.push(Deno.openSync(path)); } catch { /* none left */ }
const parts = await Promise.all([0, 1, 2, 3].map((k) => src.read(k << 20, 1 << 20)));
const right = parts.every((p, k) => p.every((b, i) => b === data[(k << 20) + i]));
for (const f of held) f.close();
src.close();
console.log(JSON.stringify({ right, held: held.length }));
`,
  );
  const out = await new Deno.Command("bash", {
    args: ["-c", `ulimit -n 200 && exec "$0" run -A --no-config "$1"`, Deno.execPath(), script],
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success, text);
  const r = JSON.parse(text.trim().split("\n").pop()!);
  assert(r.held > 0, "descriptors used up");
  assertEquals(r.right, true, "every byte read");
});

/** Where the structures with these signatures start in `bytes`: up to `most` of each. */
function signatures(bytes: Uint8Array, sigs: string[], most: number): number[] {
  const at: number[] = [];
  for (const sig of sigs) {
    const b = new TextEncoder().encode(sig);
    let found = 0;
    for (let i = 0; i + 4 <= bytes.length && found < most; i++) {
      if (
        bytes[i] === b[0] && bytes[i + 1] === b[1] && bytes[i + 2] === b[2] && bytes[i + 3] === b[3]
      ) {
        at.push(i);
        found++;
      }
    }
  }
  return at;
}

const DENSE = `
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/dense.h5", "w", libver="latest") as f:
    # New-style groups (libver "latest"; anndata's files get them from names
    # not ASCII): past 8 links, dense.
    g = f.create_group("obs")
    for i, n in enumerate(["a", "b", "µ-score", "c", "d", "e", "f", "g", "h", "Ø"]):
        g.create_dataset(n, data=np.arange(5) * i)
    # Enough links for a B-tree of two levels and indirect heap blocks in indirect blocks.
    many = f.create_group("many")
    src = many.create_dataset("ü0", data=[42])
    for i in range(1, 20000):
        many[f"link-{i:05d}-" + "x" * 40] = src
with h5py.File(f"{d}/attrs.h5", "w", libver="latest") as f:
    # Past 8 attributes, dense; one past the heap's largest managed object (a huge one).
    g = f.create_group("g")
    for i in range(20): g.attrs[f"a{i}"] = i
    g.attrs["column-order"] = np.array([f"col{i}" for i in range(5000)], dtype=object)
    g.create_dataset("x", data=np.arange(10.0))
`;

Deno.test({
  name: "H5File: dense link storage (20,000 links; a group made new-style by a name not ASCII) " +
    "and dense attributes (one of them a huge heap object)",
  ...py,
  async fn() {
    const dir = await tempDir();
    try {
      await python(DENSE, dir);
      const src = fileBytes(`${dir}/dense.h5`);
      try {
        const store = await openH5Range(src, "dense.h5");
        assertEquals(
          (await store.keys("obs")).sort(),
          ["a", "b", "c", "d", "e", "f", "g", "h", "Ø", "µ-score"].sort(),
        );
        assertEquals(Array.from((await store.read("obs/µ-score")).data as BigInt64Array), [
          0n,
          2n,
          4n,
          6n,
          8n,
        ]);
        const names = await store.keys("many");
        assertEquals(names.length, 20_000);
        assertEquals(new Set(names).size, 20_000);
        assert(names.includes("ü0") && names.includes(`link-19999-${"x".repeat(40)}`));
        const last = await store.read(`many/link-12345-${"x".repeat(40)}`);
        assertEquals(Array.from(last.data as BigInt64Array), [42n]);
      } finally {
        src.close();
      }
      const src2 = fileBytes(`${dir}/attrs.h5`);
      try {
        const store = await openH5Range(src2, "attrs.h5");
        const attrs = await store.attrs("g");
        assertEquals(Object.keys(attrs).length, 21);
        assertEquals(attrs.a19, 19);
        const order = attrs["column-order"] as string[];
        assertEquals([order.length, order[0], order[4999]], [5000, "col0", "col4999"]);
      } finally {
        src2.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "H5File: damaged dense storage (bytes changed in its heap and B-tree structures) is a " +
    "LaminError or the right names, never another error or a hang",
  ...py,
  async fn() {
    const dir = await tempDir();
    try {
      await python(DENSE, dir);
      const good = await Deno.readFile(`${dir}/dense.h5`);
      const want = 20_000;
      // Where the structures are: their signatures.
      const at = signatures(good, ["FRHP", "FHIB", "FHDB", "BTHD", "BTIN", "BTLF"], 6);
      assert(at.length >= 12, `structures found: ${at.length}`);
      let seed = 11;
      const rand = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
      const outcomes = new Map<string, number>();
      for (let t = 0; t < 120; t++) {
        const bad = good.slice();
        const base = at[rand(at.length)];
        for (let k = 0; k < 1 + rand(3); k++) bad[base + rand(48)] ^= 1 + rand(255);
        await Deno.writeFile(`${dir}/bad.h5`, bad);
        const src = fileBytes(`${dir}/bad.h5`);
        let outcome: string;
        try {
          const store = await openH5Range(src, "bad.h5");
          const names = await store.keys("many");
          outcome = names.length === want ? "right" : `names ${names.length}`;
        } catch (e) {
          assert(
            e instanceof LaminError,
            `trial ${t}: ${(e as Error)?.name}: ${(e as Error)?.message}`,
          );
          outcome = (e as Error).name;
        } finally {
          src.close();
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      assert((outcomes.get("CorruptFileError") ?? 0) > 20, JSON.stringify([...outcomes]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const V4 = `
import sys, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
out = {}
with h5py.File(f"{d}/v4.h5", "w", libver="latest") as f:
    def put(name, a, **kw):
        f.create_dataset(name, data=a, **kw); out[name] = a
    # Fixed arrays (fixed shapes), one page and paged (more than 1,024 chunks).
    put("fa", rng.random(1000).astype("f4"), chunks=(100,))
    put("fa_gzip", rng.random(5000).astype("f4"), chunks=(7,), compression="gzip")
    put("fa_paged_lzf", rng.random(300000).astype("f4"), chunks=(97,), compression="lzf")
    put("fa_2d", rng.random((300, 40)).astype("f4"), chunks=(16, 9), compression="gzip", shuffle=True)
    # Extensible arrays (maxshape (None,), as anndata's sparse arrays): blocks in the index
    # block, in super blocks, paged.
    put("ea_tiny", np.arange(3, dtype="i4"), chunks=(1,), maxshape=(None,))
    put("ea_mid", (rng.random(20000) * 1000).astype("i4"), chunks=(10,), maxshape=(None,), compression="gzip")
    put("ea_big", (rng.random(2_000_000) * 1000).astype("i4"), chunks=(100,), maxshape=(None,))
    put("ea_2d", rng.random((301, 41)).astype("f4"), chunks=(16, 9), maxshape=(None, 41), compression="gzip")
    # One chunk; a version 2 B-tree (two unlimited dimensions).
    put("single_gzip", rng.random((50, 7)), chunks=(50, 7), compression="gzip")
    put("bt2", rng.random((300, 40)).astype("f4"), chunks=(16, 9), maxshape=(None, None), compression="gzip")
    # An unlimited dimension not the first (moved first in the numbering); maximum
    # dimensions past the shape (the numbering's grid); paged super blocks (past
    # 131,060 chunks); 300,000 one-byte chunks (8 bytes of index each).
    put("ea_dim1", np.arange(60.).reshape(6, 10), chunks=(4, 3), maxshape=(10, None))
    put("fa_max", np.arange(60.).reshape(6, 10), chunks=(4, 3), maxshape=(9, 20))
    put("ea_paged", np.arange(140000.), chunks=(1,), maxshape=(None,))
    put("ea_bytes", (np.arange(300000) % 7).astype("u1"), chunks=(1,), maxshape=(None,))
    ds = f.create_dataset("bt2_holes", shape=(300, 450), dtype="f4", chunks=(1, 1), maxshape=(None, None))
    ds[5, 7] = 3; z = np.zeros((300, 450), "f4"); z[5, 7] = 3; out["bt2_holes"] = z
    # Chunks never written: zeros.
    ds = f.create_dataset("ea_holes", shape=(100000,), dtype="i4", chunks=(100,), maxshape=(None,))
    ds[50000:50100] = 7; ds[99950:] = 9
    z = np.zeros(100000, "i4"); z[50000:50100] = 7; z[99950:] = 9; out["ea_holes"] = z
    # Implicit: allocated early, no filter.
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE); dcpl.set_chunk((64,))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    did = h5py.h5d.create(f.id, b"implicit", h5py.h5t.NATIVE_FLOAT, h5py.h5s.create_simple((1000,)), dcpl)
    a = rng.random(1000).astype("f4"); h5py.Dataset(did)[...] = a; out["implicit"] = a
for k, a in out.items():
    np.ascontiguousarray(a).tofile(f"{d}/{k}.raw")
print(" ".join(out))
`;

Deno.test({
  name: "H5File: version 4 chunk indexes (fixed and extensible arrays, paged or not; one chunk; " +
    "implicit; v2 B-tree) read whole and by scattered rows, equal to numpy's bytes",
  ...py,
  async fn() {
    const dir = await tempDir();
    try {
      const names = (await python(V4, dir)).trim().split(" ");
      assertEquals(names.length, 17);
      const src = fileBytes(`${dir}/v4.h5`);
      try {
        const f = await H5File.open(src, "v4.h5");
        for (const name of names) {
          const want = await Deno.readFile(`${dir}/${name}.raw`);
          const d = await ds(f, name);
          const whole = await d.readRows([[0, d.shape[0]]]);
          assertEquals(whole.length, want.length, name);
          assert(whole.every((v, i) => v === want[i]), `${name}: whole`);
          // Scattered rows: the chunk lookup answers for each row of chunks.
          const rowBytes = want.length / d.shape[0];
          const n = d.shape[0];
          const ranges: [number, number][] = [];
          for (let s = 0; s < n; s += Math.max(1, Math.floor(n / 13))) {
            ranges.push([s, Math.min(n, s + 1 + (s % 3))]);
          }
          const rows = await d.readRows(ranges);
          let o = 0;
          for (const [s, e] of ranges) {
            const part = want.subarray(s * rowBytes, e * rowBytes);
            assert(part.every((v, i) => v === rows[o + i]), `${name}: rows ${s}..${e}`);
            o += part.length;
          }
        }
      } finally {
        src.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "H5File: damaged version 4 chunk indexes (bytes changed in their structures) are a " +
    "LaminError or the right values, never another error or a hang",
  ...py,
  async fn() {
    const dir = await tempDir();
    try {
      const names = (await python(V4, dir)).trim().split(" ");
      const good = await Deno.readFile(`${dir}/v4.h5`);
      const at = signatures(
        good,
        ["FAHD", "FADB", "EAHD", "EAIB", "EASB", "EADB", "BTHD", "BTLF"],
        4,
      );
      assert(at.length >= 20, `structures found: ${at.length}`);
      const wants = new Map<string, Uint8Array>();
      for (const n of names) wants.set(n, await Deno.readFile(`${dir}/${n}.raw`));
      let seed = 5;
      const rand = (k: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % k;
      const outcomes = new Map<string, number>();
      for (let t = 0; t < 80; t++) {
        const bad = good.slice();
        const base = at[rand(at.length)];
        for (let k = 0; k < 1 + rand(3); k++) bad[base + rand(40)] ^= 1 + rand(255);
        await Deno.writeFile(`${dir}/bad.h5`, bad);
        const src = fileBytes(`${dir}/bad.h5`);
        try {
          const f = await H5File.open(src, "bad.h5");
          for (const name of names) {
            let outcome: string;
            try {
              const d = await ds(f, name);
              const got = await d.readRows([[0, d.shape[0]]]);
              const want = wants.get(name)!;
              outcome = got.length === want.length && got.every((v, i) => v === want[i])
                ? "right"
                : "other values";
            } catch (e) {
              assert(
                e instanceof LaminError,
                `${name}: ${(e as Error)?.name}: ${(e as Error)?.message}`,
              );
              outcome = (e as Error).name;
            }
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          }
        } catch (e) {
          assert(e instanceof LaminError, `${(e as Error)?.name}: ${(e as Error)?.message}`);
        } finally {
          src.close();
        }
      }
      assert((outcomes.get("CorruptFileError") ?? 0) > 20, JSON.stringify([...outcomes]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
