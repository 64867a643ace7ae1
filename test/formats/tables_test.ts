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
