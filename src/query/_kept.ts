// Lines of a compressed matrix (CSR rows, CSC columns) with only the kept
// minor indices, read block by block: each block's indices and values land
// in two reused buffers and only the kept entries are copied out. A
// `subsetVar` of 10% then never materializes the other 90% (no fresh memory
// to fault in, no array as long as the selection for the garbage collector).
import { CorruptFileError } from "../errors.ts";
import { allocate, type Dtype, type NumericArray } from "../formats/anndata/matrix.ts";
import { chunkPlaces, type LocalChunks, type RangeArray } from "../formats/ranges.ts";
import type { Spans } from "./plan.ts";
import { largeArray } from "../formats/_memory.ts";
import {
  type ChunkFiles,
  type KeptEntries,
  keptEntries,
  keptFromChunks,
} from "../formats/_kept_filter.ts";
import { decodeBlosc } from "../formats/_blosc.ts";
import { decodeZstd } from "../formats/_zstd.ts";
import { keptOnPool } from "../formats/hdf5/_unfilter_pool.ts";

/**
 * Whether `readKept` can read these arrays: int32 indices, 4- or 8-byte
 * values, both uncompressed (`readSpansInto`) or both blosc chunks in local
 * files (`localChunks`; `readKept` may still decline those: then read the
 * lines whole and filter them).
 */
export function canReadKept(data: RangeArray, indices: RangeArray): boolean {
  const size = allocate(data.dtype, 0).BYTES_PER_ELEMENT;
  return indices.dtype === "int32" && (size === 4 || size === 8) &&
    ((!!data.readSpansInto && !!indices.readSpansInto) ||
      (!!data.localChunks?.() && !!indices.localChunks?.()));
}

/**
 * The entries of the element `spans` (in order; line `l` holds compact
 * elements `indptr[l]..indptr[l + 1]`) whose index `j` has `keep[j] >= 0`,
 * renumbered to `keep[j]`, with the new indptr.
 */
export async function readKept(
  data: RangeArray,
  indices: RangeArray,
  spans: Spans,
  indptr: Float64Array,
  keep: Int32Array,
  where: string,
): Promise<{ data: NumericArray; indices: Int32Array; indptr: Float64Array } | undefined> {
  const w = allocate(data.dtype, 0).BYTES_PER_ELEMENT / 4;
  const lines = indptr.length - 1, total = indptr[lines];
  const ixChunks = indices.localChunks?.(), valChunks = data.localChunks?.();
  if (ixChunks && valChunks) {
    return await readKeptChunks(ixChunks, valChunks, spans, indptr, keep, w, where, {
      size: Math.min(indices.shape[0], data.shape[0]),
      dtype: data.dtype,
    });
  }
  // A large read of local uncompressed files: shares of the lines read and
  // filtered on the decoding workers at once (this thread only joins them).
  if (total >= PARALLEL_ENTRIES && lines > 1) {
    const [ix, val] = await Promise.all([indices.localExtent?.(), data.localExtent?.()]);
    if (ix && val && ix.itemsize === 4 && val.itemsize === 4 * w) {
      const got = await keptOnPool(
        shareLines(spans, indptr, SHARES, where).map((part) => ({
          ix,
          val,
          size: Math.min(indices.shape[0], data.shape[0]),
          w,
          spans: part.spans,
          indptr: part.indptr,
          keep,
          where,
        })),
      );
      if (got && got !== "missing") {
        keptStats.parallel++;
        return joined(got, data.dtype, lines);
      }
    }
  }
  const it = keptEntries(spans, indptr, keep, w, where);
  const one = [new Float64Array(1), new Float64Array(1)];
  for (let r = it.next();; r = it.next()) {
    if (r.done) return joined([r.value], data.dtype, lines);
    one[0][0] = r.value.w0;
    one[1][0] = r.value.w1;
    await Promise.all([
      indices.readSpansInto!(one[0], one[1], 1, r.value.ixBuf),
      data.readSpansInto!(one[0], one[1], 1, r.value.valBuf),
    ]);
  }
}

/**
 * `readKept` of two arrays of blosc chunk files: shares of the lines
 * decoded and filtered on the workers (each chunk a share touches read and
 * decoded there once; only the kept entries come back), or on this thread
 * when there is no pool. Undefined when a chunk is not there (never
 * written: its fill value) or not blosc that this thread decodes: the
 * caller reads the lines whole then.
 */
async function readKeptChunks(
  ix: LocalChunks,
  val: LocalChunks,
  spans: Spans,
  indptr: Float64Array,
  keep: Int32Array,
  w: number,
  where: string,
  { size, dtype }: { size: number; dtype: Dtype },
): Promise<{ data: NumericArray; indices: Int32Array; indptr: Float64Array } | undefined> {
  const lines = indptr.length - 1;
  if (ix.itemsize !== 4 || val.itemsize !== 4 * w) return undefined;
  // A chunk where two shares meet is decoded by both: a share for every
  // CHUNKS_A_SHARE chunks touched, up to CHUNK_SHARES.
  const k = Math.min(
    CHUNK_SHARES,
    Math.max(1, Math.floor(touched(spans, ix.chunk) / CHUNKS_A_SHARE)),
  );
  const shares = [];
  for (const part of shareLines(spans, indptr, k, where)) {
    const [ixFiles, valFiles] = await Promise.all([
      chunkFiles(ix, part.spans),
      chunkFiles(val, part.spans),
    ]);
    if (!ixFiles || !valFiles) return undefined; // not local after all: read whole
    shares.push({
      ix: ixFiles,
      val: valFiles,
      size,
      w,
      spans: part.spans,
      indptr: part.indptr,
      keep,
      where,
    });
  }
  const got = chunksHere ? null : await keptOnPool(shares);
  if (got === "missing") return undefined;
  if (got) {
    keptStats.chunked++;
    return joined(got, dtype, lines);
  }
  // No pool: decoded here, chunk by chunk.
  const parts: KeptEntries[] = [];
  try {
    for (const share of shares) {
      parts.push(
        await keptFromChunks(share, async (ext, c) => {
          const from = ext === share.ix ? ix : val, cap = ext.chunk * ext.itemsize;
          const stored = await from.get(c);
          if (!stored) throw NOT_HERE;
          from.counted?.(stored.length, 1);
          let bytes: Uint8Array | null;
          try {
            // Not transient: another read may decode meanwhile.
            bytes = ext.kind === "zstd" ? await decodeZstd(stored, cap) : decodeBlosc(stored, cap);
          } catch (e) {
            if (!(e instanceof CorruptFileError)) throw e;
            throw new CorruptFileError(`${where}: chunk ${c}: ${e.message}`, { cause: e });
          }
          if (!bytes) throw NOT_HERE;
          return bytes;
        }),
      );
    }
  } catch (e) {
    if (e === NOT_HERE) return undefined;
    throw e;
  }
  keptStats.chunkedHere++;
  return joined(parts, dtype, lines);
}

/** Tests: chunk files decoded on this thread, as without a pool (see `keptChunksHere`). */
let chunksHere = false;

/** @internal Tests: decode chunk files on this thread (`true`) or on the workers; returns the previous choice. */
export function keptChunksHere(on: boolean): boolean {
  const was = chunksHere;
  chunksHere = on;
  return was;
}

/** Thrown (and caught) by readKeptChunks for a chunk it leaves to the caller. */
const NOT_HERE = new Error("a chunk readKept leaves to its caller");

/** The chunk files of `a` that `spans` (elements) lie in. */
async function chunkFiles(a: LocalChunks, spans: Spans): Promise<ChunkFiles | undefined> {
  const kind = a.codec ?? "blosc";
  if (!spans.n) return { kind, itemsize: a.itemsize, chunk: a.chunk, first: 0, paths: [] };
  const first = Math.floor(spans.starts[0] / a.chunk);
  const last = Math.floor((spans.ends[spans.n - 1] - 1) / a.chunk);
  const at: number[] = [];
  for (let c = first; c <= last; c++) at.push(c);
  // A shard's inner chunks: spans of its file; else a file each.
  const places = a.locate
    ? chunkPlaces(await Promise.all(at.map((c) => a.locate!(c))))
    : a.path
    ? { paths: at.map((c) => a.path!(c)) }
    : undefined;
  if (!places) return undefined;
  return {
    kind,
    itemsize: a.itemsize,
    chunk: a.chunk,
    first,
    ...places,
    ...(a.counted ? { counted: a.counted } : {}),
  };
}

/** The chunks of `chunk` elements that `spans` touch. */
function touched(spans: Spans, chunk: number): number {
  let n = 0, last = -1;
  for (let k = 0; k < spans.n; k++) {
    const a = Math.max(Math.floor(spans.starts[k] / chunk), last + 1);
    const b = Math.floor((spans.ends[k] - 1) / chunk);
    if (b >= a) n += b - a + 1;
    last = Math.max(last, b);
  }
  return n;
}

/**
 * Shares of a read of chunk files: a few per worker, each of several
 * chunks (a chunk where two shares meet is read and decoded by both).
 */
const CHUNK_SHARES = 4, CHUNKS_A_SHARE = 8;

/** Entries at least this many: read on the workers (see readKept). */
let PARALLEL_ENTRIES = 1 << 20;
/** How many reads went to the workers, chunk files' too, or were decoded here (tests). */
export const keptStats = { parallel: 0, chunked: 0, chunkedHere: 0 };

/**
 * @internal Tests: read on the workers from `entries` entries on
 * (`Infinity`: never); returns the previous bound.
 */
export function keptOnWorkersFrom(entries: number): number {
  const was = PARALLEL_ENTRIES;
  PARALLEL_ENTRIES = entries;
  return was;
}
/** Shares of the lines (several per worker: one slowed down does less). */
const SHARES = 8;

/** Shares' kept entries (in line order) as one matrix's data, indices and indptr. */
function joined(
  parts: KeptEntries[],
  dtype: Dtype,
  lines: number,
): { data: NumericArray; indices: Int32Array; indptr: Float64Array } {
  let o = 0;
  for (const p of parts) o += p.indices.length;
  const values = allocate(dtype, o);
  const words = new Uint32Array(values.buffer, values.byteOffset, values.byteLength / 4);
  const w = values.BYTES_PER_ELEMENT / 4;
  const ix = largeArray(Int32Array, o);
  const ptr = new Float64Array(lines + 1);
  let at = 0, line = 0;
  for (const p of parts) {
    words.set(p.words, at * w);
    ix.set(p.indices, at);
    const n = p.indptr.length - 1;
    for (let l = 1; l <= n; l++) ptr[line + l] = at + p.indptr[l];
    line += n;
    at += p.indices.length;
  }
  return { data: values, indices: ix, indptr: ptr };
}

/**
 * `spans` and `indptr` cut into about `k` shares of whole lines and equal
 * entries: each share's element spans (a span cut where a share ends) and
 * its indptr from 0.
 */
export function shareLines(
  spans: Spans,
  indptr: Float64Array,
  k: number,
  where: string,
): { spans: Spans; indptr: Float64Array }[] {
  const lines = indptr.length - 1, total = indptr[lines];
  const out: { spans: Spans; indptr: Float64Array }[] = [];
  let l0 = 0, si = 0, pos = spans.n ? spans.starts[0] : 0;
  for (let p = 1; p <= k && l0 < lines; p++) {
    // The first line whose start reaches this share's part of the entries.
    let l1 = lines;
    if (p < k) {
      const target = (total * p) / k;
      let lo = l0 + 1, hi = lines;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (indptr[mid] >= target) hi = mid;
        else lo = mid + 1;
      }
      l1 = lo;
    }
    const starts: number[] = [], ends: number[] = [];
    for (let need = indptr[l1] - indptr[l0]; need > 0;) {
      if (si >= spans.n) {
        throw new CorruptFileError(
          `${where}: indptr claims ${total} entries, the spans hold fewer`,
        );
      }
      const take = Math.min(spans.ends[si] - pos, need);
      starts.push(pos);
      ends.push(pos + take);
      pos += take;
      need -= take;
      if (pos === spans.ends[si] && ++si < spans.n) pos = spans.starts[si];
    }
    const base = indptr[l0];
    out.push({
      spans: { starts: Float64Array.from(starts), ends: Float64Array.from(ends), n: starts.length },
      indptr: indptr.slice(l0, l1 + 1).map((v) => v - base),
    });
    l0 = l1;
  }
  return out;
}
