// 2-D datasets chunked a few columns wide (as h5py chunks an obsm matrix),
// compressed: every value lands where Python has it, whole and by rows, for
// element sizes that take the 32-bit word copy and those that do not; and
// scattered row ranges of every element type and chunk width (the word
// loop, the byte loop, wide chunks copied as subarrays), compressed or not.
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { ds } from "./_ds.ts";

const py = needsPython("narrow chunks", "h5py", "numpy");

Deno.test({
  name: "2-D chunks a few columns wide (gzip) read whole and by row ranges equal h5py's values",
  ...py,
  async fn() {
    const dir = await tempDir();
    const path = `${dir}/n.h5`;
    const src = fileBytes(path);
    try {
      const want = JSON.parse(
        await python(
          `import sys, json, h5py, numpy as np
rng = np.random.default_rng(1)
out = {}
with h5py.File(sys.argv[1], "w") as f:
    for name, dt, shape, chunks in [("f32", "f4", (101, 9), (7, 2)), ("f64", "f8", (50, 5), (8, 2)),
                                     ("i16", "i2", (64, 7), (5, 2)), ("u8", "u1", (33, 10), (4, 3)),
                                     ("f32w", "f4", (40, 3), (6, 1))]:
        v = (rng.random(shape) * 1000).astype(dt)
        f.create_dataset(name, data=v, chunks=chunks, compression="gzip")
        out[name] = v.astype(float).ravel().tolist()
print(json.dumps(out))`,
          path,
        ),
      );
      const file = await H5File.open(src, path);
      for (const name of Object.keys(want)) {
        const ds = await file.get(name);
        if (!ds || ds.kind !== "dataset") throw new Error(name);
        const whole = await ds.read();
        assertEquals(Array.from(whole.data as ArrayLike<number>, Number), want[name], name);
        const cols = ds.shape[1];
        const ranges: [number, number][] = [[1, 4], [6, 6], [9, 23], [
          ds.shape[0] - 2,
          ds.shape[0],
        ]];
        const part = await ds.readRanges(ranges);
        const expect = ranges.flatMap(([s, e]) => want[name].slice(s * cols, e * cols));
        assertEquals(Array.from(part.data as ArrayLike<number>, Number), expect, `${name} rows`);
      }
    } finally {
      src.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const WRITE_TYPES = `
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
    await python(WRITE_TYPES, dir);
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
