// 2-D datasets chunked a few columns wide (as h5py chunks an obsm matrix),
// compressed: every value lands where Python has it, whole and by rows, for
// element sizes that take the 32-bit word copy and those that do not.
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";

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
