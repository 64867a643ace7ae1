import * as ln from "../../mod.ts";
import { assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";

Deno.test("Folder.save() registers every file beneath in place and links them", async () => {
  const root = await freshInstance();
  await Deno.mkdir(`${root}/run1/sub`, { recursive: true });
  await Deno.writeTextFile(`${root}/run1/a.csv`, "a");
  await Deno.writeTextFile(`${root}/run1/sub/b.csv`, "b");
  await Deno.writeTextFile(`${root}/run1/sub/dup.csv`, "a");
  const folder = await new ln.Folder(`${root}/run1`, { name: "first run" }).save();
  assertEquals([folder.name, folder.key], ["first run", "run1"]);
  const files = await folder.files.all();
  // dup.csv has a's content: deduplicated to one record.
  assertEquals(files.map((f) => f.key).sort(), ["run1/a.csv", "run1/sub/b.csv"]);
  assertEquals((await ln.Folder.get({ name: "first run" })).id, folder.id);
  assertEquals((await files[0].folders.all()).map((f) => f.id), [folder.id]);
  await ln.close();
  await Deno.remove(root, { recursive: true });
});

Deno.test("Folder.save() outside the root copies files to {key}/{path}", async () => {
  const root = await freshInstance();
  const out = await tempDir();
  await Deno.mkdir(`${out}/plates`);
  await Deno.writeTextFile(`${out}/plates/p1.tsv`, "1");
  await Deno.writeTextFile(`${out}/plates/p2.tsv`, "2");
  const folder = await new ln.Folder(`${out}/plates`, { key: "imports/plates" }).save();
  const keys = (await folder.files.all()).map((f) => f.key).sort();
  assertEquals(keys, ["imports/plates/p1.tsv", "imports/plates/p2.tsv"]);
  assertEquals(await Deno.readTextFile(`${root}/imports/plates/p2.tsv`), "2");
  await assertRejects(() => new ln.Folder(`${out}/missing`).save(), ln.NotFoundError, /missing/);
  await assertRejects(() => new ln.Folder(out, { key: "../x" }), ln.InvalidKeyError);
  await ln.close();
  await Deno.remove(root, { recursive: true });
  await Deno.remove(out, { recursive: true });
});
