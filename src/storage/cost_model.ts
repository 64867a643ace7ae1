// What a read costs on a storage backend: the latency of a request, the
// bandwidth of one and of several, and how many usefully run at once.
// Declared for local disks, measured once per backend instance for remote
// ones; readers plan their range requests with it (formats/read_plan.ts).
import { ValidationError } from "../errors.ts";
import { kindOf } from "../_display.ts";
import { COST_MODEL_SHAPE, isCostModel } from "./_args.ts";

/**
 * The price of reading from a backend, for planning range requests: a
 * request costs `latencyMs` before its first byte, then its bytes arrive at
 * `bytesPerSec`; up to `parallelism` requests overlap, together moving
 * `totalBytesPerSec`.
 *
 * @example A store where a request costs as much as 4 MB of transfer
 * ```ts
 * import type { CostModel } from "@lamindeno/lamindb";
 * const s3: CostModel = { latencyMs: 20, bytesPerSec: 200e6, parallelism: 32 };
 * console.assert(s3.latencyMs / 1000 * s3.bytesPerSec === 4e6);
 * ```
 */
export interface CostModel {
  /** Milliseconds from sending a request to its first byte. */
  readonly latencyMs: number;
  /** Bytes per second of one request once its bytes flow. */
  readonly bytesPerSec: number;
  /** Requests that run at once without queueing (their latencies overlap). */
  readonly parallelism: number;
  /** Bytes per second of `parallelism` requests together (default `bytesPerSec * parallelism`). */
  readonly totalBytesPerSec?: number;
}

/** A local disk: a positional read costs a few µs, reads run one at a time. */
export const LOCAL_COST: CostModel = Object.freeze({
  latencyMs: 0.002,
  bytesPerSec: 2e9,
  parallelism: 1,
});

/** Until measured (or for objects too small to measure on): a typical object store. */
export const REMOTE_COST: CostModel = Object.freeze({
  latencyMs: 20,
  bytesPerSec: 100e6,
  parallelism: 32,
  totalBytesPerSec: 1e9,
});

/** Objects smaller than this are not measured on (too few bytes to time a transfer). */
const MEASURE_MIN = 256 << 10;

/**
 * Measure a backend's cost model by reading an object of `size` bytes
 * through `read`: three 16-byte reads (the fastest is the latency), then
 * `parallelism` (default 32) of them at once (how many overlap rather than
 * queue), two reads of up to 8 MiB (one request's bandwidth), then 8 reads
 * of up to 1 MiB at once (the bandwidth of several). About 25 MB and 8 round
 * trips, once per backend instance. `undefined` for objects under 256 KiB.
 *
 * @example A backend whose requests cost 5 ms each
 * ```ts
 * import { measureCostModel } from "@lamindeno/lamindb";
 * const slow = async (_offset: number, length: number) => {
 *   await new Promise((r) => setTimeout(r, 5));
 *   return new Uint8Array(length);
 * };
 * const model = await measureCostModel(slow, 64 << 20);
 * console.assert(model !== undefined && model.latencyMs >= 4);
 * ```
 */
export async function measureCostModel(
  read: (offset: number, length: number) => Promise<unknown>,
  size: number,
  parallelism = 32,
): Promise<CostModel | undefined> {
  if (typeof read !== "function") {
    throw new ValidationError(
      `measureCostModel(read, size): read is a function (offset, length) => Promise, got ${
        kindOf(read)
      }`,
    );
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ValidationError(
      `measureCostModel(read, size): size is the object's size in bytes, a whole number >= 0, got ${
        typeof size === "number" ? size : kindOf(size)
      }`,
    );
  }
  if (!Number.isSafeInteger(parallelism) || parallelism < 1 || parallelism > 1024) {
    throw new ValidationError(
      `measureCostModel(read, size, parallelism): parallelism is a whole number from 1 to 1024, got ${
        typeof parallelism === "number" ? parallelism : kindOf(parallelism)
      }`,
    );
  }
  if (!(size >= MEASURE_MIN)) return undefined;
  const timed = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  // Tiny reads (16 bytes: some servers mishandle `bytes=0-0`): the fastest
  // of three is the latency; `parallelism` of them at once show how many
  // really overlap (a server busy per request makes them queue).
  let latencyMs = Infinity;
  for (const at of [16, size - 32, size >> 1]) {
    latencyMs = Math.min(latencyMs, await timed(() => read(at, 16)));
  }
  latencyMs = Math.max(0.01, latencyMs);
  const burstMs = await timed(() =>
    Promise.all(Array.from({ length: parallelism }, (_, i) => read(i * 4096 + 16, 16)))
  );
  const useful = Math.max(1, Math.min(parallelism, Math.round(parallelism * latencyMs / burstMs)));
  // Transfer time: what the read took beyond the latency, but at least half
  // of all it took (a noisy latency must not make bandwidth look endless).
  const transfer = (ms: number) => Math.max(ms - latencyMs, ms / 2) / 1000;
  const big = Math.min(size, 8 << 20);
  let oneMs = Infinity;
  for (let i = 0; i < 2; i++) oneMs = Math.min(oneMs, await timed(() => read(size - big, big)));
  const bytesPerSec = big / transfer(oneMs);
  const part = Math.min(1 << 20, Math.floor(size / 8));
  const manyMs = await timed(() =>
    Promise.all(Array.from({ length: 8 }, (_, i) => read(i * part, part)))
  );
  const totalBytesPerSec = Math.max(bytesPerSec, (8 * part) / transfer(manyMs));
  return { latencyMs, bytesPerSec, parallelism: useful, totalBytesPerSec };
}

/**
 * A human-readable line, e.g. for `debug` logs and benchmarks. A
 * `ValidationError` unless `m` is a {@linkcode CostModel}.
 *
 * @example
 * ```ts
 * import { describeCostModel } from "@lamindeno/lamindb";
 * const line = describeCostModel({ latencyMs: 20, bytesPerSec: 100e6, parallelism: 32 });
 * console.assert(line === "20.0 ms per request, 100 MB/s per request, 32 at once");
 * ```
 */
export function describeCostModel(m: CostModel): string {
  if (!isCostModel(m)) {
    throw new ValidationError(
      `describeCostModel(m): m is a cost model ${COST_MODEL_SHAPE}, got ${kindOf(m)}`,
    );
  }
  const mb = (b: number) => `${(b / 1e6).toFixed(b < 1e7 ? 1 : 0)} MB/s`;
  return `${m.latencyMs.toFixed(m.latencyMs < 1 ? 3 : 1)} ms per request, ${
    mb(m.bytesPerSec)
  } per request, ${m.parallelism} at once` +
    (m.totalBytesPerSec ? ` (${mb(m.totalBytesPerSec)} together)` : "");
}
