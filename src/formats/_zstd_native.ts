// The runtime's own zstd decoder (`node:zlib`: native in Deno 2.4+ and Node
// 22.15+), for zstd frames whose decoded size is known: ~1.5x our
// WebAssembly decoder (_wasm/zstd_frame.c) on zarr chunks of ~1 MB, slower
// on small frames (_zstd.ts decides which).
import * as zlib from "node:zlib";

type Native = (b: Uint8Array, o: { chunkSize: number; maxOutputLength: number }) => Uint8Array;
const native = (zlib as unknown as { zstdDecompressSync?: Native }).zstdDecompressSync;

/**
 * The zstd frame(s) `src` decoded natively into one new buffer of exactly
 * `size` bytes (never more: decoding stops past it), or null when the
 * runtime has no zstd, refuses the input, or it decodes to another size
 * (the caller's other decoders then say why).
 */
export function decodeZstdNative(src: Uint8Array, size: number): Uint8Array | null {
  if (!native) return null;
  let out: Uint8Array;
  try {
    out = native(src, { chunkSize: Math.max(64, size), maxOutputLength: Math.max(1, size) });
  } catch {
    return null;
  }
  return out.length === size ? new Uint8Array(out.buffer, out.byteOffset, size) : null;
}
