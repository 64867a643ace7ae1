import { assert, assertEquals } from "../_helpers.ts";
import { describeReadPlan, estimateSeconds, planReads } from "../../src/formats/read_plan.ts";
import { merge, type Range, total } from "../../src/formats/ranges.ts";
import { type CostModel, LOCAL_COST } from "../../src/storage/cost_model.ts";

/** S3 across a network: 20 ms per request, 200 MB/s each, 32 at once, 1 GB/s together. */
const S3: CostModel = { latencyMs: 20, bytesPerSec: 200e6, parallelism: 32, totalBytesPerSec: 1e9 };

function rng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** `n` ranges of `len` bytes, `gap` bytes apart, from `start`. */
function spaced(n: number, len: number, gap: number, start = 0): Range[] {
  return Array.from(
    { length: n },
    (_, i) => [start + i * (len + gap), start + i * (len + gap) + len],
  );
}

Deno.test("on a local disk, gaps larger than a few KB are skipped and smaller ones read through", () => {
  const far = planReads(spaced(100, 400, 40_000), LOCAL_COST);
  assertEquals(far.requests.length, 100);
  assertEquals(far.bytes, far.needed);
  const near = planReads(spaced(100, 400, 1_000), LOCAL_COST);
  assertEquals(near.requests.length, 1); // 1 KB costs 0.5 µs to read, a request 2 µs
  assertEquals(near.bytes, 100 * 400 + 99 * 1_000);
});

Deno.test("on S3, scattered rows are read as one span cut into parts that run at once", () => {
  // 20,000 rows of 400 bytes, 4 KB apart (a 10% selection of a CSR matrix).
  const plan = planReads(spaced(20_000, 400, 3_600), S3);
  const span = 20_000 * 4_000 - 3_600;
  // One span, less the 31 largest gaps (up to 32 requests cost one round).
  assert(plan.bytes <= span && plan.bytes >= span - 31 * 3_600, describeReadPlan(plan));
  assert(plan.requests.length > 1 && plan.requests.length <= 32, describeReadPlan(plan));
  // Far faster than a request per row (625 rounds of 20 ms).
  const tight = estimateSeconds(merge(spaced(20_000, 400, 3_600)), S3);
  assert(plan.seconds < tight / 50, `${plan.seconds} vs ${tight}`);
});

Deno.test("a long span is cut into parts only when several connections together are faster than one", () => {
  const rows = spaced(20_000, 400, 3_600); // ~80 MB of scattered rows
  // S3: 50 MB/s per connection, 8 at once, 400 MB/s together: 8 parts.
  const s3 = { latencyMs: 20, bytesPerSec: 50e6, parallelism: 8, totalBytesPerSec: 400e6 };
  const cut = planReads(rows, s3);
  assertEquals(cut.requests.length, 8, describeReadPlan(cut));
  assert(cut.seconds < 0.3, describeReadPlan(cut)); // vs 1.6 s in one request
  const longest = (p: { requests: Range[] }) => Math.max(...p.requests.map(([a, b]) => b - a));
  assert(longest(cut) <= 10.1e6, describeReadPlan(cut));
  // A server whose connections share one bandwidth (a CPU-bound one): the
  // span is not cut (a few small requests may ride along in the same round).
  const shared = planReads(rows, { ...s3, totalBytesPerSec: 50e6 });
  assert(longest(shared) > 79e6, describeReadPlan(shared));
  assert(shared.seconds > 1.5, describeReadPlan(shared));
});

Deno.test("on S3, as many ranges as run at once are read apart, at no extra bytes", () => {
  const plan = planReads(spaced(32, 1_000, 1_000_000), S3);
  assertEquals(plan.requests.length, 32);
  assertEquals(plan.bytes, plan.needed);
});

Deno.test("on S3, a gap costlier than a round of requests is skipped, smaller ones read through", () => {
  // Two clusters of 200 ranges 10 KB apart, 1 GB between them.
  const ranges = [...spaced(200, 100, 10_000), ...spaced(200, 100, 10_000, 1e9)];
  const plan = planReads(ranges, { ...S3, parallelism: 1, totalBytesPerSec: undefined });
  assertEquals(plan.requests.length, 2);
  assertEquals(plan.bytes, 2 * (200 * 100 + 199 * 10_000));
});

Deno.test("the same ranges get fewer requests as requests get dearer", () => {
  const r = rng(7);
  const ranges: Range[] = [];
  for (let o = 0; ranges.length < 3_000;) {
    o += Math.floor(-Math.log(1 - r()) * 50_000);
    ranges.push([o, o + 500]);
    o += 500;
  }
  let last = Infinity;
  for (const latencyMs of [0.001, 0.1, 1, 10, 100]) {
    const plan = planReads(ranges, { latencyMs, bytesPerSec: 100e6, parallelism: 1 });
    assert(plan.requests.length <= last, `${latencyMs} ms: ${describeReadPlan(plan)}`);
    last = plan.requests.length;
  }
  assertEquals(last, 1);
});

Deno.test("random plans cover every range, and are no slower than one span or a request per range", () => {
  const r = rng(42);
  for (let t = 0; t < 300; t++) {
    const n = 1 + Math.floor(r() * 300);
    const ranges: Range[] = [];
    let o = Math.floor(r() * 1e6);
    for (let i = 0; i < n; i++) {
      const len = 1 + Math.floor(r() ** 3 * 2e6);
      // Some overlap or touch their neighbour; gaps span 0 .. ~10 MB.
      o += r() < 0.1 ? -Math.floor(r() * len) : Math.floor(r() ** 4 * 1e7);
      o = Math.max(o, 0);
      ranges.push([o, o + len]);
      o += len;
    }
    ranges.sort((a, b) => a[0] - b[0]);
    const model: CostModel = {
      latencyMs: [0.002, 0.5, 20, 200][t % 4],
      bytesPerSec: [2e9, 1e8, 2e8, 5e7][(t >> 2) % 4],
      parallelism: [1, 4, 32][t % 3],
      ...(r() < 0.5 ? { totalBytesPerSec: 4e8 } : {}),
    };
    const plan = planReads(ranges, model);
    const needed = merge(ranges);
    assertEquals(plan.needed, total(needed));
    assertEquals(plan.bytes, total(plan.requests));
    // Sorted, disjoint, non-empty requests covering every range.
    for (let i = 0; i < plan.requests.length; i++) {
      const [s, e] = plan.requests[i];
      assert(e > s && (i === 0 || s >= plan.requests[i - 1][1]), `request ${i}: ${s}..${e}`);
    }
    let q = 0;
    for (const [s, e] of needed) {
      for (let x = s; x < e;) {
        while (plan.requests[q][1] <= x) q++;
        assert(plan.requests[q][0] <= x, `byte ${x} is not read (${describeReadPlan(plan)})`);
        x = plan.requests[q][1];
      }
    }
    const tight = estimateSeconds(needed, model);
    const span = estimateSeconds([[needed[0][0], needed[needed.length - 1][1]]], model);
    assert(
      plan.seconds <= Math.min(tight, span) * (1 + 1e-9),
      `${JSON.stringify(model)}: ${
        describeReadPlan(plan)
      } = ${plan.seconds}; tight ${tight} (${needed.length} ranges), span ${span}`,
    );
  }
});

Deno.test("an empty plan reads nothing, and a plan prints its requests and cost", () => {
  assertEquals(planReads([], S3), { requests: [], needed: 0, bytes: 0, seconds: 0 });
  const plan = planReads([[0, 100], [200, 300]], { ...S3, parallelism: 1 });
  assertEquals(
    describeReadPlan(plan),
    "1 request(s), 300 bytes for 200 needed (1.50x), ~20.0 ms [0..300]",
  );
});

Deno.test("a column read with others is one request, not a round of many to skip a few KB", () => {
  // A streamed obs column: 20,000 selected rows of a 200 KB int8 array
  // (a 10% selection), read while X and the other columns are read too.
  const r = rng(3);
  const rows: Range[] = [];
  for (let i = 0; i < 200_000; i++) if (r() < 0.1) rows.push([i, i + 1]);
  const model: CostModel = {
    latencyMs: 25,
    bytesPerSec: 140e6,
    parallelism: 12,
    totalBytesPerSec: 300e6,
  };
  const plan = planReads(rows, model);
  assertEquals(plan.requests.length, 1, describeReadPlan(plan));
  // Gaps worth more than a request's share of a round are still skipped.
  const far = planReads([[0, 1000], [50e6, 50e6 + 1000]], model);
  assertEquals(far.requests.length, 2, describeReadPlan(far));
});
