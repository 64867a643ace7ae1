// The damaged-file corpus: from valid seeds written by Python (anndata h5ad
// and zarr v2, h5py, pandas csv, PIL png; see _seeds.py), a deterministic
// (seeded) set of damaged copies: truncations at many offsets, bit flips,
// zeroed structures, claimed-size bombs (dims patched huge), mislabelled
// suffixes, and zarr damage (random chunk bytes, truncated chunks, bad
// JSON, missing chunks, patched metadata). Each case says what outcome is
// acceptable:
//   "equal-or-error"  the damage changes what the file says: a successful
//                     read must equal the seed's, else a LaminError
//   "error"           nothing valid is left to read: a LaminError
//   "any"             the damage may be undetectable (a flipped bit in raw
//                     numbers or CSV text, a missing zarr chunk, which zarr
//                     defines as fill values): success or a LaminError
// Usage (to look at it): deno run -A test/corpus/_make_corpus.ts <out dir>
import { PYTHON } from "../_python.ts";

/** What a case may do. */
export type Expect = "equal-or-error" | "error" | "any";

/** One damaged file (or folder). */
export interface Case {
  /** Unique, readable: `class/seed/detail`. */
  id: string;
  /** The damage class, for the report. */
  cls: string;
  /** The damaged file or folder. */
  path: string;
  /** The key it is saved under (its suffix picks the codec). */
  key: string;
  /** The seed it came from (its undamaged results are the reference). */
  seed: string;
  expect: Expect;
}

/** A small deterministic PRNG (xorshift32). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** The seeds, written by Python into `dir`. */
export const SEEDS = {
  h5ad: ["csr.h5ad", "csr_gzip.h5ad", "dense.h5ad"],
  zarr: ["csr.zarr", "dense.zarr"],
  other: ["table.csv", "image.png"],
  /** Seeds that are damaged as written (no valid reference). */
  bad: ["loop.h5ad", "bomb.h5ad"],
} as const;

/** Write the seeds into `dir` with Python. */
export async function writeSeeds(dir: string): Promise<void> {
  const r = await new Deno.Command(PYTHON, {
    args: [new URL("./_seeds.py", import.meta.url).pathname, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`_seeds.py failed: ${new TextDecoder().decode(r.stderr)}`);
}

function find(hay: Uint8Array, needle: Uint8Array): number[] {
  const out: number[] = [];
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    out.push(i);
  }
  return out;
}

function u64(...values: number[]): Uint8Array {
  const b = new Uint8Array(8 * values.length);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigUint64(8 * i, BigInt(x), true));
  return b;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function filesUnder(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await filesUnder(dir, r));
    else out.push(r);
  }
  return out.sort();
}

/** Build the corpus from the seeds in `seedDir` into `outDir`; the cases, in a fixed order. */
export async function makeCorpus(seedDir: string, outDir: string): Promise<Case[]> {
  const cases: Case[] = [];
  let n = 0;
  const add = async (
    cls: string,
    seed: string,
    detail: string,
    bytes: Uint8Array,
    expect: Expect,
    suffix = seed.slice(seed.lastIndexOf(".")),
  ) => {
    const name = `${String(n++).padStart(4, "0")}${suffix}`;
    await Deno.writeFile(`${outDir}/${name}`, bytes);
    cases.push({
      id: `${cls}/${seed}/${detail}`,
      cls,
      path: `${outDir}/${name}`,
      key: `corpus/${name}`,
      seed,
      expect,
    });
  };
  await Deno.mkdir(outDir, { recursive: true });
  const rand = rng(20261202);
  const int = (k: number) => Math.floor(rand() * k);

  for (const seed of [...SEEDS.h5ad, ...SEEDS.other]) {
    const orig = await Deno.readFile(`${seedDir}/${seed}`);
    const isH5 = seed.endsWith(".h5ad"), isCsv = seed.endsWith(".csv");
    // Truncations: the first bytes, every structure boundary region, the end.
    const cuts = new Set<number>([0, 1, 7, 8, 47, 96, 511, orig.length - 1, orig.length - 8]);
    const nCuts = isH5 ? 16 : 8;
    for (let k = 1; k <= nCuts; k++) cuts.add(Math.floor((orig.length * k) / (nCuts + 1)));
    for (let k = 0; k < (isH5 ? 8 : 3); k++) cuts.add(int(orig.length));
    for (const at of [...cuts].filter((c) => c >= 0 && c < orig.length).sort((a, b) => a - b)) {
      await add("truncated", seed, `at ${at}`, orig.slice(0, at), isCsv ? "any" : "equal-or-error");
    }
    // Bit flips (1 to 4 bits): raw numbers and text have no checksum, so
    // any outcome but a crash, hang or raw error is acceptable; PNG's CRCs
    // and zlib's adler32 make a changed image detectable.
    for (let k = 0; k < (isH5 ? 12 : 6); k++) {
      const b = orig.slice();
      const flips = 1 + int(4);
      const where: number[] = [];
      for (let f = 0; f < flips; f++) {
        const at = int(b.length);
        b[at] ^= 1 << int(8);
        where.push(at);
      }
      await add(
        "bitflip",
        seed,
        `bits at ${where.join(",")}`,
        b,
        seed.endsWith(".png") ? "equal-or-error" : "any",
      );
    }
  }

  // Zeroed structures of the HDF5 files: each signature's first 32 bytes.
  for (const seed of SEEDS.h5ad) {
    const orig = await Deno.readFile(`${seedDir}/${seed}`);
    const sigs = ["TREE", "HEAP", "SNOD", "GCOL", "OHDR", "OCHK", "\x89HDF"];
    const spots: [string, number][] = [];
    for (const s of sigs) {
      for (const at of find(orig, new Uint8Array([...s].map((c) => c.charCodeAt(0))))) {
        spots.push([s.replace("\x89", ""), at]);
      }
    }
    const picked = spots.filter((_, i) => i % Math.max(1, Math.floor(spots.length / 10)) === 0);
    for (const [s, at] of picked.slice(0, 10)) {
      const b = orig.slice();
      b.fill(0, at, Math.min(b.length, at + 32));
      await add("zeroed", seed, `${s} at ${at}`, b, "equal-or-error");
    }
  }

  // Claimed-size bombs: dims (and sparse shape attributes) patched huge.
  const dims = { "csr.h5ad": [40, 12], "csr_gzip.h5ad": [40, 12], "dense.h5ad": [40, 12] };
  for (const seed of SEEDS.h5ad) {
    const orig = await Deno.readFile(`${seedDir}/${seed}`);
    const [r, c] = dims[seed as keyof typeof dims];
    const spots = [
      ...find(orig, u64(r, c)).map((at) => [at, "shape"] as const),
      ...find(orig, u64(r)).map((at) => [at, "n_obs"] as const),
      ...find(orig, u64(r + 1)).map((at) => [at, "indptr length"] as const),
    ];
    for (const [at, what] of spots.slice(0, 8)) {
      for (const huge of [2 ** 40, 2 ** 31 + 7]) {
        const b = orig.slice();
        b.set(u64(huge), at);
        await add("size-bomb", seed, `${what} at ${at} -> ${huge}`, b, "equal-or-error");
      }
    }
    // Chunk dimensions of chunked datasets (layout v3 class 2, rank + 1 dims).
    for (const at of find(orig, new Uint8Array([3, 2])).slice(0, 6)) {
      const nd = orig[at + 2];
      if (nd < 2 || nd > 3 || at + 11 + 4 * nd > orig.length) continue;
      const b = orig.slice();
      new DataView(b.buffer).setUint32(at + 11, 0x7fffffff, true);
      await add("size-bomb", seed, `chunk dim at ${at + 11}`, b, "equal-or-error");
    }
  }

  // Loops: an object header continuation (message 0x10) pointed at itself.
  for (const seed of SEEDS.h5ad) {
    const orig = await Deno.readFile(`${seedDir}/${seed}`);
    const hits = find(orig, new Uint8Array([0x10, 0, 0x10, 0, 0, 0, 0, 0]));
    for (const at of hits.filter((_, i) => i % 5 === 0).slice(0, 4)) {
      const b = orig.slice();
      b.set(u64(at), at + 8);
      await add("loop", seed, `continuation at ${at} into itself`, b, "equal-or-error");
    }
  }

  // Mislabelled suffixes: each seed's bytes under another format's suffix.
  for (
    const [seed, suffixes] of [
      ["csr.h5ad", [".png", ".csv", ".parquet"]],
      ["image.png", [".h5ad", ".csv", ".jpg"]],
      ["table.csv", [".h5ad", ".png", ".parquet"]],
    ] as const
  ) {
    const orig = await Deno.readFile(`${seedDir}/${seed}`);
    for (const s of suffixes) {
      // A CSV reader cannot tell binary from odd text: any outcome but a crash.
      await add("mislabelled", seed, `as ${s}`, orig, s === ".csv" ? "any" : "error", s);
    }
  }

  // Seeds damaged as written: a group cycle, a decompression bomb.
  for (const seed of SEEDS.bad) {
    await add(
      "written-bad",
      seed,
      "as written",
      await Deno.readFile(`${seedDir}/${seed}`),
      "error",
    );
  }

  // Zarr damage.
  for (const seed of SEEDS.zarr) {
    const files = await filesUnder(`${seedDir}/${seed}`);
    const chunks = files.filter((f) => /(^|\/)\d+(\.\d+)*$/.test(f));
    const metas = files.filter((f) => /\.z(array|attrs|group)$/.test(f));
    const arrays = files.filter((f) => f.endsWith(".zarray"));
    const addDir = async (
      cls: string,
      detail: string,
      expect: Expect,
      damage: (dir: string) => Promise<void>,
    ) => {
      const name = `${String(n++).padStart(4, "0")}.zarr`;
      const dir = `${outDir}/${name}`;
      await copyDir(`${seedDir}/${seed}`, dir);
      await damage(dir);
      cases.push({
        id: `${cls}/${seed}/${detail}`,
        cls,
        path: dir,
        key: `corpus/${name}`,
        seed,
        expect,
      });
    };
    const pick = <T>(xs: T[], k: number) => {
      const out: T[] = [];
      for (let i = 0; i < k && xs.length; i++) out.push(xs[int(xs.length)]);
      return [...new Set(out)];
    };
    for (const f of pick(chunks, 8)) {
      const size = (await Deno.stat(`${seedDir}/${seed}/${f}`)).size;
      await addDir("zarr-random-chunk", f, "equal-or-error", async (dir) => {
        const len = size + 1 + int(64);
        await Deno.writeFile(`${dir}/${f}`, Uint8Array.from({ length: len }, () => int(256)));
      });
    }
    for (const f of pick(chunks, 6)) {
      const size = (await Deno.stat(`${seedDir}/${seed}/${f}`)).size;
      const at = Math.max(0, Math.floor(size * rand()));
      await addDir("zarr-truncated-chunk", `${f} at ${at}`, "equal-or-error", async (dir) => {
        await Deno.truncate(`${dir}/${f}`, at);
      });
    }
    for (const f of pick(metas, 8)) {
      await addDir("zarr-bad-json", f, "equal-or-error", async (dir) => {
        const t = await Deno.readTextFile(`${dir}/${f}`);
        await Deno.writeTextFile(`${dir}/${f}`, t.slice(0, Math.floor(t.length / 2)) + "}{,");
      });
    }
    for (const f of pick(chunks, 4)) {
      // zarr defines a missing chunk as fill values: success is correct.
      await addDir("zarr-missing-chunk", f, "any", async (dir) => {
        await Deno.remove(`${dir}/${f}`);
      });
    }
    const patchArray =
      (f: string, fn: (m: Record<string, unknown>) => void) => async (d: string) => {
        const meta = JSON.parse(await Deno.readTextFile(`${d}/${f}`));
        fn(meta);
        await Deno.writeTextFile(`${d}/${f}`, JSON.stringify(meta));
      };
    for (const f of pick(arrays, 4)) {
      await addDir(
        "zarr-size-bomb",
        `${f} shape`,
        "equal-or-error",
        patchArray(f, (m) => {
          m.shape = (m.shape as number[]).map((_, i) => i === 0 ? 2 ** 40 : 2 ** 20);
        }),
      );
      await addDir(
        "zarr-size-bomb",
        `${f} chunks`,
        "equal-or-error",
        patchArray(f, (m) => {
          m.chunks = (m.chunks as number[]).map(() => 2 ** 30);
        }),
      );
      await addDir(
        "zarr-bad-meta",
        `${f} dtype`,
        "equal-or-error",
        patchArray(f, (m) => {
          // Another width: a patch to the same width (int64 -> float64) is
          // a reinterpretation no reader can detect.
          m.dtype = m.dtype === "<i2" ? "<f8" : "<i2";
        }),
      );
    }
    for (const f of pick(arrays.filter((a) => !a.includes("_index")), 2)) {
      await addDir(
        "zarr-bad-meta",
        `${f} compressor`,
        "equal-or-error",
        patchArray(f, (m) => {
          m.compressor = { id: "nosuchcodec" };
        }),
      );
    }
  }
  return cases;
}

if (import.meta.main) {
  const out = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "lamindeno-corpus-" });
  const seeds = `${out}/seeds`;
  await Deno.mkdir(seeds, { recursive: true });
  await writeSeeds(seeds);
  const cases = await makeCorpus(seeds, `${out}/cases`);
  const by = new Map<string, number>();
  for (const c of cases) by.set(c.cls, (by.get(c.cls) ?? 0) + 1);
  console.log(`${cases.length} cases in ${out}/cases:`, Object.fromEntries(by));
}
