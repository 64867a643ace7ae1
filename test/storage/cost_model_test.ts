import {
  CountingStorage,
  describeCostModel,
  LOCAL_COST,
  LocalStorage,
  measureCostModel,
  S3Storage,
  ValidationError,
} from "../../mod.ts";
import { REMOTE_COST } from "../../src/storage/cost_model.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";

Deno.test("a local backend declares near-free requests; counting passes the inner model through", async () => {
  const local = new LocalStorage(await tempDir());
  assertEquals(await local.costModel("any.h5ad"), LOCAL_COST);
  assertEquals(await new CountingStorage(local).costModel("any.h5ad"), LOCAL_COST);
});

Deno.test("measuring a slow reader finds its latency and bandwidth", async () => {
  // 30 ms per request, then 100 MB/s.
  const slow = async (_offset: number, length: number) => {
    await new Promise((r) => setTimeout(r, 30 + length / 100e6 * 1000));
    return new Uint8Array(length);
  };
  const m = await measureCostModel(slow, 64 << 20);
  assert(m, "a 64 MiB object is measured");
  assert(m.latencyMs >= 29 && m.latencyMs < 200, `latency ${m.latencyMs}`);
  assert(m.bytesPerSec > 30e6 && m.bytesPerSec < 300e6, `bandwidth ${m.bytesPerSec}`);
  assert(m.totalBytesPerSec! >= m.bytesPerSec, "several requests move at least what one does");
  assertEquals(await measureCostModel(slow, 1000), undefined); // too small to time
});

Deno.test("S3Storage measures its cost once, on an object big enough, unless options give it", async () => {
  await using s3 = await s3Server();
  const root = `s3://${await s3.bucket()}`;
  const store = new S3Storage(root, s3.options);
  try {
    await store.put("small", new Uint8Array(1000));
    await store.put("big", new Uint8Array(6 << 20));
    // A small object is not measured on: the default, and a later object still measures.
    assertEquals(await store.costModel("small"), REMOTE_COST);
    const counting = new CountingStorage(store);
    const measured = await counting.costModel("big");
    assert(measured !== REMOTE_COST && measured.latencyMs > 0 && measured.bytesPerSec > 0);
    assertEquals(counting.stats.requests, 0); // measuring reads are not the caller's I/O
    assert((await store.costModel("small")) === measured, "measured once per instance");
  } finally {
    store.close();
  }
  const given = { latencyMs: 5, bytesPerSec: 1e8, parallelism: 4 };
  const fixed = new S3Storage(root, { ...s3.options, costModel: given });
  assertEquals(await fixed.costModel("big"), given);
  fixed.close();
  try {
    new S3Storage(root, { ...s3.options, costModel: { latencyMs: -1 } as never });
    assert(false, "a bad costModel is refused");
  } catch (e) {
    assert(e instanceof ValidationError && e.message.includes("costModel is"), String(e));
  }
});

Deno.test("describeCostModel() and measureCostModel() refuse bad arguments with a ValidationError", async () => {
  for (const m of [null, undefined, {}, { latencyMs: 1, bytesPerSec: 1 }, 5]) {
    await assertRejects(() => describeCostModel(m as never), ValidationError, /m is a cost model/);
  }
  assertEquals(
    describeCostModel({ latencyMs: 20, bytesPerSec: 100e6, parallelism: 32 }),
    "20.0 ms per request, 100 MB/s per request, 32 at once",
  );
  const read = () => Promise.resolve(new Uint8Array());
  await assertRejects(
    () => measureCostModel(null as never, 1 << 20),
    ValidationError,
    /read is a function/,
  );
  for (const size of [undefined, null, -1, NaN, "big"]) {
    await assertRejects(() => measureCostModel(read, size as never), ValidationError, /size is/);
  }
  for (const p of [0, -1, 1.5, 1e9, "4"]) {
    await assertRejects(
      () => measureCostModel(read, 1 << 20, p as never),
      ValidationError,
      /parallelism/,
    );
  }
});
