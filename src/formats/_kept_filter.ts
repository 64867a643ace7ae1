// The kernel of reading a sparse matrix's lines with only the kept minor
// indices (a `subsetVar`): windows of indices and values land in two reused
// buffers and only the kept entries are copied out. Shared by the query's
// reader on this thread (src/query/_kept.ts) and the decoding workers,
// which filter shares of a local file's lines in parallel
// (hdf5/_unfilter_worker.ts): a generator says which window to read next,
// its driver reads it (synchronously or not) and resumes it.
import { CorruptFileError } from "../errors.ts";
import { largeArray } from "./_memory.ts";
import type { LocalExtent, Spans } from "./ranges.ts";

/** Elements per window: 256 KiB of indices, the reader's largest synchronous read. */
const KEPT_BLOCK = 1 << 16;
/** Spans at most this many elements apart share a window (8 KiB of indices). */
const GAP = 2048;

/** Kept entries: `w` 32-bit words a value, the new minor indices, the new indptr. */
export interface KeptEntries {
  words: Uint32Array;
  indices: Int32Array;
  indptr: Float64Array;
  /** The three as `packKept` lays them out, when they already lie so in one buffer. */
  packed?: Uint8Array;
}

/**
 * Entries a filtered read makes room for at once, at most (then by
 * doubling): what it is expected to keep (its entries times the share of
 * indices kept) and a quarter more. Growing copies what was kept so far
 * into fresh memory; room never written is not touched, but counts as
 * memory to V8's collector where it is sent.
 */
const ROOM_AT_ONCE = 1 << 25;

/** Room for the kept entries of `total` when `keep` keeps some of its indices (see ROOM_AT_ONCE). */
function roomFor(total: number, keep: Int32Array): number {
  let kept = 0;
  for (let j = 0; j < keep.length; j++) kept += ~keep[j] >>> 31;
  const expected = keep.length ? (total * kept) / keep.length : total;
  return Math.min(total, ROOM_AT_ONCE, Math.ceil(expected * 1.25) + KEPT_BLOCK);
}

/** The window `[w0, w1)` of elements whose indices and values are to be read next. */
export interface KeptWindow {
  w0: number;
  w1: number;
  /** Where the window's int32 indices go (from byte 0). */
  ixBuf: Uint8Array;
  /** Where the window's values go (from byte 0), `4 * w` bytes each. */
  valBuf: Uint8Array;
}

/** A window's indices and values where they already are (element `w0` at 0): see `keptEntries`. */
export interface KeptViews {
  ix: Int32Array;
  val: Uint32Array;
}

/**
 * The entries of the element `spans` (in order; line `l` holds compact
 * elements `indptr[l]..indptr[l + 1]`) whose index `j` has `keep[j] >= 0`,
 * renumbered to `keep[j]`, with the new indptr. Yields each window to read
 * (the caller fills its buffers, then resumes, or resumes with `KeptViews`
 * of the window where it lies); returns the kept entries. `cut(w0)`: where
 * a window from `w0` must end at the latest (a chunk's end). Indices
 * outside `keep`, and spans that disagree with `indptr`, are a
 * CorruptFileError naming `where`.
 */
export function* keptEntries(
  spans: Spans,
  indptr: Float64Array,
  keep: Int32Array,
  w: number,
  where: string,
  cut?: (w0: number) => number,
): Generator<KeptWindow, KeptEntries, KeptViews | undefined> {
  const lines = indptr.length - 1, total = indptr[lines];
  const ixBuf = new Uint8Array(KEPT_BLOCK * 4), valBuf = new Uint8Array(KEPT_BLOCK * 4 * w);
  const ix = new Int32Array(ixBuf.buffer), val = new Uint32Array(valBuf.buffer);
  // The output in one buffer laid out as packKept's (indptr, values, then
  // the indices at the end of the room, moved down to the values at last):
  // sent from a worker as it is.
  let out = packedRoom(lines, roomFor(total, keep), w);
  let { ptr, outV, outIx } = out;
  const state = { o: 0, line: 0 };
  let g = 0; // compact position of the next span's first element
  let rest = -1; // where span k resumes, when a window ended inside it
  for (let k = 0; k < spans.n;) {
    // A window: spans `k..` at most GAP elements apart, within KEPT_BLOCK
    // elements of file order, read as one range (the gaps are read and
    // skipped: a read costs more than a few KiB of page cache), then
    // filtered span by span.
    const w0 = rest >= 0 ? rest : spans.starts[k];
    const end = Math.min(w0 + KEPT_BLOCK, cut ? cut(w0) : Infinity);
    if (!(end > w0)) throw new RangeError(`${where}: a window from ${w0} cannot end at ${end}`);
    let w1 = Math.min(spans.ends[k], end), j = k + 1;
    if (w1 === spans.ends[k]) {
      while (j < spans.n && spans.starts[j] - w1 <= GAP && spans.ends[j] <= end) {
        w1 = spans.ends[j++];
      }
    }
    const views = yield { w0, w1, ixBuf, valBuf };
    const wix = views?.ix ?? ix, wval = views?.val ?? val;
    const len = w1 - w0;
    if (outIx.length < Math.min(total, state.o + len)) {
      // Room for the whole window (kept or not), grown by doubling.
      const grown = packedRoom(
        lines,
        Math.min(total, Math.max(2 * outIx.length, state.o + len)),
        w,
      );
      grown.ptr.set(ptr);
      grown.outV.set(outV.subarray(0, state.o * w));
      grown.outIx.set(outIx.subarray(0, state.o));
      out = grown;
      ({ ptr, outV, outIx } = out);
    }
    for (let q = k; q < j; q++) {
      const s = q === k ? w0 : spans.starts[q], e = q === j - 1 ? w1 : spans.ends[q];
      filterBlock(wix, wval, s - w0, e - s, g, indptr, keep, outV, outIx, ptr, state, w, where);
      g += e - s;
    }
    if (w1 < spans.ends[k]) rest = w1; // a long span: its rest next
    else [k, rest] = [j, -1];
  }
  if (g !== total) {
    throw new CorruptFileError(`${where}: indptr claims ${total} entries, the spans hold ${g}`);
  }
  let { o, line } = state;
  while (line < lines) ptr[++line] = o;
  // The indices moved down to just after the kept values (memory already
  // written: no fresh pages), the three then packed as they lie.
  const head = 8 * (lines + 1), bytes = new Uint8Array(out.buffer);
  const from = outIx.byteOffset, to = head + 4 * o * w;
  if (from !== to) bytes.copyWithin(to, from, from + 4 * o);
  return {
    words: outV.subarray(0, o * w),
    indices: new Int32Array(out.buffer, to, o),
    indptr: ptr,
    packed: bytes.subarray(0, to + 4 * o),
  };
}

/** A buffer with room for `room` kept entries of `w` words, laid out as `packKept`'s. */
function packedRoom(lines: number, room: number, w: number) {
  const head = 8 * (lines + 1);
  const buffer = largeArray(Uint8Array, head + 4 * room * (w + 1)).buffer as ArrayBuffer;
  return {
    buffer,
    ptr: new Float64Array(buffer, 0, lines + 1),
    outV: new Uint32Array(buffer, head, room * w),
    outIx: new Int32Array(buffer, head + 4 * room * w, room),
  };
}

/**
 * One block's entries, line by line, appended to `outV`/`outIx` from `o`
 * on (room for `len` more), without a branch per entry on whether it is
 * kept (written always, kept by moving on).
 */
function filterBlock(
  ix: Int32Array,
  val: Uint32Array,
  from: number,
  len: number,
  g0: number,
  indptr: Float64Array,
  keep: Int32Array,
  outV: Uint32Array,
  outIx: Int32Array,
  ptr: Float64Array,
  state: { o: number; line: number },
  w: number,
  where: string,
): void {
  // Small integers throughout (positions in the window and the output):
  // doubles as typed-array indices cost a conversion per access.
  const lines = indptr.length - 1, kl = keep.length | 0, base = from | 0, n = len | 0;
  let o = state.o | 0, line = state.line;
  for (let i = 0; i < n;) {
    while (line < lines && indptr[line + 1] <= g0 + i) ptr[++line] = o;
    const stop = Math.min(n, indptr[line + 1] - g0) | 0;
    if (!(stop > i)) throw new CorruptFileError(`${where}: indptr disagrees with its entries`);
    const got = w === 1
      ? kept1(ix, val, keep, outV, outIx, (base + i) | 0, (base + stop) | 0, o)
      : kept2(ix, val, keep, outV, outIx, (base + i) | 0, (base + stop) | 0, o);
    if (got < 0) throw outside(where, ix[-1 - got], kl);
    o = got;
    i = stop;
  }
  state.o = o;
  state.line = line;
}

/**
 * The entries `x0..x1` of one line: each written at `o`, kept by moving on
 * (no branch on whether it is kept); the new `o`, or `-1 - x` for an index
 * `ix[x]` outside `keep`. Small functions of few parameters: V8 runs this
 * loop ~1.6x faster than the same loop inside filterBlock.
 */
export function kept1(
  ix: Int32Array,
  val: Uint32Array,
  keep: Int32Array,
  outV: Uint32Array,
  outIx: Int32Array,
  x0: number,
  x1: number,
  o: number,
): number {
  const kl = keep.length;
  for (let x = x0; x < x1; x++) {
    const j = ix[x];
    if ((j >>> 0) >= kl) return -1 - x;
    const t = keep[j];
    outV[o] = val[x];
    outIx[o] = t;
    o += ~t >>> 31;
  }
  return o;
}

/** `kept1` for values of two words. */
function kept2(
  ix: Int32Array,
  val: Uint32Array,
  keep: Int32Array,
  outV: Uint32Array,
  outIx: Int32Array,
  x0: number,
  x1: number,
  o: number,
): number {
  const kl = keep.length;
  for (let x = x0; x < x1; x++) {
    const j = ix[x];
    if ((j >>> 0) >= kl) return -1 - x;
    const t = keep[j];
    outV[2 * o] = val[2 * x];
    outV[2 * o + 1] = val[2 * x + 1];
    outIx[o] = t;
    o += ~t >>> 31;
  }
  return o;
}

function outside(where: string, j: number, kl: number): CorruptFileError {
  return new CorruptFileError(`${where}: index ${j} is outside 0..${kl - 1}: the file is damaged`);
}

/**
 * Where a share's chunks of a 1-D blosc- or zstd-compressed array lie (see
 * `LocalChunks`): chunk `first + k` in `paths[k]`, `chunk` elements of
 * `itemsize` bytes each once decoded.
 */
export interface ChunkFiles {
  /** The chunks' compression: blosc chunks, or bare zstd frames. */
  readonly kind: "blosc" | "zstd";
  readonly itemsize: number;
  readonly chunk: number;
  readonly first: number;
  readonly paths: readonly string[];
  /**
   * Chunk `first + k` is bytes `spans[2k]..+spans[2k + 1]` of `paths[k]`
   * (an inner chunk of a shard), not the whole file; an offset of -1:
   * never written.
   */
  readonly spans?: readonly number[];
  /** As `LocalExtent.counted`. */
  readonly counted?: (bytes: number, requests: number) => void;
}

/**
 * A share of a sparse matrix's lines to read from local files and filter
 * to the kept minor indices: what a decoding worker runs. Both arrays
 * uncompressed (`LocalExtent`: `keptFromFile`) or both blosc chunk files
 * (`ChunkFiles`: `keptFromChunks`).
 */
export interface KeptFileShare {
  ix: LocalExtent | ChunkFiles;
  val: LocalExtent | ChunkFiles;
  /** Elements in each of the two arrays. */
  size: number;
  /** 32-bit words a value (1 or 2). */
  w: number;
  spans: Spans;
  indptr: Float64Array;
  keep: Int32Array;
  where: string;
}

/**
 * The bytes a share's worker decodes (its chunks of both arrays, whole) or
 * reads (uncompressed: its lines' entries of both arrays, at most): what
 * the pool weighs its jobs by.
 */
export function shareWork({ ix, val, indptr }: KeptFileShare): number {
  const entries = indptr.length ? indptr[indptr.length - 1] - indptr[0] : 0;
  const of = (e: LocalExtent | ChunkFiles) =>
    "kind" in e ? e.paths.length * e.chunk * e.itemsize : entries * e.itemsize;
  return of(ix) + of(val);
}

/**
 * Run `keptEntries` on `share`, reading with `readAt(path, offset, into)`
 * (bytes read; fewer only at the end of the file).
 */
export function keptFromFile(
  share: KeptFileShare,
  readAt: (path: string, offset: number, into: Uint8Array) => number,
): KeptEntries {
  const { size, w, where, ix, val } = share;
  if ("kind" in ix || "kind" in val) throw new TypeError("keptFromFile reads uncompressed extents");
  const it = keptEntries(share.spans, share.indptr, share.keep, w, where);
  for (let r = it.next();; r = it.next()) {
    if (r.done) return r.value;
    const { w0, w1, ixBuf, valBuf } = r.value;
    if (!(w0 >= 0 && w1 <= size)) {
      throw new CorruptFileError(`${where}: entries ${w0}..${w1} of ${size} are asked`);
    }
    readExtent(ix, w0, w1, ixBuf, readAt, where);
    readExtent(val, w0, w1, valBuf, readAt, where);
  }
}

/**
 * Run `keptEntries` on `share` (its arrays `ChunkFiles`), each chunk
 * decoded once by `chunkAt` (`slot` 0 for the indices, 1 for the values:
 * its bytes must stay until the next call for the same slot). A chunk that
 * decodes to other than `chunk * itemsize` bytes is a CorruptFileError.
 */
export async function keptFromChunks(
  share: KeptFileShare,
  chunkAt: (ext: ChunkFiles, c: number, slot: 0 | 1) => Uint8Array | Promise<Uint8Array>,
): Promise<KeptEntries> {
  const { size, w, where, ix, val } = share;
  if (!("kind" in ix) || !("kind" in val)) {
    throw new TypeError("keptFromChunks reads chunk files");
  }
  const held = [ix, val].map((ext) => ({ ext, c: -1, bytes: new Uint8Array(0) }));
  // Windows end where a chunk of either array does: each lies in one
  // chunk of each, filtered where it was decoded (no copy).
  const cut = (w0: number) =>
    Math.min(
      (Math.floor(w0 / ix.chunk) + 1) * ix.chunk,
      (Math.floor(w0 / val.chunk) + 1) * val.chunk,
    );
  const it = keptEntries(share.spans, share.indptr, share.keep, w, where, cut);
  for (let r = it.next();;) {
    if (r.done) return r.value;
    const { w0, w1 } = r.value;
    if (!(w0 >= 0 && w1 <= size)) {
      throw new CorruptFileError(`${where}: entries ${w0}..${w1} of ${size} are asked`);
    }
    await decodedFor(held[0], 0, w0, chunkAt, where);
    await decodedFor(held[1], 1, w0, chunkAt, where);
    const a = held[0], b = held[1];
    const ia = (w0 - a.c * ix.chunk) * 4, ib = (w0 - b.c * val.chunk) * 4 * w;
    r = it.next({
      ix: new Int32Array(a.bytes.buffer, a.bytes.byteOffset + ia, w1 - w0),
      val: new Uint32Array(b.bytes.buffer, b.bytes.byteOffset + ib, (w1 - w0) * w),
    });
  }
}

/** `h` holding the chunk of `h.ext` that element `e` lies in (decoded by `chunkAt` unless it does). */
async function decodedFor(
  h: { ext: ChunkFiles; c: number; bytes: Uint8Array },
  slot: 0 | 1,
  e: number,
  chunkAt: (ext: ChunkFiles, c: number, slot: 0 | 1) => Uint8Array | Promise<Uint8Array>,
  where: string,
): Promise<void> {
  const { ext } = h, q = Math.floor(e / ext.chunk);
  if (h.c === q) return;
  if (!(q >= ext.first && q < ext.first + ext.paths.length)) {
    throw new RangeError(`${where}: chunk ${q} was not given to this share`);
  }
  h.c = -1;
  const got = await chunkAt(ext, q, slot);
  if (got.length !== ext.chunk * ext.itemsize) {
    throw new CorruptFileError(
      `${where}: chunk ${q} decodes to ${got.length} bytes, not ${ext.chunk * ext.itemsize}`,
    );
  }
  if (got.byteOffset % 4 !== 0) throw new RangeError(`${where}: chunk ${q} is not aligned`);
  h.bytes = got;
  h.c = q;
}

/** Elements `[w0, w1)` of `ext` into `into` (from byte 0), chunk by chunk. */
function readExtent(
  ext: LocalExtent,
  w0: number,
  w1: number,
  into: Uint8Array,
  readAt: (path: string, offset: number, into: Uint8Array) => number,
  where: string,
): void {
  const item = ext.itemsize;
  for (let e = w0; e < w1;) {
    const q = Math.floor(e / ext.chunk), stop = Math.min(w1, (q + 1) * ext.chunk);
    const dst = into.subarray((e - w0) * item, (stop - w0) * item);
    const at = ext.addresses[q];
    if (at === -1) dst.fill(0); // a chunk never written
    else if (!(at >= 0) || readAt(ext.path, at + (e - q * ext.chunk) * item, dst) < dst.length) {
      throw new CorruptFileError(`${where}: entries ${e}..${stop} are past the end of the file`);
    }
    e = stop;
  }
}

/** A share's numbers in one buffer, its strings apart (for a worker; see `unpackShare`). */
export interface PackedShare {
  ix: Omit<LocalExtent, "addresses" | "counted"> | Omit<ChunkFiles, "counted">;
  val: Omit<LocalExtent, "addresses" | "counted"> | Omit<ChunkFiles, "counted">;
  size: number;
  w: number;
  where: string;
  /** Counts of the packed arrays: spans, lines, chunks of ix and of val, keep. */
  counts: [number, number, number, number, number];
}

/**
 * `[starts n][ends n][indptr lines + 1][ix addresses][val addresses]` as
 * float64, then `keep` as int32, in one buffer; the rest as `PackedShare`.
 */
export function packShare(share: KeptFileShare): { spec: PackedShare; bytes: Uint8Array } {
  const { spans, indptr, keep, ix, val } = share;
  const n = spans.n, lines = indptr.length - 1;
  // Chunk files' addresses are their paths (in the spec): none packed.
  const ixAt = "kind" in ix ? new Float64Array(0) : ix.addresses;
  const valAt = "kind" in val ? new Float64Array(0) : val.addresses;
  const m1 = ixAt.length, m2 = valAt.length;
  const floats = 2 * n + lines + 1 + m1 + m2;
  const f = new Float64Array(floats + Math.ceil(keep.length / 2));
  f.set(spans.starts.subarray(0, n));
  f.set(spans.ends.subarray(0, n), n);
  f.set(indptr, 2 * n);
  f.set(ixAt, 2 * n + lines + 1);
  f.set(valAt, 2 * n + lines + 1 + m1);
  new Int32Array(f.buffer, 8 * floats, keep.length).set(keep);
  return {
    spec: {
      ix: specOf(ix),
      val: specOf(val),
      size: share.size,
      w: share.w,
      where: share.where,
      counts: [n, lines, m1, m2, keep.length],
    },
    bytes: new Uint8Array(f.buffer),
  };
}

/** An extent without what stays on this thread (`counted`) or is packed (`addresses`). */
function specOf(e: LocalExtent | ChunkFiles): PackedShare["ix"] {
  if ("kind" in e) {
    const { counted: _, ...rest } = e;
    return rest;
  }
  const { addresses: _a, counted: _c, ...rest } = e;
  return rest;
}

/** `packShare` undone (views of `bytes`). */
export function unpackShare(spec: PackedShare, bytes: Uint8Array): KeptFileShare {
  const [n, lines, m1, m2, kl] = spec.counts;
  const floats = 2 * n + lines + 1 + m1 + m2;
  if (bytes.byteOffset % 8 !== 0 || bytes.byteLength < 8 * floats + 4 * kl) {
    throw new CorruptFileError("a filtered read's share arrived damaged");
  }
  const f = new Float64Array(bytes.buffer, bytes.byteOffset, floats);
  const at = 2 * n + lines + 1;
  return {
    ix: "kind" in spec.ix ? spec.ix : { ...spec.ix, addresses: f.subarray(at, at + m1) },
    val: "kind" in spec.val
      ? spec.val
      : { ...spec.val, addresses: f.subarray(at + m1, at + m1 + m2) },
    size: spec.size,
    w: spec.w,
    where: spec.where,
    spans: { starts: f.subarray(0, n), ends: f.subarray(n, 2 * n), n },
    indptr: f.subarray(2 * n, at),
    keep: new Int32Array(bytes.buffer, bytes.byteOffset + 8 * floats, kl),
  };
}

/** Kept entries in one buffer: `[indptr]` as float64, the values' words, the indices. */
export function packKept(k: KeptEntries): Uint8Array {
  if (k.packed) return k.packed;
  const lines = k.indptr.length - 1, o = k.indices.length;
  const out = new Uint8Array(8 * (lines + 1) + 4 * (k.words.length + o));
  new Float64Array(out.buffer, 0, lines + 1).set(k.indptr);
  new Uint32Array(out.buffer, 8 * (lines + 1), k.words.length).set(k.words);
  new Int32Array(out.buffer, 8 * (lines + 1) + 4 * k.words.length, o).set(k.indices);
  return out;
}

/** `packKept` undone, for a share of `lines` lines and `w` words a value. */
export function unpackKept(b: Uint8Array, lines: number, w: number): KeptEntries {
  const head = 8 * (lines + 1), o = (b.length - head) / (4 * w + 4);
  if (!Number.isInteger(o) || o < 0 || b.byteOffset % 8 !== 0) {
    throw new CorruptFileError("a decoding worker answered a filtered read of the wrong size");
  }
  return {
    indptr: new Float64Array(b.buffer, b.byteOffset, lines + 1),
    words: new Uint32Array(b.buffer, b.byteOffset + head, o * w),
    indices: new Int32Array(b.buffer, b.byteOffset + head + 4 * o * w, o),
  };
}
