// Expressions, frames and backed AnnData show a short text form and notebook HTML.
import { inspect } from "node:util";
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, freshInstance } from "../_helpers.ts";

const JUPYTER = Symbol.for("Jupyter.display");
const bundle = async (x: unknown) =>
  await (x as Record<symbol, () => Record<string, string>>)[JUPYTER]();

Deno.test("an expression prints as its query text; a frame by its columns", async () => {
  const df = new ln.LazyDataFrame(["cell_type", "n_genes"]);
  const q = df.cell_type.isin(["<T cell>"]).and(df.n_genes.gt(200).not());
  assertEquals(Deno.inspect(q), 'Expression (cell_type.isin(["<T cell>"]) & ~(n_genes > 200))');
  assertEquals(inspect(q), Deno.inspect(q));
  assertEquals(Deno.inspect(df.n_genes), "Column n_genes");
  assertEquals(Deno.inspect(df), "LazyDataFrame(cell_type, n_genes)");
  const b = await bundle(q);
  assertEquals(
    b["text/html"],
    "<code>(cell_type.isin([&quot;&lt;T cell&gt;&quot;]) &amp; ~(n_genes &gt; 200))</code>",
  );
});

Deno.test("a backed AnnData prints its shape, layers and the bytes read so far", async () => {
  const root = await freshInstance();
  try {
    const m = () => new ln.DenseMatrix(new Float32Array(6), [3, 2]);
    const adata = new ln.AnnData({
      X: m(),
      obs: pl.DataFrame({ a: [1, 2, 3] }),
      layers: { counts: m() },
    });
    const file = await new ln.File(adata, { key: "a.h5ad" }).save();
    const backed = await file.backed();
    try {
      const text = Deno.inspect(backed);
      const lines = text.split("\n");
      assertEquals(lines.slice(0, 2), [
        "AnnData object with n_obs × n_vars = 3 × 2 (backed)",
        "    layers: 'counts'",
      ]);
      assert(/^ {4}read so far: [\d.]+ [KM]?B in \d+ requests$/.test(lines[2]), lines[2]);
      assertEquals(lines.length, 3);
      assertEquals(Deno.inspect(backed.X), "BackedMatrix(3 × 2, read on demand)");
      assert((await bundle(backed))["text/html"].startsWith("<pre>AnnData object"));
    } finally {
      backed.close();
    }
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
