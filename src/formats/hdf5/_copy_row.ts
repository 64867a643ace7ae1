// One row of a decoded chunk into a row-major output buffer.
import type { ChunkRef } from "./_btree.ts";

/** Copy row `local` of a decoded chunk (which may cover only some columns) into `out`. */
export function copyRow(
  chunkData: Uint8Array,
  c: ChunkRef,
  local: number,
  out: Uint8Array,
  at: number,
  shape: number[],
  chunk: number[],
  strides: number[],
  elem: number,
): void {
  if (shape.length <= 1) {
    out.set(chunkData.subarray(local * elem, (local + 1) * elem), at);
    return;
  }
  // 2-D: the columns this chunk covers.
  const c1 = c.offset[1];
  const width = Math.min(chunk[1], shape[1] - c1);
  const from = (local * strides[0]) * elem;
  out.set(chunkData.subarray(from, from + width * elem), at + c1 * elem);
}
