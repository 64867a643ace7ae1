import { CountingStorage, HttpStorage, StorageError, ValidationError } from "../../mod.ts";
import { redactText, redactUrl } from "../../src/storage/_http.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { httpServer } from "../_http_server.ts";
import { storageReadContract } from "./contract.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const server = httpServer();
// Stopped when the test module's tests are done (unload).
globalThis.addEventListener("unload", () => void server[Symbol.asyncDispose]());

let roots = 0;
/** A fresh root on the shared server: `{url}/{prefix}r{n}` and its objects. */
function freshRoot(prefix: string) {
  const path = `${prefix}r${roots++}`;
  return {
    root: `${server.url}/${path}`,
    seed: (objects: Record<string, Uint8Array>) => {
      for (const [k, v] of Object.entries(objects)) server.files.set(`${path}/${k}`, v);
      return Promise.resolve();
    },
  };
}

for (const prefix of ["", "some/deep prefix/"]) {
  storageReadContract(`HttpStorage${prefix ? " (under a path with a space)" : ""}`, () => {
    const { root, seed } = freshRoot(prefix);
    const store = new HttpStorage(root, { timeoutMs: 5000 });
    return Promise.resolve({ store, seed, cleanup: () => Promise.resolve() });
  });
}

storageReadContract("CountingStorage(HttpStorage)", () => {
  const { root, seed } = freshRoot("counted/");
  const store = new CountingStorage(new HttpStorage(root));
  return Promise.resolve({ store, seed, cleanup: () => Promise.resolve() });
});

/** A fresh root holding `objects`, read with `options`. */
function storeWith(objects: Record<string, Uint8Array>, options = {}) {
  const { root, seed } = freshRoot("t/");
  seed(objects);
  return new HttpStorage(root, options);
}

Deno.test("HttpStorage cuts a response that ignored Range to the asked bytes", async () => {
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 255);
  const s = storeWith({ "big.bin": big, "d.txt": enc.encode("0123456789") });
  server.mode.ignoreRange = true;
  try {
    const before = server.requests;
    assertEquals(dec.decode(await s.getRange("d.txt", 2, 3)), "234");
    assertEquals(dec.decode(await s.getRange("d.txt", 8, 10)), "89");
    assertEquals((await s.getRange("d.txt", 20, 5))?.length, 0);
    assertEquals(dec.decode(await s.getRange("d.txt", 0, 4)), "0123");
    const part = await s.getRange("big.bin", (2 << 20) + 7, 100);
    assertEquals(Array.from(part!), Array.from(big.subarray((2 << 20) + 7, (2 << 20) + 107)));
    assertEquals(server.requests - before, 5, "one request each, no retries");
    assert(server.log.slice(-5).every((r) => r.range?.startsWith("bytes=")), "Range was sent");
  } finally {
    server.mode.ignoreRange = false;
  }
});

Deno.test("HttpStorage: a 404 reads as undefined and is not retried", async () => {
  const s = storeWith({}, { retries: 3, retryDelayMs: 1 });
  const before = server.requests;
  assertEquals(await s.head("gone.txt"), undefined);
  assertEquals(await s.get("gone.txt"), undefined);
  assertEquals(await s.getRange("gone.txt", 5, 5), undefined);
  assertEquals(server.requests - before, 3);
});

Deno.test("HttpStorage: a stalled server is a StorageError after the timeout", async () => {
  const s = storeWith({ "x": enc.encode("abc") }, { timeoutMs: 150, retries: 1, retryDelayMs: 1 });
  server.mode.stall = "headers";
  try {
    const t0 = Date.now();
    const before = server.requests;
    await assertRejects(
      () => s.head("x"),
      StorageError,
      /could not stat .*\/x: timed out after 150 ms \(2 attempts\)/,
    );
    await assertRejects(() => s.getRange("x", 0, 1), StorageError, /timed out after 150 ms/);
    await assertRejects(
      () => s.get("x"),
      StorageError,
      /could not read http:\/\/127\.0\.0\.1:\d+\/t\/r\d+\/x: timed out/,
    );
    assertEquals(server.requests - before, 6, "each read tried twice");
    assert(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  } finally {
    server.mode.stall = false;
  }
});

Deno.test("HttpStorage: a body that stops arriving fails the stream with a StorageError", async () => {
  const s = storeWith({ "x": enc.encode("abcdef") }, { timeoutMs: 200, retries: 0 });
  server.mode.stall = "body";
  try {
    const body = await s.get("x");
    assert(body, "headers arrived");
    await assertRejects(() => new Response(body).arrayBuffer(), StorageError, /no data for 200 ms/);
    await assertRejects(() => s.getRange("x", 0, 6), StorageError, /timed out after 200 ms/);
  } finally {
    server.mode.stall = false;
  }
});

Deno.test("HttpStorage retries 5xx with backoff, then names the URL and the status", async () => {
  const s = storeWith({ "x": enc.encode("abc") }, { retries: 2, retryDelayMs: 1 });
  server.mode.failNext = 2;
  let before = server.requests;
  assertEquals(dec.decode(await s.getRange("x", 0, 3)), "abc");
  assertEquals(server.requests - before, 3, "two 503s, then the answer");
  server.mode.failNext = 10;
  before = server.requests;
  await assertRejects(
    () => s.head("x"),
    StorageError,
    /could not stat http:.*\/x: HTTP 503 Service Unavailable \(3 attempts\)/,
  );
  assertEquals(server.requests - before, 3);
  server.mode.failNext = 0;
});

Deno.test("HttpStorage: an unreachable server is a StorageError after the retries", async () => {
  const s = new HttpStorage("http://127.0.0.1:9/data", { retries: 1, retryDelayMs: 1 });
  await assertRejects(
    () => s.head("a.txt"),
    StorageError,
    /could not stat http:\/\/127\.0\.0\.1:9\/data\/a\.txt: .*\(2 attempts\)/,
  );
});

Deno.test("HttpStorage takes the size from a ranged GET when HEAD has no length or is refused", async () => {
  const s = storeWith({ "x": enc.encode("abcdefg"), "e": new Uint8Array() });
  for (const m of ["headWithoutLength", "headNotAllowed"] as const) {
    server.mode[m] = true;
    try {
      const info = await s.head("x");
      assertEquals(info?.size, 7, m);
      assert(info?.etag?.startsWith('"'), "etag of the GET or the HEAD");
      assertEquals(server.log.at(-1)?.range, "bytes=0-0");
      assertEquals((await s.head("e"))?.size, 0, `${m}: empty object`);
      assertEquals(await s.head("nope"), undefined);
    } finally {
      server.mode[m] = false;
    }
  }
});

Deno.test("HttpStorage never shows credentials: userinfo becomes Basic auth, messages are redacted", async () => {
  const { root, seed } = freshRoot("auth/");
  await seed({ "x": enc.encode("abc") });
  const withAuth = root.replace("http://", "http://alice:s3cr%C3%A9t@");
  const s = new HttpStorage(withAuth, { retries: 0 });
  assertEquals(s.root, root);
  assert(!s.uri("x").includes("s3cr") && !s.uri("x").includes("alice"));
  assertEquals((await s.head("x"))?.size, 3);
  const sent = server.log.at(-1)!.authorization!;
  assertEquals(
    new TextDecoder().decode(Uint8Array.from(atob(sent.slice(6)), (c) => c.charCodeAt(0))),
    "alice:s3crét",
  );
  server.mode.failNext = 1;
  const e = await assertRejects(() => s.get("x"), StorageError, /HTTP 503/);
  assert(!e.message.includes("s3cr") && !e.message.includes("alice"), e.message);
  const q = await assertRejects(
    () => new HttpStorage("https://bob:hunter2@example.org/d?token=SECRET"),
    ValidationError,
    /query string/,
  );
  assert(!/hunter2|SECRET|bob/.test(q.message), q.message);
  assertEquals(redactUrl("https://u:p@h.org/a/b?sig=x#f"), "https://***@h.org/a/b?***");
  assertEquals(
    redactText("error sending request for url (https://u:p@h.org/x?t=1): boom"),
    "error sending request for url (https://***@h.org/x?***): boom",
  );
  assertEquals(redactUrl("not a url"), "<URL>");
});

Deno.test("HttpStorage is read-only and cannot list: StorageErrors that say so", async () => {
  const s = storeWith({ "x": enc.encode("abc") });
  assertEquals(s.capabilities, {
    writable: false,
    listing: false,
    localPaths: false,
    rangeReads: "request",
    etags: true,
    exclusiveCreate: "none",
  });
  await assertRejects(
    () => s.put("y", enc.encode("y")),
    StorageError,
    /cannot write .*\/y: HTTP storage is read-only/,
  );
  await assertRejects(
    () => s.delete("x"),
    StorageError,
    /cannot delete .*\/x: HTTP storage is read-only/,
  );
  await assertRejects(
    () => Array.fromAsync(s.list()),
    StorageError,
    /cannot list .*: HTTP storage has no listing/,
  );
  assertEquals(s.localPath("x"), undefined);
});

Deno.test("HttpStorage.keyOf() inverts uri(), and refuses URLs outside the root", () => {
  const s = new HttpStorage("https://example.org/data/");
  assertEquals(s.root, "https://example.org/data");
  for (const key of ["a.csv", "d/e f/ü.h5ad", "odd #?%.txt"]) {
    assertEquals(s.keyOf(s.uri(key)), key);
  }
  assertEquals(s.uri("d/e f/ü.h5ad"), "https://example.org/data/d/e%20f/%C3%BC.h5ad");
  assertEquals(s.keyOf("https://example.org/data/x%20y.csv"), "x y.csv");
  assertEquals(s.keyOf("https://example.org/database/x.csv"), undefined);
  assertEquals(s.keyOf("https://example.org/data/x.csv?sig=1"), undefined);
  assertEquals(s.keyOf("https://other.org/data/x.csv"), undefined);
  assertEquals(s.keyOf("https://example.org/data/"), undefined);
  assertEquals(new HttpStorage("https://example.org").keyOf("https://example.org/a/b"), "a/b");
});

Deno.test("HttpStorage refuses bad roots and options with ValidationErrors", async () => {
  const bad: [() => unknown, RegExp][] = [
    [() => new HttpStorage(42 as never), /root is a URL/],
    [() => new HttpStorage("example.org/data"), /not a URL/],
    [() => new HttpStorage("ftp://example.org/data"), /not an http\(s\) URL/],
    [() => new HttpStorage("https://example.org/d#frag"), /fragment/],
    [() => new HttpStorage("https://x.org", null as never), /options are an object/],
    [() => new HttpStorage("https://x.org", { timeoutMs: 0 }), /timeoutMs must be a number/],
    [() => new HttpStorage("https://x.org", { timeoutMs: NaN }), /timeoutMs/],
    [() => new HttpStorage("https://x.org", { retries: -1 }), /retries must be a number from 0/],
    [() => new HttpStorage("https://x.org", { retries: 1.5 }), /retries must be a whole number/],
    [() => new HttpStorage("https://x.org", { retryDelayMs: "1" as never }), /retryDelayMs/],
    [
      () => new HttpStorage("https://x.org", { timeout: 5 } as never),
      /unknown HttpStorage option "timeout"/,
    ],
    [() => new HttpStorage("https://x.org", { headers: { "bad name": "v" } }), /headers must be/],
  ];
  for (const [fn, re] of bad) await assertRejects(fn, ValidationError, re);
  const s = new HttpStorage("https://x.org");
  await assertRejects(
    () => s.getRange("a", -1, 2),
    ValidationError,
    /offset and length are whole numbers >= 0/,
  );
  await assertRejects(() => s.get("../a"), Error, /\.\./);
});

Deno.test("HttpStorage sends the configured headers and asks for unencoded bytes", async () => {
  const { root, seed } = freshRoot("hdr/");
  await seed({ "x": enc.encode("abc") });
  const s = new HttpStorage(root, { headers: { authorization: "Bearer tok" } });
  assertEquals(dec.decode(await s.getRange("x", 0, 3)), "abc");
  assertEquals(server.log.at(-1)?.authorization, "Bearer tok");
  assertEquals(server.log.at(-1)?.acceptEncoding, "identity");
});

Deno.test("the test HTTP server serves a folder too", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/sub`);
  await Deno.writeTextFile(`${dir}/sub/f.txt`, "from disk");
  await using srv = httpServer({ dir });
  const s = new HttpStorage(`${srv.url}/sub`);
  assertEquals(dec.decode(await s.getRange("f.txt", 5, 4)), "disk");
  assertEquals(await s.head("nope"), undefined);
  assertEquals(srv.requests, 2);
  await Deno.remove(dir, { recursive: true });
});
