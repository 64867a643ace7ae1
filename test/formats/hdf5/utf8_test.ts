// Variable-length strings read as UTF-8 bytes and offsets (for polars) give
// exactly the strings the JS-string decoder gives, whole and for random row
// subsets; damaged references are CorruptFileErrors before any allocation.
import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { fileBytes } from "../../../src/formats/hdf5/h5file.ts";
import { openH5Range } from "../../../src/formats/hdf5/store.ts";
import { readColumn } from "../../../src/formats/anndata/_decode.ts";
import { type Heaps, vstringsUtf8 } from "../../../src/formats/hdf5/_vstrings.ts";
import type { Collection } from "../../../src/formats/hdf5/_structures.ts";
import { assert, assertEquals, assertRejects } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";

const py = needsPython("UTF-8 string reads", "h5py", "numpy", "anndata", "pandas");

// 60,000 strings over several heap collections (h5py fills ~20,000 per
// collection): ASCII, non-ASCII, empty, longer than 32 bytes; plus bytes
// that are not UTF-8, and an h5ad whose obs has such columns.
const WRITE = `
import sys, random, h5py, numpy as np, pandas as pd, anndata as ad
random.seed(7)
alphabet = "abcXYZ019-_ üéß日本🧬"
def word():
    k = random.choice([0, 1, 5, 17, 33, 80])
    return "".join(random.choice(alphabet) for _ in range(k))
words = [word() for _ in range(60000)]
with h5py.File(sys.argv[1] + "/s.h5", "w") as f:
    f.create_dataset("s", data=np.array(words, dtype=object), dtype=h5py.string_dtype("utf-8"))
    f.create_dataset("bad", data=np.array([b"ok", b"\\xff\\xfe", b"x\\xc3"] * 400, dtype=object),
                     dtype=h5py.string_dtype("utf-8"))
    f.create_dataset("n", data=np.arange(10))
n = 3000
obs = pd.DataFrame({
    "name": [words[i] for i in range(n)],
    "c8": pd.Categorical([None if i % 7 == 0 else f"t{i % 5}" for i in range(n)]),
    "c16": pd.Categorical([f"d{i % 300}" for i in range(n)], categories=[f"d{j}" for j in range(300)]),
}, index=[f"c{i}" for i in range(n)])
a = ad.AnnData(X=np.zeros((n, 2), dtype=np.float32), obs=obs)
a.write_h5ad(sys.argv[1] + "/a.h5ad")
with h5py.File(sys.argv[1] + "/a.h5ad", "r") as f:
    print(f["obs/c8/codes"].dtype, f["obs/c16/codes"].dtype)
`;

let fixture: Promise<string> | undefined;
function written(): Promise<string> {
  return fixture ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "lamindeno-utf8-" });
    assertEquals((await python(WRITE, dir)).trim(), "int8 int16");
    return dir;
  })();
}

const dec = new TextDecoder();
function strings(u: { offsets: Int32Array; bytes: Uint8Array }): string[] {
  return Array.from(
    { length: u.offsets.length - 1 },
    (_, i) => dec.decode(u.bytes.subarray(u.offsets[i], u.offsets[i + 1])),
  );
}

function randomRows(n: number, seed: number): Uint32Array {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const p = [0.001, 0.05, 0.5, 0.99][seed % 4];
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (next() < p) rows.push(i);
  return Uint32Array.from(rows);
}

Deno.test({
  name: "readUtf8 gives the strings read() gives, whole and for random row subsets",
  ...py,
  async fn() {
    const dir = await written();
    const src = fileBytes(`${dir}/s.h5`);
    try {
      const store = await openH5Range(src, "s.h5");
      const whole = await store.read("s");
      assert(whole.kind === "string");
      const all: (string | null)[] = whole.data;
      const u = await store.readUtf8!("s");
      assert(u);
      assertEquals(strings(u), all);
      for (let seed = 1; seed <= 12; seed++) {
        const rows = randomRows(all.length, seed);
        const got = await store.readUtf8!("s", rows);
        assert(got);
        assertEquals(strings(got), Array.from(rows, (r) => all[r]), `seed ${seed}`);
      }
      assertEquals(await store.readUtf8!("n"), undefined, "numbers are not strings");
    } finally {
      src.close();
    }
  },
});

Deno.test({
  name: "h5ad obs columns read through Arrow equal Python's: strings, int8 and int16 " +
    "categoricals with missing values; bytes that are not UTF-8 decode as before",
  ...py,
  async fn() {
    const dir = await written();
    const a = await ln.readH5ad(`${dir}/a.h5ad`);
    const want = JSON.parse(
      await python(
        `import sys, json, anndata as ad
o = ad.read_h5ad(sys.argv[1]).obs
print(json.dumps({c: [None if v != v else str(v) for v in o[c].astype(object)] for c in o.columns}))`,
        `${dir}/a.h5ad`,
      ),
    );
    for (const c of ["name", "c8", "c16"]) {
      assertEquals(a.obs.getColumn(c).cast(pl.Utf8).toArray(), want[c], c);
    }
    assertEquals(String(a.obs.getColumn("c8").dtype), "DataType(Categorical)");
    assertEquals(a.categories.obs.c16.categories.length, 300);
    // Not UTF-8: polars refuses the bytes, the JS decoder replaces them.
    const src = fileBytes(`${dir}/s.h5`);
    try {
      const store = await openH5Range(src, "s.h5");
      const bad = await store.read("bad");
      assert(bad.kind === "string");
      assertEquals(bad.data.slice(0, 3), ["ok", "\ufffd\ufffd", "x\ufffd"]);
      const { series } = await readColumn(store, "", "bad");
      assertEquals(series.toArray(), bad.data);
    } finally {
      src.close();
    }
  },
});

Deno.test("vstringsUtf8: a reference past its heap object or to a missing one is a CorruptFileError", async () => {
  const heap: Collection = {
    bytes: new TextEncoder().encode("0123456789abcdefhello"),
    offsets: Float64Array.from([-1, 16]),
    sizes: Float64Array.from([0, 5]),
  };
  const heaps: Heaps = {
    local: false,
    get: () => Promise.resolve(heap),
    getAll: (addresses) => Promise.resolve(addresses.map(() => heap)),
    peek: () => undefined,
    readTransient: () => heap,
    keep: () => {},
  };
  const ref = (len: number, index: number) => new Uint32Array([len, 4096, 0, index]);
  const refs = (...r: Uint32Array[]) => {
    const out = new Uint8Array(16 * r.length);
    r.forEach((x, i) => out.set(new Uint8Array(x.buffer), 16 * i));
    return out;
  };
  const ok = await vstringsUtf8(refs(ref(5, 1), ref(0, 0), ref(3, 1)), 3, "t", heaps);
  assertEquals(strings(ok), ["hello", "", "hel"]);
  await assertRejects(
    () => vstringsUtf8(refs(ref(5, 1), ref(6, 1)), 2, "t", heaps),
    ln.CorruptFileError,
    /claims 6 bytes/,
  );
  await assertRejects(
    () => vstringsUtf8(refs(ref(2 ** 31, 1), ref(5, 1)), 2, "t", heaps),
    ln.CorruptFileError,
    /strings claim 2147483653 bytes/,
  );
  await assertRejects(
    () => vstringsUtf8(refs(ref(1, 7)), 1, "t", heaps),
    ln.CorruptFileError,
    /missing from its heap/,
  );
  await assertRejects(() => vstringsUtf8(new Uint8Array(20), 2, "t", heaps), ln.CorruptFileError);
});
