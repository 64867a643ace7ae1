// Between out-of-core batches: a full garbage collection, so the batch the
// caller let go of is freed before the next one's matrices are read (a
// for-await loop holds the batch it last got until the next one arrives:
// the one before is what can go). V8 frees a dead
// typed array's memory only when it collects its wrapper, and it starts a
// collection only once ~64 MB more external memory is allocated, so
// without this two or three dead batches (10k rows of a 2,000-gene atlas:
// 20 MB each) sat in memory next to the live one (bench/batches.ts:
// 350 MB peak where 2 x one batch + 150 MB is 190 MB).
//
// The collector is V8's `gc` function: the process's own when Deno was
// started with `--v8-flags=--expose-gc`, else the one V8 gives a fresh
// `node:vm` context once `--expose-gc` is set (it only adds that function;
// collection stays automatic everywhere else). Unavailable: nothing is
// collected and memory is left to V8's own schedule.
import v8 from "node:v8";
import vm from "node:vm";

type Collect = () => void;

let collector: Collect | null | undefined;

function find(): Collect | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as Collect;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? gc as Collect : null;
  } catch {
    return null;
  }
}

/**
 * Bytes of batches let go of that make a collection worth its cost: on the
 * 2 GB bench atlas each collection costs ~0.1–0.25 s of CPU (this `gc` runs
 * two compacting full collections), about what reading a 20 MB batch costs;
 * batches of 8 MiB or more are collected after each, smaller ones once they
 * add up to it (every second 20 MB batch: peak +30 MB).
 */
export const COLLECT_BYTES = 8 << 20;

let pending = 0;

/**
 * Note that a batch holding `bytes` of buffers was let go of, and collect
 * garbage once such batches add up to {@linkcode COLLECT_BYTES}; true if a
 * collection ran.
 */
export function releaseBatch(bytes: number): boolean {
  pending += bytes;
  if (pending < COLLECT_BYTES) return false;
  if (collector === undefined) collector = find(); // null: looked for, unavailable
  if (!collector) return false;
  pending = 0;
  collector();
  return true;
}

/**
 * Resolves once the event loop has run its pending tasks: V8 returns the
 * memory of buffers a collection found dead in such a task, not during
 * the collection, and a batch's reads (small ones are synchronous) may not
 * let one run before the next batch is allocated.
 */
export function afterTasks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
