// AnnData and MuData show themselves as anndata and mudata summarise them.
import { inspect } from "node:util";
import pl from "nodejs-polars";
import * as ln from "../../../mod.ts";
import { assert, assertEquals, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";

const py = needsPython("AnnData repr", "anndata", "h5py", "pandas");
const JUPYTER = Symbol.for("Jupyter.display");

function small(): ln.AnnData {
  const m = () => new ln.DenseMatrix(new Float32Array(6), [3, 2]);
  return new ln.AnnData({
    X: m(),
    obs: pl.DataFrame({ a: [1, 2, 3], b: ["x", "y", "z"] }),
    var: pl.DataFrame({ x: [0.5, 1.5] }),
    obsNames: ["c1", "c2", "c3"],
    varNames: ["g1", "g2"],
    uns: { u: "v" },
    obsm: { X_pca: new ln.DenseMatrix(new Float32Array(3), [3, 1]) },
    layers: { counts: m() },
  });
}

Deno.test("an AnnData prints anndata's summary: shape, then each slot's keys", () => {
  const text = "AnnData object with n_obs × n_vars = 3 × 2\n    obs: 'a', 'b'\n    var: 'x'\n" +
    "    uns: 'u'\n    obsm: 'X_pca'\n    layers: 'counts'";
  assertEquals(Deno.inspect(small()), text);
  assertEquals(inspect(small()), text);
  assertEquals(String(small()), text);
  assertEquals(Deno.inspect(new ln.AnnData()), "AnnData object with n_obs × n_vars = 0 × 0");
});

Deno.test({
  name: "an AnnData's text form is the repr Python's anndata gives the same data",
  ...py,
  async fn() {
    const dir = await tempDir();
    try {
      await ln.writeH5ad(small(), `${dir}/a.h5ad`);
      const want = await python(
        "import sys, anndata; print(repr(anndata.read_h5ad(sys.argv[1])), end='')",
        `${dir}/a.h5ad`,
      );
      assertEquals(Deno.inspect(small()), want);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("notebooks get an AnnData as its summary line and a slot table, keys escaped", async () => {
  const a = new ln.AnnData({ obs: pl.DataFrame({ "<b>x</b>": [1] }) });
  const b = await (a as unknown as Record<symbol, () => Record<string, string>>)[JUPYTER]();
  assertEquals(b["text/plain"], Deno.inspect(a));
  assert(b["text/html"].includes("AnnData object with n_obs × n_vars = 1 × 0"));
  assert(
    b["text/html"].includes("&#39;&lt;b&gt;x&lt;/b&gt;&#39;") && !b["text/html"].includes("<b>x"),
  );
});

Deno.test("a MuData prints its global axes and each modality's summary", () => {
  const rna = small();
  const m = new ln.MuData({
    mod: { rna },
    obs: pl.DataFrame({ batch: ["1", "1", "2"] }),
    var: pl.DataFrame({}),
    obsNames: rna.obsNames,
    varNames: rna.varNames,
  });
  assertEquals(
    Deno.inspect(m),
    "MuData object with n_obs × n_vars = 3 × 2\n  obs: 'batch'\n  1 modality\n    rna: 3 × 2\n" +
      "      obs: 'a', 'b'\n      var: 'x'\n      uns: 'u'\n      obsm: 'X_pca'\n      layers: 'counts'",
  );
});
