// Our HDF5 writer against h5py (and h5wasm) reading what it wrote.
import h5wasm from "h5wasm/node";
import { assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { writeHdf5 } from "../../../src/formats/hdf5/write.ts";
import type { TreeArray, TreeGroup } from "../../../src/formats/anndata/_tree.ts";

const py = needsPython("HDF5 writing", "h5py", "numpy");

const a = (
  dtype: TreeArray["dtype"],
  data: TreeArray["data"],
  shape: number[],
  chunks?: number[],
  attrs: TreeArray["attrs"] = {},
): TreeArray => ({ kind: "array", attrs, dtype, data, shape, chunks });

function tree(): TreeGroup {
  const many = 25_000;
  return {
    kind: "group",
    attrs: {
      s: "anndata",
      n: 3,
      f: 1.5,
      yes: true,
      no: false,
      names: ["a", "bé", ""],
      ints: [4, 5],
    },
    children: {
      i8: a("int8", Int8Array.of(-128, 0, 127), [3]),
      i16: a("int16", Int16Array.of(-300, 300), [2]),
      i32: a("int32", Int32Array.of(-70000, 70000), [2]),
      i64: a("int64", BigInt64Array.of(-(2n ** 40n), 2n ** 40n), [2]),
      u8: a("uint8", Uint8Array.of(0, 255), [2]),
      u16: a("uint16", Uint16Array.of(65535), [1]),
      u32: a("uint32", Uint32Array.of(4000000000), [1]),
      u64: a("uint64", BigUint64Array.of(2n ** 63n), [1]),
      f32: a("float32", Float32Array.of(1.5, -0.25, NaN), [3]),
      f64: a("float64", Float64Array.of(Math.PI, -1e300), [2]),
      bools: a("bool", Uint8Array.of(1, 0, 1), [3], undefined, { ordered: true }),
      strs: a("str", ["hello", "", "wörld 🧬", null], [4]),
      many_strs: a("str", Array.from({ length: 100_000 }, (_, i) => `cell_${i}`), [100_000]),
      scalar_i: a("int64", BigInt64Array.of(7n), []),
      scalar_f: a("float64", Float64Array.of(0.5), []),
      scalar_s: a("str", ["just one"], []),
      scalar_b: a("bool", Uint8Array.of(1), []),
      chunked: a("float32", Float32Array.from({ length: many * 4 }, (_, i) => i), [many * 4], [4]),
      dense: a("float64", Float64Array.from({ length: 30 }, (_, i) => i / 2), [10, 3], [4, 3]),
      empty: a("float32", new Float32Array(0), [0]),
      wide: {
        kind: "group",
        attrs: { "encoding-type": "dict" },
        children: Object.fromEntries(
          Array.from(
            { length: 300 },
            (_, i) => [`col ${i}`, a("uint8", Uint8Array.of(i % 256), [1])],
          ),
        ),
      },
      nested: {
        kind: "group",
        attrs: {},
        children: { deeper: { kind: "group", attrs: {}, children: {} } },
      },
    },
  };
}

const DUMP = `
import sys, json, h5py, numpy as np
out = {}
def val(x):
    if isinstance(x, bytes): return x.decode()
    if isinstance(x, np.ndarray): return [val(v) for v in x.tolist()] if x.dtype == object else val(x.tolist())
    if isinstance(x, list): return [val(v) for v in x]
    if isinstance(x, (np.bool_, bool)): return bool(x)
    if isinstance(x, (np.integer,)): return int(x)
    if isinstance(x, (np.floating, float)): return None if x != x else float(x)
    return x
def visit(name, obj):
    e = {"attrs": {k: val(v) for k, v in obj.attrs.items()}}
    if isinstance(obj, h5py.Dataset):
        data = obj.asstr()[()] if h5py.check_string_dtype(obj.dtype) else obj[()]
        e.update(dtype=str(obj.dtype) if not h5py.check_string_dtype(obj.dtype) else "str",
                 shape=list(obj.shape), chunks=obj.chunks and list(obj.chunks), compression=obj.compression)
        e["data"] = val(np.asarray(data)) if name not in ("many_strs", "chunked") else None
        if name == "many_strs": e["check"] = bool(all(s == f"cell_{i}" for i, s in enumerate(data)))
        if name == "chunked": e["check"] = bool((data == np.arange(len(data), dtype="f4")).all())
    else:
        e["keys"] = len(obj.keys())
    out[name] = e
with h5py.File(sys.argv[1], "r") as f:
    out["/"] = {"attrs": {k: val(v) for k, v in f.attrs.items()}, "keys": len(f.keys())}
    f.visititems(visit)
print(json.dumps(out))
`;

for (const compression of [undefined, "gzip"] as const) {
  Deno.test({
    name: `writeHdf5 (${
      compression ?? "uncompressed"
    }): h5py reads every dtype, shape, chunking and attribute back`,
    ...py,
    async fn() {
      const dir = await tempDir();
      await writeHdf5(tree(), `${dir}/t.h5`, { compression });
      const d = JSON.parse(await python(DUMP, `${dir}/t.h5`));
      assertEquals(d["/"].attrs, {
        s: "anndata",
        n: 3,
        f: 1.5,
        yes: true,
        no: false,
        names: ["a", "bé", ""],
        ints: [4, 5],
      });
      const data = (k: string) => d[k].data;
      assertEquals([d.i8.dtype, data("i8")], ["int8", [-128, 0, 127]]);
      assertEquals([d.i16.dtype, data("i16")], ["int16", [-300, 300]]);
      assertEquals([d.i32.dtype, data("i32")], ["int32", [-70000, 70000]]);
      assertEquals([d.i64.dtype, data("i64")], ["int64", [-(2 ** 40), 2 ** 40]]);
      assertEquals([d.u8.dtype, data("u8")], ["uint8", [0, 255]]);
      assertEquals([d.u16.dtype, d.u32.dtype, d.u64.dtype], ["uint16", "uint32", "uint64"]);
      assertEquals([data("u32"), data("u64")], [[4000000000], [2 ** 63]]);
      assertEquals([d.f32.dtype, data("f32")], ["float32", [1.5, -0.25, null]]);
      assertEquals([d.f64.dtype, data("f64")], ["float64", [Math.PI, -1e300]]);
      assertEquals([d.bools.dtype, data("bools"), d.bools.attrs], ["bool", [true, false, true], {
        ordered: true,
      }]);
      assertEquals([d.strs.dtype, data("strs")], ["str", ["hello", "", "wörld 🧬", ""]]);
      assertEquals([d.many_strs.shape, d.many_strs.check], [[100_000], true]);
      assertEquals([d.scalar_i.shape, data("scalar_i")], [[], 7]);
      assertEquals([data("scalar_f"), data("scalar_s"), data("scalar_b")], [0.5, "just one", true]);
      assertEquals([d.chunked.chunks, d.chunked.check, d.chunked.compression], [
        [4],
        true,
        compression ?? null,
      ]);
      assertEquals([d.dense.chunks, data("dense")[9]], [[4, 3], [13.5, 14, 14.5]]);
      assertEquals(d.empty.shape, [0]);
      assertEquals([d.wide.keys, d["wide/col 299"].data, d.wide.attrs], [300, [43], {
        "encoding-type": "dict",
      }]);
      assertEquals([d.nested.keys, d["nested/deeper"].keys], [1, 0]);
      await Deno.remove(dir, { recursive: true });
    },
  });
}

Deno.test("writeHdf5: h5wasm (the HDF5 C library) opens our files", async () => {
  const dir = await tempDir();
  await writeHdf5(tree(), `${dir}/t.h5`);
  await h5wasm.ready;
  const f = new h5wasm.File(`${dir}/t.h5`, "r");
  try {
    // deno-lint-ignore no-explicit-any
    const get = (p: string) => f.get(p) as any;
    assertEquals(Array.from(get("i32").value), [-70000, 70000]);
    assertEquals(get("strs").value, ["hello", "", "wörld 🧬", ""]);
    const chunked = get("chunked").value as Float32Array;
    assertEquals([chunked.length, chunked[99_999]], [100_000, 99_999]);
    assertEquals(get("wide").keys().length, 300);
    assertEquals(f.attrs["s"].value, "anndata");
  } finally {
    f.close();
    await Deno.remove(dir, { recursive: true });
  }
});
