// Registry benchmarks, ours and the reference side by side in one run:
// 1. registering 10,000 small in-place files with ln.save() against raw
//    libSQL inserts of the very same rows in one transaction (target <= 2x);
//    the same on a PostgreSQL registry against raw pg inserts;
// 2. md5 throughput of our hashFile() against coreutils md5sum on a 1 GiB
//    file (target >= 0.8x).
// Inputs are built once under bench/.cache/. Run: deno task bench
import { Buffer } from "node:buffer";
import { createClient } from "@libsql/client/node";
import { pathToFileURL } from "node:url";
import * as ln from "../mod.ts";
import { hashFile } from "../src/storage/hash.ts";

const CACHE = new URL("./.cache/", import.meta.url).pathname;
const N = Number(Deno.env.get("BENCH_FILES") ?? 10_000);
const GIB = 1 << 30;

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [(performance.now() - t0) / 1000, out];
}

async function registerInPlace(): Promise<void> {
  const root = await Deno.makeTempDir({ dir: CACHE, prefix: "registry-" });
  const bytes = new Uint8Array(1024);
  for (let i = 0; i < N; i++) {
    crypto.getRandomValues(bytes);
    await Deno.mkdir(`${root}/d${i % 100}`, { recursive: true });
    await Deno.writeFile(`${root}/d${i % 100}/f${i}.bin`, bytes);
  }
  await ln.init({ storage: root });
  const files = Array.from({ length: N }, (_, i) => new ln.File(`${root}/d${i % 100}/f${i}.bin`));
  const [ours] = await time(() => ln.save(files));
  await ln.close();

  // The reference: the same rows, inserted raw into an identical empty schema.
  const src = createClient({ url: pathToFileURL(`${root}/.lamindb/lamin.db`).href });
  const schema = await src.execute(
    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'",
  );
  const rows = (await src.execute("SELECT * FROM file")).rows;
  const columns = (await src.execute("SELECT * FROM file LIMIT 1")).columns;
  const deps = await src.batch([
    'SELECT * FROM "user"',
    "SELECT * FROM storage",
  ]);
  src.close();
  const dst = createClient({ url: pathToFileURL(`${root}/raw.db`).href });
  await dst.execute("PRAGMA journal_mode=WAL");
  for (const r of schema.rows) await dst.execute(String(r.sql));
  for (const [i, table] of ['"user"', "storage"].entries()) {
    for (const row of deps[i].rows) {
      const cols = deps[i].columns;
      await dst.execute({
        sql: `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(",")}) VALUES (${
          cols.map(() => "?").join(",")
        })`,
        args: cols.map((c) => row[c]),
      });
    }
  }
  const insert = `INSERT INTO file (${columns.map((c) => `"${c}"`).join(",")}) VALUES (${
    columns.map(() => "?").join(",")
  })`;
  const [raw] = await time(async () => {
    const tx = await dst.transaction("write");
    for (const row of rows) await tx.execute({ sql: insert, args: columns.map((c) => row[c]) });
    await tx.commit();
  });
  dst.close();
  await Deno.remove(root, { recursive: true });

  console.log(`register ${N} in-place 1 KiB files`);
  console.log(
    `  ln.save(files)                   ${ours.toFixed(3)} s  (${(N / ours).toFixed(0)} files/s)`,
  );
  console.log(`  raw libSQL inserts, one tx       ${raw.toFixed(3)} s`);
  console.log(`  ratio ours/raw                   ${(ours / raw).toFixed(2)}x   (target <= 2x)`);
}

/** The same on a PostgreSQL registry (a server started here): ln.save() against raw pg inserts. */
async function registerInPlacePostgres(): Promise<void> {
  const { postgresServer } = await import("../test/_postgres.ts");
  const { default: pg } = await import("pg");
  await using server = await postgresServer();
  const root = await Deno.makeTempDir({ dir: CACHE, prefix: "registry-pg-" });
  const bytes = new Uint8Array(1024);
  for (let i = 0; i < N; i++) {
    crypto.getRandomValues(bytes);
    await Deno.mkdir(`${root}/d${i % 100}`, { recursive: true });
    await Deno.writeFile(`${root}/d${i % 100}/f${i}.bin`, bytes);
  }
  const ourDb = await server.database();
  await ln.init({ storage: root, db: ourDb });
  const files = Array.from({ length: N }, (_, i) => new ln.File(`${root}/d${i % 100}/f${i}.bin`));
  const [ours] = await time(() => ln.save(files));
  await ln.close();

  // The reference: the same rows into an identical schema (made by init, then emptied).
  const rawDb = await server.database();
  await ln.init({ storage: `${root}/d0`, db: rawDb });
  await ln.close();
  const src = new pg.Client({ connectionString: ourDb });
  const dst = new pg.Client({ connectionString: rawDb });
  await src.connect();
  await dst.connect();
  await dst.query('DELETE FROM storage; DELETE FROM "user"');
  const copy = async (table: string) => {
    const r = await src.query(`SELECT * FROM ${table}`);
    const cols = r.fields.map((f: { name: string }) => f.name);
    const sql = `INSERT INTO ${table} (${cols.map((c: string) => `"${c}"`).join(",")}) VALUES (${
      cols.map((_: string, i: number) => `$${i + 1}`).join(",")
    })`;
    return { rows: r.rows as Record<string, unknown>[], cols, sql };
  };
  for (const t of ['"user"', "storage"]) {
    const { rows, cols, sql } = await copy(t);
    for (const row of rows) await dst.query(sql, cols.map((c: string) => row[c]));
  }
  const { rows, cols, sql } = await copy("file");
  const [raw] = await time(async () => {
    await dst.query("BEGIN");
    for (const row of rows) await dst.query(sql, cols.map((c: string) => row[c]));
    await dst.query("COMMIT");
  });
  await src.end();
  await dst.end();
  await Deno.remove(root, { recursive: true });
  console.log(`register ${N} in-place 1 KiB files, PostgreSQL 15 registry (local server)`);
  console.log(
    `  ln.save(files)                   ${ours.toFixed(3)} s  (${(N / ours).toFixed(0)} files/s)`,
  );
  console.log(`  raw pg inserts, one tx           ${raw.toFixed(3)} s`);
  console.log(`  ratio ours/raw                   ${(ours / raw).toFixed(2)}x   (target <= 2x)`);
}

async function md5Throughput(): Promise<void> {
  const path = `${CACHE}/1gib.bin`;
  const ok = await Deno.stat(path).then((s) => s.size === GIB, () => false);
  if (!ok) {
    using f = await Deno.open(path, { write: true, create: true, truncate: true });
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < 1024; i++) {
      for (let o = 0; o < chunk.length; o += 65536) {
        crypto.getRandomValues(chunk.subarray(o, o + 65536));
      }
      await f.write(chunk);
    }
  }
  // Warm the page cache so both sides measure hashing, not the disk.
  await hashFile(path);
  const [ours, h] = await time(() => hashFile(path));
  const [ref, out] = await time(() =>
    new Deno.Command("md5sum", { args: [path], stdout: "piped" }).output()
  );
  const hex = new TextDecoder().decode(out.stdout).split(" ")[0];
  const same = Buffer.from(hex, "hex").toString("base64url") === h.hash;
  console.log(`md5 of a 1 GiB file (page cache warm)`);
  console.log(`  hashFile()   ${(GIB / ours / 1e6).toFixed(0)} MB/s`);
  console.log(`  md5sum       ${(GIB / ref / 1e6).toFixed(0)} MB/s`);
  console.log(
    `  throughput ratio ours/md5sum ${(ref / ours).toFixed(2)}x   (target >= 0.8x)${
      same ? "" : "   HASHES DIFFER!"
    }`,
  );
}

await Deno.mkdir(CACHE, { recursive: true });
Deno.env.set("LAMIN_LOG_LEVEL", "error");
await registerInPlace();
await registerInPlacePostgres();
await md5Throughput();
