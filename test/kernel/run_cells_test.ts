// The registry functions the kernel records cells with
// (src/registry/run_cells.ts): the library's own dialects and migrations,
// including its refusal of a registry written by a newer schema.
import { createClient } from "@libsql/client/node";
import * as ln from "../../mod.ts";
import { openRegistryAt, recordCells, updateCell } from "../../src/registry/run_cells.ts";
import { assertEquals, assertRejects, tempDir } from "../_helpers.ts";

Deno.test("recordCells inserts cells and updateCell records a cell's outcome", async () => {
  const root = await tempDir();
  await ln.init({ storage: root });
  try {
    const run = await ln.track({ name: "cells" });
    const db = await openRegistryAt({ kind: "libsql", path: `${root}/.lamindb/lamin.db` });
    const startedAt = new Date("2026-01-02T03:04:05Z");
    try {
      await recordCells(db, run.id, [
        { seq: 1, code: "1 + 1", status: "ok", startedAt, executionCount: 1, endedAt: startedAt },
        {
          seq: 3,
          code: 'await ln.init({ db: "postgresql://ana:pw-of-ana@db/x" })',
          status: "ok",
          startedAt,
        },
        { seq: 2, code: "await f()", cellId: "c2", status: "running", startedAt },
        // A NUL (which PostgreSQL refuses and SQLite cut the text at) and half a surrogate pair.
        { seq: 4, code: "'a\0b' + '\ud800'", cellId: "c\0", status: "ok", startedAt },
      ]);
      await updateCell(db, run.id, {
        seq: 2,
        code: "await f()",
        status: "error",
        errorName: "TypeError",
        executionCount: 2,
        startedAt,
        endedAt: new Date("2026-01-02T03:04:06Z"),
      });
    } finally {
      await db.destroy();
    }
    const cells = await run.cells();
    assertEquals(cells.map((c) => [c.code, c.status, c.executionCount, c.errorName, c.cellId]), [
      ["1 + 1", "ok", 1, undefined, undefined],
      ["await f()", "error", 2, "TypeError", "c2"],
      // A password written into a cell is not stored.
      ['await ln.init({ db: "postgresql://***@db/x" })', "ok", null, undefined, undefined],
      ["'a\ufffdb' + '\ufffd'", "ok", null, undefined, "c\ufffd"],
    ]);
    assertEquals(cells[1].finishedAt?.toISOString(), "2026-01-02T03:04:06.000Z");
    assertEquals(cells[1].startedAt.toISOString(), startedAt.toISOString());
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("openRegistryAt refuses a registry of a newer schema and leaves it unchanged", async () => {
  const root = await tempDir();
  await ln.init({ storage: root });
  await ln.close();
  const path = `${root}/.lamindb/lamin.db`;
  const client = createClient({ url: `file:${path}` });
  try {
    await client.execute(
      "insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01')",
    );
    const names = async () =>
      (await client.execute("select name from kysely_migration order by name")).rows.map((r) =>
        r.name
      );
    const before = await names();
    await assertRejects(
      () => openRegistryAt({ kind: "libsql", path }),
      ln.SchemaVersionError,
      /newer lamindeno.*9999_from_the_future/,
    );
    assertEquals(await names(), before);
  } finally {
    client.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("openRegistryAt does not create a registry where there is none", async () => {
  const root = await tempDir();
  await Deno.mkdir(`${root}/.lamindb`);
  try {
    await assertRejects(
      () => openRegistryAt({ kind: "libsql", path: `${root}/.lamindb/lamin.db` }),
      ln.StorageError,
      /no registry at .*lamin\.db/,
    );
    assertEquals([...Deno.readDirSync(`${root}/.lamindb`)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
