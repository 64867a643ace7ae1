import { S3Storage, StorageError, ValidationError } from "../../mod.ts";
import { assert, assertEquals, assertRejects } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";
import { storageContract } from "./contract.ts";

const server = await s3Server();
// Stopped when the test module's tests are done (unload).
globalThis.addEventListener("unload", () => void server[Symbol.asyncDispose]());

for (const prefix of ["", "some/prefix"]) {
  storageContract(`S3Storage (s3rver${prefix ? `, prefix ${prefix}` : ""})`, async () => {
    const bucket = await server.bucket();
    const store = new S3Storage(`s3://${bucket}${prefix ? `/${prefix}` : ""}`, server.options);
    return { store, cleanup: () => Promise.resolve(store.close()) };
  });
}

Deno.test("S3Storage: a multipart upload (> 8 MiB) reads back whole and by range", async () => {
  const bucket = await server.bucket();
  const s = new S3Storage(`s3://${bucket}/p`, server.options);
  try {
    const big = new Uint8Array(20 << 20).map((_, i) => (i * 7) & 255);
    // From a stream of odd-sized chunks, so parts are cut across chunk boundaries.
    const chunks = [];
    for (let o = 0; o < big.length; o += 3_000_001) chunks.push(big.subarray(o, o + 3_000_001));
    const r = await s.put("big.bin", ReadableStream.from(chunks));
    assertEquals(r.size, big.length);
    assertEquals((await s.head("big.bin"))?.size, big.length);
    const part = await s.getRange("big.bin", (9 << 20) - 5, 10);
    assertEquals(Array.from(part!), Array.from(big.subarray((9 << 20) - 5, (9 << 20) + 5)));
    const whole = new Uint8Array(await new Response(await s.get("big.bin")).arrayBuffer());
    assert(whole.length === big.length && whole.every((v, i) => v === big[i]), "same bytes");
    // A wrong expectation on a multipart upload: aborted, nothing visible.
    await assertRejects(
      () =>
        s.put("big2.bin", big, { expect: { size: big.length, hash: "AAAAAAAAAAAAAAAAAAAAAA" } }),
      Error,
      /differ from the source/,
    );
    assertEquals(await s.head("big2.bin"), undefined);
    // A source that fails after several parts were sent: aborted, nothing visible.
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 30 << 20) return c.error(new Error("disk went away"));
        sent += 1 << 20;
        c.enqueue(big.subarray(0, 1 << 20));
      },
    });
    await assertRejects(() => s.put("big3.bin", failing), StorageError, /disk went away/);
    assertEquals(await s.head("big3.bin"), undefined);
  } finally {
    s.close();
  }
});

Deno.test("S3Storage: bad roots and keys are refused; an unreachable endpoint is a StorageError", async () => {
  await assertRejects(() => new S3Storage("s3://A_B/x"), ValidationError, /bucket name/);
  await assertRejects(() => new S3Storage("http://x/y"), ValidationError, /s3:\/\/bucket/);
  await assertRejects(() => new S3Storage("s3://bucket/../x"), Error, /\.\./);
  await assertRejects(
    () => new S3Storage("s3://bucket", null as never),
    ValidationError,
    /options/,
  );
  await assertRejects(
    () => new S3Storage("s3://bucket", { endpoint: "not a url" }),
    ValidationError,
    /not a URL/,
  );
  const s = new S3Storage("s3://bucket", server.options);
  await assertRejects(() => s.get("../x"), Error, /\.\./);
  s.close();
  const dead = new S3Storage("s3://bucket", {
    ...server.options,
    endpoint: "http://127.0.0.1:9",
  });
  await assertRejects(() => dead.head("x"), StorageError, /could not stat s3:\/\/bucket\/x/);
  dead.close();
});

Deno.test("S3Storage: listings past one page (1,000 keys) are complete, keys and folders", async () => {
  const bucket = await server.bucket();
  const store = new S3Storage(`s3://${bucket}/root`, server.options);
  try {
    const n = 1_234, body = new TextEncoder().encode("x");
    const keys = Array.from({ length: n }, (_, i) => `many/d${String(i).padStart(4, "0")}/k`);
    for (let i = 0; i < n; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((k) => store.put(k, body)));
    }
    const listed: string[] = [];
    for await (const o of store.list("many/")) listed.push(o.key);
    assertEquals(listed.length, n);
    assertEquals(listed.sort(), keys);
    const folders = await store.listFolders("many/");
    assertEquals(folders, keys.map((k) => k.split("/")[1]));
  } finally {
    store.close();
  }
});

Deno.test("S3Storage: a refused request without a body (HEAD) says what the status means, no secret", async () => {
  const bucket = await server.bucket();
  const secretAccessKey = "wrong-secret-Key/123+xyz";
  const s = new S3Storage(`s3://${bucket}`, {
    ...server.options,
    credentials: { accessKeyId: "WRONG", secretAccessKey },
  });
  // Was "could not stat s3://…/x: Unknown" (HEAD answers carry no error document).
  const e = await assertRejects(
    () => s.head("x"),
    StorageError,
    /access denied.*credentials.*HTTP 403/,
  );
  assert(!e.message.includes(secretAccessKey), e.message);
  s.close();
});
