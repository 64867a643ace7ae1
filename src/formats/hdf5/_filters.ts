// The HDF5 filter pipeline on read: a registry of the filters the reader
// undoes, keyed by HDF5 filter id. What the reader can read is derived
// from it (READABLE_FILTERS), so the check done at open and the decoding
// cannot disagree.
import { inflateSync } from "node:zlib";
import { CorruptFileError, UnsupportedFormatError } from "../../errors.ts";
import { INFLATE_BEYOND, nativeInflate, nativeInflateInfo } from "../../_runtime.ts";
import type { Filter } from "./_parse.ts";
import { unshuffle as unshuffleBytes, wasmLzf, wasmLzfView } from "../_blosc.ts";

/** What a filter needs to undo itself on one chunk. */
export interface FilterContext {
  /** The filter's client data values (from the pipeline message). */
  values: number[];
  /** Bytes per element of the dataset. */
  elem: number;
  /** Bytes of the chunk once every filter is undone. */
  expected: number;
  /** The most bytes undoing this filter may give (`expected` plus checksums still to strip). */
  limit?: number;
  /** The file and dataset, for error messages: `"file.h5": /path`. */
  where: string;
  /** The chunk's address in the file, for error messages. */
  address: number;
  /**
   * Memory for a filter's output of `n` bytes, when the caller copies what
   * it keeps before the next chunk (a worker picking rows): default fresh.
   */
  scratch?: (n: number) => Uint8Array;
  /**
   * Only the chunk's first `want` bytes are read (rows picked out of it):
   * a pipeline of LZF alone stops decoding there (at least `want` bytes,
   * the rest unchecked); other filters decode the whole chunk.
   */
  want?: number;
}

/** A filter the reader can undo. */
export interface FilterCodec {
  /** HDF5's name for it. */
  name: string;
  /** The chunk's bytes as they were before the filter was applied. */
  decode(bytes: Uint8Array, ctx: FilterContext): Uint8Array;
}

/** HDF5 filter ids (H5Zpublic.h; 32000 is h5py's registered LZF). */
export const FILTER_ID = { deflate: 1, shuffle: 2, fletcher32: 3, lzf: 32000 } as const;

/** The filters the reader undoes, by HDF5 filter id. */
export const FILTERS: ReadonlyMap<number, FilterCodec> = new Map<number, FilterCodec>([
  [FILTER_ID.deflate, { name: "deflate", decode: inflate }],
  [FILTER_ID.shuffle, { name: "shuffle", decode: (b, c) => unshuffle(b, c.values[0] ?? c.elem) }],
  [FILTER_ID.fletcher32, { name: "fletcher32", decode: checkFletcher32 }],
  [FILTER_ID.lzf, {
    name: "lzf",
    decode: (b, c) => lzf(b, c),
  }],
]);

/** Ids of the filters the reader undoes (derived from {@linkcode FILTERS}). */
export const READABLE_FILTERS: ReadonlySet<number> = new Set(FILTERS.keys());

/**
 * Undo a chunk's filters (last applied first), skipping those its filter
 * mask says were not applied. No filter may give more than the chunk's
 * declared size (a decompression bomb stops there), and the result must be
 * exactly `expected` bytes: `CorruptFileError` otherwise.
 */
export function unfilter(
  bytes: Uint8Array,
  filters: Filter[],
  mask: number,
  ctx: Omit<FilterContext, "values">,
): Uint8Array {
  let b = bytes;
  // LZF alone can stop where the wanted bytes end (shuffle, deflate and
  // checksums need the whole chunk).
  const applied = filters.filter((_, i) => !(mask & (1 << i)));
  const want = ctx.want !== undefined && ctx.want < ctx.expected && applied.length === 1 &&
      applied[0].id === FILTER_ID.lzf
    ? ctx.want
    : undefined;
  for (let i = filters.length - 1; i >= 0; i--) {
    if (mask & (1 << i)) continue;
    const f = filters[i];
    const codec = FILTERS.get(f.id);
    if (!codec) {
      throw new UnsupportedFormatError(
        `${ctx.where}: HDF5 filter ${f.id} is not read by lamindeno's reader`,
      );
    }
    // Checksums applied before this filter are still in its output.
    let limit = ctx.expected;
    for (let k = 0; k < i; k++) {
      if (!(mask & (1 << k)) && filters[k].id === FILTER_ID.fletcher32) limit += 4;
    }
    b = codec.decode(b, { ...ctx, values: f.values, limit, want });
  }
  if (want !== undefined ? b.length < want : b.length !== ctx.expected) {
    throw new CorruptFileError(
      `${ctx.where}: the chunk at byte ${ctx.address} decodes to ${b.length} bytes, ` +
        `its declared size is ${ctx.expected}: the file is damaged; fetch or write it again`,
    );
  }
  return b;
}

/**
 * HDF5's Fletcher32 checksum (H5checksum.c): over the data as 16-bit
 * big-endian words (an odd last byte is the high byte of a word), both sums
 * starting at 0 and folded to 17 bits every 360 words, then to 16 bits.
 * The folds read their operands as uint32, as C's would.
 */
export function fletcher32(data: Uint8Array): number {
  let sum1 = 0, sum2 = 0;
  let i = 0;
  for (let words = data.length >> 1; words > 0;) {
    const stop = i + 2 * Math.min(words, 360);
    words -= (stop - i) >> 1;
    for (; i < stop; i += 2) {
      sum1 += (data[i] << 8) | data[i + 1];
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  if (data.length % 2) {
    sum1 += data[i] << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  return ((sum2 << 16) | sum1) >>> 0;
}

/**
 * The fletcher32 filter on read (H5Zfletcher32.c): the chunk ends with the
 * checksum of what precedes it (4 bytes, little-endian). Like the HDF5
 * library, also accepted with the bytes of each 16-bit half swapped (what
 * HDF5 before 1.6.3 wrote on little-endian machines).
 */
function checkFletcher32(b: Uint8Array, ctx: FilterContext): Uint8Array {
  if (b.length < 4) {
    throw new CorruptFileError(
      `${ctx.where}: the chunk at byte ${ctx.address} is too short to hold its Fletcher32 checksum (the file is damaged)`,
    );
  }
  const n = b.length - 4;
  const stored = (b[n] | (b[n + 1] << 8) | (b[n + 2] << 16) | (b[n + 3] << 24)) >>> 0;
  const sum = fletcher32(b.subarray(0, n));
  const swapped = (((sum & 0x00ff00ff) << 8) | ((sum >>> 8) & 0x00ff00ff)) >>> 0;
  if (stored !== sum && stored !== swapped) {
    throw new CorruptFileError(
      `${ctx.where}: the chunk at byte ${ctx.address} fails its Fletcher32 checksum ` +
        `(stored ${stored.toString(16)}, computed ${sum.toString(16)}): the file is damaged; ` +
        `fetch or write it again`,
    );
  }
  return b.subarray(0, n);
}

/**
 * Memory for a filter's `limit` bytes of output: the context's kept
 * scratch, unless the input is in it (a chunk with two compression
 * filters: the second reads what the first wrote there).
 */
function output(input: Uint8Array, limit: number, ctx: FilterContext): Uint8Array {
  const kept = ctx.scratch?.(limit);
  return kept && kept.buffer !== input.buffer ? kept : new Uint8Array(limit);
}

function inflate(b: Uint8Array, ctx: FilterContext): Uint8Array {
  const limit = ctx.limit ?? ctx.expected;
  // libdeflate where it can be used (1.5x node:zlib's rate), checksum checked.
  const into = limit > 0 && nativeInflateInfo().on ? output(b, limit, ctx) : undefined;
  const n = into && nativeInflate(b, into);
  if (n !== undefined && into) {
    if (n >= 0) return into.subarray(0, n);
    throw new CorruptFileError(
      n === INFLATE_BEYOND
        ? `${ctx.where}: the compressed chunk at byte ${ctx.address} inflates beyond its declared size (${limit} bytes): the file is damaged`
        : `${ctx.where}: the compressed chunk at byte ${ctx.address} does not inflate (bad deflate data or checksum): the file is damaged`,
    );
  }
  let out: Uint8Array;
  try {
    // One byte more than allowed: enough to tell a chunk that inflates
    // beyond its declared size, without inflating all of it.
    // One output buffer of that size (the default, 16 KiB pieces joined
    // at the end, costs ~10% more).
    out = inflateSync(b, { maxOutputLength: limit + 1, chunkSize: Math.max(64, limit + 1) });
  } catch (e) {
    const beyond = (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
    throw new CorruptFileError(
      beyond
        ? `${ctx.where}: the compressed chunk at byte ${ctx.address} inflates beyond its declared size (${limit} bytes): the file is damaged`
        : `${ctx.where}: the compressed chunk at byte ${ctx.address} does not inflate: ${
          (e as Error).message
        }`,
      { cause: e },
    );
  }
  if (out.length > limit) {
    throw new CorruptFileError(
      `${ctx.where}: the compressed chunk at byte ${ctx.address} inflates beyond its declared size (${limit} bytes): the file is damaged`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function lzf(b: Uint8Array, ctx: FilterContext): Uint8Array {
  const limit = ctx.limit ?? ctx.expected;
  const stop = Math.min(ctx.want ?? limit, limit);
  if (ctx.scratch && limit > 0) {
    // Transient output (valid until the next chunk): the bytes left where
    // the WebAssembly decoder wrote them, not copied into the scratch.
    const got = wasmLzfView(b, limit, stop);
    if (got === -1) throw new CorruptFileError(`${ctx.where}: an LZF-compressed chunk is damaged`);
    if (got) return got;
  }
  // In WebAssembly where it runs (~4x the TypeScript loop), else below.
  const into = output(b, limit, ctx);
  const n = limit > 0 ? wasmLzf(b, into, stop) : undefined;
  if (n === undefined) return lzfDecompress(b, limit, ctx.where, into, stop);
  if (n < 0) throw new CorruptFileError(`${ctx.where}: an LZF-compressed chunk is damaged`);
  return into.subarray(0, n);
}

/**
 * LZF (liblzf's format, as h5py's filter writes it: the compressed chunk,
 * no header). Literal runs (`ctrl < 32`: ctrl + 1 bytes follow) and back
 * references (length in the top 3 bits, plus a byte when 7; distance in the
 * low 5 bits and the next byte). Into `out` (at least `size` bytes) when
 * given: the view returned is of it. With `stop` < `size`, decoding ends
 * at the first token that reaches `stop` bytes.
 */
export function lzfDecompress(
  input: Uint8Array,
  size: number,
  where: string,
  out: Uint8Array = new Uint8Array(size),
  stop = size,
): Uint8Array {
  if (out.length < size) throw new RangeError(`lzfDecompress: ${out.length} bytes for ${size}`);
  let ip = 0, op = 0;
  const bad = () => new CorruptFileError(`${where}: an LZF-compressed chunk is damaged`);
  const end = stop < size ? stop : Infinity;
  while (ip < input.length && op < end) {
    let ctrl = input[ip++];
    if (ctrl < 32) {
      ctrl++;
      if (op + ctrl > size || ip + ctrl > input.length) throw bad();
      out.set(input.subarray(ip, ip + ctrl), op);
      ip += ctrl;
      op += ctrl;
    } else {
      let len = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (len === 7) {
        if (ip >= input.length) throw bad();
        len += input[ip++];
      }
      if (ip >= input.length) throw bad();
      ref -= input[ip++];
      len += 2;
      if (ref < 0 || op + len > size) throw bad();
      // Byte by byte: the reference may overlap what is being written.
      for (let k = 0; k < len; k++) out[op++] = out[ref++];
    }
  }
  return op === size ? out : out.subarray(0, op);
}

function unshuffle(b: Uint8Array, size: number): Uint8Array {
  // The same transform as blosc's byte shuffle over one block (leftover
  // bytes kept as they are): its word-at-a-time version.
  const out = new Uint8Array(b.length);
  if (size <= 1) out.set(b);
  else unshuffleBytes(size, b.length, b, out, 0);
  return out;
}
