// What fresh memory costs, ours and numpy's side by side: a whole load
// writes every byte of its result into memory the process has not used
// yet, so this is the floor under `readH5ad`/`readZarr` (bench/README.md,
// twenty-fourth session). Per way, the best and the first of `--reps`
// fills of `--mb` megabytes, each in a new array:
//   deno   `new Uint8Array(n).fill(1)` (4 KiB pages)
//   deno+huge       the same, advised MADV_HUGEPAGE (FFI) before the fill
//   deno+huge+gc    the same, the previous array collected first (gc())
//   numpy  `np.empty(n, np.uint8).fill(1)`, the previous array freed first
//          (numpy advises huge pages for arrays of 4 MiB and more)
//
//   deno run -A bench/fresh_memory.ts [--mb 240] [--reps 6] [--wait 3]

const PY = "/usr/bin/python3";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
}

const MB = Number(flag("mb", "240"));
const REPS = Number(flag("reps", "6"));

/** Runs in a child process (so each way starts from a fresh process). */
function fills(mode: string): number[] {
  const n = MB * 1e6;
  const lib = mode === "deno" ? undefined : Deno.dlopen("libc.so.6", {
    madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  });
  const out: number[] = [];
  for (let r = 0; r < REPS; r++) {
    if (mode === "deno+huge+gc") (globalThis as unknown as { gc(): void }).gc();
    const t0 = performance.now();
    const b = new Uint8Array(n);
    if (lib) {
      const at = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
      const huge = 2n << 20n, start = (at + huge - 1n) & ~(huge - 1n);
      const end = (at + BigInt(n)) & ~(huge - 1n);
      if (end > start) lib.symbols.madvise(Deno.UnsafePointer.create(start), end - start, 14);
    }
    b.fill(1);
    out.push(performance.now() - t0);
  }
  lib?.close();
  return out;
}

const NUMPY = `
import sys, time, numpy as np
n, reps = int(float(sys.argv[1]) * 1e6), int(sys.argv[2])
a = None
for r in range(reps):
    a = None
    t = time.perf_counter()
    a = np.empty(n, np.uint8)
    a.fill(1)
    print((time.perf_counter() - t) * 1000)
`;

async function child(cmd: string, args: string[]): Promise<number[]> {
  const out = await new Deno.Command(cmd, { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} failed`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map(Number);
}

if (Deno.args[0] === "--child") {
  console.log(fills(Deno.args[1]).join("\n"));
} else {
  const self = new URL(import.meta.url).pathname;
  const ways: [string, () => Promise<number[]>][] = [
    ["deno", () => child(Deno.execPath(), ["run", "-A", self, "--child", "deno", ...Deno.args])],
    [
      "deno+huge",
      () => child(Deno.execPath(), ["run", "-A", self, "--child", "deno+huge", ...Deno.args]),
    ],
    ["deno+huge+gc", () =>
      child(Deno.execPath(), [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        self,
        "--child",
        "deno+huge+gc",
        ...Deno.args,
      ])],
    ["numpy", () => child(PY, ["-c", NUMPY, String(MB), String(REPS)])],
  ];
  console.log(`fresh memory: ${MB} MB a fill, ${REPS} fills a way, each in a new process`);
  console.log("| way | first | best | all (ms) |\n| --- | --- | --- | --- |");
  for (const [name, run] of ways) {
    // A pause first: memory the last way freed is handed back to the host
    // (free page reporting), so each way's first fill starts cold.
    await new Promise((r) => setTimeout(r, 1000 * Number(flag("wait", "3"))));
    const ts = await run();
    console.log(
      `| ${name} | ${ts[0].toFixed(0)} | ${Math.min(...ts).toFixed(0)} | ${
        ts.map((t) => t.toFixed(0)).join(" ")
      } |`,
    );
  }
}
