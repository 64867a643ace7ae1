// The registry contract on PostgreSQL 15 (a real server started here).
import * as ln from "../../mod.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";
import { registryContract } from "./contract.ts";
import { s3Server } from "../_s3.ts";
import pl from "nodejs-polars";
import { assertEquals, tempDir } from "../_helpers.ts";

const pg = needsPostgres("PostgreSQL registry");
const server = pg.ignore ? undefined : await postgresServer();
globalThis.addEventListener("unload", () => void server?.[Symbol.asyncDispose]());

// One database per instance folder, so reopening finds the same registry.
const dbs = new Map<string, string>();
registryContract("PostgreSQL registry", async (storage) => {
  if (!dbs.has(storage)) dbs.set(storage, await server!.database());
  await ln.init({ storage, db: dbs.get(storage)! });
}, pg);

Deno.test({
  name: "PostgreSQL registry: rows land in the server's database, no libSQL file is made",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const storage = await tempDir();
    const url = await server!.database();
    try {
      await ln.init({ storage, db: url });
      await new ln.File(new TextEncoder().encode("x"), { key: "x.txt" }).save();
      await ln.close();
      assertEquals(await Deno.stat(`${storage}/.lamindb/lamin.db`).then(() => 1, () => 0), 0);
      const { default: pgDriver } = await import("pg");
      const c = new pgDriver.Client({ connectionString: url });
      await c.connect();
      const r = await c.query(`SELECT key, size FROM file`);
      await c.end();
      assertEquals(r.rows.map((x: { key: string }) => x.key), ["x.txt"]);
    } finally {
      await ln.close();
      await Deno.remove(storage, { recursive: true });
    }
  },
});

Deno.test({
  name: "the API's shared setup: S3 storage with a PostgreSQL registry",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using s3 = await s3Server();
    const storage = `s3://${await s3.bucket()}/team`;
    const db = await server!.database();
    try {
      await ln.init({ storage, db, s3: s3.options });
      const df = pl.DataFrame({ gene: ["CD4", "CD8A"], n: [3, 4] });
      const f = await new ln.File(df, { key: "tables/genes.parquet" }).save();
      await ln.close();
      await ln.init({ storage, db, s3: s3.options }); // another machine would see the same
      const again = await ln.File.get({ key: "tables/genes.parquet" });
      assertEquals([again.id, again.path()], [f.id, `${storage}/tables/genes.parquet`]);
      assertEquals((await again.load() as pl.DataFrame).toRecords(), df.toRecords());
    } finally {
      await ln.close();
    }
  },
});

Deno.test({
  name: "PostgreSQL registry: opening one leaves pg's process-wide type parsers alone",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const storage = await tempDir();
    try {
      await ln.init({ storage, db: await server!.database() });
      const f = await new ln.File(new TextEncoder().encode("xyz"), { key: "x.txt" }).save();
      assertEquals((await ln.File.get(f.id)).size, 3); // int8 read as a number in the registry
      const { default: pgDriver } = await import("pg");
      assertEquals(pgDriver.types.getTypeParser(20)("5"), "5"); // and as pg's default elsewhere
    } finally {
      await ln.close();
    }
  },
});
