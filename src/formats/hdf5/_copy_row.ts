// Rows of a decoded chunk into a row-major output buffer; rows picked out of a span.
import type { ChunkRef } from "./_btree.ts";

/**
 * Copy `n` runs of rows of a decoded chunk (which may cover only some
 * columns) into `out`: run `k` is rows `[runs[3k], runs[3k + 1])` of the
 * chunk, going to `out` from byte `runs[3k + 2]`, `rowBytes` apart. The
 * views over the chunk and the output are made once for all the runs (a
 * scattered selection has ~10 runs a chunk, an obsm matrix 25 column chunks).
 */
export function copyRowRuns(
  chunkData: Uint8Array,
  c: ChunkRef,
  runs: Float64Array,
  n: number,
  out: Uint8Array,
  rowBytes: number,
  shape: number[],
  chunk: number[],
  elem: number,
): void {
  if (shape.length <= 1) {
    for (let k = 0; k < n; k++) {
      const from = runs[3 * k], to = runs[3 * k + 1];
      out.set(chunkData.subarray(from * elem, to * elem), runs[3 * k + 2]);
    }
    return;
  }
  // 2-D: the columns this chunk covers; a few bytes a row are copied by a
  // loop (cheaper than a subarray per row).
  const c1 = c.offset[1];
  const len = Math.min(chunk[1], shape[1] - c1) * elem, stride = chunk[1] * elem;
  const o0 = c1 * elem;
  if (
    len <= 64 && len % 4 === 0 && stride % 4 === 0 && rowBytes % 4 === 0 &&
    chunkData.byteOffset % 4 === 0 && (out.byteOffset + o0) % 4 === 0
  ) {
    // Narrow chunks (h5py chunks an obsm matrix 2 columns wide): 32-bit
    // words, a few a row (a byte loop moved 4x as many values).
    const src = new Uint32Array(chunkData.buffer, chunkData.byteOffset, chunkData.length >> 2);
    const dst = new Uint32Array(out.buffer, out.byteOffset + o0, (out.length - o0) >> 2);
    const words = len / 4, sStep = stride / 4, dStep = rowBytes / 4;
    for (let k = 0; k < n; k++) {
      const from = runs[3 * k], to = runs[3 * k + 1];
      let si = from * sStep, di = runs[3 * k + 2] / 4;
      for (let r = from; r < to; r++, si += sStep, di += dStep) {
        for (let b = 0; b < words; b++) dst[di + b] = src[si + b];
      }
    }
    return;
  }
  for (let k = 0; k < n; k++) {
    const from = runs[3 * k], to = runs[3 * k + 1];
    for (let r = from, o = runs[3 * k + 2] + o0; r < to; r++, o += rowBytes) {
      const src = r * stride;
      if (len <= 64) { for (let b = 0; b < len; b++) out[o + b] = chunkData[src + b]; }
      else out.set(chunkData.subarray(src, src + len), o);
    }
  }
}

/**
 * {@linkcode copyRowRuns} of every chunk of one row of chunks at once, when
 * they are narrow (a few 32-bit words a row each: h5py chunks an obsm
 * matrix 2 columns wide) and aligned: row by row, each output row written
 * whole from all the chunks, rather than chunk by chunk, which wrote every
 * output row once per chunk (25 times for a 50-column matrix). False when
 * the chunks are not such; nothing is copied then.
 */
export function copyRowRunsAcross(
  chunks: readonly Uint8Array[],
  refs: readonly ChunkRef[],
  runs: Float64Array,
  n: number,
  out: Uint8Array,
  rowBytes: number,
  shape: number[],
  chunk: number[],
  elem: number,
): boolean {
  const m = chunks.length, stride = chunk[1] * elem;
  if (shape.length !== 2 || m < 2 || stride % 4 || rowBytes % 4 || out.byteOffset % 4) return false;
  const srcs: Uint32Array[] = [], offs = new Int32Array(m), words = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const d = chunks[i], c1 = refs[i].offset[1];
    const len = Math.min(chunk[1], shape[1] - c1) * elem;
    if (len > 64 || len % 4 || d.byteOffset % 4 || (c1 * elem) % 4) return false;
    srcs.push(new Uint32Array(d.buffer, d.byteOffset, d.length >> 2));
    offs[i] = (c1 * elem) / 4;
    words[i] = len / 4;
  }
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length >> 2);
  const sStep = stride / 4, dStep = rowBytes / 4;
  // Small integers (the runs come as doubles): indexing stays on int32.
  for (let k = 0; k < n; k++) {
    const from = runs[3 * k] | 0, to = runs[3 * k + 1] | 0;
    for (let r = from, d = (runs[3 * k + 2] / 4) | 0; r < to; r++, d += dStep) {
      const si = r * sStep;
      for (let i = 0; i < m; i++) {
        const src = srcs[i], w = words[i], o = d + offs[i];
        for (let b = 0; b < w; b++) dst[o + b] = src[si + b];
      }
    }
  }
  return true;
}

/**
 * The rows of `ranges` (`rowBytes` each, `total` bytes in all) picked out of
 * `whole`, the bytes of rows `ranges[0][0]..` read at once.
 */
export function pickRows(
  whole: Uint8Array,
  ranges: readonly (readonly [number, number])[],
  rowBytes: number,
  total: number,
): Uint8Array {
  const out = new Uint8Array(total), first = ranges[0][0];
  let o = 0;
  for (const [s, e] of ranges) {
    const from = (s - first) * rowBytes, len = (e - s) * rowBytes;
    if (len <= 32) {
      // A few bytes: a loop beats making a subarray.
      for (let k = 0; k < len; k++) out[o + k] = whole[from + k];
    } else out.set(whole.subarray(from, from + len), o);
    o += len;
  }
  return out;
}
