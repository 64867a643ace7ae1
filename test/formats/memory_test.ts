// Result arrays on huge pages (src/formats/_memory.ts, adviseHugePages in
// src/_runtime.ts): what largeArray returns, that the kernel really backs a
// large one with huge pages when asked (LAMIN_HUGE_PAGES=1) and the ffi
// permission is granted, and that otherwise nothing is advised and nothing asks.
import { assert, assertEquals } from "../_helpers.ts";
import { LARGE, largeArray } from "../../src/formats/_memory.ts";

Deno.test("largeArray: zeroed arrays of the asked type and length, small or large", () => {
  for (const n of [0, 1, 1000, LARGE / 4 - 1, LARGE / 4, LARGE]) {
    const ctors: (new (n: number) => Uint8Array | Int32Array | Float32Array | Float64Array)[] = [
      Uint8Array,
      Int32Array,
      Float32Array,
      Float64Array,
    ];
    for (const Ctor of ctors) {
      const a = largeArray(Ctor, n);
      assert(a instanceof Ctor, `${Ctor.name}(${n})`);
      assertEquals(a.length, n);
      assertEquals(a.byteOffset, 0);
      assert(a.buffer instanceof ArrayBuffer, "a plain ArrayBuffer, not a shared one");
      let nonzero = 0;
      for (let i = 0; i < a.length; i += 4093) nonzero += a[i] === 0 ? 0 : 1;
      assertEquals(nonzero, 0);
    }
  }
  const b = largeArray(BigInt64Array, LARGE / 8 + 3);
  assertEquals(b.length, LARGE / 8 + 3);
  assertEquals(b[b.length - 1], 0n);
});

function thpMode(): string | undefined {
  try {
    return Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled").trim();
  } catch {
    return undefined;
  }
}

async function probe(flags: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, new URL("./_memory_probe.ts", import.meta.url).pathname],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `probe failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text) as { on: boolean; why: string; hugeMiB: number };
}

Deno.test("a large array lives on huge pages with the ffi permission; not without it", async () => {
  const mode = thpMode();
  const all = await probe(["-A"], { LAMIN_HUGE_PAGES: "1" });
  if (Deno.build.os !== "linux" || mode === undefined || mode.includes("[never]")) {
    // Nothing to advise here: it must say so.
    assertEquals(all.on, false, JSON.stringify(all));
    return;
  }
  assert(all.on, `expected huge pages here (${mode}): ${all.why}`);
  // The kernel may fall back to small pages for part of it; most must be huge.
  assert(all.hugeMiB >= 32, `only ${all.hugeMiB} MiB of 64 on huge pages (${mode})`);
  // Off unless asked for.
  for (const env of [{ LAMIN_HUGE_PAGES: "0" }, {}] as Record<string, string>[]) {
    const off = await probe(["-A"], env);
    assertEquals(off.on, false, JSON.stringify(off));
    assert(off.why.includes("1 turns huge pages on"), off.why);
  }
  // Without --allow-ffi: not asked for (stdin is closed: a prompt would fail).
  const noFfi = await probe(["--allow-read", "--allow-env"], { LAMIN_HUGE_PAGES: "1" });
  assertEquals(noFfi.on, false);
  assert(noFfi.why.includes("ffi"), noFfi.why);
  if (mode.includes("[madvise]")) {
    assert(noFfi.hugeMiB < 16, `${noFfi.hugeMiB} MiB on huge pages without advice`);
  }
});
