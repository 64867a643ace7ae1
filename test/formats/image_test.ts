// Images against Python PIL: PIL writes, we read; we write, PIL reads.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";
import { encodeImage } from "../../src/formats/image.ts";

const py = needsPython("images", "PIL", "numpy");

// PIL writes one image per mode; prints each as {shape, dtype, data (flat list)}.
const WRITE = `
import sys, json, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(0)
out = {}
def save(name, arr, mode=None, **kw):
    im = Image.fromarray(arr, mode) if mode else Image.fromarray(arr)
    im.save(f"{d}/{name}", **kw)
    back = np.asarray(Image.open(f"{d}/{name}"))
    if back.ndim == 2: back = back[:, :, None]
    out[name] = {"shape": list(back.shape), "dtype": str(back.dtype), "data": back.ravel().tolist()}
save("rgb.png", rng.integers(0, 256, (7, 5, 3), dtype=np.uint8))
save("rgba.png", rng.integers(0, 256, (4, 6, 4), dtype=np.uint8))
save("grey.png", rng.integers(0, 256, (3, 9), dtype=np.uint8))
save("grey16.png", rng.integers(0, 65536, (5, 4), dtype=np.uint16))
save("photo.jpg", np.tile(np.linspace(0, 255, 16, dtype=np.uint8), (16, 1))[:, :, None].repeat(3, 2), quality=95)
Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).convert("P", palette=Image.ADAPTIVE, colors=8).save(f"{d}/palette.png")
back = np.asarray(Image.open(f"{d}/palette.png").convert("RGB"))
out["palette.png"] = {"shape": list(back.shape), "dtype": "uint8", "data": back.ravel().tolist()}
print(json.dumps(out))
`;

const READ = `
import sys, json, numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]))
if a.ndim == 2: a = a[:, :, None]
print(json.dumps({"shape": list(a.shape), "dtype": str(a.dtype), "data": a.ravel().tolist()}))
`;

type Dumped = { shape: number[]; dtype: string; data: number[] };

Deno.test({
  name: "PNG and JPEG written by PIL load as the same ImageArray PIL reads",
  ...py,
  async fn() {
    const dir = await tempDir();
    const expected: Record<string, Dumped> = JSON.parse(await python(WRITE, dir));
    for (const [name, want] of Object.entries(expected)) {
      const img = await ln.readImage(`${dir}/${name}`);
      assertEquals(img.shape, want.shape, name);
      if (name.endsWith(".jpg")) {
        // Decoders may differ by rounding in the inverse DCT.
        const diffs = Array.from(img.data, (v, i) => Math.abs(v - want.data[i]));
        assert(Math.max(...diffs) <= 3, `${name}: max difference ${Math.max(...diffs)}`);
      } else {
        assertEquals(Array.from(img.data), want.data, name);
        assertEquals(img.data instanceof Uint16Array, want.dtype !== "uint8", name);
      }
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "images saved as Files (png default, jpg by format) open in PIL with our pixels",
  ...py,
  async fn() {
    const root = await freshInstance();
    try {
      const w = 17, h = 11;
      const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
      const png = await new ln.File({ data: rgb, shape: [h, w, 3] }, { name: "tile" }).save();
      assertEquals(png.suffix, ".png");
      const seen: Dumped = JSON.parse(await python(READ, png.path() as string));
      assertEquals(seen.shape, [h, w, 3]);
      assertEquals(seen.data, Array.from(rgb));
      assertEquals(Array.from((await png.load() as ln.ImageArray).data), Array.from(rgb));

      const grey16 = new Uint16Array(6).map((_, i) => i * 10000);
      const p16 = await new ln.File({ data: grey16, shape: [2, 3, 1] }).save();
      assertEquals(JSON.parse(await python(READ, p16.path() as string)).data, Array.from(grey16));

      const smooth = new Uint8Array(16 * 16 * 3).map((_, i) => Math.floor(i / 3) % 16 * 16);
      const jpg = await new ln.File({ data: smooth, shape: [16, 16, 3] }, { format: "jpg" }).save();
      assertEquals(jpg.suffix, ".jpg");
      const back: Dumped = JSON.parse(await python(READ, jpg.path() as string));
      assertEquals(back.shape, [16, 16, 3]);
      const err = back.data.reduce((a, v, i) => a + Math.abs(v - smooth[i]), 0) / smooth.length;
      assert(err < 4, `mean JPEG error ${err}`);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("bad images are refused before anything is written", async () => {
  const root = await freshInstance();
  try {
    assertEquals(
      (() => {
        try {
          new ln.File({ data: new Uint8Array(5), shape: [2, 2, 1] });
        } catch (e) {
          return (e as Error).constructor;
        }
        return undefined;
      })(),
      ln.ValidationError,
    );
    await assertRejects(
      () => new ln.File({ data: new Uint8Array(8), shape: [2, 1, 4] }, { format: "jpg" }).save(),
      ln.UnsupportedFormatError,
      /JPEG holds 8-bit grey or RGB/,
    );
    const junk = await new ln.File(crypto.getRandomValues(new Uint8Array(64)), { key: "x.png" })
      .save();
    await assertRejects(() => junk.load(), ln.CorruptFileError, /x\.png.*signature/);
    const truncated = await new ln.File(
      encodeImage({ data: new Uint8Array(300).fill(7), shape: [10, 10, 3] }, "png").slice(0, 40),
      { key: "cut.png" },
    ).save();
    await assertRejects(() => truncated.load(), ln.CorruptFileError, /cut\.png/);
    assertEquals((await ln.File.filter({})).length, 2);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
