// One Instance object per open registry: the default one (ln.init) and
// others (ln.connect) side by side in one process.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";

const enc = new TextEncoder();

Deno.test("a second instance reads and writes its own registry and storage, beside the default", async () => {
  const localRoot = await freshInstance();
  const sharedRoot = await tempDir();
  const shared = await ln.connect({ storage: sharedRoot });
  try {
    assert(shared instanceof ln.Instance);
    assertEquals(shared.root, await Deno.realPath(sharedRoot));
    const local = await new ln.File(enc.encode("a,b\n1,2\n"), { key: "t.csv" }).save();
    // Read from the local instance, save into the shared one.
    const df = await local.load();
    const copy = await new ln.File(df as ln.DataFrame, { key: "t.parquet", instance: shared })
      .save();
    assertEquals(copy.storage?.root, shared.root);
    assertEquals(copy.path(), `${shared.root}/t.parquet`);
    assertEquals((await ln.File.using(shared).get({ key: "t.parquet" })).id, copy.id);
    assertEquals((await ln.File.filter({})).map((f) => f.key), ["t.csv"]);
    assertEquals((await ln.File.using(shared).filter({})).map((f) => f.key), ["t.parquet"]);
    assertEquals(ln.settings.storage.root, await Deno.realPath(localRoot));
    // Records read through an instance act on that instance.
    const again = await ln.File.using(shared).get(copy.id);
    assertEquals(await again.load().then((d) => (d as ln.DataFrame).height), 1);
    await again.delete();
    assertEquals(await ln.File.using(shared).filter({}), []);
    assertEquals((await ln.File.get(local.id)).key, "t.csv");
  } finally {
    await shared.close();
    await ln.close();
  }
});

Deno.test("tracking in the default instance does not reach into another instance", async () => {
  await freshInstance();
  const other = await ln.connect({ storage: await tempDir() });
  try {
    const run = await ln.track({ name: "two instances" });
    const mine = await new ln.File(enc.encode("mine"), { key: "m.txt" }).save();
    const theirs = await new ln.File(enc.encode("theirs"), { key: "o.txt", instance: other })
      .save();
    assertEquals(mine.runId, run.id);
    assertEquals(theirs.runId, null);
    assertEquals(other.run, undefined);
    assertEquals(ln.context.run?.id, run.id);
    const t = await new ln.Transform({ name: "elsewhere", instance: other }).save();
    assertEquals((await ln.Transform.using(other).get({ name: "elsewhere" })).id, t.id);
    await assertRejects(() => ln.Transform.get({ name: "elsewhere" }), ln.NotFoundError);
    await ln.finish();
    assertEquals(ln.context.run, undefined);
  } finally {
    await other.close();
    await ln.close();
  }
});

Deno.test("a closed instance refuses work with NotInitializedError, and ln.close() leaves others open", async () => {
  await freshInstance();
  const other = await ln.connect({ storage: await tempDir() });
  const f = await new ln.File(enc.encode("x"), { key: "x.txt", instance: other }).save();
  await ln.close();
  assertEquals((await ln.File.using(other).get(f.id)).key, "x.txt");
  await other.close();
  assert(other.closed);
  await assertRejects(() => ln.File.using(other).filter({}), ln.NotInitializedError);
  await assertRejects(() => f.load(), ln.NotInitializedError);
  await assertRejects(() => ln.File.filter({}), ln.NotInitializedError);
  await other.close(); // idempotent
});

Deno.test("settings are the default instance's: trackRunInputs lives in one place", async () => {
  let threw = false;
  try {
    ln.settings.trackRunInputs;
  } catch (e) {
    threw = e instanceof ln.NotInitializedError;
  }
  assert(threw, "reading trackRunInputs with no instance open must throw NotInitializedError");
  threw = false;
  try {
    ln.settings.trackRunInputs = false;
  } catch (e) {
    threw = e instanceof ln.NotInitializedError;
  }
  assert(threw, "setting trackRunInputs with no instance open must throw NotInitializedError");
  await freshInstance();
  const other = await ln.connect({ storage: await tempDir() });
  try {
    ln.settings.trackRunInputs = false;
    assertEquals(other.settings.trackRunInputs, true);
    const run = await ln.track({ name: "inputs off" });
    const f = await new ln.File(enc.encode("in"), { key: "in.txt", run: undefined }).save();
    await ln.finish();
    await ln.track({ name: "reader" });
    await f.stage();
    assertEquals((await ln.context.run!.inputs.all()).length, 0);
    ln.settings.trackRunInputs = true;
    await f.stage();
    assertEquals((await ln.context.run!.inputs.all()).map((x) => x.id), [f.id]);
    assert(run.id !== ln.context.run!.id);
    await ln.finish();
  } finally {
    await other.close();
    await ln.close();
  }
});

Deno.test("filter() refuses values that are not scalars, before they reach the driver", async () => {
  await freshInstance();
  try {
    const bad: unknown[] = [
      { $ne: null },
      { gt: 3 },
      [[1]],
      [{ a: 1 }],
      Symbol("s"),
      new Map(),
      () => 1,
      NaN,
      10n,
    ];
    for (const v of bad) {
      await assertRejects(() => ln.File.filter({ name: v }), ln.ValidationError);
    }
    await assertRejects(
      () => ln.File.filter({ id: Array.from({ length: 20_001 }, (_, i) => `${i}`) }),
      ln.ValidationError,
    );
    // Long lists within the limit are queried in chunks.
    const f = await new ln.File(enc.encode("x"), { key: "x.txt" }).save();
    const ids = Array.from({ length: 5_000 }, (_, i) => `id${i}`);
    assertEquals((await ln.File.filter({ id: [...ids, f.id] })).map((x) => x.id), [f.id]);
    await assertRejects(() => ln.File.get(null as unknown as string), ln.ValidationError);
  } finally {
    await ln.close();
  }
});
