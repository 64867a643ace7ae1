// Undoing the filters (gzip, shuffle, ...) of many chunks in parallel: the
// chunks are split into one batch per worker of a small pool of
// node:worker_threads workers (node:zlib's async calls run on the main
// thread in Deno, one after the other). Zarr's blosc chunks come one at a
// time (`decodeBloscChunk`) and go to the least busy worker. The pool is
// started on first use, kept referenced only while it has work, and its
// absence (a runtime that cannot start it) falls back to undoing the chunks
// here.
import { Worker } from "node:worker_threads";
import { CorruptFileError, StorageError, UnsupportedFormatError } from "../../errors.ts";
import { type FilterContext, unfilter } from "./_filters.ts";
import { checkIndices, chunkFileFits, chunkFileMost, picked } from "./_pick.ts";
import type { Filter } from "./_parse.ts";
import { bloscDecodable, decodeBlosc } from "../_blosc.ts";
import { decodeZstd, zstdContentSize } from "../_zstd.ts";
import {
  type KeptEntries,
  type KeptFileShare,
  type PackedShare,
  packShare,
  shareWork,
  unpackKept,
} from "../_kept_filter.ts";
import * as rt from "../../_runtime.ts";

/** One chunk to undo. */
export interface UnfilterJob {
  bytes: Uint8Array;
  filters: Filter[];
  mask: number;
  ctx: Omit<FilterContext, "values">;
  /** Only these byte ranges of the decoded chunk, concatenated (see `_pick.ts`). */
  pick?: ArrayLike<number>;
}

/**
 * An `UnfilterJob` whose `size` compressed bytes the worker reads itself
 * from `offset` of the local file `path` (this thread neither reads nor
 * holds them).
 */
export interface UnfilterFileJob extends Omit<UnfilterJob, "bytes"> {
  path: string;
  offset: number;
  size: number;
}

/** One blosc chunk to decode, to at most `cap` bytes (see ../_blosc.ts). */
export interface BloscJob {
  bytes: Uint8Array;
  /** `codec`: a bare zstd frame (zarr's zstd compressor), not a blosc chunk. */
  blosc: { cap: number; codec?: "zstd" };
  /** Only these byte ranges of the decoded chunk, concatenated (see `_pick.ts`). */
  pick?: ArrayLike<number>;
  /** The bytes are int32 values that must lie in `[0, check)` (sparse indices). */
  check?: number;
}

/**
 * One blosc chunk the worker reads itself from a local file (so this thread
 * neither reads nor holds its bytes), then decodes like a `BloscJob`.
 */
export interface BloscFileJob {
  path: string;
  blosc: { cap: number; codec?: "zstd" };
  pick?: ArrayLike<number>;
  check?: number;
}

/**
 * Blosc chunk files of a 1-D array the worker reads, decodes and picks from
 * into the job's buffer (the output array, transferred there and back):
 * chunk `k`'s byte ranges `picks[k]` (as `picked` takes them), one after
 * the other from byte `ats[k]`. Nothing is copied on this thread, and the
 * output's first writes (page faults) happen on the worker.
 */
export interface BloscIntoJob {
  into: {
    paths: string[];
    picks: ArrayLike<number>[];
    ats: number[];
    cap: number;
    check?: number;
    /**
     * A 2-D array's chunks: the picked bytes are rows of `src` bytes, of
     * which the first `widths[k]` go to `ats[k]`, the next row's `dst`
     * bytes further (a chunk's columns of the output's rows).
     */
    rows?: { src: number; dst: number; widths: number[] };
    /** A matrix read alone (a dense one's rows): may be cut into parts (see `intoParts`). */
    cut?: boolean;
    /** Each chunk's name in errors (its coordinates, e.g. "1.2"); else its file's name. */
    names?: string[];
    /** The chunks are bare zstd frames (zarr's zstd compressor), not blosc. */
    codec?: "zstd";
    /**
     * Chunk `k` is bytes `spans[2k]..+spans[2k + 1]` of `paths[k]` (an inner
     * chunk of a zarr v3 shard), not the whole file; an offset of -1: never
     * written (left to the caller, as a missing file is).
     */
    spans?: number[];
  };
}

/**
 * Chunks of one dataset of the local HDF5 file `path` (stored at
 * `offsets[k]`, `sizes[k]` bytes, filter mask `masks[k]`) the worker reads
 * and undoes (as `unfilter` does; `expected` bytes each, `elem` bytes an
 * element), then picks from into the job's buffer like a `BloscIntoJob`:
 * chunk `k`'s byte ranges `picks[k]` from byte `ats[k]`.
 */
export interface UndoIntoJob {
  into: {
    path: string;
    offsets: number[];
    sizes: number[];
    masks: number[];
    filters: Filter[];
    elem: number;
    /** A chunk's bytes once undone; 0: each its stored size (pieces of a contiguous dataset, no filters). */
    expected: number;
    where: string;
    picks: ArrayLike<number>[];
    ats: number[];
    /** Sparse indices (int32; 64-bit with `checkWide`): each chunk's picked values checked in `[0, check)` where they land. */
    check?: number;
    /** The values `check` bounds are 64-bit (int64, or uint64 read as int64). */
    checkWide?: boolean;
    /** A matrix read alone (a dense one's rows): may be cut into parts (see `intoParts`). */
    cut?: boolean;
    /** A 2-D dataset chunked across its columns: as `BloscIntoJob`'s `rows`. */
    rows?: { src: number; dst: number; widths: number[] };
  };
}

/**
 * Lines of a sparse matrix with only the kept minor indices, read by the
 * worker from local files (see ../_kept_filter.ts); its arrays travel
 * packed in the job's buffer (`packShare`), the answer too (`packKept`).
 */
export interface KeptJob {
  kept: PackedShare;
}

/** What a worker tells of a `BloscFileJob` besides its bytes. */
export interface FileJobInfo {
  /** Bytes read from the file. */
  read: number;
  /** Reads made (kept-entries shares, which read many windows). */
  requests?: number;
  /** No such file (a zarr chunk never written). */
  missing?: boolean;
  /** A blosc codec or filter the worker does not decode (bytes: none). */
  undecodable?: boolean;
  /**
   * Of a `BloscIntoJob`: the chunks left unwritten (no file: never
   * written, the fill value; or a codec the worker does not decode).
   */
  skipped?: number[];
}

/** Below this many compressed bytes, a blosc chunk is decoded here. */
const MIN_POOLED_CHUNK = 64 << 10;

/** Below this many compressed bytes, a read's chunks are undone here. */
const MIN_PARALLEL_BYTES = 1 << 20;

interface Pending {
  resolve: (out: Uint8Array[], info?: (FileJobInfo | null)[]) => void;
  reject: (e: Error) => void;
}

/**
 * The workers, each one's jobs in flight (`busy`) and the bytes those jobs
 * decode (`load`, estimated: see `weight`).
 */
let pool: { workers: Worker[]; busy: number[]; load: number[] } | null | undefined;
const pending = new Map<number, Pending>();
/** Whether a worker has answered: from then on, bytes are transferred. */
let proven = false;
let nextId = 0;

function startPool(): typeof pool {
  try {
    const n = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));
    const url = new URL("./_unfilter_worker.ts", import.meta.url);
    const workers = Array.from({ length: n }, () => {
      const w = new Worker(url);
      w.unref();
      type Reply = {
        id: number;
        out?: ArrayBuffer[];
        lengths?: number[];
        info?: (FileJobInfo | null)[];
        error?: Error;
      };
      w.on("message", (m: Reply) => {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (!p) return;
        if (m.out) p.resolve(m.out.map((b, k) => new Uint8Array(b, 0, m.lengths?.[k])), m.info);
        else {
          const Kind = m.error?.name === "UnsupportedFormatError"
            ? UnsupportedFormatError
            : m.error?.name === "StorageError"
            ? StorageError
            : CorruptFileError;
          p.reject(new Kind(m.error?.message ?? "a chunk could not be decoded"));
        }
      });
      w.on("error", () => {
        // A pool that broke is not used again; reads fall back to this thread.
        if (pool) { for (const x of pool.workers) x.terminate(); }
        pool = null;
        for (const [id, p] of pending) {
          pending.delete(id);
          p.reject(new Error("a decoding worker stopped; read the file again"));
        }
      });
      return w;
    });
    return { workers, busy: workers.map(() => 0), load: workers.map(() => 0) };
  } catch {
    return null;
  }
}

/**
 * Start the pool's workers now, ahead of a read that will need them (a
 * zarr store's chunks are decoded on them): their start (~40 ms each on
 * this thread, then loading their module) overlaps the read's own first
 * steps instead of holding back its first decode.
 */
export function warmPool(): void {
  if (pool === undefined) pool = startPool();
}

/**
 * Whether the workers are running (started by an earlier read): work that
 * this thread can do itself goes to them only then, not at the cost of
 * starting them (~60-90 ms of this thread's time).
 */
export function poolRunning(): boolean {
  return !!pool;
}

function send(i: number, jobs: (UnfilterJob | BloscJob)[]): Promise<Uint8Array[]> {
  return sendJobs(i, jobs).then((r) => r.out);
}

function sendJobs(
  i: number,
  jobs: (
    | UnfilterJob
    | UnfilterFileJob
    | BloscJob
    | BloscFileJob
    | (KeptJob & { bytes: Uint8Array })
    | ((BloscIntoJob | UndoIntoJob) & { bytes: Uint8Array })
  )[],
  move = proven,
  load = weight(jobs),
): Promise<{ out: Uint8Array[]; info?: (FileJobInfo | null)[] }> {
  const p = pool!;
  const w = p.workers[i];
  const id = nextId++;
  p.load[i] += load;
  if (p.busy[i]++ === 0) w.ref();
  return new Promise<{ out: Uint8Array[]; info?: (FileJobInfo | null)[] }>((resolve, reject) => {
    pending.set(id, { resolve: (out, info) => resolve({ out, info }), reject });
    // As bare ArrayBuffers (see _unfilter_worker.ts). Copied until a worker
    // has answered once, unless `move` (so that a pool that cannot start leaves them to be
    // undone here), then transferred: Deno's structured clone copies at
    // ~2.7 ms per MiB on the sending thread, a transfer costs ~0.5 ms.
    const buffers = jobs.map((j) => "bytes" in j ? j.bytes.buffer as ArrayBuffer : null);
    const moved = buffers.filter((b): b is ArrayBuffer => b !== null);
    const specs = jobs.map((j) => {
      if (!("bytes" in j)) return j;
      const { bytes: _, ...spec } = j;
      return spec;
    });
    const packed = packPicks(specs);
    w.postMessage({ id, buffers, ...packed }, [
      ...(move ? moved : []),
      ...(packed.picks ? [packed.picks] : []),
    ]);
  }).then((r) => {
    proven = true;
    return r;
  }).finally(() => {
    p.load[i] -= load;
    if (--p.busy[i] === 0) w.unref();
  });
}

/**
 * Undo the filters of every chunk of `jobs` (the same as `unfilter` on
 * each), in parallel on the pool when there is enough to do. The jobs'
 * `bytes` must each own their whole buffer, a different one each (it is
 * sent to a worker, transferred: it is unusable afterwards).
 */
export async function unfilterAll(jobs: UnfilterJob[]): Promise<Uint8Array[]> {
  let total = 0;
  for (const j of jobs) total += j.bytes.byteLength;
  if (pool === undefined && total >= MIN_PARALLEL_BYTES && jobs.length > 1) pool = startPool();
  if (!pool || total < MIN_PARALLEL_BYTES || jobs.length < 2) {
    return jobs.map((j) =>
      picked(unfilter(j.bytes, j.filters, j.mask, j.ctx), j.pick, j.ctx.where)
    );
  }
  try {
    return await inBatches(pool, jobs, (j) => j.bytes.byteLength, send);
  } catch (e) {
    // Bytes already transferred (detached: empty) cannot be undone here.
    const gone = jobs.some((j) => j.bytes.byteLength === 0);
    if (e instanceof CorruptFileError || e instanceof UnsupportedFormatError || gone) throw e;
    // The pool failed (a runtime that cannot load the worker): undone here.
    return jobs.map((j) =>
      picked(unfilter(j.bytes, j.filters, j.mask, j.ctx), j.pick, j.ctx.where)
    );
  }
}

/**
 * Jobs cut into contiguous batches of about equal compressed size, four per
 * worker, handed out as workers finish (a worker slowed down by other
 * processes does less), two in flight per worker; the outputs in job order.
 */
async function inBatches<J>(
  p: NonNullable<typeof pool>,
  jobs: J[],
  size: (j: J) => number,
  run: (worker: number, batch: J[]) => Promise<Uint8Array[]>,
): Promise<Uint8Array[]> {
  let total = 0;
  for (const j of jobs) total += size(j);
  const target = total / (p.workers.length * 4);
  const batches: J[][] = [[]];
  let acc = 0;
  for (const j of jobs) {
    if (acc >= target) {
      batches.push([]);
      acc = 0;
    }
    batches[batches.length - 1].push(j);
    acc += size(j);
  }
  const outs: Uint8Array[][] = new Array(batches.length);
  let next = 0;
  const loop = async (i: number) => {
    while (next < batches.length) {
      const k = next++;
      outs[k] = await run(i, batches[k]);
    }
  };
  await Promise.all(p.workers.flatMap((_, i) => [loop(i), loop(i)]));
  return outs.flat();
}

/**
 * `unfilterAll` of chunks the workers read from their local file
 * themselves (no buffer to make, fill and hand over here); the bytes and
 * reads they made are told to `counted`. Null when there is too little to
 * do or no pool (read the chunks and call `unfilterAll`).
 */
export async function unfilterFiles(
  jobs: UnfilterFileJob[],
  counted?: (bytes: number, requests: number) => void,
): Promise<Uint8Array[] | null> {
  let total = 0;
  for (const j of jobs) total += j.size;
  if (total < MIN_PARALLEL_BYTES || jobs.length < 2) return null;
  if (pool === undefined) pool = startPool();
  if (!pool) return null;
  try {
    return await inBatches(pool, jobs, (j) => j.size, async (i, batch) => {
      const r = await sendJobs(i, batch);
      let read = 0;
      for (const io of r.info ?? []) read += io?.read ?? 0;
      counted?.(read, batch.length);
      return r.out;
    });
  } catch (e) {
    if (aboutTheData(e)) throw e;
    return null; // the pool failed: read here
  }
}

/**
 * Decode the blosc chunk `bytes` (to at most `cap` bytes; with `pick`, only
 * those byte ranges of it, concatenated) on the least busy
 * worker of the pool, or here when it is small or there is no pool. With
 * `check`, the result is int32 values that must lie in `[0, check)`
 * (sparse indices): checked where it is decoded (`CorruptFileError`). A
 * chunk of a codec `decodeBlosc` does not handle (zstd, ...) is decoded by
 * numcodecs on a worker; null when it is small or there is no pool (the
 * caller decodes it another way). A buffer that
 * `bytes` owns whole is transferred to the worker (unusable afterwards).
 */
export async function decodeBloscChunk(
  bytes: Uint8Array,
  cap: number,
  pick?: ArrayLike<number>,
  check?: number,
  codec?: "zstd",
): Promise<Uint8Array | null> {
  // Other codecs (zstd, ...): decoded by numcodecs on a worker; here, left to the caller.
  if (bytes.byteLength >= MIN_POOLED_CHUNK && pool === undefined) pool = startPool();
  const here = async () => {
    if (codec === undefined && !bloscDecodable(bytes)) return null;
    const out = codec === "zstd" ? await decodeZstd(bytes, cap) : decodeBlosc(bytes, cap);
    const p = out && picked(out, pick);
    if (p && check !== undefined) checkIndices(p, check);
    return p;
  };
  if (!pool || bytes.byteLength < MIN_POOLED_CHUNK) return await here();
  const i = leastBusy(pool);
  // The worker is sent the whole buffer: a view is copied out first.
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
  try {
    const r = await sendJobs(i, [{
      bytes: own,
      blosc: { cap, ...codecOf(codec) },
      ...extras(pick, check),
    }]);
    return r.info?.[0]?.undecodable ? null : r.out[0];
  } catch (e) {
    const gone = own.byteLength === 0;
    if (e instanceof CorruptFileError || e instanceof UnsupportedFormatError || gone) throw e;
    return here();
  }
}

/**
 * The blosc chunk in the local file `path` read and decoded (to at most
 * `cap` bytes; with `pick`, only those byte ranges, concatenated) on the
 * least busy worker, or here when there is no pool or the chunk is small
 * (below `MIN_POOLED_CHUNK` decoded: read in one bounded read at once). `bytes` undefined: no
 * such file; null: a codec `decodeBlosc` does not handle (read it another
 * way). `read`: the bytes read from the file. `check`: as for
 * `decodeBloscChunk`.
 */
export async function decodeBloscFile(
  path: string,
  cap: number,
  pick?: ArrayLike<number>,
  check?: number,
  codec?: "zstd",
): Promise<{ bytes: Uint8Array | null | undefined; read: number }> {
  const small = cap < MIN_POOLED_CHUNK;
  if (pool === undefined && !small) pool = startPool();
  const here = async () => {
    let stored: Uint8Array;
    try {
      if (small) {
        // A small chunk (a tiny array of uns, ...): read at once, in one
        // bounded read, not worth a worker's or the thread pool's round trip.
        const got = rt.readSmallSync(path, chunkFileMost(cap, codec));
        chunkFileFits(path, got.size, cap, codec);
        stored = got.bytes!;
      } else {
        chunkFileFits(path, (await rt.stat(path)).size, cap, codec);
        stored = await rt.readFile(path);
      }
    } catch (e) {
      if (e instanceof CorruptFileError) throw e;
      if (rt.isNotFound(e)) return { bytes: undefined, read: 0 };
      throw new StorageError(`could not read ${path}: ${(e as Error)?.message ?? e}`, {
        cause: e,
      });
    }
    return { bytes: await decodeBloscChunk(stored, cap, pick, check, codec), read: stored.length };
  };
  if (!pool || small) return await here();
  const i = leastBusy(pool);
  let r;
  try {
    r = await sendJobs(i, [{ path, blosc: { cap, ...codecOf(codec) }, ...extras(pick, check) }]);
  } catch (e) {
    if (aboutTheData(e)) throw e;
    return await here(); // the pool failed: read and decoded here
  }
  const info = r.info?.[0];
  if (!info) throw new CorruptFileError(`a decoding worker did not report on ${path}`);
  if (info.missing) return { bytes: undefined, read: 0 };
  return { bytes: info.undecodable ? null : r.out[0], read: info.read };
}

/** A job's `codec` field: none for blosc. */
function codecOf(codec?: "zstd"): { codec?: "zstd" } {
  return codec ? { codec } : {};
}

/** From this many bytes of output on, a read's chunks are decoded into it on one worker. */
const INTO_MIN = 1 << 20;

/**
 * Whether a read into `out` is worth an into job (`decodeBloscFilesInto`,
 * `undoFileInto`): a megabyte or more (a read's arrays then go to the
 * workers in turn; below, its chunks are spread over the workers and copied
 * on this thread), and `out` owns its whole buffer (the buffer is moved).
 */
export function intoWorthIt(out: ArrayBufferView): boolean {
  return out.byteLength >= INTO_MIN && out.byteOffset === 0 &&
    out.buffer.byteLength === out.byteLength;
}

/**
 * The blosc chunk files `job.paths` (local, chunks of one 1-D array, each
 * at most `job.cap` bytes decoded) read, decoded and picked from on one
 * worker straight into `out` (see `BloscIntoJob`; `check`: as for
 * `decodeBloscChunk`). `out` must own its
 * whole buffer: it is sent to the worker (transferred: unusable here
 * afterwards) and comes back as the returned `out`. `skipped`: the chunks
 * left to the caller (no file, another codec). Null when there is no pool
 * or it failed: then `out`, if it was transferred, is lost (empty).
 */
export async function decodeBloscFilesInto(
  job: BloscIntoJob["into"],
  out: Uint8Array,
): Promise<{ out: Uint8Array; read: number; skipped: number[] } | null> {
  const r = await intoOnPool(job, out);
  return r && { out: r.out, read: r.info?.read ?? 0, skipped: r.info?.skipped ?? [] };
}

/**
 * An into job (`BloscIntoJob`, `UndoIntoJob`) and its output sent to the
 * least busy worker; a large one, when other workers are idle, cut into
 * parts that go to them at once (see `intoParts`).
 */
async function intoOnPool(
  job: BloscIntoJob["into"] | UndoIntoJob["into"],
  out: Uint8Array,
): Promise<{ out: Uint8Array; info?: FileJobInfo | null } | null> {
  if (pool === undefined) pool = startPool();
  if (!pool) return null;
  const p = pool;
  try {
    const parts = intoParts(p, job);
    if (parts) return await inParts(p, job, parts, out);
    // Moved even before a worker has answered (a copy would cost more than
    // the decoding): lost if the pool fails, which the caller handles.
    const into = { into: job, bytes: out } as (BloscIntoJob | UndoIntoJob) & { bytes: Uint8Array };
    const r = await sendJobs(leastBusy(p), [into], true);
    return { out: r.out[0], info: r.info?.[0] };
  } catch (e) {
    if (aboutTheData(e)) throw e;
    return null; // the pool failed
  }
}

/** Chunks a group of a small read's into jobs has (see `decodeBloscFilesInGroups`). */
const GROUP_CHUNKS = 8;

/** Small reads sent in groups of chunks, and the groups (what tests look at). */
export const intoGroups = { reads: 0, groups: 0 };

/**
 * A small read's chunk files (`job`, as for `decodeBloscFilesInto`, its
 * output too small to be worth moving: see `intoWorthIt`) in groups of a
 * few chunks, each decoded on the least busy worker into an array of its
 * own and copied into `out` here: a message per group, not per chunk (a
 * scattered 1% query of a zarr atlas sent 256 one-chunk messages, each
 * costing both threads a round trip). `skipped`: as for
 * `decodeBloscFilesInto`; null when there is no pool or it failed (`out`
 * is untouched then: the caller reads every chunk itself).
 */
export async function decodeBloscFilesInGroups(
  job: BloscIntoJob["into"],
  out: Uint8Array,
): Promise<{ read: number; skipped: number[] } | null> {
  if (pool === undefined) pool = startPool();
  if (!pool) return null;
  const p = pool;
  const n = job.paths.length, ext = extents(job);
  const parts = (n > GROUP_CHUNKS ? cutParts(ext, Math.ceil(n / GROUP_CHUNKS)) : undefined) ??
    [partOf(ext, 0, n)];
  intoGroups.reads++;
  intoGroups.groups += parts.length;
  try {
    const results = await Promise.all(parts.map((part) => {
      const into = { into: partJob(job, part), bytes: new Uint8Array(part.end - part.at) };
      return sendJobs(leastBusy(p), [into], true);
    }));
    const info = placeParts(parts, results, out, 0);
    return { read: info.read, skipped: info.skipped ?? [] };
  } catch (e) {
    if (aboutTheData(e)) throw e;
    return null; // the pool failed
  }
}

/** Reads under way that must not cut jobs (see `withoutCuts`). */
let uncut = 0;

/**
 * `read` with no into job cut into parts: a cut job's later parts are
 * decoded into arrays of their own before they are copied into place,
 * which adds up to half the output to the peak memory (out-of-core
 * batches, which bound it, read this way).
 */
export async function withoutCuts<T>(read: () => Promise<T>): Promise<T> {
  uncut++;
  try {
    return await read();
  } finally {
    uncut--;
  }
}

/** Into jobs sent in parts, and the parts (what tests look at). */
export const intoSplits = { jobs: 0, parts: 0 };

/** Decoded bytes a part of a split into job has at least. */
const PART_MIN = 16 << 20;

/** Entries `[from, to)` of an into job, writing the output bytes `[at, end)`. */
export interface IntoPart {
  from: number;
  to: number;
  at: number;
  end: number;
}

/**
 * Where to cut `job` into parts for idle workers: a dense matrix's rows
 * (`cut`), which alone keep one worker busy (~250 ms for 400 MB of blosc)
 * while the others idle. Not a sparse matrix's arrays: they come in pairs
 * (data and indices) or more (layers), which the workers take in turn, and
 * cutting the first would leave the next waiting behind it. Each part is a
 * run of entries whose output bytes lie apart from every other part's
 * (whole chunk rows), so that it can be written into an array of its own
 * and copied into place (one copy of the later parts' bytes here, against
 * their decoding spread over the workers). Undefined when fewer than two
 * workers are idle, the job is small, or it has no such cut.
 */
function intoParts(
  p: { busy: number[] },
  job: BloscIntoJob["into"] | UndoIntoJob["into"],
): IntoPart[] | undefined {
  if (!job.cut || uncut > 0) return undefined;
  const idle = p.busy.filter((b) => b === 0).length;
  const n = job.ats.length;
  const work = "paths" in job ? n * job.cap : n * job.expected;
  const want = Math.min(idle, Math.floor(work / PART_MIN), n);
  if (want < 2) return undefined;
  return cutParts(extents(job), want);
}

/** Per entry, the output bytes `[lo, hi)` it writes (nothing: `lo === hi`). */
function extents(
  job: BloscIntoJob["into"] | UndoIntoJob["into"],
): { lo: Float64Array; hi: Float64Array } {
  const n = job.ats.length, lo = new Float64Array(n), hi = new Float64Array(n);
  const rows = "rows" in job ? job.rows : undefined;
  for (let k = 0; k < n; k++) {
    const pick = job.picks[k];
    let bytes = 0;
    for (let r = 0; r < pick.length; r += 2) bytes += pick[r + 1] - pick[r];
    lo[k] = job.ats[k];
    const lines = rows ? bytes / rows.src : 0;
    hi[k] = !rows
      ? lo[k] + bytes
      : lines > 0
      ? lo[k] + (lines - 1) * rows.dst + rows.widths[k]
      : lo[k];
  }
  return { lo, hi };
}

/**
 * Entries cut into up to `want` runs of about equal count, at entries `k`
 * where every earlier entry's bytes end before any later one's begin.
 */
export function cutParts(
  { lo, hi }: { lo: Float64Array; hi: Float64Array },
  want: number,
): IntoPart[] | undefined {
  const n = lo.length;
  const before = new Float64Array(n + 1), after = new Float64Array(n + 1);
  before[0] = -Infinity;
  for (let k = 0; k < n; k++) before[k + 1] = Math.max(before[k], hi[k]);
  after[n] = Infinity;
  for (let k = n - 1; k >= 0; k--) after[k] = Math.min(after[k + 1], lo[k]);
  const cuts = [0];
  for (let i = 1; i < want; i++) {
    // The valid cut nearest to an equal share, past the previous one.
    const target = Math.round((i * n) / want);
    let best = -1;
    for (let d = 0; d < n && best < 0; d++) {
      for (const k of [target - d, target + d]) {
        if (k > cuts[cuts.length - 1] && k < n && before[k] <= after[k]) {
          best = k;
          break;
        }
      }
    }
    if (best < 0) break;
    cuts.push(best);
  }
  if (cuts.length < 2) return undefined;
  cuts.push(n);
  const parts: IntoPart[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i], to = cuts[i + 1];
    parts.push(partOf({ lo, hi }, from, to));
  }
  return parts;
}

/** Entries `[from, to)` as a part: the output bytes `[at, end)` they write within. */
function partOf({ lo, hi }: { lo: Float64Array; hi: Float64Array }, from: number, to: number) {
  let at = Infinity, end = -Infinity;
  for (let k = from; k < to; k++) {
    if (hi[k] > lo[k]) [at, end] = [Math.min(at, lo[k]), Math.max(end, hi[k])];
  }
  return at === Infinity ? { from, to, at: 0, end: 0 } : { from, to, at, end };
}

/** Entries `[from, to)` of an into job, their output bytes moved `at` back. */
function partJob<J extends BloscIntoJob["into"] | UndoIntoJob["into"]>(
  job: J,
  { from, to, at }: IntoPart,
): J {
  const sub = {
    ...job,
    picks: job.picks.slice(from, to),
    ats: job.ats.slice(from, to).map((x) => x - at),
  };
  if ("paths" in job) {
    const b = sub as BloscIntoJob["into"];
    b.paths = job.paths.slice(from, to);
    if (job.spans) b.spans = job.spans.slice(2 * from, 2 * to);
    if (job.names) b.names = job.names.slice(from, to);
  } else {
    const u = sub as UndoIntoJob["into"];
    u.offsets = job.offsets.slice(from, to);
    u.sizes = job.sizes.slice(from, to);
    u.masks = job.masks.slice(from, to);
  }
  if (job.rows) sub.rows = { ...job.rows, widths: job.rows.widths.slice(from, to) };
  return sub;
}

/**
 * `job` in `parts` on as many workers at once: the first straight into
 * `out`, each other into an array of its bytes, copied into `out` here.
 */
async function inParts(
  p: NonNullable<typeof pool>,
  job: BloscIntoJob["into"] | UndoIntoJob["into"],
  parts: IntoPart[],
  out: Uint8Array,
): Promise<{ out: Uint8Array; info: FileJobInfo }> {
  intoSplits.jobs++;
  intoSplits.parts += parts.length;
  const results = await Promise.all(parts.map((part, i) => {
    const into = {
      into: i === 0 ? partJob(job, { ...part, at: 0 }) : partJob(job, part),
      bytes: i === 0 ? out : new Uint8Array(part.end - part.at),
    } as (BloscIntoJob | UndoIntoJob) & { bytes: Uint8Array };
    return sendJobs(leastBusy(p), [into], true);
  }));
  const whole = results[0].out[0];
  return { out: whole, info: placeParts(parts, results, whole, 1) };
}

/**
 * The parts' outputs from `first` on copied into `out` at their places,
 * and what the workers reported of all of them (bytes read, the chunks
 * left, numbered in the whole job).
 */
function placeParts(
  parts: IntoPart[],
  results: { out: Uint8Array[]; info?: (FileJobInfo | null)[] }[],
  out: Uint8Array,
  first: number,
): FileJobInfo {
  const info: FileJobInfo = { read: 0, skipped: [] };
  results.forEach((r, i) => {
    const part = parts[i], got = r.info?.[0];
    if (i >= first) out.set(r.out[0].subarray(0, part.end - part.at), part.at);
    info.read += got?.read ?? 0;
    for (const k of got?.skipped ?? []) info.skipped!.push(part.from + k);
  });
  return info;
}

/**
 * An HDF5 dataset's chunks in a local file read, undone and picked from on
 * one worker straight into `out` (see `UndoIntoJob`); `counted` is told the
 * bytes and reads it made. `out` must own its whole buffer: it is moved to
 * the worker and comes back as the returned array. Null when there is no
 * pool or it failed: then `out`, if it was moved, is lost (empty).
 */
export async function undoFileInto(
  job: UndoIntoJob["into"],
  out: Uint8Array,
  counted?: (bytes: number, requests: number) => void,
): Promise<Uint8Array | null> {
  const r = await intoOnPool(job, out);
  if (r) counted?.(r.info?.read ?? 0, job.offsets.length);
  return r && r.out;
}

/**
 * Shares of a sparse matrix's lines read from their local file(s) and
 * filtered to the kept minor indices, on the worker pool at once; null
 * when there is no pool (the caller reads them itself), "missing" when a
 * chunk file a share needs is not there (a zarr chunk never written: its
 * fill value is the caller's to apply).
 */
export async function keptOnPool(
  shares: KeptFileShare[],
): Promise<KeptEntries[] | "missing" | null> {
  if (pool === undefined) pool = startPool();
  if (!pool) return null;
  const p = pool;
  try {
    let missing = false;
    const got = await Promise.all(shares.map(async (share) => {
      const { spec, bytes } = packShare(share);
      // Weighed by the bytes it decodes or reads, not by its packed spec
      // (a few KiB: every share of a query went to one worker, in turn).
      const r = await sendJobs(leastBusy(p), [{ kept: spec, bytes }], proven, shareWork(share));
      const io = r.info?.[0];
      share.ix.counted?.(io?.read ?? 0, io?.requests ?? 0);
      if (io?.missing) missing = true;
      return io?.missing ? undefined : unpackKept(r.out[0], share.indptr.length - 1, share.w);
    }));
    return missing ? "missing" : got as KeptEntries[];
  } catch (e) {
    if (aboutTheData(e)) throw e;
    return null; // the pool failed: read here
  }
}

/**
 * Whether a worker's error is about the file (damaged, unsupported,
 * unreadable): raised as it is, where any other means the pool failed and
 * the work is done on this thread instead.
 */
function aboutTheData(e: unknown): boolean {
  return e instanceof CorruptFileError || e instanceof UnsupportedFormatError ||
    e instanceof StorageError;
}

/** Where a job's picks lie in a message's packed picks (see `packPicks`): start, length. */
export type PickRef = [number, number];

/**
 * The jobs of a message with their picks (`pick`, `into.picks`) moved into
 * one buffer of float64 (`picks`) and replaced by a `PickRef` each
 * (`pickRef`, `into.pickRefs`): Deno's worker_threads walks every element
 * of an array in a message on the receiving side (~70 ms a worker for the
 * ~400,000 picks of a scattered 50% query), a buffer's bytes it does not.
 */
function packPicks(
  jobs: object[],
): { jobs: object[]; picks?: ArrayBuffer } {
  let n = 0;
  for (const j of jobs as { pick?: ArrayLike<number>; into?: { picks: ArrayLike<number>[] } }[]) {
    n += j.pick?.length ?? 0;
    for (const p of j.into?.picks ?? []) n += p.length;
  }
  if (n === 0) return { jobs };
  const buf = new Float64Array(n);
  let o = 0;
  const put = (p: ArrayLike<number>): PickRef => {
    buf.set(p, o);
    o += p.length;
    return [o - p.length, p.length];
  };
  const out = jobs.map((job) => {
    const j = job as { pick?: ArrayLike<number>; into?: { picks: ArrayLike<number>[] } };
    if (j.pick) {
      const { pick, ...rest } = j;
      return { ...rest, pickRef: put(pick) };
    }
    if (j.into) {
      const { picks, ...into } = j.into;
      return { ...j, into: { ...into, pickRefs: picks.map(put) } };
    }
    return job;
  });
  return { jobs: out, picks: buf.buffer };
}

/** The optional fields of a blosc job, present only when given. */
function extras(
  pick?: ArrayLike<number>,
  check?: number,
): { pick?: ArrayLike<number>; check?: number } {
  return { ...(pick ? { pick } : {}), ...(check === undefined ? {} : { check }) };
}

/** The worker with the fewest bytes to decode in flight (then the fewest jobs). */
function leastBusy(p: NonNullable<typeof pool>): number {
  let i = 0;
  for (let k = 1; k < p.workers.length; k++) {
    if (p.load[k] < p.load[i] || (p.load[k] === p.load[i] && p.busy[k] < p.busy[i])) i = k;
  }
  return i;
}

/** The decoded size a chunk's header declares (at most `cap`); undefined when it says none. */
function declaredSize(bytes: Uint8Array, { cap, codec }: { cap: number; codec?: "zstd" }) {
  if (codec === "zstd") {
    try {
      return zstdContentSize(bytes, cap);
    } catch {
      return undefined; // damaged: the worker says so
    }
  }
  if (bytes.byteLength < 16) return undefined;
  return Math.min(cap, new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true));
}

/**
 * About the bytes `jobs` decode (what a worker's share of the work is
 * measured in): by job count, four 40 MB decodes of one stream went to the
 * worker that had fewer, but tiny, jobs at the time, one after another,
 * while the other worker idled (a zarr query's matrices: 191 instead of
 * ~125 ms).
 */
export function weight(jobs: readonly object[]): number {
  let sum = 0;
  for (
    const j of jobs as {
      bytes?: Uint8Array;
      size?: number;
      into?: { paths?: string[]; cap?: number };
      blosc?: { cap: number };
      ctx?: { expected?: number };
    }[]
  ) {
    // An into job: its chunks decoded whole (else its output's size).
    const into = j.into && ((j.into.paths?.length ?? 0) * (j.into.cap ?? 0) || j.bytes?.byteLength);
    // A chunk at hand: the size its header gives (a string column's cap is
    // 256 MB, which sent every other job to the other worker): blosc's
    // nbytes, or a zstd frame's declared size.
    const header = j.blosc && j.bytes ? declaredSize(j.bytes, j.blosc) : undefined;
    sum += into ||
      (header ?? j.blosc?.cap ?? j.ctx?.expected ?? j.size ?? j.bytes?.byteLength ?? 1 << 20);
  }
  return sum;
}
