// The byte ranges of a decoded chunk a read wants, concatenated: what a
// decoding worker sends back instead of the whole chunk (a scattered
// selection wants a tenth of each chunk; the rest is dropped where it was
// decoded, so the reading thread neither copies it nor collects it).
import { CorruptFileError } from "../../errors.ts";
import { bloscMost, wasmIndexOutside } from "../_blosc.ts";
import { outside32 } from "../anndata/matrix.ts";
import { outside64 } from "../_int64.ts";

/**
 * Ranges `[pick[2k], pick[2k + 1])` of `b`, ascending and disjoint, in one
 * new array; `b` itself when they cover it whole or `pick` is absent.
 */
export function picked(b: Uint8Array, pick?: ArrayLike<number>, where = "a chunk"): Uint8Array {
  if (!pick) return b;
  let total = 0;
  for (let k = 0; k < pick.length; k += 2) {
    const s = pick[k], e = pick[k + 1];
    if (!(s >= (k ? pick[k - 1] : 0) && e >= s && e <= b.length)) {
      throw new CorruptFileError(
        `${where}: bytes ${s}..${e} of a chunk of ${b.length} bytes are asked: the file is damaged`,
      );
    }
    total += e - s;
  }
  if (total === b.length) return b;
  const out = new Uint8Array(total);
  pickInto(b, pick, out, 0);
  return out;
}

/**
 * `picked(b, pick)` written into `out` from byte `at` (whose room for it is
 * checked); returns the byte after the last one written.
 */
export function pickInto(
  b: Uint8Array,
  pick: ArrayLike<number>,
  out: Uint8Array,
  at: number,
): number {
  let o = at;
  for (let k = 0; k < pick.length; k += 2) {
    const s = pick[k], e = pick[k + 1];
    if (!(s >= (k ? pick[k - 1] : 0) && e >= s && e <= b.length && o + e - s <= out.length)) {
      throw new CorruptFileError(
        `bytes ${s}..${e} of a chunk of ${b.length} bytes are asked: the file is damaged`,
      );
    }
    if (e - s <= 32) { for (let x = s; x < e; x++) out[o++] = b[x]; }
    else {
      out.set(b.subarray(s, e), o);
      o += e - s;
    }
  }
  return o;
}

/** The rows a read wants of one chunk: byte ranges of the chunk, and where they go. */
export interface PickBlock {
  /** Byte ranges of the decoded chunk, as `picked` takes them. */
  pick: number[];
  /** The output byte the first one goes to (the rest follow it). */
  at: number;
  /** Bytes picked in all. */
  length: number;
}

/**
 * Per chunk number, the rows of `ranges` (ascending, disjoint; rows of
 * `rowBytes` bytes, chunks of `extent` whole rows) that chunk holds: ranges
 * ascend, so a chunk's rows are one block of the output.
 */
export function pickBlocks(
  ranges: readonly (readonly [number, number])[],
  extent: number,
  rowBytes: number,
): Map<number, PickBlock> {
  const n = ranges.length, starts = new Float64Array(n), ends = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    starts[k] = ranges[k][0];
    ends[k] = ranges[k][1];
  }
  return pickSpanBlocks(starts, ends, n, extent, rowBytes);
}

/** {@linkcode pickBlocks} of the rows `[starts[k], ends[k])`, `k < n`. */
export function pickSpanBlocks(
  starts: Float64Array,
  ends: Float64Array,
  n: number,
  extent: number,
  rowBytes: number,
): Map<number, PickBlock> {
  const blocks = new Map<number, PickBlock>();
  let o = 0;
  // Ranges ascend: the chunk of the last one is the one most often asked again.
  let lastChunk = -1;
  let b: PickBlock = { pick: [], at: 0, length: 0 };
  for (let k = 0; k < n; k++) {
    const e = ends[k];
    for (let r = starts[k]; r < e;) {
      const c = Math.floor(r / extent), stop = Math.min(e, (c + 1) * extent);
      if (c !== lastChunk) {
        const got = blocks.get(c);
        if (got) b = got;
        else blocks.set(c, b = { pick: [], at: o, length: 0 });
        lastChunk = c;
      }
      const from = (r - c * extent) * rowBytes, to = (stop - c * extent) * rowBytes;
      const pick = b.pick;
      if (pick.length && pick[pick.length - 1] === from) pick[pick.length - 1] = to;
      else pick.push(from, to);
      b.length += to - from;
      o += (stop - r) * rowBytes;
      r = stop;
    }
  }
  return blocks;
}

/**
 * Throw `CorruptFileError` unless every int32 of `b` (little-endian, whole
 * words) lies in `[0, n)`: sparse indices checked where they are decoded.
 */
export function checkIndices(b: Uint8Array, n: number): void {
  // In the decoder's memory: checked there with SIMD; else here.
  const at = wasmIndexOutside(b, n) ?? outside32(
    b.byteOffset % 4 === 0
      ? new Int32Array(b.buffer, b.byteOffset, b.length >> 2)
      : new Int32Array(b.slice().buffer, 0, b.length >> 2),
    n,
  );
  if (at >= 0) {
    const j = new DataView(b.buffer, b.byteOffset + 4 * at, 4).getInt32(0, true);
    throw new CorruptFileError(`a sparse index (${j}) is outside 0..${n - 1}: the file is damaged`);
  }
}

/**
 * As {@linkcode checkIndices} for int64 (or uint64) sparse indices: each
 * in `[0, n)` (a uint64 past 2^63 is negative as int64, so outside too).
 */
export function checkIndices64(b: Uint8Array, n: number): void {
  const words = b.byteOffset % 8 === 0 ? b : b.slice();
  const a = new BigInt64Array(words.buffer, words.byteOffset, b.length >> 3);
  const at = outside64(a, n);
  if (at >= 0) {
    throw new CorruptFileError(
      `a sparse index (${a[at]}) is outside 0..${n - 1}: the file is damaged`,
    );
  }
}

/**
 * The most bytes a stored blosc chunk (or zstd frame) of `cap` decoded bytes
 * can take: its header, block offsets and uncompressible blocks stored as
 * they are.
 */
export function chunkFileMost(cap: number, codec?: "zstd"): number {
  // A zstd frame: its header (at most 18 bytes), the data as it is in
  // blocks (3 bytes of header each, at least a KB unless the last), its checksum.
  return codec === "zstd" ? cap + 3 * Math.ceil(cap / 1024) + 32 : bloscMost(cap);
}

/**
 * Refuse (`CorruptFileError`) a chunk file of `size` bytes larger than any
 * blosc chunk (zstd frame) of `cap` decoded bytes can be (its header, block
 * offsets and uncompressible blocks stored as they are), before it is read
 * whole.
 */
export function chunkFileFits(path: string, size: number, cap: number, codec?: "zstd"): void {
  if (size > chunkFileMost(cap, codec)) {
    throw new CorruptFileError(
      `the chunk ${path} is ${size} bytes, more than a ${
        codec ?? "blosc"
      } chunk of ${cap} bytes can be`,
    );
  }
}
