// Registry benchmarks, ours and the reference side by side in one run:
// 1. registering 10,000 small in-place files with ln.save() against raw
//    libSQL inserts of the very same rows in one transaction (target <= 2x);
//    the same on a PostgreSQL registry against raw pg inserts;
// 2. md5 throughput of our hashFile() against coreutils md5sum on a 1 GiB
//    file (target >= 0.8x);
// 3. a 1,000,000-file registry (generated rows, bench/_registry_rows.ts) on
//    libSQL and PostgreSQL: median latency of filters (key prefix, label,
//    size range), search and df() of 100 rows (targets: filters <= 10 ms,
//    search <= 50 ms).
// Inputs are built once under bench/.cache/. Run: deno task bench
// (BENCH_ONLY=register runs only 1, BENCH_ONLY=scale only 3; BENCH_ROWS sets its number of files,
// BENCH_DB=libsql or postgres one database; BENCH_KEEP=dir keeps the 1M registries there and
// BENCH_PG_URL=url loads PostgreSQL's into that database, both reused by later runs; BENCH_OPS=regex
// times only the operations it matches).
import { Buffer } from "node:buffer";
import process from "node:process";
import { createClient } from "@libsql/client/node";
import { pathToFileURL } from "node:url";
import * as ln from "../mod.ts";
import { hashFile } from "../src/storage/hash.ts";
import { chunk, labelId, labels, N_LABELS, TISSUES } from "./_registry_rows.ts";

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

/** The queries of the 1M-file benchmark, each a function of the run number (varied inputs). */
const SCALE_OPS: [string, (i: number) => Promise<unknown>][] = [
  ["filter key prefix (startsWith), 100 rows", (i) =>
    ln.File.filter({
      key: {
        startsWith: `proj${String(i % 50).padStart(2, "0")}/${TISSUES[i % 40].replace(" ", "_")}/`,
      },
    }).limit(100).all()],
  [
    "filter by label, 100 rows",
    (i) => ln.File.filter({ ulabels: labelId(i % N_LABELS) }).limit(100).all(),
  ],
  [
    "filter size range (~100 of 1M), 100 rows",
    (i) => ln.File.filter({ size: { gte: i * 1e7, lt: i * 1e7 + 1e5 } }).limit(100).all(),
  ],
  ['search "t cell atlas", 20 best', () => ln.File.search("t cell atlas").all()],
  [
    'search "hepatocyte atlsa liver" (a typo)',
    () => ln.File.search("hepatocyte atlsa liver").all(),
  ],
  ['search "sample_0123456" (one file)', (i) => ln.File.search(`sample_0${123456 + i}`).all()],
  ['search "macrophage" (1 in 60 files)', () => ln.File.search("macrophage").all()],
  ['search "cell" (2 in 3 files: worst case)', () => ln.File.search("cell").all()],
  ["df() of 100 rows", async (i) => {
    const q = ln.File.filter({ key: { startsWith: `proj${String(i % 50).padStart(2, "0")}/` } })
      .limit(100) as unknown as { df?: () => Promise<unknown> };
    return q.df ? await q.df() : undefined;
  }],
];
const SCALE_RUNS = 21;

/** The distinct (kind, token) of postings: `search_word` rows. */
function vocabulary(tokens: { kind: string; token: string }[]): { kind: string; token: string }[] {
  const seen = new Set<string>();
  return tokens.filter((t) => !seen.has(`${t.kind}:${t.token}`) && seen.add(`${t.kind}:${t.token}`))
    .map(({ kind, token }) => ({ kind, token }));
}

async function measureScale(label: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const hasDf = typeof (ln.File.filter({}) as unknown as { df?: unknown }).df === "function";
  const pick = new RegExp(Deno.env.get("BENCH_OPS") ?? ""); // BENCH_OPS=regex: only those
  for (const [name, op] of SCALE_OPS) {
    if (name.startsWith("df") && !hasDf) continue;
    if (!pick.test(name)) continue;
    const got = await op(SCALE_RUNS); // warm up
    const n = Array.isArray(got) ? got.length : (got as { height?: number })?.height;
    const times: number[] = [];
    // This process's CPU time too (all of it on libSQL, the client's on PostgreSQL): steadier
    // than wall time on a busy machine.
    const cpus: number[] = [];
    const until = performance.now() + 20_000; // slow ones: at least 5 runs, about 20 s
    for (let i = 0; i < SCALE_RUNS && (i < 5 || performance.now() < until); i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await op(i);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1000);
    }
    times.sort((a, b) => a - b);
    cpus.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    out.set(name, median);
    console.log(
      `  ${label.padEnd(8)} ${name.padEnd(44)} ${
        median.toFixed(1)
      } ms (median of ${times.length}; min ${times[0].toFixed(1)}; max ${
        times.at(-1)!.toFixed(1)
      }; cpu ${cpus[Math.floor(cpus.length / 2)].toFixed(1)} ms; ${n} rows)`,
    );
  }
  return out;
}

const SCALE_ROWS = Number(Deno.env.get("BENCH_ROWS") ?? 1_000_000);
const STEP = 20_000;

/** 1M generated files on libSQL and PostgreSQL: median latency of filters, search, df(). */
async function registryAtScale(): Promise<void> {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  console.log(`registry of ${SCALE_ROWS} generated files`);
  const which = Deno.env.get("BENCH_DB") ?? "both";
  const lite = which === "postgres" ? new Map<string, number>() : await scaleLibsql(t0);
  const pgs = which === "libsql" ? new Map<string, number>() : await scalePostgres(t0);
  console.log("| what | libSQL | PostgreSQL |");
  for (const [name] of SCALE_OPS) {
    if (!lite.has(name) && !pgs.has(name)) continue;
    console.log(`| ${name} | ${lite.get(name)?.toFixed(1)} ms | ${pgs.get(name)?.toFixed(1)} ms |`);
  }
}

/** The generated rows into a libSQL registry (init makes the schema; rows go in raw, indexes dropped, then rebuilt), then the queries. */
async function scaleLibsql(t0: number): Promise<Map<string, number>> {
  // BENCH_KEEP=dir: the registry is kept there, and reused when it is already there.
  const keep = Deno.env.get("BENCH_KEEP");
  const root = keep ? `${keep}/libsql` : await Deno.makeTempDir({ dir: CACHE, prefix: "scale-" });
  if (keep && await exists(`${root}/.lamindb/lamin.db`)) {
    await ln.init({ storage: root });
    const out = await measureScale("libSQL");
    await ln.close();
    return out;
  }
  if (keep) await Deno.mkdir(root, { recursive: true });
  await ln.init({ storage: root });
  await ln.close();
  const c = createClient({ url: pathToFileURL(`${root}/.lamindb/lamin.db`).href });
  const [[storageId], [userId]] =
    (await c.batch(["SELECT id FROM storage", 'SELECT id FROM "user"']))
      .map((r) => r.rows.map((x) => String(x.id)));
  const [load] = await time(async () => {
    await c.execute("PRAGMA synchronous=OFF");
    const idx = (await c.execute(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('file', 'search_token', 'file_ulabel')",
    )).rows.map((r) => [String(r.name), String(r.sql)]);
    for (const [name] of idx) await c.execute(`DROP INDEX "${name}"`);
    // One statement per table and chunk: the rows as one JSON array, unpacked by SQLite.
    const insert = async (table: string, rows: Record<string, unknown>[]) => {
      if (rows.length === 0) return;
      const cols = Object.keys(rows[0]);
      await c.execute({
        sql: `INSERT OR IGNORE INTO ${table} (${cols.map((x) => `"${x}"`).join(",")}) SELECT ${
          cols.map((_, i) => `value ->> ${i}`).join(",")
        } FROM json_each(?)`,
        args: [JSON.stringify(rows.map((r) => cols.map((x) => r[x])))],
      });
    };
    const ls = labels(userId, new Date(t0).toISOString());
    await insert("ulabel", ls.rows);
    await insert("search_token", ls.tokens);
    await insert("search_word", vocabulary(ls.tokens));
    for (let from = 0; from < SCALE_ROWS; from += STEP) {
      const ch = chunk(from, Math.min(SCALE_ROWS, from + STEP), storageId, userId, t0);
      await c.execute("BEGIN");
      await insert("file", ch.files);
      await insert("search_token", ch.tokens);
      await insert("search_word", vocabulary(ch.tokens));
      await insert("file_ulabel", ch.links);
      await c.execute("COMMIT");
    }
    for (const [, sql] of idx) await c.execute(sql);
  });
  const size = (await Deno.stat(`${root}/.lamindb/lamin.db`)).size;
  c.close();
  console.log(
    `  libSQL: generated and loaded in ${load.toFixed(0)} s (${(size / 1e9).toFixed(2)} GB)`,
  );
  await ln.init({ storage: root });
  const out = await measureScale("libSQL");
  await ln.close();
  if (!keep) await Deno.remove(root, { recursive: true });
  return out;
}

/** The same rows into a PostgreSQL registry (a server started here), through unnest() of arrays. */
async function scalePostgres(t0: number): Promise<Map<string, number>> {
  const { postgresServer } = await import("../test/_postgres.ts");
  const { default: pg } = await import("pg");
  // BENCH_PG_URL: an existing (empty, or already loaded) database instead of a server started here.
  const given = Deno.env.get("BENCH_PG_URL");
  await using server = given ? undefined : await postgresServer();
  const url = given ?? await server!.database();
  const keep = Deno.env.get("BENCH_KEEP");
  const root = keep ? `${keep}/pg` : await Deno.makeTempDir({ dir: CACHE, prefix: "scale-pg-" });
  if (keep) await Deno.mkdir(root, { recursive: true });
  if (given) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const loaded = (await c.query(
          "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'file'",
        )).rows[0].n > 0 && (await c.query("SELECT 1 FROM file LIMIT 1")).rows.length > 0;
    await c.end();
    if (loaded) {
      await ln.init({ storage: root, db: url });
      const out = await measureScale("Postgres");
      await ln.close();
      if (!keep) await Deno.remove(root, { recursive: true });
      return out;
    }
  }
  await ln.init({ storage: root, db: url });
  await ln.close();
  const p = new pg.Client({ connectionString: url });
  await p.connect();
  const [storageId, userId] = [
    (await p.query("SELECT id FROM storage")).rows[0].id,
    (await p.query('SELECT id FROM "user"')).rows[0].id,
  ];
  const [load] = await time(async () => {
    const idx = (await p.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('file', 'search_token', 'file_ulabel', 'search_doc')
       AND indexname NOT IN (SELECT conname FROM pg_constraint)`,
    )).rows as { indexname: string; indexdef: string }[];
    for (const i of idx) await p.query(`DROP INDEX "${i.indexname}"`);
    const types: Record<string, string> = {
      size: "bigint",
      managed: "int",
      is_dir: "int",
      weight: "int",
    };
    const insert = async (table: string, rows: Record<string, unknown>[]) => {
      if (rows.length === 0) return;
      const cols = Object.keys(rows[0]);
      await p.query(
        `INSERT INTO ${table} (${cols.map((x) => `"${x}"`).join(",")}) SELECT * FROM unnest(${
          cols.map((x, i) => `$${i + 1}::${types[x] ?? "text"}[]`).join(",")
        }) ON CONFLICT DO NOTHING`,
        cols.map((x) => rows.map((r) => r[x])),
      );
    };
    const ls = labels(userId, new Date(t0).toISOString());
    await insert("ulabel", ls.rows);
    await insert("search_token", ls.tokens);
    await insert("search_word", vocabulary(ls.tokens));
    for (let from = 0; from < SCALE_ROWS; from += STEP) {
      const ch = chunk(from, Math.min(SCALE_ROWS, from + STEP), storageId, userId, t0);
      await insert("file", ch.files);
      await insert("search_token", ch.tokens);
      await insert("search_word", vocabulary(ch.tokens));
      await insert("file_ulabel", ch.links);
    }
    // Each record's words as one array (what save() writes with its postings: migration 0011).
    await p.query(
      "INSERT INTO search_doc (kind, record_id, tokens) SELECT kind, record_id, array_agg(token) " +
        "FROM search_token GROUP BY kind, record_id",
    );
    for (const i of idx) await p.query(i.indexdef);
    await p.query("VACUUM ANALYZE"); // what autovacuum does after a bulk load
  });
  await p.end();
  console.log(`  PostgreSQL: generated and loaded in ${load.toFixed(0)} s`);
  await ln.init({ storage: root, db: url });
  const out = await measureScale("Postgres");
  await ln.close();
  if (!keep) await Deno.remove(root, { recursive: true });
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

await Deno.mkdir(CACHE, { recursive: true });
Deno.env.set("LAMIN_LOG_LEVEL", "error");
const only = Deno.env.get("BENCH_ONLY");
if (!only || only === "register") {
  await registerInPlace();
  await registerInPlacePostgres();
}
if (!only) await md5Throughput();
if (!only || only === "scale") await registryAtScale();
