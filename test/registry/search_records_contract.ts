// Searching collections and transforms as tables, as a contract every
// registry database meets (run on libSQL and PostgreSQL by the contract
// tests): latest collection versions only, deletes and new versions keep the
// index right, `.df()` keeps the rank order, and a registry written before
// collections were searchable upgrades with its collections indexed.
import { type Kysely, sql } from "kysely";
import * as ln from "../../mod.ts";
import { migrateBefore } from "./_previous_release.ts";
import { contractCase } from "./_contract_case.ts";
import { assertEquals, tempDir } from "../_helpers.ts";

const enc = new TextEncoder();

/** Register the cases for instances opened by `open`. */
export function searchRecordsContract(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean; oldRegistry?: (storage: string) => Promise<Kysely<unknown>> } = {},
): void {
  const t = contractCase(name, open, options);
  const file = (key: string) => new ln.File(enc.encode(key), { key }).save();
  const names = async (q: ln.Query<ln.Collection>) => (await q).map((c) => c.name);

  t("collections are found by name and description words, name first, latest only", async () => {
    const [a, b, c] = await Promise.all(["a.txt", "b.txt", "c.txt"].map(file));
    await new ln.Collection([a], { name: "lung atlas", description: "shards" }).save();
    await new ln.Collection([b], { name: "blood", description: "an atlas of blood" }).save();
    await new ln.Collection([c], { name: "kidney", description: "nephrons" }).save();
    assertEquals(await names(ln.Collection.search("atlas")), ["lung atlas", "blood"]);
    assertEquals(await names(ln.Collection.search("atlsa")), ["lung atlas", "blood"]); // typo
    assertEquals(await ln.Collection.search("atlas").count(), 2);
    assertEquals(await names(ln.Collection.search("nephron")), ["kidney"]); // prefix
    // A new version under the name: only it is found, with its own description.
    const v2 = await new ln.Collection([a, c], { name: "lung atlas", description: "merged" })
      .save();
    assertEquals((await ln.Collection.search("lung")).map((x) => x.id), [v2.id]);
    assertEquals(await names(ln.Collection.search("shards")), []);
    assertEquals((await ln.Collection.search("merged")).map((x) => x.id), [v2.id]);
    // Deleting the latest brings the previous version back into search.
    await v2.delete();
    assertEquals(await names(ln.Collection.search("shards")), ["lung atlas"]);
    assertEquals(await names(ln.Collection.search("merged")), []);
    // A changed description is searched.
    const kidney = await ln.Collection.get({ name: "kidney" });
    kidney.description = "glomeruli";
    await kidney.save();
    assertEquals(await names(ln.Collection.search("glomeruli")), ["kidney"]);
    assertEquals(await names(ln.Collection.search("nephrons")), []);
  });

  t("search results of collections and transforms are tables in rank order", async () => {
    const [a, b] = await Promise.all(["a.txt", "b.txt"].map(file));
    await new ln.Collection([a], { name: "x", description: "atlas" }).save();
    await new ln.Collection([b], { name: "atlas" }).save();
    const cdf = await ln.Collection.search("atlas").df();
    assertEquals(cdf.getColumn("name").toArray(), ["atlas", "x"]);
    assertEquals((await ln.Collection.df()).height, 2);
    await new ln.Transform({ name: "qc.ts", description: "atlas quality" }).save();
    const t1 = await new ln.Transform({ name: "atlas.ts", version: "1" }).save();
    await new ln.Transform({ name: "atlas.ts", id: t1.id, version: "2" }).save();
    const tdf = await ln.Transform.search("atlas").df();
    // Both versions of atlas.ts (name matches), then qc.ts (description): one row each.
    assertEquals(tdf.height, 3);
    assertEquals(tdf.getColumn("name").toArray().slice(2), ["qc.ts"]);
    assertEquals(
      new Set(tdf.getColumn("version").toArray().slice(0, 2)),
      new Set(["1", "2"]),
    );
    assertEquals(
      tdf.getColumn("name").toArray(),
      (await ln.Transform.search("atlas")).map((x) => x.name),
    );
  });

  if (options.oldRegistry) {
    const old = options.oldRegistry;
    Deno.test({
      name: `${name}: a registry written before collections were searchable upgrades with ` +
        `its collections indexed (latest versions)`,
      ignore: options.ignore ?? false,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const root = await tempDir();
        try {
          const db = await old(root);
          await migrateBefore(db, "0009");
          const now = new Date().toISOString();
          await sql`insert into "user" (id, handle, created_at, updated_at)
            values ('u0000001', 'old', ${now}, ${now})`.execute(db);
          for (
            const [id, latest, description] of [["C000000000000000000", 0, "old shards"], [
              "C000000000000000001",
              1,
              "new atlas",
            ]] as const
          ) {
            await sql`insert into collection (id, name, description, is_latest, hash,
              created_at, updated_at, created_by_id) values (${id + "0"}, 'lung', ${description},
              ${latest}, ${"h" + id}, ${now}, ${now}, 'u0000001')`.execute(db);
          }
          await db.destroy();
          await open(root);
          assertEquals((await ln.Collection.search("atlas")).map((c) => c.id), [
            "C0000000000000000010",
          ]);
          assertEquals(await ln.Collection.search("shards").count(), 0);
        } finally {
          await ln.close();
          await Deno.remove(root, { recursive: true });
        }
      },
    });
  }
}
