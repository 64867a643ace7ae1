// The contract every StorageBackend must meet, in two parts: reads (every
// backend, seeded with objects by whatever means it has) and writes
// (writable backends). Each backend's test file runs the parts it supports.
import { IntegrityError, type StorageBackend, StorageError, ValidationError } from "../../mod.ts";
import { hashBytes } from "../../mod.ts";
import { readObject } from "../../src/storage/storage.ts";
import { assert, assertEquals, assertRejects } from "../_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => enc.encode(p)));
}

async function text(s: ReadableStream<Uint8Array> | undefined): Promise<string | undefined> {
  return s ? await new Response(s).text() : undefined;
}

/** A fresh backend, a way to place objects in it, and how to tidy up. */
export interface SeededStore {
  store: StorageBackend;
  /** Make these objects (key to bytes) readable through `store`. */
  seed(objects: Record<string, Uint8Array>): Promise<void>;
  cleanup(): Promise<void>;
}

/** Register the read contract for a backend made fresh (and seedable) by `make`. */
export function storageReadContract(name: string, make: () => Promise<SeededStore>): void {
  const t = (what: string, fn: (s: StorageBackend, seed: SeededStore["seed"]) => Promise<void>) =>
    Deno.test(`${name}: ${what}`, async () => {
      const { store, seed, cleanup } = await make();
      try {
        await fn(store, seed);
      } finally {
        await cleanup();
      }
    });

  t("get() streams an object whole; head() reports its size", async (s, seed) => {
    await seed({ "a/b/c.txt": enc.encode("hello") });
    assertEquals(await text(await s.get("a/b/c.txt")), "hello");
    const info = await s.head("a/b/c.txt");
    assertEquals([info?.key, info?.size], ["a/b/c.txt", 5]);
    if (s.capabilities.etags) assert(typeof info?.etag === "string" && info.etag.length > 0);
  });

  t("missing objects read as undefined", async (s, seed) => {
    await seed({ "there": enc.encode("x") });
    assertEquals(await s.get("nope"), undefined);
    assertEquals(await s.getRange("nope", 0, 1), undefined);
    assertEquals(await s.getRange("nope", 0, 0), undefined);
    assertEquals(await s.head("nope"), undefined);
  });

  t(
    "getRange() returns exactly the asked bytes, fewer at the end, none past it",
    async (s, seed) => {
      await seed({ "r.bin": enc.encode("0123456789"), "empty": new Uint8Array() });
      assertEquals(dec.decode(await s.getRange("r.bin", 2, 3)), "234");
      assertEquals(dec.decode(await s.getRange("r.bin", 0, 10)), "0123456789");
      assertEquals(dec.decode(await s.getRange("r.bin", 0, 100)), "0123456789");
      assertEquals(dec.decode(await s.getRange("r.bin", 8, 10)), "89");
      assertEquals(dec.decode(await s.getRange("r.bin", 9, 1)), "9");
      assertEquals((await s.getRange("r.bin", 10, 5))?.length, 0);
      assertEquals((await s.getRange("r.bin", 20, 5))?.length, 0);
      assertEquals((await s.getRange("r.bin", 3, 0))?.length, 0);
      assertEquals((await s.getRange("empty", 0, 4))?.length, 0);
      assertEquals((await s.head("empty"))?.size, 0);
      assertEquals(await text(await s.get("empty")), "");
    },
  );

  t(
    "getRange() refuses a negative, fractional, NaN, huge or non-number offset or length",
    async (s, seed) => {
      await seed({ "v.bin": enc.encode("0123") });
      const bad: [unknown, unknown][] = [
        [-1, 2],
        [0, -2],
        [NaN, 2],
        [1.5, 2],
        [0, 1.5],
        [0, 2 ** 53],
        [0, Infinity],
        [2 ** 53 - 1, 2],
        [1n, 2],
        ["0", 2],
        [null, 2],
      ];
      for (const [o, l] of bad) {
        await assertRejects(
          () => s.getRange("v.bin", o as number, l as number),
          ValidationError,
          /offset and length are whole numbers >= 0/,
        );
      }
      // A length far past the object's end is still fine: fewer bytes.
      assertEquals(dec.decode(await s.getRange("v.bin", 1, 2 ** 40)), "123");
    },
  );

  t(
    "getRangeInto() hands over what getRange() returns, in order, fewer at the end; remote " +
      "backends have it",
    async (s, seed) => {
      if (s.capabilities.rangeReads === "request") assert(s.getRangeInto, "a remote backend");
      if (!s.getRangeInto) return;
      const big = new Uint8Array(3_000_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 255;
      await seed({ "big.bin": big, "r.bin": enc.encode("0123456789"), "empty": new Uint8Array() });
      const into = async (key: string, offset: number, length: number) => {
        const parts: Uint8Array[] = [];
        let next = 0;
        const n = await s.getRangeInto!(key, offset, length, (bytes, at) => {
          if (at === 0) parts.length = next = 0; // a retry starts again
          assertEquals(at, next, "in order");
          parts.push(bytes.slice());
          next += bytes.length;
        });
        const all = new Uint8Array(next);
        let o = 0;
        for (const p of parts) all.set(p, (o += p.length) - p.length);
        return { n, all, parts: parts.length };
      };
      for (const [o, l] of [[2, 3], [0, 10], [0, 100], [8, 10], [9, 1], [10, 5], [20, 5]]) {
        const r = await into("r.bin", o, l);
        assertEquals(r.all, await s.getRange("r.bin", o, l), `r.bin ${o}+${l}`);
        assertEquals(r.n, r.all.length);
      }
      const whole = await into("big.bin", 1000, 2_990_000);
      assertEquals([whole.n, whole.all], [2_990_000, big.subarray(1000, 2_991_000)]);
      assertEquals((await into("big.bin", 2_999_000, 5000)).all, big.subarray(2_999_000));
      assertEquals((await into("empty", 0, 4)).n, 0);
      assertEquals(await s.getRangeInto("nope", 0, 4, () => {}), undefined);
    },
  );

  t(
    "getBytes() and readObject() return an object whole; missing ones and folders are undefined",
    async (s, seed) => {
      await seed({ "w/x.bin": enc.encode("whole"), "w/empty": new Uint8Array() });
      assert(s.getBytes, "every backend of ours reads an object in one request");
      assertEquals(dec.decode(await s.getBytes("w/x.bin")), "whole");
      assertEquals((await s.getBytes("w/empty"))?.length, 0);
      assertEquals(await s.getBytes("w/nope"), undefined);
      assertEquals(await s.getBytes("w"), undefined, "a folder is not an object");
      // Without getBytes: the whole `get` stream.
      const bare = { get: (k: string) => s.get(k) } as unknown as StorageBackend;
      assertEquals(dec.decode(await readObject(bare, "w/x.bin")), "whole");
      assertEquals(await readObject(bare, "w/nope"), undefined);
      assertEquals(dec.decode(await readObject(s, "w/x.bin")), "whole");
    },
  );

  t("list() refuses a prefix that is not a string", async (s) => {
    for (const prefix of [null, 5, {}]) {
      await assertRejects(
        () => Array.fromAsync(s.list(prefix as never)),
        ValidationError,
        /list\(prefix\)/,
      );
    }
  });

  t("keys with spaces and non-ASCII characters read back", async (s, seed) => {
    const key = "dir with space/ü 数据 #1?.txt";
    await seed({ [key]: enc.encode("spaced") });
    assertEquals(await text(await s.get(key)), "spaced");
    assertEquals((await s.head(key))?.size, 6);
    assertEquals(dec.decode(await s.getRange(key, 1, 2)), "pa");
  });

  t("uri() names the object under the root", (s) => {
    assert(s.uri("a/b").endsWith("a/b"));
    assert(s.uri("a/b").startsWith(s.root.replace(/\/$/, "")));
    return Promise.resolve();
  });

  t("capabilities say what the backend does", async (s, seed) => {
    await seed({ "cap/x.txt": enc.encode("cap") });
    const c = s.capabilities;
    assert(c.rangeReads === "local" || c.rangeReads === "request");
    const path = s.localPath("cap/x.txt");
    assertEquals(path !== undefined, c.localPaths, "localPaths matches localPath()");
    if (path) assertEquals(await Deno.readTextFile(path), "cap");
    if (c.writable) {
      assert(c.exclusiveCreate !== "none");
    } else {
      assertEquals(c.exclusiveCreate, "none");
      await assertRejects(() => s.put("new", enc.encode("n")), StorageError, /read-only/);
      await assertRejects(() => s.put("new", streamOf("n")), StorageError, /read-only/);
      await assertRejects(() => s.delete("cap/x.txt"), StorageError, /read-only/);
      assertEquals((await s.head("cap/x.txt"))?.size, 3, "still there");
    }
    if (c.listing) {
      const keys = (await Array.fromAsync(s.list("cap/"))).map((o) => o.key);
      assertEquals(keys, ["cap/x.txt"]);
    } else {
      await assertRejects(() => Array.fromAsync(s.list("cap/")), StorageError, /list/);
    }
  });
}

/** Register the read and write contracts for a writable backend made fresh by `make`. */
export function storageContract(
  name: string,
  make: () => Promise<{ store: StorageBackend; cleanup: () => Promise<void> }>,
): void {
  storageReadContract(name, async () => {
    const { store, cleanup } = await make();
    const seed = async (objects: Record<string, Uint8Array>) => {
      for (const [k, v] of Object.entries(objects)) await store.put(k, v);
    };
    return { store, seed, cleanup };
  });
  storageWriteContract(name, make);
}

/** Register the write contract for a writable backend made fresh by `make`. */
export function storageWriteContract(
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

  t("delete() of a missing object returns false", async (s) => {
    assertEquals(await s.delete("nope"), false);
  });

  t("an overwrite changes the etag, where there are etags", async (s) => {
    if (!s.capabilities.etags) return;
    await s.put("e", enc.encode("one"));
    const before = (await s.head("e"))?.etag;
    await s.put("e", enc.encode("two"), { overwrite: true });
    const after = (await s.head("e"))?.etag;
    assert(before && after && before !== after, `etag ${before} then ${after}`);
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

  t(
    "put() refuses data that is not bytes or a stream, and bad options, writing nothing",
    async (s) => {
      for (const data of [null, undefined, "abc", 5, [1, 2], new ArrayBuffer(2), {}]) {
        await assertRejects(
          () => s.put("d.bin", data as never),
          ValidationError,
          /data is a Uint8Array or a ReadableStream/,
        );
      }
      const badOptions = [
        5,
        "x",
        { ifNoneMatch: 5 },
        { overwrite: "yes" },
        { expect: { size: -1, hash: "h" } },
        { progress: 5 },
      ];
      for (const options of badOptions) {
        await assertRejects(
          () => s.put("o.bin", enc.encode("x"), options as never),
          ValidationError,
          /put\(key, data, options\)/,
        );
      }
      const strings = ReadableStream.from(["abc"]) as unknown as ReadableStream<Uint8Array>;
      await assertRejects(() => s.put("t.bin", strings), ValidationError, /chunks are Uint8Array/);
      for (const k of ["d.bin", "o.bin", "t.bin"]) assertEquals(await s.head(k), undefined);
      assertEquals((await Array.fromAsync(s.list(""))).length, 0, "nothing written, no leftovers");
    },
  );

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

  t(
    "listFolders(), where a backend has it, names the folders directly under one, as list() finds them",
    async (s) => {
      if (!s.listFolders) return; // optional: callers fall back to list()
      // Each folder holds an object of its own (as every zarr group and array
      // holds its metadata): s3rver 3.7 finds a folder only through an object
      // directly in it (S3 finds any).
      for (const k of ["z/a/1", "z/a/b/2", "z/c/3", "z/d", "zz/e/4", "zz/f", "top"]) {
        await s.put(k, enc.encode(k));
      }
      assertEquals(await s.listFolders(""), ["z", "zz"]);
      assertEquals(await s.listFolders("z/"), ["a", "c"]);
      assertEquals(await s.listFolders("z/a/"), ["b"]);
      assertEquals(await s.listFolders("nothing/"), []);
      await assertRejects(() => s.listFolders!("z"), ValidationError, /ending in "\/"/);
    },
  );
}
