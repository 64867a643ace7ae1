// Rows of a decoded chunk into a row-major output buffer.
import type { ChunkRef } from "./_btree.ts";

/**
 * Copy rows `[from, to)` of a decoded chunk (which may cover only some
 * columns) into `out` at `at`, `rowBytes` apart.
 */
export function copyRows(
  chunkData: Uint8Array,
  c: ChunkRef,
  [from, to]: [number, number],
  out: Uint8Array,
  at: number,
  rowBytes: number,
  shape: number[],
  chunk: number[],
  elem: number,
): void {
  if (shape.length <= 1) {
    out.set(chunkData.subarray(from * elem, to * elem), at);
    return;
  }
  // 2-D: the columns this chunk covers; a few bytes a row are copied by a
  // loop (cheaper than a subarray per row).
  const c1 = c.offset[1];
  const len = Math.min(chunk[1], shape[1] - c1) * elem, stride = chunk[1] * elem;
  for (let k = from, o = at + c1 * elem; k < to; k++, o += rowBytes) {
    const src = k * stride;
    if (len <= 64) { for (let b = 0; b < len; b++) out[o + b] = chunkData[src + b]; }
    else out.set(chunkData.subarray(src, src + len), o);
  }
}
