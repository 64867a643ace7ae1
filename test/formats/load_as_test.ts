// load({ as }): the type asked is what comes back, or an UnsupportedFormatError
// saying what the file loads as instead.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance } from "../_helpers.ts";

function tiny(): ln.AnnData {
  return new ln.AnnData({
    X: new ln.CsrMatrix(
      new Float32Array([1, 2]),
      new Int32Array([0, 1]),
      new Int32Array([0, 1, 2]),
      [
        2,
        2,
      ],
    ),
    obs: pl.DataFrame({ t: ["a", "b"] }),
  });
}

Deno.test("load({ as }) returns the type asked: dataframe, arrow, anndata", async () => {
  const root = await freshInstance();
  try {
    const csv = await new ln.File(new TextEncoder().encode("a,b\n1,2\n"), { key: "t.csv" }).save();
    const df = await csv.load({ as: "dataframe" });
    assertEquals(df.toRecords(), [{ a: 1, b: 2 }]);
    const table = await csv.load({ as: "arrow" });
    assertEquals(table.numRows, 1);
    const h5 = await new ln.File(tiny(), { key: "x.h5ad" }).save();
    assertEquals((await h5.load({ as: "anndata" })).shape, [2, 2]);
    const z = await new ln.File(tiny(), { key: "x.zarr", format: "zarr" }).save();
    assertEquals((await z.load({ as: "anndata" })).nObs, 2);
    // Without `as`: the union, narrowed by instanceof.
    const any = await h5.load();
    assert(any instanceof ln.AnnData && any.nVars === 2);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("load({ as }) of a file that loads as something else is an UnsupportedFormatError naming both", async () => {
  const root = await freshInstance();
  try {
    const csv = await new ln.File(new TextEncoder().encode("a\n1\n"), { key: "t.csv" }).save();
    await assertRejects(
      () => csv.load({ as: "anndata" }),
      ln.UnsupportedFormatError,
      /as "anndata": only AnnData files \(\.h5ad \.zarr\) can; \.csv files load as a DataFrame/,
    );
    // A .zarr AnnData store is not a zarr array: found once read.
    const z = await new ln.File(tiny(), { key: "x.zarr", format: "zarr" }).save();
    await assertRejects(
      () => z.load({ as: "array" }),
      ln.UnsupportedFormatError,
      /holds an AnnData, not one of zarr array stores/,
    );
    await assertRejects(
      () => csv.load({ as: "constructor" as ln.LoadAs }),
      ln.ValidationError,
      /"anndata"/,
    );
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
