// load() dispatch: formats without an in-memory form, unknown suffixes.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";

Deno.test("fastq, vcf, html register with hash and size; load() points to path()/stage()", async () => {
  const root = await freshInstance();
  try {
    for (const key of ["r1.fastq", "r1.fastq.gz", "calls.vcf", "calls.vcf.gz", "report.html"]) {
      const f = await new ln.File(new TextEncoder().encode(`content of ${key}`), { key }).save();
      assertEquals(f.size, `content of ${key}`.length);
      assertEquals(f.hash!.length, 22);
      const e = await assertRejects(
        () => f.load(),
        ln.NoInMemoryRepresentationError,
        /file\.path\(\) or file\.stage\(\)/,
      );
      assert(!(e instanceof ln.UnsupportedFormatError), `${key} is a known format`);
    }
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an unknown suffix: NoInMemoryRepresentationError that is also an UnsupportedFormatError listing what loads", async () => {
  const root = await freshInstance();
  try {
    const f = await new ln.File(new Uint8Array([1, 2]), { key: "thing.xyz" }).save();
    const e = await assertRejects(() => f.load(), ln.NoInMemoryRepresentationError, /\.xyz/);
    assert(e instanceof ln.UnsupportedFormatError);
    for (const s of [".h5ad", ".parquet", ".png", ".zarr"]) assert(e.message.includes(s), s);
    assert(!(new ln.NoInMemoryRepresentationError("x") instanceof ln.UnsupportedFormatError));
    assert(new ln.UnsupportedFormatError("x") instanceof ln.UnsupportedFormatError);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
