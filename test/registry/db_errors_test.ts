// Database failures a user can act on are typed errors saying what to do,
// never the driver's raw error: a full disk (SQLITE_FULL, and the
// TRANSACTION_CLOSED that follows it), a registry file removed under an open
// instance ("no such table"). Real libSQL files throughout; the full disk is
// a small tmpfs where the sandbox lets us mount one, and SQLite's
// max_page_count otherwise.
import { type Kysely, sql, type Transaction } from "kysely";
import * as ln from "../../mod.ts";
import { dbError } from "../../src/registry/_db_errors.ts";
import { openRegistry } from "../../src/registry/db.ts";
import type { Database } from "../../src/registry/schema.ts";
import { libsqlDialect } from "../../src/registry/libsql.ts";
import { assert, assertEquals, assertRejects, HEALTHY, tempDir } from "../_helpers.ts";

const enc = new TextEncoder();
const FULL = /the disk holding the registry is full; free space and retry; nothing was saved/;

/** Mount a tmpfs of `size` at a new folder; undefined where mounting is not allowed. */
async function tmpfs(size: string): Promise<string | undefined> {
  const dir = await tempDir("lamindeno-full-");
  try {
    const { success } = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).output();
    if (success) return dir;
  } catch { /* no mount command */ }
  await Deno.remove(dir, { recursive: true });
  return undefined;
}

/** Unmount (lazily: a connection the driver still holds must not keep it busy), then remove. */
async function umount(dir: string): Promise<void> {
  const { success } = await new Deno.Command("umount", { args: ["-l", dir] }).output();
  if (success) await Deno.remove(dir).catch(() => {});
}

const probe = await tmpfs("64k");
if (probe) await umount(probe);

Deno.test({
  name: "saving on a full disk is a StorageError saying to free space, nothing is half-written, " +
    "and the same save succeeds once there is room",
  ignore: !probe,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Room for a new registry (its schema), then for some saves until the disk is full.
    const disk = (await tmpfs("3m"))!;
    try {
      // Room to free later, outside the instance.
      await Deno.writeFile(`${disk}/ballast`, new Uint8Array(1 << 20));
      await ln.init({ storage: `${disk}/root` });
      let err: unknown;
      let n = 0;
      for (; n < 2000 && !err; n++) {
        await new ln.File(enc.encode(`object ${n}`), {
          key: `k/${n}.txt`,
          name: `${n} `.repeat(2000),
        }).save().catch((e) => err = e);
      }
      n--;
      assert(err instanceof ln.StorageError, `after ${n} saves: ${err}`);
      assert(FULL.test(err.message), err.message);
      assert(!/SQLITE|TRANSACTION_CLOSED|LibsqlError/.test(err.message), err.message);
      // Nothing half-written: no record, no object, and fsck finds nothing to repair.
      assertEquals(await ln.File.filter({ key: `k/${n}.txt` }), []);
      await assertRejects(() => Deno.stat(`${disk}/root/k/${n}.txt`), Deno.errors.NotFound);
      assertEquals(await ln.fsck(), HEALTHY);
      // Free space and retry: it is saved.
      await Deno.remove(`${disk}/ballast`);
      const f = await new ln.File(enc.encode(`object ${n}`), {
        key: `k/${n}.txt`,
        name: `${n} `.repeat(2000),
      }).save();
      assertEquals(await Deno.readTextFile(`${disk}/root/k/${n}.txt`), `object ${n}`);
      assertEquals((await ln.File.get(f.id)).key, `k/${n}.txt`);
      assertEquals(await ln.fsck(), HEALTHY);
    } finally {
      await ln.close().catch(() => {});
      await umount(disk);
    }
  },
});

Deno.test({
  name: "a transaction that fills the database is a StorageError about the full disk, and a " +
    "statement after it (TRANSACTION_CLOSED) one too; nothing of it is committed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await tempDir();
    const db = await openRegistry(await libsqlDialect(`${dir}/lamin.db`));
    try {
      // The connection (of the transaction) may grow the database by one page only.
      const cap = async (on: Kysely<Database> | Transaction<Database>) => {
        const { rows } = await sql<{ page_count: number }>`PRAGMA page_count`.execute(on);
        await sql.raw(`PRAGMA max_page_count = ${Number(rows[0].page_count) + 1}`).execute(on);
      };
      await cap(db);
      const big = "x".repeat(64 << 10);
      const row = (key: string) => ({ key, value: big });
      const err = await assertRejects(
        () =>
          db.transaction().execute(async (trx) => {
            await trx.insertInto("lamin_meta").values(row("a")).execute();
            await trx.insertInto("lamin_meta").values(row("b")).execute();
          }),
        ln.StorageError,
      );
      assert(FULL.test(err.message), err.message);
      // A transaction that goes on after the failed statement: the database already ended it.
      const err2 = await assertRejects(
        () =>
          db.transaction().execute(async (trx) => {
            await cap(trx);
            await trx.insertInto("lamin_meta").values(row("c")).execute().catch(() => {});
            await trx.insertInto("lamin_meta").values({ key: "d", value: "1" }).execute();
          }),
        ln.StorageError,
      );
      assert(/ended the transaction after an earlier error/.test(err2.message), err2.message);
      assert(!/TRANSACTION_CLOSED|SQLITE/.test(err2.message), err2.message);
      const keys = await db.selectFrom("lamin_meta").select("key").execute();
      assertEquals(keys.map((k) => k.key).filter((k) => "abcd".includes(k)), []);
    } finally {
      await db.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a registry file deleted under an open instance gives a StorageError saying to reopen " +
    "with ln.init(), for saves and queries alike",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await tempDir();
    try {
      await ln.init({ storage: root });
      await new ln.File(enc.encode("a"), { key: "a.txt" }).save();
      for (const s of ["", "-wal", "-shm"]) {
        await Deno.remove(`${root}/.lamindb/lamin.db${s}`).catch(() => {});
      }
      const steps: [string, () => Promise<unknown>][] = [
        ["save", () => new ln.File(enc.encode("b"), { key: "b.txt" }).save()],
        ["filter", () => ln.File.filter({})],
        ["get", () => ln.File.get({ key: "a.txt" })],
      ];
      for (const [what, step] of steps) {
        const err = await assertRejects(step, ln.StorageError);
        assert(
          /registry database has no lamindeno tables \(table "\w+" is missing\): its file was removed/
            .test(err.message) && /reopen the instance with ln\.init\(\)/.test(err.message),
          `${what}: ${err.message}`,
        );
        assert(err.cause !== undefined, "the driver's error is kept as the cause");
      }
    } finally {
      await ln.close().catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("Postgres' disk-full and missing-table errors are typed the same way", () => {
  const pg = (code: string, message: string) => Object.assign(new Error(message), { code });
  const full = dbError(pg("53100", 'could not extend file "base/1/2": No space left'));
  assert(full instanceof ln.StorageError && FULL.test(full.message));
  const gone = dbError(pg("42P01", 'relation "file" does not exist'));
  assert(gone instanceof ln.StorageError && /table "file" is missing/.test(gone.message));
  const other = pg("23505", "duplicate key value");
  assertEquals(dbError(other), other, "other errors pass through for the caller to recognize");
});
