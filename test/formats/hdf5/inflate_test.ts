// Native inflate (libdeflate through Deno's FFI: nativeInflate in
// src/_runtime.ts), which the HDF5 deflate filter uses where it can: the same
// bytes as node:zlib for every level and size, the same verdicts on damaged
// streams, and the reader's fallback to node:zlib giving identical arrays.
import { assert, assertEquals } from "../../_helpers.ts";
import { throws as assertThrowsRaw } from "node:assert/strict";
import { needsPython } from "../../_python.ts";
import { FILTER_ID, unfilter } from "../../../src/formats/hdf5/_filters.ts";
import { CorruptFileError } from "../../../mod.ts";
import { deflateRawSync, deflateSync, gzipSync, inflateSync } from "node:zlib";
import {
  INFLATE_BAD,
  INFLATE_BEYOND,
  nativeInflate,
  nativeInflateInfo,
} from "../../../src/_runtime.ts";

function assertThrows(f: () => unknown, Class: new (...a: never[]) => Error, part: string) {
  assertThrowsRaw(f, (e: unknown) => e instanceof Class && (e as Error).message.includes(part));
}

/** xorshift32: `int(a, b)` in [a, b). */
class Rng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed;
  }
  int(a: number, b: number): number {
    this.#x ^= this.#x << 13;
    this.#x ^= this.#x >>> 17;
    this.#x ^= this.#x << 5;
    return a + Math.floor(((this.#x >>> 0) / 2 ** 32) * (b - a));
  }
}

function libdeflateInstalled(): boolean {
  for (
    const dir of [
      "/lib/x86_64-linux-gnu",
      "/usr/lib/x86_64-linux-gnu",
      "/lib/aarch64-linux-gnu",
      "/usr/lib/aarch64-linux-gnu",
    ]
  ) {
    try {
      Deno.statSync(`${dir}/libdeflate.so.0`);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

Deno.test("nativeInflate is on where libdeflate is installed (CI installs it)", () => {
  const info = nativeInflateInfo();
  if (Deno.env.get("CI") || libdeflateInstalled()) assert(info.on, JSON.stringify(info));
  else assertEquals(info.on, false);
});

/** Bytes like a chunk of a float32 or int32 array: some runs, some noise. */
function sample(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  const kind = rng.int(0, 3);
  for (let i = 0; i < n; i++) {
    b[i] = kind === 0
      ? rng.int(0, 256)
      : kind === 1
      ? (i % 4 === 3 ? 0 : rng.int(0, 8))
      : (i >> 6) & 0xff;
  }
  return b;
}

Deno.test("nativeInflate: the bytes node:zlib gives, for every level and size; exact and short outputs", () => {
  if (!nativeInflateInfo().on) return;
  const rng = new Rng(14);
  for (let round = 0; round < 300; round++) {
    const n = [1, 2, 100, 4096, 78156, 300_001][round % 6];
    const data = sample(rng, n);
    const level = round % 10;
    const z = deflateSync(data, { level });
    const exact = new Uint8Array(n);
    assertEquals(nativeInflate(z, exact), n, `level ${level}, ${n} bytes`);
    assertEquals(exact, new Uint8Array(inflateSync(z)));
    // More room than needed: the length it inflated to.
    const roomy = new Uint8Array(n + 17);
    assertEquals(nativeInflate(z, roomy), n);
    // One byte short: beyond, never a partial result.
    if (n > 1) assertEquals(nativeInflate(z, new Uint8Array(n - 1)), INFLATE_BEYOND);
    const g = gzipSync(data, { level });
    const out = new Uint8Array(n);
    assertEquals(nativeInflate(g, out, "gzip"), n);
    assertEquals(out, data);
  }
});

Deno.test("nativeInflate: damaged streams are refused as node:zlib refuses them", () => {
  if (!nativeInflateInfo().on) return;
  const rng = new Rng(7);
  const data = sample(rng, 20_000);
  const z = deflateSync(data, { level: 4 });
  const out = new Uint8Array(data.length);
  // Checksum, header, truncation, a raw stream without the zlib wrapper, nothing at all.
  const adler = z.slice();
  adler[adler.length - 1] ^= 1;
  assertEquals(nativeInflate(adler, out), INFLATE_BAD);
  const header = z.slice();
  header[0] = 0x79;
  assertEquals(nativeInflate(header, out), INFLATE_BAD);
  assertEquals(nativeInflate(z.subarray(0, z.length - 9), out), INFLATE_BAD);
  assertEquals(nativeInflate(deflateRawSync(data), out), INFLATE_BAD);
  assertEquals(
    nativeInflate(z, new Uint8Array(0)),
    undefined,
    "nothing to inflate into: not native",
  );
  // Random damage: both agree on whether it inflates, and then on the bytes.
  let refused = 0;
  for (let round = 0; round < 2000; round++) {
    const bad = z.slice();
    for (let k = rng.int(1, 4); k > 0; k--) bad[rng.int(0, bad.length)] = rng.int(0, 256);
    const got = nativeInflate(bad, out);
    let want: Uint8Array | "refused";
    try {
      want = new Uint8Array(inflateSync(bad, { maxOutputLength: out.length }));
    } catch {
      want = "refused";
    }
    if (want === "refused") {
      assert(got === INFLATE_BAD || got === INFLATE_BEYOND, `round ${round}: ${got}`);
      refused++;
    } else {
      assertEquals(got, want.length, `round ${round}`);
      assertEquals(out.subarray(0, want.length), want);
    }
  }
  assert(refused > 1900, `${refused} of 2000 damaged streams refused`);
});

Deno.test("the deflate filter inflates with libdeflate, into the caller's scratch memory when given", () => {
  if (!nativeInflateInfo().on) return;
  const data = sample(new Rng(3), 78_156);
  const z = deflateSync(data, { level: 4 });
  const filters = [{ id: FILTER_ID.deflate, values: [4] }] as Parameters<typeof unfilter>[1];
  const ctx = { elem: 4, expected: data.length, where: "t.h5: /X/data", address: 4096 };
  const memory = new Uint8Array(100_000);
  const got = unfilter(z, filters, 0, { ...ctx, scratch: (n) => memory.subarray(0, n) });
  assertEquals(got, data);
  assert(got.buffer === memory.buffer, "inflated into the scratch memory (the native path)");
  assertEquals(unfilter(z, filters, 0, ctx), data);
  const bad = z.slice();
  bad[bad.length - 2] ^= 0x40;
  assertThrows(
    () => unfilter(bad, filters, 0, ctx),
    CorruptFileError,
    "at byte 4096 does not inflate",
  );
  assertThrows(
    () => unfilter(z, filters, 0, { ...ctx, expected: data.length - 4 }),
    CorruptFileError,
    "inflates beyond its declared size",
  );
});

Deno.test({
  name:
    "without libdeflate (LAMIN_LIBDEFLATE=0) the gzip, blosc and zarr zlib suites pass on node:zlib",
  ...needsPython("HDF5 reading", "h5py", "numpy"),
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "-A",
        ...["./parallel_test.ts", "../anndata/blosc_test.ts", "../anndata/write_test.ts"]
          .map((f) => new URL(f, import.meta.url).pathname),
      ],
      env: { LAMIN_LIBDEFLATE: "0", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.success, text);
    assert(/ok \| [1-9]\d* passed \| 0 failed/.test(text), text);
  },
});
