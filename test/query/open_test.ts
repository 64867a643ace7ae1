// file.open(): tables as polars LazyFrames (scans with filters and column
// selections pushed down), locally and on S3 (a verified cached copy);
// AnnData stores as BackedAnnData.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";
import { s3InstanceTest } from "../_s3.ts";
import { atlas } from "./_atlas.ts";

function table(n: number): pl.DataFrame {
  return pl.DataFrame({
    id: Array.from({ length: n }, (_, i) => i),
    group: Array.from({ length: n }, (_, i) => `g${i % 7}`),
    score: Array.from({ length: n }, (_, i) => (i * 37 % 101) / 10),
  });
}

const query = (lf: pl.LazyDataFrame) =>
  lf.filter(pl.col("group").eq(pl.lit("g3")).and(pl.col("score").gt(5))).select("id", "score");

Deno.test("open() of parquet, ipc, feather, arrow, csv and tsv files is a LazyFrame equal to load() then filter", async () => {
  const root = await freshInstance();
  try {
    for (const [i, format] of ["parquet", "ipc", "feather", "arrow", "csv", "tsv"].entries()) {
      const df = table(5000 + i); // distinct content: no dedup between formats
      const file = await new ln.File(df, { format, key: `t/${format}.${format}` }).save();
      const lf = await file.open() as ln.LazyFrame;
      assert(!(lf instanceof ln.BackedAnnData));
      const got = await query(lf).collect();
      const want = query((await file.load() as pl.DataFrame).lazy()).collectSync();
      assertEquals(got.height, want.height, format);
      assert(got.height > 100, `${format}: ${got.height} rows`);
      assertEquals(got.toRecords(), want.toRecords(), format);
      // The filter and the column selection run inside the scan.
      const plan = query(lf).describeOptimizedPlan();
      assert(/SCAN[\s\S]*SELECTION: .*g3/.test(plan), `${format}: ${plan}`);
      // A column selection alone reads one column of three.
      const one = lf.select("id").describeOptimizedPlan();
      assert(/SCAN[\s\S]*PROJECT 1\/3 COLUMNS/.test(one), `${format}: ${one}`);
    }
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("open() of an h5ad is a BackedAnnData; other formats and damaged tables are typed errors", async () => {
  const root = await freshInstance();
  try {
    const h5 = await new ln.File(atlas(50, 10), { key: "a.h5ad" }).save();
    const b = await h5.open();
    assert(b instanceof ln.BackedAnnData);
    assertEquals(b.shape, [50, 10]);
    b.close();
    const fq = await new ln.File(new TextEncoder().encode("@r\nACGT\n+\n!!!!\n"), {
      key: "r.fastq",
    })
      .save();
    await assertRejects(
      () => fq.open(),
      ln.UnsupportedFormatError,
      /open\(\) reads tables \(\.parquet .*\) and AnnData stores \(.*\.h5ad.*\), this is \.fastq/,
    );
    const bad = await new ln.File(new TextEncoder().encode("not parquet at all"), {
      key: "bad.parquet",
    }).save();
    await assertRejects(() => bad.open(), ln.CorruptFileError, /bad\.parquet" as \.parquet/);
    const gone = await new ln.File(table(3), { key: "gone.parquet" }).save();
    await Deno.remove(`${root}/gone.parquet`);
    await assertRejects(() => gone.open(), ln.NotFoundError, /missing/);
    await assertRejects(() => new ln.File(table(3)).open(), ln.ValidationError, /not saved/);
    await assertRejects(() => h5.open({ isRunInput: "yes" } as never), ln.ValidationError);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

s3InstanceTest(
  "open() of a parquet on S3 scans a cached copy, fetched again when the object changes",
  async ({ bucket, cache }) => {
    const df = table(2000);
    const file = await new ln.File(df, { key: "t.parquet" }).save();
    const lf = await file.open() as ln.LazyFrame;
    const want = query(df.lazy()).collectSync();
    assertEquals((await query(lf).collect()).toRecords(), want.toRecords());
    const copy = `${cache}/${bucket}/p/t.parquet`;
    const first = await Deno.stat(copy);
    assertEquals(first.size, file.size);
    // Opened again: the same copy (size and entity tag match), not fetched again.
    await file.open();
    assertEquals((await Deno.stat(copy)).mtime, first.mtime);
    // New content at the same key: the copy is refreshed, never stale.
    const next = table(3000);
    await file.replace(next);
    const again = await file.open() as ln.LazyFrame;
    assertEquals(
      (await query(again).collect()).toRecords(),
      query(next.lazy()).collectSync().toRecords(),
    );
  },
);
