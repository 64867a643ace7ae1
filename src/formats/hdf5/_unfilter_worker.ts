// A worker of the unfilter pool (_unfilter_pool.ts): undoes the filters of
// the chunks it is sent (HDF5 filters, or blosc: LZ4, BloscLZ and zlib by
// ../_blosc.ts, other codecs by numcodecs' wasm, loaded on first need) and
// sends their bytes back (transferred).
import { parentPort } from "node:worker_threads";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { CorruptFileError, StorageError, UnsupportedFormatError } from "../../errors.ts";
import {
  bloscBlocksWanted,
  bloscDecodable,
  bloscHeader,
  bloscInputMemory,
  decodeBlosc,
  decodeZstdWasm,
} from "../_blosc.ts";
import { unfilter } from "./_filters.ts";
import { decodeZstd, zstdContentSize } from "../_zstd.ts";
import { decodeZstdNativeInto, transientMemory } from "../_zstd_native.ts";
import {
  checkIndices,
  checkIndices64,
  chunkFileFits,
  chunkFileMost,
  picked,
  pickInto,
} from "./_pick.ts";
import type {
  BloscFileJob,
  BloscIntoJob,
  BloscJob,
  FileJobInfo,
  KeptJob,
  PickRef,
  UndoIntoJob,
  UnfilterFileJob,
  UnfilterJob,
} from "./_unfilter_pool.ts";
import { keptFromChunks, keptFromFile, packKept, unpackShare } from "../_kept_filter.ts";

type Job =
  | Omit<UnfilterJob, "bytes">
  | UnfilterFileJob
  | Omit<BloscJob, "bytes">
  | BloscFileJob
  | KeptJob
  | BloscIntoJob
  | UndoIntoJob;

/**
 * A chunk file a kept-entries share needs is not there (a zarr chunk never
 * written), or is one this worker leaves to the caller (a zstd frame that
 * does not say its size).
 */
class MissingChunk extends Error {}

/**
 * A kept-entries share read from its local file(s) (see ../_kept_filter.ts):
 * uncompressed extents, or blosc chunk files read and decoded here.
 */
async function kept(
  j: KeptJob,
  bytes: Uint8Array,
  io: { read: number; requests: number },
): Promise<Uint8Array> {
  const share = unpackShare(j.kept, bytes);
  if ("kind" in share.ix && "kind" in share.val) {
    // A chunk of each array at hand in the decoder's memory (its two
    // slots, laid out for the larger chunk), grown for them first.
    const room = Math.max(share.ix.chunk * share.ix.itemsize, share.val.chunk * share.val.itemsize);
    bloscInputMemory(chunkFileMost(room) + 1, room);
    const got = await keptFromChunks(share, async (ext, c, slot) => {
      const cap = ext.chunk * ext.itemsize, zstd = ext.kind === "zstd";
      const k = c - ext.first,
        span = ext.spans && [ext.spans[2 * k], ext.spans[2 * k + 1]] as const;
      const stored = readChunkFile(ext.paths[k], cap, zstd ? "zstd" : undefined, span);
      if (!stored) throw new MissingChunk();
      io.read += stored.length;
      io.requests++;
      try {
        if (zstd) {
          // Left to the caller (numcodecs') when its size is not in its header.
          const size = zstdContentSize(stored, cap);
          if (size === undefined) throw new MissingChunk();
          // By the runtime's zstd, into the slot's memory of its own.
          const mem = slotMemory(slot, room);
          const got = decodeZstdNativeInto(stored, size, mem, 0)
            ? mem.subarray(0, size)
            : decodeZstdWasm(stored, size, { slot, room });
          if (!got) throw new MissingChunk();
          return got;
        }
        return decodeBlosc(stored, cap, { slot, room }) ?? await otherBlosc(stored, cap);
      } catch (e) {
        if (!(e instanceof CorruptFileError)) throw e;
        throw new CorruptFileError(`${share.where}: chunk ${c}: ${e.message}`);
      }
    });
    return packKept(got);
  }
  const ix = share.ix as { path: string };
  const fds = new Map<string, number>();
  try {
    const got = keptFromFile(share, (file, offset, into) => {
      let fd = fds.get(file);
      if (fd === undefined) fds.set(file, fd = openSync(file, "r"));
      const n = preadFull(fd, into, 0, into.length, offset);
      io.read += n;
      io.requests++;
      return n;
    });
    return packKept(got);
  } catch (e) {
    if (e instanceof CorruptFileError) throw e;
    throw new StorageError(`could not read ${ix.path}: ${(e as Error).message}`);
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}

/** numcodecs' blosc decoder (C-blosc in WebAssembly), loaded on first need. */
let numcodecsBlosc: Promise<{ decode(b: Uint8Array): Promise<Uint8Array> }> | undefined;

/**
 * A blosc chunk of a codec `decodeBlosc` leaves (zstd, snappy, LZ4HC is
 * LZ4; bit shuffle), decoded by numcodecs' blosc here on the worker, as
 * zarrita would on the reading thread: at most `cap` bytes (the header is
 * checked first), exactly as many as the header says, else
 * `CorruptFileError`. The bytes are copied first (they may be the blosc
 * decoder's memory, which the next chunk reuses).
 */
async function otherBlosc(stored: Uint8Array, cap: number): Promise<Uint8Array> {
  const { nbytes } = bloscHeader(stored, cap);
  const input = stored.slice();
  numcodecsBlosc ??= import("zarrita").then(async (zarr) => {
    const load = (zarr.registry as unknown as Map<string, () => Promise<unknown>>).get("blosc");
    if (!load) throw new Error("zarrita has no blosc codec");
    const C = await load() as {
      fromConfig(c: unknown): { decode(b: Uint8Array): Promise<Uint8Array> };
    };
    return C.fromConfig({ cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 });
  });
  let codec;
  try {
    codec = await numcodecsBlosc;
  } catch (e) {
    // Not the file's fault: said as such (the reader's own decoder needs the same module).
    numcodecsBlosc = undefined;
    throw new UnsupportedFormatError(
      `numcodecs' blosc decoder could not be loaded for a blosc chunk of another codec ` +
        `than LZ4, BloscLZ or zlib: ${(e as Error).message}`,
    );
  }
  let out: Uint8Array;
  try {
    out = await codec.decode(input);
  } catch (e) {
    throw new CorruptFileError(`the blosc chunk could not be decoded: ${(e as Error).message}`);
  }
  if (out.length !== nbytes) {
    throw new CorruptFileError(
      `the blosc chunk decodes to ${out.length} bytes, its header says ${nbytes}`,
    );
  }
  return out;
}

/**
 * A chunk this thread's blosc decoder leaves, decoded: a zstd frame (null
 * when its header does not say its size: the caller decodes it another
 * way), a blosc chunk of another codec; undefined for the rest (decoded in
 * `undo`).
 */
async function decodedOther(
  input: Uint8Array,
  blosc: { cap: number; codec?: "zstd" },
): Promise<Uint8Array | null | undefined> {
  if (blosc.codec === "zstd") return await decodeZstd(input, blosc.cap, true);
  return bloscDecodable(input) ? undefined : await otherBlosc(input, blosc.cap);
}

/**
 * A chunk file's bytes; undefined when there is no such file. A file larger
 * than any blosc chunk of `cap` bytes can be is refused after at most one
 * byte more than that was read.
 */
function readChunkFile(
  path: string,
  cap: number,
  codec?: "zstd",
  span?: readonly [offset: number, size: number],
  want?: ArrayLike<number>,
): Uint8Array | undefined {
  chunkRead = 0;
  if (span) return span[0] < 0 ? undefined : readChunkSpan(path, cap, codec, span);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    // Read to its end (no stat), into the blosc decoder's memory when it
    // can decode it there (no copy), up to one byte more than a chunk can be.
    const most = chunkFileMost(cap, codec);
    const into = bloscInputMemory(most + 1, cap) ?? fileMemoryOf(most + 1);
    // A blosc chunk of which a few rows are wanted: the blocks they lie in alone.
    const part = want && !codec ? readWantedBlocks(fd, into, want, most) : undefined;
    if (part) return part;
    const n = preadFull(fd, into, 0, into.length, 0);
    if (n > most) chunkFileFits(path, Math.max(n, fstatSync(fd).size), cap, codec);
    chunkRead = n;
    return into.subarray(0, n);
  } catch (e) {
    if (e instanceof CorruptFileError) throw e;
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw new StorageError(`could not read ${path}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Bytes the last `readChunkFile` read (a chunk read in part: fewer than its length). */
let chunkRead = 0;

/** `n` bytes of `fd` at `offset` into `into` at `at`; how many there were. */
function preadFull(fd: number, into: Uint8Array, at: number, n: number, offset: number): number {
  let got = 0;
  while (got < n) {
    const r = readSync(fd, into, at + got, n - got, offset + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

/** Room for a file's last byte and the one after (see readWantedBlocks). */
const edge = new Uint8Array(2);

/** Blocks of a chunk read apart when the gap between them is at most this. */
const BLOCK_GAP = 16 << 10;

/**
 * The blosc chunk in `fd` with only the blocks the byte ranges `want` of
 * its decoded bytes lie in read (its header and block starts first, then
 * those blocks' stored bytes, each at its own offset in `into`), for
 * `decodeBlosc(.., want)` to decode alone; undefined when the whole chunk
 * is to be read (every block wanted, stored plain, a codec decoded
 * elsewhere, or anything out of bounds: the whole read says what).
 */
function readWantedBlocks(
  fd: number,
  into: Uint8Array,
  want: ArrayLike<number>,
  most: number,
): Uint8Array | undefined {
  const head = preadFull(fd, into, 0, Math.min(into.length, 4096), 0);
  if (head < 16 || !bloscDecodable(into.subarray(0, head))) return undefined;
  const cbytes = new DataView(into.buffer, into.byteOffset).getUint32(12, true);
  // A file of another length than its header says (cut short, or more after
  // it: its last byte and the one after asked): read whole, which refuses it
  // whichever blocks are wanted.
  if (cbytes > most || cbytes <= head || preadFull(fd, edge, 0, 2, cbytes - 1) !== 1) {
    return undefined;
  }
  const blocks = bloscBlocksWanted(into.subarray(0, head), want);
  if (!blocks) return undefined;
  const spans: [number, number][] = [];
  for (let k = 0; k < blocks.length; k += 3) {
    const at = new DataView(into.buffer, into.byteOffset).getUint32(16 + 4 * blocks[k], true);
    spans.push([at, blocks[k + 1]]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let read = head;
  for (let i = 0; i < spans.length;) {
    let [s, e] = spans[i++];
    while (i < spans.length && spans[i][0] <= e + BLOCK_GAP) e = Math.max(e, spans[i++][1]);
    s = Math.max(s, head);
    if (e <= s) continue;
    if (preadFull(fd, into, s, e - s, s) < e - s) return undefined; // shorter than it says
    read += e - s;
  }
  chunkRead = read;
  return into.subarray(0, cbytes);
}

/**
 * A chunk stored as `span` (offset, size) of the file `path` (an inner
 * chunk of a zarr v3 shard), read into the blosc decoder's memory as
 * `readChunkFile` reads a chunk file; a size no chunk of `cap` bytes can
 * have, or a file that ends before the span, is a CorruptFileError.
 */
function readChunkSpan(
  path: string,
  cap: number,
  codec: "zstd" | undefined,
  [offset, size]: readonly [number, number],
): Uint8Array {
  chunkFileFits(path, size, cap, codec);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const into = (bloscInputMemory(size + 1, cap) ?? fileMemoryOf(size + 1)).subarray(0, size);
    const n = preadFull(fd, into, 0, size, offset);
    if (n < size) {
      throw new CorruptFileError(
        `${path} ends before its chunk at byte ${offset} (${size} bytes): the store is damaged`,
      );
    }
    chunkRead = n;
    return into;
  } catch (e) {
    if (e instanceof CorruptFileError) throw e;
    throw new StorageError(`could not read ${path}: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Up to `size` bytes at `offset` of the open file `fd` (fewer at its end),
 * into memory kept for the next chunk: a fresh buffer per chunk (1-2 MB
 * ones are mapped and unmapped each time) costs its page faults.
 */
function readIntoMemory(fd: number, offset: number, size: number): Uint8Array {
  fileMemoryOf(size);
  return fileMemory.subarray(0, preadFull(fd, fileMemory, 0, size, offset));
}
let fileMemory = new Uint8Array(0);
/** The memory kept for chunks read, at least `size` bytes of it. */
function fileMemoryOf(size: number): Uint8Array {
  if (fileMemory.length < size) fileMemory = new Uint8Array(size);
  return fileMemory;
}

/**
 * The `size` bytes at `offset` of the local file `path` (an HDF5 chunk),
 * into memory kept for the next chunk; `fds` holds the files opened for
 * one message.
 */
function readChunkAt(
  j: Pick<UnfilterFileJob, "path" | "offset" | "size" | "ctx">,
  fds: Map<string, number>,
): Uint8Array {
  let fd = fds.get(j.path);
  try {
    if (fd === undefined) fds.set(j.path, fd = openSync(j.path, "r"));
    const got = readIntoMemory(fd, j.offset, j.size);
    if (got.length < j.size) {
      throw new CorruptFileError(
        `${j.ctx.where}: the chunk at byte ${j.offset} is cut short (${got.length} of ${j.size} bytes): the file is truncated`,
      );
    }
    return got;
  } catch (e) {
    if (e instanceof CorruptFileError) throw e;
    throw new StorageError(`could not read ${j.path}: ${(e as Error).message}`);
  }
}

/**
 * A `BloscIntoJob`: each chunk file read and decoded into the decoder's
 * memory, the bytes asked of it copied to their place in `out` and
 * checked there.
 */
async function into(j: BloscIntoJob, out: Uint8Array): Promise<FileJobInfo> {
  const { paths, picks, ats, cap, check, rows, codec, spans } = j.into;
  const skipped: number[] = [];
  let read = 0;
  for (let k = 0; k < paths.length; k++) {
    try {
      const span = spans && [spans[2 * k], spans[2 * k + 1]] as const;
      const stored = readChunkFile(paths[k], cap, codec, span, picks[k]);
      read += stored ? chunkRead : 0;
      const pick = picks[k];
      if (stored && codec === "zstd" && !rows && wholeInto(stored, cap, pick, out, ats[k])) {
        // Decoded where it goes (the chunk whole): checked there.
        if (check !== undefined) checkIndices(out.subarray(ats[k], ats[k] + pick[1]), check);
        continue;
      }
      const got = !stored
        ? null
        : codec === "zstd"
        ? await decodeZstd(stored, cap, true)
        : bloscDecodable(stored)
        ? decodeBlosc(stored, cap, true, picks[k]) // the picked rows' blocks
        : await otherBlosc(stored, cap);
      if (!got) {
        skipped.push(k);
        continue;
      }
      if (rows) {
        pickRowsInto(got, pick, out, ats[k], rows.src, rows.dst, rows.widths[k]);
        continue;
      }
      // Few ranges: checked in the decoder's memory (SIMD), else where they land.
      const early = check !== undefined && pick.length <= 512;
      for (let r = 0; early && r < pick.length; r += 2) {
        const s = pick[r], e = pick[r + 1];
        if (s >= 0 && e >= s && e <= got.length) checkIndices(got.subarray(s, e), check);
      }
      const end = pickInto(got, pick, out, ats[k]);
      if (check !== undefined && !early) checkIndices(out.subarray(ats[k], end), check);
    } catch (e) {
      if (!(e instanceof CorruptFileError)) throw e;
      const name = j.into.names?.[k] ?? paths[k].slice(paths[k].lastIndexOf("/") + 1);
      throw new CorruptFileError(`chunk ${name}: ${e.message}`);
    }
  }
  return { read, skipped };
}

/**
 * A zstd chunk picked whole (`pick` is its every byte) decoded by the
 * runtime's zstd straight to its place in `out` (no copy, no memory of its
 * own to fault in); false when it is not picked whole or not decoded so
 * (then decoded as any other chunk, which says what is wrong with it).
 */
function wholeInto(
  stored: Uint8Array,
  cap: number,
  pick: ArrayLike<number>,
  out: Uint8Array,
  at: number,
): boolean {
  if (pick.length !== 2 || pick[0] !== 0) return false;
  const size = zstdContentSize(stored, cap);
  return size === pick[1] && decodeZstdNativeInto(stored, size, out, at);
}

/** Memory of `room` bytes for slot 0 or 1 of a kept-entries share (see `kept`), reused. */
const slots: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
function slotMemory(slot: 0 | 1, room: number): Uint8Array {
  if (slots[slot].length < room) slots[slot] = new Uint8Array(room);
  return slots[slot];
}

/**
 * The rows (`src` bytes each) that `pick` picks of the decoded chunk `b`:
 * each row's first `width` bytes into `out` from `at`, a row every `dst`
 * bytes (words of 4 bytes when everything is aligned to them).
 */
function pickRowsInto(
  b: Uint8Array,
  pick: ArrayLike<number>,
  out: Uint8Array,
  at: number,
  src: number,
  dst: number,
  width: number,
): void {
  let rows = 0;
  for (let k = 0; k < pick.length; k += 2) {
    const s = pick[k], e = pick[k + 1];
    if (!(s >= (k ? pick[k - 1] : 0) && e >= s && e <= b.length && (e - s) % src === 0)) {
      throw new CorruptFileError(
        `bytes ${s}..${e} of a chunk of ${b.length} bytes are asked: the file is damaged`,
      );
    }
    rows += (e - s) / src;
  }
  if (!(width <= src && width <= dst && (rows ? at + (rows - 1) * dst + width : 0) <= out.length)) {
    throw new CorruptFileError(`rows of ${width} bytes do not fit the output`);
  }
  const words = (b.byteOffset | out.byteOffset | at | src | dst | width) % 4 === 0;
  const bw = words ? new Uint32Array(b.buffer, b.byteOffset, b.length >> 2) : b;
  const ow = words ? new Uint32Array(out.buffer, out.byteOffset, out.length >> 2) : out;
  const q = words ? 4 : 1, w = width / q, step = dst / q;
  let o = at / q;
  for (let k = 0; k < pick.length; k += 2) {
    for (let p = pick[k] / q, e = pick[k + 1] / q; p < e; p += src / q, o += step) {
      if (w >= 64) ow.set(bw.subarray(p, p + w), o);
      else for (let x = 0; x < w; x++) ow[o + x] = bw[p + x];
    }
  }
}

/**
 * An `UndoIntoJob`: each HDF5 chunk read from the file and undone into
 * memory kept for the next chunk, the bytes asked of it copied to their
 * place in `out`.
 */
function undoInto(j: UndoIntoJob, out: Uint8Array, fds: Map<string, number>): FileJobInfo {
  const { path, offsets, sizes, masks, filters, elem, expected, where, picks, ats, check, rows } =
    j.into;
  const checkAt = j.into.checkWide ? checkIndices64 : checkIndices;
  let read = 0;
  for (let k = 0; k < offsets.length; k++) {
    // expected 0: pieces of a contiguous dataset, each its own size (no filters).
    if (expected === 0 && filters.length) throw new CorruptFileError(`${where}: filters on pieces`);
    const ctx = { elem, expected: expected || sizes[k], where, address: offsets[k] };
    const stored = readChunkAt({ path, offset: offsets[k], size: sizes[k], ctx }, fds);
    read += stored.length;
    const u = unfilter(stored, filters, masks[k], { ...ctx, scratch, want: wanted(picks[k]) });
    if (rows) {
      // A chunk's columns of the output's rows (a 2-D dataset chunked across columns).
      try {
        pickRowsInto(u, picks[k], out, ats[k], rows.src, rows.dst, rows.widths[k]);
      } catch (e) {
        if (!(e instanceof CorruptFileError)) throw e;
        throw new CorruptFileError(`${where}: ${e.message}`);
      }
      continue;
    }
    const end = pickInto(u, picks[k], out, ats[k]);
    if (check === undefined) continue;
    try {
      checkAt(out.subarray(ats[k], end), check);
    } catch (e) {
      if (!(e instanceof CorruptFileError)) throw e;
      throw new CorruptFileError(`${where}: ${e.message}`);
    }
  }
  return { read };
}

function undo(
  bytes: Uint8Array,
  j: Exclude<Job, KeptJob | BloscIntoJob | UndoIntoJob>,
  decoded?: Uint8Array,
): Uint8Array {
  if ("blosc" in j) {
    // Rows picked out of a chunk: decoded into memory kept for the next
    // chunk (no fresh memory to fault in), only the picked bytes sent.
    // `decoded`: a chunk of another codec, decoded by numcodecs (otherBlosc).
    // Only the blosc blocks the picked rows lie in (a few rows: one of a chunk's blocks).
    const out = decoded ?? decodeBlosc(bytes, j.blosc.cap, j.pick !== undefined, j.pick);
    if (!out) throw new CorruptFileError("the blosc chunk uses a codec the worker does not decode");
    // Indices checked while the chunk is in the decoder's memory (SIMD),
    // range by range, unless so many ranges that the picked bytes are few.
    const early = j.check !== undefined && (!j.pick || j.pick.length <= 512);
    if (early) {
      if (!j.pick) checkIndices(out, j.check!);
      else {
        for (let k = 0; k < j.pick.length; k += 2) {
          const s = j.pick[k], e = j.pick[k + 1];
          if (s >= 0 && e >= s && e <= out.length) checkIndices(out.subarray(s, e), j.check!);
        }
      }
    }
    const p = j.pick ? picked(out, j.pick) : out;
    if (j.check !== undefined && !early) checkIndices(p, j.check);
    if (!j.pick) return out;
    return p === out ? out.slice() : p;
  }
  // Rows picked: inflated into memory kept for the next chunk, as above.
  const u = unfilter(
    bytes,
    j.filters,
    j.mask,
    j.pick ? { ...j.ctx, scratch, want: wanted(j.pick) } : j.ctx,
  );
  const p = picked(u, j.pick, j.ctx.where);
  return p.buffer === scratchMemory.buffer ? p.slice() : p;
}

/** The bytes of a chunk a pick needs: up to the end of its last range. */
function wanted(pick: ArrayLike<number>): number | undefined {
  return pick.length ? pick[pick.length - 1] : undefined;
}

let scratchMemory = new Uint8Array(0);
function scratch(n: number): Uint8Array {
  if (scratchMemory.length < n) scratchMemory = new Uint8Array(n);
  return scratchMemory.subarray(0, n);
}

/** The jobs' picks put back from the message's packed buffer (see `packPicks`). */
function unpackPicks(jobs: Job[], buffer?: ArrayBuffer): void {
  if (!buffer) return;
  const all = new Float64Array(buffer);
  const view = ([at, n]: PickRef) => all.subarray(at, at + n);
  for (const j of jobs as { pickRef?: PickRef; pick?: ArrayLike<number> }[]) {
    if (j.pickRef) j.pick = view(j.pickRef);
    const into = (j as { into?: { picks: ArrayLike<number>[]; pickRefs?: PickRef[] } }).into;
    if (into?.pickRefs) into.picks = into.pickRefs.map(view);
  }
}

// Bytes travel as bare ArrayBuffers: Deno's worker_threads walks every key
// of a message, and a typed array's keys are its elements.
type Message = { id: number; buffers: (ArrayBuffer | null)[]; jobs: Job[]; picks?: ArrayBuffer };

// One message at a time: a job that waits (numcodecs' decoder, loaded on
// first need) must not let the next one reuse the memory it reads into.
let queue = Promise.resolve();
parentPort!.on("message", (msg: Message) => {
  queue = queue.then(() => handle(msg));
});

async function handle(msg: Message): Promise<void> {
  const fds = new Map<string, number>();
  try {
    unpackPicks(msg.jobs, msg.picks);
    const lengths: number[] = [];
    const info: (FileJobInfo | null)[] = [];
    const out: ArrayBuffer[] = [];
    for (const [i, j] of msg.jobs.entries()) {
      let input: Uint8Array | undefined, decoded: Uint8Array | null | undefined;
      if ("offset" in j) {
        input = readChunkAt(j, fds);
        info.push({ read: input.length });
      } else if ("path" in j) {
        // Read here, not on the main thread: it neither reads nor holds the bytes.
        input = readChunkFile(j.path, j.blosc.cap, j.blosc.codec, undefined, j.pick);
        const read = input ? chunkRead : 0;
        decoded = !input ? undefined : await decodedOther(input, j.blosc);
        if (!input || decoded === null) {
          info.push(input ? { read, undecodable: true } : { read, missing: true });
          lengths.push(0);
          out.push(new ArrayBuffer(0));
          continue;
        }
        info.push({ read });
      } else {
        input = new Uint8Array(msg.buffers[i]!);
        if ("blosc" in j) decoded = await decodedOther(input, j.blosc);
        if (decoded === null) {
          info.push({ read: 0, undecodable: true });
          lengths.push(0);
          out.push(new ArrayBuffer(0));
          continue;
        }
        if (!("kept" in j) && !("into" in j)) info.push(null);
      }
      let b: Uint8Array;
      if ("into" in j) {
        info.push(
          "paths" in j.into
            ? await into(j as BloscIntoJob, input)
            : undoInto(j as UndoIntoJob, input, fds),
        );
        b = input;
      } else if ("kept" in j) {
        const io = { read: 0, requests: 0 };
        try {
          b = await kept(j, input, io);
          info.push(io);
        } catch (e) {
          if (!(e instanceof MissingChunk)) throw e;
          // Left to the caller (a chunk's fill value is in its metadata).
          b = new Uint8Array(0);
          info.push({ ...io, missing: true });
        }
      } else b = undo(input, j, decoded ?? undefined);
      // Transferred with its length: a buffer that is the output's own (an
      // inflate output is one byte longer: see _filters.ts; kept entries
      // leave the room they did not use, never written: no memory); a
      // pooled or shared one is copied first, as is a transient zstd
      // decode's when a later job of this message may decode into it.
      if (
        b.byteOffset !== 0 || b.buffer === fileMemory.buffer ||
        (b.buffer === transientMemory() && i < msg.jobs.length - 1) ||
        (b.buffer.byteLength - b.byteLength > 64 && !("kept" in j))
      ) b = b.slice();
      lengths.push(b.byteLength);
      out.push(b.buffer as ArrayBuffer);
    }
    parentPort!.postMessage({ id: msg.id, out, lengths, info }, out);
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, error: { name: err.name, message: err.message } });
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}
