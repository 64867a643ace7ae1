// Sizes a file claims, checked against the file before anything is
// allocated for them: a few bytes patched to a huge dimension must give a
// CorruptFileError, not gigabytes of zeros or an out-of-memory crash.
import { CorruptFileError } from "../../errors.ts";
import { FILTER_ID } from "./_filters.ts";
import { type ObjectInfo, sizeOf } from "./_parse.ts";

/** zlib's largest compression ratio (deflate cannot do better than 1032:1). */
export const DEFLATE_MAX_RATIO = 1032;
/** LZF's: a back reference of 264 bytes takes 3 bytes. */
const LZF_MAX_RATIO = 88;
/** What chunks never written (the fill value) may add beyond what the file holds. */
const UNWRITTEN_SLACK = 64 << 20;
/** Chunks never written a chunk index may leave out. */
const UNWRITTEN_CHUNKS = 1 << 20;
/** HDF5's own limit on a chunk's size (H5Dchunk.c). */
const MAX_CHUNK_BYTES = 2 ** 32 - 1;

/**
 * Check a dataset's claimed shape, chunk shape and storage against the
 * size of the file: contiguous data must lie inside the file and be as
 * large as the shape says; a chunked dataset cannot hold more than its
 * filters could inflate the whole file to (plus a margin for chunks never
 * written). `CorruptFileError` naming the dataset otherwise.
 */
export function checkClaims(info: ObjectInfo, fileSize: number, where: string): void {
  const shape = info.shape ?? [];
  const bad = (what: string): never => {
    throw new CorruptFileError(
      `${where} claims ${what}, which the file (${fileSize} bytes) cannot hold: ` +
        `the file is damaged; fetch or write it again`,
    );
  };
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) bad(`a dimension of ${d}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) bad(`shape [${shape.join(", ")}]`);
  if (!info.type || !info.layout) return;
  const elem = sizeOf(info.type);
  const bytes = n * elem;
  const layout = info.layout;
  const shapeText = `shape [${shape.join(", ")}] (${bytes} bytes)`;
  if (layout.kind === "compact") {
    if (bytes > layout.data.length) {
      bad(`${shapeText} in ${layout.data.length} bytes of its header`);
    }
    return;
  }
  if (layout.kind === "contiguous") {
    if (layout.address === undefined) {
      if (bytes > UNWRITTEN_SLACK) bad(`${shapeText} never written`);
      return;
    }
    if (layout.size < bytes) bad(`${shapeText} stored in ${layout.size} bytes`);
    if (layout.address + layout.size > fileSize) {
      bad(`${layout.size} bytes of data at byte ${layout.address}`);
    }
    return;
  }
  const chunk = layout.chunk;
  if (chunk.length !== shape.length) {
    bad(`chunks of ${chunk.length} dimensions for ${shape.length} dimensions`);
  }
  let chunkBytes = elem, chunks = 1;
  for (const [i, c] of chunk.entries()) {
    if (!(c >= 1)) bad(`a chunk dimension of ${c}`);
    chunkBytes *= c;
    chunks *= Math.ceil(shape[i] / c);
  }
  if (chunkBytes > MAX_CHUNK_BYTES) bad(`chunks of ${chunkBytes} bytes`);
  const filters = info.filters ?? [];
  const ratio = filters.some((f) => f.id === FILTER_ID.deflate)
    ? DEFLATE_MAX_RATIO
    : filters.some((f) => f.id === FILTER_ID.lzf)
    ? LZF_MAX_RATIO
    : 1;
  if (bytes > fileSize * ratio + UNWRITTEN_SLACK) bad(shapeText);
  // Each chunk written costs at least an index entry: 24 bytes in a
  // version 1 B-tree, 8 in a version 4 index's arrays (none for an implicit
  // one, whose chunks all lie in the file: the check above bounds them).
  const entry = layout.index ? 8 : 24;
  if (layout.index?.type !== 2 && chunks > fileSize / entry + UNWRITTEN_CHUNKS) {
    bad(`${chunks} chunks`);
  }
}
