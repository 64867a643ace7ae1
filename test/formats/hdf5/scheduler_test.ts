import { assert, assertEquals } from "../../_helpers.ts";
import { fetchPieces, type Piece } from "../../../src/formats/hdf5/_scheduler.ts";
import { type ByteReader, fileBytes, PageCache } from "../../../src/formats/hdf5/_bytes_io.ts";
import type { CostModel } from "../../../src/storage/cost_model.ts";

function rng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A remote-like reader over `bytes` (async reads only) that logs its requests. */
function remote(bytes: Uint8Array, log: [number, number][]): ByteReader {
  return {
    size: () => Promise.resolve(bytes.length),
    read(offset, length) {
      log.push([offset, offset + length]);
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
    readInto(offset, target) {
      log.push([offset, offset + target.length]);
      const part = bytes.subarray(offset, offset + target.length);
      target.set(part);
      return Promise.resolve(part.length);
    },
  };
}

Deno.test("pieces planned by a cost model land where they belong, cut across requests or not", async () => {
  const r = rng(11);
  const file = new Uint8Array(4 << 20).map((_, i) => (i * 7 + (i >> 9)) & 255);
  const models: CostModel[] = [
    { latencyMs: 0.002, bytesPerSec: 2e9, parallelism: 1 },
    { latencyMs: 20, bytesPerSec: 200e6, parallelism: 32 },
    { latencyMs: 1, bytesPerSec: 1e6, parallelism: 4, totalBytesPerSec: 4e6 },
  ];
  for (let t = 0; t < 60; t++) {
    const pieces: Piece[] = [];
    const expect: [Uint8Array, number][] = []; // (destination, offset in file)
    let into = 0;
    const n = 1 + Math.floor(r() * 80);
    for (let i = 0; i < n; i++) {
      const length = 1 + Math.floor(r() ** 2 * 200_000);
      const offset = Math.floor(r() * (file.length - length));
      if (r() < 0.3) {
        const target = new Uint8Array(length);
        pieces.push({ offset, length, into: 0, target });
        expect.push([target, offset]);
      } else {
        pieces.push({ offset, length, into });
        into += length;
      }
    }
    const out = new Uint8Array(into);
    const log: [number, number][] = [];
    const cost = models[t % models.length];
    await fetchPieces(remote(file, log), "test", pieces, out, { cost });
    for (const p of pieces) {
      const got = p.target ?? out.subarray(p.into, p.into + p.length);
      assertEquals(got, file.subarray(p.offset, p.offset + p.length), `piece at ${p.offset}`);
    }
    // Never more requests than pieces plus the parts long reads are cut into.
    assert(log.length <= n + cost.parallelism, `${log.length} requests for ${n} pieces`);
  }
});

Deno.test("long requests read through for scattered pieces are scattered as they arrive, none buffered whole", async () => {
  const r = rng(5);
  const file = new Uint8Array(6 << 20).map((_, i) => (i * 13 + (i >> 10)) & 255);
  for (let t = 0; t < 40; t++) {
    let largestRead = 0, streamed = 0;
    const src: ByteReader = {
      ...remote(file, []),
      read(offset, length) {
        largestRead = Math.max(largestRead, length);
        return Promise.resolve(file.slice(offset, offset + length));
      },
      async readChunks(offset, length, sink) {
        streamed++;
        const end = Math.min(file.length, offset + length);
        // Every other request fails part way once and is retried from its start.
        for (let retry = t % 2; retry >= 0; retry--) {
          const stop = retry ? offset + Math.floor(r() * (end - offset)) : end;
          for (let at = offset; at < stop;) {
            const n = Math.min(stop - at, 1 + Math.floor(r() * 70_000));
            sink(file.slice(at, at + n), at - offset);
            at += n;
            await Promise.resolve();
          }
        }
        return end - offset;
      },
    };
    const pieces: Piece[] = [];
    let into = 0;
    for (let i = 0; i < 200; i++) {
      const length = 1 + Math.floor(r() * 3000);
      const offset = Math.floor(r() * (file.length - length));
      if (r() < 0.2) pieces.push({ offset, length, into: 0, target: new Uint8Array(length) });
      else {
        pieces.push({ offset, length, into });
        into += length;
      }
    }
    const out = new Uint8Array(into);
    // A dear store: every gap is read through (a few long requests).
    await fetchPieces(src, "t", pieces, out, {
      cost: { latencyMs: 50, bytesPerSec: 1e9, parallelism: 2 },
    });
    for (const p of pieces) {
      const got = p.target ?? out.subarray(p.into, p.into + p.length);
      assertEquals(got, file.subarray(p.offset, p.offset + p.length), `piece at ${p.offset}`);
    }
    assert(streamed > 0 && largestRead <= 1 << 20, `${streamed} streamed, read ${largestRead}`);
  }
});

Deno.test("expensive requests read scattered pieces in few requests, cheap ones piece by piece", async () => {
  const file = new Uint8Array(2 << 20);
  const pieces = (): Piece[] =>
    Array.from({ length: 200 }, (_, i) => ({ offset: i * 10_000, length: 100, into: i * 100 }));
  const cheap: [number, number][] = [], dear: [number, number][] = [];
  await fetchPieces(remote(file, cheap), "t", pieces(), new Uint8Array(20_000), {
    cost: { latencyMs: 0.002, bytesPerSec: 2e9, parallelism: 1 },
  });
  await fetchPieces(remote(file, dear), "t", pieces(), new Uint8Array(20_000), {
    cost: { latencyMs: 20, bytesPerSec: 200e6, parallelism: 8 },
  });
  assertEquals(cheap.length, 200);
  assert(dear.length <= 8, `${dear.length} requests`);
});

Deno.test("metadata pages read ahead by blocks return the same bytes in fewer requests", async () => {
  const r = rng(5);
  const file = new Uint8Array(8 << 20).map((_, i) => (i * 13 + (i >> 11)) & 255);
  const lookups = Array.from({ length: 300 }, () => {
    // Clustered like metadata: most near a few places, some anywhere.
    const base = [0, 3 << 20, (8 << 20) - 70_000][Math.floor(r() * 3)];
    const offset = r() < 0.8
      ? base + Math.floor(r() * 60_000)
      : Math.floor(r() * ((8 << 20) - 10_000));
    return [offset, 1 + Math.floor(r() * 9_000)] as const;
  });
  const requests: number[] = [];
  for (const block of [4096, 64 << 10]) {
    const log: [number, number][] = [];
    const cache = new PageCache(remote(file, log), "test", block);
    cache.size = file.length;
    // In batches at once, as concurrent lookups of a file's objects are.
    for (let i = 0; i < lookups.length; i += 20) {
      const batch = lookups.slice(i, i + 20);
      const got = await Promise.all(batch.map(([o, n]) => cache.get(o, n)));
      batch.forEach(([o, n], k) => assertEquals(got[k], file.subarray(o, o + n), `bytes at ${o}`));
    }
    requests.push(log.length);
  }
  // (Blocks are capped at 1/256 of the file: 32 KiB here; the scattered 20% gain nothing.)
  assert(requests[1] < requests[0] * 0.8, `requests with 4 KiB pages / 64 KiB blocks: ${requests}`);
});

Deno.test("pieces of a local file land where they belong: alone, in windows, in place, or in their own targets", async () => {
  const r = rng(5);
  const dir = await Deno.makeTempDir({ prefix: "lamindeno-test-" });
  const file = new Uint8Array(3 << 20).map((_, i) => (i * 13 + (i >> 10)) & 255);
  await Deno.writeFile(`${dir}/f.bin`, file);
  const src = fileBytes(`${dir}/f.bin`);
  try {
    for (let t = 0; t < 80; t++) {
      // Pieces in file order (as a row selection makes them) or reversed,
      // from a few bytes apart (read as one window, in place when no piece
      // has its own target) to far apart, some past SYNC_READ.
      const pieces: Piece[] = [];
      let into = 0, at = Math.floor(r() * 1000);
      const gapMax = [16, 5_000, 40_000][t % 3];
      while (pieces.length < 200) {
        const length = 1 + Math.floor(r() ** 3 * (t % 7 === 0 ? 400_000 : 3_000));
        if (at + length > file.length) break;
        if (t % 2 && r() < 0.1) {
          pieces.push({ offset: at, length, into: 0, target: new Uint8Array(length) });
        } else {
          pieces.push({ offset: at, length, into: into + (r() < 0.2 ? 7 : 0) });
          into = pieces[pieces.length - 1].into + length;
        }
        at += length + Math.floor(r() * gapMax);
      }
      if (t % 4 === 3) pieces.reverse();
      const out = new Uint8Array(into + 5);
      await fetchPieces(src, "test", pieces, out, { gap: 256 });
      const want = new Uint8Array(out.length);
      for (const p of pieces) {
        const got = p.target ?? out.subarray(p.into, p.into + p.length);
        assertEquals(got, file.subarray(p.offset, p.offset + p.length), `piece at ${p.offset}`);
        if (!p.target) want.set(file.subarray(p.offset, p.offset + p.length), p.into);
      }
      // Bytes no piece writes stay zero.
      assertEquals(out, want, `selection ${t}`);
    }
  } finally {
    src.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("many concurrent reads of small remote pieces each land in their own output", async () => {
  // What a dataframe's categories, read at once from S3, look like to the
  // scheduler: a few small pieces per call, replies in random order.
  const size = 1 << 20, file = new Uint8Array(size);
  for (let i = 0; i < size; i++) file[i] = (i * 2654435761) >>> 24;
  const random = rng(7);
  const slow: ByteReader = {
    size: () => Promise.resolve(size),
    async read(offset, length) {
      await new Promise((r) => setTimeout(r, random() * 2));
      return file.slice(offset, Math.min(size, offset + length));
    },
  };
  const cost: CostModel = { latencyMs: 20, bytesPerSec: 100e6, parallelism: 8 };
  let checked = 0;
  for (let round = 0; round < 60; round++) {
    await Promise.all(Array.from({ length: 8 }, async (_, j) => {
      const pieces: Piece[] = [];
      let into = 0, at = Math.floor(random() * (size - 200_000));
      for (let k = 0; k < 1 + (j % 3); k++) {
        const length = 16 + Math.floor(random() * 300);
        pieces.push({ offset: at, length, into });
        into += length;
        at += length + 5_000 + Math.floor(random() * 40_000);
      }
      const out = new Uint8Array(into);
      await fetchPieces(slow, "x", pieces, out, round % 2 ? { cost } : {});
      for (const p of pieces) {
        assertEquals(
          out.subarray(p.into, p.into + p.length),
          file.subarray(p.offset, p.offset + p.length),
        );
        checked++;
      }
    }));
  }
  assertEquals(checked, 900);
});

Deno.test("concurrent reads of one remote file share its parallelism, smaller requests first", async () => {
  const size = 8 << 20, file = new Uint8Array(size).map((_, i) => (i * 31) & 255);
  let inFlight = 0, most = 0;
  const started: number[] = []; // lengths, in the order requests start
  const gate: (() => void)[] = [];
  const src: ByteReader = {
    size: () => Promise.resolve(size),
    async read(offset, length) {
      inFlight++;
      most = Math.max(most, inFlight);
      started.push(length);
      await new Promise<void>((r) => gate.push(r));
      inFlight--;
      return file.slice(offset, offset + length);
    },
  };
  // Replies one at a time, oldest first, while requests wait.
  let open = true;
  const pump = (async () => {
    while (open || gate.length) {
      await new Promise((r) => setTimeout(r, 1));
      gate.shift()?.();
    }
  })();
  const cost: CostModel = { latencyMs: 20, bytesPerSec: 100e6, parallelism: 4 };
  // Ten reads at once: five of one large piece, then five of a small one.
  const reads = [...Array(5).fill(1 << 20), ...Array(5).fill(1000)].map(async (length, i) => {
    const offset = i * (length + 7_000_00) % (size - length);
    const out = new Uint8Array(length);
    await fetchPieces(src, "x", [{ offset, length, into: 0 }], out, { cost });
    assertEquals(out, file.subarray(offset, offset + length));
  });
  await Promise.all(reads);
  open = false;
  await pump;
  assertEquals(most, 4, "never more requests in flight than the store's parallelism");
  // The first four take the free slots; of those waiting, the small ones go first.
  assertEquals(started.slice(4, 9), [1000, 1000, 1000, 1000, 1000]);
});
