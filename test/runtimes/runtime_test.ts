// src/_runtime.ts, the library's one door to the runtime, under Deno (the
// same code runs under Node and Bun: node_bun_test.ts).
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import * as rt from "../../src/_runtime.ts";
import { pidLock } from "../../src/_runtime_lock.ts";

const enc = new TextEncoder();

Deno.test("runtime errors: missing, existing, not-a-folder and folder are recognized from node:fs and Deno alike", async () => {
  const dir = await rt.makeTempDir({ prefix: "lamindeno-rt-" });
  try {
    await rt.writeTextFile(join(dir, "f"), "x");
    const caught = async (p: Promise<unknown>) => await p.then(() => undefined, (e) => e);
    assert(rt.isNotFound(await caught(rt.stat(join(dir, "nope")))));
    assert(rt.isNotFound(await caught(Deno.stat(join(dir, "nope")))));
    assert(rt.isAlreadyExists(await caught(rt.link(join(dir, "f"), join(dir, "f")))));
    assert(rt.isAlreadyExists(await caught(rt.openFile(join(dir, "f"), "wx"))));
    assert(rt.isNotADirectory(await caught(rt.stat(join(dir, "f", "x")))));
    assert(rt.isADirectory(await caught(rt.readFile(dir))));
    assert(!rt.isNotFound(await caught(rt.link(join(dir, "f"), join(dir, "f")))));
    assert(!rt.isNotFound(new Error("ENOENT")));
  } finally {
    await rt.remove(dir, { recursive: true });
  }
});

Deno.test("runtime remove: a file, an empty folder; a full folder only with recursive; a missing path is NotFound", async () => {
  const dir = await rt.makeTempDir();
  await rt.mkdir(join(dir, "a", "b"), { recursive: true });
  await rt.writeFile(join(dir, "a", "b", "f"), enc.encode("x"));
  await rejects(rt.remove(join(dir, "a")), (e) => !rt.isNotFound(e));
  await rt.remove(join(dir, "a", "b", "f"));
  await rt.remove(join(dir, "a", "b"));
  assertEquals(await rt.readDir(join(dir, "a")), []);
  await rejects(rt.remove(join(dir, "nope")), rt.isNotFound);
  await rejects(rt.remove(join(dir, "nope"), { recursive: true }), rt.isNotFound);
  await rt.remove(dir, { recursive: true });
  await rejects(rt.stat(dir), rt.isNotFound);
});

Deno.test("runtime files: stat, lstat of a link, readDir kinds, positioned reads and writes, streams in and out", async () => {
  const dir = await rt.makeTempDir();
  try {
    const path = join(dir, "data.bin");
    const bytes = new Uint8Array(600_000).map((_, i) => i % 251);
    const f = await rt.openFile(path, "w");
    await rt.writeAll(f, bytes.subarray(100), 100);
    await rt.writeAll(f, bytes.subarray(0, 100), 0);
    await f.close();
    assertEquals(await rt.readFile(path), bytes);
    const info = await rt.stat(path);
    assertEquals([info.isFile, info.isDirectory, info.size], [true, false, 600_000]);
    assert(info.mtime instanceof Date);

    // A small file read at once; a larger one only sized.
    assertEquals(rt.readSmallSync(path, 600_000), { bytes, size: 600_000 });
    assertEquals(rt.readSmallSync(path, 599_999), { size: 600_000 });
    await rejects(
      Promise.resolve().then(() => rt.readSmallSync(join(dir, "nope"), 10)),
      rt.isNotFound,
    );

    await Deno.symlink(path, join(dir, "link"));
    assert((await rt.lstat(join(dir, "link"))).isSymlink);
    assert(rt.lstatSync(join(dir, "link")).isSymlink && !rt.statSync(join(dir, "link")).isSymlink);
    assertEquals(rt.lstatSync(path).size, 600_000);
    assert(!(await rt.stat(join(dir, "link"))).isSymlink);
    assertEquals(await rt.realPath(join(dir, "link")), await rt.realPath(path));
    await rt.mkdir(join(dir, "sub"));
    const kinds = (await rt.readDir(dir)).map((
      e,
    ) => [e.name, e.isFile, e.isDirectory, e.isSymlink]);
    assertEquals(kinds.sort(), [
      ["data.bin", true, false, false],
      ["link", false, false, true],
      ["sub", false, true, false],
    ]);

    const r = await rt.openFile(path, "r");
    const buf = new Uint8Array(10);
    assertEquals(await rt.readAt(r, buf, 599_995), 5);
    assertEquals(buf.subarray(0, 5), bytes.subarray(599_995));
    await r.close();

    const chunks: Uint8Array[] = [];
    for await (const c of await rt.readStream(path)) chunks.push(c);
    assert(chunks.length > 1, "read in several chunks");
    assertEquals(
      new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer()),
      bytes,
    );
    await rejects(rt.readStream(join(dir, "nope")), rt.isNotFound);

    const copy = join(dir, "copy.bin");
    assertEquals(await rt.writeStream(copy, await rt.readStream(path)), 600_000);
    assertEquals(await rt.readFile(copy), bytes);
    await rejects(rt.writeStream(copy, await rt.readStream(path)), rt.isAlreadyExists);
  } finally {
    await rt.remove(dir, { recursive: true });
  }
});

Deno.test("runtime process: env, cwd, pid, the main module as a file URL, no Jupyter bridge outside a kernel", () => {
  assertEquals(rt.env("HOME"), Deno.env.get("HOME"));
  assertEquals(rt.env("LAMINDENO_SURELY_UNSET"), undefined);
  assertEquals([rt.cwd(), rt.pid()], [Deno.cwd(), Deno.pid]);
  assertEquals(rt.mainModule(), Deno.mainModule);
  assertEquals(rt.jupyterBridge(), undefined);
});

Deno.test("the pid lock file (Node and Bun) excludes a second holder until released, and takes over a dead process's lock", async () => {
  const dir = await rt.makeTempDir();
  try {
    const held = join(dir, "lamin.db.lock.pid");
    const first = await pidLock(held);
    assertEquals(await rt.readTextFile(held), String(Deno.pid));
    let got = false;
    const waiting = pidLock(held).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 150));
    assertEquals(got, false, "the second waits while the first holds it");
    first[Symbol.dispose]();
    const second = await waiting;
    second[Symbol.dispose]();
    await rejects(rt.stat(held), rt.isNotFound);

    // A process that died holding it: its pid names no process.
    const dead = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
    await dead.status;
    await rt.writeTextFile(held, String(dead.pid));
    const taken = await pidLock(held);
    assertEquals(await rt.readTextFile(held), String(Deno.pid));
    taken[Symbol.dispose]();
  } finally {
    await rt.remove(dir, { recursive: true });
  }
});

Deno.test("runtime writeTextFile: createNew refuses an existing file; mode, mkdir's mode and chmod set permission bits", async () => {
  const dir = await rt.makeTempDir();
  try {
    const path = join(dir, "secret");
    await rt.writeTextFile(path, "a", { createNew: true, mode: 0o600 });
    await rejects(rt.writeTextFile(path, "b", { createNew: true }), rt.isAlreadyExists);
    assertEquals(await rt.readTextFile(path), "a");
    assertEquals((await rt.stat(path)).mode! & 0o777, 0o600);
    await rt.chmod(path, 0o640);
    assertEquals((await rt.stat(path)).mode! & 0o777, 0o640);
    await rt.writeTextFile(path, "c");
    assertEquals(await rt.readTextFile(path), "c");
    await rt.mkdir(join(dir, "private"), { mode: 0o700 });
    assertEquals((await rt.stat(join(dir, "private"))).mode! & 0o777, 0o700);
  } finally {
    await rt.remove(dir, { recursive: true });
  }
});
