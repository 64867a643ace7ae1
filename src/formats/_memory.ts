// Result arrays: large ones on huge pages when asked (LAMIN_HUGE_PAGES=1;
// see `hugePages` in src/_runtime.ts for why not by default). On warm
// memory, 160 MB filled in ~100 ms on 4 KiB pages against ~40 ms on 2 MiB
// pages (numpy, which anndata's arrays are, advises huge pages for arrays
// of 4 MiB and more); on memory a VM handed back to its host, the other
// way round.
import { adviseHugePages } from "../_runtime.ts";

/** Arrays of at least this many bytes are advised (two huge pages). */
export const LARGE = 4 << 20;

/**
 * A zeroed typed array of `length` elements of `Ctor`, to be filled by the
 * caller; from {@linkcode LARGE} bytes on, advised to live on huge pages
 * when that is on (`LAMIN_HUGE_PAGES=1`, see `hugePages` in _runtime.ts).
 */
export function largeArray<T extends ArrayBufferView>(
  Ctor: new (length: number) => T,
  length: number,
): T {
  const bpe = (Ctor as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ??
    (new Ctor(0) as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (length * bpe < LARGE) return new Ctor(length);
  const buf = new ArrayBuffer(length * bpe);
  adviseHugePages([new Uint8Array(buf)]);
  return new (Ctor as unknown as new (buffer: ArrayBuffer) => T)(buf);
}
