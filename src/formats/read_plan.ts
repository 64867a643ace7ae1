// Planning range requests by a backend's cost model: which gaps between the
// byte ranges a reader needs are cheaper to read through than to skip with
// another request, and how to split long reads so several run at once.
// Pure, printable, tested on its own; the HDF5 scheduler executes it.
import type { CostModel } from "../storage/cost_model.ts";
import { merge, type Range, total } from "./ranges.ts";

/** The requests chosen for some byte ranges, with what they cost. */
export interface ReadPlan {
  /** Byte ranges to request, sorted and disjoint; together they cover every range asked. */
  readonly requests: Range[];
  /** Bytes the ranges asked for (overlaps counted once). */
  readonly needed: number;
  /** Bytes the requests read. */
  readonly bytes: number;
  /** Estimated seconds of the requests under the model ({@linkcode estimateSeconds}). */
  readonly seconds: number;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * Estimated seconds to run `requests` under `model`: rounds of
 * `parallelism` requests, each round paying the latency once, plus the
 * bytes at the combined bandwidth, plus, for every request beyond the
 * first of its round, its share of the store's parallelism for the
 * latency (`latency / parallelism`: reads running together — a stream's
 * obs columns, X and layers — share the connections, so a round of many
 * requests is not free next to one request); never less than the longest
 * request alone (latency plus its bytes at one request's bandwidth).
 *
 * @example
 * ```ts
 * import { estimateSeconds } from "./read_plan.ts";
 * const m = { latencyMs: 10, bytesPerSec: 1e6, parallelism: 2, totalBytesPerSec: 2e6 };
 * // 3 requests of 1 MB: 2 rounds (20 ms) + 3 MB at 2 MB/s (1.5 s) + one request
 * // sharing a round (5 ms); the longest alone is 1.01 s.
 * console.assert(Math.abs(estimateSeconds([[0, 1e6], [2e6, 3e6], [4e6, 5e6]], m) - 1.525) < 1e-9);
 * ```
 */
export function estimateSeconds(requests: readonly Range[], model: CostModel): number {
  if (!requests.length) return 0;
  const lat = model.latencyMs / 1000;
  const p = Math.max(1, Math.floor(model.parallelism));
  const together = model.totalBytesPerSec ?? model.bytesPerSec * p;
  let bytes = 0, longest = 0;
  for (const [s, e] of requests) {
    bytes += e - s;
    longest = Math.max(longest, e - s);
  }
  return Math.max(
    roundsCost(requests.length, p, lat) + bytes / together,
    lat + longest / model.bytesPerSec,
  );
}

/** Seconds of latency `k` requests cost in rounds of `p` (see {@linkcode estimateSeconds}). */
function roundsCost(k: number, p: number, lat: number): number {
  const rounds = ceilDiv(k, p);
  return rounds * lat + (k - rounds) * lat / p;
}

/**
 * Choose the requests that read `ranges` (byte ranges, sorted by start)
 * fastest under `model`. A gap between ranges is read through when that
 * costs less than the request it saves: with `k` requests the best plan
 * skips the `k - 1` largest gaps, and every `k` is priced by
 * {@linkcode estimateSeconds}' rule (rounds of `parallelism`, each request
 * beyond the first of a round paying its share). Cheap requests (a local
 * disk) skip every gap bigger than a few KB; expensive ones (S3 across a
 * network) read through gaps of MBs, down to a single span when that is
 * fastest. Requests longer than a request's worth of transfer are then cut
 * into equal parts, up to `parallelism` of them, so they run at once.
 *
 * @example The same ranges on a local disk and on a slow object store
 * ```ts
 * import { planReads } from "./read_plan.ts";
 * const ranges: [number, number][] = [[0, 1000], [50_000, 51_000], [100_000, 101_000]];
 * const local = planReads(ranges, { latencyMs: 0.002, bytesPerSec: 2e9, parallelism: 1 });
 * console.assert(local.requests.length === 3 && local.bytes === 3000);
 * const s3 = planReads(ranges, { latencyMs: 20, bytesPerSec: 200e6, parallelism: 1 });
 * console.assert(s3.requests.length === 1 && s3.bytes === 101_000);
 * ```
 */
export function planReads(ranges: readonly Range[], model: CostModel): ReadPlan {
  const m = merge(ranges, 0);
  const needed = total(m);
  if (m.length === 0) return { requests: [], needed: 0, bytes: 0, seconds: 0 };
  const lat = model.latencyMs / 1000;
  const p = Math.max(1, Math.floor(model.parallelism));
  const together = model.totalBytesPerSec ?? model.bytesPerSec * p;
  const n = m.length;
  // Gaps, and their values sorted natively (sorting their indices by a
  // comparator made the plan of a streamed obs column of a scattered
  // selection, ~19,000 ranges, 6.3 instead of 1.8 ms).
  const gaps = new Float64Array(Math.max(0, n - 1));
  let allGaps = 0;
  for (let i = 0; i + 1 < n; i++) allGaps += gaps[i] = m[i + 1][0] - m[i][1];
  const ascending = gaps.slice().sort();
  // Skipping the j largest gaps saves their sum.
  const skipped = new Float64Array(n);
  for (let j = 0; j < n - 1; j++) skipped[j + 1] = skipped[j] + ascending[n - 2 - j];
  const cost = (k: number) =>
    roundsCost(k, p, lat) + (needed + allGaps - skipped[k - 1]) / together;
  let best = n, bestCost = cost(n);
  for (let k = 1; k < n; k++) {
    const c = cost(k);
    if (c < bestCost) [best, bestCost] = [k, c];
  }
  // The rounds above ignore that one long request can outlast the rest:
  // compare the plans themselves (one per range and one span included).
  let requests: Range[] = [];
  let seconds = Infinity;
  for (const k of new Set([best, n, 1, Math.max(1, best - p), Math.min(n, best + p)])) {
    const groups = groupsOf(m, gaps, ascending, k);
    for (const candidate of [groups, balance(groups, model, p)]) {
      const t = estimateSeconds(candidate, model);
      if (t < seconds) [requests, seconds] = [candidate, t];
    }
  }
  return { requests, needed, bytes: total(requests), seconds };
}

/**
 * `m` in `k` requests: split at the `k - 1` largest gaps (`ascending`:
 * the gaps' values sorted), of equal gaps the first ones.
 */
function groupsOf(
  m: Range[],
  gaps: Float64Array,
  ascending: Float64Array,
  k: number,
): [number, number][] {
  const groups: [number, number][] = [[m[0][0], m[0][1]]];
  if (k <= 1) {
    groups[0][1] = m[m.length - 1][1];
    return groups;
  }
  // Split at gaps above the (k-1)-th largest, and at as many equal to it
  // as are still wanted, in order.
  const cut = ascending[ascending.length - (k - 1)];
  let equal = k - 1;
  for (let i = ascending.length - (k - 1); i < ascending.length; i++) {
    if (ascending[i] > cut) equal--;
  }
  for (let i = 1; i < m.length; i++) {
    const g = gaps[i - 1];
    if (g > cut || (g === cut && equal-- > 0)) groups.push([m[i][0], m[i][1]]);
    else groups[groups.length - 1][1] = m[i][1];
  }
  return groups;
}

/**
 * Cut long requests into equal parts so up to `p` run at once: a part is
 * never shorter than a quarter of a request's worth of transfer
 * (`latency * bytesPerSec / 4`, at least 64 KiB), so cutting never costs
 * more latency than it saves in transfer.
 */
function balance(groups: [number, number][], model: CostModel, p: number): Range[] {
  if (p === 1 || groups.length >= p) return groups;
  const bytes = total(groups);
  const minPart = Math.max(64 << 10, (model.latencyMs / 1000) * model.bytesPerSec / 4);
  const part = Math.max(minPart, Math.ceil(bytes / p));
  const out: Range[] = [];
  for (const [s, e] of groups) {
    const parts = Math.max(1, Math.min(p, Math.floor((e - s) / part)));
    for (let i = 0; i < parts; i++) {
      out.push([s + Math.floor((e - s) * i / parts), s + Math.floor((e - s) * (i + 1) / parts)]);
    }
  }
  return out;
}

/** A printable summary of a plan, e.g. for `debug` logs and tests. */
export function describeReadPlan(plan: ReadPlan): string {
  const { requests, needed, bytes, seconds } = plan;
  return `${requests.length} request(s), ${bytes} bytes for ${needed} needed` +
    ` (${needed ? (bytes / needed).toFixed(2) : "1.00"}x), ~${(seconds * 1000).toFixed(1)} ms` +
    (requests.length <= 4 ? ` [${requests.map(([s, e]) => `${s}..${e}`).join(", ")}]` : "");
}

/**
 * How many bytes to read around a metadata page under `model`: a
 * sixteenth of what one request transfers in its latency (so reading ahead
 * costs at most a sixteenth more than the page alone, and a selection
 * still reads a small part of a small file), as a power of two from 4 KiB
 * to 256 KiB. Local disks: 4 KiB (the page).
 *
 * @example
 * ```ts
 * import { metadataBlock } from "./read_plan.ts";
 * console.assert(metadataBlock({ latencyMs: 0.002, bytesPerSec: 2e9, parallelism: 1 }) === 4096);
 * console.assert(metadataBlock({ latencyMs: 20, bytesPerSec: 100e6, parallelism: 8 }) === 1 << 16);
 * ```
 */
export function metadataBlock(model: CostModel): number {
  const worth = (model.latencyMs / 1000) * model.bytesPerSec / 16;
  let block = 4096;
  while (block * 2 <= worth && block < 1 << 18) block *= 2;
  return block;
}
