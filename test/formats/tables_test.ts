import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";
import { needsPython, python } from "../_python.ts";

const df = () =>
  pl.DataFrame({
    cell: ["c1", "c2", "c3"],
    n_genes: [1200, 800, 950],
    score: [0.5, null, 1.25],
    ok: [true, false, true],
  });

async function withInstance(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await freshInstance();
  try {
    await fn(root);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a polars DataFrame is saved as parquet by default and loads back equal", () =>
  withInstance(async () => {
    const f = await new ln.File(df(), { name: "cells" }).save();
    assertEquals(f.suffix, ".parquet");
    const back = await f.load() as pl.DataFrame;
    assertEquals(back.columns, ["cell", "n_genes", "score", "ok"]);
    assertEquals(back.toRecords(), df().toRecords());
  }));

Deno.test("DataFrames round-trip through every table format", () =>
  withInstance(async () => {
    for (const format of ["csv", "tsv", "parquet", "ipc", "feather", "arrow"]) {
      const f = await new ln.File(df().withColumn(pl.lit(format).alias("fmt")), { format }).save();
      assertEquals(f.suffix, `.${format}`);
      const back = await f.load() as pl.DataFrame;
      assertEquals(back.getColumn("n_genes").toArray().map(Number), [1200, 800, 950], format);
      assertEquals(back.getColumn("cell").toArray(), ["c1", "c2", "c3"], format);
      assertEquals(back.getColumn("score").toArray(), [0.5, null, 1.25], format);
    }
  }));

Deno.test("the key's suffix picks the format; a conflicting format is refused", () =>
  withInstance(async () => {
    const f = await new ln.File(df(), { key: "tables/cells.tsv" }).save();
    assertEquals(f.suffix, ".tsv");
    const text = await Deno.readTextFile(f.path());
    assertEquals(text.split("\n")[0], "cell\tn_genes\tscore\tok");
    await assertRejects(
      () => new ln.File(df(), { key: "x.csv", format: "parquet" }),
      ln.ValidationError,
      /does not match/,
    );
    await assertRejects(
      () => new ln.File(df(), { format: "xlsx" }),
      ln.UnsupportedFormatError,
      /parquet, csv/,
    );
  }));

Deno.test("a table file registered from a path loads as a DataFrame", () =>
  withInstance(async (root) => {
    await Deno.writeTextFile(`${root}/t.csv`, "a,b\n1,x\n2,y\n");
    const f = await new ln.File(`${root}/t.csv`).save();
    const back = await f.load() as pl.DataFrame;
    assertEquals(back.shape, { height: 2, width: 2 });
  }));

Deno.test("random bytes named .parquet load as CorruptFileError naming the file", () =>
  withInstance(async () => {
    const f = await new ln.File(crypto.getRandomValues(new Uint8Array(256)), {
      key: "bad.parquet",
    }).save();
    await assertRejects(() => f.load(), ln.CorruptFileError, /bad\.parquet.*PAR1/);
  }));

Deno.test("replace() with a DataFrame writes the new format", () =>
  withInstance(async () => {
    const f = await new ln.File(df()).save();
    await f.replace(df().head(1), { format: "csv" });
    assertEquals(f.suffix, ".csv");
    assertEquals(((await f.load()) as pl.DataFrame).height, 1);
  }));

Deno.test("an apache-arrow Table is accepted as data; load({ as: 'arrow' }) returns one", () =>
  withInstance(async () => {
    const arrow = await import("apache-arrow");
    const table = arrow.tableFromArrays({
      cell: ["c1", "c2", "c3"],
      n_genes: new Int32Array([1200, 800, 950]),
      score: new Float64Array([0.5, 2, 1.25]),
    });
    for (const format of [undefined, "arrow", "csv"] as const) {
      const f = await new ln.File(table, { format, name: `cells-${format}` }).save();
      assertEquals(f.suffix, `.${format ?? "parquet"}`);
      const back = await f.load({ as: "arrow" }) as typeof table;
      assertEquals(back.numRows, 3);
      assertEquals(back.getChild("cell")!.toArray(), ["c1", "c2", "c3"]);
      assertEquals(Array.from(back.getChild("n_genes")!.toArray(), Number), [1200, 800, 950]);
      assertEquals(Array.from(back.getChild("score")!.toArray(), Number), [0.5, 2, 1.25]);
      const df = await f.load() as pl.DataFrame;
      assertEquals(df.getColumn("cell").toArray(), ["c1", "c2", "c3"]);
    }
    // A polars-written IPC file (view types) also loads as arrow.
    const ipc = await new ln.File(df(), { format: "arrow" }).save();
    const t = await ipc.load({ as: "arrow" }) as typeof table;
    assertEquals(t.getChild("cell")!.toArray(), ["c1", "c2", "c3"]);
    assertEquals(t.getChild("score")!.get(1), null);
    assertEquals(t.getChild("score")!.get(2), 1.25);
  }));

Deno.test("load({ as: 'arrow' }) of a non-table is refused with UnsupportedFormatError", () =>
  withInstance(async () => {
    const f = await new ln.File(new Uint8Array([1]), { key: "x.fastq" }).save();
    await assertRejects(() => f.load({ as: "arrow" }), ln.UnsupportedFormatError, /only tables/);
    // deno-lint-ignore no-explicit-any
    await assertRejects(() => f.load({ as: "pandas" as any }), ln.ValidationError, /arrow/);
  }));

Deno.test({
  name: "csv round trip with pandas: pandas writes -> we load -> we write -> pandas reads the same",
  ...needsPython("csv with pandas", "pandas"),
  async fn() {
    const dir = await tempDir();
    await python(
      `import sys, pandas as pd, numpy as np
pd.DataFrame({"cell": ["c1", "c2", "c3"], "n": [1, 2, 3], "score": [0.5, np.nan, 2.25],
              "ok": [True, False, True], "type": ["T cell", None, "B, cell"]}).to_csv(sys.argv[1], index=False)`,
      `${dir}/in.csv`,
    );
    await withInstance(async () => {
      const f = await new ln.File(`${dir}/in.csv`).save();
      const df = await f.load() as pl.DataFrame;
      assertEquals(df.columns, ["cell", "n", "score", "ok", "type"]);
      const out = await new ln.File(df, { format: "csv", name: "out" }).save();
      const same = await python(
        `import sys, pandas as pd
a, b = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
pd.testing.assert_frame_equal(a, b)
print("same")`,
        `${dir}/in.csv`,
        out.path() as string,
      );
      assertEquals(same.trim(), "same");
    });
    await Deno.remove(dir, { recursive: true });
  },
});

/** load() and open().collect() of the same file: both frames, or both errors. */
async function loadAndOpen(f: ln.File): Promise<[pl.DataFrame, pl.DataFrame]> {
  const loaded = await f.load({ as: "dataframe" });
  const opened = await (await f.open() as ln.LazyFrame).collect();
  return [loaded, opened];
}

Deno.test("table files with upper-case suffixes (.CSV .TSV .PARQUET .IPC) load and open", () =>
  withInstance(async (root) => {
    await Deno.writeTextFile(`${root}/t.CSV`, "a,b\n1,x\n2,y\n");
    await Deno.writeTextFile(`${root}/t.TSV`, "a\tb\n1\tx\n2\ty\n");
    const small = pl.DataFrame({ a: [1, 2], b: ["x", "y"] });
    small.writeParquet(`${root}/t.PARQUET`);
    small.writeIPC(`${root}/t.IPC`);
    small.writeIPC(`${root}/t.Feather`);
    for (const n of ["t.CSV", "t.TSV", "t.PARQUET", "t.IPC", "t.Feather"]) {
      const f = await new ln.File(`${root}/${n}`).save();
      for (const df of await loadAndOpen(f)) {
        assertEquals(df.columns, ["a", "b"], n);
        assertEquals(df.getColumn("b").toArray(), ["x", "y"], n);
      }
    }
  }));

Deno.test("load() and open() refuse a CSV row with more fields than the header, naming the problem", () =>
  withInstance(async (root) => {
    for (
      const [n, text] of [["long.csv", "a,b\n1,2,3\n4,5\n"], ["trail.csv", "a,b\n1,2,\n3,4,\n"]]
    ) {
      await Deno.writeTextFile(`${root}/${n}`, text);
      const f = await new ln.File(`${root}/${n}`).save();
      await assertRejects(() => f.load(), ln.CorruptFileError, /more fields than the header/);
      const lf = await f.open() as ln.LazyFrame;
      await assertRejects(() => lf.collect(), ln.CorruptFileError, /more fields than the header/);
      await assertRejects(() => lf.collectSync(), ln.CorruptFileError, /more fields/);
    }
  }));

Deno.test("a quote inside an unquoted CSV field is a character, as in pandas, in load() and open()", () =>
  withInstance(async (root) => {
    await Deno.writeTextFile(`${root}/q1.csv`, 'a,b\nx"y,1\n');
    await Deno.writeTextFile(`${root}/q2.csv`, 'a,b\nx"y,1\nz,2\n');
    for (const n of ["q1.csv", "q2.csv"]) {
      const f = await new ln.File(`${root}/${n}`).save();
      for (const df of await loadAndOpen(f)) {
        assertEquals(df.getColumn("a").toArray().slice(0, 1), ['x"y'], n);
        assertEquals(df.getColumn("b").toArray().map(Number).slice(0, 1), [1], n);
      }
      // A query built before the first collect() is replayed on the re-read.
      const lf = await f.open() as ln.LazyFrame;
      const got = await lf.filter(pl.col("b").eq(1)).select("a").collect();
      assertEquals(got.toRecords(), [{ a: 'x"y' }], n);
    }
    // A file that quotes fields and has a quote that does not close its field.
    await Deno.writeTextFile(`${root}/q3.csv`, 'a,b\n"p,q",1\nx"y,2\nz,3\n');
    const f = await new ln.File(`${root}/q3.csv`).save();
    await assertRejects(() => f.load(), ln.CorruptFileError, /quoted whole/);
    await assertRejects(
      async () => await (await f.open() as ln.LazyFrame).collect(),
      ln.CorruptFileError,
    );
  }));

Deno.test("errors from a query on open() are LaminErrors, not raw polars errors", () =>
  withInstance(async () => {
    const f = await new ln.File(pl.DataFrame({ a: [1, 2], s: ["x", "y"] }), { format: "csv" })
      .save();
    const lf = await f.open() as ln.LazyFrame;
    await assertRejects(() => lf.select("nope").collect(), ln.ColumnNotFoundError, /nope/);
    await assertRejects(() => lf.select("nope").collectSync(), ln.ColumnNotFoundError);
    await assertRejects(
      () => lf.select(pl.col("s").cast(pl.Int64, true)).collect(),
      ln.ValidationError,
      /failed/,
    );
    // Opened frames still combine with each other and with polars' functions.
    assertEquals((await pl.concat([lf, lf]).collect()).height, 4);
    assertEquals((await lf.join(lf, { on: "a" }).collect()).height, 2);
  }));

Deno.test("a CSV column name holding a quote keeps it in load() and open() (csv and tsv round trip)", () =>
  withInstance(async () => {
    const df = pl.DataFrame({ 'q"t': [1, 2], v: ['a"b', "c"] });
    for (const format of ["csv", "tsv"] as const) {
      const f = await new ln.File(df, { key: `t.${format}`, format }).save();
      for (const back of await loadAndOpen(f)) {
        assertEquals(back.columns, ['q"t', "v"], format);
        assertEquals(back.getColumn("v").toArray(), ['a"b', "c"], format);
      }
    }
  }));

Deno.test("CSV integers past int64 load as UInt64 when they fit, else as exact strings", () =>
  withInstance(async (root) => {
    await Deno.writeTextFile(
      `${root}/ids.csv`,
      "id,neg,v\n18446744073709551615,-18446744073709551615,1\n9223372036854775808,5,2\n",
    );
    const f = await new ln.File(`${root}/ids.csv`).save();
    for (const df of await loadAndOpen(f)) {
      assertEquals(df.dtypes.map(String), [pl.UInt64, pl.String, pl.Int64].map(String));
      assertEquals(df.getColumn("id").toArray(), [18446744073709551615n, 9223372036854775808n]);
      assertEquals(df.getColumn("neg").toArray(), ["-18446744073709551615", "5"]);
    }
    const arrow = await f.load({ as: "arrow" });
    assertEquals(arrow.numRows, 2);
  }));

Deno.test("a CSV column whose type changes after row 100 loads with the type of all its rows", () =>
  withInstance(async (root) => {
    await Deno.writeTextFile(`${root}/f.csv`, "v,w\n" + "1,2\n".repeat(150) + "1.5,x\n");
    const f = await new ln.File(`${root}/f.csv`).save();
    for (const df of await loadAndOpen(f)) {
      assertEquals(df.dtypes.map(String), [pl.Float64, pl.String].map(String));
      assertEquals(df.height, 151);
      assertEquals(df.getColumn("v").toArray().at(-1), 1.5);
      assertEquals(df.getColumn("w").toArray().at(-1), "x");
    }
    const lf = await f.open() as ln.LazyFrame;
    assertEquals((await lf.filter(pl.col("v").gt(1)).collect()).height, 1);
    // Joined with another opened file before either was collected: the query is
    // replayed with the type of all rows (the retry followed only the first file).
    await Deno.writeTextFile(
      `${root}/g.csv`,
      "k\n" + Array.from({ length: 152 }, (_, i) => i).join("\n"),
    );
    await Deno.writeTextFile(`${root}/h.csv`, "k,x\n" + "1,1\n".repeat(150) + "151,1.5\n");
    const [g, h] = await Promise.all(
      ["g.csv", "h.csv"].map(async (key) =>
        await (await new ln.File(`${root}/${key}`).save()).open() as ln.LazyFrame
      ),
    );
    const joined = await g.join(h, { on: "k" }).collect();
    assertEquals([joined.height, String(joined.getColumn("x").dtype)], [151, String(pl.Float64)]);
  }));
