// The registry contract on PostgreSQL 15 (a real server started here).
import * as ln from "../../mod.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";
import { registryContract } from "./contract.ts";
import { versionsContract } from "./contract_versions.ts";
import { collectionsContract } from "./contract_collections.ts";
import { searchContract } from "./search_contract.ts";
import { searchRecordsContract } from "./search_records_contract.ts";
import { Kysely } from "kysely";
import { postgresDialect } from "../../src/registry/postgres.ts";
import { migrateToPreviousRelease } from "./_previous_release.ts";
import { s3Server } from "../_s3.ts";
import pl from "nodejs-polars";
import { assertEquals, assertRejects, HEALTHY, tempDir } from "../_helpers.ts";

const pg = needsPostgres("PostgreSQL registry");
const server = pg.ignore ? undefined : await postgresServer();
globalThis.addEventListener("unload", () => void server?.[Symbol.asyncDispose]());

// One database per instance folder, so reopening finds the same registry.
const dbs = new Map<string, string>();
registryContract("PostgreSQL registry", async (storage) => {
  if (!dbs.has(storage)) dbs.set(storage, await server!.database());
  await ln.init({ storage, db: dbs.get(storage)! });
}, pg);
versionsContract("PostgreSQL registry", async (storage) => {
  if (!dbs.has(storage)) dbs.set(storage, await server!.database());
  await ln.init({ storage, db: dbs.get(storage)! });
}, pg);
collectionsContract("PostgreSQL registry", async (storage) => {
  if (!dbs.has(storage)) dbs.set(storage, await server!.database());
  await ln.init({ storage, db: dbs.get(storage)! });
}, pg);
searchContract("PostgreSQL registry", async (storage) => {
  if (!dbs.has(storage)) dbs.set(storage, await server!.database());
  await ln.init({ storage, db: dbs.get(storage)! });
}, {
  ...pg,
  oldRegistry: async (storage) => {
    dbs.set(storage, await server!.database());
    return new Kysely({ dialect: await postgresDialect(dbs.get(storage)!) });
  },
});
searchRecordsContract("PostgreSQL registry", async (storage) => {
  if (!dbs.has(storage)) dbs.set(storage, await server!.database());
  await ln.init({ storage, db: dbs.get(storage)! });
}, {
  ...pg,
  oldRegistry: async (storage) => {
    dbs.set(storage, await server!.database());
    return new Kysely({ dialect: await postgresDialect(dbs.get(storage)!) });
  },
});

/** A fresh database whose text sorts by ICU's en-US rules (`a_b` < `a%b` < `A%b` < `axb`). */
async function icuDatabase(): Promise<string> {
  const url = await server!.database();
  const at = url.lastIndexOf("/");
  const name = `${url.slice(at + 1)}_icu`;
  const { default: pgDriver } = await import("pg");
  const admin = new pgDriver.Client({ connectionString: `${url.slice(0, at)}/postgres` });
  await admin.connect();
  await admin.query(
    `CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' ` +
      `LOCALE 'C.UTF-8'`,
  );
  await admin.end();
  return `${url.slice(0, at)}/${name}`;
}
// Keys and words compare by code point even where the database's collation does not.
const icu = new Map<string, string>();
searchContract("PostgreSQL registry, en-US collation", async (storage) => {
  if (!icu.has(storage)) icu.set(storage, await icuDatabase());
  await ln.init({ storage, db: icu.get(storage)! });
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

Deno.test({
  name:
    "PostgreSQL registry: a read-only role queries, loads and streams but cannot save, replace or delete; createdBy is the connecting role",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const storage = await tempDir();
    const url = await server!.database();
    const enc = new TextEncoder();
    const n = 200;
    const adata = new ln.AnnData({
      X: new ln.DenseMatrix(Float32Array.from({ length: n * 4 }, (_, i) => i), [n, 4]),
      obs: pl.DataFrame({ donor: Array.from({ length: n }, (_, i) => `D${i % 4}`) }),
      obsNames: Array.from({ length: n }, (_, i) => `c${i}`),
      varNames: ["a", "b", "c", "d"],
    });
    try {
      await ln.init({ storage, db: url });
      const csv = await new ln.File(enc.encode("x,y\n1,2\n"), { key: "t.csv" }).save();
      const h5ad = await new ln.File(adata, { key: "a.h5ad" }).save();
      assertEquals(csv.createdBy?.handle, "lamin"); // the connecting role, not the OS user
      await ln.close();

      // The GRANTs init's docs give for readers.
      const { default: pgDriver } = await import("pg");
      const admin = new pgDriver.Client({ connectionString: url });
      await admin.connect();
      await admin.query("CREATE ROLE reader LOGIN");
      await admin.query(`GRANT CONNECT ON DATABASE ${new URL(url).pathname.slice(1)} TO reader`);
      await admin.query("GRANT USAGE ON SCHEMA public TO reader");
      await admin.query("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader");
      await admin.end();

      await ln.init({ storage, db: url.replace("//lamin@", "//reader@") });
      assertEquals(ln.settings.user.handle, "reader");
      assertEquals((await ln.File.filter({})).length, 2);
      assertEquals(((await (await ln.File.get(csv.id)).load()) as pl.DataFrame).height, 1);
      const f = await ln.File.get(h5ad.id);
      assertEquals(f.createdBy?.handle, "lamin");
      assertEquals((await f.stream({ subsetObs: f.subsetter().donor.eq("D1") })).nObs, 50);
      await assertRejects(
        () => new ln.File(enc.encode("new"), { key: "n.txt" }).save(),
        ln.StorageError,
        /may only read/,
      );
      await assertRejects(() => f.replace(enc.encode("x")), ln.StorageError, /may only read/);
      await assertRejects(() => f.delete(), ln.StorageError, /may only read/);
      await ln.close();

      await ln.init({ storage, db: url });
      assertEquals((await ln.File.filter({})).map((x) => x.key).sort(), ["a.h5ad", "t.csv"]);
      assertEquals((await ln.File.get(h5ad.id)).hash, h5ad.hash);
      assertEquals(await ln.fsck(), HEALTHY);
      assertEquals(await Deno.stat(`${storage}/n.txt`).then(() => 1, () => 0), 0);
    } finally {
      await ln.close();
    }
  },
});

Deno.test({
  name: "PostgreSQL registry: a registry made by migrations 0001-0003 upgrades in place",
  ...pg,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const storage = await tempDir();
    const url = await server!.database();
    try {
      const { default: pgDriver } = await import("pg");
      const { Kysely, PostgresDialect } = await import("kysely");
      const pool = new pgDriver.Pool({ connectionString: url });
      // deno-lint-ignore no-explicit-any
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
      await migrateToPreviousRelease(db);
      const now = new Date().toISOString();
      const by = { created_at: now, created_by_id: "u0000001" };
      await db.insertInto("user").values({
        id: "u0000001",
        handle: "old",
        created_at: now,
        updated_at: now,
      }).execute();
      await db.insertInto("transform").values({
        id: "T00000000001",
        version: "1",
        name: "old.ts",
        type: "script",
        updated_at: now,
        ...by,
      }).execute();
      await db.insertInto("run").values({
        id: "R0000000000000000001",
        transform_id: "T00000000001",
        transform_version: "1",
        run_at: now,
        status: "completed",
        ...by,
      }).execute();
      await db.destroy();

      await ln.init({ storage, db: url });
      const run = await ln.Run.get("R0000000000000000001");
      assertEquals([run.status, run.params, run.reportedAt], ["completed", null, null]);
      assertEquals(await run.transform!.source(), null);
      const fresh = await ln.track({ name: "new", params: { x: [1, 2] } });
      assertEquals((await ln.Run.filter({ params: { x: [1, 2] } })).map((r) => r.id), [fresh.id]);
      await ln.finish();
    } finally {
      await ln.close();
      await Deno.remove(storage, { recursive: true });
    }
  },
});
