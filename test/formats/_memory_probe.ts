// Run by memory_test.ts in a child process of chosen permissions: prints
// hugePages() and how many MiB of a freshly filled 64 MiB array the kernel
// put on huge pages (-1: /proc unreadable here).
import { hugePages } from "../../src/_runtime.ts";
import { largeArray } from "../../src/formats/_memory.ts";

function anonHugeMiB(): number {
  try {
    const t = Deno.readTextFileSync("/proc/self/smaps_rollup");
    return Number(/AnonHugePages:\s+(\d+) kB/.exec(t)?.[1] ?? NaN) / 1024;
  } catch {
    return -1;
  }
}

const before = anonHugeMiB();
const a = largeArray(Float32Array, 16 << 20);
a.fill(1);
const after = anonHugeMiB();
console.log(JSON.stringify({ ...hugePages(), hugeMiB: before < 0 ? -1 : after - before }));
