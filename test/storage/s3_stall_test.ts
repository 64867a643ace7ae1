// S3Storage against a server that stops answering (s3rver behind a proxy
// that stops forwarding, the stand-in for `kill -STOP`): every request times
// out, reads are retried, and the failure is a StorageError naming the object.
import { S3Storage, StorageError, ValidationError } from "../../mod.ts";
import { assert, assertEquals, assertRejects } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";
import { stallProxy, within } from "./_stall_proxy.ts";

const server = await s3Server();
globalThis.addEventListener("unload", () => void server[Symbol.asyncDispose]());

const T = { sanitizeResources: false, sanitizeOps: false };
const SECRET = "s3cr3t-Do-Not-Print-0123456789";
const TIMEOUT = 300, RETRIES = 2, DELAY = 20;
/** Longest a failing request may take: every attempt timed out, backoffs, slack. */
const BOUND = TIMEOUT * (RETRIES + 1) + DELAY * 2 ** (RETRIES + 1) + 2000;

/** A bucket holding `obj` at a/b.bin, and a store reaching it through a fresh proxy. */
async function setup(obj: Uint8Array = new Uint8Array(0), secret?: string) {
  const bucket = await server.bucket();
  const direct = new S3Storage(`s3://${bucket}`, server.options);
  await direct.put("a/b.bin", obj);
  direct.close();
  const proxy = stallProxy(server.options.endpoint!);
  const store = new S3Storage(`s3://${bucket}`, {
    ...server.options,
    endpoint: proxy.endpoint,
    ...(secret
      ? { credentials: { accessKeyId: "S3RVER", secretAccessKey: secret, sessionToken: secret } }
      : {}),
    timeoutMs: TIMEOUT,
    retries: RETRIES,
    retryDelayMs: DELAY,
  });
  return {
    bucket,
    proxy,
    store,
    async [Symbol.asyncDispose]() {
      store.close();
      await proxy[Symbol.asyncDispose]();
    },
  };
}

/** Run `fn`, expecting a StorageError; the error and the time it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ err: StorageError; ms: number }> {
  const t0 = performance.now();
  const err = await assertRejects(() => within(2 * BOUND, fn()), StorageError);
  return { err: err as StorageError, ms: performance.now() - t0 };
}

function bytes(n: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(n).map((_, i) => (i * 31 + (i >> 8)) & 255);
}

Deno.test({
  ...T,
  name: "head, get and list of a server that stopped answering give a StorageError naming the " +
    "object after the retries, and never show the secret key",
  async fn() {
    await using s = await setup(bytes(10), SECRET);
    s.proxy.stall();
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ["head", () => s.store.head("a/b.bin"), /could not stat s3:\/\/[^ ]+\/a\/b\.bin: /],
      ["get", () => s.store.get("a/b.bin"), /could not read s3:\/\/[^ ]+\/a\/b\.bin: /],
      ["getRange", () => s.store.getRange("a/b.bin", 2, 5), /could not read .+\/a\/b\.bin: /],
      ["list", () => Array.fromAsync(s.store.list("a/")), /could not list s3:\/\/[^ ]+\/a\/: /],
      ["delete", () => s.store.delete("a/b.bin"), /could not stat .+\/a\/b\.bin: /],
    ];
    for (const [what, fn, re] of cases) {
      const { err, ms } = await failure(fn);
      assert(re.test(err.message), `${what}: ${err.message}`);
      assert(err.message.includes(s.bucket), `${what} names the bucket: ${err.message}`);
      assert(
        err.message.includes(`timed out after ${TIMEOUT} ms (${RETRIES + 1} attempts)`),
        `${what}: ${err.message}`,
      );
      assert(ms >= TIMEOUT * (RETRIES + 1) - 50, `${what} retried: ${ms} ms`);
      assert(ms < BOUND, `${what} took ${ms} ms, more than ${BOUND}`);
      for (let e: unknown = err; e; e = (e as Error).cause) {
        assert(!String((e as Error).message).includes(SECRET), `${what}: secret in a message`);
        assert(!String((e as Error).stack).includes(SECRET), `${what}: secret in a stack`);
      }
    }
  },
});

Deno.test({
  ...T,
  name: "a read whose server stalls mid-body gives a StorageError within the timeouts",
  async fn() {
    const big = bytes(1 << 20);
    await using s = await setup(big);
    s.proxy.stall({ afterBytes: 3000 });
    const { err, ms } = await failure(() => s.store.getRange("a/b.bin", 0, big.length));
    assert(/could not read s3:\/\/.+\/a\/b\.bin: timed out/.test(err.message), err.message);
    assert(ms < BOUND, `${ms} ms`);
  },
});

Deno.test({
  ...T,
  name: "a get() stream whose server stalls mid-body fails with a StorageError instead of hanging",
  async fn() {
    const big = bytes(4 << 20);
    await using s = await setup(big);
    // The headers and the first 64 KiB arrive, then nothing.
    s.proxy.stall({ afterBytes: 64 << 10 });
    const stream = await s.store.get("a/b.bin");
    assert(stream);
    const t0 = performance.now();
    const err = await assertRejects(
      () => within(2 * BOUND, new Response(stream).arrayBuffer()),
      StorageError,
    );
    const ms = performance.now() - t0;
    assert(
      /could not read s3:\/\/.+\/a\/b\.bin: no data for 300 ms/.test(err.message),
      err.message,
    );
    assert(ms < TIMEOUT + 2000, `${ms} ms`);
  },
});

Deno.test({
  ...T,
  name: "a read whose server stalls once and recovers succeeds on the retry",
  async fn() {
    const big = bytes(1 << 20);
    await using s = await setup(big);
    s.proxy.stall({ afterBytes: 5000, untilAbandoned: true });
    const got = await within(BOUND, s.store.getRange("a/b.bin", 0, big.length));
    assertEquals(s.proxy.abandoned, 1, "the first attempt was given up and retried");
    assert(got && got.length === big.length && got.every((v, i) => v === big[i]), "same bytes");
    // head and a whole-object get likewise.
    s.proxy.stall({ untilAbandoned: true });
    assertEquals((await s.store.head("a/b.bin"))?.size, big.length);
    assertEquals(s.proxy.abandoned, 2);
    s.proxy.stall({ afterBytes: 100, untilAbandoned: true });
    const whole = new Uint8Array(await new Response(await s.store.get("a/b.bin")).arrayBuffer());
    assertEquals(whole.length, big.length);
    assertEquals(s.proxy.abandoned, 3);
  },
});

Deno.test({
  ...T,
  name: "an upload to a server that stopped answering is a StorageError, and nothing is left",
  async fn() {
    await using s = await setup();
    s.proxy.stall({ untilAbandoned: false });
    // Checked before writing (head), so the stall shows there first.
    const { err } = await failure(() => s.store.put("new.bin", bytes(100)));
    assert(/could not stat s3:\/\/.+\/new\.bin: timed out/.test(err.message), err.message);
    // An overwrite goes straight to PutObject: timed out too.
    const { err: err2, ms } = await failure(() =>
      s.store.put("new.bin", bytes(100), { overwrite: true })
    );
    assert(/could not write s3:\/\/.+\/new\.bin: timed out/.test(err2.message), err2.message);
    assert(ms < BOUND, `${ms} ms`);
    s.proxy.resume();
    const direct = new S3Storage(`s3://${s.bucket}`, server.options);
    // s3rver may have stored the object whose answer was held back; no partial one in any case.
    const left = await direct.head("new.bin");
    assert(left === undefined || left.size === 100, JSON.stringify(left));
    direct.close();
  },
});

Deno.test("S3Storage checks its timeout and retry options", () => {
  const bad: [object, RegExp][] = [
    [{ timeoutMs: 0 }, /S3Storage option timeoutMs must be a number from 1/],
    [{ timeoutMs: "5" }, /timeoutMs must be a number/],
    [{ retries: -1 }, /retries must be a number from 0 to 10/],
    [{ retries: 1.5 }, /retries must be a whole number/],
    [{ retryDelayMs: Infinity }, /retryDelayMs must be a number/],
  ];
  for (const [o, re] of bad) {
    const err = (() => {
      try {
        new S3Storage("s3://bucket", o as never);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert(err instanceof ValidationError && re.test(err.message), `${JSON.stringify(o)}: ${err}`);
  }
});
