// Crash safety and concurrency with real processes: children killed with
// SIGKILL while saving, and several processes saving the same content.
import * as ln from "../../mod.ts";
import { assert, assertEquals, HEALTHY, tempDir, writeRandomFile } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";
import { needsPostgres, postgresServer } from "../_postgres.ts";

const CHILD = new URL("./_child_save.ts", import.meta.url).pathname;
const enc = new TextEncoder();

function child(...args: string[]): Deno.ChildProcess {
  return childWith({}, ...args);
}

function childWith(env: Record<string, string>, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { LAMIN_LOG_LEVEL: "error", ...env },
  }).spawn();
}

async function finish(p: Deno.ChildProcess): Promise<{ id?: string; hash?: string }> {
  const out = await p.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`child failed: ${new TextDecoder().decode(out.stderr)}\n${text}`);
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

/** Overwrite the first 8 bytes so each round saves new content. */
async function stamp(path: string, round: number): Promise<void> {
  using f = await Deno.open(path, { write: true });
  const head = new Uint8Array(8);
  new DataView(head.buffer).setFloat64(0, round + Math.random());
  await f.write(head);
}

Deno.test({
  name:
    "SIGKILL at random moments while saving a 200 MB file, 20 times: fsck finds every row intact",
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    const srcDir = await tempDir();
    const src = `${srcDir}/big.bin`;
    await writeRandomFile(src, 200 << 20, 7);
    // Time one complete save to spread the kills over a whole save.
    await stamp(src, -1);
    let t0 = performance.now();
    await finish(child("save", root, src));
    const full = performance.now() - t0;

    let killed = 0;
    for (let round = 0; round < 20; round++) {
      await stamp(src, round);
      const p = child("save", root, src, round % 2 ? `big/${round}.bin` : "");
      t0 = performance.now();
      const at = Math.random() * full * 1.2;
      await new Promise((r) => setTimeout(r, at));
      try {
        p.kill("SIGKILL");
      } catch { /* it already finished */ }
      const status = await p.output();
      if (status.signal === "SIGKILL") killed++;
      else if (!status.success) throw new Error(new TextDecoder().decode(status.stderr));
    }
    assert(killed >= 10, `only ${killed} of 20 children were killed before they finished`);

    await ln.init({ storage: root });
    try {
      const report = await ln.fsck();
      assertEquals(report.missing, [], "a row whose object is missing");
      assertEquals(report.mismatched, [], "a row whose object differs");
      const rows = await ln.File.filter({});
      assert(rows.length >= 1 && rows.length <= 21, `${rows.length} rows`);
      console.log(
        `  ${killed} kills: ${rows.length} rows committed, ${report.leftovers.length} leftovers, ` +
          `${report.orphans.length} orphans, ${report.interrupted.length} interrupted`,
      );
      for (const f of rows) {
        const stat = await Deno.stat(f.path() as string);
        assertEquals(stat.size, f.size);
      }
      await ln.fsck({ repair: true });
      const after = await ln.fsck();
      assertEquals(after, HEALTHY);
    } finally {
      await ln.close();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(srcDir, { recursive: true });
    }
  },
});

Deno.test("4 processes saving the same content at once give one row that all of them point at", async () => {
  const root = await tempDir();
  await finish(child("init", root)); // the instance exists; the race is on the file row
  for (let round = 0; round < 3; round++) {
    const text = `same content ${round} ${crypto.randomUUID()}`;
    const results = await Promise.all([0, 1, 2, 3].map(() => finish(child("bytes", root, text))));
    const ids = new Set(results.map((r) => r.id));
    assertEquals(ids.size, 1, `ids: ${[...ids].join(", ")}`);
  }
  await ln.init({ storage: root });
  try {
    assertEquals((await ln.File.filter({})).length, 3);
    assertEquals(await ln.fsck(), HEALTHY);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("4 processes creating the same new instance at once all succeed, with one storage row", async () => {
  const root = await tempDir();
  const results = await Promise.all([0, 1, 2, 3].map(() => finish(child("init", root))));
  assertEquals(results.length, 4);
  await ln.init({ storage: root });
  try {
    assertEquals((await ln.Storage.filter({})).length, 1);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "SIGKILL while saving a 40 MB file to S3, 10 times: no row without its whole object",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const storage = `s3://${await server.bucket()}/crash`;
    const dir = await tempDir();
    const env = {
      LAMINDENO_TEST_S3_ENDPOINT: server.options.endpoint!,
      LAMINDENO_TEST_DB: `${dir}/registry.db`,
    };
    const src = `${dir}/big.bin`;
    await writeRandomFile(src, 40 << 20, 11);
    // One save to warm the module cache (a first child compiles what the
    // others reuse: timed cold, it made the kills come too late), one timed.
    await stamp(src, -2);
    await finish(childWith(env, "save", storage, src));
    await stamp(src, -1);
    let t0 = performance.now();
    await finish(childWith(env, "save", storage, src));
    const full = performance.now() - t0;

    let killed = 0;
    for (let round = 0; round < 10; round++) {
      await stamp(src, round);
      const p = childWith(env, "save", storage, src, round % 2 ? `big/${round}.bin` : "");
      t0 = performance.now();
      await new Promise((r) => setTimeout(r, Math.random() * full * 1.2));
      try {
        p.kill("SIGKILL");
      } catch { /* it already finished */ }
      const status = await p.output();
      if (status.signal === "SIGKILL") killed++;
      else if (!status.success) throw new Error(new TextDecoder().decode(status.stderr));
    }
    assert(killed >= 4, `only ${killed} of 10 children were killed before they finished`);

    await ln.init({ storage, s3: server.options, db: env.LAMINDENO_TEST_DB });
    try {
      const report = await ln.fsck();
      assertEquals(report.missing, [], "a row whose object is missing");
      assertEquals(report.mismatched, [], "a row whose object differs");
      const s3 = new ln.S3Storage(storage, server.options);
      for (const f of await ln.File.filter({})) {
        assertEquals((await s3.head(f.path().slice(storage.length + 1)))?.size, f.size);
      }
      s3.close();
      await ln.fsck({ repair: true });
      const after = await ln.fsck();
      assertEquals(
        [after.leftovers, after.orphans, after.interrupted, after.missing, after.mismatched],
        [[], [], [], [], []],
      );
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** replace() in one process racing delete() in another, on the same freshly loaded file. */
async function replaceDeleteRace(rounds: number, env: Record<string, string>, storage: string) {
  const outcomes = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    await ln.init({ storage, ...(env.LAMINDENO_TEST_DB ? { db: env.LAMINDENO_TEST_DB } : {}) });
    // Managed (no key) and keyed files alternate: the object is ours to delete in both.
    const f = await new ln.File(
      new TextEncoder().encode(`base ${round} ${Math.random()}`),
      round % 2 ? { key: `race/${round}.txt` } : {},
    ).save();
    await ln.close();
    const [rep, del] = await Promise.all([
      finish(childWith(env, "replace", storage, f.id, `new ${round} ${Math.random()}`)),
      finish(childWith(env, "delete", storage, f.id)),
    ]) as { ok?: boolean; error?: string }[];
    const key = `${rep.ok ? "replaced" : rep.error}+${del.ok ? "deleted" : del.error}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    await ln.init({ storage, ...(env.LAMINDENO_TEST_DB ? { db: env.LAMINDENO_TEST_DB } : {}) });
    try {
      const rows = await ln.File.filter({ id: f.id });
      // Never both gone and replaced-without-a-row, never an object nothing references.
      const report = await ln.fsck();
      assertEquals(report, HEALTHY, `round ${round}: ${key}`);
      if (del.ok) assertEquals(rows.length, 0, `round ${round}: deleted, yet the row is there`);
      else assertEquals(rows.length, 1, `round ${round}: not deleted, yet the row is gone`);
      if (rows.length === 1 && rep.ok) {
        assert(rows[0].hash !== f.hash, `round ${round}: replaced, yet the old hash`);
      }
      assert(rep.ok || del.ok, `round ${round}: neither side succeeded (${key})`);
    } finally {
      await ln.close();
    }
  }
  return outcomes;
}

Deno.test({
  name: "replace() racing delete() in two processes (libSQL): one wins, nothing orphaned or lost",
  sanitizeResources: false,
  async fn() {
    const storage = await tempDir();
    const outcomes = await replaceDeleteRace(8, {}, storage);
    console.error("libSQL race outcomes:", Object.fromEntries(outcomes));
    await Deno.remove(storage, { recursive: true });
  },
});

Deno.test({
  name:
    "replace() racing delete() in two processes (PostgreSQL): one wins, nothing orphaned or lost",
  ...needsPostgres("the replace/delete race on PostgreSQL"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await postgresServer();
    const storage = await tempDir();
    const outcomes = await replaceDeleteRace(
      6,
      { LAMINDENO_TEST_DB: await server.database() },
      storage,
    );
    console.error("PostgreSQL race outcomes:", Object.fromEntries(outcomes));
    await Deno.remove(storage, { recursive: true });
  },
});

/**
 * A test with two writers on one fresh libSQL instance: the default one
 * (`ln.init`) and `other` (`ln.connect`); both closed after.
 */
function twoWriters(name: string, fn: (root: string, other: ln.Instance) => Promise<void>): void {
  Deno.test(name, async () => {
    const root = await tempDir();
    await ln.init({ storage: root });
    const other = await ln.connect({ storage: root });
    try {
      await fn(root, other);
    } finally {
      await other.close();
      await ln.close();
      await Deno.remove(root, { recursive: true });
    }
  });
}

twoWriters(
  "a new version whose content another writer registers meanwhile puts the previous version back at its key",
  async (root, other) => {
    // (A randomized stress of several writers found this: save() adopted the other
    // writer's record, but left the previous version's object moved aside and its move
    // journaled, so the key stayed blocked until fsck({ repair: true }).)
    // Large enough that moving it aside takes longer than the other writer's save.
    const big = new Uint8Array(30 << 20).map((_, i) => i % 251);
    const v1 = await new ln.File(big, { key: "k.bin" }).save();
    const x = enc.encode(`a,b\n1,${Math.random()}\n`);
    const [a, b] = await Promise.all([
      new ln.File(x, { key: "k.bin" }).save(),
      new ln.File(x, { name: "x.csv", instance: other }).save(),
    ]);
    assertEquals(a.id, b.id, "the new version became the other writer's record");
    assertEquals((await ln.File.get({ key: "k.bin" })).id, v1.id);
    assertEquals((await Deno.stat(`${root}/k.bin`)).size, big.length);
    assertEquals(await ln.fsck(), HEALTHY);
    await new ln.File(enc.encode("next"), { key: "k.bin" }).save(); // the key is not blocked
    assertEquals(await ln.fsck(), HEALTHY);
  },
);

twoWriters(
  "replace() of a file whose object a new version is moving aside is refused, and nothing is lost",
  async (_root, other) => {
    // (From the same stress: the replace succeeded, then the move put the old object back
    // over it; the row's hash named content no object held, beyond fsck's repair.)
    const big = new Uint8Array(30 << 20).map((_, i) => i % 251);
    const v1 = await new ln.File(big, { key: "k.bin" }).save();
    const a = new ln.File(enc.encode("new version"), { key: "k.bin" }).save();
    let refused: Error | undefined;
    for (let i = 0; i < 5000 && !refused; i++) {
      const f = await ln.File.using(other).get(v1.id);
      if (f.updatedAt.getTime() !== v1.updatedAt.getTime()) {
        refused = await f.replace(enc.encode("replaced")).then(() => undefined, (e) => e);
        assert(refused, "the replace during the move succeeded");
      } else await new Promise((r) => setTimeout(r, 1));
    }
    assert(refused instanceof ln.IntegrityError, `got ${refused}`);
    assert(/being saved/.test(refused.message), refused.message);
    await a;
    assertEquals(await ln.fsck(), HEALTHY);
    assertEquals((await ln.File.get(v1.id)).hash, v1.hash);
  },
);

twoWriters(
  "a collection saved while another writer deletes one of its files fails with a typed error",
  async (_root, other) => {
    // (From the same stress: a raw "FOREIGN KEY constraint failed" from the driver.)
    const outcomes = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const a = await new ln.File(enc.encode(`a${i}`), { key: `a${i}.txt` }).save();
      const b = await new ln.File(enc.encode(`b${i}`), { key: `b${i}.txt` }).save();
      const doomed = await ln.File.using(other).get(b.id);
      const [saved] = await Promise.allSettled([
        new ln.Collection([a, b], { name: `c${i}` }).save(),
        doomed.delete(),
      ]);
      if (saved.status === "rejected") {
        assert(saved.reason instanceof ln.LaminError, `a raw error: ${saved.reason}`);
        outcomes.add(saved.reason.name);
      } else outcomes.add("saved");
    }
    assert(outcomes.size > 0);
    assertEquals(await ln.fsck(), HEALTHY);
  },
);

Deno.test("a record saved while another connection holds the write lock is in the registry afterwards (libSQL)", async () => {
  // (From a stress on libSQL: libsql leaves a statement that failed with SQLITE_BUSY
  // active, the retried insert stayed in an open transaction, and a later rollback
  // discarded it: save() returned a label the registry did not have.)
  const { default: Database } = await import("libsql");
  const root = await tempDir();
  await ln.init({ storage: root });
  try {
    for (let i = 0; i < 3; i++) {
      const raw = new Database(`${root}/.lamindb/lamin.db`);
      raw.exec("BEGIN IMMEDIATE");
      const release = setTimeout(() => raw.exec("COMMIT"), 150);
      try {
        const label = await new ln.ULabel({ name: `label${i}` }).save();
        assertEquals(await ln.ULabel.filter({ id: label.id }).count(), 1, `label${i} was lost`);
      } finally {
        clearTimeout(release);
        if (raw.inTransaction) raw.exec("COMMIT");
        raw.close();
      }
    }
    assertEquals(await ln.ULabel.filter({}).count(), 3);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

/** What the outside client of a forced PostgreSQL race does: queries in its own session. */
interface Outside {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Until `n` sessions of `ext`'s database wait on a lock (a forced interleaving's step).
 * `ext` may be inside a transaction: the activity statistics are read afresh each time
 * (PostgreSQL keeps one snapshot of them for a whole transaction otherwise).
 */
async function lockWaiters(ext: Outside, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    await ext.query("select pg_stat_clear_snapshot()");
    const r = await ext.query(
      `select count(*)::int n from pg_stat_activity
       where wait_event_type = 'Lock' and datname = current_database()`,
    );
    if ((r.rows[0] as { n: number }).n >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never ${n} sessions waiting on a lock`);
}

/**
 * A PostgreSQL race forced to one interleaving: two writers `a` and `b`
 * (instances on one fresh database and storage root) and `ext`, a client of
 * its own whose transactions hold what the writers wait for (see
 * {@linkcode lockWaiters}); its open transaction is rolled back at the end.
 */
function pgRace(
  name: string,
  why: string,
  fn: (s: { a: ln.Instance; b: ln.Instance; ext: Outside; root: string }) => Promise<void>,
): void {
  Deno.test({
    name: `PostgreSQL: ${name}`,
    ...needsPostgres(why),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { default: pg } = await import("pg");
      await using srv = await postgresServer();
      const db = await srv.database();
      const root = await tempDir();
      const a = await ln.connect({ storage: root, db });
      const b = await ln.connect({ storage: root, db });
      const ext = new pg.Client({ connectionString: db });
      await ext.connect();
      try {
        await fn({ a, b, ext, root });
      } finally {
        await ext.query("rollback").catch(() => {});
        await ext.end();
        await a.close();
        await b.close();
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}

for (const op of ["replace", "delete"] as const) {
  pgRace(
    `${op}() and a new version at the file's key, their claims forced to interleave: one wins, nothing lost`,
    "claims racing on PostgreSQL",
    async ({ a, b, ext, root }) => {
      // (From a stress on PostgreSQL: READ COMMITTED let both claims pass a plain read of
      // the row first; the replaced content or the deleted file's object was then undone.)
      const f0 = await new ln.File(enc.encode("old"), { key: "k.txt", instance: a }).save();
      const fA = await ln.File.using(a).get(f0.id);
      // Both writers stop at their journal entry, the first of them holding what it read.
      await ext.query("begin");
      await ext.query("lock table pending_object in exclusive mode");
      const first = (op === "replace" ? fA.replace(enc.encode("replaced")) : fA.delete())
        .then(() => "ok", (e) => e);
      await lockWaiters(ext, 1);
      const second = new ln.File(enc.encode("version"), { key: "k.txt", instance: b }).save()
        .then(() => "ok", (e) => e);
      await lockWaiters(ext, 2);
      await ext.query("commit");
      const outcomes = await Promise.all([first, second]);
      assertEquals(outcomes.filter((o) => o === "ok").length, 1, `${op}: ${outcomes}`);
      for (const o of outcomes) assert(o === "ok" || o instanceof ln.IntegrityError, `${o}`);
      assertEquals(await ln.fsck({ instance: a }), HEALTHY);
      const latest = await ln.File.using(a).filter({ key: "k.txt" });
      const onDisk = await Deno.readTextFile(`${root}/k.txt`).catch(() => undefined);
      if (op === "replace") assertEquals(onDisk, "replaced");
      else assertEquals([latest.length, onDisk], [0, undefined]);
    },
  );
}

pgRace(
  "deleting the latest version while another writer deletes the previous one is an IntegrityError, nothing changed",
  "a delete racing on PostgreSQL",
  async ({ a, ext }) => {
    // (From the second stress round: a raw "no result" from promoting the deleted version.)
    const v0 = await new ln.File(enc.encode("v0"), { name: "x.txt", instance: a }).save();
    const v1 = await new ln.File(enc.encode("v1"), { revises: v0, instance: a }).save();
    await ext.query("begin");
    await ext.query("delete from file where id = $1", [v0.id]); // the other writer's, not committed
    const del = ln.File.using(a).get(v1.id).then((f) => f.delete()).then(() => "ok", (e) => e);
    await lockWaiters(ext, 1);
    await ext.query("commit");
    const outcome = await del;
    assert(outcome instanceof ln.IntegrityError, `got ${outcome}`);
    assertEquals((await ln.File.using(a).get(v1.id)).id, v1.id); // not deleted
  },
);

Deno.test("a collection version whose predecessor another writer deletes meanwhile is an IntegrityError", async () => {
  // (From the second stress round: a raw RangeError. The delete is placed right after
  // the save read the previous version, by a kysely plugin on this instance's database.)
  const root = await tempDir();
  const a = await ln.connect({ storage: root });
  const b = await ln.connect({ storage: root });
  try {
    const f = [];
    for (let i = 0; i < 3; i++) {
      f.push(await new ln.File(enc.encode(`${i}`), { name: `f${i}.txt`, instance: a }).save());
    }
    const fb = await Promise.all([f[0], f[1]].map((x) => ln.File.using(b).get(x.id)));
    const c0 = await new ln.Collection(fb, { name: "c", instance: b }).save();
    let armed = true;
    const hooked = new Set<unknown>();
    // deno-lint-ignore no-explicit-any
    const plugin: any = {
      // deno-lint-ignore no-explicit-any
      transformQuery(args: any) {
        const s = JSON.stringify(args.node);
        if (
          armed && args.node.kind === "SelectQueryNode" && s.includes('"collection"') &&
          s.includes('"is_latest"') && s.includes('"name"')
        ) hooked.add(args.queryId);
        return args.node;
      },
      // deno-lint-ignore no-explicit-any
      async transformResult(args: any) {
        if (armed && hooked.has(args.queryId)) {
          armed = false;
          await (await ln.Collection.using(b).get(c0.id)).delete();
        }
        return args.result;
      },
    };
    // deno-lint-ignore no-explicit-any
    (a as any).db = a.db.withPlugin(plugin);
    const outcome = await new ln.Collection([f[1], f[2]], { name: "c", instance: a }).save()
      .then(() => "saved", (e) => e);
    assert(!armed, "the delete was not placed");
    assert(outcome instanceof ln.IntegrityError, `got ${outcome}`);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(root, { recursive: true });
  }
});

pgRace(
  "content saved by another writer while replace() writes it over a file is refused or becomes that file; the replace completes",
  "a replace racing a save on PostgreSQL",
  async ({ a, b, ext, root }) => {
    // (From a stress: the save won the unique hash, the replace's commit failed, and
    // the file's object held the new content under its old hash.)
    const f0 = await new ln.File(new TextEncoder().encode("old"), { key: "k.bin", instance: a })
      .save();
    const big = new Uint8Array(20 << 20).map((_, i) => (i * 7) % 253);
    // Both writers stop at their journal entries, having checked the content is free:
    // the save's registration then commits after the replace has claimed the content.
    await ext.query("begin");
    await ext.query("lock table pending_object in exclusive mode");
    const saving = new ln.File(big, { name: "same.bin", instance: b }).save()
      .then((f) => f.id, (e) => e);
    await lockWaiters(ext, 1);
    const replacing = ln.File.using(a).get(f0.id).then((f) => f.replace(big.slice()))
      .then(() => "ok", (e) => e);
    await lockWaiters(ext, 2);
    await ext.query("commit");
    const [replaced, saved] = [await replacing, await saving];
    assertEquals(replaced, "ok", `the replace: ${replaced}`);
    // Refused while the replace registers the content, or that file once it has.
    if (saved !== f0.id) {
      assert(saved instanceof ln.IntegrityError, `the save: ${saved}`);
      assert(/being registered by a replace/.test(saved.message), saved.message);
    }
    assertEquals(await ln.fsck({ instance: a }), HEALTHY);
    assertEquals((await Deno.stat(`${root}/k.bin`)).size, big.length);
    // The content is the file's now: saving it again returns that file.
    const again = await new ln.File(big.slice(), { name: "same.bin", instance: b }).save();
    assertEquals(again.id, f0.id);
  },
);

pgRace(
  "deleting a collection's latest version while another writer deletes the previous one is an IntegrityError, nothing changed",
  "a collection delete racing on PostgreSQL",
  async ({ a, ext }) => {
    // (From a stress of several writers: the previous version, deleted by the other writer
    // meanwhile, was promoted by an UPDATE of no row, and the family was left without a
    // latest version, which get({ name }) then could not find. Files had this fix already.)
    const f = await new ln.File(enc.encode("x"), { name: "x.txt", instance: a }).save();
    const g = await new ln.File(enc.encode("y"), { name: "y.txt", instance: a }).save();
    const c0 = await new ln.Collection([f], { name: "c", instance: a }).save();
    const c1 = await new ln.Collection([f, g], { name: "c", instance: a }).save();
    await ext.query("begin"); // the other writer deletes c0, not committed yet
    await ext.query("delete from collection_file where collection_id = $1", [c0.id]);
    await ext.query("delete from collection where id = $1", [c0.id]);
    const del = ln.Collection.using(a).get(c1.id).then((c) => c.delete())
      .then(() => "ok", (e) => e);
    await lockWaiters(ext, 1);
    await ext.query("commit");
    const outcome = await del;
    assert(outcome instanceof ln.IntegrityError, `got ${outcome}`);
    const latest = await ln.Collection.using(a).get({ name: "c" });
    assertEquals(latest.id, c1.id); // not deleted, still the latest
  },
);

pgRace(
  "a replace() claiming content that another replace() registers between its two checks is refused, nothing overwritten",
  "two replaces of one content racing on PostgreSQL",
  async ({ a, b, ext, root }) => {
    // (From a stress on PostgreSQL + S3: the claim read "not registered" before the other
    // replace's commit and "not reserved" after it (READ COMMITTED), so it wrote the
    // content over its own file's object, its commit hit the unique hash, and the object
    // held content its row did not name. The commit now takes the hash's lock.)
    const fa = await new ln.File(enc.encode("a"), { key: "a.bin", instance: a }).save();
    const fb = await new ln.File(enc.encode("b"), { key: "b.bin", instance: b }).save();
    const big = new Uint8Array(30 << 20).map((_, i) => (i * 11) % 251);
    // B claims the content, then stops at its commit (a row lock held from outside).
    const bDone = fb.replace(big.slice()).then(() => "ok", (e) => e);
    for (let i = 0; i < 5000; i++) {
      const r = await ext.query("select 1 from pending_object where file_id = $1", [fb.id]);
      if (r.rows.length) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    await ext.query("begin");
    await ext.query("select 1 from file where id = $1 for update", [fb.id]);
    await lockWaiters(ext, 1);
    // A's claim: B's commit is let go right after A read that the content is not registered.
    let armed = true;
    const hooked = new Set<unknown>();
    // deno-lint-ignore no-explicit-any
    const plugin: any = {
      // deno-lint-ignore no-explicit-any
      transformQuery(args: any) {
        const s = JSON.stringify(args.node);
        if (
          armed && args.node.kind === "SelectQueryNode" && s.includes('"file"') &&
          s.includes('"hash"') && !s.includes("pending_object")
        ) hooked.add(args.queryId);
        return args.node;
      },
      // deno-lint-ignore no-explicit-any
      async transformResult(args: any) {
        if (armed && hooked.has(args.queryId)) {
          armed = false;
          await ext.query("commit");
          // B commits (before the fix), or waits for the content's lock A holds.
          await Promise.race([bDone, lockWaiters(ext, 1)]);
        }
        return args.result;
      },
    };
    // deno-lint-ignore no-explicit-any
    (a as any).db = a.db.withPlugin(plugin);
    const aDone = await fa.replace(big.slice()).then(() => "ok", (e) => e);
    assert(!armed, "the commit was not placed");
    assertEquals(await bDone, "ok");
    assert(aDone instanceof ln.IntegrityError, `got ${aDone}`);
    assert(
      /being registered by a replace\(\)|already registered/.test(aDone.message),
      aDone.message,
    );
    assertEquals(await ln.fsck({ instance: b }), HEALTHY);
    assertEquals(await Deno.readTextFile(`${root}/a.bin`), "a");
  },
);
