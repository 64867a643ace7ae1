// Tensors: zarrita arrays saved as Files and loaded back; Python-written zarr
// array stores load as zarrita arrays.
import * as zarr from "zarrita";
import * as ln from "../../mod.ts";
import { assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

function memoryStore() {
  const m = new Map<string, Uint8Array>();
  return {
    get: (k: string) => Promise.resolve(m.get(k)),
    set: (k: string, v: Uint8Array) => Promise.resolve(void m.set(k, v)),
  };
}

Deno.test("a zarrita array (in-memory store) saves as a .zarr File and loads back equal", async () => {
  const root = await freshInstance();
  try {
    const arr = await zarr.create(zarr.root(memoryStore()), {
      shape: [5, 7],
      chunkShape: [2, 3],
      dtype: "float32",
      attributes: { unit: "counts" },
    });
    const values = new Float32Array(35).map((_, i) => i * 1.5);
    await zarr.set(arr, null, { data: values, shape: [5, 7], stride: [7, 1] });
    const f = await new ln.File(arr, { name: "counts" }).save();
    assertEquals(f.suffix, ".zarr");
    const back = await f.load() as typeof arr;
    assertEquals(back.shape, [5, 7]);
    assertEquals(back.chunks, [2, 3]);
    assertEquals(back.attrs, { unit: "counts" });
    const got = await zarr.get(back);
    assertEquals(Array.from(got.data as Float32Array), Array.from(values));
    // The same array again: dedup by the store's hash.
    const again = await new ln.File(arr).save();
    assertEquals(again.id, f.id);
    await assertRejects(
      () => Promise.resolve(new ln.File(arr, { format: "h5ad" })),
      ln.UnsupportedFormatError,
      /zarr/,
    );
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "a zarr v2 array store written by Python zarr loads as a zarrita array",
  ...needsPython("zarr arrays", "zarr", "numpy"),
  async fn() {
    const dir = await tempDir();
    await python(
      `import sys, zarr, numpy as np
z = zarr.open(sys.argv[1], mode="w", shape=(6, 4), chunks=(4, 4), dtype="int32")
z[:] = np.arange(24, dtype="int32").reshape(6, 4)`,
      `${dir}/a.zarr`,
    );
    const root = await freshInstance();
    try {
      const f = await new ln.File(`${dir}/a.zarr`).save();
      const arr = await f.load() as zarr.Array<"int32">;
      assertEquals(arr.shape, [6, 4]);
      const got = await zarr.get(arr);
      assertEquals(Array.from(got.data as Int32Array), Array.from({ length: 24 }, (_, i) => i));
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});
