// Crash safety and concurrency with real processes: children killed with
// SIGKILL while saving, and several processes saving the same content.
import * as ln from "../../mod.ts";
import { assert, assertEquals, tempDir, writeRandomFile } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";

const CHILD = new URL("./_child_save.ts", import.meta.url).pathname;

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
      assertEquals(after, {
        leftovers: [],
        orphans: [],
        interrupted: [],
        missing: [],
        mismatched: [],
      });
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
    assertEquals(await ln.fsck(), {
      leftovers: [],
      orphans: [],
      interrupted: [],
      missing: [],
      mismatched: [],
    });
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
