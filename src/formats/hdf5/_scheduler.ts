// The I/O scheduler of the HDF5 reader: pieces of a file to be read into
// buffers become few requests (nearby pieces coalesced, big ones read in
// place), run synchronously when small and local, else a few at a time.
import { CorruptFileError, LaminError } from "../../errors.ts";
import type { CostModel } from "../../storage/cost_model.ts";
import { planReads } from "../read_plan.ts";
import type { PartWatch } from "../ranges.ts";
import { type ByteReader, SYNC_READ } from "./_bytes_io.ts";

/** Options of range reads. */
export interface ReadOptions {
  /** Merge byte ranges whose gap is at most this (default 4 KiB); unused with `cost`. */
  gap?: number;
  /**
   * Local synchronous reads: pieces whose gap is at most this (default 8
   * KiB, or `gap` if larger) are read as one window into a reused scratch
   * buffer and copied out: a positional read costs ~4–9 µs, about what 8
   * KiB of page cache costs to copy. Unused with `cost`.
   */
  syncGap?: number;
  /** Requests in flight (default 8, or the cost model's parallelism). */
  concurrency?: number;
  /**
   * What a request costs on the store: when given, requests are chosen by
   * `planReads` (gaps read through when cheaper than a request, long reads
   * cut so several run at once) instead of by `gap`.
   */
  cost?: CostModel;
  /**
   * Local reads: called with each part of the output as it lands, while
   * the rest is still being read (checks overlap the I/O). Parts never
   * overlap; together they may cover less than the output (then the caller
   * checks what is missing itself).
   */
  watch?: PartWatch;
}

/** Bytes `[offset, offset + length)` of the file, to go to `into` of the output (or to `target`). */
export interface Piece {
  offset: number;
  length: number;
  into: number;
  target?: Uint8Array;
}

interface Group {
  offset: number;
  end: number;
  pieces: Piece[];
}

/** Reads of contiguous bytes are split at this size, so several run at once. */
const DIRECT_READ = 8 << 20;
/** Pieces this large are read in place, never merged with neighbours. */
const BIG_PIECE = 1 << 20;
/** The default of {@linkcode ReadOptions.syncGap}. */
export const SYNC_GAP = 8 << 10;
/** Windows of local synchronous reads land here (no await while in use). */
let scratch = new Uint8Array(0);

/** Run `fn`, turning low-level failures into CorruptFileError naming the file. */
export async function guard<T>(label: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LaminError) throw e;
    throw new CorruptFileError(`"${label}" is damaged: ${(e as Error).message}`, { cause: e });
  }
}

/** Read pieces (coalesced, bounded concurrency) into `out` (or each piece's own target). */
export async function fetchPieces(
  src: ByteReader,
  label: string,
  pieces: Piece[],
  out: Uint8Array,
  options: ReadOptions = {},
): Promise<void> {
  const gap = options.gap ?? 4096;
  let ordered = true;
  for (let i = 1; i < pieces.length && ordered; i++) {
    ordered = pieces[i - 1].offset <= pieces[i].offset;
  }
  const sorted: Piece[] = [];
  for (const p of ordered ? pieces : [...pieces].sort((a, b) => a.offset - b.offset)) {
    // Pieces that continue each other both in the file and in `out` (the
    // chunks of a dataset read whole) become one piece, read in place.
    const last = sorted[sorted.length - 1];
    if (
      last && !last.target && !p.target && last.offset + last.length === p.offset &&
      last.into + last.length === p.into && last.length < DIRECT_READ
    ) {
      // A new piece: the caller's are left as they are.
      sorted[sorted.length - 1] = {
        offset: last.offset,
        length: last.length + p.length,
        into: last.into,
      };
    } else sorted.push(p);
  }
  if (src.readIntoSync && !options.cost) {
    return await fetchLocal(src, label, sorted, out, options);
  }
  const groups: Group[] = options.cost ? planned(sorted, options.cost) : [];
  if (!options.cost) {
    for (const p of sorted) {
      const last = groups[groups.length - 1];
      if (
        last && p.offset - last.end <= gap && p.length < BIG_PIECE &&
        last.pieces[last.pieces.length - 1].length < BIG_PIECE
      ) {
        last.end = Math.max(last.end, p.offset + p.length);
        last.pieces.push(p);
      } else groups.push({ offset: p.offset, end: p.offset + p.length, pieces: [p] });
    }
  }
  const truncated = (g: Group) => truncation(label, g);
  const into = (p: Piece) => p.target ?? out.subarray(p.into, p.into + p.length);
  // Small reads of a local file: synchronously, in one loop (streaming a
  // subset makes tens of thousands of them; a promise each would double
  // their cost). The rest: async, a few in flight.
  const rest: Group[] = [];
  await guard(label, () => {
    for (const g of groups) {
      if (!src.readIntoSync || g.end - g.offset > SYNC_READ) rest.push(g);
      else if (g.pieces.length === 1) {
        if (src.readIntoSync(g.offset, into(g.pieces[0])) < g.end - g.offset) throw truncated(g);
      } else {
        const bytes = new Uint8Array(g.end - g.offset);
        scatter(label, g, bytes.subarray(0, src.readIntoSync(g.offset, bytes)), out);
      }
    }
    return Promise.resolve();
  });
  const lanes = Math.min(options.concurrency ?? options.cost?.parallelism ?? 8, rest.length);
  const slots = options.cost ? slotsOf(src, options.cost) : undefined;
  await guard(label, () => new GroupReads(src, label, rest, out, undefined, slots).run(lanes));
}

/**
 * Requests of one remote file in flight at once, across concurrent reads
 * (a scattered stream reads obs columns, string heaps, X and layers
 * together): at most the store's useful parallelism, smaller requests
 * first (a small one waits on latency, not bandwidth: it is soon done and
 * its caller moves on, while the large ones keep the connections busy).
 * Without a bound, the reads of many small pieces filled the HTTP client's
 * sockets and the matrices' metadata and large reads queued behind them;
 * metadata reads (the page cache) take no slot.
 */
class Slots {
  #free: number;
  readonly #waiting: { size: number; go: () => void }[] = [];

  constructor(n: number) {
    this.#free = n;
  }

  /** Wait, if need be, for a slot for a request of `size` bytes. */
  take(size: number): Promise<void> | undefined {
    if (this.#free > 0 && this.#waiting.length === 0) {
      this.#free--;
      return undefined;
    }
    return new Promise<void>((go) => {
      const w = this.#waiting;
      let i = w.length;
      while (i > 0 && w[i - 1].size > size) i--;
      w.splice(i, 0, { size, go });
    });
  }

  /** Give a slot back (to the smallest request waiting). */
  give(): void {
    const next = this.#waiting.shift();
    if (next) next.go();
    else this.#free++;
  }
}

const slotsBySource = new WeakMap<ByteReader, Slots>();

/** The request slots of remote file `src` (made once, sized by its cost model). */
function slotsOf(src: ByteReader, cost: CostModel): Slots {
  let s = slotsBySource.get(src);
  if (!s) slotsBySource.set(src, s = new Slots(Math.max(4, Math.round(cost.parallelism))));
  return s;
}

/**
 * Groups read a few at a time (by `fetchPieces`, and `fetchLocal` for its
 * large pieces), their state in fields rather than in closures over the
 * caller's variables: under Deno 2.9.6, concurrent
 * calls of the closure version sometimes (~1 in 8 streams of an h5ad from
 * S3, only once the code was optimised, never with `--no-maglev`) read one
 * call's group into another call's output, leaving zeros or a "truncated"
 * error (`bench/README.md`, eleventh session).
 */
class GroupReads {
  #next = 0;
  readonly #src: ByteReader;
  readonly #label: string;
  readonly #groups: readonly Group[];
  readonly #out: Uint8Array;
  readonly #watch?: PartWatch;
  readonly #slots?: Slots;

  constructor(
    src: ByteReader,
    label: string,
    groups: readonly Group[],
    out: Uint8Array,
    watch?: PartWatch,
    slots?: Slots,
  ) {
    this.#src = src;
    this.#label = label;
    this.#groups = groups;
    this.#out = out;
    this.#watch = watch;
    this.#slots = slots;
  }

  async run(lanes: number): Promise<void> {
    const all: Promise<void>[] = [];
    for (let i = 0; i < lanes; i++) all.push(this.#lane());
    await Promise.all(all);
  }

  async #lane(): Promise<void> {
    for (let i = this.#next++; i < this.#groups.length; i = this.#next++) {
      const g = this.#groups[i];
      if (!this.#slots) {
        await this.#read(g);
        continue;
      }
      await this.#slots.take(g.end - g.offset);
      try {
        await this.#read(g);
      } finally {
        this.#slots.give();
      }
    }
  }

  async #read(g: Group): Promise<void> {
    const src = this.#src, out = this.#out, length = g.end - g.offset;
    if (g.pieces.length === 1 && src.readInto) {
      // One piece: read straight into its place.
      const p = g.pieces[0];
      const target = p.target ?? out.subarray(p.into, p.into + p.length);
      if (await src.readInto(g.offset, target) < length) throw truncation(this.#label, g);
      if (this.#watch && !p.target) this.#watch(target);
    } else if (src.readChunks && length > STREAMED_REQUEST) {
      if (await src.readChunks(g.offset, length, scatterStream(g, out)) < length) {
        throw truncation(this.#label, g);
      }
    } else {
      const bytes = await src.read(g.offset, length);
      scatter(this.#label, g, bytes, out);
      for (const p of g.pieces) {
        if (this.#watch && !p.target) this.#watch(out.subarray(p.into, p.into + p.length));
      }
    }
  }
}

function truncation(label: string, g: Group): CorruptFileError {
  return new CorruptFileError(`"${label}" is truncated: data at ${g.offset} is missing`);
}

/** A request's bytes (all of group `g`) copied to its pieces. */
function scatter(label: string, g: Group, bytes: Uint8Array, out: Uint8Array): void {
  if (bytes.length < g.end - g.offset) throw truncation(label, g);
  for (const p of g.pieces) {
    const part = bytes.subarray(p.offset - g.offset, p.offset - g.offset + p.length);
    (p.target ?? out).set(part, p.target ? 0 : p.into);
  }
}

/**
 * A long request read through for its pieces: handed over as it arrives,
 * each part copied to the pieces it holds (no buffer of the request's
 * length: a scattered selection reads a whole X this way).
 */
function scatterStream(g: Group, out: Uint8Array): (bytes: Uint8Array, at: number) => void {
  const ps = g.pieces;
  let k = 0, last = -1;
  return (bytes: Uint8Array, at: number) => {
    const a = g.offset + at, b = a + bytes.length;
    if (at < last) k = 0; // a retried request starts again
    last = at;
    while (k < ps.length && ps[k].offset + ps[k].length <= a) k++;
    for (let j = k; j < ps.length && ps[j].offset < b; j++) {
      const p = ps[j];
      const s = Math.max(a, p.offset), e = Math.min(b, p.offset + p.length);
      if (e <= s) continue;
      const part = bytes.subarray(s - a, e - a);
      if (p.target) p.target.set(part, s - p.offset);
      else out.set(part, p.into + s - p.offset);
    }
  };
}

/** Requests longer than this, for several pieces, are scattered as their bytes arrive. */
const STREAMED_REQUEST = 1 << 20;

/**
 * Pieces (sorted by offset) of a local file: small ones read synchronously,
 * those a gap of at most `syncGap` apart as one window into a reused
 * scratch buffer (one positional read instead of one per piece), large
 * ones asynchronously, a few at a time.
 */
async function fetchLocal(
  src: ByteReader,
  label: string,
  sorted: Piece[],
  out: Uint8Array,
  options: ReadOptions,
): Promise<void> {
  const readSync = src.readIntoSync!;
  const watch = options.watch;
  const gap = Math.max(options.gap ?? 4096, options.syncGap ?? SYNC_GAP);
  const truncated = (offset: number) =>
    new CorruptFileError(`"${label}" is truncated: data at ${offset} is missing`);
  const big: Piece[] = [];
  // Pieces going to `out` in file order: a window can be read into `out`
  // itself and its pieces moved down over the gaps (no buffer, no view per piece).
  let monotone = true;
  for (let k = 0; k < sorted.length && monotone; k++) {
    const q = sorted[k];
    monotone = !q.target && (k === 0 || q.into >= sorted[k - 1].into + sorted[k - 1].length);
  }
  await guard(label, () => {
    for (let i = 0; i < sorted.length;) {
      const p = sorted[i];
      if (p.length > SYNC_READ) {
        big.push(p);
        i++;
        continue;
      }
      let j = i + 1, end = p.offset + p.length;
      for (; j < sorted.length; j++) {
        const q = sorted[j], qEnd = q.offset + q.length;
        if (q.offset - end > gap || (qEnd > end ? qEnd : end) - p.offset > SYNC_READ) break;
        if (qEnd > end) end = qEnd;
      }
      if (j === i + 1) {
        const got = p.target
          ? readSync(p.offset, p.target)
          : readSync(p.offset, out, p.into, p.length);
        if (got < p.length) throw truncated(p.offset);
        if (watch && !p.target) watch(out.subarray(p.into, p.into + p.length));
      } else if (monotone && inPlace(sorted, i, j, end, out.length)) {
        const base = p.into, w = end - p.offset;
        if (readSync(p.offset, out, base, w) < w) throw truncated(p.offset);
        for (let k = i + 1; k < j; k++) {
          const q = sorted[k], from = base + q.offset - p.offset;
          // Output bytes between two pieces (a never-written chunk): zero again.
          const gap = sorted[k - 1].into + sorted[k - 1].length;
          if (gap < q.into) out.fill(0, gap, q.into);
          if (from !== q.into) out.copyWithin(q.into, from, from + q.length);
        }
        // Gap bytes past the last piece: zero again (later pieces overwrite
        // their own bytes; bytes no piece writes must stay zero).
        const last = sorted[j - 1], tail = last.into + last.length;
        if (tail < base + w) out.fill(0, tail, base + w);
        for (let k = i; watch && k < j; k++) {
          watch(out.subarray(sorted[k].into, sorted[k].into + sorted[k].length));
        }
      } else {
        if (scratch.length < end - p.offset) scratch = new Uint8Array(SYNC_READ);
        const bytes = scratch.subarray(0, end - p.offset);
        if (readSync(p.offset, bytes) < bytes.length) throw truncated(p.offset);
        for (let k = i; k < j; k++) {
          const q = sorted[k], from = q.offset - p.offset;
          if (q.target) q.target.set(bytes.subarray(from, from + q.length));
          else if (q.length <= 32) {
            // A few bytes: a loop beats making a subarray.
            for (let b = 0; b < q.length; b++) out[q.into + b] = bytes[from + b];
          } else out.set(bytes.subarray(from, from + q.length), q.into);
          if (watch && !q.target) watch(out.subarray(q.into, q.into + q.length));
        }
      }
      i = j;
    }
    return Promise.resolve();
  });
  if (!big.length) return;
  const groups = big.map((p) => ({ offset: p.offset, end: p.offset + p.length, pieces: [p] }));
  const lanes = Math.min(options.concurrency ?? 8, big.length);
  await guard(label, () => new GroupReads(src, label, groups, out, watch).run(lanes));
}

/**
 * Whether pieces `i..j` (a window ending at file offset `end`) can be read
 * into `out` at the first one's place: the window fits, the pieces do not
 * overlap, and each lands at or before where the window puts it.
 */
function inPlace(sorted: Piece[], i: number, j: number, end: number, n: number): boolean {
  const p = sorted[i];
  if (p.into + end - p.offset > n) return false;
  for (let k = i + 1; k < j; k++) {
    const q = sorted[k], prev = sorted[k - 1];
    if (q.offset < prev.offset + prev.length) return false;
    if (q.into - p.into > q.offset - p.offset) return false;
  }
  return true;
}

/**
 * Pieces (sorted by offset) grouped into the requests `planReads` chooses
 * under `cost`; a piece that a request boundary cuts is split in two.
 */
function planned(pieces: Piece[], cost: CostModel): Group[] {
  const { requests } = planReads(pieces.map((p) => [p.offset, p.offset + p.length]), cost);
  const groups: Group[] = requests.map(([s, e]) => ({ offset: s, end: e, pieces: [] }));
  const find = (offset: number) => {
    // The request holding `offset` (requests cover every piece).
    let lo = 0, hi = groups.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (groups[mid].offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const p of pieces) {
    if (p.length <= 0) continue;
    let r = find(p.offset);
    let part = p;
    while (part.offset + part.length > groups[r].end) {
      const n = groups[r].end - part.offset;
      groups[r].pieces.push({
        offset: part.offset,
        length: n,
        into: part.into,
        ...(part.target ? { target: part.target.subarray(0, n) } : {}),
      });
      part = {
        offset: part.offset + n,
        length: part.length - n,
        into: part.target ? 0 : part.into + n,
        ...(part.target ? { target: part.target.subarray(n) } : {}),
      };
      r++;
    }
    groups[r].pieces.push(part);
  }
  return groups.filter((g) => g.pieces.length);
}
