// n processes (as on n machines) train on one collection: one PostgreSQL
// registry, one S3 bucket (s3rver), each worker a separate Deno process.
import * as ln from "../../mod.ts";
import { assertEquals, tempDir } from "../_helpers.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";
import { s3Server } from "../_s3.ts";

const CHILD = new URL("./_child_mapped.ts", import.meta.url).pathname;
const pg = needsPostgres("collection workers");

Deno.test({
  name:
    "three processes on one PostgreSQL registry and S3 bucket get disjoint shares of a collection that cover every row, each run linked",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await postgresServer();
    await using s3 = await s3Server();
    const storage = `s3://${await s3.bucket()}/team`;
    const db = await server.database();
    const cache = await tempDir();
    const sizes = [4, 7, 5];
    try {
      await ln.init({ storage, db, s3: s3.options, cacheDir: cache });
      const files: ln.File[] = [];
      for (const [f, n] of sizes.entries()) {
        const adata = new ln.AnnData({
          X: new ln.DenseMatrix(Float32Array.from({ length: n * 2 }, (_, i) => f * 1000 + i), [
            n,
            2,
          ]),
          varNames: ["g1", "g2"],
        });
        files.push(await new ln.File(adata, { key: `atlas/s${f}.h5ad` }).save());
      }
      const c = await new ln.Collection(files, { name: "atlas" }).save();
      await ln.close();

      const outputs = await Promise.all([0, 1, 2].map(async (worker) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            CHILD,
            storage,
            db,
            s3.options.endpoint!,
            "atlas",
            String(worker),
            "3",
            `${cache}/${worker}`,
          ],
          env: { LAMIN_LOG_LEVEL: "error" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(out.stderr);
        if (!out.success) throw new Error(`worker ${worker} failed: ${err}`);
        return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!) as [
          number,
          number,
        ][];
      }));
      const expected = sizes.flatMap((n, f) =>
        Array.from({ length: n }, (_, r) => f * 1000 + r * 2)
      );
      const all = outputs.flat();
      assertEquals(all.length, expected.length, "no row twice");
      assertEquals(
        [...all].sort((a, b) => a[0] - b[0]),
        expected.map((v, g) => [g, v]),
        "every row once, with its own values",
      );

      await ln.init({ storage, db, s3: s3.options, cacheDir: cache });
      const runs = await (await ln.Collection.get(c.id)).inputOf.all();
      assertEquals(runs.length, 3);
      assertEquals(new Set(runs.map((r) => r.status)), new Set(["completed"]));
    } finally {
      await ln.close();
    }
  },
});
