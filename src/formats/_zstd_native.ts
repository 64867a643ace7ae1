// The runtime's own zstd decoder (`node:zlib`: native in Deno 2.4+ and Node
// 22.15+), for zstd frames whose decoded size is known: 1.5-1.7x our
// WebAssembly decoder (_wasm/zstd_frame.c) at every size from 4 KiB frames
// (2.1 against 3.1 us) to 1 MiB (4.1 against 2.5 GB/s on sparse float32).
//
// Into memory the caller gives: one decoder per thread, reset between
// frames, writing where it is told (the handle's `writeSync`, which
// `zstdDecompressSync` itself runs on a new buffer per call). A new buffer
// per ~1 MB chunk cost its pages' faults every time: 60 MB of zarr v3
// chunks decoded in 65-71 ms into new buffers, in 42-43 ms into one reused
// (libzstd's speed: numcodecs' Zstd in Python took 43-44 ms). The handle is
// node's internal interface: checked when first used, and when it is not
// there (another runtime, a later one), frames of 128 KiB and more go
// through `zstdDecompressSync` (a decoder and a buffer per call: below that,
// slower than ours).
import * as zlib from "node:zlib";

type Native = (b: Uint8Array, o: { chunkSize: number; maxOutputLength: number }) => Uint8Array;
const native = (zlib as unknown as { zstdDecompressSync?: Native }).zstdDecompressSync;

/** The handle of a node:zlib ZstdDecompress stream, as this module uses it. */
interface Handle {
  reset(): void;
  close(): void;
  writeSync(
    flush: number,
    src: Uint8Array,
    srcOff: number,
    srcLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: unknown;
}

/**
 * This thread's decoder: its handle, the state it writes (room left out,
 * input left), whether it reported an error, and the stream that owns them
 * (kept, so that nothing of it is collected while the handle is in use).
 */
let engine:
  | { handle: Handle; state: Uint32Array; finish: number; failed: boolean; stream: unknown }
  | null
  | undefined;
const EMPTY = new Uint8Array(0), PROBE = new Uint8Array(1);
/** The handle's offsets and lengths are unsigned 32-bit. */
const U32 = 0xffffffff;

function decoder(): typeof engine {
  if (engine !== undefined) return engine;
  engine = null;
  try {
    const Ctor = (zlib as unknown as { ZstdDecompress?: new () => unknown }).ZstdDecompress;
    if (!Ctor) return engine;
    const d = new Ctor() as {
      _handle?: Partial<Handle>;
      _writeState?: unknown;
      _finishFlushFlag?: unknown;
      on?: (event: string, f: () => void) => void;
    };
    const h = d._handle, state = d._writeState, finish = d._finishFlushFlag;
    if (
      typeof h?.reset !== "function" || typeof h.writeSync !== "function" ||
      typeof h.close !== "function" || typeof d.on !== "function" ||
      !(state instanceof Uint32Array) || state.length !== 2 || typeof finish !== "number"
    ) return engine;
    const e = { handle: h as Handle, state, finish, failed: false, stream: d };
    // Deno's handle throws on a damaged frame; Node's (22.15+) calls
    // `onerror` instead, whose own handler destroys the stream (an 'error'
    // event nobody listens to: the process's end) and closes the handle (a
    // later write aborts the process). Ours only notes it.
    h.onerror = () => {
      e.failed = true;
    };
    d.on("error", () => {});
    engine = e;
  } catch {
    engine = null;
  }
  return engine;
}

/** Drop this thread's decoder (a new one next time): it is not trusted after an error. */
function drop(e: NonNullable<typeof engine>): void {
  if (engine === e) engine = undefined;
  try {
    e.handle.close();
  } catch {
    // Already closed: nothing to free.
  }
}

/**
 * Decode the zstd frame `src` natively into `out[at, at + size)`: true when
 * it decoded to exactly `size` bytes, all of `src` used, and `src` is one
 * whole frame (its blocks walked to the last one); false when the runtime
 * cannot (no such decoder) or the frame is damaged, cut short, holds more
 * or fewer bytes, or more than one frame, or says it has a checksum (this
 * way cannot tell whether it is complete): `out`'s range may then hold part
 * of it, and the caller decodes the frame another way (which says why).
 * Nothing is written outside that range.
 */
export function decodeZstdNativeInto(
  src: Uint8Array,
  size: number,
  out: Uint8Array,
  at: number,
): boolean {
  const e = decoder();
  if (!e || !(at >= 0 && size >= 0 && at + size <= out.length)) return false;
  if (size > U32 || src.length > U32 || !wholeFrame(src)) return false;
  const { handle, state, finish } = e;
  // The handle takes 32-bit offsets: it is given the range itself (an
  // offset past 4 GiB wrapped round to the start of `out`).
  const target = out.subarray(at, at + size);
  try {
    handle.reset();
    // What a write that does not report leaves fails the checks below.
    state[0] = state[1] = 1;
    handle.writeSync(finish, src, 0, src.length, target, 0, size);
    // Room left: fewer bytes than said; input left: more than one frame (or more bytes).
    if (e.failed || roomLeft(state) !== 0 || state[1] !== 0) return refuse(e);
    // Full at exactly `size`: nothing may be left to come out.
    state[0] = 0;
    handle.writeSync(finish, EMPTY, 0, 0, PROBE, 0, 1);
    return roomLeft(state) === 1 && !e.failed ? true : refuse(e);
  } catch {
    // A damaged frame (Deno throws).
    e.failed = true;
    return refuse(e);
  }
}

/**
 * False for a frame this decoder refused; after an error the decoder is not
 * trusted again (a new one next time); otherwise `reset` starts it afresh.
 */
function refuse(e: NonNullable<typeof engine>): false {
  if (e.failed) drop(e);
  return false;
}

/**
 * Whether `src` is one zstd frame whose blocks end, at a last block, at its
 * end (no checksum, no skippable frame): a frame cut short after its
 * content came out would otherwise pass, since the decoder is not asked
 * whether the frame ended.
 */
export function wholeFrame(src: Uint8Array): boolean {
  if (src.length < 6) return false;
  if (src[0] !== 0x28 || src[1] !== 0xb5 || src[2] !== 0x2f || src[3] !== 0xfd) return false;
  const fhd = src[4];
  // A checksum (bit 2) or the reserved bit (3) set: left to the others.
  if (fhd & 0x0c) return false;
  const single = (fhd >> 5) & 1, fcs = fhd >> 6, dict = fhd & 3;
  let p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dict] + [single, 2, 4, 8][fcs];
  for (;;) {
    if (p + 3 > src.length) return false;
    const h = src[p] | (src[p + 1] << 8) | (src[p + 2] << 16);
    const type = (h >> 1) & 3, n = h >>> 3;
    if (type === 3) return false;
    p += 3 + (type === 1 ? 1 : n);
    if (h & 1) return p === src.length;
  }
}

/** The output room the handle's last write left (read anew after each write). */
function roomLeft(state: Uint32Array): number {
  return state[0];
}

/** Sizes from which `zstdDecompressSync` beats ours (when there is no handle to reuse). */
const CALL_MIN = 128 << 10;

/** The memory this thread's decodes of `transient` frames reuse, grown as needed. */
let scratch = new Uint8Array(0);

/**
 * The memory `transient` decodes reuse (see {@linkcode decodeZstdNative}):
 * a caller that keeps or transfers a view of it copies it first if another
 * transient decode may come before it is used.
 */
export function transientMemory(): ArrayBufferLike {
  return scratch.buffer;
}

/**
 * The zstd frame(s) `src` decoded natively to exactly `size` bytes: into
 * a new buffer, or, when `transient`, into memory this thread reuses (a
 * view valid until the next transient decode here: no fresh pages to fault
 * in); null when the runtime has no zstd, refuses the input, or it decodes
 * to another size (the caller's other decoders then say why).
 */
export function decodeZstdNative(
  src: Uint8Array,
  size: number,
  transient = false,
): Uint8Array | null {
  if (decoder()) {
    if (transient && scratch.length < size) scratch = new Uint8Array(size);
    const out = transient ? scratch : new Uint8Array(size);
    if (decodeZstdNativeInto(src, size, out, 0)) return out.subarray(0, size);
  }
  if (!native || size < CALL_MIN) return null;
  let out: Uint8Array;
  try {
    out = native(src, { chunkSize: Math.max(64, size), maxOutputLength: Math.max(1, size) });
  } catch {
    return null;
  }
  return out.length === size ? new Uint8Array(out.buffer, out.byteOffset, size) : null;
}
