// Zstandard frames as zarr stores them (numcodecs' Zstd, zarr v3's "zstd"
// codec): the frame header read and checked against what a chunk may hold
// before anything is decoded or allocated (RFC 8878, section 3.1.1), then
// decoded by the runtime's zstd (`node:zlib`, native: Deno 2.4+, Node
// 22.15+; 1.5-1.7x our WebAssembly decoder, _zstd_native.ts) bounded by that
// size, else by our WebAssembly decoder (_wasm/zstd_frame.c), or
// numcodecs' (loaded on first need) for the frames ours leaves. Decoding
// runs where it is called: the worker pool's workers call it for zarr
// chunks (../hdf5/_unfilter_worker.ts).
import { CorruptFileError, UnsupportedFormatError } from "../errors.ts";
import { decodeZstdWasm } from "./_blosc.ts";
import { decodeZstdNative } from "./_zstd_native.ts";

const MAGIC = 0xfd2fb528;

/**
 * The decoded size the zstd frame `src` declares (its Frame_Content_Size),
 * or undefined when it does not say. `CorruptFileError` when `src` is not a
 * zstd frame (skippable frames included: zarr chunks never start with one),
 * its header is cut short or reserved bits are set, or it declares more than
 * `cap` bytes.
 */
export function zstdContentSize(src: Uint8Array, cap: number): number | undefined {
  const bad = (what: string): never => {
    throw new CorruptFileError(`the zstd chunk is damaged: ${what}`);
  };
  if (src.length < 5) bad(`it is ${src.length} bytes long`);
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (v.getUint32(0, true) !== MAGIC) bad("it does not start with the zstd magic number");
  const fhd = src[4];
  if (fhd & 0x08) bad("a reserved bit of its frame header is set");
  const fcsFlag = fhd >> 6, single = (fhd >> 5) & 1, didFlag = fhd & 3;
  const fcsBytes = [single, 2, 4, 8][fcsFlag];
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][didFlag];
  if (src.length < at + fcsBytes) bad("its frame header is cut short");
  let size: number | undefined;
  if (fcsBytes === 1) size = src[at];
  else if (fcsBytes === 2) size = v.getUint16(at, true) + 256;
  else if (fcsBytes === 4) size = v.getUint32(at, true);
  else if (fcsBytes === 8) {
    const hi = v.getUint32(at + 4, true), lo = v.getUint32(at, true);
    size = hi >= 2 ** 21 ? Infinity : hi * 2 ** 32 + lo;
  }
  if (size !== undefined && size > cap) {
    bad(`it says it decodes to ${size} bytes, more than a chunk of ${cap} bytes`);
  }
  return size;
}

interface Decoder {
  decode(b: Uint8Array): Promise<Uint8Array>;
}

let numcodecsZstd: Promise<Decoder> | undefined;

/**
 * The zstd frame `src` decoded: exactly the size its header declares, which
 * must be at most `cap` (`CorruptFileError` otherwise, or when it does not
 * decode). By the runtime's zstd where it has one (a new buffer), else our
 * WebAssembly decoder (a view of its memory, valid until its next decode,
 * when `transient`; else a copy), or numcodecs' for what
 * it leaves (a dictionary, more than one frame). Null when the header does
 * not declare its size (the caller decodes it another way: numcodecs would
 * grow its output without bound). `src` may be reused by the caller once
 * this returns.
 */
export async function decodeZstd(
  src: Uint8Array,
  cap: number,
  transient = false,
): Promise<Uint8Array | null> {
  const size = zstdContentSize(src, cap);
  if (size === undefined) return null;
  // The runtime's (one decoder reused, into memory given: faster than ours
  // at every size, 4 KiB frames to 1 MiB: see _zstd_native.ts).
  const native = decodeZstdNative(src, size, transient);
  if (native) return native;
  // Ours (WebAssembly, zstd_frame.c): into the decoder's memory, a view of it when `transient`.
  const own = decodeZstdWasm(src, size, transient);
  if (own) return own;
  // numcodecs' own (zarrita's registry holds the checked codec that calls this).
  numcodecsZstd ??= import("numcodecs/zstd").then((m) =>
    (m.default as unknown as { fromConfig(c: unknown): Decoder }).fromConfig({ level: 0 })
  );
  let codec: Decoder;
  try {
    codec = await numcodecsZstd;
  } catch (e) {
    numcodecsZstd = undefined;
    throw new UnsupportedFormatError(
      `numcodecs' zstd decoder could not be loaded: ${(e as Error).message}`,
    );
  }
  let out: Uint8Array;
  try {
    out = await codec.decode(src);
  } catch (e) {
    throw new CorruptFileError(`the zstd chunk could not be decoded: ${(e as Error).message}`);
  }
  if (out.length !== size) {
    throw new CorruptFileError(
      `the zstd chunk decodes to ${out.length} bytes, its header says ${size}`,
    );
  }
  return out;
}
