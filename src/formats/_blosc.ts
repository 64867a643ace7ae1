// A blosc (version 1 format, as numcodecs and zarr v2 write it) chunk
// decoder: LZ4 chunks in WebAssembly with SIMD (_wasm/blosc_lz4.c, 3-4x the
// TypeScript below), else in plain TypeScript: LZ4 and BloscLZ blocks, zlib
// blocks through node:zlib, byte shuffle undone in words. It writes into one output buffer
// of the chunk's declared size (checked against a cap first: no allocation
// bomb) and needs no wasm heap, so chunks can be decoded on the worker pool
// (src/formats/hdf5/_unfilter_pool.ts). Chunks it does not decode (zstd,
// snappy, bit shuffle, newer blosc formats) are left to numcodecs' decoder:
// `decodeBlosc` returns null for them.
import { inflateSync } from "node:zlib";
import { nativeInflate } from "../_runtime.ts";
import { CorruptFileError } from "../errors.ts";
import { WASM_BASE64 } from "./_wasm/blosc_lz4.wasm.ts";

const HEADER = 16;
const SHUFFLE = 0x1, MEMCPYED = 0x2, BITSHUFFLE = 0x4, DONT_SPLIT = 0x10;
const BLOSCLZ = 0, LZ4 = 1, ZLIB = 3, ZSTD = 4;
/** Blosc's split rule: blocks split into `typesize` streams when these hold. */
const MAX_SPLITS = 16, MIN_BUFFERSIZE = 128;

function corrupt(what: string): never {
  throw new CorruptFileError(`the blosc chunk is damaged: ${what}`);
}

/** Blosc's header of `src`: sizes and flags, checked against `cap`. */
export function bloscHeader(src: Uint8Array, cap: number) {
  if (src.length < HEADER) corrupt(`${src.length} bytes, shorter than its header`);
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const nbytes = v.getUint32(4, true), blocksize = v.getUint32(8, true);
  const cbytes = v.getUint32(12, true);
  if (cbytes !== src.length) corrupt(`it says it is ${cbytes} bytes, it is ${src.length}`);
  if (nbytes > cap) corrupt(`it claims ${nbytes} bytes, beyond its declared size (${cap})`);
  return { version: src[0], flags: src[2], typesize: src[3], nbytes, blocksize, view: v };
}

/**
 * Whether `decodeBlosc` decodes `src` (its codec and filter, from the
 * header; a header too short to tell is left to `decodeBlosc` to reject).
 */
export function bloscDecodable(src: Uint8Array): boolean {
  if (src.length < HEADER) return true;
  const version = src[0], flags = src[2], typesize = src[3], format = flags >> 5;
  if (version < 1 || version > 2) return false;
  if (flags & MEMCPYED) return true;
  const shuffled = (flags & SHUFFLE) !== 0 && typesize > 1;
  // Bit shuffle applies when byte shuffle does not (as in blosc_d).
  if (flags & BITSHUFFLE && !shuffled) return false;
  // zstd streams: by the WebAssembly decoder only (numcodecs' otherwise).
  return format === BLOSCLZ || format === LZ4 || format === ZLIB ||
    (format === ZSTD && wasmDecoder() !== null);
}

/**
 * The bytes of the blosc chunk `src` (at most `cap` of them), or null when
 * it uses a codec or filter this decoder does not handle. A damaged chunk
 * (sizes out of bounds, a block that decodes to the wrong size) throws
 * `CorruptFileError`. `transient`: the bytes may be a view of memory the
 * next call reuses (no fresh memory to fault in, no copy out of the wasm
 * decoder's memory), for a caller that copies what it needs at once;
 * `{ slot, room }` (slot 0 or 1): as transient, but the bytes stay until
 * the next decode into the same slot (two chunks at hand, one of each of
 * two arrays), both slots laid out for chunks of `room` bytes (the larger
 * cap of the two arrays; see `bloscInputMemory`, which grows the memory
 * for them first: growing detaches the bytes of the other slot).
 * `want` (with `transient` only): byte ranges `[want[2k], want[2k + 1])`,
 * ascending, the caller reads alone; blosc blocks none of them touches may
 * be left undecoded (their bytes are then whatever the memory held): a
 * few rows of a chunk decode one block of it, not every one.
 */
export function decodeBlosc(
  src: Uint8Array,
  cap: number,
  transient: boolean | { slot: 0 | 1; room: number } = false,
  want?: ArrayLike<number>,
): Uint8Array | null {
  const { flags, typesize, nbytes, blocksize, view } = bloscHeader(src, cap);
  if (!bloscDecodable(src)) return null;
  const format = flags >> 5;
  const shuffled = (flags & SHUFFLE) !== 0 && typesize > 1;
  // The blocks `want` needs, each read no further than where its bytes end.
  const blocks = transient !== false && want ? bloscBlocksWanted(src, want) : undefined;
  if ((format === LZ4 || format === ZSTD) && !(flags & MEMCPYED) && nbytes > 0) {
    const got = wasmDecode(src, nbytes, blocksize, typesize, flags, transient, cap, blocks);
    if (got) return got;
    if (format === ZSTD) return null; // numcodecs' blosc decodes it (wasm unavailable, too large)
  }
  // A slot's bytes outlive the other slot's decode: fresh memory here.
  if (typeof transient === "object") transient = false;
  // Every byte of the output is written below (plain copy, or every block).
  const out = transient ? keptOf(nbytes).subarray(0, nbytes) : new Uint8Array(nbytes);
  if (nbytes === 0) return out;
  if (flags & MEMCPYED) {
    if (HEADER + nbytes > src.length) corrupt(`${nbytes} bytes stored plain in ${src.length}`);
    out.set(src.subarray(HEADER, HEADER + nbytes));
    return out;
  }
  if (typesize < 1) corrupt("a type size of 0");
  if (blocksize < 1 || blocksize > nbytes) corrupt(`a block size of ${blocksize}`);
  const nblocks = Math.ceil(nbytes / blocksize);
  const starts = HEADER + 4 * nblocks;
  if (starts > src.length) corrupt(`${nblocks} blocks in ${src.length} bytes`);
  const tmp = shuffled ? scratchOf(blocksize) : undefined;
  const limits = blocks && new Float64Array(nblocks); // 0: a block not wanted
  for (let k = 0; blocks && k < blocks.length; k += 3) limits![blocks[k]] = blocks[k + 1];
  for (let b = 0; b < nblocks; b++) {
    if (limits && !limits[b]) continue;
    const limit = limits ? limits[b] : src.length;
    const leftover = b === nblocks - 1 && nbytes % blocksize !== 0;
    const bsize = leftover ? nbytes % blocksize : blocksize;
    const dest = b * blocksize;
    let ip = view.getInt32(HEADER + 4 * b, true);
    if (ip < starts || ip >= src.length) corrupt(`block ${b} starts at ${ip}`);
    const split = !(flags & DONT_SPLIT) && typesize <= MAX_SPLITS &&
      Math.floor(bsize / typesize) >= MIN_BUFFERSIZE && !leftover;
    const nsplits = split ? typesize : 1;
    // Blosc's blocks split evenly; a remainder would be left unwritten.
    if (bsize % nsplits !== 0) corrupt(`block ${b} of ${bsize} bytes in ${nsplits} streams`);
    const neblock = bsize / nsplits;
    // Into the output directly when there is no shuffle to undo.
    const into = tmp ?? out;
    let op = tmp ? 0 : dest;
    for (let s = 0; s < nsplits; s++) {
      if (ip + 4 > limit) corrupt(`block ${b} runs past the end`);
      const cb = view.getInt32(ip, true);
      ip += 4;
      if (cb < 0 || ip + cb > limit) corrupt(`block ${b} claims ${cb} bytes`);
      const part = src.subarray(ip, ip + cb);
      if (cb === neblock) into.set(part, op);
      else {
        const got = format === LZ4
          ? lz4Block(part, into, op, op + neblock)
          : format === BLOSCLZ
          ? bloscLZBlock(part, into, op, op + neblock)
          : zlibBlock(part, into, op, neblock);
        if (got !== neblock) corrupt(`block ${b} decodes to ${got} bytes, not ${neblock}`);
      }
      ip += cb;
      op += neblock;
    }
    if (tmp) unshuffle(typesize, bsize, tmp, out, dest);
  }
  return out;
}

/** The decoder of _wasm/blosc_lz4.c, instantiated on first use (null: unavailable). */
let wasm:
  | {
    memory: WebAssembly.Memory;
    decode: (...a: number[]) => number;
    decodeBlock: (...a: number[]) => number;
    error: () => number;
    below: (p: number, n: number, bound: number) => number;
    zstd: (src: number, srcLen: number, out: number, cap: number) => number;
    lzf: (ip: number, inLen: number, op: number, outLen: number, stop: number) => number;
    heap: number;
  }
  | null
  | undefined;
/** Wasm memory past which a chunk is decoded in TypeScript (the memory never shrinks). */
const WASM_MAX = 256 << 20;
/** Bytes past each stream the wasm decoder may write over (SLACK in blosc_lz4.c). */
const SLACK = 64;

/** Whether a trap of the wasm decoder is thrown rather than left to the TypeScript one. */
let strictWasm = false;

/**
 * Turn the WebAssembly decoder off (tests compare the two decoders) or back
 * on; `strict`: its traps are thrown (tests), not answered by the TypeScript decoder.
 */
export function useBloscWasm(on: boolean, strict = false): void {
  wasmOff = !on;
  strictWasm = strict;
}
let wasmOff = false;

function wasmDecoder() {
  if (wasmOff) return null;
  if (wasm !== undefined) return wasm;
  try {
    const bytes = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    wasm = {
      memory: e.memory as WebAssembly.Memory,
      decode: e.decode as (...a: number[]) => number,
      decodeBlock: e.decode_block as (...a: number[]) => number,
      error: e.error as () => number,
      below: e.below as (p: number, n: number, bound: number) => number,
      zstd: e.zstd as (src: number, srcLen: number, out: number, cap: number) => number,
      lzf: e.lzf as (
        ip: number,
        inLen: number,
        op: number,
        outLen: number,
        stop: number,
      ) => number,
      heap: (e.heap as () => number)(),
    };
  } catch {
    wasm = null; // a runtime without wasm SIMD: the TypeScript decoder
  }
  return wasm;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * The decoder's memory, grown to at least `end` bytes, with `src` copied in
 * at `at` unless it is there already (see {@linkcode bloscInputMemory}).
 */
function wasmInput(
  w: { memory: WebAssembly.Memory },
  src: Uint8Array,
  at: number,
  end: number,
): Uint8Array {
  const inPlace = src.buffer === w.memory.buffer && src.byteOffset === at;
  const have = w.memory.buffer.byteLength;
  if (end > have) w.memory.grow(Math.ceil((end - have) / 65536));
  const mem = new Uint8Array(w.memory.buffer);
  if (!inPlace) mem.set(src, at);
  return mem;
}

/**
 * Where a decode of `src` into `nbytes` bytes (through `tmp` bytes of
 * scratch) lies in the decoder's memory, `src` copied in unless it is
 * there already: after the input, or in slot `transient.slot` of outputs
 * of at most `transient.room` bytes (`cap` at least). Null when it does not
 * fit, or when growing the memory would move input read into it.
 */
function wasmPlace(
  w: NonNullable<typeof wasm>,
  src: Uint8Array,
  nbytes: number,
  tmp: number,
  transient: boolean | { slot: 0 | 1; room: number },
  cap: number,
): { mem: Uint8Array; at: number; outAt: number; tmpAt: number } | null {
  const slot = typeof transient === "object" ? transient.slot : undefined;
  const room = typeof transient === "object" ? Math.max(transient.room, cap) : cap;
  if (slot !== undefined && !(src.length <= bloscMost(room) + 1 && nbytes <= room)) return null;
  const at = align16(w.heap);
  const outAt = slot === undefined ? align16(at + src.length) : slotAt(at, room, slot);
  const tmpAt = slot === undefined ? align16(outAt + nbytes + SLACK) : slotAt(at, room, 2);
  const end = tmpAt + tmp + SLACK;
  if (end > WASM_MAX) return null;
  // Input read into this memory (bloscInputMemory) stays valid only if it does not grow.
  const inPlace = src.buffer === w.memory.buffer && src.byteOffset === at;
  if (inPlace && end > w.memory.buffer.byteLength) return null;
  return { mem: wasmInput(w, src, at, end), at, outAt, tmpAt };
}

/**
 * Memory to read a stored blosc chunk of at most `size` bytes into, for
 * {@linkcode decodeBlosc} (`cap` as given to it) to decode where it lies,
 * without copying it into the WebAssembly decoder's memory first: a view
 * of that memory, already grown for the decoding (growing would detach the
 * view). Null when the decoder is unavailable or the chunk too large for it.
 * Valid until the next decode.
 */
export function bloscInputMemory(size: number, cap: number): Uint8Array | null {
  const w = wasmDecoder();
  if (!w || !(size >= 0 && cap >= 0)) return null;
  // As wasmDecode lays it out: input, output (<= cap), a block (<= cap);
  // or, decoding into a slot, input (<= bloscMost(cap) + 1), two slots, a block.
  const at = align16(w.heap);
  const end = Math.max(
    align16(align16(at + size) + cap + SLACK) + cap + SLACK,
    size <= bloscMost(cap) + 1 ? slotAt(at, cap, 2) + cap + SLACK : 0,
  );
  if (end > WASM_MAX) return null;
  const have = w.memory.buffer.byteLength;
  if (end > have) w.memory.grow(Math.ceil((end - have) / 65536));
  return new Uint8Array(w.memory.buffer, at, size);
}

/**
 * The most bytes a stored blosc chunk of `cap` decoded bytes can take: its
 * header, block offsets and uncompressible blocks stored as they are.
 */
export function bloscMost(cap: number): number {
  return cap + Math.ceil(cap / 8) + 65_536;
}

/** Where slot `k` of decoders' outputs of at most `cap` bytes starts, the input at `at` (k = 2: past both). */
function slotAt(at: number, cap: number, k: number): number {
  return align16(at + bloscMost(cap) + 1 + SLACK) + k * align16(cap + SLACK);
}

/**
 * The blosc blocks of a chunk that the byte ranges `want` (ascending) of its
 * decoded bytes touch, as triples `[b, end, upto, ...]`: the block, where
 * its stored bytes end (the next block's start above its own, or the
 * chunk's end: blocks may be stored out of order), and how many of its
 * decoded bytes are wanted from its start (0: all; a row early in a block
 * needs its streams decoded only that far). `head`: the chunk's first
 * bytes, its header and block starts at least. Undefined (decode every
 * block whole) when `want` is not ranges inside the chunk or wants all of
 * it, or the chunk is stored plain or its block starts are not all in
 * `head` and in bounds.
 */
export function bloscBlocksWanted(
  head: Uint8Array,
  want: ArrayLike<number>,
): number[] | undefined {
  if (head.length < HEADER) return undefined;
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const nbytes = v.getUint32(4, true), blocksize = v.getUint32(8, true);
  const cbytes = v.getUint32(12, true);
  if (head[2] & MEMCPYED || !(blocksize >= 1 && blocksize <= nbytes)) return undefined;
  const nblocks = Math.ceil(nbytes / blocksize), first = HEADER + 4 * nblocks;
  if (first > head.length) return undefined;
  // Per block, 1 + the end of what is wanted of it (0: nothing).
  const wanted = new Float64Array(nblocks);
  let count = 0, partial = false;
  for (let k = 0; k < want.length; k += 2) {
    const s = want[k], e = want[k + 1];
    if (!(s >= (k ? want[k - 1] : 0) && e >= s && e <= nbytes)) return undefined;
    for (let b = Math.floor(s / blocksize); b * blocksize < e; b++) {
      if (!wanted[b]) count++;
      const upto = Math.min(e - b * blocksize, blocksize, nbytes - b * blocksize);
      wanted[b] = Math.max(wanted[b], 1 + upto);
    }
  }
  for (let b = 0; b < nblocks; b++) {
    const size = Math.min(blocksize, nbytes - b * blocksize);
    if (wanted[b] && wanted[b] - 1 < size) partial = true;
  }
  if (count === nblocks && !partial) return undefined;
  const starts = Array.from({ length: nblocks }, (_, b) => v.getUint32(HEADER + 4 * b, true));
  if (starts.some((at) => at < first || at >= cbytes)) return undefined;
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  const out: number[] = [];
  for (let b = 0; b < nblocks; b++) {
    if (!wanted[b]) continue;
    const next = sorted.find((at) => at > starts[b]);
    const size = Math.min(blocksize, nbytes - b * blocksize), upto = wanted[b] - 1;
    out.push(b, next ?? cbytes, upto < size ? upto : 0);
  }
  return out;
}

/**
 * The LZ4 chunk `src` (header checked against its cap) decoded in
 * WebAssembly: a view of the decoder's memory when `transient` (in its
 * slot, if given, of outputs of at most `cap` bytes), else a copy; null
 * when the decoder is unavailable or the chunk too large for it.
 */
function wasmDecode(
  src: Uint8Array,
  nbytes: number,
  blocksize: number,
  typesize: number,
  flags: number,
  transient: boolean | { slot: 0 | 1; room: number },
  cap: number,
  blocks?: number[],
): Uint8Array | null {
  const w = wasmDecoder();
  if (!w) return null;
  const nblocks = Math.ceil(nbytes / blocksize);
  if (typesize < 1 || blocksize < 1 || blocksize > nbytes || 16 + 4 * nblocks > src.length) {
    return null; // rejected with its reason by the TypeScript decoder
  }
  if (src.length + nbytes + blocksize > WASM_MAX) return null;
  const place = wasmPlace(w, src, nbytes, blocksize, transient, cap);
  if (!place) return null;
  const { mem, at, outAt, tmpAt } = place;
  let r = 0;
  try {
    if (!blocks) r = w.decode(at, src.length, outAt, nbytes, blocksize, typesize, flags, tmpAt);
    // A wanted block read no further than where its bytes end (`srcLen`), and
    // decoded as far as what is wanted of it needs.
    for (let k = 0; blocks && k < blocks.length && r === 0; k += 3) {
      r = w.decodeBlock(
        at,
        blocks[k + 1],
        outAt,
        nbytes,
        blocksize,
        typesize,
        flags,
        tmpAt,
        blocks[k],
        blocks[k + 2],
      );
    }
  } catch (e) {
    // A trap would be a fault of this decoder, not of the chunk: the
    // TypeScript decoder gives the answer.
    if (e instanceof WebAssembly.RuntimeError && !strictWasm) return null;
    throw e;
  }
  if (r !== 0) {
    const e = w.error(), b = Math.floor(e / 8), kind = e % 8;
    const start = new DataView(src.buffer, src.byteOffset).getInt32(HEADER + 4 * b, true);
    corrupt(
      kind === 1
        ? `block ${b} starts at ${start}`
        : kind === 2
        ? `block ${b} claims more bytes than the chunk holds`
        : kind === 4
        ? `block ${b} does not split evenly into its streams`
        : kind === 5
        ? `block ${b} is not a valid zstd stream of its size`
        : `block ${b} is not a valid LZ4 stream of its size`,
    );
  }
  const view = mem.subarray(outAt, outAt + nbytes);
  return transient !== false ? view : view.slice();
}

/** What the WebAssembly zstd decoder's error codes say is wrong (ZE_ in zstd_frame.c). */
const ZSTD_ERRORS: Record<number, string> = {
  [-1]: "its frame header is not valid",
  [-2]: "a block's header, size or type is not valid",
  [-3]: "its literals section is not valid",
  [-4]: "a Huffman table or stream is not valid",
  [-5]: "an FSE table description is not valid",
  [-6]: "its sequences are not valid",
  [-7]: "a match reaches before the start of the chunk",
  [-8]: "it does not decode to the size its header says",
};

/**
 * The zstd frame `src` decoded in WebAssembly (zstd_frame.c) to exactly
 * `size` bytes (the size its header declares, checked against the chunk's
 * by the caller): a view of the decoder's memory when `transient` (in its
 * slot, if given, of outputs of at most `room` bytes), else a copy. Null
 * when the decoder is unavailable, the frame too large for it, or of a
 * kind it leaves to numcodecs (a dictionary, more than one frame);
 * `CorruptFileError` when the frame is damaged.
 */
export function decodeZstdWasm(
  src: Uint8Array,
  size: number,
  transient: boolean | { slot: 0 | 1; room: number } = false,
): Uint8Array | null {
  const w = wasmDecoder();
  if (!w) return null;
  const place = wasmPlace(w, src, size, 0, transient, size);
  if (!place) return null;
  const { mem, at, outAt } = place;
  let r: number;
  try {
    r = w.zstd(at, src.length, outAt, size);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError && !strictWasm) return null;
    throw e;
  }
  if (r === -9) return null;
  if (r < 0 || r !== size) {
    throw new CorruptFileError(
      `the zstd chunk is damaged: ${ZSTD_ERRORS[r] ?? ZSTD_ERRORS[-8]}`,
    );
  }
  const view = mem.subarray(outAt, outAt + size);
  return transient !== false ? view : view.slice();
}

/**
 * For `b`, a view of the WebAssembly decoder's memory (a chunk
 * `decodeBlosc` decoded with `transient`) holding int32 values: the index
 * of the first outside `[0, bound)`, or -1, checked with SIMD there.
 * Undefined for any other view (check it in TypeScript).
 */
export function wasmIndexOutside(b: Uint8Array, bound: number): number | undefined {
  const w = wasm;
  if (!w || b.buffer !== w.memory.buffer || b.length % 4 !== 0) return undefined;
  if (!(Number.isInteger(bound) && bound >= 0 && bound <= 0x7fffffff)) return undefined;
  return w.below(b.byteOffset, b.length / 4, bound);
}

/** Int32 values copied into the decoder's memory at a time by {@linkcode wasmOutside32}. */
const CHECK_BLOCK = 1 << 18;

/**
 * The index of the first of the int32 values `a` outside `[0, bound)`, or
 * -1, checked with SIMD in the WebAssembly decoder's memory (copied in
 * blocks of 1 MiB: ~0.4 ns a value against ~1.5 in a TypeScript loop);
 * undefined when the decoder is unavailable or the bound is not an int32
 * (check it in TypeScript). Synchronous: the decoder's memory is its own
 * until it returns, as for any decode.
 */
export function wasmOutside32(a: Int32Array, bound: number): number | undefined {
  const w = wasmDecoder();
  if (!w || !(Number.isInteger(bound) && bound >= 0 && bound <= 0x7fffffff)) return undefined;
  const at = align16(w.heap);
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let s = 0; s < a.length; s += CHECK_BLOCK) {
    const n = Math.min(CHECK_BLOCK, a.length - s);
    wasmInput(w, bytes.subarray(4 * s, 4 * (s + n)), at, at + 4 * n);
    const k = w.below(at, n, bound);
    if (k >= 0) return s + k;
  }
  return -1;
}

/**
 * h5py's LZF chunk `src` decoded in WebAssembly into `out` (at most its
 * length; with `stop` below it, ending at the first token that reaches
 * `stop` bytes): the bytes written, -1 when the chunk is damaged,
 * undefined when the decoder is unavailable or the chunk too large for it
 * (decode it in TypeScript then: `lzfDecompress` in hdf5/_filters.ts).
 */
export function wasmLzf(
  src: Uint8Array,
  out: Uint8Array,
  stop = out.length,
): number | undefined {
  const got = wasmLzfView(src, out.length, stop);
  if (typeof got !== "object") return got;
  out.set(got);
  return got.length;
}

/**
 * As {@linkcode wasmLzf}, the decoded bytes left in the decoder's memory:
 * a view of it (valid until its next decode), -1 when the chunk is
 * damaged, undefined when the decoder is unavailable or the chunk too
 * large for it. `size`: the most bytes the chunk may decode to.
 */
export function wasmLzfView(
  src: Uint8Array,
  size: number,
  stop = size,
): Uint8Array | -1 | undefined {
  const w = wasmDecoder();
  if (!w) return undefined;
  // The decoder may read 16 bytes past the input and write SLACK past the output.
  const at = align16(w.heap), outAt = align16(at + src.length + 16);
  const end = outAt + size + SLACK;
  if (end > WASM_MAX) return undefined;
  const mem = wasmInput(w, src, at, end);
  let n: number;
  try {
    n = w.lzf(at, src.length, outAt, size, Math.min(stop, size));
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError && !strictWasm) return undefined;
    throw e;
  }
  return n < 0 ? -1 : mem.subarray(outAt, outAt + n);
}

/** The block buffer, kept between chunks up to 8 MiB (fresh memory costs its page faults). */
let scratch: Uint8Array | undefined;
function scratchOf(size: number): Uint8Array {
  if (scratch && scratch.length >= size) return scratch;
  const b = new Uint8Array(size);
  if (size <= 8 << 20) scratch = b;
  return b;
}

/** The output of a transient decode, kept between chunks up to 16 MiB. */
let kept: Uint8Array | undefined;
function keptOf(size: number): Uint8Array {
  if (kept && kept.length >= size) return kept;
  const b = new Uint8Array(size);
  if (size <= 16 << 20) kept = b;
  return b;
}

/** Decode the LZ4 block `src` into `out` from `op` (up to `end`); its size. */
export function lz4Block(src: Uint8Array, out: Uint8Array, op: number, end: number): number {
  const start = op, n = src.length;
  let ip = 0;
  while (ip < n) {
    const token = src[ip++];
    let lit = token >>> 4;
    if (lit === 15) {
      let c = 255;
      while (c === 255) {
        if (ip >= n) corrupt("an LZ4 literal length runs past the end");
        c = src[ip++];
        lit += c;
      }
    }
    if (ip + lit > n || op + lit > end) corrupt("LZ4 literals run past the block");
    if (lit > 16) out.set(src.subarray(ip, ip + lit), op);
    else for (let k = 0; k < lit; k++) out[op + k] = src[ip + k];
    ip += lit;
    op += lit;
    if (ip >= n) break; // the last sequence has literals only
    if (ip + 2 > n) corrupt("an LZ4 match offset runs past the end");
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op - start) corrupt(`an LZ4 match offset of ${offset}`);
    let len = token & 15;
    if (len === 15) {
      let c = 255;
      while (c === 255) {
        if (ip >= n) corrupt("an LZ4 match length runs past the end");
        c = src[ip++];
        len += c;
      }
    }
    len += 4;
    if (op + len > end) corrupt("an LZ4 match runs past the block");
    copyMatch(out, op, offset, len);
    op += len;
  }
  return op - start;
}

/** Copy `len` bytes from `offset` back (overlapping: a repeated pattern). */
function copyMatch(out: Uint8Array, op: number, offset: number, len: number): void {
  let from = op - offset;
  if (offset >= len && len > 32) {
    out.copyWithin(op, from, from + len);
    return;
  }
  if (offset === 1 && len > 16) {
    out.fill(out[from], op, op + len);
    return;
  }
  for (const stop = op + len; op < stop;) out[op++] = out[from++];
}

const MAX_DISTANCE = 8191;

/** Decode the BloscLZ block `src` into `out` from `op` (up to `end`); its size. */
export function bloscLZBlock(src: Uint8Array, out: Uint8Array, op: number, end: number): number {
  const start = op, n = src.length;
  if (n === 0) return 0;
  let ip = 0;
  let ctrl = src[ip++] & 31;
  for (;;) {
    if (ctrl >= 32) {
      let len = (ctrl >> 5) - 1;
      let ofs = (ctrl & 31) << 8;
      if (len === 6) {
        let code = 255;
        while (code === 255) {
          if (ip + 1 >= n) corrupt("a BloscLZ match length runs past the end");
          code = src[ip++];
          len += code;
        }
      } else if (ip >= n) corrupt("a BloscLZ match runs past the end");
      const code = src[ip++];
      let ref = op - ofs - code;
      if (code === 255 && ofs === 31 << 8) {
        if (ip + 1 >= n) corrupt("a BloscLZ far match runs past the end");
        ofs = (src[ip] << 8) + src[ip + 1];
        ip += 2;
        ref = op - ofs - MAX_DISTANCE;
      }
      if (op + len + 3 > end) corrupt("a BloscLZ match runs past the block");
      if (ref - 1 < start) corrupt("a BloscLZ match starts before the block");
      const more = ip < n;
      if (more) ctrl = src[ip++];
      len += 3;
      copyMatch(out, op, op - (ref - 1), len);
      op += len;
      if (!more) break;
    } else {
      ctrl++;
      if (op + ctrl > end || ip + ctrl > n) corrupt("BloscLZ literals run past the block");
      if (ctrl > 16) out.set(src.subarray(ip, ip + ctrl), op);
      else for (let k = 0; k < ctrl; k++) out[op + k] = src[ip + k];
      op += ctrl;
      ip += ctrl;
      if (ip >= n) break;
      ctrl = src[ip++];
    }
  }
  return op - start;
}

function zlibBlock(src: Uint8Array, out: Uint8Array, op: number, size: number): number {
  // libdeflate straight into the output where it can be used.
  const n = nativeInflate(src, out.subarray(op, op + size));
  if (n !== undefined) {
    if (n < 0) corrupt(`a zlib block does not inflate to its ${size} bytes`);
    return n;
  }
  let got: Uint8Array;
  try {
    got = inflateSync(src, { maxOutputLength: size + 1 });
  } catch (e) {
    corrupt(`a zlib block does not inflate (${(e as Error).message})`);
  }
  if (got.length !== size) return got.length;
  out.set(got, op);
  return size;
}

/**
 * Undo blosc's byte shuffle of `size` bytes of `src` (byte j of every
 * element stored together) into `out` from `at`: whole elements, then the
 * bytes left over as they are.
 */
export function unshuffle(
  typesize: number,
  size: number,
  src: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const n = Math.floor(size / typesize);
  if (
    typesize === 4 && n % 4 === 0 && src.byteOffset % 4 === 0 && (out.byteOffset + at) % 4 === 0
  ) {
    // Four elements at a time: a word of each byte stream, transposed.
    const q = n >> 2;
    const s = new Uint32Array(src.buffer, src.byteOffset, n);
    const w = new Uint32Array(out.buffer, out.byteOffset + at, n);
    for (let i = 0, k = 0; i < q; i++, k += 4) {
      const a = s[i], b = s[q + i], c = s[2 * q + i], d = s[3 * q + i];
      w[k] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (d << 24);
      w[k + 1] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16);
      w[k + 2] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) |
        ((d & 0xff0000) << 8);
      w[k + 3] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (d & 0xff000000);
    }
  } else if ((typesize === 4 || typesize === 8) && (out.byteOffset + at) % 4 === 0) {
    // Whole 32-bit words: four reads and one write per word.
    const w = new Uint32Array(out.buffer, out.byteOffset + at, (n * typesize) >> 2);
    const s = src;
    if (typesize === 4) {
      for (let i = 0; i < n; i++) {
        w[i] = s[i] | (s[n + i] << 8) | (s[2 * n + i] << 16) | (s[3 * n + i] << 24);
      }
    } else {
      for (let i = 0, k = 0; i < n; i++, k += 2) {
        w[k] = s[i] | (s[n + i] << 8) | (s[2 * n + i] << 16) | (s[3 * n + i] << 24);
        w[k + 1] = s[4 * n + i] | (s[5 * n + i] << 8) | (s[6 * n + i] << 16) |
          (s[7 * n + i] << 24);
      }
    }
  } else {
    for (let j = 0; j < typesize; j++) {
      const base = j * n;
      for (let i = 0, o = at + j; i < n; i++, o += typesize) out[o] = src[base + i];
    }
  }
  const rest = size - n * typesize;
  if (rest > 0) out.set(src.subarray(n * typesize, size), at + n * typesize);
}
