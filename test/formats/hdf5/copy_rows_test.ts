// Rows of 2-D datasets whose chunks split the columns (as h5py chunks obsm
// matrices), read by scattered row ranges: every element type and chunk
// width (the word loop, the byte loop, wide chunks copied as subarrays),
// compressed or not, equal numpy's bytes.
import { assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { ds } from "./_ds.ts";

const py = needsPython("HDF5 reading", "h5py", "numpy");

const WRITE = `
import sys, json, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
names = []
with h5py.File(f"{d}/t.h5", "w") as f:
    for dtype in ["u1", "<i2", "<f4", "<f8"]:
        a = (rng.random((3_001, 37)) * 100).astype(dtype)
        for width in [1, 3, 5, 20]:
            for comp in [None, "gzip"]:
                name = f"{dtype.strip('<')}_{width}_{comp}"
                f.create_dataset(name, data=a, chunks=(250, width), compression=comp)
                open(f"{d}/{name}.bin", "wb").write(a.tobytes())
                names.append(name)
json.dump(names, open(f"{d}/names.json", "w"))
`;

Deno.test({
  name: "scattered rows of column-split chunks equal numpy's for every type and chunk width",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(WRITE, dir);
    const names: string[] = JSON.parse(await Deno.readTextFile(`${dir}/names.json`));
    assertEquals(names.length, 32);
    const f = await H5File.open(fileBytes(`${dir}/t.h5`), "t.h5");
    let x = 5;
    const rand = (k: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % k;
    for (const name of names) {
      const want = await Deno.readFile(`${dir}/${name}.bin`);
      const rowBytes = want.length / 3_001;
      const ranges: [number, number][] = [];
      for (let r = rand(5); r < 3_001;) {
        const len = 1 + rand(30);
        ranges.push([r, Math.min(3_001, r + len)]);
        r += len + rand(400);
      }
      if (ranges[ranges.length - 1][1] < 3_001) ranges.push([3_000, 3_001]);
      const clean = ranges.filter(([s], i) => i === 0 || s >= ranges[i - 1][1]);
      const bytes = await (await ds(f, name)).readRows(clean);
      const expect = new Uint8Array(bytes.length);
      let o = 0;
      for (const [s, e] of clean) {
        expect.set(want.subarray(s * rowBytes, e * rowBytes), o);
        o += (e - s) * rowBytes;
      }
      assertEquals(bytes, expect, name);
    }
  },
});
