// Between out-of-core batches, the batch the caller let go of is collected
// (src/query/_batch_gc.ts) instead of waiting for V8's own schedule.
import { assert, assertEquals } from "../_helpers.ts";
import { afterTasks, COLLECT_BYTES, releaseBatch } from "../../src/query/_batch_gc.ts";

/** Whether a dropped buffer of `bytes` is finalized within a few tasks after `release`. */
async function freedAfter(bytes: number, release: () => boolean): Promise<[boolean, boolean]> {
  let freed = false;
  const registry = new FinalizationRegistry(() => (freed = true));
  (() => {
    const buffer = new Float32Array(bytes / 4);
    buffer.fill(1);
    registry.register(buffer, 0);
  })();
  await afterTasks(); // the buffer is no longer kept for the job that made it
  const ran = release();
  for (let i = 0; i < 5 && !freed; i++) await afterTasks();
  return [ran, freed];
}

Deno.test("a released batch of COLLECT_BYTES or more is collected at once; smaller ones once they add up to it", async () => {
  // One dead 16 MB buffer: V8 alone collects only after ~64 MB more (now and
  // then a collection of its own comes in between: one try in three must show it).
  const alone = [];
  for (let t = 0; t < 3; t++) {
    const got = await freedAfter(2 * COLLECT_BYTES, () => false);
    alone.push(got[1]);
    if (!got[1]) break;
  }
  assert(
    alone.includes(false),
    `V8 collected the dead buffer itself ${alone.length} times in a row`,
  );
  assertEquals(await freedAfter(2 * COLLECT_BYTES, () => releaseBatch(2 * COLLECT_BYTES)), [
    true,
    true,
  ]);
  assert(!releaseBatch(COLLECT_BYTES - 1), "no collection for a small batch");
  assert(releaseBatch(1), "small batches let go of add up to a collection");
  assert(!releaseBatch(1), "counted afresh after it");
});
