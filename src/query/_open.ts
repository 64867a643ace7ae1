// A stored file opened for range reads: opened by its codec's range reader
// (zarr chunks by key, h5ad byte ranges through the storage backend).
import { UnsupportedFormatError } from "../errors.ts";
import type { CountingStorage } from "../storage/counting.ts";
import type { RangeReader } from "../formats/codec.ts";
import { codecForSuffix, streamableSuffixes } from "../formats/codecs.ts";

/** Open a stored file for streaming through the codec of its suffix (`.h5ad`, `.zarr`). */
export async function openRangeReader(
  backend: CountingStorage,
  key: string,
  suffix: string,
  label: string,
  cacheDir?: string,
): Promise<RangeReader> {
  const codec = codecForSuffix(suffix);
  if (!codec?.openRanges) {
    throw new UnsupportedFormatError(
      `cannot stream "${label}": streaming reads ${streamableSuffixes().join(" ")} stores, ` +
        `this is ${
          suffix || "a file without suffix"
        }; use file.load(), file.path() or file.stage()`,
    );
  }
  return await codec.openRanges(backend, key, { label, cacheDir });
}
