// zarr v2 arrays of records (anndata's rec-array, as anndata writes scanpy's
// rank_genes_groups to zarr: numpy's fixed-width unicode fields) read field
// by field: every value as numpy holds it, whatever it is (astral code
// points, a byte order mark first, a lone surrogate, empty strings, strings
// filling their width), across record counts past one decoding piece;
// unaligned numbers of every width, and records of aligned words only.
import * as ln from "../../../mod.ts";
import { assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { CorruptFileError } from "../../../mod.ts";

const py = needsPython("zarr records", "anndata", "zarr", "numpy");

// An AnnData whose uns holds records of unicode, bytes, bool and numbers
// (the int16 at an odd offset), written by anndata, then one more array of
// records written by zarr itself (numpy's strings as they are, a lone
// surrogate included). Prints each field's values as JSON (a lone
// surrogate as its code point, JSON cannot carry it).
const WRITE = `
import sys, json, zarr, numpy as np, anndata as ad
d = sys.argv[1]
n = 30_000
def s(i):
    v = i % 97
    if v % 13 == 0: return "\\ufeff" + "x" * 5  # a byte order mark first (record 0 too)
    if v % 11 == 0: return ""
    if v % 7 == 0: return f"gène_{i} 🧬"
    if v % 17 == 0: return "W" * 12  # fills the field's width
    return f"GENE{i}"
names = [s(i) for i in range(n)]
dt = np.dtype([("u", "<U12"), ("b", "?"), ("i2", "<i2"), ("f8", "<f8"), ("s", "S4"),
               ("u8", "<u8"), ("i1", "i1")])
r = np.empty(n, dt)
r["u"] = names
r["b"] = np.arange(n) % 3 == 0
r["i2"] = (np.arange(n) * 7 - 5000).astype("<i2")
r["f8"] = np.arange(n) / 8
r["s"] = [b"ab%d" % (i % 100) for i in range(n)]
r["u8"] = np.arange(n, dtype="<u8") * 2**40
r["i1"] = (np.arange(n) % 200 - 100).astype("i1")
# Every field whole 32-bit words at word offsets (rank_genes_groups' layout).
al = np.empty(n, np.dtype([("u", "<U9"), ("f4", "<f4"), ("f8", "<f8"), ("i4", "<i4")]))
al["u"] = [f"G{i}" for i in range(n)]
al["f4"] = np.arange(n, dtype="<f4") / 4
al["f8"] = -np.arange(n) / 8
al["i4"] = np.arange(n, dtype="<i4") * 3 - 7
a = ad.AnnData(np.zeros((2, 1), np.float32))
a.uns["recs"] = r
a.uns["al"] = al
a.write_zarr(f"{d}/a.zarr")
g = zarr.open(f"{d}/a.zarr", "a")
odd = np.array(["ok", "a\\ud800b", "\\U0001f9ec", ""], dtype="<U3")
z = g["uns"].create_dataset("odd", data=np.rec.fromarrays([odd], names=["x"]), chunks=(2,))
z.attrs.update({"encoding-type": "rec-array", "encoding-version": "0.2.0"})
out = {k: r[k].tolist() for k in ["u", "b", "i2", "f8", "u8", "i1"]}
out["s"] = [x.decode() for x in r["s"]]
out["u8"] = [str(x) for x in out["u8"]]
out["odd"] = [[ord(c) for c in x] for x in odd]
out["al"] = {k: al[k].tolist() for k in ["u", "f4", "f8", "i4"]}
print(json.dumps(out))
`;

/** `actual` equals `expected` element by element (a diff of long arrays takes minutes). */
function sameList(actual: ArrayLike<unknown>, expected: unknown[], label: string): void {
  assertEquals(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assertEquals(actual[i], expected[i], `${label}[${i}]`);
  }
}

Deno.test({
  name: "every field of zarr records reads as numpy holds it (unicode of every kind, numbers)",
  ...py,
  async fn() {
    const dir = await tempDir();
    const want = JSON.parse(await python(WRITE, dir));
    const a = await ln.readZarr(`${dir}/a.zarr`);
    const recs = a.uns.recs as Record<string, ArrayLike<unknown>>;
    sameList(recs.u, want.u, "u");
    sameList(recs.s, want.s, "s");
    sameList(recs.b, want.b, "b");
    sameList(recs.i2, want.i2, "i2");
    sameList(recs.f8, want.f8, "f8");
    sameList(recs.i1, want.i1, "i1");
    sameList(Array.from(recs.u8 as BigUint64Array, String), want.u8, "u8");
    assertEquals([recs.i2.constructor, recs.u8.constructor], [Int16Array, BigUint64Array]);
    const al = a.uns.al as Record<string, ArrayLike<unknown>>;
    for (const k of ["u", "f4", "f8", "i4"]) sameList(al[k], want.al[k], `al.${k}`);
    const odd = (a.uns.odd as { x: string[] }).x;
    assertEquals(odd.map((x) => Array.from(x, (c) => c.codePointAt(0))), want.odd);
  },
});

Deno.test({
  name: "a zarr record's unicode field past U+10FFFF is a CorruptFileError",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(
      `
import sys, zarr, numpy as np, anndata as ad
d = sys.argv[1]
a = ad.AnnData(np.zeros((2, 1), np.float32))
a.uns["recs"] = np.rec.fromarrays([np.array(["ab", "cd"])], names=["g"])
a.write_zarr(f"{d}/a.zarr")
g = zarr.open(f"{d}/a.zarr/uns", "a")
attrs = dict(g["recs"].attrs)
del g["recs"]
g.create_dataset("recs", data=a.uns["recs"], compressor=None).attrs.update(attrs)
`,
      dir,
    );
    // The second record's first code point made 0x110000 (no compressor: the chunk as stored).
    const cells = new Uint32Array([0x61, 0x62, 0x110000, 0x64]);
    await Deno.writeFile(`${dir}/a.zarr/uns/recs/0`, new Uint8Array(cells.buffer));
    await assertRejects(() => ln.readZarr(`${dir}/a.zarr`), CorruptFileError, /not valid unicode/);
  },
});
