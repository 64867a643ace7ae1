// The int64 conversions and checks of src/formats/_int64.ts against BigInt
// arithmetic, on random values around every boundary they decide on.
import { asFloat64, asInt32, decreasing64, outside64 } from "../../src/formats/_int64.ts";
import { assertEquals, seeded } from "../_helpers.ts";

const rng = seeded;

const EDGES = [
  0n,
  1n,
  -1n,
  2n ** 31n - 1n,
  2n ** 31n,
  -(2n ** 31n),
  -(2n ** 31n) - 1n,
  2n ** 32n,
  2n ** 32n + 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
];

function randomBig(r: () => number): bigint {
  if (r() < 0.3) return EDGES[Math.floor(r() * EDGES.length)];
  const bits = [8, 31, 32, 40, 53, 63][Math.floor(r() * 6)];
  const v = BigInt(Math.floor(r() * 2 ** Math.min(bits, 52))) << BigInt(Math.max(0, bits - 52));
  return r() < 0.3 ? -v : v;
}

Deno.test("asFloat64 and asInt32 of int64 and uint64 arrays agree with Number and BigInt", () => {
  const r = rng(7);
  for (let trial = 0; trial < 300; trial++) {
    const n = Math.floor(r() * 40);
    const vals = Array.from({ length: n }, () => randomBig(r));
    const a = BigInt64Array.from(vals);
    assertEquals(Array.from(asFloat64(a)), Array.from(a, Number));
    const fits = Array.from(a).every((v) => v >= -(2n ** 31n) && v < 2n ** 31n);
    const i32 = asInt32(a);
    assertEquals(i32 && Array.from(i32), fits ? Array.from(a, Number) : undefined);
    const u = BigUint64Array.from(vals.map((v) => BigInt.asUintN(64, v)));
    assertEquals(Array.from(asFloat64(u)), Array.from(u, Number));
    const ufits = Array.from(u).every((v) => v < 2n ** 31n);
    const u32 = asInt32(u);
    assertEquals(u32 && Array.from(u32), ufits ? Array.from(u, Number) : undefined);
  }
  // Other types: copied (float64 itself), int32 only when every value is one.
  const f = Float64Array.of(1, 2.5);
  assertEquals(asFloat64(f) === f, true);
  assertEquals(asInt32(f), undefined);
  assertEquals(Array.from(asInt32(Uint32Array.of(1, 2 ** 31 - 1))!), [1, 2 ** 31 - 1]);
  assertEquals(asInt32(Uint32Array.of(2 ** 31)), undefined);
});

Deno.test("outside64 and decreasing64 find the first bad entry, as BigInt comparisons do", () => {
  const r = rng(11);
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(r() * 5000);
    const len = Math.floor(r() * 9000);
    const vals = Array.from({ length: len }, () => BigInt(Math.floor(r() * n)));
    // Now and then one bad value (far blocks too: the check goes block by block).
    if (len && r() < 0.7) vals[Math.floor(r() * len)] = randomBig(r);
    const a = BigInt64Array.from(vals);
    const want = vals.findIndex((v) => v < 0n || v >= BigInt(n));
    assertEquals(outside64(a, n), want);
    assertEquals(outside64(BigUint64Array.from(vals.map((v) => BigInt.asUintN(64, v))), n), want);
    const sorted = [...vals].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    if (len > 1 && r() < 0.5) {
      const k = 1 + Math.floor(r() * (len - 1));
      sorted[k] = sorted[k - 1] - 1n - BigInt(Math.floor(r() * 3));
    }
    const dec = sorted.findIndex((v, i) => i > 0 && v < sorted[i - 1]);
    assertEquals(decreasing64(BigInt64Array.from(sorted)), dec);
  }
  // Past 2^53, neighbours a double cannot tell apart are compared exactly.
  assertEquals(decreasing64(BigInt64Array.of(2n ** 60n + 1n, 2n ** 60n)), 1);
  assertEquals(decreasing64(BigInt64Array.of(2n ** 60n, 2n ** 60n + 1n)), -1);
  assertEquals(outside64(BigInt64Array.of(1n, 2n ** 32n + 1n), 5), 1);
  // Values whose bits are a float64 NaN (-1), -0 (-2^63), infinity, or just past n,
  // at each place of a block of four and in the tail after the last four.
  for (const bad of [-1n, -(2n ** 63n), 0x7ff0000000000000n, 5n, 2n ** 32n + 4n]) {
    for (const len of [1, 4, 7, 4099, 8195]) {
      for (const at of [0, 1, 2, 3, len - 1, len - 2]) {
        if (at < 0 || at >= len) continue;
        const a = new BigInt64Array(len).fill(4n);
        a[at] = bad;
        assertEquals(outside64(a, 5), at, `${bad} at ${at} of ${len}`);
        // A view at an offset (a part of a larger read).
        const big = new BigInt64Array(len + 3).fill(4n);
        big.set(a, 3);
        assertEquals(outside64(big.subarray(3), 5), at);
      }
    }
  }
  assertEquals(outside64(BigInt64Array.of(), 0), -1);
  assertEquals(outside64(BigInt64Array.of(0n), 0), 0);
});
