// A training process for the collection worker test: open the shared
// instance (S3 storage, PostgreSQL registry), track a run, iterate worker
// <worker> of <workers> of a collection's mapped batches, print the global
// row indices and first-gene values it got as JSON.
//   deno run -A _child_mapped.ts <storage> <db> <endpoint> <collection> <worker> <workers> <cacheDir>
import * as ln from "../../mod.ts";

const [storage, db, endpoint, name, worker, workers, cacheDir] = Deno.args;
await ln.init({
  storage,
  db,
  cacheDir,
  s3: {
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  },
});
await ln.track({ name: "train.ts" });
const c = await ln.Collection.get({ name });
const rows: [number, number][] = [];
for await (
  const b of c.mapped({
    batchSize: 3,
    shuffle: true,
    seed: 42,
    worker: Number(worker),
    workers: Number(workers),
  })
) {
  const d = b.X.toDense();
  b.index.forEach((g, i) => rows.push([g, Number(d.get(i, 0))]));
}
await ln.finish();
await ln.close();
console.log(JSON.stringify(rows));
