// Collections as a contract every registry database meets (run on libSQL
// and PostgreSQL by the contract tests): versions under a name, the same
// files give the saved record, labels, links to runs, and worker shares.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { contractCase } from "./_contract_case.ts";
import { assertEquals, assertRejects } from "../_helpers.ts";

const enc = new TextEncoder();

function anndata(n: number, first: number): ln.AnnData {
  return new ln.AnnData({
    X: new ln.DenseMatrix(Float32Array.from({ length: n * 2 }, (_, i) => first + i), [n, 2]),
    obs: pl.DataFrame({ donor: Array.from({ length: n }, () => `D${first}`) }),
    varNames: ["g1", "g2"],
  });
}

/** Register the collections contract for instances opened by `open`. */
export function collectionsContract(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  const t = contractCase(name, open, options);

  t(
    "a collection's name holds its latest version; the same files give the saved record",
    async () => {
      const files = await Promise.all(
        ["a", "b", "c"].map((k) => new ln.File(enc.encode(k), { key: `${k}.txt` }).save()),
      );
      const v1 = await new ln.Collection(files.slice(0, 2), { name: "set" }).save();
      const again = await new ln.Collection(files.slice(0, 2), { name: "set" }).save();
      assertEquals(again.id, v1.id);
      const v2 = await new ln.Collection(files, { name: "set" }).save();
      assertEquals(v2.id, v1.id.slice(0, 16) + "0001");
      assertEquals((await ln.Collection.get({ name: "set" })).id, v2.id);
      assertEquals((await ln.Collection.get(v1.id)).isLatest, false);
      assertEquals((await v2.versions()).map((c) => c.id), [v1.id, v2.id]);
      assertEquals((await v2.files.all()).map((f) => f.id), files.map((f) => f.id));
      const label = await new ln.ULabel({ name: "train" }).save();
      await v2.ulabels.add(label);
      assertEquals((await ln.Collection.filter({ ulabels: label })).map((c) => c.id), [v2.id]);
      await assertRejects(() => files[0].delete(), ln.IntegrityError, /in collection/);
      await v2.delete();
      const stale = await ln.Collection.get(v1.id);
      await v1.delete();
      // A record of it read before: NotFoundError, as a file's (was a ValidationError).
      await assertRejects(() => stale.delete(), ln.NotFoundError, /was deleted since/);
      await files[0].delete();
      assertEquals(await ln.Collection.filter({}).count(), 0);
    },
  );

  t(
    "mapped batches of a tracked run: shares of 2 workers are disjoint and complete, inputs linked",
    async () => {
      const a = await new ln.File(anndata(3, 0), { key: "a.h5ad" }).save();
      const b = await new ln.File(anndata(2, 100), { key: "b.h5ad" }).save();
      const c = await new ln.Collection([a, b], { name: "cells" }).save();
      const run = await ln.track({ name: "train.ts" });
      const seen: number[] = [];
      for (const worker of [0, 1]) {
        for await (
          const batch of c.mapped({ batchSize: 2, shuffle: true, seed: 3, worker, workers: 2 })
        ) {
          batch.index.forEach((g, i) => {
            const first = g < 3 ? g * 2 : 100 + (g - 3) * 2;
            assertEquals(Number(batch.X.toDense().get(i, 0)), first);
          });
          seen.push(...batch.index);
        }
      }
      assertEquals(seen.sort(), [0, 1, 2, 3, 4]);
      assertEquals((await c.inputOf.all()).map((r) => r.id), [run.id]);
      assertEquals((await c.load() as ln.AnnData).nObs, 5);
      await ln.finish();
    },
  );
}
