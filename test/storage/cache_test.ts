// Cached copies of remote folders (a zarr store's objects, s3rver): fetched
// many at once, each without a head of its own (the listing gave size and
// etag), the same bytes as stored; a fresh copy is not fetched again.
import * as ln from "../../mod.ts";
import { localCopy } from "../../src/storage/_cache.ts";
import { assert, assertEquals, tempDir } from "../_helpers.ts";
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

Deno.test({
  name:
    "a remote folder is cached many objects at once, without a head each; a fresh copy is not fetched again",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const cache = await tempDir();
    const backend = new ln.S3Storage(`s3://${bucket}/p`, server.options);
    try {
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
    } finally {
      backend.close();
    }
  },
});
