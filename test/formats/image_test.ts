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

// PIL writes PNGs of fewer than 8 bits a sample (and an interlaced 4-bit grey
// PNG made by hand); prints what we should read: RGB(A) for palettes, 0..255 grey.
const LOWBIT = `
import sys, json, struct, zlib, numpy as np
from PIL import Image
d = sys.argv[1]; rng = np.random.default_rng(0); out = {}
a = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
Image.fromarray(a[:, :, 0] > 127).save(d + "/mode1.png")
Image.fromarray(a).quantize(16).save(d + "/pal16.png")
Image.fromarray(a).quantize(2).save(d + "/pal2.png")
Image.fromarray(a).quantize(4).save(d + "/pal4.png", transparency=1)
Image.fromarray((rng.integers(0, 4, (5, 7)) * 85).astype(np.uint8)).convert("L").save(d + "/grey2.png", bits=2)
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
g = rng.integers(0, 16, (6, 10), dtype=np.uint8)
def rows(x):
    out = b""
    for r in x:
        r = list(r) + [0] * (len(r) % 2)
        out += b"\\1" + bytes(((r[i] << 4) | r[i + 1]) - (((r[i - 2] << 4) | r[i - 1]) if i else 0) & 255 for i in range(0, len(r), 2))
    return out
A7 = [(0,0,8,8),(4,0,8,8),(0,4,4,8),(2,0,4,4),(0,2,2,4),(1,0,2,2),(0,1,1,2)]
raw = b"".join(rows(g[ys::dy, xs::dx]) for xs, ys, dx, dy in A7 if g[ys::dy, xs::dx].size)
open(d + "/grey4_adam7.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 6, 4, 0, 0, 0, 1)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for n in ["mode1", "pal16", "pal2", "pal4", "grey2", "grey4_adam7"]:
    im = Image.open(f"{d}/{n}.png")
    x = np.asarray(im.convert("RGBA" if "transparency" in im.info else "RGB") if im.mode == "P" else im.convert("L"))
    if x.ndim == 2: x = x[:, :, None]
    out[n] = {"mode": im.mode, "shape": list(x.shape), "data": x.ravel().tolist()}
print(json.dumps(out))
`;

Deno.test({
  name: "PNGs of 1, 2 and 4 bits a sample (palette, grey, interlaced) load with one byte a sample",
  ...py,
  async fn() {
    const dir = await tempDir();
    const want: Record<string, { mode: string; shape: number[]; data: number[] }> = JSON.parse(
      await python(LOWBIT, dir),
    );
    assertEquals(Object.values(want).map((w) => w.mode), ["1", "P", "P", "P", "L", "L"]);
    for (const [n, w] of Object.entries(want)) {
      const img = await ln.readImage(`${dir}/${n}.png`);
      assertEquals(img.shape, w.shape, n);
      assertEquals(Array.from(img.data), w.data, n);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

// Valid but very compressible PNGs (masks), and damaged ones PIL refuses.
const SPARSE_AND_DAMAGED = `
import io, struct, sys, zlib, numpy as np
from PIL import Image
d = sys.argv[1]
Image.fromarray(np.zeros((512, 512), np.uint8)).save(f"{d}/empty512.png")
for mode, w, h in [("L", 2000, 2000), ("1", 4000, 4000), ("RGB", 3000, 3000)]:
    a = np.zeros((h, w) if mode != "RGB" else (h, w, 3), np.uint8)
    a[h//3:h//3+40, w//4:w//4+60] = 255
    Image.fromarray(a if mode != "1" else a > 0).save(f"{d}/mask_{mode}.png")
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
a = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
z = zlib.compress(b"".join(b"\\0" + r.tobytes() for r in a))
hdr = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30, 20, 8, 2, 0, 0, 0))
zf = bytearray(z); zf[len(z) // 2] ^= 0x10
open(d + "/flipped.png", "wb").write(hdr + chunk(b"IDAT", bytes(zf)) + chunk(b"IEND", b""))
open(d + "/cut.png", "wb").write(hdr + chunk(b"IDAT", z[: len(z) // 2]) + chunk(b"IEND", b""))
for n, w, h in [("width0", 0, 10), ("height0", 10, 0)]:
    open(f"{d}/{n}.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\\0" * 10)) + chunk(b"IEND", b""))
`;

Deno.test({
  name: "highly compressible PNGs load; damaged zlib data and a zero width or height are refused",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(SPARSE_AND_DAMAGED, dir);
    const shapes: Record<string, number[]> = {
      empty512: [512, 512, 1],
      mask_L: [2000, 2000, 1],
      mask_1: [4000, 4000, 1],
      mask_RGB: [3000, 3000, 3],
    };
    for (const [n, shape] of Object.entries(shapes)) {
      const img = await ln.readImage(`${dir}/${n}.png`);
      assertEquals(img.shape, shape, n);
      assertEquals(img.data.length, shape[0] * shape[1] * shape[2], n);
    }
    assertEquals((await ln.readImage(`${dir}/mask_1.png`)).data[4000 * 1340 + 1010], 255);
    await assertRejects(() => ln.readImage(`${dir}/flipped.png`), ln.CorruptFileError, /damaged/);
    await assertRejects(() => ln.readImage(`${dir}/cut.png`), ln.CorruptFileError, /cut\.png/);
    for (const n of ["width0", "height0"]) {
      await assertRejects(() => ln.readImage(`${dir}/${n}.png`), ln.CorruptFileError, /size/);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

const JPEGS = `
import struct, sys, io, numpy as np
from PIL import Image
d = sys.argv[1]
Image.fromarray((np.arange(48 * 64) % 256).astype(np.uint8).reshape(48, 64)).save(d + "/grey.jpg", quality=95)
b = io.BytesIO(); Image.fromarray(np.zeros((48, 64, 3), np.uint8) + 90).save(b, "JPEG", quality=90)
b = bytearray(b.getvalue()); i = b.find(b"\\xff\\xc0"); b[i+5:i+9] = struct.pack(">HH", 9999, 10000)
open(d + "/huge.jpg", "wb").write(b)
`;

Deno.test({
  name:
    "a greyscale JPEG loads with 1 channel; one claiming far more pixels than its size is refused at once",
  ...py,
  async fn() {
    const dir = await tempDir();
    await python(JPEGS, dir);
    const grey = await ln.readImage(`${dir}/grey.jpg`);
    assertEquals(grey.shape, [48, 64, 1]);
    const want: Dumped = JSON.parse(await python(READ, `${dir}/grey.jpg`));
    const diff = Math.max(...Array.from(grey.data, (v, i) => Math.abs(v - want.data[i])));
    assert(diff <= 3, `max difference ${diff}`);
    const t0 = performance.now();
    await assertRejects(() => ln.readImage(`${dir}/huge.jpg`), ln.CorruptFileError, /10000x9999/);
    assert(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("readImage and writeImage check their arguments and write nothing on bad input", async () => {
  const dir = await tempDir();
  const img: ln.ImageArray = { data: new Uint8Array(3), shape: [1, 1, 3] };
  await assertRejects(() => ln.readImage(`${dir}/missing.png`), ln.NotFoundError, /missing\.png/);
  await assertRejects(() => ln.readImage(dir), ln.ValidationError, /folder/);
  await assertRejects(() => ln.readImage(`${dir}/a\0.png`), ln.ValidationError, /NUL/);
  await assertRejects(() => ln.readImage(5 as never), ln.ValidationError, /path string/);
  await assertRejects(() => ln.writeImage(null as never, `${dir}/a.png`), ln.ValidationError);
  await assertRejects(() => ln.writeImage(img, null as never), ln.ValidationError, /path/);
  await assertRejects(() => ln.writeImage(img, 5 as never), ln.ValidationError, /path/);
  await assertRejects(() => ln.writeImage(img, `${dir}/a\0.png`), ln.ValidationError, /NUL/);
  const floats = { data: new Float32Array(3), shape: [1, 1, 3] };
  await assertRejects(
    () => ln.writeImage(floats as never, `${dir}/f.png`),
    ln.ValidationError,
    /Float32Array/,
  );
  const plain = { data: [1, 2, 3], shape: [1, 1, 3] };
  await assertRejects(
    () => ln.writeImage(plain as never, `${dir}/p.png`),
    ln.ValidationError,
    /Array/,
  );
  await assertRejects(() => ln.writeImage(img, `${dir}/no/such/dir/a.png`), ln.NotFoundError);
  assertEquals([...Deno.readDirSync(dir)].length, 0);
  await Deno.remove(dir, { recursive: true });
});
