// The codec table: one codec per format family, looked up by suffix (load,
// stream) or by in-memory data (save); a new format is one file plus one line.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { defineCodec } from "../../src/formats/codec.ts";
import {
  codecForData,
  codecForSuffix,
  CODECS,
  codecs,
  registerCodec,
} from "../../src/formats/codecs.ts";
import { txtlines } from "../fixtures/txtlines_codec.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";

async function withInstance(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await freshInstance();
  try {
    await fn(root);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

const lines = ["first line", "second line", ""];

Deno.test("a new format is one codec file plus one line: save, load and stream dispatch through it", () =>
  withInstance(async () => {
    const data = lines as unknown as ln.FileData;
    const bytes = await new ln.File(new TextEncoder().encode("a\nb"), { key: "ab.txtlines" })
      .save();
    // Before: the data is not File data, the suffix is not a format.
    await assertRejects(() => new ln.File(data), ln.ValidationError, /a Uint8Array/);
    await assertRejects(() => bytes.load(), ln.UnsupportedFormatError, /\.txtlines/);
    {
      using _ = registerCodec(txtlines); // the one line
      const f = await new ln.File(data, { name: "notes" }).save();
      assertEquals(f.suffix, ".txtlines");
      assertEquals(await Deno.readTextFile(f.path()), "first line\nsecond line\n");
      assertEquals(await f.load(), lines);
      assertEquals(await bytes.load(), ["a", "b"]);
      const keyed = await new ln.File(["x"] as unknown as ln.FileData, { key: "k/x.txtlines" })
        .save();
      assertEquals(keyed.key, "k/x.txtlines");
      assertEquals(await keyed.load(), ["x"]);
      await assertRejects(
        () => new ln.File(data, { format: "csv" }),
        ln.UnsupportedFormatError,
        /a string\[\] as "csv"; formats: txtlines/,
      );
      // No range reader: stream() names what streams.
      await assertRejects(() => f.stream(), ln.UnsupportedFormatError, /\.h5ad .*\.zarr/);
      // A DataFrame still goes to the table codec.
      const t = await new ln.File(pl.DataFrame({ a: [1] })).save();
      assertEquals(t.suffix, ".parquet");
    }
    // Disposed: gone from the table again.
    await assertRejects(() => new ln.File(data), ln.ValidationError, /a Uint8Array/);
    await assertRejects(() => bytes.load(), ln.UnsupportedFormatError, /\.txtlines/);
    assertEquals(codecForSuffix(".txtlines"), undefined);
  }));

Deno.test("each suffix belongs to one codec, and every codec that saves data can write its formats", () => {
  const seen = new Map<string, string>();
  for (const c of CODECS) {
    for (const s of c.suffixes) {
      assert(!seen.has(s), `${s} is claimed by ${seen.get(s)} and ${c.name}`);
      seen.set(s, c.name);
      assertEquals(s, s.toLowerCase());
      assertEquals(codecForSuffix(s.toUpperCase()), c);
    }
    if (c.accepts) {
      assert(Object.keys(c.formats ?? {}).length > 0, `${c.name} has formats`);
      assert(c.encode || c.write, `${c.name} can write`);
    }
  }
  for (const s of [".csv", ".parquet", ".h5ad", ".zarr", ".h5mu", ".png", ".jpeg", ".fastq.gz"]) {
    assert(seen.has(s), s);
  }
  assertEquals(codecs(), CODECS);
});

Deno.test("registerCodec refuses a suffix another codec has, and a codec that accepts data it cannot write", async () => {
  await assertRejects(
    () => registerCodec(defineCodec({ name: "csv2", noun: "x", suffixes: [".csv"] })),
    ln.ValidationError,
    /\.csv already belongs to codec "table"/,
  );
  await assertRejects(
    () =>
      registerCodec(
        defineCodec({ name: "bad", noun: "x", suffixes: [".bad"], accepts: (_): _ is 1 => true }),
      ),
    ln.ValidationError,
    /declares no formats/,
  );
  await assertRejects(
    () => registerCodec(defineCodec({ name: "upper", noun: "x", suffixes: [".TXT2"] })),
    ln.ValidationError,
    /lower case/,
  );
  assertEquals(codecs(), CODECS);
});

Deno.test("codecForData picks the asked format, else the key suffix's, else the codec's default", async () => {
  const df = pl.DataFrame({ a: [1, 2] });
  const img = { data: new Uint8Array(3), shape: [1, 1, 3] };
  const adata = new ln.AnnData({ obsNames: ["c"], varNames: ["g"] });
  const pick = (data: unknown, format?: string, key?: string) => {
    const e = codecForData(data, format, key)!;
    return `${e.codec.name} ${e.format} ${e.suffix}`;
  };
  assertEquals(pick(df), "table parquet .parquet");
  assertEquals(pick(df, undefined, ".TSV"), "table tsv .tsv");
  assertEquals(pick(df, "CSV"), "table csv .csv");
  assertEquals(pick(adata), "anndata_h5ad h5ad .h5ad");
  assertEquals(pick(adata, "zarr"), "anndata_zarr zarr .zarr");
  assertEquals(pick(adata, undefined, ".zarr"), "anndata_zarr zarr .zarr");
  assertEquals(pick(img), "image png .png");
  assertEquals(pick(img, "jpeg"), "image jpg .jpg");
  assertEquals(pick(img, "jpg", ".jpeg"), "image jpg .jpeg");
  assertEquals(codecForData(new Uint8Array(2)), undefined);
  await assertRejects(() => codecForData(adata, "csv"), ln.UnsupportedFormatError, /h5ad, zarr/);
  await assertRejects(
    () => codecForData(df, "parquet", ".csv"),
    ln.ValidationError,
    /does not match/,
  );
  await assertRejects(
    () => codecForData(img, undefined, ".gif"),
    ln.UnsupportedFormatError,
    /png, jpg/,
  );
  await assertRejects(
    () => codecForData({ data: new Uint8Array(2), shape: [1, 1, 3] }),
    ln.ValidationError,
    /needs 3/,
  );
});

Deno.test("UnsupportedFormatError extends NoInMemoryRepresentationError; no error class overrides Symbol.hasInstance", () => {
  assertEquals(Object.getPrototypeOf(ln.UnsupportedFormatError), ln.NoInMemoryRepresentationError);
  assert(new ln.UnsupportedFormatError("x") instanceof ln.NoInMemoryRepresentationError);
  assert(!(new ln.NoInMemoryRepresentationError("x") instanceof ln.UnsupportedFormatError));
  const classes = Object.values(ln).filter((v) =>
    typeof v === "function" && (v === ln.LaminError || v.prototype instanceof ln.LaminError)
  ) as (typeof ln.LaminError)[];
  assert(classes.length >= 11, `${classes.length} error classes`);
  for (const c of classes) {
    assert(!Object.hasOwn(c, Symbol.hasInstance), `${c.name} overrides Symbol.hasInstance`);
  }
});
