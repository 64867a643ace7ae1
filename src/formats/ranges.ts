// Index ranges and arrays read by range: the vocabulary shared by the
// readers in formats/ (which read ranges) and the planner in query/ (which
// chooses them).
import type { Dtype, NumericArray } from "./anndata/matrix.ts";

/** A half-open index range `[start, end)`. */
export type Range = readonly [start: number, end: number];

/** Sorted unique indices as runs of consecutive values. */
export function runs(indices: ArrayLike<number>): Range[] {
  const out: [number, number][] = [];
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    const last = out[out.length - 1];
    if (last && v === last[1]) last[1] = v + 1;
    else if (last && v < last[1]) {
      throw new RangeError(`indices must be sorted and unique (got ${v} after ${last[1] - 1})`);
    } else out.push([v, v + 1]);
  }
  return out;
}

/**
 * Spans `[starts[k], ends[k])`, `k < n`, ascending and disjoint, in typed
 * arrays (no object per span: a selection has up to millions).
 */
export interface Spans {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly n: number;
}

/** Sorted unique indices as runs `[starts[k], ends[k])`, k < n, in typed arrays. */
export function spans(indices: ArrayLike<number>): Spans {
  const starts = new Float64Array(indices.length), ends = new Float64Array(indices.length);
  let n = 0;
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (n && v === ends[n - 1]) ends[n - 1] = v + 1;
    else if (n && v < ends[n - 1]) {
      throw new RangeError(`indices must be sorted and unique (got ${v} after ${ends[n - 1] - 1})`);
    } else {
      starts[n] = v;
      ends[n++] = v + 1;
    }
  }
  return { starts, ends, n };
}

/** Merge ranges (sorted by start) whose gap is at most `gap`. */
export function merge(ranges: readonly Range[], gap = 0): Range[] {
  const out: [number, number][] = [];
  for (const [s, e] of ranges) {
    if (e <= s) continue;
    const last = out[out.length - 1];
    if (last && s - last[1] <= gap) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Total length of ranges. */
export function total(ranges: readonly Range[]): number {
  let n = 0;
  for (const [s, e] of ranges) n += e - s;
  return n;
}

/**
 * Told parts of a read's result as they are final. `int32Below`: the parts
 * are int32 values that must lie in `[0, int32Below)` (sparse indices); a
 * reader that checked a part itself (on a decoding worker) calls `checked`
 * with it instead of the watch. `wide`: the same check for an array of
 * int64 or uint64 values (whose parts it is given instead). A store's
 * `read` does not call a watch with `int32Below` for an array of another
 * dtype (it calls `wide`, or nothing); a `RangeArray` does not look, so its
 * caller passes the one for the array's dtype.
 */
export type PartWatch = ((part: Uint8Array) => void) & {
  int32Below?: number;
  /** `wide`'s: the parts are int64 (or uint64) values that must lie in `[0, int64Below)`. */
  int64Below?: number;
  checked?: (part: Uint8Array) => void;
  wide?: PartWatch;
};

/**
 * The watch for an array of `dtype` (a numpy-style name: int32, int64,
 * uint64, ...) out of a sparse index watch: itself for int32, its `wide`
 * one for 64-bit integers, none for anything else.
 */
export function watchFor(watch: PartWatch | undefined, dtype: string): PartWatch | undefined {
  if (watch?.int32Below === undefined) return watch;
  return dtype === "int32"
    ? watch
    : dtype === "int64" || dtype === "uint64"
    ? watch.wide
    : undefined;
}

/**
 * Where a 1-D array lies, uncompressed and little-endian, in a local file:
 * chunks of `chunk` elements (one chunk when contiguous), each at its byte
 * address (-1: never written, zeros).
 */
export interface LocalExtent {
  readonly path: string;
  readonly itemsize: number;
  readonly chunk: number;
  readonly addresses: Float64Array;
  /** Told the bytes and reads a worker made of `path` (I/O counts); stays on this thread. */
  readonly counted?: (bytes: number, requests: number) => void;
}

/**
 * Where a 1-D array's chunks lie as local files, blosc- or zstd-compressed (a zarr
 * array in a local store): chunk `c` (`chunk` elements of `itemsize` bytes,
 * little-endian, the last one padded as zarr stores it) in `path(c)`.
 */
export interface LocalChunks {
  readonly itemsize: number;
  readonly chunk: number;
  /** The file of chunk `c`. */
  path?(c: number): string;
  /**
   * Where chunk `c` lies in a local file (an inner chunk of a zarr v3
   * shard), when chunks are not files of their own; null when it was
   * never written.
   */
  locate?(c: number): Promise<ChunkSpan | null | undefined>;
  /** Chunk `c`'s stored bytes; undefined when it was never written. */
  get(c: number): Promise<Uint8Array | undefined>;
  /** Told the bytes and reads a worker made of the files (I/O counts); stays on this thread. */
  readonly counted?: (bytes: number, requests: number) => void;
  /** The chunks are bare zstd frames (zarr v3's default compressor); else blosc. */
  readonly codec?: "zstd";
}

/** Bytes `offset..offset + size` of the local file `path` (an inner chunk of a zarr v3 shard). */
export interface ChunkSpan {
  path: string;
  offset: number;
  size: number;
}

/**
 * Chunks located in local files (see `LocalChunks.locate`) as the decoding
 * workers take them: each one's file, and its offset and size in `spans`
 * (an offset of -1: never written); undefined when one is not local.
 */
export function chunkPlaces(
  located: readonly (ChunkSpan | null | undefined)[],
): { paths: string[]; spans: number[] } | undefined {
  const paths: string[] = [], spans: number[] = [];
  for (const s of located) {
    if (s === undefined) return undefined;
    paths.push(s?.path ?? "");
    spans.push(s ? s.offset : -1, s ? s.size : 0);
  }
  return { paths, spans };
}

/** A 1-D or 2-D array that can read ranges along its first dimension. */
export interface RangeArray {
  /** The array's shape. */
  readonly shape: readonly number[];
  /** numpy-style dtype of the values. */
  readonly dtype: Dtype;
  /**
   * The values of `ranges` (rows for 2-D), concatenated in order. `watch`,
   * if the array can: called with parts of the result's bytes as they are
   * final, before the read resolves (parts never overlap, may cover less).
   */
  readRanges(
    ranges: readonly Range[],
    watch?: PartWatch,
  ): Promise<NumericArray>;
  /**
   * Optionally: `readRanges` of `[starts[k], ends[k])`, k < n, given as typed
   * arrays (ascending, disjoint), for selections of very many ranges;
   * `watch` as for `readRanges` (an array may ignore it).
   */
  readSpans?(
    starts: Float64Array,
    ends: Float64Array,
    n: number,
    watch?: PartWatch,
  ): Promise<NumericArray>;
  /**
   * Optionally, for arrays stored uncompressed (no chunk is read twice when
   * called block by block): `readSpans`' raw little-endian bytes written to
   * the start of `into` (long enough), reused by the caller.
   */
  readSpansInto?(
    starts: Float64Array,
    ends: Float64Array,
    n: number,
    into: Uint8Array,
  ): Promise<void>;
  /**
   * Optionally: where the array lies, uncompressed and little-endian, in a
   * local file (decoding workers may read it there themselves); undefined
   * when it does not.
   */
  localExtent?(): Promise<LocalExtent | undefined>;
  /**
   * Optionally, for a 1-D array of blosc-compressed chunks in local files:
   * where they are (decoding workers read and decode them themselves).
   */
  localChunks?(): LocalChunks | undefined;
  /**
   * Optionally: look up where all of the array's elements are stored (a
   * remote file's chunk index), reading none of them, so that a read
   * started later needs no round trips for that (kept by the reader).
   */
  prefetch?(): Promise<void>;
}
