// Datasets of records (anndata's rec-array: scanpy's rank_genes_groups) read
// by our HDF5 reader field by field: every field of every record as h5py
// wrote it, whatever order and concurrency the fields are asked for in
// (the string fields are decoded together, in record order), unaligned
// fields included; a damaged string reference is a CorruptFileError.
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes } from "../../../src/formats/hdf5/h5file.ts";
import { openH5Range } from "../../../src/formats/hdf5/store.ts";
import { CorruptFileError } from "../../../mod.ts";

const py = needsPython("HDF5 records", "h5py", "numpy");

// 3,000 records of 12 string fields (ASCII, UTF-8, empty, longer than 32
// bytes), a packed int16 at an odd offset, a float64, a bool and a fixed
// string; and a second dataset whose strings share heap collections with
// the first (written after it). Prints the values, where the records lie in
// the file, their size and the offset of the field g0.
const WRITE = `
import sys, json, h5py, numpy as np
d = sys.argv[1]
n, k = 3000, 12
def s(i, j):
    v = (i * 31 + j * 7) % 97
    if v % 11 == 0: return ""
    if v % 7 == 0: return f"gène_{i}_{j} 🧬"
    if v % 13 == 0: return "x" * 40 + f"{i}.{j}"
    return f"GENE{i}_{j}"
vs = h5py.string_dtype()
dt = np.dtype([("g0", vs), ("b", "?"), ("i2", "<i2")] + [(f"g{j}", vs) for j in range(1, k)] +
              [("f8", "<f8"), ("fs", "S5")], align=False)
assert dt.fields["i2"][1] % 2 == 1  # unaligned
recs = np.empty(n, dt)
cols = {f"g{j}": [s(i, j) for i in range(n)] for j in range(k)}
for name, v in cols.items(): recs[name] = np.array(v, dtype=object)
recs["b"] = np.arange(n) % 3 == 0
recs["i2"] = (np.arange(n) * 7 - 5000).astype("<i2")
recs["f8"] = np.arange(n) / 8
recs["fs"] = [b"ab%d" % (i % 100) for i in range(n)]
with h5py.File(f"{d}/r.h5", "w") as f:
    r = f.create_dataset("recs", data=recs)
    other = f.create_dataset("more", data=recs[::-1])
    # In the file a string reference takes 16 bytes (in numpy 8); g0 comes first.
    at, size, g0 = r.id.get_offset(), r.id.get_storage_size() // n, 0
cols.update({"b": recs["b"].tolist(), "i2": recs["i2"].tolist(), "f8": recs["f8"].tolist(),
             "fs": [x.decode() for x in recs["fs"]]})
print(json.dumps({"cols": cols, "at": at, "size": size, "g0": g0}))
`;

interface Written {
  path: string;
  cols: Record<string, unknown[]>;
  at: number;
  size: number;
  g0: number;
}

async function written(): Promise<Written> {
  const dir = await tempDir();
  return { path: `${dir}/r.h5`, ...JSON.parse(await python(WRITE, dir)) };
}

/** Every field of `recs` and `more` through the store, all at once, in a shuffled order. */
async function readAll(path: string, fields: string[]) {
  const src = fileBytes(path);
  try {
    const store = await openH5Range(src, path);
    assertEquals(await store.describe("recs"), "group");
    assertEquals((await store.keys("recs")).length, fields.length);
    const order = [...fields].sort((a, b) => (a.length * 13 + a.charCodeAt(1)) % 7 - b.length);
    const paths = order.flatMap((f) => [`recs/${f}`, `more/${f}`]);
    const got = await Promise.all(paths.map((p) => store.read(p)));
    return new Map(paths.map((p, i) => [p, got[i]]));
  } finally {
    src.close();
  }
}

Deno.test({
  name: "every field of a dataset of records reads as h5py wrote it, asked for in any order",
  ...py,
  async fn() {
    const w = await written();
    const fields = Object.keys(w.cols);
    const got = await readAll(w.path, fields);
    for (const f of fields) {
      for (const [ds, want] of [["recs", w.cols[f]], ["more", [...w.cols[f]].reverse()]] as const) {
        const a = got.get(`${ds}/${f}`)!;
        assertEquals(a.shape, [want.length], `${ds}/${f}`);
        const values = a.kind === "bool"
          ? Array.from(a.data, (x) => x !== 0)
          : a.kind === "number"
          ? Array.from(a.data as ArrayLike<number>)
          : a.data;
        assertEquals(values, want, `${ds}/${f}`);
      }
    }
    assert((got.get("recs/i2")!.data as unknown) instanceof Int16Array);
  },
});

Deno.test({
  name: "a string reference of a record pointing outside the file is a CorruptFileError",
  ...py,
  async fn() {
    const w = await written();
    // The second record's first string ("GENE1_0"): its heap collection's address (bytes 4-11).
    const bytes = await Deno.readFile(w.path);
    new DataView(bytes.buffer).setBigUint64(w.at + w.size + w.g0 + 4, 1n << 40n, true);
    await Deno.writeFile(w.path, bytes);
    const src = fileBytes(w.path);
    try {
      const store = await openH5Range(src, w.path);
      assertEquals((await store.read("recs/f8")).shape, [3000]); // numbers unaffected
      await assertRejects(() => store.read("recs/g0"), CorruptFileError);
    } finally {
      src.close();
    }
  },
});
