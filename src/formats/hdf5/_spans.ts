// Element spans of a 1-D dataset stored uncompressed (contiguous, or in
// unfiltered chunks) as file pieces kept in parallel number arrays (no
// object per piece: a scattered CSR selection makes ~100,000 of them), and
// a local file read window by window straight into the output.
import { CorruptFileError } from "../../errors.ts";
import { type ByteReader, SYNC_READ } from "./_bytes_io.ts";
import { fetchPieces, guard, type Piece, type ReadOptions, SYNC_GAP } from "./_scheduler.ts";
import { sizeOf } from "./_parse.ts";
import type { H5Dataset, H5File } from "./h5file.ts";

/** File pieces: bytes `[off[k], off[k] + len[k])` go to `into[k]` of the output. */
export interface SpanPieces {
  off: Float64Array;
  len: Float64Array;
  into: Float64Array;
}

/**
 * The pieces of spans `[starts[k], ends[k])` (elements of `elem` bytes) of a
 * dataset at `address` (contiguous) or in chunks of `extent` elements whose
 * addresses `at` gives by chunk number (-1: never written, left zero).
 */
export function spanPieces(
  starts: Float64Array,
  ends: Float64Array,
  n: number,
  elem: number,
  address: number | Float64Array,
  extent: number,
): SpanPieces {
  let o = 0;
  if (typeof address === "number") {
    const off = new Float64Array(n), len = new Float64Array(n), into = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const s = starts[k], bytes = (ends[k] - s) * elem;
      off[k] = address + s * elem;
      len[k] = bytes;
      into[k] = o;
      o += bytes;
    }
    return { off, len, into };
  }
  // Pieces: one per span and chunk it touches (typed arrays of that many).
  let m = 0;
  for (let k = 0; k < n; k++) {
    if (ends[k] > starts[k]) {
      m += Math.floor((ends[k] - 1) / extent) - Math.floor(starts[k] / extent) + 1;
    }
  }
  const off = new Float64Array(m), len = new Float64Array(m), into = new Float64Array(m);
  let j = 0;
  for (let k = 0; k < n; k++) {
    const e = ends[k];
    for (let r = starts[k]; r < e;) {
      const q = Math.floor(r / extent), c0 = q * extent;
      const stop = e < c0 + extent ? e : c0 + extent;
      const a = q < address.length ? address[q] : -1;
      if (a >= 0) {
        off[j] = a + (r - c0) * elem;
        len[j] = (stop - r) * elem;
        into[j++] = o;
      }
      o += (stop - r) * elem;
      r = stop;
    }
  }
  return { off: off.subarray(0, j), len: len.subarray(0, j), into: into.subarray(0, j) };
}

/**
 * Read `pieces` into `out`. A local file, pieces in file order: windows of
 * pieces at most `syncGap` apart read into `out` at the first piece's place
 * and moved down over the gaps; otherwise the general scheduler.
 */
export async function fetchSpans(
  src: ByteReader,
  label: string,
  { off, len, into }: SpanPieces,
  out: Uint8Array,
  options: ReadOptions,
): Promise<void> {
  const m = off.length;
  let ordered = !!src.readIntoSync && !options.cost;
  for (let k = 1; k < m && ordered; k++) {
    ordered = off[k] >= off[k - 1] + len[k - 1] && into[k] >= into[k - 1] + len[k - 1] &&
      len[k] <= SYNC_READ;
  }
  if (!ordered || (m && len[0] > SYNC_READ)) {
    const pieces = Array.from(
      off,
      (offset, k): Piece => ({ offset, length: len[k], into: into[k] }),
    );
    return await fetchPieces(src, label, pieces, out, options);
  }
  const readSync = src.readIntoSync!;
  const gap = Math.max(options.gap ?? 4096, options.syncGap ?? SYNC_GAP);
  await guard(label, () => {
    for (let i = 0; i < m;) {
      const base = into[i], start = off[i];
      let j = i + 1, end = start + len[i];
      // Extend while the next piece is near, fits the window and the
      // output, and lands at or before where the window puts it.
      for (; j < m; j++) {
        const e = off[j] + len[j];
        if (
          off[j] - end > gap || e - start > SYNC_READ || base + e - start > out.length ||
          into[j] - base > off[j] - start
        ) break;
        end = e;
      }
      const w = end - start;
      if (readSync(start, out, base, w) < w) {
        throw new CorruptFileError(`"${label}" is truncated: data at ${start} is missing`);
      }
      for (let k = i + 1; k < j; k++) {
        const from = base + off[k] - start, to = into[k], l = len[k];
        // Output bytes between two pieces (a never-written chunk): zero
        // again (nothing moved there is read later: pieces only move down).
        const gap = into[k - 1] + len[k - 1];
        if (gap < to) out.fill(0, gap, to);
        if (from === to) continue;
        // A few bytes (an obs value): a loop beats a native call. Forward is
        // safe: every piece moves down.
        if (l <= 32) { for (let b = 0; b < l; b++) out[to + b] = out[from + b]; }
        else out.copyWithin(to, from, from + l);
      }
      // Gap bytes past the last piece: zero again (later pieces overwrite
      // their own bytes; bytes no piece writes must stay zero).
      const tail = into[j - 1] + len[j - 1];
      if (tail < base + w) out.fill(0, tail, base + w);
      i = j;
    }
    return Promise.resolve();
  });
}

/** One range per chunk row the spans touch (what the chunk index is asked for). */
function chunkRows(starts: Float64Array, ends: Float64Array, n: number, extent: number) {
  const out: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    if (ends[k] <= starts[k]) continue;
    for (let q = Math.floor(starts[k] / extent); q * extent < ends[k]; q++) {
      if (!out.length || out[out.length - 1][0] < q * extent) {
        out.push([q * extent, q * extent + 1]);
      }
    }
  }
  return out;
}

/** {@linkcode H5Dataset.readSpans}: rows `[starts[k], ends[k])` along the first dimension. */
export async function readSpans(
  ds: H5Dataset,
  file: H5File,
  starts: Float64Array,
  ends: Float64Array,
  n: number,
  options: ReadOptions,
  into?: Uint8Array,
): Promise<Uint8Array> {
  // Rows of `elem` bytes: stored one after another when contiguous, or in
  // unfiltered chunks spanning whole rows. `into`: a buffer to read them
  // to (its start; long enough), else a new one.
  const layout = ds.info.layout, shape = ds.shape;
  const elem = sizeOf(ds.type) * shape.slice(1).reduce((a, b) => a * b, 1);
  const chunked = layout?.kind === "chunked" && !(ds.info.filters ?? []).length &&
    layout.chunk.length === shape.length && layout.chunk.every((c, d) => !d || c === shape[d]);
  if (shape.length < 1 || !(layout?.kind === "contiguous" || chunked) || n === 0) {
    // Compressed chunks of whole rows: picked where they are undone.
    const picked = n > 0 ? await ds.readPickedSpans(starts, ends, n, options) : undefined;
    if (picked && !into) return picked;
    const rows = picked ?? await ds.readRows(
      Array.from({ length: n }, (_, k) => [starts[k], ends[k]]),
      options,
    );
    if (!into) return rows;
    into.set(rows);
    return into.subarray(0, rows.length);
  }
  let total = 0;
  for (let k = 0; k < n; k++) {
    if (!(starts[k] >= (k ? ends[k - 1] : 0) && ends[k] >= starts[k] && ends[k] <= ds.shape[0])) {
      throw new CorruptFileError(
        `"${file.label}": elements ${starts[k]}..${ends[k]} of /${ds.path} are asked, ` +
          `it has ${ds.shape[0]} (its shape disagrees with the rest of the file)`,
      );
    }
    total += ends[k] - starts[k];
  }
  const out = into ? into.subarray(0, total * elem).fill(0) : new Uint8Array(total * elem);
  let pieces: SpanPieces;
  if (layout.kind === "contiguous") {
    if (layout.address === undefined) return out; // never written: fill value (zeros)
    pieces = spanPieces(starts, ends, n, elem, layout.address, Infinity);
  } else {
    const extent = (layout as { chunk: number[] }).chunk[0];
    const at = await ds.chunkAddresses(chunkRows(starts, ends, n, extent), extent);
    pieces = spanPieces(starts, ends, n, elem, at, extent);
  }
  await fetchSpans(file.source, file.label, pieces, out, options);
  // Ours alone: given back now rather than at the next collection (a
  // 50k-row batch of a CSR matrix plans ~7 MB of pieces).
  for (const a of [pieces.off, pieces.len, pieces.into]) (a.buffer as ArrayBuffer).transfer?.(0);
  return out;
}
