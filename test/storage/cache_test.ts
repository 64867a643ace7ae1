// Cached copies of remote folders (a zarr store's objects, s3rver): fetched
// many at once, each without a head of its own (the listing gave size and
// etag), the same bytes as stored; a fresh copy is not fetched again.
import * as ln from "../../mod.ts";
import { localCopy } from "../../src/storage/_cache.ts";
import { assert, assertEquals, assertRejects, listTree, tempDir } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";

/**
 * `backend` with its `head` and `get` counted (calls, most at once); the
 * real calls still go to the server.
 */
function counted(backend: ln.S3Storage) {
  const n = { head: 0, get: 0, inFlight: 0, most: 0 };
  const head = backend.head.bind(backend), get = backend.get.bind(backend);
  backend.head = (key) => {
    n.head++;
    return head(key);
  };
  backend.get = async (key) => {
    n.get++;
    n.most = Math.max(n.most, ++n.inFlight);
    try {
      // Held a moment, as a network would, so overlapping calls show.
      await new Promise((r) => setTimeout(r, 5));
      return await get(key);
    } finally {
      n.inFlight--;
    }
  };
  return n;
}

/** A test with an S3 backend on a fresh bucket of its own s3rver and a fresh cache folder. */
function s3Case(
  name: string,
  fn: (backend: ln.S3Storage, cache: string) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using server = await s3Server();
      const backend = new ln.S3Storage(`s3://${await server.bucket()}/p`, server.options);
      try {
        await fn(backend, await tempDir());
      } finally {
        backend.close();
      }
    },
  });
}

s3Case(
  "a remote folder is cached many objects at once, without a head each; a fresh copy is not fetched again",
  async (backend, cache) => {
    const bytes = (i: number) => Uint8Array.from({ length: 100 + i }, (_, k) => (k * i) % 251);
    for (let i = 0; i < 40; i++) await backend.put(`f.zarr/c/${i}`, bytes(i));
    await backend.put("f.zarr/.zgroup", new TextEncoder().encode('{"zarr_format":2}'));
    const n = counted(backend);
    const dir = await localCopy(backend, "f.zarr", true, cache);
    assertEquals(n.head, 0, "the listing's sizes and etags, no head per object");
    assertEquals(n.get, 41);
    assert(n.most > 1, `objects fetched at once (at most ${n.most} at a time)`);
    for (let i = 0; i < 40; i++) assertEquals(await Deno.readFile(`${dir}/c/${i}`), bytes(i));
    // Again: every cached object is fresh (same etag), nothing is fetched.
    n.get = 0;
    assertEquals(await localCopy(backend, "f.zarr", true, cache), dir);
    assertEquals([n.get, n.head], [0, 0]);
    // One object changed: only it is fetched again.
    await backend.put("f.zarr/c/3", bytes(99), { overwrite: true });
    await localCopy(backend, "f.zarr", true, cache);
    assertEquals(n.get, 1);
    assertEquals(await Deno.readFile(`${dir}/c/3`), bytes(99));
  },
);

Deno.test({
  name:
    "a large remote object is cached in parts at once (same bytes); one that changes meanwhile is fetched again whole",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const cache = await tempDir();
    // Requests priced as a network's: parts run 4 at once.
    const cost = { latencyMs: 20, bytesPerSec: 100e6, parallelism: 4 };
    const backend = new ln.S3Storage(`s3://${bucket}/p`, { ...server.options, costModel: cost });
    try {
      const size = 40 * 2 ** 20 + 123;
      const big = Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 16)) % 256);
      await backend.put("big.bin", big);
      const getRange = backend.getRange.bind(backend);
      const n = { ranges: 0, inFlight: 0, most: 0, gets: 0, change: false };
      backend.getRange = async (key, offset, length) => {
        n.ranges++;
        n.most = Math.max(n.most, ++n.inFlight);
        try {
          const got = await getRange(key, offset, length);
          // The object replaced while its parts are read.
          if (n.change) {
            n.change = false;
            await backend.put("big.bin", big.map((v) => 255 - v), { overwrite: true });
          }
          return got;
        } finally {
          n.inFlight--;
        }
      };
      const get = backend.get.bind(backend);
      backend.get = (key) => {
        n.gets++;
        return get(key);
      };
      const path = await localCopy(backend, "big.bin", false, cache);
      assertEquals(await Deno.readFile(path), big);
      assert(n.ranges >= 3, `${n.ranges} parts`);
      assert(n.most > 1, `parts at once (at most ${n.most})`);
      assertEquals(n.gets, 0);

      // Changed while its parts are read: discarded, read again in one stream.
      await Deno.remove(path);
      Object.assign(n, { ranges: 0, gets: 0, change: true });
      const again = await localCopy(backend, "big.bin", false, cache);
      assertEquals(n.gets, 1);
      assertEquals(await Deno.readFile(again), big.map((v) => 255 - v));
      assertEquals((await Array.fromAsync(Deno.readDir(cache))).length > 0, true);
    } finally {
      backend.close();
    }
  },
});

Deno.test({
  name: "a folder whose listing names a key leading out of it is refused before anything is cached",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const base = await tempDir();
    const cache = `${base}/cache`;
    const backend = new ln.S3Storage(`s3://${bucket}/p`, server.options);
    try {
      await backend.put("f.zarr/.zgroup", new TextEncoder().encode('{"zarr_format":2}'));
      // S3 keeps "..": a store of another tool (or a hostile one) may list such a key.
      const list = backend.list.bind(backend);
      backend.list = async function* (prefix?: string) {
        yield* list(prefix);
        yield { key: "f.zarr/c/../../../../../out/evil", size: 4, etag: '"e"' };
      };
      await assertRejects(() => localCopy(backend, "f.zarr", true, cache), ln.InvalidKeyError);
      // Was: the folder of the escaping key made (outside the cache) before its read failed.
      assertEquals(await listTree(base), []);
    } finally {
      backend.close();
    }
  },
});

s3Case(
  "a cached copy changed on disk (same size) is fetched again, not served",
  async (backend, cache) => {
    await backend.put("a.csv", new TextEncoder().encode("x,y\n1,2\n"));
    const path = await localCopy(backend, "a.csv", false, cache);
    // A tool (or the user) edits the staged copy in place: was served as the object.
    await Deno.writeTextFile(path, "x,y\n9,9\n");
    await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
    assertEquals(await localCopy(backend, "a.csv", false, cache), path);
    assertEquals(await Deno.readTextFile(path), "x,y\n1,2\n");
  },
);

Deno.test({
  name: "two copies of one remote folder made at once (two processes staging it) both complete",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const cache = await tempDir();
    const a = new ln.S3Storage(`s3://${bucket}/p`, server.options);
    const b = new ln.S3Storage(`s3://${bucket}/p`, server.options);
    try {
      for (let i = 0; i < 10; i++) await a.put(`f.zarr/c/${i}`, new TextEncoder().encode(`${i}`));
      // b's download of c/7 is still being written when a's copy ends and prunes.
      let aDone!: () => void;
      const done = new Promise<void>((r) => aDone = r);
      const get = b.get.bind(b);
      b.get = async (key) => {
        const body = await get(key);
        if (!body || key !== "f.zarr/c/7") return body;
        const reader = body.getReader();
        return new ReadableStream({
          async pull(c) {
            await done;
            const r = await reader.read();
            r.done ? c.close() : c.enqueue(r.value);
          },
        });
      };
      const second = localCopy(b, "f.zarr", true, cache);
      const first = await localCopy(a, "f.zarr", true, cache);
      aDone();
      // Was: a's prune removed b's partial download (b: ENOENT at its rename), and a
      // copy made meanwhile showed the other's ".part" files as entries of the folder.
      assertEquals(await second, first);
      const names = (await listTree(first)).sort();
      assertEquals(names, Array.from({ length: 10 }, (_, i) => `c/${i}`).sort());
    } finally {
      a.close();
      b.close();
    }
  },
});

s3Case(
  "a cached copy of another kind at the path (a folder where a file now is, and back) is replaced",
  async (backend, cache) => {
    // (Was a StorageError quoting a raw "EISDIR: illegal operation on a directory".)
    await backend.put("x/a", new TextEncoder().encode("in a folder"));
    const dir = await localCopy(backend, "x", true, cache);
    await backend.delete("x/a");
    await backend.put("x", new TextEncoder().encode("a file now"));
    assertEquals(await localCopy(backend, "x", false, cache), dir);
    assertEquals(await Deno.readTextFile(dir), "a file now");
    await backend.delete("x");
    await backend.put("x/b", new TextEncoder().encode("a folder again"));
    assertEquals(await localCopy(backend, "x", true, cache), dir);
    assertEquals(await Deno.readTextFile(`${dir}/b`), "a folder again");
  },
);

s3Case(
  "a cached copy of a file where a folder of the key now is is replaced",
  async (backend, cache) => {
    // (From a stress of several writers on S3: "d" was saved, staged, deleted, then
    // "d/x.csv" saved; its stage() threw a raw "EEXIST: file already exists, mkdir".)
    await backend.put("d", new TextEncoder().encode("a file"));
    const file = await localCopy(backend, "d", false, cache);
    await backend.delete("d");
    await backend.put("d/x.csv", new TextEncoder().encode("in a folder now"));
    assertEquals(await localCopy(backend, "d/x.csv", false, cache), `${file}/x.csv`);
    assertEquals(await Deno.readTextFile(`${file}/x.csv`), "in a folder now");
    await backend.put("d/e/y", new TextEncoder().encode("deeper"));
    assertEquals(
      await Deno.readTextFile(await localCopy(backend, "d/e/y", false, cache)),
      "deeper",
    );
  },
);
