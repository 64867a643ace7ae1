// Shared test helpers: temp instances, small asserts, running child Deno processes.
import * as ln from "../mod.ts";

import { AssertionError, deepStrictEqual } from "node:assert/strict";

export { ok as assert, strictEqual } from "node:assert/strict";

/**
 * node's `deepStrictEqual`, except that two large typed arrays are compared
 * element by element and a mismatch names its first index: node's message
 * diffs them, quadratic in their differences (20,000 bytes differing every
 * third took 4.4 GB; two 340 KB registry files took a test run past 20 GB).
 */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  const big = (v: unknown): v is ArrayLike<unknown> & ArrayBufferView =>
    ArrayBuffer.isView(v) && !(v instanceof DataView) &&
    (v as unknown as ArrayLike<unknown>).length > 1024;
  if (big(actual) && big(expected) && actual.constructor === expected.constructor) {
    // Byte by byte, as deepStrictEqual compares typed arrays (NaN payloads, -0 included).
    const bytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const [a, e] = [bytes(actual), bytes(expected)];
    const width = (actual as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    for (let b = 0; b < Math.max(a.length, e.length); b++) {
      if (a[b] === e[b] && b < a.length && b < e.length) continue;
      const i = Math.floor(b / width);
      const name = actual.constructor.name;
      throw new AssertionError({
        message: `${message ? `${message}: ` : ""}${name}s differ at index ${i} (${
          String(actual[i])
        } != ${String(expected[i])}; lengths ${actual.length} and ${expected.length})`,
        actual: `${name}(${actual.length})`,
        expected: `${name}(${expected.length})`,
        operator: "deepStrictEqual",
      });
    }
    return;
  }
  deepStrictEqual(actual, expected, message);
}

/** A fresh temp dir, under `$TMPDIR` (`deno task test` gives each run its own and removes it at the end). */
export async function tempDir(prefix = "lamindeno-test-"): Promise<string> {
  return await Deno.realPath(await Deno.makeTempDir({ prefix }));
}

/** Open a fresh instance in a temp dir; returns its root. Close with `ln.close()`. */
export async function freshInstance(): Promise<string> {
  const root = await tempDir();
  await ln.init({ storage: root });
  return root;
}

/** Assert that `fn` rejects with an error of class `cls` whose message matches `re`. */
export async function assertRejects(
  fn: () => unknown,
  cls: new (...a: never[]) => Error,
  re?: RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof cls)) {
      throw new Error(`expected ${cls.name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }
    if (re && !re.test(e.message)) {
      throw new Error(`expected message matching ${re}, got: ${e.message}`);
    }
    return e;
  }
  throw new Error(`expected ${cls.name}, but nothing was thrown`);
}

/** Every file under `dir` (relative paths, sorted), to check that nothing was written. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await visit(`${d}/${e.name}`, r);
      else out.push(r);
    }
  };
  await visit(dir, "");
  return out.sort();
}

/** Write `size` bytes of deterministic pseudo-random content to `path`. */
export async function writeRandomFile(path: string, size: number, seed = 1): Promise<void> {
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(Math.min(size, 4 << 20));
  let x = seed >>> 0 || 1;
  for (let written = 0; written < size;) {
    const n = Math.min(chunk.length, size - written);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      chunk[i] = x & 0xff;
    }
    let w = 0;
    while (w < n) w += await f.write(chunk.subarray(w, n));
    written += n;
  }
}

/** What `ln.fsck()` reports for a consistent instance: every kind of problem empty. */
export const HEALTHY: Readonly<ln.FsckReport> = Object.freeze({
  leftovers: [],
  orphans: [],
  interrupted: [],
  missing: [],
  mismatched: [],
});

/** A seeded generator of numbers in [0, 1) (mulberry32): random tests that repeat. */
export { seededRandom as seeded } from "../src/_ids.ts";
