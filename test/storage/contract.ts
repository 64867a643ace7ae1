// The contract every StorageBackend must meet; each backend's test file runs it.
import { IntegrityError, type StorageBackend, StorageError } from "../../mod.ts";
import { hashBytes } from "../../mod.ts";
import { assert, assertEquals, assertRejects } from "../_helpers.ts";

const enc = new TextEncoder();

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => enc.encode(p)));
}

async function text(s: ReadableStream<Uint8Array> | undefined): Promise<string | undefined> {
  return s ? await new Response(s).text() : undefined;
}

/** Register the contract tests for a backend made fresh by `make`. */
export function storageContract(
  name: string,
  make: () => Promise<{ store: StorageBackend; cleanup: () => Promise<void> }>,
): void {
  const t = (what: string, fn: (s: StorageBackend) => Promise<void>) =>
    Deno.test(`${name}: ${what}`, async () => {
      const { store, cleanup } = await make();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    });

  t("put() from a stream hashes what it wrote; get() reads it back", async (s) => {
    const r = await s.put("a/b/c.txt", streamOf("hel", "lo"));
    assertEquals(r.size, 5);
    assertEquals(r.hash, hashBytes(enc.encode("hello")));
    assertEquals(await text(await s.get("a/b/c.txt")), "hello");
  });

  t("missing objects read as undefined, delete() returns false", async (s) => {
    assertEquals(await s.get("nope"), undefined);
    assertEquals(await s.getRange("nope", 0, 1), undefined);
    assertEquals(await s.head("nope"), undefined);
    assertEquals(await s.delete("nope"), false);
  });

  t("getRange() returns exactly the asked bytes, fewer at the end", async (s) => {
    await s.put("r.bin", enc.encode("0123456789"));
    assertEquals(new TextDecoder().decode(await s.getRange("r.bin", 2, 3)), "234");
    assertEquals(new TextDecoder().decode(await s.getRange("r.bin", 8, 10)), "89");
    assertEquals((await s.getRange("r.bin", 20, 5))?.length, 0);
  });

  t("head() reports the size", async (s) => {
    await s.put("h", enc.encode("abc"));
    assertEquals((await s.head("h"))?.size, 3);
  });

  t("put() refuses to overwrite unless asked, and the old object stays intact", async (s) => {
    await s.put("k", enc.encode("old"));
    await assertRejects(() => s.put("k", enc.encode("new")), StorageError, /already exists/);
    assertEquals(await text(await s.get("k")), "old");
    await s.put("k", enc.encode("new"), { overwrite: true });
    assertEquals(await text(await s.get("k")), "new");
  });

  t("put() with a wrong expectation writes nothing", async (s) => {
    await assertRejects(
      () =>
        s.put("x", enc.encode("abc"), { expect: { size: 3, hash: hashBytes(enc.encode("abd")) } }),
      IntegrityError,
      /differ from the source/,
    );
    assertEquals(await s.head("x"), undefined);
    const left = await Array.fromAsync(s.list(""));
    assertEquals(left.filter((o) => !o.key.startsWith(".lamindb/.tmp")).length, 0);
    assertEquals(left.length, 0, "no temporary leftovers");
  });

  t("a failing source stream leaves no object", async (s) => {
    const bad = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode("partial"));
        c.error(new Error("network down"));
      },
    });
    await assertRejects(() => s.put("y", bad), StorageError, /network down/);
    assertEquals(await s.head("y"), undefined);
    assertEquals((await Array.fromAsync(s.list(""))).length, 0);
  });

  t("list() finds objects by prefix; delete() removes them", async (s) => {
    for (const k of ["p/1", "p/2/3", "q/4", "pp"]) await s.put(k, enc.encode(k));
    const keys = async (prefix: string) =>
      (await Array.fromAsync(s.list(prefix))).map((o) => o.key).sort();
    assertEquals(await keys("p/"), ["p/1", "p/2/3"]);
    assertEquals(await keys("p"), ["p/1", "p/2/3", "pp"]);
    assertEquals(await keys(""), ["p/1", "p/2/3", "pp", "q/4"]);
    assert(await s.delete("p/2/3"));
    assertEquals(await keys("p/"), ["p/1"]);
  });

  t("uri() names the object under the root", (s) => {
    assert(s.uri("a/b").endsWith("a/b"));
    assert(s.uri("a/b").startsWith(s.root.replace(/\/$/, "")));
    return Promise.resolve();
  });
}
