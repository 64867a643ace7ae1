// Rows of zarr v2 string arrays (vlen-utf8) read by the store's readRows:
// only the picked strings decoded, from the chunks that hold them; the same
// strings as numpy's for every compressor (blosc LZ4 and zstd decoded on the
// pool, none through zarrita), damaged chunks a CorruptFileError.
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { keepingMetadata, localZarr, openZarr } from "../../../src/formats/anndata/_zarr_store.ts";
import { zarrRangeArray } from "../../../src/formats/anndata/_zarr_ranges.ts";
import { decodeVLenUTF8 } from "../../../src/formats/anndata/_zarr_vlen.ts";
import { CorruptFileError } from "../../../mod.ts";

const WRITE = `
import sys, json, zarr, numpy as np, numcodecs
from numcodecs import Blosc
d = sys.argv[1]
strs = [("cell-%d" % i) if i % 5 else ("ünï %d " % i) * (1 + i % 30) for i in range(10_007)]
g = zarr.open_group(f"{d}/s.zarr", mode="w")
for name, comp in [("lz4", Blosc(cname="lz4", shuffle=1)), ("zstd", Blosc(cname="zstd")),
                   ("none", None)]:
    g.create_dataset(name, data=np.array(strs, dtype=object), chunks=(1_000,),
                     object_codec=numcodecs.VLenUTF8(), compressor=comp)
json.dump(strs, open(f"{d}/strs.json", "w"))
`;

const py = needsPython("zarr string rows", "zarr", "numcodecs", "numpy");

Deno.test({
  name: "readRows of zarr string arrays decodes the picked strings of every compressor",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const strs: string[] = JSON.parse(await Deno.readTextFile(`${dir}/strs.json`));
    const store = openZarr(localZarr(`${dir}/s.zarr`), "s.zarr");
    const picks = [
      Uint32Array.of(0),
      Uint32Array.of(10_006),
      Uint32Array.of(3, 3, 999, 1_000, 4_005, 4_005, 10_000),
      Uint32Array.from({ length: 2_000 }, (_, i) => i * 5),
    ];
    for (const name of ["lz4", "zstd", "none"]) {
      for (const rows of picks) {
        const got = await store.readRows!(name, rows);
        assertEquals(got.kind, "string");
        assertEquals(got.data, Array.from(rows, (r) => strs[r]), `${name} ${rows.length} rows`);
      }
    }
    // As UTF-8 bytes and offsets (dataframe columns): the same strings, all or picked.
    const dec = new TextDecoder();
    for (const name of ["lz4", "zstd", "none"]) {
      for (const rows of [undefined, ...picks]) {
        const u = await store.readUtf8!(name, rows);
        assert(u, name);
        const got = Array.from(
          { length: u.offsets.length - 1 },
          (_, i) => dec.decode(u.bytes.subarray(u.offsets[i], u.offsets[i + 1])),
        );
        assertEquals(got, rows ? Array.from(rows, (r) => strs[r]) : strs, `${name} utf8`);
      }
    }
    // Batches one after another: a chunk decoded once, kept for the next read of the store.
    const local = localZarr(`${dir}/s.zarr`);
    let gets = 0;
    const counting = {
      ...local,
      get(key: string) {
        if (/^zstd\/\d+$/.test(key)) gets++;
        return local.get(key);
      },
    };
    const batched = openZarr(counting, "s.zarr");
    for (const rows of [Uint32Array.of(3_000, 3_001), Uint32Array.of(3_002, 3_500)]) {
      const u = await batched.readUtf8!("zstd", rows);
      assertEquals(u?.offsets.length, 3);
      const got = await batched.readRows!("zstd", rows);
      assertEquals(got.data, Array.from(rows, (r) => strs[r]));
    }
    assertEquals(gets, 1, "chunk 3 read and decoded once");
    // A chunk never written: its fill value, zarr's 0 for a string array,
    // is no string (a store missing a chunk: the chunk named); a string
    // fill value is what the chunk holds.
    await Deno.remove(`${dir}/s.zarr/lz4/2`);
    const fresh = openZarr(localZarr(`${dir}/s.zarr`), "s.zarr");
    await assertRejects(
      () => fresh.readRows!("lz4", Uint32Array.of(1, 2_500, 3_000)),
      CorruptFileError,
      /\/lz4, chunk 2 is missing .*fill value 0 is not a string/,
    );
    await assertRejects(
      () => fresh.read("lz4"),
      CorruptFileError,
      /holds strings, but its element 2000/,
    );
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/s.zarr/lz4/.zarray`));
    await Deno.writeTextFile(
      `${dir}/s.zarr/lz4/.zarray`,
      JSON.stringify({ ...meta, fill_value: "" }),
    );
    const filled = openZarr(localZarr(`${dir}/s.zarr`), "s.zarr");
    const gap = await filled.readRows!("lz4", Uint32Array.of(1, 2_500, 3_000));
    assertEquals(gap.data, [strs[1], "", strs[3_000]]);
  },
});

Deno.test({
  name: "a damaged zarr string chunk read by rows is a CorruptFileError naming it",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    // No compressor: the vlen bytes as stored; string 2's length made huge.
    const path = `${dir}/s.zarr/none/4`;
    const b = await Deno.readFile(path);
    const v = new DataView(b.buffer);
    const len0 = v.getUint32(4, true), len1 = v.getUint32(8 + len0, true);
    v.setUint32(12 + len0 + len1, 1 << 30, true);
    await Deno.writeFile(path, b);
    const store = openZarr(localZarr(`${dir}/s.zarr`), "s.zarr");
    const e = await assertRejects(
      () => store.readRows!("none", Uint32Array.of(4_000, 4_500)),
      CorruptFileError,
    );
    assert(e.message.includes("/none, chunk 4") && e.message.includes("past the chunk"), e.message);
    const e2 = await assertRejects(() => store.readUtf8!("none"), CorruptFileError);
    assert(e2.message.includes("/none, chunk 4"), e2.message);
    // Picks past the chunk's count are refused, not read as undefined.
    const ok = new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 0x61]);
    assertEquals(decodeVLenUTF8(ok, [0]), ["a"]);
    let threw = false;
    try {
      decodeVLenUTF8(ok, [0, 1]);
    } catch {
      threw = true;
    }
    assert(threw, "a pick past the count");
  },
});

Deno.test({
  name: "a zarr source reads each metadata document once, however many readers open it",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const gets = new Map<string, number>();
    const inner = localZarr(`${dir}/s.zarr`);
    const counting = {
      ...inner,
      get(key: string) {
        gets.set(key, (gets.get(key) ?? 0) + 1);
        return inner.get(key);
      },
    };
    const source = keepingMetadata(counting);
    const store = openZarr(source, "s.zarr");
    await store.readRows!("lz4", Uint32Array.of(5, 4_005));
    await store.readRows!("lz4", Uint32Array.of(6));
    await zarrRangeArray(source, "lz4", "s.zarr").catch(() => {}); // strings: not numeric
    assertEquals(gets.get("lz4/.zarray"), 1);
    // A string chunk is read once, kept decoded for the store's later reads.
    assertEquals(gets.get("lz4/0"), 1);
    // A metadata read that fails is tried again.
    let fail = true;
    const flaky = keepingMetadata({
      ...inner,
      get: (key: string) => fail ? Promise.reject(new Error("down")) : inner.get(key),
    });
    await assertRejects(() => flaky.get("lz4/.zarray"), Error, /down/);
    fail = false;
    assert(await flaky.get("lz4/.zarray"));
  },
});
