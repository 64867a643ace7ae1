import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assertEquals, assertRejects, freshInstance } from "../_helpers.ts";

Deno.test("feature sets deduplicate by their sorted members and keep them across reopen", async () => {
  const root = await freshInstance();
  const df = pl.DataFrame({ b: [1.5], a: ["x"] });
  const fs = await ln.Features.fromDataFrame(df).save();
  const same = await ln.Features.fromDataFrame(pl.DataFrame({ a: ["y"], b: [2.5] })).save();
  assertEquals(same.id, fs.id);
  const other = await ln.Features.fromDataFrame(
    pl.DataFrame([pl.Series("a", ["y"]), pl.Series("b", [2], pl.Int64)]),
  ).save();
  assertEquals(other.id === fs.id, false, "a different dtype is a different set");
  const file = await new ln.File(df, { features: [fs] }).save();
  await ln.close();
  await ln.init({ storage: root });
  const [linked] = await (await ln.File.get(file.id)).features.all();
  assertEquals(linked.id, fs.id);
  assertEquals(await linked.members(), [
    { name: "a", dtype: "String" },
    { name: "b", dtype: "Float64" },
  ]);
  assertEquals((await ln.Features.filter({ type: "column" })).length, 2);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("Features.fromAnnData() takes var names or obs columns", async () => {
  const root = await freshInstance();
  const adata = new ln.AnnData({
    obs: pl.DataFrame({ cell_type: ["T", "B"] }),
    obsNames: ["c1", "c2"],
    varNames: ["CD8A", "CD4", "MS4A1"],
  });
  const genes = await ln.Features.fromAnnData(adata, "var").save();
  assertEquals((await genes.members()).map((m) => m.name), ["CD4", "CD8A", "MS4A1"]);
  assertEquals(genes.type, "var");
  const obs = ln.Features.fromAnnData(adata, "obs");
  assertEquals((await obs.members()).map((m) => [m.name, m.dtype]), [["cell_type", "String"]]);
  await assertRejects(() => ln.Features.fromAnnData(adata, "x" as never), ln.ValidationError);
  await assertRejects(() => ln.Features.fromValues([1] as never), ln.ValidationError);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});
